using System.Net;
using Docker.DotNet;
using Docker.DotNet.Models;
using DrWorkflows.Activities.Throwaway;
using DrWorkflows.Core.Persistence;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Docker;

/// <summary>
/// The janitor's removers of throwaway containers, networks and volumes on the configured engine
/// (<c>Docker:Endpoint</c>). A resource on another engine, or on another host's local socket, is left to the node
/// that uses that engine. Something already gone counts as removed.
/// </summary>
internal abstract class DockerThrowawayRemover(IOptions<DockerOptions> options) : IThrowawayRemover, IDisposable
{
    private readonly Lazy<DockerClient> client = new(() => DockerClientFactory.Create(options.Value));

    public abstract string Kind { get; }

    protected DockerClient Client => client.Value;

    public string? CannotRemoveHere(ThrowawayResource resource, out bool elsewhere)
    {
        elsewhere = !string.Equals(resource.Location, options.Value.Endpoint, StringComparison.OrdinalIgnoreCase)
            || (resource.Host is not null && !string.Equals(resource.Host, Environment.MachineName, StringComparison.OrdinalIgnoreCase));
        return elsewhere ? $"it is on engine {resource.Location}{(resource.Host is null ? string.Empty : $" of host {resource.Host}")}" : null;
    }

    public async Task RemoveAsync(ThrowawayResource resource, CancellationToken cancellationToken)
    {
        try
        {
            await RemoveCoreAsync(resource.Name, cancellationToken);
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            // Never created, or removed already.
        }
    }

    protected abstract Task RemoveCoreAsync(string name, CancellationToken cancellationToken);

    public void Dispose()
    {
        if (client.IsValueCreated)
            client.Value.Dispose();
    }
}

/// <summary>Containers: removed with force (stopped first) and with their anonymous volumes.</summary>
internal sealed class DockerContainerRemover(IOptions<DockerOptions> options) : DockerThrowawayRemover(options)
{
    public override string Kind => ThrowawayKinds.DockerContainer;

    protected override Task RemoveCoreAsync(string name, CancellationToken cancellationToken) =>
        Client.Containers.RemoveContainerAsync(name, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, cancellationToken);
}

/// <summary>Networks (the janitor removes containers first, so none is still attached).</summary>
internal sealed class DockerNetworkRemover(IOptions<DockerOptions> options) : DockerThrowawayRemover(options)
{
    public override string Kind => ThrowawayKinds.DockerNetwork;

    protected override Task RemoveCoreAsync(string name, CancellationToken cancellationToken) => Client.Networks.DeleteNetworkAsync(name, cancellationToken);
}

/// <summary>Volumes (with force; one still in use by a container fails and is tried again next pass).</summary>
internal sealed class DockerVolumeRemover(IOptions<DockerOptions> options) : DockerThrowawayRemover(options)
{
    public override string Kind => ThrowawayKinds.DockerVolume;

    protected override Task RemoveCoreAsync(string name, CancellationToken cancellationToken) => Client.Volumes.RemoveAsync(name, force: true, cancellationToken);
}
