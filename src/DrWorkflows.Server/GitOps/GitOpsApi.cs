using DrWorkflows.Activities.GitHub;
using DrWorkflows.Server.Hosting;
using DrWorkflows.Server.Security;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Server.GitOps;

/// <summary>
/// <c>GET /api/gitops/drift</c> (viewer): every definition against the reviewed branch. Answer:
/// <c>{"against", "checkedAt", "drifted", "items": [{"definitionId", "state", "publishedVersion", "origin", "file", "reason"}]}</c>,
/// drifted items first. 502 with the cause when the branch cannot be read: drift is never reported as none
/// when it was not measured.
/// </summary>
public static class GitOpsApi
{
    public static IServiceCollection AddDrWorkflowsGitOps(this IServiceCollection services)
    {
        services.AddOptions<GitOpsOptions>().BindConfiguration(GitOpsOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<GitOpsOptions>, GitOpsOptionsValidator>();
        services.AddSingleton<IWorkflowRepository>(sp => sp.GetRequiredService<IOptions<GitOpsOptions>>().Value.Enabled
            ? new GitHubWorkflowRepository(sp.GetRequiredService<IOptions<GitOpsOptions>>(), sp.GetRequiredService<IOptions<GitHubOptions>>())
            : new FolderWorkflowRepository(sp.GetRequiredService<IOptions<Core.Hosting.WorkflowSourceOptions>>()));
        services.AddSingleton<DriftService>();
        services.AddSingleton<PullRequestOpener>();
        services.AddSingleton<GitOpsPublishing>();
        services.AddHostedService<DriftMonitor>();
        services.AddSingleton<BreakGlassPublisher>();
        services.AddActivities(typeof(PublishBreakGlass).Assembly);
        services.AddOptions<Core.Hosting.WorkflowSourceOptions>().PostConfigure<IOptions<GitOpsOptions>>((sources, gitOps) =>
        {
            // The break-glass workflow exists only where publishing goes through review.
            if (gitOps.Value.Enabled && !sources.CodeAssemblies.Contains(typeof(BreakGlassWorkflow).Assembly))
                sources.CodeAssemblies.Add(typeof(BreakGlassWorkflow).Assembly);
        });
        services.AddSingleton<MergePublisher>();
        services.AddSingleton<MergePoller>();
        services.AddHostedService(sp => sp.GetRequiredService<MergePoller>());
        return services;
    }

    public static IEndpointRouteBuilder MapGitOpsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/gitops/drift", async (DriftService drift, CancellationToken cancellationToken) =>
        {
            try
            {
                var report = await drift.CheckAsync(cancellationToken);
                return Results.Ok(new
                {
                    against = report.Against,
                    checkedAt = report.CheckedAt,
                    drifted = report.Drifted,
                    items = report.Items.Select(i => new
                    {
                        definitionId = i.DefinitionId,
                        state = i.State.ToString(),
                        publishedVersion = i.PublishedVersion,
                        origin = i.Origin,
                        file = i.File,
                        reason = i.Reason,
                    }),
                });
            }
            catch (WorkflowRepositoryException e)
            {
                return Results.Problem(statusCode: StatusCodes.Status502BadGateway, title: "Drift not measured", detail: e.Message);
            }
        }).RequireAuthorization(Roles.Viewer);
        app.MapPost("/api/gitops/break-glass", BreakGlassApi.RequestAsync).RequireAuthorization(Roles.Admin).WithBodyLimit(BodyLimits.Small);
        return app;
    }
}

/// <summary>Refreshes the drift metric every <see cref="GitOpsOptions.DriftCheckInterval"/> and logs a warning when drift appears or changes.</summary>
internal sealed partial class DriftMonitor(DriftService drift, IOptions<GitOpsOptions> options, TimeProvider clock, ILogger<DriftMonitor> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.DriftCheckInterval;
        if (interval <= TimeSpan.Zero)
            return;
        var reported = 0;
        using var timer = new PeriodicTimer(interval, clock);
        do
        {
            try
            {
                var report = await drift.CheckAsync(stoppingToken);
                if (report.Drifted != reported && report.Drifted > 0)
                    Drifted(logger, report.Drifted, report.Against, string.Join(", ", report.Items.Where(i => i.State != DriftState.InSync).Select(i => $"{i.DefinitionId} {i.State}")));
                reported = report.Drifted;
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // GitHub refusing, or the store unavailable: the gauge says unknown; the server keeps running.
                CheckFailed(logger, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(EventId = 1300, Level = LogLevel.Warning, Message = "GitOps drift: {Count} definition(s) run something that is not on {Against}: {Items} (GET /api/gitops/drift, drw gitops drift)")]
    private static partial void Drifted(ILogger logger, int count, string against, string items);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Error, Message = "GitOps drift not measured: {Reason}")]
    private static partial void CheckFailed(ILogger logger, string reason);
}
