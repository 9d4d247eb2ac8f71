using DrWorkflows.Activities.Drills;
using DrWorkflows.Server.Security;

namespace DrWorkflows.Server.Operations;

/// <summary>
/// <c>GET /api/objectives</c> (viewer): every promise of the objectives table checked, can it hold by design and is it
/// held now. Answer: <c>{"items": [{"component", "objective": "RPO"|"RTO", "target", "canHold", "isHeldNow", "reason"}]}</c>.
/// </summary>
public static class ObjectivesApi
{
    public static IEndpointRouteBuilder MapObjectivesApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/objectives", async (IRecoveryPromiseCheck check, CancellationToken cancellationToken) =>
        {
            var promises = await check.CheckAsync(cancellationToken);
            return Results.Ok(new
            {
                items = promises.Select(p => new
                {
                    component = p.Component,
                    objective = p.Objective,
                    target = p.Target,
                    canHold = p.CanHold,
                    isHeldNow = p.IsHeldNow,
                    offsiteCopyMissing = p.OffsiteCopyMissing,
                    reason = p.Reason,
                }),
            });
        }).RequireAuthorization(Roles.Viewer);
        return app;
    }

    /// <summary>Checks the promises once the workflows are loaded and logs a warning for each one that cannot hold.</summary>
    public static IServiceCollection AddObjectivesCheckAtStart(this IServiceCollection services) =>
        services.AddHostedService<ObjectivesCheckAtStart>();
}

/// <summary>At start (after StartupTasks loaded the workflows, so the backup schedules are known): one warning per broken promise.</summary>
internal sealed partial class ObjectivesCheckAtStart(IRecoveryPromiseCheck check, ILogger<ObjectivesCheckAtStart> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var promises = await check.CheckAsync(stoppingToken);
            var broken = promises.Where(p => !p.CanHold).ToList();
            foreach (var promise in broken)
                CannotHold(logger, promise.DisplayName, promise.Component, promise.Objective, RecoveryObjectivesCalculator.Format(promise.Target), promise.Reason);
            if (broken.Count > 0)
                Summary(logger, broken.Count, promises.Count);
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            CheckFailed(logger, e.Message);
        }
    }

    [LoggerMessage(EventId = 40, Level = LogLevel.Warning, Message = "Recovery promise cannot hold: {DisplayName} ({Component}) {Objective} {Target}. {Reason}")]
    private static partial void CannotHold(ILogger logger, string displayName, string component, string objective, string target, string reason);

    [LoggerMessage(EventId = 41, Level = LogLevel.Warning, Message = "{Broken} of {Total} recovery promises cannot hold by design: see GET /api/objectives or drw objectives")]
    private static partial void Summary(ILogger logger, int broken, int total);

    [LoggerMessage(EventId = 42, Level = LogLevel.Error, Message = "The recovery promises could not be checked at start: {Message}")]
    private static partial void CheckFailed(ILogger logger, string message);
}
