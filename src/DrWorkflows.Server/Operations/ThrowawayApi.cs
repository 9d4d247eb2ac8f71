using DrWorkflows.Activities.Throwaway;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Server.Security;

namespace DrWorkflows.Server.Operations;

/// <summary>
/// The ledger of throwaway resources under <c>/api</c>: what a run's steps created for themselves and what became of
/// it (removed by the step, or by the janitor, and why), every live one, and a janitor pass on demand.
/// </summary>
public static class ThrowawayApi
{
    public static IEndpointRouteBuilder MapThrowawayApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").RequireAuthorization(Roles.Viewer);
        api.MapGet("/workflow-instances/{id}/resources", ListForRunAsync);
        api.MapGet("/throwaway-resources", ListAsync);
        api.MapPost("/throwaway-resources/janitor", RunJanitorAsync).RequireAuthorization(Roles.Operator);
        return app;
    }

    private static async Task<IResult> ListForRunAsync(string id, IThrowawayResourceStore store, IWorkflowInstanceStore instances, CancellationToken cancellationToken)
    {
        var resources = await store.ListAsync(new ThrowawayQuery(InstanceId: id, Take: 10_000), cancellationToken);
        if (resources.Count == 0 && await instances.GetAsync(id, cancellationToken) is null)
            return Results.Problem(statusCode: 404, title: "Not found", detail: $"Workflow instance '{id}' does not exist and owns no throwaway resources.");
        return Results.Ok(new
        {
            workflowInstanceId = id,
            items = resources.Select(Model),
            count = resources.Count,
            live = resources.Count(r => r.State == ThrowawayState.Live),
            released = resources.Count(r => r.State == ThrowawayState.Released),
            removedByJanitor = resources.Count(r => r.State == ThrowawayState.Removed),
        });
    }

    private static async Task<IResult> ListAsync(string? state, int? take, IThrowawayResourceStore store, CancellationToken cancellationToken)
    {
        ThrowawayState? filter = null;
        if (!string.IsNullOrWhiteSpace(state))
        {
            if (!Enum.TryParse<ThrowawayState>(state, ignoreCase: true, out var parsed) || int.TryParse(state, out _))
                return Results.Problem(statusCode: 400, title: "Bad request", detail: $"'{state}' is not a state: use Live, Released or Removed.");
            filter = parsed;
        }

        var resources = await store.ListAsync(new ThrowawayQuery(State: filter, Take: Math.Clamp(take ?? 500, 1, 10_000)), cancellationToken);
        return Results.Ok(new { items = resources.Select(Model), count = resources.Count });
    }

    private static async Task<IResult> RunJanitorAsync(ThrowawayJanitor janitor, CancellationToken cancellationToken)
    {
        var report = await janitor.RunOnceAsync(cancellationToken);
        return Results.Ok(new
        {
            startedAt = report.StartedAt,
            examined = report.Examined,
            stillOwned = report.Owned,
            removed = report.Removed.Select(Model),
            failed = report.Failed.Select(f => new { resource = Model(f.Resource), reason = f.Reason, error = f.Error }),
            forOtherNodes = report.Elsewhere,
            journaled = report.Journaled,
        });
    }

    private static object Model(ThrowawayResource r) => new
    {
        id = r.Id,
        kind = r.Kind,
        name = r.Name,
        location = r.Location,
        host = r.Host,
        description = r.Description,
        workflowInstanceId = r.InstanceId,
        activityInstanceId = r.ExecutionId,
        activityId = r.ActivityId,
        activityType = r.ActivityType,
        attempt = r.Attempt,
        nodeId = r.NodeId,
        holderId = r.HolderId,
        recordedAt = r.RecordedAt,
        state = r.State.ToString(),
        endedAt = r.EndedAt,
        endedBy = r.EndedBy,
        reason = r.Reason,
        lastError = r.LastError,
        failedRemovals = r.FailedRemovals,
    };
}
