using DrWorkflows.Core.Persistence;
using DrWorkflows.Persistence.Internal;

namespace DrWorkflows.Persistence.Postgres;

/// <summary>The throwaway-resource ledger on PostgreSQL (tables of migration 0002), shared by every node.</summary>
internal sealed partial class PostgresStore
{
    private const string ThrowawayColumns = RowReaders.ThrowawayColumns;

    public async Task RecordAsync(ThrowawayResource resource, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var r = resource;
        await NonQueryAsync(
            "INSERT INTO throwaway_resources (" + ThrowawayColumns + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
            + "$16, $17, $18, $19, $20, $21, $22, $23)",
            [Text(r.Id), Text(r.Kind), Text(r.Name), Text(r.Location), Text(r.Host), Text(r.Description), Text(r.InstanceId), Text(r.ExecutionId),
             Text(r.ActivityId), Text(r.ActivityType), NullableInt(r.Attempt), Text(r.HolderId), Text(r.NodeId), Time(r.RecordedAt), Text(r.State.ToString()),
             Time(r.EndedAt), Text(r.EndedBy), Text(r.Reason), Text(r.LastError), Int(r.FailedRemovals), Text(r.ClaimedBy), Time(r.ClaimedUntil), Bool(r.Journaled)],
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<ThrowawayResource?> FindAsync(string id, CancellationToken cancellationToken)
    {
        var list = await QueryAsync("SELECT " + ThrowawayColumns + " FROM throwaway_resources WHERE id = $1", [Text(id)], ReadThrowaway, cancellationToken)
            .ConfigureAwait(false);
        return list.Count > 0 ? list[0] : null;
    }

    public async Task<IReadOnlyList<ThrowawayResource>> ListAsync(ThrowawayQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var p = new Parameters();
        var where = SqlFilter.Throwaways(query, p);
        var sql = "SELECT " + ThrowawayColumns + " FROM throwaway_resources" + where + $" ORDER BY recorded_at DESC, id DESC LIMIT {p.Add(Math.Max(0, query.Take))}";
        return await QueryAsync(sql, p.Items, ReadThrowaway, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> TryClaimAsync(string id, string claimant, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken) =>
        await NonQueryAsync(
            "UPDATE throwaway_resources SET claimed_by = $2, claimed_until = $4 WHERE id = $1 AND state = 'Live' "
            + "AND (claimed_until IS NULL OR claimed_until <= $3 OR claimed_by = $2)",
            [Text(id), Text(claimant), Time(now), Time(until)],
            cancellationToken).ConfigureAwait(false) == 1;

    public async Task<bool> EndAsync(string id, ThrowawayState state, DateTimeOffset at, string endedBy, string? reason, CancellationToken cancellationToken)
    {
        if (state == ThrowawayState.Live)
            throw new ArgumentException("A resource ends Released or Removed.", nameof(state));
        return await NonQueryAsync(
            "UPDATE throwaway_resources SET state = $2, ended_at = $3, ended_by = $4, reason = $5, claimed_by = NULL, claimed_until = NULL "
            + "WHERE id = $1 AND state = 'Live'",
            [Text(id), Text(state.ToString()), Time(at), Text(endedBy), Text(reason)],
            cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task RecordFailureAsync(string id, string error, CancellationToken cancellationToken) =>
        await NonQueryAsync(
            "UPDATE throwaway_resources SET last_error = $2, failed_removals = failed_removals + 1, claimed_by = NULL, claimed_until = NULL "
            + "WHERE id = $1 AND state = 'Live'",
            [Text(id), Text(error)],
            cancellationToken).ConfigureAwait(false);

    public async Task SetJournaledAsync(string id, CancellationToken cancellationToken) =>
        await NonQueryAsync("UPDATE throwaway_resources SET journaled = true WHERE id = $1", [Text(id)], cancellationToken).ConfigureAwait(false);

    public async Task<int> PurgeAsync(DateTimeOffset endedBefore, CancellationToken cancellationToken) =>
        await NonQueryAsync("DELETE FROM throwaway_resources WHERE state <> 'Live' AND ended_at < $1", [Time(endedBefore)], cancellationToken).ConfigureAwait(false);

    public async Task HeartbeatAsync(ThrowawayHolder holder, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(holder);
        await NonQueryAsync(
            "INSERT INTO throwaway_holders (" + RowReaders.HolderColumns + ") VALUES ($1, $2, $3, $4, $5, $6, $7) "
            + "ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
            [Text(holder.Id), Text(holder.NodeId), Text(holder.Host), Text(holder.PidNamespace), Int(holder.Pid), Time(holder.StartedAt), Time(holder.SeenAt)],
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ThrowawayHolder>> ListHoldersAsync(CancellationToken cancellationToken) =>
        await QueryAsync("SELECT " + RowReaders.HolderColumns + " FROM throwaway_holders ORDER BY started_at, id", [], r => RowReaders.Holder(r, Timestamp), cancellationToken)
            .ConfigureAwait(false);

    public async Task<int> DeleteHoldersAsync(IReadOnlyCollection<string> holderIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(holderIds);
        var ids = holderIds.Distinct(StringComparer.Ordinal).ToArray();
        if (ids.Length == 0)
            return 0;
        return await NonQueryAsync("DELETE FROM throwaway_holders WHERE id = ANY($1)", [TextArray(ids)], cancellationToken).ConfigureAwait(false);
    }

    private static ThrowawayResource ReadThrowaway(Npgsql.NpgsqlDataReader r) => RowReaders.Throwaway(r, Timestamp);

    private static Npgsql.NpgsqlParameter NullableInt(int? value) =>
        new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer };
}
