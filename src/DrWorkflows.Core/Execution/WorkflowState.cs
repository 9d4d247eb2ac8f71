using System.Text.Json.Nodes;

namespace DrWorkflows.Core.Execution;

/// <summary>Elsa's workflow status.</summary>
public enum WorkflowStatus
{
    Running,
    Finished,
}

/// <summary>Elsa's workflow sub-status.</summary>
public enum WorkflowSubStatus
{
    Pending,
    Executing,
    Suspended,
    Finished,
    Cancelled,
    Faulted,
}

/// <summary>State of one activity execution.</summary>
public enum ActivityStatus
{
    /// <summary>Scheduled, not started.</summary>
    Pending,

    /// <summary>Started (or suspended on a bookmark, or waiting for children).</summary>
    Running,
    Completed,
    Canceled,
    Faulted,
}

/// <summary>
/// Everything needed to continue a run after a restart. Persisted after every activity, as one document,
/// in the same transaction as the journal entries the step produced.
/// </summary>
public sealed class WorkflowState
{
    public string Id { get; set; } = string.Empty;

    public string DefinitionId { get; set; } = string.Empty;

    /// <summary>The id of the definition version (Elsa's <c>definitionVersionId</c>).</summary>
    public string DefinitionVersionId { get; set; } = string.Empty;

    public int DefinitionVersion { get; set; }

    public string? Name { get; set; }

    public string? CorrelationId { get; set; }

    /// <summary>The run that started this one as a child workflow, if any.</summary>
    public string? ParentInstanceId { get; set; }

    /// <summary>
    /// The platform the run acts on (e.g. <c>docker unix:///var/run/docker.sock, compose project shop</c>), set when its
    /// definition allows one running run per platform (<c>customProperties.oneRunPerPlatform</c>); null otherwise.
    /// The store refuses a second running run of the same definition with the same platform.
    /// </summary>
    public string? Platform { get; set; }

    public WorkflowStatus Status { get; set; }

    public WorkflowSubStatus SubStatus { get; set; }

    /// <summary>Who or what started the run (API key name, user, trigger).</summary>
    public string? StartedBy { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>Workflow variables by variable id.</summary>
    public Dictionary<string, JsonNode?> Variables { get; set; } = [];

    public Dictionary<string, JsonNode?> Input { get; set; } = [];

    public Dictionary<string, JsonNode?> Output { get; set; } = [];

    /// <summary>Outputs of completed activities: activity id → output name → value.</summary>
    public Dictionary<string, Dictionary<string, JsonNode?>> ActivityOutputs { get; set; } = [];

    /// <summary>Result of the last activity that produced one (Elsa's <c>getLastResult()</c>).</summary>
    public JsonNode? LastResult { get; set; }

    /// <summary>Activity executions that have not ended yet.</summary>
    public List<ActivityExecutionRecord> Executions { get; set; } = [];

    /// <summary>Work to do, in order.</summary>
    public List<WorkItem> Queue { get; set; } = [];

    public List<Bookmark> Bookmarks { get; set; } = [];

    public List<Incident> Incidents { get; set; } = [];

    /// <summary>The error that ended the run, if it faulted.</summary>
    public FaultInfo? Fault { get; set; }

    /// <summary>Child runs to start once this state is committed (an outbox: each id is started exactly once).</summary>
    public List<ChildRunRequest> PendingChildRuns { get; set; } = [];

    /// <summary>Free properties for runtime features (e.g. the status page incident id).</summary>
    public Dictionary<string, JsonNode?> Properties { get; set; } = [];

    /// <summary>Optimistic-concurrency revision, incremented by the store on every commit.</summary>
    public long Revision { get; set; }

    /// <summary>Next journal sequence number.</summary>
    public long JournalSequence { get; set; }

    /// <summary>Next value for ids that must be deterministic within the run.</summary>
    public long IdSequence { get; set; }
}

/// <summary>One activity execution (Elsa's activity execution context), persisted while it runs.</summary>
public sealed class ActivityExecutionRecord
{
    /// <summary>Stable id: the same across crashes and re-runs, usable as an idempotency key.</summary>
    public string Id { get; set; } = string.Empty;

    public string NodeId { get; set; } = string.Empty;

    public string? ParentId { get; set; }

    public ActivityStatus Status { get; set; }

    /// <summary>Attempt number, starting at 1.</summary>
    public int Attempt { get; set; } = 1;

    public DateTimeOffset ScheduledAt { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    /// <summary>The orchestrator node (its <c>NodeId</c>) that started the current attempt.</summary>
    public string? StartedOn { get; set; }

    /// <summary>Set by the parent when scheduling; handed back to it on completion.</summary>
    public JsonNode? Tag { get; set; }

    /// <summary>
    /// The connection that scheduled this execution: set by a flowchart when a completed step's outcome port led here
    /// (<see cref="Execution.ScheduledBy"/>); null for the flowchart's first step and for children of other composites.
    /// </summary>
    public ScheduledBy? ScheduledBy { get; set; }

    /// <summary>State of a composite activity (loop index, flowchart tokens...).</summary>
    public JsonObject Properties { get; set; } = [];

    /// <summary>Variables visible only to this execution and its descendants (e.g. a loop's <c>CurrentValue</c>).</summary>
    public JsonObject? Locals { get; set; }

    /// <summary>Inputs evaluated so far (secrets masked), kept while the activity waits for its journal entry.</summary>
    public JsonObject? Inputs { get; set; }

    /// <summary>Outputs written so far, kept while the activity waits (they are stored with the run when it completes).</summary>
    public JsonObject? Outputs { get; set; }

    /// <summary>
    /// Names of the inputs and outputs whose values its <c>logPersistenceMode</c> keeps out of every record
    /// (<c>{"inputs": [...], "outputs": [...]}</c>): the journal lists them as excluded instead.
    /// </summary>
    public JsonObject? Excluded { get; set; }
}

/// <summary>
/// What led to an activity execution in a flowchart: the step that completed (its activity id and execution id) and
/// the outcome port whose connection scheduled this one (Elsa's <c>schedulingActivityId</c> and
/// <c>schedulingActivityExecutionId</c>, plus the port).
/// </summary>
public sealed record ScheduledBy(string ActivityId, string Port, string ExecutionId)
{
    /// <summary>Key of the <c>Started</c> journal entry's payload that holds it (<c>{"activityId", "port", "executionId"}</c>).</summary>
    public const string JournalKey = "scheduledBy";

    public JsonObject ToJson() => new() { ["activityId"] = ActivityId, ["port"] = Port, ["executionId"] = ExecutionId };

    /// <summary>Reads <see cref="ToJson"/>'s shape; null when <paramref name="json"/> is not one.</summary>
    public static ScheduledBy? FromJson(JsonNode? json) =>
        json is JsonObject o && o["activityId"] is JsonValue a && a.TryGetValue<string>(out var activity) && o["port"] is JsonValue p && p.TryGetValue<string>(out var port)
            && o["executionId"] is JsonValue e && e.TryGetValue<string>(out var execution)
            ? new ScheduledBy(activity, port, execution)
            : null;
}

/// <summary>Kinds of work the executor does.</summary>
public enum WorkItemKind
{
    Execute,
    Resume,
}

/// <summary>One unit of scheduled work.</summary>
public sealed class WorkItem
{
    public WorkItemKind Kind { get; set; }

    public string ExecutionId { get; set; } = string.Empty;

    public string? BookmarkId { get; set; }

    public JsonNode? Payload { get; set; }

    /// <summary>Who or what resumed the bookmark (user, channel, timer).</summary>
    public string? ResumedBy { get; set; }
}

/// <summary>A persisted wait point of a suspended run.</summary>
public sealed class Bookmark
{
    public string Id { get; set; } = string.Empty;

    public string InstanceId { get; set; } = string.Empty;

    public string ExecutionId { get; set; } = string.Empty;

    public string NodeId { get; set; } = string.Empty;

    public string ActivityType { get; set; } = string.Empty;

    /// <summary>Kind of stimulus, e.g. <c>Elsa.Delay</c> or <c>DrWorkflows.ApprovalGate</c>.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>Lookup key within the name (approval id, child instance id...).</summary>
    public string? Key { get; set; }

    /// <summary>For timers: when the bookmark resumes by itself.</summary>
    public DateTimeOffset? ResumeAt { get; set; }

    public JsonNode? Payload { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>
/// A fault or an unsafe re-run. Under the hold (the default) the run stops at it until an operator retries, skips or
/// fails it; under Elsa's Fault or Continue strategy (<see cref="Strategy"/>) the run ended or carried on, and the
/// incident stays open (alerted, counted) until an operator acknowledges it.
/// </summary>
public sealed class Incident
{
    public string Id { get; set; } = string.Empty;

    public string ExecutionId { get; set; } = string.Empty;

    public string NodeId { get; set; } = string.Empty;

    public string ActivityId { get; set; } = string.Empty;

    public string ActivityType { get; set; } = string.Empty;

    public IncidentKind Kind { get; set; }

    public string Message { get; set; } = string.Empty;

    public string? ExceptionType { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The strategy that handled it (states written before strategies existed read as the hold).</summary>
    public IncidentStrategy Strategy { get; set; }

    /// <summary>Open and holding the run: the run waits for an operator's retry, skip or fail.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool HoldsRun => Resolution is null && Strategy == IncidentStrategy.OperatorHold;

    public IncidentResolution? Resolution { get; set; }

    public string? ResolvedBy { get; set; }

    public DateTimeOffset? ResolvedAt { get; set; }
}

public enum IncidentKind
{
    /// <summary>The activity threw and its retries are exhausted.</summary>
    Fault,

    /// <summary>The orchestrator stopped while an activity that is not safe to re-run was executing.</summary>
    InterruptedUnsafeActivity,
}

public enum IncidentResolution
{
    Retry,
    Skip,
    Fail,

    /// <summary>On-call saw an incident that the Fault or Continue strategy already acted on (the only action it takes).</summary>
    Acknowledge,

    /// <summary>
    /// The run was cancelled while this incident held it: the cancel answered it (who and when are the cancel's). Not an
    /// action anyone takes on an incident; an open held incident on a finished run would offer actions that cannot work.
    /// </summary>
    RunCancelled,
}

/// <summary>A child run requested by <c>ExecuteWorkflow</c> (or a workflow used as an activity).</summary>
public sealed class ChildRunRequest
{
    /// <summary>The child's instance id, fixed when requested so that starting it twice is impossible.</summary>
    public string InstanceId { get; set; } = string.Empty;

    public string DefinitionId { get; set; } = string.Empty;

    /// <summary>The exact version to run (a workflow used as an activity); null: the published version.</summary>
    public string? DefinitionVersionId { get; set; }

    public int? Version { get; set; }

    public string? CorrelationId { get; set; }

    public Dictionary<string, JsonNode?> Input { get; set; } = [];

    /// <summary>The parent's incident strategy, for a child that runs under it (a workflow used as an activity); null: its own.</summary>
    public IncidentStrategy? IncidentStrategy { get; set; }
}

/// <summary>An error, as stored and shown.</summary>
public sealed record FaultInfo(string Message, string? ExceptionType, string? NodeId, string? ActivityId);
