using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Activities.Composition;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Persistence;

namespace DrWorkflows.Core.Runtime;

/// <summary>
/// Definitions with Elsa's versioning: saving a published definition creates a new draft version; saving a
/// draft updates it; publishing makes one version the published one. Also materializes and caches graphs,
/// and registers workflows marked "usable as activity" as activity types.
/// </summary>
public sealed partial class WorkflowDefinitionService(
    IWorkflowDefinitionStore store,
    ActivityRegistry registry,
    TimeProvider clock,
    Expressions.CSharpHandler? csharp = null)
{
    private readonly Expressions.CSharpHandler csharp = csharp ?? new Expressions.CSharpHandler();
    private readonly ConcurrentDictionary<string, WorkflowGraph> graphs = new(StringComparer.Ordinal);
    private readonly WorkflowMaterializer materializer = new(registry);

    public ActivityRegistry Registry => registry;

    public WorkflowMaterializer Materializer => materializer;

    /// <summary>
    /// Saves a definition sent by the Studio or the API. The document's <c>definitionId</c> may be empty for a
    /// new definition: it then gets a readable one from its name (<see cref="DefinitionIds"/>). Returns the stored version.
    /// Pass <c>newVersion</c> to store a new version even when the latest is a draft (which then stays, no longer
    /// latest): a merged file must not overwrite a draft edited since.
    /// With <c>keepVersionId</c>, a new version keeps the document's own version <c>id</c> when no stored version has
    /// it (Elsa's import keeps the file's ids, so <c>by-id</c> with the file's id finds it).
    /// <c>sourceCommit</c> is the git commit the document came from (<see cref="SourceCommits"/>); for a <c>git:</c>
    /// origin it is the commit in the origin when not given.
    /// Publishing a workflow used as an activity with <c>options.autoUpdateConsumingWorkflows</c> updates its consumers
    /// (<see cref="UpdateConsumingWorkflowsAsync"/>); <paramref name="consumerUpdates"/>, when given, receives what was done to each.
    /// </summary>
    public Task<StoredWorkflowDefinition> SaveAsync(WorkflowDefinitionDocument document, bool publish, string origin, bool isReadonly, CancellationToken cancellationToken, bool newVersion = false, bool keepVersionId = false, string? sourceCommit = null, List<ConsumerUpdate>? consumerUpdates = null) =>
        SaveCoreAsync(document, publish, origin, isReadonly, newVersion, keepVersionId, sourceCommit, consumerUpdates ?? [], cancellationToken);

    private async Task<StoredWorkflowDefinition> SaveCoreAsync(WorkflowDefinitionDocument document, bool publish, string origin, bool isReadonly, bool newVersion, bool keepVersionId, string? sourceCommit, List<ConsumerUpdate>? consumerUpdates, CancellationToken cancellationToken)
    {
        var importedId = keepVersionId && !string.IsNullOrWhiteSpace(document.Id) ? document.Id : null;
        document = document.Clone().Normalize();
        if (string.IsNullOrWhiteSpace(document.DefinitionId))
            document.DefinitionId = await DefinitionIds.UniqueFromNameAsync(document.Name, async id => (await store.ListVersionsAsync(id, cancellationToken)).Count > 0);

        // Validate before storing anything: a broken definition never replaces a working one.
        var probe = document.Clone();
        probe.Id = "probe";
        probe.Version = 1;
        CheckIncidentStrategy(probe);
        var graph = materializer.Materialize(probe);
        if (publish)
            CheckPublishable(graph);
        if (publish)
        {
            await CheckHttpRoutesAsync(graph, document.DefinitionId, cancellationToken);
            CheckCSharpCompiles(probe, graph);
        }

        var versions = await store.ListVersionsAsync(document.DefinitionId, cancellationToken);
        var latest = versions.OrderByDescending(v => v.Version).FirstOrDefault();
        // A reviewed merge may publish over a file deployed with the server (git is the source both came from), never over C#.
        if (latest?.IsReadonly == true && !isReadonly && !(origin.StartsWith(DefinitionOrigins.GitPrefix, StringComparison.Ordinal) && latest.Origin.StartsWith("file:", StringComparison.Ordinal)))
            throw new DefinitionReadOnlyException(document.DefinitionId, latest.Origin);

        var changes = new List<StoredWorkflowDefinition>();
        int version;
        string id;
        DateTimeOffset createdAt;
        if (latest is null || latest.IsPublished || newVersion)
        {
            version = (latest?.Version ?? 0) + 1;
            id = importedId is not null && importedId.Length <= 200 && await store.FindByIdAsync(importedId, cancellationToken) is null
                ? importedId
                : $"{document.DefinitionId}:v{version}";
            createdAt = clock.GetUtcNow();
            if (latest is not null)
                changes.Add(latest with { IsLatest = false, Json = WithFlags(latest.Json, isLatest: false, isPublished: latest.IsPublished) });
        }
        else
        {
            version = latest.Version;
            id = latest.Id;
            createdAt = latest.CreatedAt;
        }

        if (publish)
        {
            foreach (var previous in versions.Where(v => v.IsPublished && v.Id != id))
            {
                var existing = changes.FirstOrDefault(c => c.Id == previous.Id) ?? previous;
                changes.RemoveAll(c => c.Id == previous.Id);
                changes.Add(existing with { IsPublished = false, Json = WithFlags(existing.Json, isLatest: existing.IsLatest, isPublished: false) });
            }
        }

        document.Id = id;
        document.Version = version;
        document.IsLatest = true;
        document.IsPublished = publish;
        document.IsReadonly = isReadonly;
        document.CreatedAt = createdAt;
        var stored = ToStored(document, origin) with { SourceCommit = sourceCommit ?? DefinitionOrigins.ParseGit(origin)?.Commit };
        changes.Add(stored);
        await store.SaveAsync(changes, cancellationToken);
        foreach (var change in changes)
            graphs.TryRemove(change.Id, out _);
        RefreshActivityType(stored);
        if (publish && consumerUpdates is not null)
            await UpdateConsumingWorkflowsAsync(stored, consumerUpdates, cancellationToken);
        return stored;
    }

    /// <summary>The DR default incident strategy: a failed activity holds the run for an operator.</summary>
    public const string OperatorHoldIncidentStrategy = Execution.IncidentStrategies.OperatorHoldType;

    /// <summary>
    /// Elsa's <c>options.incidentStrategyType</c>: empty (the hold), the hold, or Elsa's Fault or Continue strategy. Any other
    /// name is refused rather than loaded to behave otherwise.
    /// </summary>
    private static void CheckIncidentStrategy(WorkflowDefinitionDocument document)
    {
        var strategy = WorkflowMaterializer.IncidentStrategyType(document);
        if (Execution.IncidentStrategies.TryParse(strategy, out _))
            return;
        throw new WorkflowDefinitionException(
            $"Workflow '{document.DefinitionId}': options.incidentStrategyType '{strategy}' is not an incident strategy. Choose '{Execution.IncidentStrategies.OperatorHoldType}' (hold for an operator, the default), '{Execution.IncidentStrategies.FaultType}' or '{Execution.IncidentStrategies.ContinueWithIncidentsType}' (docs/elsa-compatibility.md, Faults and incidents).");
    }

    /// <summary>
    /// What Elsa refuses when a definition is published and not when a draft is saved (the Studio saves drafts as
    /// they are typed): a cron expression written as a literal that does not parse.
    /// </summary>
    private static void CheckPublishable(WorkflowGraph graph)
    {
        foreach (var cron in graph.Activities.OfType<Activities.Scheduling.Cron>())
        {
            if (cron.CronExpression.Expression is not { Type: Expressions.ExpressionTypes.Literal } literal)
                continue;
            try
            {
                Activities.Scheduling.CronSchedule.Parse(literal.ValueText ?? string.Empty);
            }
            catch (WorkflowDefinitionException e)
            {
                throw new WorkflowDefinitionException($"Activity '{cron.Id}' (Elsa.Cron) cannot be published: {e.Message} (docs/elsa-compatibility.md, Elsa.Cron)", e) { ActivityId = cron.Id };
            }
        }
    }

    /// <summary>C# written out in the definition must compile before it is published (a draft may be unfinished); the error names the activity and the line.</summary>
    private void CheckCSharpCompiles(WorkflowDefinitionDocument document, WorkflowGraph graph)
    {
        foreach (var use in Expressions.CSharpHandler.FindUses(document.Root))
        {
            if (use.Code is { } code && csharp.Check(graph, code) is { Count: > 0 } errors)
                throw new WorkflowDefinitionException($"{Expressions.CSharpHandler.CompileMessage(use.ActivityId, errors)} (in '{use.Where}'; docs/elsa-compatibility.md, C#)") { ActivityId = use.ActivityId };
        }
    }

    /// <summary>Publishes the latest version of a definition (and updates its consumers, see <see cref="SaveAsync"/>).</summary>
    public async Task<StoredWorkflowDefinition> PublishAsync(string definitionId, CancellationToken cancellationToken, List<ConsumerUpdate>? consumerUpdates = null)
    {
        var latest = await store.FindAsync(definitionId, VersionOptions.LatestVersion, cancellationToken)
            ?? throw new DefinitionNotFoundException(definitionId);
        if (latest.IsPublished)
            return latest;
        return await SaveAsync(WorkflowDefinitionDocument.Parse(latest.Json), publish: true, latest.Origin, latest.IsReadonly, cancellationToken, sourceCommit: latest.SourceCommit, consumerUpdates: consumerUpdates);
    }

    /// <summary>Un-publishes the published version (it can no longer be started).</summary>
    public async Task<StoredWorkflowDefinition> RetractAsync(string definitionId, CancellationToken cancellationToken)
    {
        var published = await store.FindAsync(definitionId, VersionOptions.PublishedVersion, cancellationToken)
            ?? throw new DefinitionNotFoundException(definitionId, "has no published version to retract");
        if (published.IsReadonly)
            throw new DefinitionReadOnlyException(definitionId, published.Origin);
        var retracted = published with { IsPublished = false, Json = WithFlags(published.Json, published.IsLatest, isPublished: false) };
        await store.SaveAsync([retracted], cancellationToken);
        graphs.TryRemove(retracted.Id, out _);
        RefreshActivityType(retracted);
        return retracted;
    }

    /// <summary>
    /// Gives a definition that was never published another id (a designer's choice before the first publish): its
    /// one draft version is stored under <paramref name="newDefinitionId"/>, then the old id is removed. Callers
    /// check first that no run used the old id.
    /// </summary>
    public async Task<StoredWorkflowDefinition> ChangeDefinitionIdAsync(string definitionId, string newDefinitionId, CancellationToken cancellationToken)
    {
        var versions = await store.ListVersionsAsync(definitionId, cancellationToken);
        if (versions.Count == 0)
            throw new DefinitionNotFoundException(definitionId);
        if (versions.Any(v => v.IsReadonly))
            throw new DefinitionReadOnlyException(definitionId, versions[0].Origin);
        if (versions.Count > 1 || versions[0].IsPublished)
            throw new DefinitionIdChangeException($"Workflow definition '{definitionId}' has been published: its id is how runs, files and alerts name it and can no longer change.");
        if (!DefinitionIds.IsReadable(newDefinitionId))
            throw new DefinitionIdChangeException($"'{newDefinitionId}' is not a valid id: use lower-case letters and digits joined by single dashes (e.g. restore-shop-database), at most 100 characters.");
        if ((await store.ListVersionsAsync(newDefinitionId, cancellationToken)).Count > 0)
            throw new DefinitionIdChangeException($"The id '{newDefinitionId}' is already used by another workflow definition.");

        var document = WorkflowDefinitionDocument.Parse(versions[0].Json);
        document.DefinitionId = newDefinitionId;
        var stored = await SaveAsync(document, publish: false, versions[0].Origin, isReadonly: false, cancellationToken);
        await store.DeleteAsync(definitionId, cancellationToken);
        graphs.TryRemove(versions[0].Id, out _);
        return stored;
    }

    public async Task<int> DeleteAsync(string definitionId, CancellationToken cancellationToken)
    {
        var versions = await store.ListVersionsAsync(definitionId, cancellationToken);
        if (versions.Any(v => v.IsReadonly))
            throw new DefinitionReadOnlyException(definitionId, versions[0].Origin);
        var count = await store.DeleteAsync(definitionId, cancellationToken);
        foreach (var version in versions)
        {
            graphs.TryRemove(version.Id, out _);
            registry.Unregister(ActivityTypeName(version));
        }

        return count;
    }

    public Task<StoredWorkflowDefinition?> FindAsync(string definitionId, VersionOptions versions, CancellationToken cancellationToken) =>
        store.FindAsync(definitionId, versions, cancellationToken);

    public Task<StoredWorkflowDefinition?> FindByIdAsync(string id, CancellationToken cancellationToken) => store.FindByIdAsync(id, cancellationToken);

    /// <summary>The runnable graph of a stored version (cached).</summary>
    public WorkflowGraph GetGraph(StoredWorkflowDefinition definition) =>
        graphs.GetOrAdd(definition.Id, _ =>
        {
            var graph = materializer.Materialize(WorkflowDefinitionDocument.Parse(definition.Json), definition.Origin.StartsWith("file:", StringComparison.Ordinal) ? definition.Origin[5..] : null);
            graph.Origin = definition.Origin;
            return graph;
        });

    public async Task<WorkflowGraph> GetGraphAsync(string definitionVersionId, CancellationToken cancellationToken)
    {
        if (graphs.TryGetValue(definitionVersionId, out var graph))
            return graph;
        var definition = await store.FindByIdAsync(definitionVersionId, cancellationToken)
            ?? throw new DefinitionNotFoundException(definitionVersionId, "(version) no longer exists");
        return GetGraph(definition);
    }

    /// <summary>
    /// Elsa's consumers of a definition: the definitions whose latest version uses it as an activity (an activity
    /// with <c>workflowDefinitionId</c> naming it, or of its activity type), then their consumers in turn. Null when
    /// the definition does not exist.
    /// </summary>
    public async Task<IReadOnlyList<string>?> FindConsumersAsync(string definitionId, CancellationToken cancellationToken)
    {
        if ((await store.ListVersionsAsync(definitionId, cancellationToken)).Count == 0)
            return null;
        var latest = (await store.ListAsync(new DefinitionQuery(VersionOptions.LatestVersion, Take: 10_000), cancellationToken)).Items;
        var consumers = new List<string>();
        var visited = new HashSet<string>(StringComparer.Ordinal) { definitionId };
        var pending = new Queue<string>([definitionId]);
        while (pending.TryDequeue(out var used))
        {
            var usedVersion = latest.FirstOrDefault(d => d.DefinitionId == used);
            var typeName = usedVersion is null ? null : ActivityTypeName(usedVersion);
            foreach (var candidate in latest.Where(d => !visited.Contains(d.DefinitionId)))
            {
                var uses = new List<JsonObject>();
                CollectUses(WorkflowDefinitionDocument.Parse(candidate.Json).Root, used, typeName, uses);
                if (uses.Count == 0)
                    continue;
                visited.Add(candidate.DefinitionId);
                consumers.Add(candidate.DefinitionId);
                pending.Enqueue(candidate.DefinitionId);
            }
        }

        return consumers;
    }

    /// <summary>Registers every published "usable as activity" workflow (at start).</summary>
    public async Task RegisterWorkflowActivitiesAsync(CancellationToken cancellationToken)
    {
        var published = await store.ListAsync(new DefinitionQuery(VersionOptions.PublishedVersion, UsableAsActivity: true, Take: 10_000), cancellationToken);
        foreach (var definition in published.Items)
            RefreshActivityType(definition);
    }

    private void RefreshActivityType(StoredWorkflowDefinition definition)
    {
        var typeName = ActivityTypeName(definition);
        if (!definition.UsableAsActivity || !definition.IsPublished)
        {
            if (registry.Find(typeName)?.ClrType == typeof(WorkflowDefinitionActivity) && !definition.IsPublished)
                registry.Unregister(typeName);
            return;
        }

        var document = WorkflowDefinitionDocument.Parse(definition.Json);
        var inputs = DeclaredArguments(document, "inputs").Select(i =>
        {
            var name = ElsaNaming.SafePropertyName(i["name"]!.GetValue<string>());
            var typeAlias = i["type"]?.GetValue<string>() ?? "Object";
            return new InputDescriptor
            {
                Name = name,
                JsonName = Naming.CamelCase(name),
                ValueType = TypeAliases.ToType(typeAlias),
                TypeName = typeAlias,
                UIHint = i["uiHint"]?.GetValue<string>() ?? Abstractions.InputUIHints.SingleLine,
                DisplayName = i["displayName"]?.GetValue<string>() ?? name,
                Description = i["description"]?.GetValue<string>(),
            };
        }).ToList();
        // The declared outputs, as Elsa exposes them (Output1, or _Name for a reserved name); the child's whole
        // output object stays available as Result unless the child declares an output of that name.
        var outputs = DeclaredArguments(document, "outputs").Select(o =>
        {
            var name = ElsaNaming.SafePropertyName(o["name"]!.GetValue<string>());
            var typeAlias = o["type"]?.GetValue<string>() ?? "Object";
            return new OutputDescriptor
            {
                Name = name,
                JsonName = Naming.CamelCase(name),
                ValueType = TypeAliases.ToType(typeAlias),
                TypeName = typeAlias,
                DisplayName = o["displayName"]?.GetValue<string>() ?? name,
                Description = o["description"]?.GetValue<string>(),
            };
        }).ToList();
        var baseDescriptor = registry.Describe(new WorkflowDefinitionActivity());
        registry.Register(new ActivityDescriptor
        {
            TypeName = typeName,
            Namespace = "Workflows",
            Category = document.Json["options"]?["activityCategory"]?.GetValue<string>() ?? "Workflows",
            Name = typeName,
            DisplayName = definition.Name ?? typeName,
            Description = definition.Description ?? $"Runs the workflow '{definition.Name}' and waits for it.",
            Version = 1,
            ClrType = typeof(WorkflowDefinitionActivity),
            SafeToRerun = true,
            IsBlocking = true,
            Kind = "Task",
            Outcomes = document.Json["outcomes"] is JsonArray { Count: > 0 } outcomes ? [.. outcomes.Select(o => o?.GetValue<string>()).OfType<string>()] : [Execution.Outcomes.Done],
            Inputs = inputs,
            Outputs = [.. outputs, .. baseDescriptor.Outputs.Where(b => !outputs.Any(o => string.Equals(o.Name, b.Name, StringComparison.OrdinalIgnoreCase)))],
            Factory = () => new WorkflowDefinitionActivity { WorkflowDefinitionId = definition.DefinitionId, WorkflowDefinitionVersionId = definition.Id },
            Properties = new Dictionary<string, object?>
            {
                ["workflowDefinitionId"] = definition.DefinitionId,
                ["workflowDefinitionVersionId"] = definition.Id,
                ["workflowDefinitionVersion"] = definition.Version,
            },
        });
    }

    /// <summary>The activity type name of a workflow used as an activity: its name pascalized as Elsa does ("Subworkflow test" is <c>SubworkflowTest</c>).</summary>
    public static string ActivityTypeName(StoredWorkflowDefinition definition) =>
        ElsaNaming.Pascalize(string.IsNullOrWhiteSpace(definition.Name) ? definition.DefinitionId : definition.Name);

    private static IEnumerable<JsonObject> DeclaredArguments(WorkflowDefinitionDocument document, string property) =>
        (document.Json[property] as JsonArray ?? []).OfType<JsonObject>().Where(a => a["name"] is JsonValue name && name.TryGetValue<string>(out var text) && text.Length > 0);

    public static StoredWorkflowDefinition ToStored(WorkflowDefinitionDocument document, string origin) => new()
    {
        Id = document.Id,
        DefinitionId = document.DefinitionId,
        Version = document.Version,
        Name = document.Name,
        Description = document.Description,
        IsLatest = document.IsLatest,
        IsPublished = document.IsPublished,
        IsReadonly = document.IsReadonly,
        UsableAsActivity = document.UsableAsActivity,
        Origin = origin,
        CreatedAt = document.CreatedAt ?? DateTimeOffset.UnixEpoch,
        Json = document.ToJsonString(),
    };

    private static string WithFlags(string json, bool isLatest, bool isPublished)
    {
        var document = WorkflowDefinitionDocument.Parse(json);
        document.IsLatest = isLatest;
        document.IsPublished = isPublished;
        return document.ToJsonString();
    }
}

/// <summary>No definition (or no such version) with that id.</summary>
public sealed class DefinitionNotFoundException(string definitionId, string problem = "does not exist")
    : Exception($"Workflow definition '{definitionId}' {problem}.")
{
    public string DefinitionId { get; } = definitionId;
}

/// <summary>The definition lives as code or as a file in <c>workflows/</c>: change it through a pull request.</summary>
public sealed class DefinitionReadOnlyException(string definitionId, string origin)
    : Exception($"Workflow definition '{definitionId}' is read-only: it comes from {Describe(origin)}. Change it there, through a reviewed pull request.")
{
    public string DefinitionId { get; } = definitionId;

    internal static string Describe(string origin) => origin switch
    {
        _ when origin.StartsWith("file:", StringComparison.Ordinal) => $"the file {origin[5..]}",
        _ when origin.StartsWith("code:", StringComparison.Ordinal) => $"the C# class {origin[5..]}",
        _ => origin,
    };
}

/// <summary>A definition's id cannot be changed (published, taken, or not in the readable form).</summary>
public sealed class DefinitionIdChangeException(string message) : Exception(message);
