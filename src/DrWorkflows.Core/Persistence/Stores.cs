using DrWorkflows.Core.Execution;

namespace DrWorkflows.Core.Persistence;

/// <summary>One stored version of a workflow definition; <see cref="Json"/> is the Elsa 3 document, verbatim.</summary>
public sealed record StoredWorkflowDefinition
{
    /// <summary>Version id (Elsa's <c>id</c>).</summary>
    public required string Id { get; init; }

    public required string DefinitionId { get; init; }

    public required int Version { get; init; }

    public string? Name { get; init; }

    public string? Description { get; init; }

    public bool IsLatest { get; init; }

    public bool IsPublished { get; init; }

    /// <summary>Read-only in the Studio (defined in C# or in a file under <c>workflows/</c>).</summary>
    public bool IsReadonly { get; init; }

    public bool UsableAsActivity { get; init; }

    /// <summary>Where the definition came from: <c>api</c>, <c>file:workflows/x.json</c>, <c>code:Type</c>.</summary>
    public string Origin { get; init; } = "api";

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>
    /// The git commit the version came from, recorded when it was stored: a SHA, or a sentence starting
    /// <c>not in git</c> saying why there is none; null for a version made in the Studio or through the API, or stored
    /// before commits were recorded (<see cref="Runtime.SourceCommits"/>).
    /// </summary>
    public string? SourceCommit { get; init; }

    /// <summary>The full Elsa 3 workflow-definition JSON.</summary>
    public required string Json { get; init; }
}

/// <summary>Which version of a definition: Elsa's <c>versionOptions</c>.</summary>
public readonly record struct VersionOptions(bool Latest, bool Published, int? Version, bool LatestOrPublished = false, bool AllVersions = false)
{
    public static VersionOptions LatestVersion => new(true, false, null);

    public static VersionOptions PublishedVersion => new(false, true, null);

    public static VersionOptions LatestOrPublishedVersion => new(false, false, null, LatestOrPublished: true);

    public static VersionOptions All => new(false, false, null, AllVersions: true);

    public static VersionOptions SpecificVersion(int version) => new(false, false, version);

    /// <summary>Parses Elsa's query-string forms: <c>Latest</c>, <c>Published</c>, <c>LatestOrPublished</c>, <c>All</c>, <c>3</c>.</summary>
    public static bool TryParse(string? text, out VersionOptions options)
    {
        options = text?.Trim() switch
        {
            null or "" or "Latest" or "latest" => LatestVersion,
            "Published" or "published" => PublishedVersion,
            "LatestOrPublished" or "latestorpublished" => LatestOrPublishedVersion,
            "All" or "all" or "AllVersions" => All,
            var t when int.TryParse(t, out var v) && v > 0 => SpecificVersion(v),
            _ => default,
        };
        return options != default;
    }
}

public sealed record DefinitionQuery(
    VersionOptions Versions,
    string? SearchTerm = null,
    IReadOnlyCollection<string>? DefinitionIds = null,
    bool? UsableAsActivity = null,
    int Skip = 0,
    int Take = 100);

public sealed record PagedResult<T>(IReadOnlyList<T> Items, long TotalCount);

/// <summary>Definitions, all versions. Versioning rules live in the definition service, not here.</summary>
public interface IWorkflowDefinitionStore
{
    /// <summary>Inserts or replaces the given versions in one transaction.</summary>
    Task SaveAsync(IReadOnlyCollection<StoredWorkflowDefinition> versions, CancellationToken cancellationToken);

    Task<StoredWorkflowDefinition?> FindByIdAsync(string id, CancellationToken cancellationToken);

    Task<StoredWorkflowDefinition?> FindAsync(string definitionId, VersionOptions versions, CancellationToken cancellationToken);

    Task<IReadOnlyList<StoredWorkflowDefinition>> ListVersionsAsync(string definitionId, CancellationToken cancellationToken);

    /// <summary>Definitions matching the query, ordered by name then version, with their JSON.</summary>
    Task<PagedResult<StoredWorkflowDefinition>> ListAsync(DefinitionQuery query, CancellationToken cancellationToken);

    /// <summary>Deletes every version of a definition; returns how many were deleted.</summary>
    Task<int> DeleteAsync(string definitionId, CancellationToken cancellationToken);

    /// <summary>Deletes one version; returns whether it existed.</summary>
    Task<bool> DeleteVersionAsync(string id, CancellationToken cancellationToken);
}

/// <summary>What the instance list shows.</summary>
public sealed record WorkflowInstanceSummary(
    string Id,
    string DefinitionId,
    string DefinitionVersionId,
    int Version,
    string? Name,
    string? CorrelationId,
    WorkflowStatus Status,
    WorkflowSubStatus SubStatus,
    int IncidentCount,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? FinishedAt)
{
    /// <summary>The summary of a run's state; <see cref="IncidentCount"/> counts the unresolved incidents.</summary>
    public static WorkflowInstanceSummary Of(WorkflowState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return new(
            state.Id, state.DefinitionId, state.DefinitionVersionId, state.DefinitionVersion, state.Name, state.CorrelationId, state.Status, state.SubStatus,
            state.Incidents.Count(i => i.Resolution is null), state.CreatedAt, state.UpdatedAt, state.FinishedAt);
    }
}

public sealed record InstanceQuery(
    string? DefinitionId = null,
    IReadOnlyCollection<string>? DefinitionIds = null,
    string? CorrelationId = null,
    WorkflowStatus? Status = null,
    IReadOnlyCollection<WorkflowSubStatus>? SubStatuses = null,
    string? SearchTerm = null,
    string? ParentInstanceId = null,
    bool? HasIncidents = null,
    bool? HasParent = null,
    string? Platform = null,
    int Skip = 0,
    int Take = 100);

public sealed record BookmarkQuery(string? Name = null, string? Key = null, string? InstanceId = null, string? BookmarkId = null);

/// <summary>A bookmark row of the bookmark index (derived from the instance state on every commit).</summary>
public sealed record StoredBookmark(
    string Id,
    string InstanceId,
    string ExecutionId,
    string Name,
    string? Key,
    string ActivityType,
    string NodeId,
    DateTimeOffset? ResumeAt,
    DateTimeOffset CreatedAt,
    string? PayloadJson);

/// <summary>Thrown when a new run is created with the id of a run that exists (a client-chosen instance id used twice).</summary>
public sealed class InstanceExistsException(string instanceId, Exception? inner = null)
    : InvalidOperationException($"Workflow instance '{instanceId}' already exists.", inner)
{
    public string InstanceId { get; } = instanceId;
}

/// <summary>Thrown when a commit finds the instance changed by someone else (another node or request).</summary>
public sealed class ConcurrencyException(string instanceId, long expectedRevision)
    : Exception($"Workflow instance '{instanceId}' was changed by another writer (expected revision {expectedRevision}). The step was not committed and will be retried from the stored state.")
{
    public string InstanceId { get; } = instanceId;
}

/// <summary>
/// Thrown when a run is created while another run of the same definition is running against the same platform
/// (<see cref="WorkflowState.Platform"/>); the store enforces it atomically, also across nodes.
/// </summary>
public sealed class RunAlreadyRunningException(string definitionId, string platform, string runningInstanceId)
    : Exception($"Workflow '{definitionId}' is already running on platform '{platform}': run {runningInstanceId}. Only one run of it may work on a platform at a time; follow that run, or cancel it before starting another.")
{
    public string DefinitionId { get; } = definitionId;

    public string Platform { get; } = platform;

    /// <summary>The run that is running.</summary>
    public string RunningInstanceId { get; } = runningInstanceId;
}

/// <summary>
/// Runs, their bookmarks and journals. <see cref="CommitAsync"/> is the durability point of the runtime:
/// state, bookmark index and new journal entries are written in one transaction.
/// </summary>
public interface IWorkflowInstanceStore
{
    /// <summary>
    /// Inserts a new run. Sets <see cref="WorkflowState.Revision"/> to 1. When <see cref="WorkflowState.Platform"/> is
    /// set and another run of the same definition with that platform is running, nothing is written and
    /// <see cref="RunAlreadyRunningException"/> names that run (atomically: of two creates at once, one wins).
    /// </summary>
    Task CreateAsync(WorkflowState state, IReadOnlyList<JournalEntry> journal, CancellationToken cancellationToken);

    /// <summary>
    /// Writes the run's state, replaces its bookmark index and appends the journal entries atomically.
    /// Fails with <see cref="ConcurrencyException"/> when the stored revision is not <see cref="WorkflowState.Revision"/>;
    /// on success increments it.
    /// </summary>
    Task CommitAsync(WorkflowState state, IReadOnlyList<JournalEntry> journal, CancellationToken cancellationToken);

    Task<WorkflowState?> GetAsync(string instanceId, CancellationToken cancellationToken);

    Task<PagedResult<WorkflowInstanceSummary>> ListAsync(InstanceQuery query, CancellationToken cancellationToken);

    /// <summary>Deletes runs with their bookmarks and journals; returns how many runs were deleted.</summary>
    Task<int> DeleteAsync(IReadOnlyCollection<string> instanceIds, CancellationToken cancellationToken);

    Task<PagedResult<JournalEntry>> GetJournalAsync(string instanceId, int skip, int take, CancellationToken cancellationToken);

    Task<IReadOnlyList<StoredBookmark>> FindBookmarksAsync(BookmarkQuery query, CancellationToken cancellationToken);

    /// <summary>Timer bookmarks due at or before <paramref name="now"/>, oldest first.</summary>
    Task<IReadOnlyList<StoredBookmark>> GetDueTimersAsync(DateTimeOffset now, int max, CancellationToken cancellationToken);

    /// <summary>The earliest timer of all runs, if any.</summary>
    Task<DateTimeOffset?> GetNextTimerAsync(CancellationToken cancellationToken);

    /// <summary>Runs that have work queued (sub-status Pending or Executing) and no live lease.</summary>
    Task<IReadOnlyList<string>> FindRunnableAsync(DateTimeOffset now, int max, CancellationToken cancellationToken);

    /// <summary>Takes (or renews) the execution lease of a run; false when another owner holds a live lease.</summary>
    Task<bool> TryAcquireLeaseAsync(string instanceId, string owner, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken);

    Task ReleaseLeaseAsync(string instanceId, string owner, CancellationToken cancellationToken);
}

/// <summary>Cron and recurring-timer slots: each slot is claimed by exactly one node, and every firing is recorded.</summary>
public interface IScheduleStore
{
    /// <summary>Records the firing of <paramref name="scheduleId"/> at <paramref name="slot"/>; false when it was already claimed.</summary>
    Task<bool> TryClaimSlotAsync(string scheduleId, DateTimeOffset slot, string owner, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>The latest claimed slot of a schedule, if any.</summary>
    Task<DateTimeOffset?> GetLastSlotAsync(string scheduleId, CancellationToken cancellationToken);

    /// <summary>Links the run started for a slot to it (for the firing record).</summary>
    Task SetSlotInstanceAsync(string scheduleId, DateTimeOffset slot, string instanceId, CancellationToken cancellationToken);
}
