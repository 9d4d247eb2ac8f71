using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Hosting;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Server.Apis;
using DrWorkflows.Server.Hosting;
using DrWorkflows.Server.Security;

namespace DrWorkflows.Server.Operations;

/// <summary>
/// On-call controls under <c>/api</c>: open incidents and their resolution (retry, skip, fail; acknowledge for one
/// that Elsa's Fault or Continue strategy already acted on), and the
/// definitions from workflows/ that could not be loaded.
/// </summary>
public static class OperationsApi
{
    public static IEndpointRouteBuilder MapOperationsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").RequireAuthorization(Roles.Viewer);
        api.MapGet("/incidents", ListIncidentsAsync);
        api.MapPost("/workflow-instances/{id}/incidents/{incidentId}/{action}", ResolveAsync).RequireAuthorization(Roles.Operator).WithBodyLimit(BodyLimits.Small);
        api.MapGet("/workflows/load-errors", (WorkflowLoader loader) => Results.Ok(new { items = loader.Errors, count = loader.Errors.Count }));
        app.MapAlertmanagerWebhook();
        app.MapThrowawayApi();
        return app;
    }

    private static async Task<IResult> ListIncidentsAsync(string? definitionId, bool? includeResolved, IWorkflowInstanceStore store, CancellationToken cancellationToken)
    {
        var runs = await store.ListAsync(new InstanceQuery(DefinitionId: definitionId, HasIncidents: includeResolved == true ? null : true, Take: 500), cancellationToken);
        var items = new List<object>();
        foreach (var run in runs.Items)
        {
            if (await store.GetAsync(run.Id, cancellationToken) is not { } state)
                continue;
            items.AddRange(state.Incidents.Where(i => includeResolved == true || i.Resolution is null).Select(i => new
            {
                id = i.Id,
                workflowInstanceId = state.Id,
                definitionId = state.DefinitionId,
                workflowName = state.Name,
                activityId = i.ActivityId,
                activityType = i.ActivityType,
                kind = i.Kind.ToString(),
                incidentStrategy = IncidentStrategies.TypeName(i.Strategy),
                message = i.Message,
                createdAt = i.CreatedAt,
                resolution = i.Resolution?.ToString(),
                resolvedBy = i.ResolvedBy,
                resolvedAt = i.ResolvedAt,
                actions = i.Resolution is null ? Actions(i) : [],
            }));
        }

        return Results.Ok(new { items, count = items.Count });
    }

    private static string[] Actions(Incident incident) =>
        [.. WorkflowExecutor.AllowedResolutions(incident).Select(r => r.ToString().ToLowerInvariant())];

    /// <summary>Body: <c>{"outcome": "Done"}</c> for skip (the port to continue on); optional.</summary>
    public sealed record ResolveRequest(string? Outcome);

    private static async Task<IResult> ResolveAsync(string id, string incidentId, string action, ResolveRequest? request, HttpContext http, IWorkflowInstanceStore store, WorkflowRuntime runtime, CancellationToken cancellationToken)
    {
        if (!Enum.TryParse<IncidentResolution>(action, ignoreCase: true, out var resolution) || int.TryParse(action, out _))
            return Results.Problem(statusCode: 400, title: "Bad request", detail: $"'{action}' is not an incident action: use retry, skip, fail or acknowledge.");
        if (await store.GetAsync(id, cancellationToken) is not { } state)
            return Results.Problem(statusCode: 404, title: "Not found", detail: $"Workflow instance '{id}' does not exist.");
        if (state.Incidents.Find(i => i.Id == incidentId && i.Resolution is null) is not { } incident)
            return Results.Problem(statusCode: 409, title: "Not open", detail: $"Incident '{incidentId}' is not open on run '{id}' (already resolved, or another id).");
        if (!WorkflowExecutor.AllowedResolutions(incident).Contains(resolution))
            return Results.Problem(statusCode: 409, title: "Not this action", detail: incident.Strategy == IncidentStrategy.OperatorHold
                ? $"Incident '{incidentId}' holds run '{id}': retry, skip or fail it."
                : $"Incident '{incidentId}' was handled by the incident strategy {IncidentStrategies.TypeName(incident.Strategy)} (the run {(incident.Strategy == IncidentStrategy.Fault ? "ended faulted" : "carried on")}): acknowledge it once you have checked what the failed step left.");
        var result = await runtime.ResolveIncidentAsync(id, incidentId, resolution, ElsaModels.Actor(http.User), request?.Outcome, cancellationToken);
        return Results.Ok(new { workflowInstanceId = id, status = result?.Status.ToString(), subStatus = result?.SubStatus.ToString() });
    }
}
