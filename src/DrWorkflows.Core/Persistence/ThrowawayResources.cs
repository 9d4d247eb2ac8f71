namespace DrWorkflows.Core.Persistence;

/// <summary>Where a throwaway resource is in its life.</summary>
public enum ThrowawayState
{
    /// <summary>Recorded (before it was created) and not removed yet: in use by its step, or left behind.</summary>
    Live,

    /// <summary>Removed by the step that created it, as planned.</summary>
    Released,

    /// <summary>Removed by the janitor because its owner ended, failed or was interrupted.</summary>
    Removed,
}

/// <summary>
/// One throwaway resource in the ledger (a database, container, network, volume, temporary directory or file that
/// exists only for one step): what it is, where, and the run, step, attempt and process that own it. It is recorded
/// <b>before</b> it is created, so a crash at any moment leaves a row that names it.
/// </summary>
public sealed record ThrowawayResource
{
    public required string Id { get; init; }

    /// <summary>The kind (e.g. <c>postgres-database</c>, <c>docker-container</c>, <c>directory</c>); a remover exists per kind.</summary>
    public required string Kind { get; init; }

    /// <summary>Database name, container/network/volume name, or absolute path.</summary>
    public required string Name { get; init; }

    /// <summary>Where it lives: the PostgreSQL server's name, the Docker engine's endpoint; null for files.</summary>
    public string? Location { get; init; }

    /// <summary>The host it must be removed from (files, local Docker sockets); null when any node can reach it.</summary>
    public string? Host { get; init; }

    /// <summary>What it is for, for people (never a secret).</summary>
    public string? Description { get; init; }

    public string? InstanceId { get; init; }

    /// <summary>The owning step (activity execution id); null when no activity attempt created it.</summary>
    public string? ExecutionId { get; init; }

    public string? ActivityId { get; init; }

    public string? ActivityType { get; init; }

    /// <summary>The owning attempt of the step.</summary>
    public int? Attempt { get; init; }

    /// <summary>The process that recorded it (a <see cref="ThrowawayHolder"/>).</summary>
    public required string HolderId { get; init; }

    /// <summary>The orchestrator node (NodeId) of that process.</summary>
    public required string NodeId { get; init; }

    public required DateTimeOffset RecordedAt { get; init; }

    public ThrowawayState State { get; init; } = ThrowawayState.Live;

    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>Who removed it: the owning step (<c>step</c>) or the janitor (<c>janitor on node …</c>).</summary>
    public string? EndedBy { get; init; }

    /// <summary>Why the janitor removed it (its owner ended, failed, was interrupted).</summary>
    public string? Reason { get; init; }

    /// <summary>The last failed removal, if any.</summary>
    public string? LastError { get; init; }

    public int FailedRemovals { get; init; }

    /// <summary>The janitor that is removing it now, and until when its claim holds.</summary>
    public string? ClaimedBy { get; init; }

    public DateTimeOffset? ClaimedUntil { get; init; }

    /// <summary>The janitor's removal was written to the owning run's journal.</summary>
    public bool Journaled { get; init; }
}

/// <summary>
/// A process that records throwaway resources: its node, host and process identity, and when it was last seen
/// alive (it renews this while it runs). A resource whose process is gone has no live attempt.
/// </summary>
/// <param name="Id">Unique per process start.</param>
/// <param name="NodeId">The orchestrator node id of the process.</param>
/// <param name="Host">The machine (host) name.</param>
/// <param name="PidNamespace">The process id namespace on Linux (processes are comparable by id only within one).</param>
/// <param name="Pid">The operating system process id.</param>
/// <param name="StartedAt">When the process started.</param>
/// <param name="SeenAt">When it last renewed its entry.</param>
public sealed record ThrowawayHolder(string Id, string NodeId, string Host, string? PidNamespace, int Pid, DateTimeOffset StartedAt, DateTimeOffset SeenAt);

/// <summary>Which ledger rows to list (newest first, at most <see cref="Take"/>).</summary>
public sealed record ThrowawayQuery(string? InstanceId = null, ThrowawayState? State = null, bool? Journaled = null, int Take = 500);

/// <summary>
/// The ledger of throwaway resources, in the orchestrator's store (shared by every node on the PostgreSQL store).
/// Rows are never deleted while live; ended ones are purged after a retention period.
/// </summary>
public interface IThrowawayResourceStore
{
    /// <summary>Inserts a new live resource (before the resource itself is created).</summary>
    Task RecordAsync(ThrowawayResource resource, CancellationToken cancellationToken);

    Task<ThrowawayResource?> FindAsync(string id, CancellationToken cancellationToken);

    /// <summary>Rows matching the query, newest first.</summary>
    Task<IReadOnlyList<ThrowawayResource>> ListAsync(ThrowawayQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// Claims a live resource for removal until <paramref name="until"/>; false when it is not live or another
    /// claimant holds an unexpired claim (so two janitors never remove the same resource at once).
    /// </summary>
    Task<bool> TryClaimAsync(string id, string claimant, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken);

    /// <summary>Marks a live resource removed (<see cref="ThrowawayState.Released"/> or <see cref="ThrowawayState.Removed"/>); false when it was not live.</summary>
    Task<bool> EndAsync(string id, ThrowawayState state, DateTimeOffset at, string endedBy, string? reason, CancellationToken cancellationToken);

    /// <summary>Records a failed removal (it stays live, unclaimed, for the next try).</summary>
    Task RecordFailureAsync(string id, string error, CancellationToken cancellationToken);

    /// <summary>Marks that the janitor's removal is in the owning run's journal.</summary>
    Task SetJournaledAsync(string id, CancellationToken cancellationToken);

    /// <summary>Deletes ended rows that ended before <paramref name="endedBefore"/>; returns how many.</summary>
    Task<int> PurgeAsync(DateTimeOffset endedBefore, CancellationToken cancellationToken);

    /// <summary>Inserts or renews a process's entry.</summary>
    Task HeartbeatAsync(ThrowawayHolder holder, CancellationToken cancellationToken);

    Task<IReadOnlyList<ThrowawayHolder>> ListHoldersAsync(CancellationToken cancellationToken);

    /// <summary>Deletes the entries of processes that are gone and own nothing live any more.</summary>
    Task<int> DeleteHoldersAsync(IReadOnlyCollection<string> holderIds, CancellationToken cancellationToken);
}
