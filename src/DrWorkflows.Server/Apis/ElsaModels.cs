using System.Security.Claims;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;

namespace DrWorkflows.Server.Apis;

/// <summary>Maps runtime state to the JSON shapes of Elsa 3's REST API (what Elsa Studio reads).</summary>
public static class ElsaModels
{
    /// <summary>Elsa's <c>WorkflowInstanceSummary</c>: one row of the instance list.</summary>
    public static InstanceSummaryModel Summary(WorkflowInstanceSummary s) => new(
        s.Id,
        s.DefinitionId,
        s.DefinitionVersionId,
        s.Version,
        s.Status.ToString(),
        s.SubStatus.ToString(),
        s.CorrelationId,
        s.Name,
        s.IncidentCount,
        s.CreatedAt,
        s.UpdatedAt,
        s.FinishedAt);

    /// <summary>Elsa's <c>WorkflowInstance</c>: the list row of the run, then its <c>workflowState</c>.</summary>
    public static InstanceModel Instance(WorkflowState state) =>
        new(Summary(WorkflowInstanceSummary.Of(state)), WorkflowStateModel(state));

    public static object WorkflowStateModel(WorkflowState state) => new
    {
        id = state.Id,
        definitionId = state.DefinitionId,
        definitionVersionId = state.DefinitionVersionId,
        definitionVersion = state.DefinitionVersion,
        correlationId = state.CorrelationId,
        parentWorkflowInstanceId = state.ParentInstanceId,
        status = state.Status.ToString(),
        subStatus = state.SubStatus.ToString(),
        bookmarks = state.Bookmarks.Select(b => new
        {
            id = b.Id,
            name = b.Name,
            hash = b.Key,
            payload = b.Payload,
            activityNodeId = b.NodeId,
            activityInstanceId = b.ExecutionId,
            activityTypeName = b.ActivityType,
            resumeAt = b.ResumeAt,
            createdAt = b.CreatedAt,
        }),
        incidents = state.Incidents.Select(i => new
        {
            id = i.Id,
            activityId = i.ActivityId,
            activityNodeId = i.NodeId,
            activityType = i.ActivityType,
            activityInstanceId = i.ExecutionId,
            kind = i.Kind.ToString(),
            message = i.Message,
            exception = i.ExceptionType is null ? null : new { type = i.ExceptionType, message = i.Message },
            timestamp = i.CreatedAt,
            resolution = i.Resolution?.ToString(),
            resolvedBy = i.ResolvedBy,
            resolvedAt = i.ResolvedAt,
        }),
        fault = state.Fault is null ? null : new { message = state.Fault.Message, exception = state.Fault.ExceptionType is null ? null : new { type = state.Fault.ExceptionType, message = state.Fault.Message }, faultedActivityId = state.Fault.ActivityId },
        completionCallbacks = Array.Empty<object>(),
        activityExecutionContexts = state.Executions.Select(e => new
        {
            id = e.Id,
            parentContextId = e.ParentId,
            scheduledActivityNodeId = e.NodeId,
            ownerActivityNodeId = e.NodeId,
            properties = e.Properties,
            activityState = (object?)null,
            status = e.Status.ToString(),
            isExecuting = e.Status == ActivityStatus.Running,
            faultCount = e.Status == ActivityStatus.Faulted ? 1 : 0,
            attempt = e.Attempt,
            startedAt = e.StartedAt,
            tag = e.Tag,
        }),
        input = state.Input,
        output = state.Output,
        properties = state.Properties,
        createdAt = state.CreatedAt,
        updatedAt = state.UpdatedAt,
        finishedAt = state.FinishedAt,
    };

    /// <summary>
    /// The activity type of the run's own journal records (started, finished, faulted, cancelled, resumed), as
    /// Elsa reports them: the Studio excludes it from the instance viewer's journal, like an Elsa server's.
    /// </summary>
    public const string WorkflowActivityType = "Elsa.Workflow";

    /// <summary>The activity type a journal record is reported with: its activity's, or <see cref="WorkflowActivityType"/> for the run's own.</summary>
    public static string JournalActivityType(JournalEntry e) => e.ActivityType ?? WorkflowActivityType;

    /// <summary>
    /// Elsa's <c>WorkflowExecutionLogRecord</c>. The Studio reads <c>activityTypeVersion</c> as an int and
    /// <c>activityState</c> as a dictionary: a null or another shape there fails its JSON reader (and the page).
    /// </summary>
    public static object JournalRecord(JournalEntry e) => new
    {
        id = e.Id,
        workflowInstanceId = e.InstanceId,
        activityInstanceId = e.ExecutionId,
        parentActivityInstanceId = e.ParentExecutionId,
        activityId = e.ActivityId,
        activityType = JournalActivityType(e),
        activityTypeVersion = e.ActivityTypeVersion ?? 1,
        activityName = e.ActivityName,
        nodeId = e.NodeId,
        timestamp = e.Timestamp,
        sequence = e.Sequence,
        eventName = e.EventName,
        message = e.Message,
        source = (string?)null,
        activityState = e.Payload?["inputs"] as JsonObject,
        payload = e.Payload,
        outcomes = e.Outcomes,
        attempt = e.Attempt,
        actor = e.Actor,
    };

    /// <summary>"name (channel)" of the caller, for journals: who started, resumed or cancelled.</summary>
    public static string Actor(ClaimsPrincipal user) =>
        $"{user.Identity?.Name ?? "anonymous"} ({user.FindFirst("drw:channel")?.Value ?? "api"})";

    public static Dictionary<string, JsonNode?>? ToDictionary(JsonObject? input) =>
        input?.ToDictionary(p => p.Key, p => p.Value?.DeepClone());
}

/// <summary>The JSON of <see cref="ElsaModels.Summary"/>; property names are camel-cased by the web serializer options.</summary>
public record InstanceSummaryModel(
    string Id,
    string DefinitionId,
    string DefinitionVersionId,
    int Version,
    string Status,
    string SubStatus,
    string? CorrelationId,
    string? Name,
    int IncidentCount,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? FinishedAt);

/// <summary>The JSON of <see cref="ElsaModels.Instance"/>: the summary's properties, then <c>workflowState</c>.</summary>
public sealed record InstanceModel : InstanceSummaryModel
{
    public InstanceModel(InstanceSummaryModel summary, object workflowState)
        : base(summary) => WorkflowState = workflowState;

    [JsonPropertyOrder(1)]
    public object WorkflowState { get; }
}
