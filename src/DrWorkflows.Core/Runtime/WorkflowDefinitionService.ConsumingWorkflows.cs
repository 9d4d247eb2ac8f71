using System.Text.Json.Nodes;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Persistence;

namespace DrWorkflows.Core.Runtime;

/// <summary>The child version a workflow used as an activity runs, and why that one.</summary>
public sealed record ActivityVersionChoice(StoredWorkflowDefinition Definition, string Reason);

/// <summary>
/// What publishing a child with <c>options.autoUpdateConsumingWorkflows</c> did to one consuming workflow: a new (or
/// updated draft) version pointing at the child's new version, or the reason it was left alone.
/// </summary>
public sealed record ConsumerUpdate(string DefinitionId, int? Version, bool Published, string? SkippedBecause);

/// <summary>Elsa's version selection for workflows used as activities, and its update of consuming workflows on publish.</summary>
public sealed partial class WorkflowDefinitionService
{
    /// <summary>The origin of a consumer version written by <c>autoUpdateConsumingWorkflows</c>: what changed it.</summary>
    public const string AutoUpdatePrefix = "auto-update:";

    /// <summary>
    /// The version of <paramref name="definitionId"/> a workflow used as an activity runs, in Elsa's order: the version id
    /// the activity names, else the version number it names, else the published version, else the latest version
    /// (Elsa falls back so too). An activity that names neither runs the published version (Elsa: the newest registered
    /// version, even a draft). Null when the definition has no version at all.
    /// </summary>
    public async Task<ActivityVersionChoice?> FindVersionForActivityAsync(string definitionId, string? versionId, int? version, CancellationToken cancellationToken)
    {
        if (versionId is not null && await store.FindByIdAsync(versionId, cancellationToken) is { } exact && exact.DefinitionId == definitionId)
            return new(exact, $"version id '{versionId}' named by the activity");
        if (versionId is null && version is { } number && await store.FindAsync(definitionId, VersionOptions.SpecificVersion(number), cancellationToken) is { } numbered)
            return new(numbered, $"version {number} named by the activity");
        var asked = versionId is not null ? $"version id '{versionId}' does not exist" : version is { } n ? $"version {n} does not exist" : null;
        if (await store.FindAsync(definitionId, VersionOptions.PublishedVersion, cancellationToken) is { } published)
            return new(published, asked is null ? "the published version (the activity names none)" : $"the published version ({asked})");
        if (await store.FindAsync(definitionId, VersionOptions.LatestVersion, cancellationToken) is { } latest)
            return new(latest, $"the latest version, a draft ({asked ?? "the activity names none"}, and none is published)");
        return null;
    }

    /// <summary>
    /// Elsa's update of consuming workflows: after <paramref name="child"/> is published with
    /// <c>options.autoUpdateConsumingWorkflows</c>, each definition whose latest version uses it as an activity gets its
    /// activities pointed at the new version (<c>workflowDefinitionVersionId</c>, <c>latestAvailablePublishedVersion</c>,
    /// <c>latestAvailablePublishedVersionId</c>). A consumer whose latest version is published gets a new published
    /// version; a consumer whose latest is a draft has that draft updated, as in Elsa. A consumer republished so that is
    /// itself used as an activity updates its own consumers in turn. Read-only consumers (files in <c>workflows/</c>,
    /// C#) and drafts awaiting review in a pull request are left alone, with the reason.
    /// </summary>
    private async Task UpdateConsumingWorkflowsAsync(StoredWorkflowDefinition child, List<ConsumerUpdate> updates, CancellationToken cancellationToken)
    {
        var document = WorkflowDefinitionDocument.Parse(child.Json);
        if (!child.IsPublished || !child.UsableAsActivity || document.Json["options"]?["autoUpdateConsumingWorkflows"] is not JsonValue flag || !flag.TryGetValue<bool>(out var on) || !on)
            return;

        var visited = new HashSet<string>(StringComparer.Ordinal) { child.DefinitionId };
        var targets = new Queue<StoredWorkflowDefinition>([child]);
        while (targets.TryDequeue(out var target))
        {
            var typeName = ActivityTypeName(target);
            var latest = (await store.ListAsync(new DefinitionQuery(VersionOptions.LatestVersion, Take: 10_000), cancellationToken)).Items;
            foreach (var consumer in latest.Where(d => !visited.Contains(d.DefinitionId)).OrderBy(d => d.DefinitionId, StringComparer.Ordinal))
            {
                var json = WorkflowDefinitionDocument.Parse(consumer.Json);
                var uses = new List<JsonObject>();
                CollectUses(json.Root, target.DefinitionId, typeName, uses);
                if (uses.Count == 0)
                    continue;
                visited.Add(consumer.DefinitionId);
                if (uses.All(u => u["workflowDefinitionVersionId"]?.GetValue<string>() == target.Id))
                    continue;
                if (consumer.IsReadonly)
                {
                    updates.Add(new(consumer.DefinitionId, null, false,
                        $"read-only: it comes from {DefinitionReadOnlyException.Describe(consumer.Origin)}, which is not rewritten; it keeps the version it names until that changes through a reviewed pull request"));
                    continue;
                }

                if (consumer.Origin.StartsWith(DefinitionOrigins.GitPrefix, StringComparison.Ordinal))
                {
                    updates.Add(new(consumer.DefinitionId, null, false,
                        $"it was published through a reviewed pull request ({consumer.Origin}); an automatic update would publish it without review. Merge the change to it instead"));
                    continue;
                }

                if (consumer.Origin.StartsWith(DefinitionOrigins.ReviewPrefix, StringComparison.Ordinal))
                {
                    updates.Add(new(consumer.DefinitionId, null, false, "its latest version is a draft awaiting review in a pull request; changing it would change what the review approves"));
                    continue;
                }

                foreach (var use in uses)
                {
                    use["workflowDefinitionId"] = target.DefinitionId;
                    use["workflowDefinitionVersionId"] = target.Id;
                    use["latestAvailablePublishedVersion"] = target.Version;
                    use["latestAvailablePublishedVersionId"] = target.Id;
                }

                StoredWorkflowDefinition stored;
                try
                {
                    stored = await SaveCoreAsync(json, consumer.IsPublished, $"{AutoUpdatePrefix}{target.Id}", isReadonly: false, newVersion: false, keepVersionId: false, sourceCommit: null, consumerUpdates: null, cancellationToken);
                }
                catch (WorkflowDefinitionException e)
                {
                    updates.Add(new(consumer.DefinitionId, null, false, $"it no longer saves: {e.Message}"));
                    continue;
                }

                updates.Add(new(consumer.DefinitionId, stored.Version, stored.IsPublished, null));
                if (stored.IsPublished && stored.UsableAsActivity)
                    targets.Enqueue(stored);
            }
        }
    }

    /// <summary>
    /// The activity objects that use <paramref name="definitionId"/> as an activity: by <c>workflowDefinitionId</c>, or,
    /// without one, by its activity type name (null: the definition is not usable as an activity, so by id only).
    /// </summary>
    private static void CollectUses(JsonNode? node, string definitionId, string? typeName, List<JsonObject> uses)
    {
        switch (node)
        {
            case JsonObject activity:
                var id = activity["workflowDefinitionId"] is JsonValue idValue && idValue.TryGetValue<string>(out var text) ? text : null;
                if (id == definitionId || (id is null && typeName is not null && activity["type"] is JsonValue type && type.TryGetValue<string>(out var name) && name == typeName))
                    uses.Add(activity);
                foreach (var property in activity)
                    CollectUses(property.Value, definitionId, typeName, uses);
                break;
            case JsonArray array:
                foreach (var item in array)
                    CollectUses(item, definitionId, typeName, uses);
                break;
        }
    }
}
