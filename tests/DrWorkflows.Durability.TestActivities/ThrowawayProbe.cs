using Docker.DotNet;
using Docker.DotNet.Models;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Throwaway;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Durability.TestActivities;

/// <summary>
/// A step that makes one throwaway resource of every kind the way a DR step does (each recorded in the ledger before it
/// exists): a private directory holding a password file, a Docker volume, a network and a running container that uses
/// both; it holds them for a while (so that a kill lands while they exist), then removes them, newest first.
/// </summary>
[Activity("Durability", "Testing", "Creates throwaway resources of every kind through the ledger, holds them, then removes them.", SafeToRerun = true)]
public sealed class ThrowawayProbe : CodeActivity
{
    [Input(Description = "Name prefix of the Docker resources.")]
    public Input<string> Prefix { get; set; } = new("drwprobe");

    [Input(Description = "Image of the container (present on the engine).")]
    public Input<string> Image { get; set; } = new("local/busybox:1");

    [Input(Description = "How long the resources are held, in milliseconds.")]
    public Input<int> HoldMs { get; set; } = new(1500);

    protected override async ValueTask RunAsync(ActivityExecutionContext context)
    {
        var ct = context.CancellationToken;
        var ledger = context.GetRequiredService<IThrowawayLedger>();
        var endpoint = context.GetRequiredService<IOptions<DockerOptions>>().Value.Endpoint;
        using var docker = new DockerClientConfiguration(new Uri(endpoint)).CreateClient();
        var name = $"{context.Get(Prefix)}-{context.ExecutionId[..8]}-{context.Attempt}";

        await using var secrets = await ledger.CreateDirectoryAsync(ThrowawayFiles.NewPath("drwprobe-"), "probe: a password file", ct);
        await File.WriteAllTextAsync(Path.Combine(secrets.Name, ".pgpass"), "*:*:*:*:probe-secret\n", ct);

        await using var volume = await ledger.RecordAsync(ThrowawaySpec.DockerVolume(endpoint, name + "-vol"), t => docker.Volumes.RemoveAsync(name + "-vol", true, t), ct);
        await docker.Volumes.CreateAsync(new VolumesCreateParameters { Name = name + "-vol" }, ct);

        await using var network = await ledger.RecordAsync(ThrowawaySpec.DockerNetwork(endpoint, name + "-net"), t => docker.Networks.DeleteNetworkAsync(name + "-net", t), ct);
        await docker.Networks.CreateNetworkAsync(new NetworksCreateParameters { Name = name + "-net", Driver = "bridge", Internal = true }, ct);

        await using var container = await ledger.RecordAsync(ThrowawaySpec.DockerContainer(endpoint, name), t => docker.Containers.RemoveContainerAsync(name, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, t), ct);
        await docker.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Name = name,
            Image = context.Get(Image),
            Cmd = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"],
            HostConfig = new HostConfig { Binds = [$"{name}-vol:/data"], NetworkMode = name + "-net" },
        }, ct);
        await docker.Containers.StartContainerAsync(name, new ContainerStartParameters(), ct);

        await Task.Delay(TimeSpan.FromMilliseconds(context.Get(HoldMs, 1500)), context.Clock, ct);
    }
}
