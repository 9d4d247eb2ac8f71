using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Docker.DotNet;
using Docker.DotNet.Models;
using DrWorkflows.Activities.Dns;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Redis;
using DrWorkflows.Activities.Throwaway;
using DrWorkflows.Core;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Serialization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Drills;

/// <summary>
/// Settings of the quarterly failover simulation (<c>Drills:FailoverSimulation</c>): the scheduled run has no inputs,
/// so the test record and the DR address come from here; inputs of a run started by hand override them.
/// </summary>
public sealed class FailoverSimulationOptions
{
    /// <summary>Route 53 hosted zone id of the test record (and of the production record).</summary>
    public string? ZoneId { get; set; }

    /// <summary>The zone's domain, e.g. <c>example.com</c>: the test record must lie inside it.</summary>
    public string? ZoneName { get; set; }

    /// <summary>The record the simulation moves, e.g. <c>failover-test.example.com</c>. Never the production record.</summary>
    public string? TestRecordName { get; set; }

    /// <summary>The public record a real failover moves (scenario 2's <c>RecordName</c>); the simulation never touches it.</summary>
    public string ProductionRecordName { get; set; } = "api.example.com";

    /// <summary>The DR server's public IP address the test record is pointed at.</summary>
    public string? DrAddress { get; set; }

    /// <summary>The plan's window for a complete failover (testing schedule: quarterly failover simulation, 90 min).</summary>
    public TimeSpan RtoWindow { get; set; } = TimeSpan.FromMinutes(90);
}

internal sealed class FailoverSimulationOptionsValidator : IValidateOptions<RecoveryObjectivesOptions>
{
    public ValidateOptionsResult Validate(string? name, RecoveryObjectivesOptions options)
    {
        var simulation = options.FailoverSimulation;
        var errors = new List<string>();
        if (simulation.RtoWindow <= TimeSpan.Zero)
            errors.Add($"Drills:FailoverSimulation:RtoWindow must be positive (the plan: 01:30:00); it is {simulation.RtoWindow}.");
        if (!string.IsNullOrWhiteSpace(simulation.TestRecordName)
            && FailoverSimulationPlanner.Problem(simulation.TestRecordName, simulation.ProductionRecordName, simulation.ZoneName) is { } problem)
            errors.Add("Drills:FailoverSimulation: " + problem);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>What the simulation will do, fixed before anything starts: the record it moves and how to put it back.</summary>
public sealed record FailoverSimulationPlan
{
    public required string ZoneId { get; init; }
    public required string ZoneName { get; init; }
    public required string TestRecord { get; init; }
    public required string ProductionRecord { get; init; }
    public required string DrAddress { get; init; }
    public required string Project { get; init; }

    /// <summary>The test record's type, values and TTL before the simulation: the cleanup puts them back.</summary>
    public required string RecordType { get; init; }
    public required List<string> PreviousValues { get; init; }
    public required long PreviousTtl { get; init; }

    /// <summary>Volumes of the DR project that existed before (kept by the cleanup); the others the simulation made.</summary>
    public required List<string> VolumesBefore { get; init; }

    /// <summary>The DR database server scenario 2 restores into (its <c>Server</c>, a <c>Postgres:Servers</c> name): it must be gone after the take-down.</summary>
    public string DrServer { get; init; } = FailoverSimulationPlanner.DefaultDrServer;

    /// <summary>Where scenario 2 writes the fetched Redis dump on this orchestrator (its <c>RedisDumpPath</c>): removed by the cleanup when the simulation made it.</summary>
    public string? RedisDumpPath { get; init; }

    /// <summary>Whether a file was at <see cref="RedisDumpPath"/> before the simulation (then it is left, not removed).</summary>
    public bool RedisDumpExistedBefore { get; init; }
    public required TimeSpan RtoWindow { get; init; }
}

/// <summary>The simulation was refused before anything started.</summary>
public sealed class FailoverSimulationRefusedException(string message) : ActivityFailureException(message)
{
    public const string Refused = "simulation.refused";
}

/// <summary>The DR project's containers and volumes on the DR engine (by the Compose project label).</summary>
public sealed record FailoverSiteState(string Project, IReadOnlyList<string> Containers, IReadOnlyList<string> Volumes);

/// <summary>What the take-down removed and what is still there.</summary>
public sealed record FailoverSiteCleanup(FailoverSiteState Left, IReadOnlyList<string> Removed, IReadOnlyList<string> Problems);

/// <summary>A container found on the DR engine by name: the Compose project it belongs to (null: none) and its state.</summary>
public sealed record FailoverContainer(string Name, string? Project, string State);

/// <summary>The DR engine as the simulation sees it: what of the DR project exists, and taking it down again.</summary>
public interface IFailoverSimulationSite
{
    Task<FailoverSiteState> InspectAsync(string project, CancellationToken cancellationToken);

    /// <summary>The container named <paramref name="name"/> on the DR engine (running or not), or null when there is none.</summary>
    Task<FailoverContainer?> FindContainerAsync(string name, CancellationToken cancellationToken);

    /// <summary>
    /// <c>compose down</c> of <paramref name="project"/>, then every container of it still there and every volume of it not in
    /// <paramref name="keepVolumes"/> recorded in the throwaway ledger and removed (a failed removal stays with the janitor);
    /// returns what is left, looked at again.
    /// </summary>
    Task<FailoverSiteCleanup> TakeDownAsync(string project, IReadOnlyCollection<string> keepVolumes, CancellationToken cancellationToken);
}

internal sealed class FailoverSimulationSite(IOptions<DockerOptions> options, IComposeService compose, IThrowawayLedger ledger, ILogger<FailoverSimulationSite> logger) : IFailoverSimulationSite, IDisposable
{
    private readonly Lazy<DockerClient> client = new(() => DockerClientFactory.Create(options.Value));

    public void Dispose()
    {
        if (client.IsValueCreated)
            client.Value.Dispose();
    }

    public async Task<FailoverSiteState> InspectAsync(string project, CancellationToken cancellationToken)
    {
        var byProject = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"com.docker.compose.project={project}"] = true } };
        var containers = await client.Value.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = byProject }, cancellationToken);
        var volumes = await client.Value.Volumes.ListAsync(new VolumesListParameters { Filters = byProject }, cancellationToken);
        return new FailoverSiteState(
            project,
            [.. containers.Select(c => (c.Names.FirstOrDefault() ?? c.ID).TrimStart('/')).Order(StringComparer.Ordinal)],
            [.. (volumes.Volumes ?? []).Select(v => v.Name).Order(StringComparer.Ordinal)]);
    }

    public async Task<FailoverContainer?> FindContainerAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            var container = await client.Value.Containers.InspectContainerAsync(name, cancellationToken);
            var labels = container.Config?.Labels;
            return new FailoverContainer(container.Name.TrimStart('/'), labels is not null && labels.TryGetValue("com.docker.compose.project", out var owner) ? owner : null, container.State?.Status ?? "unknown");
        }
        catch (DockerContainerNotFoundException)
        {
            return null;
        }
    }

    public async Task<FailoverSiteCleanup> TakeDownAsync(string project, IReadOnlyCollection<string> keepVolumes, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        var removed = new List<string>();
        try
        {
            await compose.RunAsync(new ComposeRequest(ComposeVerb.Down) { Project = project, StopTimeout = TimeSpan.FromSeconds(10) }, cancellationToken);
        }
        catch (DockerOperationException e)
        {
            // What compose left is removed one by one below.
            Log.SimulationComposeDownFailed(logger, project, e.Message);
        }

        var endpoint = options.Value.Endpoint;
        var state = await InspectAsync(project, cancellationToken);
        foreach (var container in state.Containers)
        {
            await using var lease = await ledger.RecordAsync(ThrowawaySpec.DockerContainer(endpoint, container, $"failover simulation: DR container {container} of project {project}"),
                ct => client.Value.Containers.RemoveContainerAsync(container, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, ct), cancellationToken);
            if (await lease.RemoveAsync(cancellationToken))
                removed.Add("container " + container);
            else
                problems.Add($"container {container} could not be removed (left to the janitor)");
        }

        foreach (var volume in state.Volumes.Where(v => !keepVolumes.Contains(v, StringComparer.Ordinal)))
        {
            await using var lease = await ledger.RecordAsync(ThrowawaySpec.DockerVolume(endpoint, volume, $"failover simulation: DR volume {volume} of project {project}"),
                ct => client.Value.Volumes.RemoveAsync(volume, true, ct), cancellationToken);
            if (await lease.RemoveAsync(cancellationToken))
                removed.Add("volume " + volume);
            else
                problems.Add($"volume {volume} could not be removed (left to the janitor)");
        }

        return new FailoverSiteCleanup(await InspectAsync(project, cancellationToken), removed, problems);
    }
}

/// <summary>The checks that keep the simulation off production.</summary>
public static class FailoverSimulationPlanner
{
    /// <summary>Why <paramref name="testRecord"/> may not be moved by a simulation; null when it may.</summary>
    public static string? Problem(string? testRecord, string? productionRecord, string? zoneName)
    {
        var test = Normalize(testRecord);
        var production = Normalize(productionRecord);
        var zone = Normalize(zoneName);
        if (test.Length == 0)
            return "no test record: set input TestRecordName or Drills:FailoverSimulation:TestRecordName to a record made for the simulation (never the production one).";
        if (production.Length == 0)
            return "no production record to keep away from: set ProductionRecordName (scenario 2's RecordName, default api.example.com).";
        if (string.Equals(test, production, StringComparison.Ordinal))
            return $"the test record {test} is the production record: a simulation never moves public traffic.";
        if (zone.Length == 0)
            return "no zone name: set input ZoneName or Drills:FailoverSimulation:ZoneName (e.g. example.com) so the test record can be proven to lie in the zone.";
        if (string.Equals(test, zone, StringComparison.Ordinal) || !test.EndsWith("." + zone, StringComparison.Ordinal))
            return $"the test record {test} is not a record inside zone {zone}.";
        return null;
    }

    /// <summary>Lower case, no trailing dot, trimmed.</summary>
    public static string Normalize(string? name) => (name ?? string.Empty).Trim().TrimEnd('.').ToLowerInvariant();

    /// <summary>Scenario 2's DR database server when its input <c>Server</c> is not given.</summary>
    public const string DefaultDrServer = "dr";

    /// <summary>Scenario 2's primary database server when its input <c>PrimaryServer</c> is not given.</summary>
    public const string DefaultPrimaryServer = "main";

    /// <summary>Where scenario 2 writes the fetched Redis dump when its input <c>RedisDumpPath</c> is not given.</summary>
    public const string DefaultRedisDumpPath = "/backups/redis/failover.rdb";

    /// <summary>
    /// Why scenario 2, as configured, would write into something the DR project's take-down does not remove (one
    /// sentence each, with what to do); empty when everything it restores into is the project's. Scenario 2 writes into:
    /// the DR database server (<c>Server</c>, default <c>dr</c>: roles and every database, also those of
    /// <c>AlsoFromServers</c>), the Redis of <c>Redis:ConnectionString</c> (stopped, its dump replaced, started: through
    /// <c>Redis:Container</c>, else on this machine with <c>Redis:LocalStartCommand</c>), and with
    /// <c>PgBackRestStanza</c> the pgBackRest repository 1 and a kept-aside copy of the DR server's volume.
    /// </summary>
    public static IReadOnlyList<string> RestoreTargetProblems(FailoverRestoreTargets targets)
    {
        var problems = new List<string>();
        var project = targets.Project;
        var server = targets.DrServer;
        if (string.Equals(server, targets.PrimaryServer, StringComparison.OrdinalIgnoreCase))
            problems.Add($"scenario 2's DR database server (Server) is '{server}', the primary's own (PrimaryServer): it would restore the primary's backups over the primary. Point Server at the DR server's Postgres:Servers entry (default dr).");
        switch (targets.DatabaseServices)
        {
            case null:
                break;
            case JsonArray { Count: 0 }:
                problems.Add($"FailoverInput.DatabaseServices is [] (the DR database server '{server}' runs outside Compose): scenario 2 would restore the primary's roles and databases into it, and taking the DR project {project} down does not remove them. Run the simulation where the DR database server is a service of the project (leave DatabaseServices out, default ['postgres'], or name those services).");
                break;
            case JsonArray services when services.All(n => n is JsonValue v && v.TryGetValue<string>(out var name) && name.Trim().Length > 0):
                break;
            default:
                problems.Add($"FailoverInput.DatabaseServices must be a list of Compose services of the DR project {project} (e.g. ['postgres']); it is {targets.DatabaseServices.ToJsonString()}.");
                break;
        }

        if (!string.IsNullOrWhiteSpace(targets.PgBackRestStanza))
            problems.Add($"FailoverInput.PgBackRestStanza is set ({targets.PgBackRestStanza}): scenario 2's pgBackRest path turns WAL archiving on in the DR server and takes a full backup on a new timeline into repository 1 (S3), the primary's own repository, and keeps the DR server's old volume aside as replaced-VOLUME-failover-RUN; the take-down removes neither. Leave PgBackRestStanza out (the simulation restores the dumps) and rehearse the pgBackRest restore on a throwaway server.");

        if (string.IsNullOrWhiteSpace(targets.RedisContainer) && targets.RedisLocalStartCommand.Count > 0)
            problems.Add($"Redis is restored outside Docker (Redis:LocalStartCommand `{string.Join(' ', targets.RedisLocalStartCommand)}`, no Redis:Container): scenario 2 would shut that Redis down, replace its dump and start it again, and taking the DR project {project} down does not remove it, so the replaced data would stay. Set Redis:Container to the DR project's Redis container, or run the simulation on an orchestrator whose Redis is a service of the project.");
        if (targets.RedisContainerBefore is { } redis)
            problems.Add($"Redis:Container {redis.Name} already exists on the DR engine ({(redis.Project is null ? "in no Compose project" : "of Compose project " + redis.Project)}, {redis.State}) while the DR project {project} has no container: it is not the project's, so scenario 2 would stop it, overwrite its dump and start it again, and the take-down would not remove it. Set Redis:Container to the container the DR project makes for its Redis, or remove {redis.Name} first if it is a leftover.");

        if (targets.DrServerBefore is { } before)
            problems.AddRange(BeforeProblem(before, project, $"Postgres:Servers:{server} (or FailoverInput.Server)"));
        if (targets.RedisBefore is { } redisBefore)
            problems.AddRange(BeforeProblem(redisBefore, project, "Redis:ConnectionString"));
        return problems;
    }

    private static IEnumerable<string> BeforeProblem(FailoverServiceProbe probe, string project, string setting) => probe.State switch
    {
        FailoverServiceState.Answers => [$"the DR {probe.Service} ({probe.Endpoint}) already answers while the DR project {project} has no container: it runs outside the project, so scenario 2 would restore into it and the take-down would not remove what it restored. Stop it, or point {setting} at the project's own service."],
        FailoverServiceState.Unknown => [$"cannot tell whether the DR {probe.Service} ({probe.Endpoint}) answers ({probe.Detail}): the cleanup could not prove it gone afterwards either. Fix {setting} so that it is reachable from this orchestrator."],
        _ => [],
    };
}

/// <summary>What scenario 2 would restore into, as configured and as found before the simulation (<see cref="FailoverSimulationPlanner.RestoreTargetProblems"/>).</summary>
public sealed record FailoverRestoreTargets
{
    public required string Project { get; init; }

    /// <summary>Scenario 2's <c>Server</c> (default <c>dr</c>).</summary>
    public required string DrServer { get; init; }

    /// <summary>Scenario 2's <c>PrimaryServer</c> (default <c>main</c>).</summary>
    public string PrimaryServer { get; init; } = FailoverSimulationPlanner.DefaultPrimaryServer;

    /// <summary>FailoverInput's <c>DatabaseServices</c> as given; null when not given (scenario 2's default <c>['postgres']</c>).</summary>
    public JsonNode? DatabaseServices { get; init; }

    /// <summary>FailoverInput's <c>PgBackRestStanza</c>.</summary>
    public string? PgBackRestStanza { get; init; }

    /// <summary><c>Redis:Container</c>.</summary>
    public string? RedisContainer { get; init; }

    /// <summary><c>Redis:LocalStartCommand</c>.</summary>
    public IReadOnlyList<string> RedisLocalStartCommand { get; init; } = [];

    /// <summary>The container named <c>Redis:Container</c> as found on the DR engine before the simulation; null when there is none.</summary>
    public FailoverContainer? RedisContainerBefore { get; init; }

    /// <summary>The DR database server, probed before the simulation.</summary>
    public FailoverServiceProbe? DrServerBefore { get; init; }

    /// <summary>The DR Redis, probed before the simulation.</summary>
    public FailoverServiceProbe? RedisBefore { get; init; }
}

// SafeToRerun: reads only (Route 53, the DR engine).
[Activity("DrWorkflows", "Drills", "Failover simulation, before anything starts: refuses a test record that is the production record, empty, or outside the zone, a test record that does not exist (the cleanup could not put it back), a DR Compose project that already runs (the cleanup would take it down), and a scenario 2 that would restore into something the take-down does not remove (DatabaseServices [], PgBackRestStanza, Redis outside Docker, a Redis:Container that already exists, a DR database server or Redis that already answers); records the test record's value and the project's volumes, and gives scenario 2's input.",
    SafeToRerun = true)]
public sealed class CheckFailoverSimulationTarget : CodeActivity<FailoverSimulationPlan>
{
    [Input(Description = "Route 53 hosted zone id; default Drills:FailoverSimulation:ZoneId.")]
    public Input<string>? ZoneId { get; set; }

    [Input(Description = "The zone's domain (e.g. example.com); default Drills:FailoverSimulation:ZoneName.")]
    public Input<string>? ZoneName { get; set; }

    [Input(Description = "The record the simulation moves; default Drills:FailoverSimulation:TestRecordName. Never the production record.")]
    public Input<string>? TestRecordName { get; set; }

    [Input(Description = "The production record, never touched; default Drills:FailoverSimulation:ProductionRecordName (api.example.com).")]
    public Input<string>? ProductionRecordName { get; set; }

    [Input(Description = "The DR server's public address; default Drills:FailoverSimulation:DrAddress.")]
    public Input<string>? DrAddress { get; set; }

    [Input(Description = "The DR Compose project; default Docker:ComposeProject.")]
    public Input<string>? ComposeProject { get; set; }

    [Input(Description = "The window in minutes; default Drills:FailoverSimulation:RtoWindow (90 minutes).")]
    public Input<int>? RtoWindowMinutes { get; set; }

    [Input(Description = "More inputs of scenario 2 (PrimaryChecks, DrChecks, PublicChecks, Store, Approvers, ...). RecordName, ZoneId, DrAddress and ComposeProject are set by the simulation and refused here.")]
    public Input<JsonObject>? FailoverInput { get; set; }

    [Output(Description = "Scenario 2's input: the test record as RecordName, and the checks (default through the test record's name).")]
    public Output<JsonObject> ChildInput { get; set; } = new();

    protected override async ValueTask<FailoverSimulationPlan> RunAsync(ActivityExecutionContext context)
    {
        var settings = context.GetRequiredService<IOptions<RecoveryObjectivesOptions>>().Value.FailoverSimulation;
        var docker = context.GetRequiredService<IOptions<DockerOptions>>().Value;
        string Pick(Input<string>? input, string? fallback) => context.Get(input) is { Length: > 0 } given ? given.Trim() : (fallback ?? string.Empty).Trim();
        var zoneId = Pick(ZoneId, settings.ZoneId);
        var zoneName = FailoverSimulationPlanner.Normalize(Pick(ZoneName, settings.ZoneName));
        var test = FailoverSimulationPlanner.Normalize(Pick(TestRecordName, settings.TestRecordName));
        var production = FailoverSimulationPlanner.Normalize(Pick(ProductionRecordName, settings.ProductionRecordName));
        var drAddress = Pick(DrAddress, settings.DrAddress);
        var project = Pick(ComposeProject, docker.ComposeProject);
        var window = context.Get(RtoWindowMinutes) is int minutes and > 0 ? TimeSpan.FromMinutes(minutes) : settings.RtoWindow;
        var extra = context.Get(FailoverInput)?.DeepClone().AsObject() ?? [];

        if (FailoverSimulationPlanner.Problem(test, production, zoneName) is { } problem)
            throw Refuse(problem);
        if (zoneId.Length == 0)
            throw Refuse("no hosted zone id: set input ZoneId or Drills:FailoverSimulation:ZoneId.");
        if (drAddress.Length == 0)
            throw Refuse("no DR address: set input DrAddress or Drills:FailoverSimulation:DrAddress (the DR server's public IP).");
        if (project.Length == 0)
            throw Refuse("no DR Compose project: set input ComposeProject or Docker:ComposeProject.");
        foreach (var owned in new[] { "RecordName", nameof(ZoneId), nameof(DrAddress), nameof(ComposeProject) })
        {
            if (extra.ContainsKey(owned))
                throw Refuse($"FailoverInput sets {owned}: the simulation sets it itself (use the simulation's inputs TestRecordName, ZoneId, DrAddress, ComposeProject).");
        }

        var dns = context.GetRequiredService<IDnsProvider>();
        var before = await dns.GetRecordAsync(zoneId, test, DnsRecordTypes.A, context.CancellationToken);
        if (before is null)
            throw Refuse($"the test record {test} (A) does not exist in zone {zoneId}: create it first (e.g. pointing at 192.0.2.1, an address that does not answer), so the simulation can put it back afterwards.");
        if (before.AliasTarget is not null)
            throw Refuse($"the test record {test} is an alias (to {before.AliasTarget}): the simulation can only put back a plain A record.");

        var engine = context.GetRequiredService<IFailoverSimulationSite>();
        var site = await engine.InspectAsync(project, context.CancellationToken);
        if (site.Containers.Count > 0)
            throw Refuse($"the DR Compose project {project} already has container(s) on {docker.Endpoint}: {string.Join(", ", site.Containers)}. The simulation starts the DR stack and takes it down again; it never takes down a stack it did not start.");

        // Everything scenario 2 restores into must be the project's, so that the take-down removes it: looked at now,
        // while the project has no container (a service that answers now runs outside it).
        string Given(string name, string fallback) => extra[name] is JsonValue value && value.TryGetValue<string>(out var text) && text.Trim().Length > 0 ? text.Trim() : fallback;
        var drServer = Given("Server", FailoverSimulationPlanner.DefaultDrServer);
        var redisDump = Path.GetFullPath(Given("RedisDumpPath", FailoverSimulationPlanner.DefaultRedisDumpPath));
        var redis = context.GetRequiredService<IOptions<RedisOptions>>().Value;
        var probe = context.GetRequiredService<IFailoverSimulationProbe>();
        var targets = new FailoverRestoreTargets
        {
            Project = project,
            DrServer = drServer,
            PrimaryServer = Given("PrimaryServer", FailoverSimulationPlanner.DefaultPrimaryServer),
            DatabaseServices = extra["DatabaseServices"],
            PgBackRestStanza = extra["PgBackRestStanza"] is JsonValue stanza && stanza.TryGetValue<string>(out var stanzaName) ? stanzaName : extra["PgBackRestStanza"]?.ToJsonString(),
            RedisContainer = redis.Container,
            RedisLocalStartCommand = [.. redis.LocalStartCommand],
            RedisContainerBefore = string.IsNullOrWhiteSpace(redis.Container) ? null : await engine.FindContainerAsync(redis.Container.Trim(), context.CancellationToken),
            DrServerBefore = await probe.ProbePostgresAsync(drServer, TimeSpan.Zero, context.CancellationToken),
            RedisBefore = await probe.ProbeRedisAsync(TimeSpan.Zero, context.CancellationToken),
        };
        if (FailoverSimulationPlanner.RestoreTargetProblems(targets) is { Count: > 0 } restoreProblems)
            throw Refuse($"scenario 2 would restore into something the take-down of the DR project {project} does not remove: {string.Join(" ", restoreProblems)}");

        var plan = new FailoverSimulationPlan
        {
            ZoneId = zoneId,
            ZoneName = zoneName,
            TestRecord = test,
            ProductionRecord = production,
            DrAddress = drAddress,
            Project = project,
            RecordType = DnsRecordTypes.A,
            PreviousValues = [.. before.Values],
            PreviousTtl = before.Ttl,
            VolumesBefore = [.. site.Volumes],
            DrServer = drServer,
            RedisDumpPath = redisDump,
            RedisDumpExistedBefore = File.Exists(redisDump),
            RtoWindow = window,
        };

        // Scenario 2 against the test record: "the primary" is what the test record points at before (it must not
        // answer, as a dead primary would not); the public checks go through the test record's name.
        var input = extra;
        input["Reason"] ??= $"Quarterly failover simulation (run {context.WorkflowInstanceId}): not a real outage. Only the test record {test} moves; {production} is never touched.";
        input["RecordName"] = test;
        // A rehearsal, whatever FailoverInput says: scenario 2 leaves the public status page alone and marks what people read.
        input["Rehearsal"] = true;
        input[nameof(ZoneId)] = zoneId;
        input[nameof(DrAddress)] = drAddress;
        input[nameof(ComposeProject)] = project;
        input["PrimaryChecks"] ??= new JsonArray(new JsonObject { ["url"] = $"https://{test}/health", ["timeout"] = "00:00:05" });
        input["PublicChecks"] ??= new JsonArray(new JsonObject { ["url"] = $"https://{test}/health" });
        context.Set(ChildInput, input);
        context.AddJournalData("plan", JsonSerializer.SerializeToNode(plan, Json.Options));
        var logger = context.GetRequiredService<ILogger<CheckFailoverSimulationTarget>>();
        Log.SimulationPlanned(logger, test, production, project);
        return plan;
    }

    private static FailoverSimulationRefusedException Refuse(string message) =>
        new($"Failover simulation refused, nothing was started: {message}") { Code = FailoverSimulationRefusedException.Refused };
}

/// <summary>One measured step of the child run.</summary>
public sealed record FailoverStepTime(string Step, string ActivityId, DateTimeOffset? At, TimeSpan? SinceStart, string? Outcome);

// SafeToRerun: reads the child's journal only.
[Activity("DrWorkflows", "Drills", "Failover simulation: measures scenario 2's RTO per step from the child run's own journal (start, restored, healthy, DR smoke, approved, DNS in sync, public smoke) and judges it against the window: Met only when the child recovered and the whole took no longer than the window.",
    SafeToRerun = true, Outcomes = [MetOutcome, MissedOutcome, FailedOutcome])]
public sealed class MeasureFailoverSimulation : CodeActivity
{
    public const string MetOutcome = "Met";
    public const string MissedOutcome = "Missed";
    public const string FailedOutcome = "Failed";

    /// <summary>The steps of scenario 2 that make up the RTO, with the outcome each must end with.</summary>
    internal static readonly (string Step, string ActivityId, string Outcome)[] Steps =
    [
        ("restored", "restoreDatabases", "Restored"),
        ("healthy", "waitHealthy", "Healthy"),
        ("DR smoke passed", "smokeDr", "Passed"),
        ("cutover approved", "approveDnsCutover", "Approved"),
        ("DNS in sync", "waitDns", "InSync"),
        ("public smoke passed", "smokePublic", "Passed"),
    ];

    [Input(Description = "The child run (ExecuteWorkflow's ChildInstanceId).", Required = true)]
    public Input<string>? ChildInstanceId { get; set; }

    [Input(Description = "The child's output (Outcome, FailureReason).")]
    public Input<JsonObject>? ChildOutput { get; set; }

    [Input(Description = "The plan (CheckFailoverSimulationTarget).", Required = true)]
    public Input<FailoverSimulationPlan>? Plan { get; set; }

    [Output(Description = "The measurement: steps, total RTO, window, verdict, who approved.")]
    public Output<JsonObject> Report { get; set; } = new();

    [Output(Description = "The measurement as Markdown.")]
    public Output<string> Summary { get; set; } = new();

    protected override async ValueTask RunAsync(ActivityExecutionContext context)
    {
        var childId = context.Get(ChildInstanceId) ?? throw new ActivityFailureException("MeasureFailoverSimulation has no child run id.");
        var plan = context.Get(Plan) ?? throw new ActivityFailureException("MeasureFailoverSimulation has no plan.");
        var output = context.Get(ChildOutput);
        var outcome = output?["Outcome"]?.GetValue<string>() ?? "unknown (no output)";
        var failure = output?["FailureReason"]?.GetValue<string>();
        var journal = await ReadJournalAsync(context.GetRequiredService<IWorkflowInstanceStore>(), childId, context.CancellationToken);

        var start = journal.FirstOrDefault(e => e.EventName == JournalEvents.WorkflowStarted)?.Timestamp ?? journal.FirstOrDefault()?.Timestamp;
        var steps = new List<FailoverStepTime>();
        foreach (var (step, activityId, expected) in Steps)
        {
            var done = journal.LastOrDefault(e => e.EventName == JournalEvents.Completed && e.ActivityId == activityId);
            var ended = done?.Outcomes is { Count: > 0 } outcomes ? outcomes[0] : null;
            var reached = done is not null && ended == expected;
            steps.Add(new FailoverStepTime(step, activityId, reached ? done!.Timestamp : null, reached && start is { } s ? done!.Timestamp - s : null, ended));
        }

        var gate = journal.LastOrDefault(e => e.EventName == JournalEvents.Completed && e.ActivityId == "approveDnsCutover");
        var gateStarted = journal.FirstOrDefault(e => e.EventName == JournalEvents.Started && e.ActivityId == "approveDnsCutover");
        var decision = gate?.Payload?["data"]?["decision"] as JsonObject;
        var gateOutcome = gate?.Outcomes is { Count: > 0 } gateOutcomes ? gateOutcomes[0] : null;
        var approvers = decision?["approvers"] is JsonArray list ? list.Select(a => a?.ToString()).OfType<string>().ToList() : [];

        var allReached = steps.All(s => s.At is not null);
        var total = allReached ? steps[^1].SinceStart : null;
        var recovered = outcome == "Recovered";
        var verdict = recovered && allReached && total is { } t ? (t <= plan.RtoWindow ? MetOutcome : MissedOutcome) : FailedOutcome;
        var reason = verdict switch
        {
            MetOutcome => $"recovered in {Format(total)}, within the {Format(plan.RtoWindow)} window",
            MissedOutcome => $"recovered in {Format(total)}, over the {Format(plan.RtoWindow)} window",
            _ => $"scenario 2 did not recover (outcome {outcome}{(failure is { Length: > 0 } ? ": " + failure : string.Empty)}); steps not reached: {string.Join(", ", steps.Where(s => s.At is null).Select(s => s.Step))}",
        };

        var report = new JsonObject
        {
            ["kind"] = "failover-simulation",
            ["childRunId"] = childId,
            ["testRecord"] = plan.TestRecord,
            ["productionRecord"] = plan.ProductionRecord,
            ["drAddress"] = plan.DrAddress,
            ["project"] = plan.Project,
            ["outcome"] = outcome,
            ["failureReason"] = failure,
            ["startedAt"] = start,
            ["steps"] = JsonSerializer.SerializeToNode(steps, Json.Options),
            ["totalRto"] = total?.ToString(),
            ["window"] = plan.RtoWindow.ToString(),
            ["verdict"] = verdict,
            ["reason"] = reason,
            ["recoveredAt"] = allReached ? steps[^1].At : null,
            ["approval"] = new JsonObject
            {
                ["outcome"] = gateOutcome,
                ["approvers"] = new JsonArray([.. approvers.Select(a => (JsonNode?)a)]),
                ["comment"] = decision?["comment"]?.DeepClone(),
                ["waited"] = gate is not null && gateStarted is not null ? (gate.Timestamp - gateStarted.Timestamp).ToString() : null,
            },
        };

        var markdown = new StringBuilder()
            .AppendLine($"*Quarterly failover simulation: {(verdict == MetOutcome ? "MET" : verdict == MissedOutcome ? "MISSED" : "FAILED")}* (run {context.WorkflowInstanceId}, scenario 2 run {childId})")
            .AppendLine($"Test record {plan.TestRecord} → {plan.DrAddress} (production record {plan.ProductionRecord} not touched). Verdict: {reason}.")
            .AppendLine($"Cutover approval: {gateOutcome ?? "not reached"}{(approvers.Count > 0 ? " by " + string.Join(", ", approvers) : string.Empty)}{(report["approval"]!["waited"] is { } waited ? $" after {waited}" : string.Empty)}.")
            .AppendLine("**RTO per step** (since the scenario started)");
        foreach (var step in steps)
            markdown.AppendLine($"- {step.Step}: {(step.SinceStart is { } since ? Format(since) : "NOT REACHED" + (step.Outcome is null ? string.Empty : $" (ended {step.Outcome})"))}");
        markdown.Append($"**Total RTO**: {(total is { } all ? Format(all) : "none (not recovered)")} against the plan's window of {Format(plan.RtoWindow)}.");

        context.AddJournalData("measurement", report.DeepClone());
        context.Set(Report, report);
        context.Set(Summary, markdown.ToString());
        var logger = context.GetRequiredService<ILogger<MeasureFailoverSimulation>>();
        Log.SimulationMeasured(logger, verdict, reason);
        await context.CompleteAsync(verdict);
    }

    internal static string Format(TimeSpan? span) => span is not { } s ? "n/a" : s.TotalHours >= 1 ? $"{(int)s.TotalHours} h {s.Minutes} min {s.Seconds} s" : $"{(int)s.TotalMinutes} min {s.Seconds} s";

    private static async Task<List<JournalEntry>> ReadJournalAsync(IWorkflowInstanceStore instances, string instanceId, CancellationToken cancellationToken)
    {
        var entries = new List<JournalEntry>();
        while (true)
        {
            var page = await instances.GetJournalAsync(instanceId, entries.Count, 500, cancellationToken);
            entries.AddRange(page.Items);
            if (page.Items.Count == 0 || entries.Count >= page.TotalCount)
                return entries;
        }
    }
}

// SafeToRerun: putting the test record back and taking the DR project down again are idempotent.
[Activity("DrWorkflows", "Drills", "Failover simulation, afterwards: puts the test record back to its value before (UPSERT, wait INSYNC, read back), takes the DR Compose project down and removes the volumes the simulation made (through the throwaway ledger), then looks again: Clean only when the record has its old value, nothing of the project is left, and the DR database server and Redis scenario 2 restored into refuse connections (gone with the project).",
    SafeToRerun = true, Outcomes = [CleanOutcome, DirtyOutcome])]
public sealed class CleanUpFailoverSimulation : CodeActivity
{
    public const string CleanOutcome = "Clean";
    public const string DirtyOutcome = "Dirty";

    /// <summary>How long the DR database server and Redis may go on answering after the take-down (a port is released just after its container).</summary>
    internal static readonly TimeSpan ServicesGoneWithin = TimeSpan.FromSeconds(15);

    [Input(Description = "The plan (CheckFailoverSimulationTarget).", Required = true)]
    public Input<FailoverSimulationPlan>? Plan { get; set; }

    [Output(Description = "What was put back and removed, what was checked, and the problems.")]
    public Output<JsonObject> Report { get; set; } = new();

    [Output(Description = "The cleanup as Markdown.")]
    public Output<string> Summary { get; set; } = new();

    protected override async ValueTask RunAsync(ActivityExecutionContext context)
    {
        var plan = context.Get(Plan) ?? throw new ActivityFailureException("CleanUpFailoverSimulation has no plan.");
        var ct = context.CancellationToken;
        var problems = new List<string>();
        var dns = context.GetRequiredService<IDnsProvider>();
        var previous = string.Join(",", plan.PreviousValues);
        string? changeId = null;
        string? after = null;
        try
        {
            var current = await dns.GetRecordAsync(plan.ZoneId, plan.TestRecord, plan.RecordType, ct);
            if (current is null || current.AliasTarget is not null || current.Ttl != plan.PreviousTtl || !current.Values.SequenceEqual(plan.PreviousValues, StringComparer.Ordinal))
            {
                var change = await dns.UpsertRecordAsync(plan.ZoneId, new DnsRecord(plan.TestRecord, plan.RecordType, plan.PreviousTtl, plan.PreviousValues), $"DR failover simulation cleanup, DrWorkflows run {context.WorkflowInstanceId}", ct);
                changeId = change.Id;
                var wait = await dns.WaitForChangeAsync(change.Id, TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(10), context.GetRequiredService<TimeProvider>(), ct);
                if (!wait.InSync)
                    problems.Add($"Route 53 did not report change {change.Id} (test record {plan.TestRecord} back to {previous}) INSYNC within 5 minutes");
            }

            var check = await dns.GetRecordAsync(plan.ZoneId, plan.TestRecord, plan.RecordType, ct);
            after = check is null ? "missing" : string.Join(",", check.Values) + " ttl=" + check.Ttl;
            if (check is null || check.Ttl != plan.PreviousTtl || !check.Values.SequenceEqual(plan.PreviousValues, StringComparer.Ordinal))
                problems.Add($"the test record {plan.TestRecord} is {after} after the cleanup, not {previous} ttl={plan.PreviousTtl}");
        }
        catch (DnsOperationException e)
        {
            problems.Add($"putting the test record {plan.TestRecord} back to {previous} failed: {e.Message}");
        }

        FailoverSiteCleanup? site = null;
        try
        {
            site = await context.GetRequiredService<IFailoverSimulationSite>().TakeDownAsync(plan.Project, plan.VolumesBefore, ct);
            problems.AddRange(site.Problems);
            if (site.Left.Containers.Count > 0)
                problems.Add($"container(s) of the DR project {plan.Project} still there: {string.Join(", ", site.Left.Containers)}");
            var madeVolumes = site.Left.Volumes.Where(v => !plan.VolumesBefore.Contains(v, StringComparer.Ordinal)).ToList();
            if (madeVolumes.Count > 0)
                problems.Add($"volume(s) the simulation made still there: {string.Join(", ", madeVolumes)}");
        }
        catch (Exception e) when (e is DockerApiException or DockerOperationException or HttpRequestException or TimeoutException)
        {
            problems.Add($"taking the DR project {plan.Project} down failed: {e.Message}");
        }

        // The Redis dump scenario 2 fetched onto this orchestrator: a copy of backup data the simulation made.
        string? dump = null;
        if (plan.RedisDumpPath is { Length: > 0 } dumpPath)
        {
            if (plan.RedisDumpExistedBefore)
            {
                dump = $"{dumpPath} kept: it was there before the simulation (scenario 2 wrote the newest dump over it)";
            }
            else
            {
                try
                {
                    var written = File.Exists(dumpPath);
                    File.Delete(dumpPath);
                    if (File.Exists(dumpPath))
                        problems.Add($"the Redis dump {dumpPath} the simulation fetched is still there after deleting it");
                    else
                        dump = written ? $"{dumpPath} removed" : $"{dumpPath} not there (scenario 2 fetched no dump)";
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    problems.Add($"the Redis dump {dumpPath} the simulation fetched could not be removed: {e.Message}");
                }
            }
        }

        // Measured, not assumed: what scenario 2 restored into were services of the project, so they are gone now.
        // A refused connection is gone; one that is accepted, or any answer that is neither, is a problem.
        var probe = context.GetRequiredService<IFailoverSimulationProbe>();
        var services = new List<FailoverServiceProbe>
        {
            await probe.ProbePostgresAsync(plan.DrServer, ServicesGoneWithin, ct),
            await probe.ProbeRedisAsync(ServicesGoneWithin, ct),
        };
        foreach (var service in services)
        {
            if (service.State == FailoverServiceState.Answers)
                problems.Add($"the DR {service.Service} ({service.Endpoint}) still answers after the take-down of {plan.Project}: what scenario 2 restored into it is still there ({service.Detail})");
            else if (service.State == FailoverServiceState.Unknown)
                problems.Add($"cannot prove the DR {service.Service} ({service.Endpoint}) is gone after the take-down of {plan.Project}: {service.Detail}");
        }

        var report = new JsonObject
        {
            ["testRecord"] = plan.TestRecord,
            ["restoredTo"] = previous,
            ["restoredTtl"] = plan.PreviousTtl,
            ["changeId"] = changeId,
            ["recordAfter"] = after,
            ["removed"] = site is null ? null : new JsonArray([.. site.Removed.Select(r => (JsonNode?)r)]),
            ["containersLeft"] = site is null ? null : new JsonArray([.. site.Left.Containers.Select(r => (JsonNode?)r)]),
            ["volumesKept"] = new JsonArray([.. plan.VolumesBefore.Select(r => (JsonNode?)r)]),
            ["redisDump"] = dump,
            ["servicesAfter"] = new JsonArray([.. services.Select(p => (JsonNode?)new JsonObject { ["service"] = p.Service, ["endpoint"] = p.Endpoint, ["state"] = p.State.ToString(), ["detail"] = p.Detail })]),
            ["problems"] = new JsonArray([.. problems.Select(p => (JsonNode?)p)]),
            ["clean"] = problems.Count == 0,
        };
        var summary = problems.Count == 0
            ? $"**Cleanup**: clean. Test record {plan.TestRecord} back to {previous} (ttl {plan.PreviousTtl}, read back); DR project {plan.Project} down, nothing of it left ({(site?.Removed.Count > 0 ? "removed " + string.Join(", ", site.Removed) : "compose down removed it all")}); {string.Join(" and ", services.Select(p => $"the DR {p.Service} ({p.Endpoint})"))} no longer answer (connection refused)."
            : $":rotating_light: **Cleanup FAILED**: {string.Join("; ", problems)}. Clean up by hand (docs/workflows/failover-simulation.md).";
        context.AddJournalData("cleanup", report.DeepClone());
        context.Set(Report, report);
        context.Set(Summary, summary);
        var logger = context.GetRequiredService<ILogger<CleanUpFailoverSimulation>>();
        if (problems.Count == 0)
            Log.SimulationCleanedUp(logger, plan.TestRecord, plan.Project);
        else
            Log.SimulationCleanupFailed(logger, string.Join("; ", problems));
        await context.CompleteAsync(problems.Count == 0 ? CleanOutcome : DirtyOutcome);
    }
}
