using System.Text.Json.Nodes;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Dns;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.GitHub;
using DrWorkflows.Activities.Notifications;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Activities.Storage;
using DrWorkflows.Core.Model;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Preflight;

/// <summary>The verdict of one preflight item.</summary>
public enum PreflightStatus
{
    /// <summary>Checked and usable.</summary>
    Ok,

    /// <summary>Not configured, but only best effort (a notification): the run goes on without it.</summary>
    Warning,

    /// <summary>Would stop the run (or make it fail): fix it first.</summary>
    Blocker,
}

/// <summary>One item a preflight looked at, what it found, and whether it would block the run.</summary>
public sealed record PreflightItem(string Check, PreflightStatus Status, string Detail);

/// <summary>
/// What a workflow needs from this server's configuration: what is set (<see cref="Configured"/>), what is missing
/// (<see cref="Missing"/>: its runs would fail, so scheduled runs are not started) and what is not set but only best effort
/// (<see cref="Optional"/>). Read from the configuration only; nothing is contacted except the Compose files a DR scenario names.
/// </summary>
public sealed record WorkflowSetup(string DefinitionId, string? Name, IReadOnlyList<string> Schedules, IReadOnlyList<string> Configured, IReadOnlyList<string> Missing, IReadOnlyList<string> Optional)
{
    public bool Ready => Missing.Count == 0;
}

/// <summary>Everything a preflight checked on the real platform, now; <see cref="Blockers"/> would stop the workflow.</summary>
public sealed record WorkflowPreflightReport(string DefinitionId, string? Name, DateTimeOffset CheckedAt, IReadOnlyList<PreflightItem> Items)
{
    public IReadOnlyList<PreflightItem> Blockers => [.. Items.Where(i => i.Status == PreflightStatus.Blocker)];

    public bool Ready => Blockers.Count == 0;
}

/// <summary>Integrations that have no settings on this server, by name (<see cref="Integrations"/>), with the settings to add.</summary>
public sealed class UnconfiguredIntegrations
{
    private readonly Dictionary<string, string> missing = new(StringComparer.Ordinal);

    public void Add(string integration, string settings) => missing[integration] = settings;

    public string? SettingsFor(string integration) => missing.GetValueOrDefault(integration);
}

/// <summary>
/// What a workflow needs, checked before it runs. <see cref="CheckSetupAsync"/> reads the configuration (the knowledge of
/// <see cref="IRecoveryPreflight"/>, the same check the scenarios' first step makes); <see cref="CheckAsync"/> also checks, read-only,
/// on the real platform now: the containers and volumes it names exist, each store it restores from holds a verified backup,
/// the database servers answer, and the credentials of Docker, S3, Slack, Route 53 and GitHub work; the approvers can be reached.
/// </summary>
public interface IWorkflowPreflight
{
    Task<WorkflowSetup> CheckSetupAsync(WorkflowGraph graph, CancellationToken cancellationToken);

    Task<WorkflowPreflightReport> CheckAsync(WorkflowGraph graph, IReadOnlyDictionary<string, JsonNode?>? input, CancellationToken cancellationToken);
}

internal sealed class WorkflowPreflight(
    IRecoveryPreflight configuration,
    IServiceProvider services,
    IOptions<DockerOptions> docker,
    IOptions<NotificationsOptions> notifications,
    IOptions<GitHubOptions> github,
    UnconfiguredIntegrations unconfigured,
    TimeProvider clock) : IWorkflowPreflight
{
    private static readonly TimeSpan ItemTimeout = TimeSpan.FromSeconds(30);

    public async Task<WorkflowSetup> CheckSetupAsync(WorkflowGraph graph, CancellationToken cancellationToken)
    {
        var needs = WorkflowNeedsReader.Read(graph);
        var (configured, missing, optional) = await SettingsAsync(needs, cancellationToken);
        return new WorkflowSetup(graph.DefinitionId, graph.Name, needs.Schedules, configured, missing, optional);
    }

    public async Task<WorkflowPreflightReport> CheckAsync(WorkflowGraph graph, IReadOnlyDictionary<string, JsonNode?>? input, CancellationToken cancellationToken)
    {
        var needs = WorkflowNeedsReader.Read(graph, input);
        var (configured, missing, optional) = await SettingsAsync(needs, cancellationToken);
        var items = new List<PreflightItem>();
        items.AddRange(configured.Select(c => new PreflightItem("setting", PreflightStatus.Ok, c)));
        items.AddRange(missing.Select(m => new PreflightItem("setting", PreflightStatus.Blocker, m)));
        items.AddRange(optional.Select(o => new PreflightItem("setting", PreflightStatus.Warning, o)));

        if (needs.Uses.Contains(Integrations.Docker) || needs.Containers.Count > 0 || needs.Volumes.Count > 0)
            await DockerAsync(needs, items, cancellationToken);
        await DatabaseServersAsync(needs, items, cancellationToken);
        await StoresAndBackupsAsync(needs, items, cancellationToken);
        await CredentialsAsync(needs, items, cancellationToken);
        Approvers(needs, items);
        return new WorkflowPreflightReport(graph.DefinitionId, graph.Name, clock.GetUtcNow(), items);
    }

    private async Task<(List<string> Configured, List<string> Missing, List<string> Optional)> SettingsAsync(WorkflowNeeds needs, CancellationToken cancellationToken)
    {
        var report = await configuration.CheckAsync(needs.Configuration with { LogVerdict = false }, cancellationToken);
        var configured = report.Checked.ToList();
        var missing = report.Problems.ToList();
        var optional = new List<string>();
        foreach (var integration in needs.Uses.Order(StringComparer.Ordinal))
        {
            if (unconfigured.SettingsFor(integration) is { } settings)
                missing.Add($"{integration} is not configured: set {settings}.");
            else if (integration == Integrations.Docker)
                configured.Add($"Docker engine {docker.Value.Endpoint}");
            else if (integration != Integrations.Host)
                configured.Add(integration);
        }

        if (needs.BestEffort.Contains(Integrations.Slack) && !notifications.Value.Slack.IsConfigured)
            optional.Add("Notifications:Slack:BotToken is not set: Slack messages and approval buttons are skipped (best effort).");
        if (needs.BestEffort.Contains(Integrations.GitHub) && !github.Value.IsConfigured)
            optional.Add("GitHub:Token, GitHub:Owner and GitHub:Repository are not set: the post-mortem issue is not opened (best effort).");
        return (configured, missing, optional);
    }

    private async Task DockerAsync(WorkflowNeeds needs, List<PreflightItem> items, CancellationToken cancellationToken)
    {
        if (services.GetService<IDockerService>() is not { } engine)
        {
            items.Add(new("docker", PreflightStatus.Blocker, "The Docker activities are not registered (AddDockerActivities)."));
            return;
        }

        var reached = await TryAsync(items, "docker", $"Docker engine {docker.Value.Endpoint}", async ct => $"Docker engine {docker.Value.Endpoint} answers (version {await engine.GetEngineVersionAsync(ct)})", cancellationToken);
        if (!reached)
            return;
        foreach (var container in needs.Containers)
        {
            await TryAsync(items, "container", $"Container {container}", async ct =>
            {
                var status = await engine.InspectContainerAsync(container, ct);
                return $"Container {container} exists ({status.State}{(status.Health is { } h ? ", " + h : string.Empty)})";
            }, cancellationToken);
        }

        foreach (var volume in needs.Volumes)
        {
            await TryAsync(items, "volume", $"Volume {volume}", async ct =>
                await engine.InspectVolumeAsync(volume, ct) is { } info
                    ? $"Volume {volume} exists ({info.Driver})"
                    : throw new PreflightBlockedException($"Volume {volume} does not exist on Docker engine {docker.Value.Endpoint}."), cancellationToken);
        }
    }

    private async Task DatabaseServersAsync(WorkflowNeeds needs, List<PreflightItem> items, CancellationToken cancellationToken)
    {
        var options = services.GetService<IOptions<PostgresBackupOptions>>()?.Value;
        var resolver = services.GetService<IPostgresServerResolver>();
        if (options is null || resolver is null)
            return;
        foreach (var name in needs.Configuration.PostgresServers.Where(options.Servers.ContainsKey))
        {
            var server = resolver.Resolve(name, null);
            await TryAsync(items, "database server", $"Database server {name}", async ct =>
            {
                await using var connection = await PostgresConnections.OpenAsync(server, null, ct, commandTimeoutSeconds: 10);
                await using var command = new Npgsql.NpgsqlCommand("SHOW server_version", connection);
                return $"{server} answers (PostgreSQL {await command.ExecuteScalarAsync(ct)})";
            }, cancellationToken);
        }
    }

    private async Task StoresAndBackupsAsync(WorkflowNeeds needs, List<PreflightItem> items, CancellationToken cancellationToken)
    {
        if (services.GetService<IBackupStoreProvider>() is not { } provider || services.GetService<IBackupCatalog>() is not { } catalog)
            return;
        string Name(string? store) => string.IsNullOrWhiteSpace(store) ? provider.DefaultStoreName : store.Trim();
        bool Known(string store) => provider.StoreNames.Contains(store, StringComparer.OrdinalIgnoreCase);
        var unreadable = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var stores = needs.Configuration.BackupStores.Select(Name)
            .Concat(needs.Backups.Select(b => Name(b.Store)))
            .Where(Known).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        foreach (var name in stores)
        {
            var store = provider.Get(name);
            var readable = await TryAsync(items, "backup store", $"Backup store {name} ({store.Location})", async ct =>
            {
                await foreach (var _ in store.ListAsync(string.Empty, ct))
                    break;
                return $"Backup store {name} ({store.Location}) can be listed with the configured credentials";
            }, cancellationToken);
            if (!readable)
                unreadable.Add(name);
        }

        foreach (var need in needs.Backups)
        {
            // PlanServerRestore with no store uses every store: each must hold a verified backup.
            var inStores = need.Server is not null && string.IsNullOrWhiteSpace(need.Store) ? provider.StoreNames.ToList() : [Name(need.Store)];
            foreach (var store in inStores.Where(s => Known(s) && !unreadable.Contains(s)))
            {
                var what = need.Source is { } source ? $"{need.Kind} backup of {source}" : $"{need.Kind} backup of a database of server {need.Server}";
                await TryAsync(items, "backup", $"A verified {what} in store {store}", async ct =>
                {
                    var sets = await catalog.ListAsync(store, need.Kind, need.Source, ct);
                    if (need.Server is { } server)
                        sets = [.. sets.Where(s => s.Manifest.IsFromServer(server, null))];
                    if (sets.Count == 0)
                        throw new PreflightBlockedException($"Store {store} holds no {what} (step {need.ActivityId} would find nothing to restore).");
                    var verified = sets.FirstOrDefault(s => s.Manifest.IsVerified)
                        ?? throw new PreflightBlockedException($"Store {store} holds {sets.Count} {what}, none verified (newest {sets[0].Id}, {sets[0].Manifest.CompletedAt:u}): run verify-backups, or a restore needs a typed confirmation.");
                    var age = clock.GetUtcNow() - verified.Manifest.CompletedAt;
                    return $"Verified {what} in store {store}: set {verified.Id} of {verified.Manifest.CompletedAt:u} ({age.TotalHours:0.#} h old), verified {verified.Manifest.LastVerifiedAt:u}";
                }, cancellationToken);
            }
        }
    }

    private async Task CredentialsAsync(WorkflowNeeds needs, List<PreflightItem> items, CancellationToken cancellationToken)
    {
        if ((needs.BestEffort.Contains(Integrations.Slack) || needs.Approvers.Any(a => a.StartsWith("slack", StringComparison.OrdinalIgnoreCase))) && notifications.Value.Slack.IsConfigured
            && services.GetService<ISlackClient>() is SlackClient slack)
            await TryAsync(items, "credentials", "Slack bot token", async ct => $"Slack accepts the bot token ({await slack.AuthTestAsync(ct)})", cancellationToken);
        if (needs.BestEffort.Contains(Integrations.GitHub) && github.Value.IsConfigured && services.GetService<IPostMortemPublisher>() is PostMortemPublisher publisher)
            await TryAsync(items, "credentials", "GitHub token", async ct => $"GitHub token can open issues in {await publisher.CheckAccessAsync(ct)}", cancellationToken);
        if (needs.Uses.Contains(Integrations.Route53) && unconfigured.SettingsFor(Integrations.Route53) is null && services.GetService<IDnsProvider>() is Route53Client route53)
            await TryAsync(items, "credentials", "Route 53 credentials", async ct => $"Route 53 accepts the credentials ({await route53.CountHostedZonesAsync(ct)} hosted zone(s) visible)", cancellationToken);
    }

    private void Approvers(WorkflowNeeds needs, List<PreflightItem> items)
    {
        if (needs.Approvers.Count == 0)
            return;
        var contacts = services.GetService<IContactTree>();
        var slack = notifications.Value.Slack.IsConfigured;
        var email = notifications.Value.Email.IsConfigured;
        var reachable = 0;
        foreach (var entry in needs.Approvers)
        {
            var colon = entry.IndexOf(':', StringComparison.Ordinal);
            var (kind, value) = colon > 0 ? (entry[..colon].ToLowerInvariant(), entry[(colon + 1)..]) : ("slack", entry);
            switch (kind)
            {
                case "contact":
                    var people = contacts?.GetPeople(value) ?? [];
                    var paged = people.Where(p => (slack && !string.IsNullOrWhiteSpace(p.SlackUserId)) || (email && !string.IsNullOrWhiteSpace(p.Email))).Select(p => p.Name).ToList();
                    if (paged.Count > 0)
                    {
                        reachable++;
                        items.Add(new("approver", PreflightStatus.Ok, $"{entry}: {string.Join(", ", paged)} reachable ({(slack ? "Slack" : string.Empty)}{(slack && email ? ", " : string.Empty)}{(email ? "email" : string.Empty)})"));
                    }
                    else
                    {
                        items.Add(new("approver", PreflightStatus.Warning, people.Count == 0
                            ? $"{entry}: nobody has role {value} in the contact tree (Notifications:Contacts:Roles:{value})."
                            : $"{entry}: {string.Join(", ", people.Select(p => p.Name))} cannot be reached: no Slack id with Notifications:Slack:BotToken set, and no email with Notifications:Email:Host set."));
                    }

                    break;
                case "slack" or "slack-group":
                    if (slack)
                        reachable++;
                    items.Add(new("approver", slack ? PreflightStatus.Ok : PreflightStatus.Warning, slack ? $"{entry}: asked in Slack" : $"{entry}: Notifications:Slack:BotToken is not set, so Slack cannot ask them."));
                    break;
                default:
                    reachable++;
                    items.Add(new("approver", PreflightStatus.Ok, $"{entry}: answers on the approvals page (/studio/approvals) or with drw approvals (not paged)."));
                    break;
            }
        }

        if (reachable == 0)
            items.Add(new("approver", PreflightStatus.Blocker, $"Nobody who may approve can be reached ({string.Join(", ", needs.Approvers)}): an approval gate would wait until its timeout and take its safe default."));
    }

    /// <summary>Runs one read-only check with its own time limit; any failure is that item's blocker, with its message.</summary>
    private static async Task<bool> TryAsync(List<PreflightItem> items, string check, string what, Func<CancellationToken, Task<string>> probe, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ItemTimeout);
        try
        {
            items.Add(new(check, PreflightStatus.Ok, await probe(timeout.Token)));
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            items.Add(new(check, PreflightStatus.Blocker, $"{what}: no answer within {ItemTimeout.TotalSeconds:0} s."));
            return false;
        }
#pragma warning disable CA1031 // Every failure of a probe is reported as that item's blocker, with its message.
        catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
        {
            items.Add(new(check, PreflightStatus.Blocker, e is PreflightBlockedException ? e.Message : $"{what}: {e.Message}"));
            return false;
        }
    }
}

/// <summary>A probe answered, and what it found blocks the workflow (the message says what).</summary>
internal sealed class PreflightBlockedException(string message) : Exception(message);
