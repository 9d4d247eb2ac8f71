using System.Text.Json.Nodes;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Server.Hosting;

namespace DrWorkflows.Server.Apis;

/// <summary>
/// Elsa's activity-execution routes, which the Studio's instance viewer uses to colour nodes and list the
/// executions of a node: derived from the run's journal (one record per activity execution). Record ids are
/// <c>{workflowInstanceId}.{executionId}</c>, so that a record can be found from its id alone.
/// </summary>
public static class ActivityExecutionsApi
{
    public static RouteGroupBuilder MapActivityExecutionsApi(this RouteGroupBuilder group)
    {
        group.MapPost("/activity-executions/report", ReportAsync).WithBodyLimit(BodyLimits.Small);
        group.MapGet("/activity-executions/list", (string? workflowInstanceId, string? activityNodeId, IWorkflowInstanceStore store, CancellationToken cancellationToken) =>
            ListAsync(workflowInstanceId, activityNodeId, summaries: false, store, cancellationToken));
        group.MapGet("/activity-execution-summaries/list", (string? workflowInstanceId, string? activityNodeId, IWorkflowInstanceStore store, CancellationToken cancellationToken) =>
            ListAsync(workflowInstanceId, activityNodeId, summaries: true, store, cancellationToken));
        group.MapGet("/activity-executions/by-id", GetAsync);
        group.MapGet("/activity-executions/{id}/call-stack", CallStackAsync);
        return group;
    }

    /// <summary>One activity execution, folded from its journal entries.</summary>
    private sealed class Execution
    {
        public required string InstanceId { get; init; }

        public required string ExecutionId { get; init; }

        public string? ParentExecutionId { get; set; }

        public string? ActivityId { get; set; }

        public string? NodeId { get; set; }

        public string? ActivityType { get; set; }

        public int? ActivityTypeVersion { get; set; }

        public string? ActivityName { get; set; }

        public DateTimeOffset StartedAt { get; set; }

        public DateTimeOffset? CompletedAt { get; set; }

        public string Status { get; set; } = "Running";

        public bool HasBookmarks { get; set; }

        public int FaultCount { get; set; }

        public JsonNode? Inputs { get; set; }

        public JsonNode? Outputs { get; set; }

        public JsonObject? Payload { get; set; }

        public string? Error { get; set; }

        public IReadOnlyList<string>? Outcomes { get; set; }

        /// <summary>The flowchart connection that scheduled it (from its <c>Started</c> entry), if any.</summary>
        public ScheduledBy? ScheduledBy { get; set; }

        public string Id => $"{InstanceId}.{ExecutionId}";
    }

    private static async Task<(WorkflowState? State, List<Execution> Executions)> LoadAsync(string instanceId, IWorkflowInstanceStore store, CancellationToken cancellationToken)
    {
        var state = await store.GetAsync(instanceId, cancellationToken);
        if (state is null)
            return (null, []);
        var journal = (await store.GetJournalAsync(instanceId, 0, int.MaxValue, cancellationToken)).Items;
        var executions = new Dictionary<string, Execution>(StringComparer.Ordinal);
        foreach (var entry in journal.Where(e => e.ExecutionId is not null).OrderBy(e => e.Sequence))
        {
            if (!executions.TryGetValue(entry.ExecutionId!, out var execution))
            {
                execution = new Execution { InstanceId = instanceId, ExecutionId = entry.ExecutionId!, StartedAt = entry.Timestamp };
                executions[entry.ExecutionId!] = execution;
            }

            execution.ParentExecutionId ??= entry.ParentExecutionId;
            execution.ActivityId ??= entry.ActivityId;
            execution.NodeId ??= entry.NodeId;
            execution.ActivityType ??= entry.ActivityType;
            execution.ActivityTypeVersion ??= entry.ActivityTypeVersion;
            execution.ActivityName ??= entry.ActivityName;
            execution.Inputs = entry.Payload?["inputs"]?.DeepClone() ?? execution.Inputs;
            execution.Outputs = entry.Payload?["outputs"]?.DeepClone() ?? execution.Outputs;
            switch (entry.EventName)
            {
                case JournalEvents.Started:
                    execution.StartedAt = entry.Timestamp;
                    execution.ScheduledBy ??= ScheduledBy.FromJson(entry.Payload?[ScheduledBy.JournalKey]);
                    execution.Status = "Running";
                    break;
                case JournalEvents.Suspended:
                    execution.HasBookmarks = true;
                    execution.Status = "Running";
                    break;
                case JournalEvents.Resumed or JournalEvents.Retrying or JournalEvents.IncidentResolved:
                    execution.HasBookmarks = false;
                    execution.Status = "Running";
                    break;
                case JournalEvents.Completed:
                    execution.Status = "Completed";
                    execution.HasBookmarks = false;
                    execution.CompletedAt = entry.Timestamp;
                    execution.Outcomes = entry.Outcomes;
                    break;
                case JournalEvents.Faulted or JournalEvents.IncidentRaised:
                    execution.Status = "Faulted";
                    execution.FaultCount++;
                    execution.Error = entry.Message;
                    break;
                case JournalEvents.Cancelled:
                    execution.Status = "Canceled";
                    execution.HasBookmarks = false;
                    execution.CompletedAt = entry.Timestamp;
                    break;
            }

            execution.Payload = entry.Payload is null ? execution.Payload : (JsonObject)entry.Payload.DeepClone();
        }

        // A bookmark still open in the state is the truth about "waiting".
        foreach (var bookmark in state.Bookmarks)
        {
            if (executions.TryGetValue(bookmark.ExecutionId, out var waiting))
                waiting.HasBookmarks = true;
        }

        return (state, [.. executions.Values]);
    }

    /// <summary>Body of the report: <c>{"workflowInstanceId":"…","activityNodeIds":["…"]}</c>.</summary>
    public sealed record ReportRequest(string? WorkflowInstanceId, string?[]? ActivityNodeIds);

    /// <summary>Answers <c>{"stats":[…]}</c>, one per node id.</summary>
    private static async Task<IResult> ReportAsync(ReportRequest? body, IWorkflowInstanceStore store, CancellationToken cancellationToken)
    {
        var instanceId = body?.WorkflowInstanceId;
        if (string.IsNullOrWhiteSpace(instanceId))
            return WorkflowDefinitionsApi.BadRequest("The body must be {\"workflowInstanceId\": \"<id>\", \"activityNodeIds\": [\"<node id>\", ...]}.");
        var (state, executions) = await LoadAsync(instanceId, store, cancellationToken);
        if (state is null)
            return WorkflowInstancesApi.NotFound(instanceId);
        var nodeIds = Paging.Ids(body?.ActivityNodeIds, "activityNodeIds");
        if (nodeIds.Count == 0)
            nodeIds = [.. executions.Select(e => e.NodeId).OfType<string>().Distinct(StringComparer.Ordinal)];
        var stats = new JsonArray();
        foreach (var nodeId in nodeIds)
        {
            var ofNode = executions.Where(e => e.NodeId == nodeId).ToList();
            if (ofNode.Count == 0)
                continue;
            var completed = ofNode.Count(e => e.Status == "Completed");
            stats.Add(new JsonObject
            {
                ["activityId"] = ofNode[0].ActivityId,
                ["activityNodeId"] = nodeId,
                ["startedCount"] = ofNode.Count,
                ["completedCount"] = completed,
                ["uncompletedCount"] = ofNode.Count - completed,
                ["isBlocked"] = ofNode.Any(e => e.HasBookmarks),
                ["isFaulted"] = ofNode.Any(e => e.Status == "Faulted"),
                ["metadata"] = null,
            });
        }

        return DescriptorsApi.Json(new JsonObject { ["stats"] = stats });
    }

    private static async Task<IResult> ListAsync(string? workflowInstanceId, string? activityNodeId, bool summaries, IWorkflowInstanceStore store, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(workflowInstanceId))
            return WorkflowDefinitionsApi.BadRequest("Give ?workflowInstanceId=<id>[&activityNodeId=<node id>].");
        var (state, executions) = await LoadAsync(workflowInstanceId, store, cancellationToken);
        if (state is null)
            return WorkflowInstancesApi.NotFound(workflowInstanceId);
        var items = new JsonArray([.. executions
            .Where(e => string.IsNullOrEmpty(activityNodeId) || e.NodeId == activityNodeId)
            .OrderBy(e => e.StartedAt)
            .Select(e => (JsonNode)(summaries ? Summary(e) : Record(e, executions)))]);
        return DescriptorsApi.Json(new JsonObject { ["items"] = items, ["count"] = items.Count });
    }

    private static async Task<IResult> GetAsync(string? id, IWorkflowInstanceStore store, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(id))
            return WorkflowDefinitionsApi.BadRequest("Give ?id=<activity execution id>.");
        var (execution, all) = await FindAsync(id, store, cancellationToken);
        return execution is null ? NotFound(id) : DescriptorsApi.Json(Record(execution, all));
    }

    private static async Task<IResult> CallStackAsync(string id, IWorkflowInstanceStore store, CancellationToken cancellationToken)
    {
        var (execution, all) = await FindAsync(id, store, cancellationToken);
        if (execution is null)
            return NotFound(id);
        var stack = new List<Execution>();
        for (var current = execution; current is not null && stack.Count < 1000; current = all.FirstOrDefault(e => e.ExecutionId == current.ParentExecutionId))
            stack.Add(current);
        stack.Reverse();
        return DescriptorsApi.Json(new JsonObject
        {
            ["activityExecutionId"] = id,
            ["items"] = new JsonArray([.. stack.Select(e => (JsonNode)Record(e, all))]),
            ["totalCount"] = stack.Count,
        });
    }

    private static async Task<(Execution? Execution, List<Execution> All)> FindAsync(string id, IWorkflowInstanceStore store, CancellationToken cancellationToken)
    {
        var dot = id.LastIndexOf('.');
        if (dot <= 0 || dot == id.Length - 1)
            return (null, []);
        var (_, all) = await LoadAsync(id[..dot], store, cancellationToken);
        return (all.FirstOrDefault(e => e.ExecutionId == id[(dot + 1)..]), all);
    }

    private static JsonObject Summary(Execution e) => new()
    {
        ["id"] = e.Id,
        ["workflowInstanceId"] = e.InstanceId,
        ["activityId"] = e.ActivityId,
        ["activityNodeId"] = e.NodeId,
        ["activityType"] = e.ActivityType,
        ["activityTypeVersion"] = e.ActivityTypeVersion ?? 1,
        ["activityName"] = e.ActivityName,
        ["startedAt"] = e.StartedAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        ["hasBookmarks"] = e.HasBookmarks,
        ["status"] = e.Status,
        ["aggregateFaultCount"] = e.FaultCount,
        ["completedAt"] = e.CompletedAt?.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        ["metadata"] = new JsonObject(),
    };

    private static JsonObject Record(Execution e, List<Execution> all)
    {
        var record = Summary(e);
        var parent = all.FirstOrDefault(p => p.ExecutionId == e.ParentExecutionId);
        record["activityState"] = e.Inputs?.DeepClone() ?? new JsonObject();
        record["payload"] = e.Payload?.DeepClone() ?? new JsonObject();
        record["outputs"] = e.Outputs?.DeepClone() ?? new JsonObject();
        record["properties"] = new JsonObject { ["outcomes"] = e.Outcomes is null ? null : new JsonArray([.. e.Outcomes.Select(o => (JsonNode)JsonValue.Create(o))]) };
        if (e.ScheduledBy is { } scheduledBy)
            record["properties"]![ScheduledBy.JournalKey] = scheduledBy.ToJson();
        record["exception"] = e.Error is null ? null : new JsonObject { ["type"] = "ActivityFailure", ["message"] = e.Error };
        // As in Elsa: the step whose completion scheduled this one (a flowchart's connection), else the composite that did.
        // The call stack and its depth follow the composites (parents), as the Studio's viewer shows them.
        record["schedulingActivityExecutionId"] = e.ScheduledBy is { } by ? $"{e.InstanceId}.{by.ExecutionId}" : parent?.Id;
        record["schedulingActivityId"] = e.ScheduledBy?.ActivityId ?? parent?.ActivityId;
        record["schedulingWorkflowInstanceId"] = parent is null ? null : e.InstanceId;
        record["callStackDepth"] = Depth(e, all);
        return record;
    }

    private static int Depth(Execution e, List<Execution> all)
    {
        var depth = 0;
        for (var current = all.FirstOrDefault(p => p.ExecutionId == e.ParentExecutionId); current is not null && depth < 1000; current = all.FirstOrDefault(p => p.ExecutionId == current.ParentExecutionId))
            depth++;
        return depth;
    }

    private static IResult NotFound(string id) =>
        Results.Problem(statusCode: 404, title: "Not found", detail: $"Activity execution '{id}' does not exist (ids look like '<workflowInstanceId>.<executionId>').");
}
