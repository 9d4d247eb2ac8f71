namespace DrWorkflows.Core.Persistence;

/// <summary>The throwaway-resource ledger of the in-memory store (the reference for the durable stores).</summary>
public sealed partial class InMemoryStore
{
    private readonly Dictionary<string, ThrowawayResource> throwaways = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ThrowawayHolder> holders = new(StringComparer.Ordinal);

    public Task RecordAsync(ThrowawayResource resource, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        lock (gate)
        {
            if (!throwaways.TryAdd(resource.Id, resource with { RecordedAt = Ms(resource.RecordedAt), EndedAt = Ms(resource.EndedAt), ClaimedUntil = Ms(resource.ClaimedUntil) }))
                throw new InvalidOperationException($"Throwaway resource '{resource.Id}' is already recorded.");
        }

        return Task.CompletedTask;
    }

    public Task<ThrowawayResource?> FindAsync(string id, CancellationToken cancellationToken)
    {
        lock (gate)
            return Task.FromResult(throwaways.GetValueOrDefault(id));
    }

    public Task<IReadOnlyList<ThrowawayResource>> ListAsync(ThrowawayQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        lock (gate)
        {
            IReadOnlyList<ThrowawayResource> list = [.. throwaways.Values
                .Where(r => query.InstanceId is null || r.InstanceId == query.InstanceId)
                .Where(r => query.State is null || r.State == query.State)
                .Where(r => query.Journaled is null || r.Journaled == query.Journaled)
                .OrderByDescending(r => r.RecordedAt).ThenByDescending(r => r.Id, StringComparer.Ordinal)
                .Take(Math.Max(0, query.Take))];
            return Task.FromResult(list);
        }
    }

    public Task<bool> TryClaimAsync(string id, string claimant, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            if (!throwaways.TryGetValue(id, out var r) || r.State != ThrowawayState.Live || (r.ClaimedUntil is { } held && held > now && r.ClaimedBy != claimant))
                return Task.FromResult(false);
            throwaways[id] = r with { ClaimedBy = claimant, ClaimedUntil = Ms(until) };
            return Task.FromResult(true);
        }
    }

    public Task<bool> EndAsync(string id, ThrowawayState state, DateTimeOffset at, string endedBy, string? reason, CancellationToken cancellationToken)
    {
        if (state == ThrowawayState.Live)
            throw new ArgumentException("A resource ends Released or Removed.", nameof(state));
        lock (gate)
        {
            if (!throwaways.TryGetValue(id, out var r) || r.State != ThrowawayState.Live)
                return Task.FromResult(false);
            throwaways[id] = r with { State = state, EndedAt = Ms(at), EndedBy = endedBy, Reason = reason, ClaimedBy = null, ClaimedUntil = null };
            return Task.FromResult(true);
        }
    }

    public Task RecordFailureAsync(string id, string error, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            if (throwaways.TryGetValue(id, out var r) && r.State == ThrowawayState.Live)
                throwaways[id] = r with { LastError = error, FailedRemovals = r.FailedRemovals + 1, ClaimedBy = null, ClaimedUntil = null };
        }

        return Task.CompletedTask;
    }

    public Task SetJournaledAsync(string id, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            if (throwaways.TryGetValue(id, out var r))
                throwaways[id] = r with { Journaled = true };
        }

        return Task.CompletedTask;
    }

    public Task<int> PurgeAsync(DateTimeOffset endedBefore, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            var ids = throwaways.Values.Where(r => r.State != ThrowawayState.Live && r.EndedAt < endedBefore).Select(r => r.Id).ToList();
            ids.ForEach(id => throwaways.Remove(id));
            return Task.FromResult(ids.Count);
        }
    }

    public Task HeartbeatAsync(ThrowawayHolder holder, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(holder);
        lock (gate)
        {
            holders[holder.Id] = holders.TryGetValue(holder.Id, out var known)
                ? known with { SeenAt = Ms(holder.SeenAt) }
                : holder with { StartedAt = Ms(holder.StartedAt), SeenAt = Ms(holder.SeenAt) };
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<ThrowawayHolder>> ListHoldersAsync(CancellationToken cancellationToken)
    {
        lock (gate)
        {
            IReadOnlyList<ThrowawayHolder> list = [.. holders.Values.OrderBy(h => h.StartedAt).ThenBy(h => h.Id, StringComparer.Ordinal)];
            return Task.FromResult(list);
        }
    }

    public Task<int> DeleteHoldersAsync(IReadOnlyCollection<string> holderIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(holderIds);
        lock (gate)
            return Task.FromResult(holderIds.Distinct(StringComparer.Ordinal).Count(holders.Remove));
    }

    private static DateTimeOffset Ms(DateTimeOffset value) =>
        new(value.UtcTicks - (value.UtcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);

    private static DateTimeOffset? Ms(DateTimeOffset? value) => value is { } v ? Ms(v) : null;
}
