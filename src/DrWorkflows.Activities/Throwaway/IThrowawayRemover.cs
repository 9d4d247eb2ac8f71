using DrWorkflows.Core.Persistence;

namespace DrWorkflows.Activities.Throwaway;

/// <summary>
/// Removes left-behind resources of one kind for the janitor. Removing a resource that is already gone succeeds
/// (it is the same end state). Register one per kind with <c>services.AddThrowawayRemover&lt;T&gt;()</c>.
/// </summary>
public interface IThrowawayRemover
{
    /// <summary>The kind it removes (<see cref="ThrowawayKinds"/>).</summary>
    string Kind { get; }

    /// <summary>
    /// Null when this node can remove <paramref name="resource"/>; otherwise why not. <paramref name="elsewhere"/> is
    /// true when another node is the one to do it (another host, another engine): the janitor then leaves it quietly.
    /// </summary>
    string? CannotRemoveHere(ThrowawayResource resource, out bool elsewhere);

    /// <summary>Removes it; throws when it could not (the janitor records the error and tries again later).</summary>
    Task RemoveAsync(ThrowawayResource resource, CancellationToken cancellationToken);
}

/// <summary>Directories on this host (with everything in them).</summary>
internal sealed class DirectoryRemover : IThrowawayRemover
{
    public string Kind => ThrowawayKinds.Directory;

    public string? CannotRemoveHere(ThrowawayResource resource, out bool elsewhere) => FileRemover.OnThisHost(resource, out elsewhere);

    public Task RemoveAsync(ThrowawayResource resource, CancellationToken cancellationToken) => ThrowawayFiles.DeleteDirectoryAsync(resource.Name);
}

/// <summary>Files on this host.</summary>
internal sealed class FileRemover : IThrowawayRemover
{
    public string Kind => ThrowawayKinds.File;

    public string? CannotRemoveHere(ThrowawayResource resource, out bool elsewhere) => OnThisHost(resource, out elsewhere);

    public Task RemoveAsync(ThrowawayResource resource, CancellationToken cancellationToken) => ThrowawayFiles.DeleteFileAsync(resource.Name);

    internal static string? OnThisHost(ThrowawayResource resource, out bool elsewhere)
    {
        elsewhere = resource.Host is not null && !string.Equals(resource.Host, Environment.MachineName, StringComparison.OrdinalIgnoreCase);
        return elsewhere ? $"it is on host {resource.Host}" : null;
    }
}
