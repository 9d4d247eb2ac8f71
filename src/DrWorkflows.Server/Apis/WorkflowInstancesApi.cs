using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Server.Hosting;
using DrWorkflows.Server.Security;

namespace DrWorkflows.Server.Apis;

/// <summary>Elsa's workflow-instance routes under <c>/elsa/api</c>.</summary>
public static class WorkflowInstancesApi
{
    public static RouteGroupBuilder MapWorkflowInstancesApi(this RouteGroupBuilder group)
    {
        group.MapPost("/workflow-instances", ListAsync).WithName("ListWorkflowInstances").WithBodyLimit(BodyLimits.Small);
        group.MapGet("/workflow-instances/{id}", GetAsync).WithName("GetWorkflowInstance");
        group.MapGet("/workflow-instances/{id}/execution-state", GetExecutionStateAsync);
        group.MapGet("/workflow-instances/{id}/journal", GetJournalAsync);
        group.MapPost("/workflow-instances/{id}/journal", FilterJournalAsync).WithBodyLimit(BodyLimits.Small);
        group.MapGet("/workflow-instances/{id}/variables", GetVariablesAsync);
        group.MapPost("/cancel/workflow-instances/{id}", CancelAsync).RequireAuthorization(Roles.Operator);
        group.MapDelete("/workflow-instances/{id}", DeleteAsync).RequireAuthorization(Roles.Admin);
        group.MapGet("/workflow-instances/{id}/export", ExportAsync);
        group.MapPost("/bulk-actions/delete/workflow-instances/by-id", BulkDeleteAsync).RequireAuthorization(Roles.Admin).WithBodyLimit(BodyLimits.Bulk);
        group.MapPost("/bulk-actions/cancel/workflow-instances", BulkCancelAsync).RequireAuthorization(Roles.Operator).WithBodyLimit(BodyLimits.Bulk);
        return group;
    }

    /// <summary>Body of the list call, as Elsa Studio sends it (unknown fields ignored).</summary>
    public sealed record ListRequest(
        int? Page,
        int? PageSize,
        string? SearchTerm,
        string? DefinitionId,
        string[]? DefinitionIds,
        string? CorrelationId,
        bool? HasIncidents,
        WorkflowStatus? Status,
        WorkflowStatus[]? Statuses,
        WorkflowSubStatus? SubStatus,
        WorkflowSubStatus[]? SubStatuses);

    private static async Task<IResult> ListAsync(ListRequest? request, IWorkflowInstanceStore store, CancellationToken cancellationToken)
    {
        request ??= new ListRequest(null, null, null, null, null, null, null, null, null, null, null);
        var (skip, pageSize) = Paging.Page(request.Page, request.PageSize, defaultSize: 50, maxSize: 1000);
        var page = Math.Max(request.Page ?? 0, 0);
        var subStatuses = (request.SubStatuses ?? []).Concat(request.SubStatus is { } s ? [s] : []).ToList();
        var status = request.Status ?? (request.Statuses is [var single] ? single : null);
        var result = await store.ListAsync(new InstanceQuery(
            DefinitionId: request.DefinitionId,
            DefinitionIds: Paging.Ids(request.DefinitionIds, "definitionIds") is { Count: > 0 } ids ? ids : null,
            CorrelationId: request.CorrelationId,
            Status: status,
            SubStatuses: subStatuses.Count > 0 ? subStatuses : null,
            SearchTerm: request.SearchTerm,
            HasIncidents: request.HasIncidents,
            Skip: skip,
            Take: pageSize), cancellationToken);
        return Results.Ok(new { items = result.Items.Select(ElsaModels.Summary), totalCount = result.TotalCount, page, pageSize });
    }

    private static async Task<IResult> GetAsync(string id, IWorkflowInstanceStore store, CancellationToken cancellationToken) =>
        await store.GetAsync(id, cancellationToken) is { } state ? Results.Ok(ElsaModels.Instance(state)) : NotFound(id);

    private static async Task<IResult> GetExecutionStateAsync(string id, IWorkflowInstanceStore store, CancellationToken cancellationToken) =>
        await store.GetAsync(id, cancellationToken) is { } state
            ? Results.Ok(new { status = state.Status.ToString(), workflowSubStatus = state.SubStatus.ToString(), updatedAt = state.UpdatedAt })
            : NotFound(id);

    private static async Task<IResult> GetJournalAsync(string id, int? skip, int? take, int? page, int? pageSize, IWorkflowInstanceStore store, CancellationToken cancellationToken)
    {
        if (await store.GetAsync(id, cancellationToken) is null)
            return NotFound(id);
        var (offset, size) = skip is not null ? Paging.Window(skip, take ?? pageSize, 100, 5000) : Paging.Page(page, take ?? pageSize, 100, 5000);
        var journal = await store.GetJournalAsync(id, offset, size, cancellationToken);
        return Results.Ok(new { items = journal.Items.Select(ElsaModels.JournalRecord), totalCount = journal.TotalCount });
    }

    /// <summary>Elsa's filtered journal: <c>{"filter":{"activityIds":[],"activityNodeIds":[],"excludedActivityTypes":[],"eventNames":[]}}</c>.</summary>
    public sealed record JournalFilterRequest(JournalFilter? Filter);

    public sealed record JournalFilter(string?[]? ActivityIds, string?[]? ActivityNodeIds, string?[]? ExcludedActivityTypes, string?[]? EventNames);

    /// <summary>Body of the bulk actions on instances: <c>{"ids": [...]}</c>, or for cancel <c>{"definitionId": "..."}</c>.</summary>
    public sealed record BulkRequest(string?[]? Ids, string? DefinitionId);

    private static async Task<IResult> FilterJournalAsync(string id, int? skip, int? take, JournalFilterRequest? body, IWorkflowInstanceStore store, CancellationToken cancellationToken)
    {
        if (await store.GetAsync(id, cancellationToken) is null)
            return NotFound(id);
        var filter = body?.Filter;
        var activityIds = Set(filter?.ActivityIds, "filter.activityIds");
        var nodeIds = Set(filter?.ActivityNodeIds, "filter.activityNodeIds");
        var excludedTypes = Set(filter?.ExcludedActivityTypes, "filter.excludedActivityTypes");
        var eventNames = Set(filter?.EventNames, "filter.eventNames");
        var all = (await store.GetJournalAsync(id, 0, int.MaxValue, cancellationToken)).Items
            .Where(e => activityIds is null || (e.ActivityId is not null && activityIds.Contains(e.ActivityId)))
            .Where(e => nodeIds is null || (e.NodeId is not null && nodeIds.Contains(e.NodeId)))
            .Where(e => excludedTypes is null || !excludedTypes.Contains(ElsaModels.JournalActivityType(e)))
            .Where(e => eventNames is null || eventNames.Contains(e.EventName))
            .ToList();
        var (from, size) = Paging.Window(skip, take, 100, 5000);
        return Results.Ok(new { items = all.Skip(from).Take(size).Select(ElsaModels.JournalRecord), totalCount = all.Count });
    }

    private static HashSet<string>? Set(string?[]? values, string field) =>
        Paging.Ids(values, field) is { Count: > 0 } list ? list.ToHashSet(StringComparer.Ordinal) : null;

    private static async Task<IResult> GetVariablesAsync(string id, IWorkflowInstanceStore store, Core.Runtime.WorkflowDefinitionService definitions, CancellationToken cancellationToken)
    {
        if (await store.GetAsync(id, cancellationToken) is not { } state)
            return NotFound(id);
        var graph = await definitions.GetGraphAsync(state.DefinitionVersionId, cancellationToken);
        var items = graph.Variables.Select(v => new { id = v.Id, name = v.Name, value = state.Variables.GetValueOrDefault(v.Id) }).ToList();
        return Results.Ok(new { items, count = items.Count });
    }

    private static async Task<IResult> CancelAsync(string id, HttpContext http, WorkflowRuntime runtime, CancellationToken cancellationToken) =>
        await runtime.CancelAsync(id, ElsaModels.Actor(http.User), cancellationToken) is { } state
            ? Results.Ok(new { id = state.Id, status = state.Status.ToString(), subStatus = state.SubStatus.ToString() })
            : NotFound(id);

    private static async Task<IResult> DeleteAsync(string id, IWorkflowInstanceStore store, CancellationToken cancellationToken) =>
        await store.DeleteAsync([id], cancellationToken) > 0 ? Results.NoContent() : NotFound(id);

    private static async Task<IResult> ExportAsync(string id, IWorkflowInstanceStore store, CancellationToken cancellationToken) =>
        await store.GetAsync(id, cancellationToken) is { } state
            ? Results.File(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(ElsaModels.Instance(state), Core.Serialization.Json.Indented), "application/json", $"workflow-instance-{id}.json")
            : NotFound(id);

    /// <summary>Body <c>{"ids":[…]}</c>; answers <c>{"deletedCount":n}</c>.</summary>
    private static async Task<IResult> BulkDeleteAsync(BulkRequest? body, IWorkflowInstanceStore store, CancellationToken cancellationToken)
    {
        var ids = Paging.Ids(body?.Ids, "ids");
        if (ids.Count == 0)
            return WorkflowDefinitionsApi.BadRequest("The body must be {\"ids\": [\"<workflow instance id>\", ...]}.");
        return Results.Ok(new { deletedCount = await store.DeleteAsync(ids, cancellationToken) });
    }

    /// <summary>Body <c>{"ids":[…]}</c> (or <c>{"definitionId":"…"}</c> for every running instance of a definition); answers <c>{"cancelledCount":n}</c>.</summary>
    private static async Task<IResult> BulkCancelAsync(BulkRequest? body, HttpContext http, IWorkflowInstanceStore store, WorkflowRuntime runtime, CancellationToken cancellationToken)
    {
        var ids = Paging.Ids(body?.Ids, "ids");
        var definitionId = body?.DefinitionId;
        if (ids.Count == 0 && !string.IsNullOrWhiteSpace(definitionId))
        {
            var running = await store.ListAsync(new InstanceQuery(DefinitionId: definitionId, Status: WorkflowStatus.Running, Take: Paging.MaxIds), cancellationToken);
            ids = [.. running.Items.Select(i => i.Id)];
        }

        var cancelled = 0;
        foreach (var id in ids)
        {
            if (await store.GetAsync(id, cancellationToken) is { Status: WorkflowStatus.Running } && await runtime.CancelAsync(id, ElsaModels.Actor(http.User), cancellationToken) is not null)
                cancelled++;
        }

        return Results.Ok(new { cancelledCount = cancelled });
    }

    internal static IResult NotFound(string id) =>
        Results.Problem(statusCode: 404, title: "Not found", detail: $"Workflow instance '{id}' does not exist.");
}
