using DrWorkflows.Core.Persistence;
using DrWorkflows.Persistence.Internal;

namespace DrWorkflows.Persistence.Sqlite;

/// <summary>The throwaway-resource ledger on SQLite (tables of migration 0002).</summary>
internal sealed partial class SqliteStore
{
    private const string ThrowawayColumns = RowReaders.ThrowawayColumns;

    public Task RecordAsync(ThrowawayResource resource, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var r = resource;
        return WriteAsync(
            w => w.Execute(
                "INSERT INTO throwaway_resources (" + ThrowawayColumns + ") VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, @p10, @p11, @p12, "
                + "@p13, @p14, @p15, @p16, @p17, @p18, @p19, @p20, @p21, @p22)",
                r.Id, r.Kind, r.Name, r.Location, r.Host, r.Description, r.InstanceId, r.ExecutionId, r.ActivityId, r.ActivityType, r.Attempt,
                r.HolderId, r.NodeId, Times.ToUnixMs(r.RecordedAt), r.State.ToString(), Times.ToUnixMs(r.EndedAt), r.EndedBy, r.Reason, r.LastError,
                r.FailedRemovals, r.ClaimedBy, Times.ToUnixMs(r.ClaimedUntil), r.Journaled),
            cancellationToken);
    }

    public Task<ThrowawayResource?> FindAsync(string id, CancellationToken cancellationToken) =>
        ReadAsync(
            c =>
            {
                using var reader = c.Get("SELECT " + ThrowawayColumns + " FROM throwaway_resources WHERE id = @p0", id).ExecuteReader();
                return reader.Read() ? RowReaders.Throwaway(reader, UnixMs) : null;
            },
            cancellationToken);

    public Task<IReadOnlyList<ThrowawayResource>> ListAsync(ThrowawayQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        return ReadAsync<IReadOnlyList<ThrowawayResource>>(
            c =>
            {
                var p = new Parameters();
                var where = SqlFilter.Throwaways(query, p);
                var sql = "SELECT " + ThrowawayColumns + " FROM throwaway_resources" + where + $" ORDER BY recorded_at DESC, id DESC LIMIT {p.Add(Math.Max(0, query.Take))}";
                using var reader = c.Get(sql, p.Span).ExecuteReader();
                var list = new List<ThrowawayResource>();
                while (reader.Read())
                    list.Add(RowReaders.Throwaway(reader, UnixMs));
                return list;
            },
            cancellationToken);
    }

    public Task<bool> TryClaimAsync(string id, string claimant, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken) =>
        WriteAsync(
            w => w.Execute(
                "UPDATE throwaway_resources SET claimed_by = @p1, claimed_until = @p3 WHERE id = @p0 AND state = 'Live' "
                + "AND (claimed_until IS NULL OR claimed_until <= @p2 OR claimed_by = @p1)",
                id, claimant, Times.ToUnixMs(now), Times.ToUnixMs(until)) == 1,
            cancellationToken);

    public Task<bool> EndAsync(string id, ThrowawayState state, DateTimeOffset at, string endedBy, string? reason, CancellationToken cancellationToken)
    {
        if (state == ThrowawayState.Live)
            throw new ArgumentException("A resource ends Released or Removed.", nameof(state));
        return WriteAsync(
            w => w.Execute(
                "UPDATE throwaway_resources SET state = @p1, ended_at = @p2, ended_by = @p3, reason = @p4, claimed_by = NULL, claimed_until = NULL "
                + "WHERE id = @p0 AND state = 'Live'",
                id, state.ToString(), Times.ToUnixMs(at), endedBy, reason) == 1,
            cancellationToken);
    }

    public Task RecordFailureAsync(string id, string error, CancellationToken cancellationToken) =>
        WriteAsync(
            w => w.Execute(
                "UPDATE throwaway_resources SET last_error = @p1, failed_removals = failed_removals + 1, claimed_by = NULL, claimed_until = NULL "
                + "WHERE id = @p0 AND state = 'Live'",
                id, error),
            cancellationToken);

    public Task SetJournaledAsync(string id, CancellationToken cancellationToken) =>
        WriteAsync(w => w.Execute("UPDATE throwaway_resources SET journaled = 1 WHERE id = @p0", id), cancellationToken);

    public Task<int> PurgeAsync(DateTimeOffset endedBefore, CancellationToken cancellationToken) =>
        WriteAsync(
            w => w.Execute("DELETE FROM throwaway_resources WHERE state <> 'Live' AND ended_at < @p0", Times.ToUnixMs(endedBefore)),
            cancellationToken);

    public Task HeartbeatAsync(ThrowawayHolder holder, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(holder);
        return WriteAsync(
            w => w.Execute(
                "INSERT INTO throwaway_holders (" + RowReaders.HolderColumns + ") VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6) "
                + "ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
                holder.Id, holder.NodeId, holder.Host, holder.PidNamespace, holder.Pid, Times.ToUnixMs(holder.StartedAt), Times.ToUnixMs(holder.SeenAt)),
            cancellationToken);
    }

    public Task<IReadOnlyList<ThrowawayHolder>> ListHoldersAsync(CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<ThrowawayHolder>>(
            c =>
            {
                using var reader = c.Get("SELECT " + RowReaders.HolderColumns + " FROM throwaway_holders ORDER BY started_at, id").ExecuteReader();
                var list = new List<ThrowawayHolder>();
                while (reader.Read())
                    list.Add(RowReaders.Holder(reader, UnixMs));
                return list;
            },
            cancellationToken);

    public Task<int> DeleteHoldersAsync(IReadOnlyCollection<string> holderIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(holderIds);
        var ids = holderIds.Distinct(StringComparer.Ordinal).ToList();
        if (ids.Count == 0)
            return Task.FromResult(0);
        return WriteAsync(w => ids.Sum(id => w.Execute("DELETE FROM throwaway_holders WHERE id = @p0", id)), cancellationToken);
    }
}
