using System.Text.Json.Nodes;
using DrWorkflows.Activities.Preflight;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Server.Apis;
using DrWorkflows.Server.Hosting;
using DrWorkflows.Server.Security;

namespace DrWorkflows.Server.Operations;

/// <summary>
/// <c>GET /api/setup</c> (viewer): per published workflow, the settings it needs that are configured and those missing
/// (a scheduled workflow with missing settings starts no run). <c>POST /api/preflight/{definitionId}</c> (operator):
/// everything the workflow needs checked read-only on the real platform now, and what would block it.
/// </summary>
public static class SetupApi
{
    public static IEndpointRouteBuilder MapSetupApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/setup", ListAsync).RequireAuthorization(Roles.Viewer);
        app.MapPost("/api/preflight/{definitionId}", PreflightAsync).RequireAuthorization(Roles.Operator).WithBodyLimit(BodyLimits.Small);
        return app;
    }

    /// <summary>Registers the setup check and the gate that keeps unconfigured workflows' schedules from starting runs.</summary>
    public static IServiceCollection AddSetupChecks(this IServiceCollection services) =>
        services.AddSingleton<IScheduledRunGate, ScheduledRunGate>();

    /// <summary>Body (optional): <c>{"input": {...}}</c>, the run's input (e.g. the container names of your platform).</summary>
    public sealed record PreflightRequestBody(JsonObject? Input);

    private static async Task<IResult> ListAsync(WorkflowDefinitionService definitions, IWorkflowDefinitionStore store, IWorkflowPreflight preflight, CancellationToken cancellationToken)
    {
        var published = await store.ListAsync(new DefinitionQuery(VersionOptions.PublishedVersion, Take: 10_000), cancellationToken);
        var items = new List<object>();
        foreach (var definition in published.Items.OrderBy(d => d.DefinitionId, StringComparer.Ordinal))
        {
            Core.Model.WorkflowGraph graph;
            try
            {
                graph = definitions.GetGraph(definition);
            }
            catch (Core.WorkflowDefinitionException e)
            {
                items.Add(new { definitionId = definition.DefinitionId, name = definition.Name, schedules = Array.Empty<string>(), ready = false, configured = Array.Empty<string>(), missing = new[] { $"The definition cannot be loaded: {e.Message}" }, optional = Array.Empty<string>() });
                continue;
            }

            var setup = await preflight.CheckSetupAsync(graph, cancellationToken);
            items.Add(new { definitionId = setup.DefinitionId, name = setup.Name, schedules = setup.Schedules, ready = setup.Ready, configured = setup.Configured, missing = setup.Missing, optional = setup.Optional });
        }

        return Results.Ok(new { items, count = items.Count });
    }

    private static async Task<IResult> PreflightAsync(string definitionId, PreflightRequestBody? request, WorkflowDefinitionService definitions, IWorkflowPreflight preflight, CancellationToken cancellationToken)
    {
        if (await definitions.FindAsync(definitionId, VersionOptions.PublishedVersion, cancellationToken) is not { } definition)
            return Results.Problem(statusCode: 404, title: "Not found", detail: $"No published workflow '{definitionId}' (GET /api/setup lists them).");
        var report = await preflight.CheckAsync(definitions.GetGraph(definition), ElsaModels.ToDictionary(request?.Input), cancellationToken);
        return Results.Ok(new
        {
            definitionId = report.DefinitionId,
            name = report.Name,
            checkedAt = report.CheckedAt,
            ready = report.Ready,
            blockers = report.Blockers.Count,
            items = report.Items.Select(i => new { check = i.Check, status = i.Status.ToString(), detail = i.Detail }),
        });
    }
}

/// <summary>A scheduled slot starts a run only when the workflow's setup has nothing missing.</summary>
internal sealed partial class ScheduledRunGate(WorkflowDefinitionService definitions, IWorkflowPreflight preflight, ILogger<ScheduledRunGate> logger) : IScheduledRunGate
{
    public async Task<IReadOnlyList<string>> MissingSettingsAsync(string definitionId, CancellationToken cancellationToken)
    {
        try
        {
            if (await definitions.FindAsync(definitionId, VersionOptions.PublishedVersion, cancellationToken) is not { } definition)
                return [];
            return (await preflight.CheckSetupAsync(definitions.GetGraph(definition), cancellationToken)).Missing;
        }
#pragma warning disable CA1031 // A failing setup check must not silence the schedule: the run starts and its own steps fail loudly.
        catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
        {
            SetupCheckFailed(logger, definitionId, e);
            return [];
        }
    }

    [LoggerMessage(EventId = 40, Level = LogLevel.Error, Message = "Workflow {DefinitionId}: its setup could not be checked; its scheduled run starts anyway")]
    private static partial void SetupCheckFailed(ILogger logger, string definitionId, Exception exception);
}
