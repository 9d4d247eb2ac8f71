using System.Text.Json;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Core;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Serialization;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Drills;

/// <summary>A staging restore's target: the Compose project and the PostgreSQL server whose data it replaces.</summary>
public sealed record StagingTargetRequest(string Project, string Server, string Source)
{
    public string? Store { get; init; }
}

/// <summary>Why the target is staging and not production: what was compared.</summary>
public sealed record StagingTargetReport(string Project, string ProductionProject, string ServerEndpoint, string BackupOrigin, IReadOnlyList<string> Containers);

/// <summary>The target of a staging restore is production, or is not there: nothing was changed.</summary>
public sealed class StagingTargetRefusedException(string message) : ActivityFailureException(message)
{
    public const string Refused = "staging.target-refused";
}

/// <summary>Proves that a staging restore's target is not production before any data is replaced.</summary>
public interface IStagingTargetCheck
{
    /// <summary>Throws <see cref="StagingTargetRefusedException"/> naming the reason when the target is production or is not running.</summary>
    Task<StagingTargetReport> CheckAsync(StagingTargetRequest request, CancellationToken cancellationToken);
}

internal sealed class StagingTargetCheck(
    IOptions<DockerOptions> docker,
    IOptions<PostgresBackupOptions> postgres,
    IPostgresServerResolver servers,
    IBackupCatalog catalog,
    IDockerService engine) : IStagingTargetCheck
{
    public async Task<StagingTargetReport> CheckAsync(StagingTargetRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var production = docker.Value.ComposeProject ?? string.Empty;
        if (string.IsNullOrWhiteSpace(request.Project))
            throw Refuse("No staging Compose project was given (input StagingProject).");
        if (string.Equals(request.Project.Trim(), production.Trim(), StringComparison.OrdinalIgnoreCase))
            throw Refuse($"Compose project '{request.Project}' is the production project (Docker:ComposeProject): a staging restore never replaces production data.");
        if (!postgres.Value.Servers.ContainsKey(request.Server))
            throw Refuse($"Postgres:Servers:{request.Server} is not set: the staging database server must be configured by name (configured: {string.Join(", ", postgres.Value.Servers.Keys)}).");

        var target = servers.Resolve(request.Server, null);
        // The server the backups are taken from is production, whatever its name: the staging server must be another one.
        var sets = await catalog.ListAsync(request.Store, BackupKinds.Postgres, request.Source, cancellationToken);
        var newest = sets.Count > 0 ? sets[0] : null;
        var origin = newest?.Manifest.Server is { Length: > 0 } name && postgres.Value.Servers.ContainsKey(name) ? servers.Resolve(name, null) : null;
        if (origin is not null && string.Equals(origin.Endpoint, target.Endpoint, StringComparison.OrdinalIgnoreCase))
            throw Refuse($"{target} is the server the backups of {request.Source} are taken from ({origin}): that is production, not staging.");

        var containers = await engine.ListContainersAsync(ContainerSelector.Project(request.Project), null, cancellationToken);
        if (containers.Count == 0)
            throw Refuse($"Compose project '{request.Project}' has no container on {docker.Value.Endpoint}: start the staging platform first.");
        return new StagingTargetReport(request.Project, production, target.Endpoint, origin?.ToString() ?? "unknown (no backup names its server)", [.. containers.Select(c => c.Name)]);
    }

    private static StagingTargetRefusedException Refuse(string message) =>
        new($"Staging restore refused, nothing was changed: {message}") { Code = StagingTargetRefusedException.Refused };
}

// Reads only.
[Activity("DrWorkflows", "Drills", "Staging restore: refuses the target when it is production (the project is Docker:ComposeProject, or the database server is the one the backups come from) or is not running; nothing is changed.",
    SafeToRerun = true)]
public sealed class CheckStagingTarget : CodeActivity<StagingTargetReport>
{
    [Input(Description = "The staging Compose project, never the production one.", Required = true)]
    public Input<string>? Project { get; set; }

    [Input(Description = "The staging PostgreSQL server (a name of Postgres:Servers).", Required = true)]
    public Input<string>? Server { get; set; }

    [Input(Description = "Source of the database backups restored, e.g. ecommerce_db.", Required = true)]
    public Input<string>? Source { get; set; }

    [Input(Description = "Backup store; default store when empty.")]
    public Input<string>? Store { get; set; }

    protected override async ValueTask<StagingTargetReport> RunAsync(ActivityExecutionContext context)
    {
        var report = await context.GetRequiredService<IStagingTargetCheck>().CheckAsync(
            new StagingTargetRequest(context.Get(Project) ?? string.Empty, context.Get(Server) ?? string.Empty, context.Get(Source) ?? string.Empty)
            {
                Store = context.Get(Store) is { Length: > 0 } store ? store : null,
            },
            context.CancellationToken);
        context.AddJournalData("stagingTarget", JsonSerializer.SerializeToNode(report, Json.Options));
        return report;
    }
}
