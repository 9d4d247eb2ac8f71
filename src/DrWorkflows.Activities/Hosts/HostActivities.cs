using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

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
[Activity("DrWorkflows", "Hosts", "Restarts the Docker engine's systemd service (this host or over SSH) and returns its state.")]
public sealed class RestartDockerService : CodeActivity<ServiceStatus>
{
    [Input(Description = "systemd unit; Host:DockerServiceName (docker) when empty.")]
    public Input<string>? Unit { get; set; }

    protected override async ValueTask<ServiceStatus> RunAsync(ActivityExecutionContext context)
    {
        var unit = context.Get(Unit);
        var status = await context.GetRequiredService<IHostService>().RestartServiceAsync(string.IsNullOrWhiteSpace(unit) ? null : unit, context.CancellationToken);
        context.AddJournalData("service", new JsonObject { ["host"] = status.Host, ["unit"] = status.Unit, ["active"] = status.ActiveState, ["sub"] = status.SubState });
        return status;
    }
}

// Idempotent: the rules of this id are replaced, never stacked, and finishing a half-applied isolation is the safe direction.
[Activity("DrWorkflows", "Hosts", "Isolates the platform: blocks published container ports (DOCKER-USER) and optional host ports (INPUT) except for allowed sources.", SafeToRerun = true)]
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

    protected override async ValueTask<IsolationResult> RunAsync(ActivityExecutionContext context)
    {
        var id = context.Get(IsolationId) is { Length: > 0 } given ? given : context.ExecutionId;
        var result = await context.GetRequiredService<INetworkIsolationService>().IsolateAsync(new IsolationRequest(id)
        {
            AllowedSources = context.Get(AllowedSources) ?? [],
            PublishedPorts = context.Get(PublishedPorts) ?? [],
            HostPorts = context.Get(HostPorts) ?? [],
        }, context.CancellationToken);
        context.AddJournalData("isolation", new JsonObject { ["id"] = result.IsolationId, ["host"] = result.Host, ["rules"] = new JsonArray([.. result.Rules.Select(r => JsonValue.Create(r))]) });
        return result;
    }
}

// Removes only this isolation's rules and is a no-op when they are gone.
[Activity("DrWorkflows", "Hosts", "Lifts a network isolation: removes exactly the rules and chains tagged with its id.", SafeToRerun = true)]
public sealed class RestoreNetwork : CodeActivity<int>
{
    [Input(Description = "Id given to IsolateNetwork.", Required = true)]
    public Input<string>? IsolationId { get; set; }

    protected override async ValueTask<int> RunAsync(ActivityExecutionContext context)
    {
        var id = context.Get(IsolationId)!;
        var removed = await context.GetRequiredService<INetworkIsolationService>().RestoreAsync(id, context.CancellationToken);
        context.AddJournalData("isolation", new JsonObject { ["id"] = id, ["rulesRemoved"] = removed });
        return removed;
    }
}
