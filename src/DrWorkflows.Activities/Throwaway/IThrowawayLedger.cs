using DrWorkflows.Core.Persistence;

namespace DrWorkflows.Activities.Throwaway;

/// <summary>
/// The ledger of throwaway resources: a step records each database, container, network, volume, temporary directory
/// or file it creates only for itself <b>before</b> creating it, and releases it after removing it. The owner (run,
/// step, attempt) is the activity attempt running in the calling flow (<see cref="Core.Execution.ActivityAttempt"/>),
/// else this process. Whatever a crash, a killed node or a failed removal leaves behind, the janitor removes once
/// its owner ended, failed or was interrupted (docs/durability.md#nothing-left-behind).
/// </summary>
/// <example>
/// <code>
/// await using var database = await ledger.RecordAsync(ThrowawaySpec.PostgresDatabase(server.Name, name),
///     ct => DropAsync(server, name, ct), cancellationToken);   // recorded, not created yet
/// await CreateAsync(server, name, cancellationToken);          // a crash from here on leaves a row naming it
/// ...                                                          // dispose: the removal runs, then it is released
/// </code>
/// </example>
public interface IThrowawayLedger
{
    /// <summary>
    /// Records <paramref name="resource"/> in the orchestrator's store; create it only after this returned. Disposing
    /// the lease runs <paramref name="remove"/> (when given) and marks the resource released; without a removal, call
    /// <see cref="ThrowawayLease.ReleaseAsync"/> after removing it yourself. A removal that fails is logged and the
    /// resource is left to the janitor.
    /// </summary>
    Task<ThrowawayLease> RecordAsync(ThrowawaySpec resource, Func<CancellationToken, Task>? remove, CancellationToken cancellationToken);

    /// <summary>
    /// Records a private directory (<c>0700</c>), then creates it (with its missing parents). Disposing the lease
    /// deletes it with everything in it and releases it. For temporary secrets (a <c>.pgpass</c>, keys, decrypted dumps).
    /// </summary>
    Task<ThrowawayLease> CreateDirectoryAsync(string path, string? description, CancellationToken cancellationToken);
}

/// <summary>One recorded throwaway resource, held by the step that created it.</summary>
public sealed class ThrowawayLease : IAsyncDisposable
{
    private readonly ILeaseKeeper? keeper;
    private readonly Func<CancellationToken, Task>? remove;
    private int ended;

    internal ThrowawayLease(ThrowawayResource resource, Func<CancellationToken, Task>? remove, ILeaseKeeper? keeper)
    {
        Resource = resource;
        this.remove = remove;
        this.keeper = keeper;
    }

    /// <summary>The ledger row as recorded.</summary>
    public ThrowawayResource Resource { get; }

    /// <summary>The resource's name (a path for files and directories).</summary>
    public string Name => Resource.Name;

    /// <summary>Whether the resource was removed and released through this lease.</summary>
    public bool IsReleased => Volatile.Read(ref ended) == 1;

    /// <summary>
    /// Marks the resource released: call it after removing the resource yourself (and only if that worked). Never
    /// throws: when the store cannot be written, the janitor finds the resource gone and closes the row later.
    /// </summary>
    public async Task ReleaseAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref ended, 1) == 1)
            return;
        if (keeper is not null)
            await keeper.ReleasedAsync(Resource, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs the removal given when it was recorded, then releases it. Returns false (and leaves the resource to the
    /// janitor) when the removal failed; never throws for a failed removal.
    /// </summary>
    public Task<bool> RemoveAsync(CancellationToken cancellationToken = default) => TryRemoveAsync(keepCancellation: true, cancellationToken);

    /// <summary>Removes the resource when a removal was given (with its own time limit, even if the step was cancelled).</summary>
    public async ValueTask DisposeAsync()
    {
        if (remove is null || IsReleased)
            return;
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await TryRemoveAsync(keepCancellation: false, limit.Token).ConfigureAwait(false);
    }

    private async Task<bool> TryRemoveAsync(bool keepCancellation, CancellationToken cancellationToken)
    {
        if (IsReleased || remove is null)
            return IsReleased;
        try
        {
            await remove(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !keepCancellation || !cancellationToken.IsCancellationRequested)
        {
            if (keeper is not null)
                await keeper.RemovalFailedAsync(Resource, e, CancellationToken.None).ConfigureAwait(false);
            return false;
        }

        await ReleaseAsync(CancellationToken.None).ConfigureAwait(false);
        return true;
    }

    public override string ToString() => $"{Resource.Kind} {Resource.Name}";
}

/// <summary>What a lease reports back to its ledger.</summary>
internal interface ILeaseKeeper
{
    Task ReleasedAsync(ThrowawayResource resource, CancellationToken cancellationToken);

    Task RemovalFailedAsync(ThrowawayResource resource, Exception error, CancellationToken cancellationToken);
}
