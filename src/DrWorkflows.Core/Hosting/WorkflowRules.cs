using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DrWorkflows.Core.Model;

namespace DrWorkflows.Core.Hosting;

/// <summary>One problem of a workflow file: where (file, activity), what, and what to change.</summary>
public sealed record WorkflowProblem(string File, string? ActivityId, string Problem, string Fix)
{
    public override string ToString() => $"{File}{(ActivityId is null ? string.Empty : $", activity '{ActivityId}'")}: {Problem} Fix: {Fix}";
}

/// <summary>
/// The rules a committed workflow must keep beyond loading: a name and a description, a definition id of
/// lower-case words with dashes, known activity types, every required input set, and connections only on ports
/// their activity has (the <c>Failed</c> abandon port is allowed on every step). The pull-request check
/// (<c>drw validate</c>) and the workflow tests apply the same rules.
/// </summary>
public static partial class WorkflowRules
{
    /// <summary>The definition id convention: lower-case words with dashes, e.g. <c>dr-redis-failure</c>.</summary>
    [GeneratedRegex("^[a-z0-9]+(-[a-z0-9]+)*$")]
    public static partial Regex DefinitionIdPattern();

    /// <summary>Every problem of one definition, in document order.</summary>
    public static IReadOnlyList<WorkflowProblem> Check(ActivityRegistry registry, WorkflowDefinitionDocument document, string file)
    {
        var problems = new List<WorkflowProblem>();
        if (string.IsNullOrWhiteSpace(document.DefinitionId))
            problems.Add(new(file, null, "'definitionId' is missing.", "add \"definitionId\": a stable id of lower-case words with dashes, e.g. \"dr-redis-failure\"."));
        else if (!DefinitionIdPattern().IsMatch(document.DefinitionId))
            problems.Add(new(file, null, $"definition id '{document.DefinitionId}' is not lower-case words with dashes.", "rename it, e.g. \"dr-redis-failure\" (alerts, runbooks and the CLI refer to it)."));
        if (string.IsNullOrWhiteSpace(document.Name))
            problems.Add(new(file, null, "the definition has no name.", "set \"name\" to what on-call sees in lists, e.g. \"DR 6: Redis failure\"."));
        if (string.IsNullOrWhiteSpace(document.Description))
            problems.Add(new(file, null, "the definition has no description.", "set \"description\": what the workflow does and when to run it."));
        if (document.Root is { } root)
            CheckActivity(registry, root, file, problems);
        else
            problems.Add(new(file, null, "the definition has no 'root' activity.", "export the definition again from the Studio; the root is its flowchart."));
        return problems;
    }

    private static void CheckActivity(ActivityRegistry registry, JsonObject activity, string file, List<WorkflowProblem> problems)
    {
        var type = activity["type"] is JsonValue t && t.TryGetValue<string>(out var typeName) ? typeName : null;
        var id = activity["id"] is JsonValue i && i.TryGetValue<string>(out var activityId) ? activityId : null;
        if (type is null)
        {
            problems.Add(new(file, id, "an activity has no 'type'.", "give it the type of a known activity, e.g. \"DrWorkflows.SendSlackMessage\"."));
            return;
        }

        var descriptor = registry.Find(type);
        if (descriptor is null)
        {
            problems.Add(new(file, id, $"type '{type}' is not an activity this server knows.", "use a type listed in docs/activities/ (check the spelling and the namespace, e.g. \"DrWorkflows.\" or \"Elsa.\")."));
            return;
        }

        foreach (var input in descriptor.Inputs.Where(i => i.Required && activity[i.JsonName] is not (JsonObject or JsonValue)))
            problems.Add(new(file, id, $"required input '{input.JsonName}' of {type} is not set.", $"set '{input.JsonName}' ({input.DisplayName}) in the Studio or in the file."));

        if (activity["activities"] is JsonArray children)
        {
            var byId = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
            foreach (var child in children.OfType<JsonObject>())
            {
                if (child["id"] is JsonValue c && c.TryGetValue<string>(out var childId))
                    byId.TryAdd(childId, child);
            }

            foreach (var connection in (activity["connections"] as JsonArray ?? []).OfType<JsonObject>())
                CheckConnection(registry, connection, byId, id, file, problems);

            foreach (var child in children.OfType<JsonObject>())
                CheckActivity(registry, child, file, problems);
        }

        foreach (var (_, value) in activity)
        {
            if (value is JsonObject nested && nested["type"] is JsonValue && nested.ContainsKey("id"))
                CheckActivity(registry, nested, file, problems);
        }
    }

    private static void CheckConnection(ActivityRegistry registry, JsonObject connection, Dictionary<string, JsonObject> byId, string? flowchartId, string file, List<WorkflowProblem> problems)
    {
        var sourceId = Text(connection["source"]?["activity"]);
        var targetId = Text(connection["target"]?["activity"]);
        var port = Text(connection["source"]?["port"]) ?? "Done";
        if (sourceId is null || !byId.TryGetValue(sourceId, out var source))
        {
            problems.Add(new(file, flowchartId, $"a connection starts at '{sourceId ?? "(none)"}', which is not an activity of this flowchart.", "remove the connection or connect an existing activity."));
            return;
        }

        if (targetId is null || !byId.ContainsKey(targetId))
            problems.Add(new(file, sourceId, $"a connection from '{sourceId}' ends at '{targetId ?? "(none)"}', which is not an activity of this flowchart.", "remove the connection or connect it to an existing activity."));

        if (Text(source["type"]) is not { } sourceType || registry.Find(sourceType) is not { } descriptor)
            return;
        var ports = descriptor.Outcomes.Append("Done").Append("Failed");
        if (descriptor.DynamicOutcomesInput is null && !ports.Contains(port, StringComparer.Ordinal))
        {
            problems.Add(new(file, sourceId, $"a connection uses port '{port}', which {sourceType} does not have.",
                $"connect one of its ports: {string.Join(", ", descriptor.Outcomes.DefaultIfEmpty("Done"))}, or 'Failed' (the abandon port)."));
        }
    }

    private static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
