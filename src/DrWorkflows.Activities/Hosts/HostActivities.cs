using System.Text.Json.Nodes;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Hosts;

// Reads only.
[Activity("DrWorkflows", "Hosts", "Checks free disk space of the file system holding a path (this host or over SSH).", SafeToRerun = true, Outcomes = [Enough, Low])]
public sealed class CheckDiskSpace : Activity
{
    public const string Enough = "Enough";
    public const string Low = "Low";

    [Input(Description = "A path on the file system to check, e.g. /var/lib/docker.", DefaultValue = "/var/lib/docker")]
    public Input<string>? Path { get; set; }

    [Input(Description = "Low when fewer free bytes than this.")]
    public Input<long?>? MinimumFreeBytes { get; set; }

    [Input(Description = "Low when the file system is fuller than this percentage.", DefaultValue = 90.0)]
    public Input<double?>? MaximumUsedPercent { get; set; }

    [Output(Description = "Total, available and used space.")]
    public Output<DiskSpace> Space { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var space = await context.GetRequiredService<IHostService>().GetDiskSpaceAsync(context.Get(Path, "/var/lib/docker"), context.CancellationToken);
        var minimumFree = context.Get(MinimumFreeBytes);
        var maximumUsed = context.Get(MaximumUsedPercent, 90.0);
        var low = (minimumFree is { } free && space.AvailableBytes < free) || (maximumUsed is { } used && space.UsedPercent > used);
        context.Set(Space, space);
        context.AddJournalData("disk", new JsonObject { ["host"] = space.Host, ["path"] = space.Path, ["available"] = space.AvailableBytes, ["total"] = space.TotalBytes, ["usedPercent"] = space.UsedPercent });
        await context.CompleteAsync(low ? Low : Enough);
    }
}

// Restarting the engine stops every container: never repeated without an operator.
[Activity("DrWorkflows", "Hosts", "Restarts the Docker engine (Host:DockerRestartCommand, or systemctl restart of its unit) on this host or over SSH, and completes only when the engine answers again.")]
public sealed class RestartDockerService : CodeActivity<DockerEngineRestart>
{
    [Input(Description = "systemd unit; Host:DockerServiceName (docker) when empty. Not used when Host:DockerRestartCommand is set.")]
    public Input<string>? Unit { get; set; }

    protected override async ValueTask<DockerEngineRestart> RunAsync(ActivityExecutionContext context)
    {
        var unit = context.Get(Unit);
        var host = context.GetRequiredService<IHostService>();
        var docker = context.GetRequiredService<IDockerService>();
        var options = context.GetRequiredService<IOptions<HostOptions>>().Value;
        var clock = context.GetRequiredService<TimeProvider>();
        var start = clock.GetTimestamp();
        var command = await host.RestartDockerEngineAsync(string.IsNullOrWhiteSpace(unit) ? null : unit, context.CancellationToken);

        // Done means the engine answers, not that the command returned.
        string? version = null;
        Exception? last = null;
        while (version is null)
        {
            try
            {
                version = await docker.GetEngineVersionAsync(context.CancellationToken);
            }
            catch (DockerOperationException e) when (e.Code == DockerOperationException.EngineUnreachable)
            {
                last = e;
                if (clock.GetElapsedTime(start) >= options.DockerRestartTimeout)
                {
                    throw new HostOperationException(
                        $"`{command.CommandLine}` ran on {command.Host}, but the Docker engine {docker.Endpoint} does not answer {options.DockerRestartTimeout.TotalSeconds:0} s later " +
                        $"(Host:DockerRestartTimeout): {e.Message}. Check the engine's log (journalctl -u docker), containerd and the disk.",
                        HostOperationException.EngineNotBack, false, e);
                }

                await Task.Delay(TimeSpan.FromSeconds(1), clock, context.CancellationToken);
            }
        }

        var elapsed = clock.GetElapsedTime(start);
        var logger = context.GetRequiredService<Microsoft.Extensions.Logging.ILogger<RestartDockerService>>();
        Log.EngineBack(logger, docker.Endpoint, version, elapsed);
        var restart = new DockerEngineRestart(command.Host, command.CommandLine, docker.Endpoint, version, elapsed.TotalSeconds);
        context.AddJournalData("engine", new JsonObject
        {
            ["host"] = restart.Host,
            ["command"] = restart.Command,
            ["endpoint"] = restart.Endpoint,
            ["version"] = restart.EngineVersion,
            ["secondsUntilAnswering"] = Math.Round(restart.SecondsUntilAnswering, 1),
            ["unreachableBefore"] = last?.Message,
        });
        return restart;
    }
}

/// <summary>A restart of the Docker engine that was checked: the command run, and the engine answering afterwards.</summary>
public sealed record DockerEngineRestart(string Host, string Command, string Endpoint, string EngineVersion, double SecondsUntilAnswering);

// Idempotent: the rules of this id are replaced, never stacked, and finishing a half-applied isolation is the safe direction.
[Activity("DrWorkflows", "Hosts", "Isolates the platform: blocks its published ports (DOCKER-USER, or raw PREROUTING when the engine has none) and optional host ports (INPUT) except for allowed sources, then checks from a source that is not allowed that none answers.", SafeToRerun = true)]
public sealed class IsolateNetwork : CodeActivity<IsolationResult>
{
    [Input(Description = "Id of this isolation, used to remove exactly its rules later; the run's execution id when empty.")]
    public Input<string>? IsolationId { get; set; }

    [Input(Description = "Sources that keep access (admin CIDRs), e.g. 10.0.0.0/24.")]
    public Input<List<string>>? AllowedSources { get; set; }

    [Input(Description = "Published ports to block, e.g. 80, 443 (all published ports when empty).")]
    public Input<List<string>>? PublishedPorts { get; set; }

    [Input(Description = "Host ports to block in INPUT (host-network services, docker-proxy).")]
    public Input<List<string>>? HostPorts { get; set; }

    [Input(Description = "Compose project whose published ports are blocked and checked; Docker:ComposeProject when empty.")]
    public Input<string>? ComposeProject { get; set; }

    protected override async ValueTask<IsolationResult> RunAsync(ActivityExecutionContext context)
    {
        var id = context.Get(IsolationId) is { Length: > 0 } given ? given : context.ExecutionId;
        var project = context.Get(ComposeProject) is { Length: > 0 } named ? named : context.GetRequiredService<IOptions<DockerOptions>>().Value.ComposeProject;

        // The ports the platform publishes, from the engine: each is probed once the rules are in place.
        var ports = new List<PublishedPort>();
        string? unknown = null;
        if (string.IsNullOrWhiteSpace(project))
        {
            unknown = "no Compose project is configured (Docker:ComposeProject)";
        }
        else
        {
            try
            {
                var containers = await context.GetRequiredService<IDockerService>().ListContainersAsync(ContainerSelector.Project(project), null, context.CancellationToken);
                ports.AddRange(containers.SelectMany(c => c.PublishedPorts).Distinct());
            }
            catch (DockerOperationException e)
            {
                unknown = e.Message;
            }
        }

        var request = new IsolationRequest(id)
        {
            AllowedSources = context.Get(AllowedSources) ?? [],
            PublishedPorts = context.Get(PublishedPorts) ?? [],
            ProjectPorts = ports,
            HostPorts = context.Get(HostPorts) ?? [],
        };
        var result = await context.GetRequiredService<INetworkIsolationService>().IsolateAsync(request, context.CancellationToken);
        context.AddJournalData("isolation", new JsonObject
        {
            ["id"] = result.IsolationId,
            ["host"] = result.Host,
            ["mode"] = result.Mode,
            ["rules"] = new JsonArray([.. result.Rules.Select(r => JsonValue.Create(r))]),
            ["probeSource"] = result.ProbeSource,
            ["before"] = new JsonArray([.. result.Before.Select(p => JsonValue.Create(p.ToString()))]),
            ["after"] = new JsonArray([.. result.After.Select(p => JsonValue.Create(p.ToString()))]),
            ["notes"] = new JsonArray([.. result.Notes.Select(n => JsonValue.Create(n))]),
        });
        if (unknown is not null)
        {
            // The rules are in place, but which ports the platform publishes is unknown: they could not all be checked.
            throw new HostOperationException(
                $"Isolation {id} was applied on {result.Host} ({result.Rules.Count} rules) but cannot be confirmed: the published ports of the platform could not be read ({unknown}). " +
                $"Checked: {(result.After.Count == 0 ? "nothing" : string.Join("; ", result.After))}. List the published ports by hand (`docker ps --format '{{{{.Ports}}}}'`), " +
                "check each from a machine outside the allowed networks (`nc -vz -w 3 <host> <port>`), and block what answers at the edge; then retry or skip this step.",
                HostOperationException.IsolationUnverified);
        }

        return result;
    }
}

// Removes only this isolation's rules and is a no-op when they are gone.
[Activity("DrWorkflows", "Hosts", "Lifts a network isolation: removes exactly the rules and chains tagged with its id, checks none is left, and that the ports that answered before answer again.", SafeToRerun = true)]
public sealed class RestoreNetwork : CodeActivity<IsolationLift>
{
    [Input(Description = "Id given to IsolateNetwork.", Required = true)]
    public Input<string>? IsolationId { get; set; }

    [Input(Description = "Ports that must answer again once lifted, e.g. IsolateNetwork's Result.reachableBefore (checked from the probe).")]
    public Input<List<IsolationTarget>>? ExpectReachable { get; set; }

    protected override async ValueTask<IsolationLift> RunAsync(ActivityExecutionContext context)
    {
        var id = context.Get(IsolationId)!;
        var lift = await context.GetRequiredService<INetworkIsolationService>().RestoreAsync(id, context.Get(ExpectReachable) ?? [], context.CancellationToken);
        context.AddJournalData("isolation", new JsonObject
        {
            ["id"] = id,
            ["host"] = lift.Host,
            ["rulesRemoved"] = lift.RulesRemoved,
            ["probeSource"] = lift.ProbeSource,
            ["after"] = new JsonArray([.. lift.After.Select(p => JsonValue.Create(p.ToString()))]),
            ["notes"] = new JsonArray([.. lift.Notes.Select(n => JsonValue.Create(n))]),
        });
        return lift;
    }
}
