using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Hosts;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Activities.Storage;
using DrWorkflows.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Preflight;

/// <summary>What a DR scenario needs before it may touch anything.</summary>
public sealed record PreflightRequest(string Scenario)
{
    /// <summary>The Compose project the scenario acts on and waits for; <c>Docker:ComposeProject</c> when empty. Always required.</summary>
    public string? ComposeProject { get; init; }

    /// <summary>False for a workflow that does not act on a Compose project (a backup): then none is needed.</summary>
    public bool ComposeProjectRequired { get; init; } = true;

    /// <summary>Names that must be in <c>Postgres:Servers</c> (the servers it restores into).</summary>
    public IReadOnlyList<string> PostgresServers { get; init; } = [];

    /// <summary>Backup stores it restores from (an empty name is the default store).</summary>
    public IReadOnlyList<string> BackupStores { get; init; } = [];

    /// <summary>False when the stores are only written or listed (a backup): the local store's directory is created by its first backup.</summary>
    public bool StoresMustHoldBackups { get; init; } = true;

    /// <summary>It isolates the host: iptables usable, a way to block published ports, the isolation probe available.</summary>
    public bool NetworkIsolation { get; init; }

    /// <summary>It restarts the Docker engine: <c>Host:DockerRestartCommand</c>, or systemd on the host.</summary>
    public bool DockerEngineRestart { get; init; }

    /// <summary>Log the verdict (a run's check); false for the setup listing and the schedule gate, which report it themselves.</summary>
    public bool LogVerdict { get; init; } = true;
}

/// <summary>What was checked, and each unsafe or missing setting (by name).</summary>
public sealed record PreflightReport(string Scenario, IReadOnlyList<string> Checked, IReadOnlyList<string> Problems)
{
    public bool Safe => Problems.Count == 0;
}

/// <summary>The configuration of a DR scenario is missing or unsafe; the message names each setting.</summary>
public sealed class PreflightException(string message) : ActivityFailureException(message)
{
    public const string UnsafeConfiguration = "preflight.unsafe-configuration";
}

/// <summary>
/// Checks, before a DR scenario changes anything, that its settings exist and make sense on this orchestrator: the
/// Compose project and its files, the database servers, the backup stores, and (where the scenario needs them) a way
/// to isolate the host and to restart the Docker engine. Reads only.
/// </summary>
public interface IRecoveryPreflight
{
    Task<PreflightReport> CheckAsync(PreflightRequest request, CancellationToken cancellationToken);
}

internal sealed class RecoveryPreflight(
    IOptions<DockerOptions> docker,
    IOptions<PostgresBackupOptions> postgres,
    IOptions<BackupStoreOptions> stores,
    IServiceProvider services,
    ILogger<RecoveryPreflight> logger) : IRecoveryPreflight
{
    public async Task<PreflightReport> CheckAsync(PreflightRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var checkedItems = new List<string>();
        var problems = new List<string>();

        var project = string.IsNullOrWhiteSpace(request.ComposeProject) ? docker.Value.ComposeProject : request.ComposeProject;
        if (!request.ComposeProjectRequired)
        {
            // Nothing to check: the workflow does not act on a Compose project.
        }
        else if (string.IsNullOrWhiteSpace(project))
        {
            problems.Add("Docker:ComposeProject is not set (and no ComposeProject input was given): the scenario acts on the platform's Compose project and waits until every service of it is healthy.");
        }
        else if (services.GetService<IComposeService>() is not { } compose)
        {
            problems.Add("The Docker activities are not registered (AddDockerActivities): the Compose project cannot be read.");
        }
        else
        {
            try
            {
                var declared = await compose.ListServicesAsync(project, cancellationToken);
                if (declared.Count == 0)
                    problems.Add($"The Compose files of project {project} declare no service (Docker:ComposeFiles, Docker:ComposeProjectDirectory).");
                else
                    checkedItems.Add($"Compose project {project}: services {string.Join(", ", declared)}");
            }
            catch (DockerOperationException e)
            {
                problems.Add($"The Compose files of project {project} cannot be read (Docker:ComposeFiles, Docker:ComposeProjectDirectory, Docker:ComposeCommand): {e.Message}");
            }
        }

        foreach (var server in request.PostgresServers.Where(s => !string.IsNullOrWhiteSpace(s)).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (postgres.Value.Servers.ContainsKey(server))
                checkedItems.Add($"Postgres:Servers:{server}");
            else
                problems.Add($"Postgres:Servers:{server} is not set: the scenario restores into that database server (configured: {Names(postgres.Value.Servers.Keys)}).");
        }

        if (request.BackupStores.Count > 0)
        {
            if (services.GetService<IBackupStoreProvider>() is not { } provider)
            {
                problems.Add("No backup store is registered (AddBackupActivities, section Backups:Stores).");
            }
            else
            {
                foreach (var name in request.BackupStores.Select(s => string.IsNullOrWhiteSpace(s) ? provider.DefaultStoreName : s.Trim()).Distinct(StringComparer.OrdinalIgnoreCase))
                {
                    if (!provider.StoreNames.Contains(name, StringComparer.OrdinalIgnoreCase))
                    {
                        problems.Add(string.Equals(name, BackupStoreOptions.S3StoreName, StringComparison.OrdinalIgnoreCase)
                            ? "Backups:Stores:S3:BucketName is empty, so backup store 's3' (the primary S3 store the scenario restores from; the offsite copy is the second store, Backups:Stores:Offsite) is not configured."
                            : $"Backup store '{name}' is not configured (configured: {Names(provider.StoreNames)}); see Backups:Stores.");
                    }
                    else if (request.StoresMustHoldBackups && string.Equals(name, BackupStoreOptions.LocalStoreName, StringComparison.OrdinalIgnoreCase) && !Directory.Exists(stores.Value.Local.Directory))
                    {
                        problems.Add($"Backups:Stores:Local:Directory '{stores.Value.Local.Directory}' does not exist on this orchestrator: the local store holds no backup to restore.");
                    }
                    else
                    {
                        checkedItems.Add($"backup store {name}");
                    }
                }
            }
        }

        if (request.NetworkIsolation)
        {
            if (services.GetService<INetworkIsolationService>() is not { } isolation)
            {
                problems.Add("The host activities are not registered (AddHostActivities, section Host): the host cannot be isolated.");
            }
            else
            {
                var capability = await isolation.CheckAsync(cancellationToken);
                if (capability.Possible)
                    checkedItems.Add($"network isolation on {capability.Host}: {capability.Mode}, checked by the isolation probe");
                else
                    problems.AddRange(capability.Problems.Select(p => $"Network isolation is impossible on {capability.Host}: {p}"));
            }
        }

        if (request.DockerEngineRestart)
        {
            if (services.GetService<IHostService>() is not { } host)
                problems.Add("The host activities are not registered (AddHostActivities, section Host): the Docker engine cannot be restarted.");
            else if (await host.CheckDockerRestartAsync(cancellationToken) is { } problem)
                problems.Add(problem);
            else
                checkedItems.Add($"Docker engine restart on {host.HostName}");
        }

        var report = new PreflightReport(request.Scenario, checkedItems, problems);
        if (!request.LogVerdict)
            return report;
        if (report.Safe)
            Log.PreflightPassed(logger, request.Scenario, checkedItems.Count);
        else
            Log.PreflightFailed(logger, request.Scenario, string.Join(" | ", problems));
        return report;
    }

    private static string Names(IEnumerable<string> names) => names.Any() ? string.Join(", ", names) : "none";
}
