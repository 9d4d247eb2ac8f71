using System.Security.Claims;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;

namespace DrWorkflows.Server.Apis;

/// <summary>Maps runtime state to the JSON shapes of Elsa 3's REST API (what Elsa Studio reads).</summary>
public static class ElsaModels
{
    public static object Summary(WorkflowInstanceSummary s) => new
    {
        id = s.Id,
        definitionId = s.DefinitionId,
        definitionVersionId = s.DefinitionVersionId,
        version = s.Version,
        status = s.Status.ToString(),
        subStatus = s.SubStatus.ToString(),
        correlationId = s.CorrelationId,
        name = s.Name,
        incidentCount = s.IncidentCount,
        createdAt = s.CreatedAt,
        updatedAt = s.UpdatedAt,
        finishedAt = s.FinishedAt,
    };

    public static object Instance(WorkflowState state) => new
    {
        id = state.Id,
        definitionId = state.DefinitionId,
        definitionVersionId = state.DefinitionVersionId,
        version = state.DefinitionVersion,
        status = state.Status.ToString(),
        subStatus = state.SubStatus.ToString(),
        correlationId = state.CorrelationId,
        name = state.Name,
        incidentCount = state.Incidents.Count(i => i.Resolution is null),
        createdAt = state.CreatedAt,
        updatedAt = state.UpdatedAt,
        finishedAt = state.FinishedAt,
        workflowState = WorkflowStateModel(state),
    };

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

    public static object JournalRecord(JournalEntry e) => new
    {
        id = e.Id,
        workflowInstanceId = e.InstanceId,
        activityInstanceId = e.ExecutionId,
        parentActivityInstanceId = e.ParentExecutionId,
        activityId = e.ActivityId,
        activityType = e.ActivityType,
        activityTypeVersion = e.ActivityTypeVersion,
        activityName = e.ActivityName,
        nodeId = e.NodeId,
        timestamp = e.Timestamp,
        sequence = e.Sequence,
        eventName = e.EventName,
        message = e.Message,
        source = (string?)null,
        activityState = e.Payload?["inputs"],
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
