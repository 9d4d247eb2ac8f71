using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Throwaway;

/// <summary>
/// The ledger on the orchestrator's store. Each instance is one holder (one per process in the server): it
/// registers itself before its first record and is renewed by the janitor service while the process runs.
/// </summary>
internal sealed class ThrowawayLedger : IThrowawayLedger, ILeaseKeeper
{
    private readonly IThrowawayResourceStore store;
    private readonly TimeProvider clock;
    private readonly ILogger<ThrowawayLedger> logger;
    private readonly Lock registration = new();
    private Task? registered;

    public ThrowawayLedger(IThrowawayResourceStore store, IOptions<RuntimeOptions> runtime, TimeProvider clock, ILogger<ThrowawayLedger> logger)
    {
        this.store = store;
        this.clock = clock;
        this.logger = logger;
        Holder = new ThrowawayHolder(Guid.NewGuid().ToString("N"), runtime.Value.NodeId, Environment.MachineName, ThrowawayProcesses.PidNamespace,
            Environment.ProcessId, clock.GetUtcNow(), clock.GetUtcNow());
    }

    /// <summary>This process's entry (its id is written on every row it records).</summary>
    public ThrowawayHolder Holder { get; private set; }

    public async Task<ThrowawayLease> RecordAsync(ThrowawaySpec resource, Func<CancellationToken, Task>? remove, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        await EnsureRegisteredAsync(cancellationToken);
        var owner = ActivityAttempt.Current;
        var row = NewRow(resource, owner, Holder.Id, Holder.NodeId, clock.GetUtcNow());
        await store.RecordAsync(row, cancellationToken);
        if (logger.IsEnabled(LogLevel.Debug))
        {
            var owning = owner?.ToString() ?? "this process";
            Log.Recorded(logger, row.Kind, row.Name, row.Location ?? row.Host ?? "-", owning);
        }
        return new ThrowawayLease(row, remove, this);
    }

    public async Task<ThrowawayLease> CreateDirectoryAsync(string path, string? description, CancellationToken cancellationToken)
    {
        var lease = await RecordAsync(ThrowawaySpec.Directory(path, description), ct => ThrowawayFiles.DeleteDirectoryAsync(path), cancellationToken);
        try
        {
            ThrowawayFiles.CreatePrivateDirectory(path);
        }
        catch
        {
            await lease.DisposeAsync();
            throw;
        }

        return lease;
    }

    /// <summary>The ledger row of <paramref name="resource"/>, owned by <paramref name="owner"/> (or only by the holder).</summary>
    internal static ThrowawayResource NewRow(ThrowawaySpec resource, ActivityAttempt? owner, string holderId, string nodeId, DateTimeOffset at) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        Kind = resource.Kind,
        Name = resource.Name,
        Location = resource.Location,
        Host = resource.Host,
        Description = resource.Description,
        InstanceId = owner?.InstanceId,
        ExecutionId = owner?.ExecutionId,
        ActivityId = owner?.ActivityId,
        ActivityType = owner?.ActivityType,
        Attempt = owner?.Attempt,
        HolderId = holderId,
        NodeId = nodeId,
        RecordedAt = at,
    };

    /// <summary>Renews this process's entry (the janitor service calls it while the process runs).</summary>
    public async Task HeartbeatAsync(CancellationToken cancellationToken)
    {
        Holder = Holder with { SeenAt = clock.GetUtcNow() };
        await store.HeartbeatAsync(Holder, cancellationToken);
    }

    async Task ILeaseKeeper.ReleasedAsync(ThrowawayResource resource, CancellationToken cancellationToken)
    {
        try
        {
            await store.EndAsync(resource.Id, ThrowawayState.Released, clock.GetUtcNow(), $"its step (node {Holder.NodeId})", null, cancellationToken);
            Log.Released(logger, resource.Kind, resource.Name);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // It is gone; the janitor closes the row once its step has ended (removing it again is a no-op).
            Log.ReleaseNotRecorded(logger, resource.Kind, resource.Name, e.Message);
        }
    }

    async Task ILeaseKeeper.RemovalFailedAsync(ThrowawayResource resource, Exception error, CancellationToken cancellationToken)
    {
        Log.RemovalFailed(logger, resource.Kind, resource.Name, resource.Location ?? resource.Host ?? "-", error.Message);
        try
        {
            await store.RecordFailureAsync(resource.Id, error.Message, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.ReleaseNotRecorded(logger, resource.Kind, resource.Name, e.Message);
        }
    }

    private Task EnsureRegisteredAsync(CancellationToken cancellationToken)
    {
        lock (registration)
        {
            if (registered is { IsFaulted: false, IsCanceled: false })
                return registered;
            registered = HeartbeatAsync(cancellationToken);
            return registered;
        }
    }
}

/// <summary>
/// Used where no store is registered (a service built by hand in a test or tool): it creates and removes exactly
/// like the ledger but records nothing, so nothing is left to a janitor.
/// </summary>
public sealed class UntrackedThrowawayLedger : IThrowawayLedger
{
    public static UntrackedThrowawayLedger Instance { get; } = new();

    public Task<ThrowawayLease> RecordAsync(ThrowawaySpec resource, Func<CancellationToken, Task>? remove, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var row = ThrowawayLedger.NewRow(resource, ActivityAttempt.Current, "untracked", "untracked", TimeProvider.System.GetUtcNow());
        return Task.FromResult(new ThrowawayLease(row, remove, null));
    }

    public async Task<ThrowawayLease> CreateDirectoryAsync(string path, string? description, CancellationToken cancellationToken)
    {
        var lease = await RecordAsync(ThrowawaySpec.Directory(path, description), _ => ThrowawayFiles.DeleteDirectoryAsync(path), cancellationToken);
        ThrowawayFiles.CreatePrivateDirectory(path);
        return lease;
    }
}
