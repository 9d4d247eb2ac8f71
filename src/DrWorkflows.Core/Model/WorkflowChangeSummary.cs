using System.Text;
using System.Text.Json.Nodes;

namespace DrWorkflows.Core.Model;

/// <summary>How one activity changed between two versions of a definition.</summary>
/// <param name="ActivityId">The activity's id in the definition.</param>
/// <param name="Type">Its activity type, e.g. <c>DrWorkflows.ApprovalGate</c>.</param>
/// <param name="Change">Added, Removed or Changed.</param>
/// <param name="Inputs">For Changed: the inputs (properties) whose value differs, in order.</param>
/// <param name="IsApprovalGate">The activity is an approval gate (category Approvals and blocking).</param>
/// <param name="IsDestructive">The activity is not safe to re-run (a restore, a volume removal...).</param>
public sealed record ActivityChange(string ActivityId, string Type, string Change, IReadOnlyList<string> Inputs, bool IsApprovalGate, bool IsDestructive)
{
    /// <summary>Approval gates and destructive steps are what a reviewer must see first.</summary>
    public bool IsCritical => IsApprovalGate || IsDestructive;
}

/// <summary>
/// What changed between two versions of a workflow definition, as a reviewer reads it: activities added or removed,
/// inputs changed, connections changed, with approval gates and destructive steps first. The designer's layout
/// (positions, sizes) is not a change. Used in the pull request a Studio publish opens and by <c>drw validate</c>.
/// </summary>
public sealed class WorkflowChangeSummary
{
    // Properties of an activity that are not inputs: identity, layout, children.
    private static readonly HashSet<string> StructuralProperties = new(StringComparer.Ordinal)
    {
        "id", "nodeId", "type", "version", "metadata", "customProperties", "activities", "connections", "canStartWorkflow", "runAsynchronously",
    };

    private WorkflowChangeSummary(string definitionId)
    {
        DefinitionId = definitionId;
    }

    public string DefinitionId { get; }

    /// <summary>There was no previous version.</summary>
    public bool IsNew { get; private init; }

    /// <summary>There is no new version (the file was deleted).</summary>
    public bool IsRemoved { get; private init; }

    public IReadOnlyList<ActivityChange> Activities { get; private init; } = [];

    /// <summary>Connections as <c>source:port → target</c>.</summary>
    public IReadOnlyList<string> ConnectionsAdded { get; private init; } = [];

    public IReadOnlyList<string> ConnectionsRemoved { get; private init; } = [];

    /// <summary>Definition-level fields that changed (name, description, inputs, outputs, variables, options...).</summary>
    public IReadOnlyList<string> DefinitionFields { get; private init; } = [];

    public bool HasChanges => IsNew || IsRemoved || Activities.Count > 0 || ConnectionsAdded.Count > 0 || ConnectionsRemoved.Count > 0 || DefinitionFields.Count > 0;

    /// <summary>Ids of the activities added or changed (marked in the diagram).</summary>
    public IReadOnlySet<string> ChangedActivityIds => Activities.Where(a => a.Change != "Removed").Select(a => a.ActivityId).ToHashSet(StringComparer.Ordinal);

    /// <summary>Compares two versions; either may be null (a new or a deleted definition).</summary>
    public static WorkflowChangeSummary Compare(ActivityRegistry registry, WorkflowDefinitionDocument? before, WorkflowDefinitionDocument? after)
    {
        var definitionId = after?.DefinitionId ?? before?.DefinitionId ?? string.Empty;
        var old = Flatten(before?.Root);
        var now = Flatten(after?.Root);
        var changes = new List<ActivityChange>();
        foreach (var (id, activity) in now)
        {
            if (!old.TryGetValue(id, out var previous))
                changes.Add(Describe(registry, id, activity, "Added", []));
            else if (Type(previous) != Type(activity))
                changes.Add(Describe(registry, id, activity, "Changed", ["type"]));
            else if (ChangedInputs(previous, activity) is { Count: > 0 } inputs)
                changes.Add(Describe(registry, id, activity, "Changed", inputs));
        }

        foreach (var (id, activity) in old.Where(o => !now.ContainsKey(o.Key)))
            changes.Add(Describe(registry, id, activity, "Removed", []));

        var oldConnections = Connections(before?.Root);
        var newConnections = Connections(after?.Root);
        var fields = new List<string>();
        if (before is not null && after is not null)
        {
            foreach (var field in new[] { "name", "description", "inputs", "outputs", "variables", "options", "customProperties" })
            {
                if (!JsonNode.DeepEquals(Normalized(before.Json[field]), Normalized(after.Json[field])))
                    fields.Add(field);
            }
        }

        return new WorkflowChangeSummary(definitionId)
        {
            IsNew = before is null && after is not null,
            IsRemoved = after is null && before is not null,
            Activities = [.. changes.OrderByDescending(c => c.IsCritical).ThenBy(c => c.Change switch { "Removed" => 0, "Added" => 1, _ => 2 }).ThenBy(c => c.ActivityId, StringComparer.Ordinal)],
            ConnectionsAdded = [.. newConnections.Except(oldConnections).Order(StringComparer.Ordinal)],
            ConnectionsRemoved = [.. oldConnections.Except(newConnections).Order(StringComparer.Ordinal)],
            DefinitionFields = fields,
        };
    }

    /// <summary>The summary as Markdown lines (no HTML): approval gates and destructive steps first.</summary>
    public string ToMarkdown()
    {
        var text = new StringBuilder();
        if (IsNew)
            text.AppendLine($"New workflow `{DefinitionId}`.");
        if (IsRemoved)
            text.AppendLine($"Workflow `{DefinitionId}` is removed.");
        if (!HasChanges)
            text.AppendLine("No change to activities, inputs or connections.");

        var critical = Activities.Where(a => a.IsCritical).ToList();
        if (critical.Count > 0)
        {
            text.AppendLine("**Approval gates and destructive steps**");
            foreach (var change in critical)
                text.AppendLine($"- ⚠️ {Line(change)}");
        }

        var other = Activities.Where(a => !a.IsCritical).ToList();
        if (other.Count > 0)
        {
            text.AppendLine("**Activities**");
            foreach (var change in other)
                text.AppendLine($"- {Line(change)}");
        }

        if (DefinitionFields.Count > 0)
            text.AppendLine($"**Definition**: changed {string.Join(", ", DefinitionFields.Select(f => $"`{f}`"))}");
        if (ConnectionsAdded.Count + ConnectionsRemoved.Count > 0)
        {
            text.AppendLine("**Connections**");
            foreach (var connection in ConnectionsRemoved)
                text.AppendLine($"- removed `{connection}`");
            foreach (var connection in ConnectionsAdded)
                text.AppendLine($"- added `{connection}`");
        }

        return text.ToString();
    }

    /// <summary>
    /// A Mermaid flowchart of a definition's top-level flowchart (GitHub renders it), the nodes in
    /// <paramref name="changed"/> marked. Labels are the activity ids and types, quoted and stripped of markup.
    /// </summary>
    public static string ToMermaid(WorkflowDefinitionDocument document, IReadOnlySet<string> changed)
    {
        var text = new StringBuilder("flowchart TD\n");
        var root = document.Root;
        var activities = (root?["activities"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        if (activities.Count == 0 && root is not null)
            activities = [root];
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var activity in activities)
        {
            var id = Text(activity["id"]) ?? "?";
            var node = $"n{names.Count}";
            names.TryAdd(id, node);
            var shape = changed.Contains(id) ? ":::changed" : string.Empty;
            text.Append(CultureInvariant($"    {node}[\"{Label(id)}<br/>{Label(Type(activity) ?? "?")}\"]{shape}\n"));
        }

        foreach (var connection in (root?["connections"] as JsonArray ?? []).OfType<JsonObject>())
        {
            if (Text(connection["source"]?["activity"]) is { } s && Text(connection["target"]?["activity"]) is { } t && names.TryGetValue(s, out var from) && names.TryGetValue(t, out var to))
            {
                var port = Text(connection["source"]?["port"]) ?? "Done";
                text.Append(port == "Done" ? $"    {from} --> {to}\n" : $"    {from} -->|{Label(port)}| {to}\n");
            }
        }

        text.Append("    classDef changed fill:#fff3b0,stroke:#d4a000,stroke-width:3px\n");
        return text.ToString();
    }

    private static string CultureInvariant(FormattableString value) => FormattableString.Invariant(value);

    private static string Label(string value) =>
        new(value.Where(c => c is not ('"' or '<' or '>' or '[' or ']' or '{' or '}' or '|' or '`' or '#' or ';') && !char.IsControl(c)).Take(80).ToArray());

    private static string Line(ActivityChange change)
    {
        var what = change.IsApprovalGate ? "approval gate" : change.IsDestructive ? "destructive step" : "activity";
        return change.Change switch
        {
            "Added" => $"{what} `{change.ActivityId}` ({change.Type}) added",
            "Removed" => $"{what} `{change.ActivityId}` ({change.Type}) removed",
            _ => $"{what} `{change.ActivityId}` ({change.Type}): changed {string.Join(", ", change.Inputs.Select(i => $"`{i}`"))}",
        };
    }

    private static ActivityChange Describe(ActivityRegistry registry, string id, JsonObject activity, string change, IReadOnlyList<string> inputs)
    {
        var type = Type(activity) ?? "?";
        var descriptor = registry.Find(type);
        var isGate = descriptor is { IsBlocking: true, Category: "Approvals" };
        var destructive = descriptor is { SafeToRerun: false, IsBlocking: false } && descriptor.Namespace != "Elsa";
        return new ActivityChange(id, type, change, inputs, isGate, destructive);
    }

    private static List<string> ChangedInputs(JsonObject before, JsonObject after)
    {
        var names = before.Select(p => p.Key).Union(after.Select(p => p.Key), StringComparer.Ordinal)
            .Where(n => !StructuralProperties.Contains(n) && !IsActivity(before[n]) && !IsActivity(after[n]));
        return [.. names.Where(n => !JsonNode.DeepEquals(Normalized(before[n]), Normalized(after[n]))).Order(StringComparer.Ordinal)];
    }

    private static JsonNode? Normalized(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) && s.Length == 0 ? null : node;

    private static bool IsActivity(JsonNode? node) => node is JsonObject o && o["type"] is JsonValue && o.ContainsKey("id");

    /// <summary>Every activity under the root by id (the root included), depth first.</summary>
    private static Dictionary<string, JsonObject> Flatten(JsonObject? root)
    {
        var result = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        void Walk(JsonObject activity)
        {
            if (Text(activity["id"]) is { } id)
                result.TryAdd(id, activity);
            foreach (var child in (activity["activities"] as JsonArray ?? []).OfType<JsonObject>())
                Walk(child);
            foreach (var (_, value) in activity)
            {
                if (value is JsonObject nested && IsActivity(nested))
                    Walk(nested);
            }
        }

        if (root is not null)
            Walk(root);
        return result;
    }

    private static HashSet<string> Connections(JsonObject? root)
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (_, activity) in Flatten(root))
        {
            foreach (var connection in (activity["connections"] as JsonArray ?? []).OfType<JsonObject>())
                result.Add($"{Text(connection["source"]?["activity"])}:{Text(connection["source"]?["port"]) ?? "Done"} → {Text(connection["target"]?["activity"])}");
        }

        return result;
    }

    private static string? Type(JsonObject activity) => Text(activity["type"]);

    private static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
