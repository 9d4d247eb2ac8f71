using System.Diagnostics;
using System.Globalization;
using System.Text;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Persistence.Internal;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace DrWorkflows.Persistence.Postgres;

/// <summary>
/// The store for several nodes: PostgreSQL, in a schema of its own. Every write is one round trip: its statements
/// travel in one <see cref="NpgsqlBatch"/>, which PostgreSQL runs as one implicit transaction.
/// </summary>
internal sealed partial class PostgresStore : IWorkflowDefinitionStore, IWorkflowInstanceStore, IScheduleStore, IThrowawayResourceStore, IStoreInitializer, IAsyncDisposable, IDisposable
{
    private const string DefinitionColumns = RowReaders.DefinitionColumns;
    private const string BookmarkColumns = RowReaders.BookmarkColumns;
    private const string SummaryColumns = RowReaders.SummaryColumns;

    private const string ConcurrencySqlState = "DWREV";

    /// <summary>The partial unique index of migration 0003: one running run per definition and platform.</summary>
    private const string RunningPlatformIndex = "ux_instances_running_platform";

    private readonly ILogger logger;
    private readonly TimeProvider time;
    private readonly NpgsqlDataSource dataSource;
    private readonly NpgsqlConnectionStringBuilder target;
    private readonly string schema;
    private readonly StoreStartup startup;

    public PostgresStore(PostgresStoreOptions options, ILogger logger, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.logger = logger;
        this.time = time;
        schema = options.Schema;
        var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString) { SearchPath = schema };
        if (builder.MaxAutoPrepare == 0)
            builder.MaxAutoPrepare = 64; // Statements repeat constantly: let Npgsql prepare them on each connection.
        if (string.IsNullOrEmpty(builder.ApplicationName))
            builder.ApplicationName = "DrWorkflows";
        target = new NpgsqlConnectionStringBuilder { Host = builder.Host, Port = builder.Port, Database = builder.Database, Username = builder.Username, Timeout = builder.Timeout };
        dataSource = new NpgsqlDataSourceBuilder(builder.ConnectionString).Build();
        startup = new StoreStartup("PostgreSQL", logger, async ct => (await MigrateAsync(ct).ConfigureAwait(false), Location));
    }

    /// <summary>Where the store lives, for messages (no password).</summary>
    public string Location => $"{target.Host}:{target.Port}/{target.Database} schema {schema}";

    // ---- start-up ------------------------------------------------------------------------------------------------

    public Task InitializeAsync(CancellationToken cancellationToken) => startup.EnsureAsync(cancellationToken);

    public ValueTask DisposeAsync()
    {
        startup.Dispose();
        return dataSource.DisposeAsync();
    }

    public void Dispose()
    {
        startup.Dispose();
        dataSource.Dispose();
    }

    private async Task<int> MigrateAsync(CancellationToken cancellationToken)
    {
        var migrations = Migration.Load("Postgres");
        var known = migrations.Count;
        await using var connection = await OpenAsync(cancellationToken, initializing: true).ConfigureAwait(false);
        var lockKey = LockKey(schema);
        await AcquireMigrationLockAsync(connection, lockKey, cancellationToken).ConfigureAwait(false);
        try
        {
            var quoted = "\"" + schema + "\"";
            await ExecuteAsync(
                connection,
                $"CREATE SCHEMA IF NOT EXISTS {quoted}; SET search_path TO {quoted}; "
                + "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)",
                cancellationToken).ConfigureAwait(false);
            var current = await CurrentVersionAsync(connection, cancellationToken).ConfigureAwait(false);
            if (current > known)
                throw Migration.TooNew("PostgreSQL", Location, current, known);

            foreach (var migration in migrations.Where(m => m.Version > current))
            {
                var started = Stopwatch.GetTimestamp();
                await using (var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
                {
                    await using (var command = new NpgsqlCommand(migration.Sql, connection, transaction))
                        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    await using (var record = new NpgsqlCommand("INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)", connection, transaction))
                    {
                        record.Parameters.Add(Int(migration.Version));
                        record.Parameters.Add(Text(migration.Name));
                        record.Parameters.Add(Time(time.GetUtcNow()));
                        await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    }

                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                }

                var elapsedMs = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                Log.MigrationApplied(logger, "PostgreSQL", migration.Version, migration.Name, elapsedMs);
            }

            return Math.Max(current, known);
        }
        catch (PostgresException e) when (e.SqlState is "42501" or "25006")
        {
            throw PostgresErrors.Describe(e, target, schema);
        }
        finally
        {
            try
            {
                await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", connection);
                unlock.Parameters.Add(Long(lockKey));
                await unlock.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (NpgsqlException)
            {
                // The connection is broken; PostgreSQL releases session locks when the session ends.
            }
        }
    }

    /// <summary>
    /// A session advisory lock per schema, so that nodes starting together migrate one at a time; the others wait,
    /// then find the schema current.
    /// </summary>
    private async Task AcquireMigrationLockAsync(NpgsqlConnection connection, long key, CancellationToken cancellationToken)
    {
        var logged = false;
        while (true)
        {
            await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock($1)", connection);
            command.Parameters.Add(Long(key));
            if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true)
                return;
            if (!logged)
            {
                Log.WaitingForMigrationLock(logger, schema);
                logged = true;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), time, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<int> CurrentVersionAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT COALESCE(MAX(version), 0) FROM schema_version", connection);
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }

    /// <summary>A stable 64-bit key for the schema (FNV-1a), so two stores in different schemas do not wait for each other.</summary>
    private static long LockKey(string schemaName)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes("DrWorkflows.Migrations/" + schemaName))
        {
            hash ^= b;
            hash *= 1099511628211UL;
        }

        return unchecked((long)hash);
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken, bool initializing = false)
    {
        if (!initializing)
            await startup.EnsureAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            throw PostgresErrors.Describe(e, target, schema);
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    // ---- definitions ---------------------------------------------------------------------------------------------

    public async Task SaveAsync(IReadOnlyCollection<StoredWorkflowDefinition> versions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(versions);
        if (versions.Count == 0)
            return;
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection);
        foreach (var d in versions)
        {
            batch.BatchCommands.Add(Command(
                "INSERT INTO definitions (" + DefinitionColumns + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
                + "ON CONFLICT (id) DO UPDATE SET definition_id = excluded.definition_id, version = excluded.version, name = excluded.name, "
                + "description = excluded.description, is_latest = excluded.is_latest, is_published = excluded.is_published, "
                + "is_readonly = excluded.is_readonly, usable_as_activity = excluded.usable_as_activity, origin = excluded.origin, "
                + "created_at = excluded.created_at, json = excluded.json, source_commit = excluded.source_commit",
                Text(d.Id), Text(d.DefinitionId), Int(d.Version), Text(d.Name), Text(d.Description), Bool(d.IsLatest), Bool(d.IsPublished),
                Bool(d.IsReadonly), Bool(d.UsableAsActivity), Text(d.Origin), Time(d.CreatedAt), Text(d.Json), Text(d.SourceCommit)));
        }

        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<StoredWorkflowDefinition?> FindByIdAsync(string id, CancellationToken cancellationToken)
    {
        var list = await QueryAsync("SELECT " + DefinitionColumns + " FROM definitions WHERE id = $1", [Text(id)], ReadDefinition, cancellationToken)
            .ConfigureAwait(false);
        return list.Count > 0 ? list[0] : null;
    }

    public async Task<StoredWorkflowDefinition?> FindAsync(string definitionId, VersionOptions versions, CancellationToken cancellationToken)
    {
        var p = new Parameters();
        var where = "definition_id = " + p.Add(definitionId);
        if (SqlFilter.Versions(versions, p) is { } condition)
            where += " AND " + condition;
        var list = await QueryAsync(
            "SELECT " + DefinitionColumns + " FROM definitions WHERE " + where + " ORDER BY version DESC, id LIMIT 1", p.Items, ReadDefinition, cancellationToken)
            .ConfigureAwait(false);
        return list.Count > 0 ? list[0] : null;
    }

    public async Task<IReadOnlyList<StoredWorkflowDefinition>> ListVersionsAsync(string definitionId, CancellationToken cancellationToken) =>
        await QueryAsync(
            "SELECT " + DefinitionColumns + " FROM definitions WHERE definition_id = $1 ORDER BY version, id", [Text(definitionId)], ReadDefinition, cancellationToken)
            .ConfigureAwait(false);

    public Task<PagedResult<StoredWorkflowDefinition>> ListAsync(DefinitionQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var p = new Parameters();
        if (SqlFilter.Definitions(query, p) is not { } where)
            return Task.FromResult(new PagedResult<StoredWorkflowDefinition>([], 0));
        return PageAsync(
            "definitions" + where,
            "SELECT " + DefinitionColumns + " FROM definitions" + where + " ORDER BY upper(name) COLLATE \"C\" NULLS FIRST, definition_id, version, id",
            p,
            query.Skip,
            query.Take,
            ReadDefinition,
            cancellationToken);
    }

    public async Task<int> DeleteAsync(string definitionId, CancellationToken cancellationToken) =>
        await NonQueryAsync("DELETE FROM definitions WHERE definition_id = $1", [Text(definitionId)], cancellationToken).ConfigureAwait(false);

    public async Task<bool> DeleteVersionAsync(string id, CancellationToken cancellationToken) =>
        await NonQueryAsync("DELETE FROM definitions WHERE id = $1", [Text(id)], cancellationToken).ConfigureAwait(false) > 0;

    private static StoredWorkflowDefinition ReadDefinition(NpgsqlDataReader r) => RowReaders.Definition(r, Timestamp);

    private static DateTimeOffset Timestamp(System.Data.Common.DbDataReader r, int ordinal) => r.GetFieldValue<DateTimeOffset>(ordinal);

    // ---- instances -----------------------------------------------------------------------------------------------

    /// <summary>
    /// Inserts the run in one batch. The partial unique index <c>ux_instances_running_platform</c> decides between two
    /// nodes creating a run of the same definition on the same platform at once: the second insert waits for the
    /// first transaction and fails, and the run that holds the platform is then looked up to be named.
    /// </summary>
    public async Task CreateAsync(WorkflowState state, IReadOnlyList<JournalEntry> journal, CancellationToken cancellationToken)
    {
        var write = InstanceWrite.ForCreate(state, journal);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        for (var attempt = 1; ; attempt++)
        {
            await using var batch = new NpgsqlBatch(connection);
            batch.BatchCommands.Add(Command(
                "INSERT INTO instances (id, definition_id, definition_version_id, version, name, correlation_id, parent_instance_id, status, "
                + "sub_status, incident_count, created_at, updated_at, finished_at, revision, state, platform) "
                + "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
                Text(write.Id), Text(write.DefinitionId), Text(write.DefinitionVersionId), Int(write.Version), Text(write.Name), Text(write.CorrelationId),
                Text(write.ParentInstanceId), Text(write.Status), Text(write.SubStatus), Int(write.IncidentCount), Time(write.CreatedAt),
                Time(write.UpdatedAt), Time(write.FinishedAt), Long(write.NewRevision), Text(write.StateJson), Text(write.Platform)));
            AddChildren(batch, write, replaceBookmarks: false);
            try
            {
                await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && e.ConstraintName is "instances_pkey" or RunningPlatformIndex)
            {
                if (write.Platform is { } platform && await RunningOnAsync(connection, write.DefinitionId, platform, cancellationToken).ConfigureAwait(false) is { } running)
                    throw new RunAlreadyRunningException(write.DefinitionId, platform, running);
                if (e.ConstraintName == "instances_pkey")
                    throw new InstanceExistsException(write.Id, e);

                // The run that held the platform ended between the failed insert and the look-up: the platform is free.
                if (attempt >= 3)
                    throw;
            }
        }

        state.Revision = write.NewRevision;
    }

    private static async Task<string?> RunningOnAsync(NpgsqlConnection connection, string definitionId, string platform, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT id FROM instances WHERE definition_id = $1 AND platform = $2 AND status = 'Running' LIMIT 1", connection);
        command.Parameters.Add(Text(definitionId));
        command.Parameters.Add(Text(platform));
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    public async Task CommitAsync(WorkflowState state, IReadOnlyList<JournalEntry> journal, CancellationToken cancellationToken)
    {
        var write = InstanceWrite.ForCommit(state, journal);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection);

        // The revision check raises DWREV when no row matched, which aborts the whole batch (one implicit transaction).
        batch.BatchCommands.Add(Command(
            "WITH updated AS (UPDATE instances SET definition_id = $3, definition_version_id = $4, version = $5, name = $6, correlation_id = $7, "
            + "parent_instance_id = $8, status = $9, sub_status = $10, incident_count = $11, created_at = $12, updated_at = $13, finished_at = $14, "
            + "revision = $15, state = $16 WHERE id = $1 AND revision = $2 RETURNING 1) "
            + "SELECT drw_expect_row((SELECT count(*) FROM updated), $1, $2)",
            Text(write.Id), Long(write.ExpectedRevision), Text(write.DefinitionId), Text(write.DefinitionVersionId), Int(write.Version), Text(write.Name),
            Text(write.CorrelationId), Text(write.ParentInstanceId), Text(write.Status), Text(write.SubStatus), Int(write.IncidentCount),
            Time(write.CreatedAt), Time(write.UpdatedAt), Time(write.FinishedAt), Long(write.NewRevision), Text(write.StateJson)));
        AddChildren(batch, write, replaceBookmarks: true);
        try
        {
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException e) when (e.SqlState == ConcurrencySqlState)
        {
            Log.CommitConflict(logger, write.Id, write.ExpectedRevision);
            throw new ConcurrencyException(write.Id, write.ExpectedRevision);
        }

        state.Revision = write.NewRevision;
    }

    private static void AddChildren(NpgsqlBatch batch, InstanceWrite write, bool replaceBookmarks)
    {
        if (replaceBookmarks)
            batch.BatchCommands.Add(Command("DELETE FROM bookmarks WHERE instance_id = $1", Text(write.Id)));
        foreach (var b in write.Bookmarks)
        {
            batch.BatchCommands.Add(Command(
                "INSERT INTO bookmarks (instance_id, position, id, execution_id, name, key, activity_type, node_id, resume_at, created_at, payload) "
                + "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                Text(write.Id), Int(b.Position), Text(b.Id), Text(b.ExecutionId), Text(b.Name), Text(b.Key), Text(b.ActivityType), Text(b.NodeId),
                Time(b.ResumeAt), Time(b.CreatedAt), Text(b.Payload)));
        }

        foreach (var j in write.Journal)
        {
            batch.BatchCommands.Add(Command(
                "INSERT INTO journal (instance_id, sequence, timestamp, event_name, execution_id, node_id, activity_type, actor, entry) "
                + "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                Text(write.Id), Long(j.Sequence), Time(j.Timestamp), Text(j.EventName), Text(j.ExecutionId), Text(j.NodeId), Text(j.ActivityType),
                Text(j.Actor), Text(j.Entry)));
        }
    }

    public async Task<WorkflowState?> GetAsync(string instanceId, CancellationToken cancellationToken)
    {
        var list = await QueryAsync(
            "SELECT state, revision FROM instances WHERE id = $1", [Text(instanceId)], r => Rows.DeserializeState(r.GetString(0), r.GetInt64(1)), cancellationToken)
            .ConfigureAwait(false);
        return list.Count > 0 ? list[0] : null;
    }

    public Task<PagedResult<WorkflowInstanceSummary>> ListAsync(InstanceQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var p = new Parameters();
        if (SqlFilter.Instances(query, p) is not { } where)
            return Task.FromResult(new PagedResult<WorkflowInstanceSummary>([], 0));
        return PageAsync(
            "instances" + where,
            "SELECT " + SummaryColumns + " FROM instances" + where + " ORDER BY created_at DESC, id DESC",
            p,
            query.Skip,
            query.Take,
            r => RowReaders.Summary(r, Timestamp),
            cancellationToken);
    }

    public async Task<int> DeleteAsync(IReadOnlyCollection<string> instanceIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(instanceIds);
        var ids = instanceIds.Distinct(StringComparer.Ordinal).ToArray();
        if (ids.Length == 0)
            return 0;
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection);

        // Bookmarks and journal rows go with the instance (ON DELETE CASCADE).
        batch.BatchCommands.Add(Command("DELETE FROM instances WHERE id = ANY($1)", TextArray(ids)));
        batch.BatchCommands.Add(Command("DELETE FROM leases WHERE instance_id = ANY($1)", TextArray(ids)));
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return batch.BatchCommands[0].RecordsAffected;
    }

    public Task<PagedResult<JournalEntry>> GetJournalAsync(string instanceId, int skip, int take, CancellationToken cancellationToken)
    {
        var p = new Parameters();
        var where = " WHERE instance_id = " + p.Add(instanceId);
        return PageAsync("journal" + where, "SELECT entry FROM journal" + where + " ORDER BY sequence", p, skip, take, r => Rows.DeserializeEntry(r.GetString(0)), cancellationToken);
    }

    public async Task<IReadOnlyList<StoredBookmark>> FindBookmarksAsync(BookmarkQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var p = new Parameters();
        var where = SqlFilter.Bookmarks(query, p);
        return await QueryAsync("SELECT " + BookmarkColumns + " FROM bookmarks" + where + " ORDER BY instance_id, position", p.Items, ReadBookmark, cancellationToken)
            .ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<StoredBookmark>> GetDueTimersAsync(DateTimeOffset now, int max, CancellationToken cancellationToken) =>
        await QueryAsync(
            "SELECT " + BookmarkColumns + " FROM bookmarks WHERE resume_at IS NOT NULL AND resume_at <= $1 ORDER BY resume_at, instance_id, position LIMIT $2",
            [Time(now), Int(Math.Max(0, max))],
            ReadBookmark,
            cancellationToken).ConfigureAwait(false);

    public async Task<DateTimeOffset?> GetNextTimerAsync(CancellationToken cancellationToken)
    {
        var list = await QueryAsync(
            "SELECT MIN(resume_at) FROM bookmarks WHERE resume_at IS NOT NULL", [], r => r.IsDBNull(0) ? (DateTimeOffset?)null : r.GetFieldValue<DateTimeOffset>(0), cancellationToken)
            .ConfigureAwait(false);
        return list.Count > 0 ? list[0] : null;
    }

    public async Task<IReadOnlyList<string>> FindRunnableAsync(DateTimeOffset now, int max, CancellationToken cancellationToken) =>
        await QueryAsync(
            "SELECT i.id FROM instances i LEFT JOIN leases l ON l.instance_id = i.id "
            + "WHERE i.status = 'Running' AND i.sub_status IN ('Pending', 'Executing') AND (l.instance_id IS NULL OR l.lease_until <= $1) "
            + "ORDER BY i.updated_at, i.id LIMIT $2",
            [Time(now), Int(Math.Max(0, max))],
            r => r.GetString(0),
            cancellationToken).ConfigureAwait(false);

    public async Task<bool> TryAcquireLeaseAsync(string instanceId, string owner, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken) =>
        await NonQueryAsync(
            "INSERT INTO leases AS l (instance_id, owner, lease_until) VALUES ($1, $2, $4) "
            + "ON CONFLICT (instance_id) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until "
            + "WHERE l.owner = excluded.owner OR l.lease_until <= $3",
            [Text(instanceId), Text(owner), Time(now), Time(until)],
            cancellationToken).ConfigureAwait(false) == 1;

    public async Task ReleaseLeaseAsync(string instanceId, string owner, CancellationToken cancellationToken) =>
        await NonQueryAsync("DELETE FROM leases WHERE instance_id = $1 AND owner = $2", [Text(instanceId), Text(owner)], cancellationToken).ConfigureAwait(false);

    private static StoredBookmark ReadBookmark(NpgsqlDataReader r) => RowReaders.Bookmark(r, Timestamp);

    // ---- schedules -----------------------------------------------------------------------------------------------

    public async Task<bool> TryClaimSlotAsync(string scheduleId, DateTimeOffset slot, string owner, DateTimeOffset now, CancellationToken cancellationToken) =>
        await NonQueryAsync(
            "INSERT INTO schedule_slots (schedule_id, slot, owner, claimed_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            [Text(scheduleId), Time(slot), Text(owner), Time(now)],
            cancellationToken).ConfigureAwait(false) == 1;

    public async Task<DateTimeOffset?> GetLastSlotAsync(string scheduleId, CancellationToken cancellationToken)
    {
        var list = await QueryAsync(
            "SELECT MAX(slot) FROM schedule_slots WHERE schedule_id = $1",
            [Text(scheduleId)],
            r => r.IsDBNull(0) ? (DateTimeOffset?)null : r.GetFieldValue<DateTimeOffset>(0),
            cancellationToken).ConfigureAwait(false);
        return list.Count > 0 ? list[0] : null;
    }

    public async Task SetSlotInstanceAsync(string scheduleId, DateTimeOffset slot, string instanceId, CancellationToken cancellationToken) =>
        await NonQueryAsync(
            "INSERT INTO schedule_slots (schedule_id, slot, instance_id) VALUES ($1, $2, $3) "
            + "ON CONFLICT (schedule_id, slot) DO UPDATE SET instance_id = excluded.instance_id",
            [Text(scheduleId), Time(slot), Text(instanceId)],
            cancellationToken).ConfigureAwait(false);

    // ---- plumbing ------------------------------------------------------------------------------------------------

    private async Task<List<T>> QueryAsync<T>(string sql, IReadOnlyList<NpgsqlParameter> parameters, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
            command.Parameters.Add(parameter);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var list = new List<T>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            list.Add(read(reader));
        return list;
    }

    private async Task<int> NonQueryAsync(string sql, IReadOnlyList<NpgsqlParameter> parameters, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
            command.Parameters.Add(parameter);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A count and one page, in one round trip.</summary>
    private async Task<PagedResult<T>> PageAsync<T>(
        string fromWhere, string select, Parameters p, int skip, int take, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken)
    {
        var (s, t) = Rows.Page(skip, take);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection);
        var count = new NpgsqlBatchCommand("SELECT COUNT(*) FROM " + fromWhere);
        foreach (var parameter in p.Items)
            count.Parameters.Add(parameter.Clone());
        batch.BatchCommands.Add(count);
        var page = new NpgsqlBatchCommand(select + $" LIMIT {p.Add(t)} OFFSET {p.Add(s)}");
        foreach (var parameter in p.Items)
            page.Parameters.Add(parameter);
        batch.BatchCommands.Add(page);

        await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var total = reader.GetInt64(0);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        var list = new List<T>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            list.Add(read(reader));
        return new PagedResult<T>(list, total);
    }

    private static NpgsqlBatchCommand Command(string sql, params ReadOnlySpan<NpgsqlParameter> parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var parameter in parameters)
            command.Parameters.Add(parameter);
        return command;
    }

    private static NpgsqlParameter Text(string? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };

    private static NpgsqlParameter TextArray(string[] value) => new() { Value = value, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };

    private static NpgsqlParameter<int> Int(int value) => new() { TypedValue = value };

    private static NpgsqlParameter<long> Long(long value) => new() { TypedValue = value };

    private static NpgsqlParameter<bool> Bool(bool value) => new() { TypedValue = value };

    private static NpgsqlParameter Time(DateTimeOffset? value) =>
        new() { Value = value is { } v ? Times.Utc(v) : DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz };

    private sealed class Parameters : SqlParameters
    {
        public List<NpgsqlParameter> Items { get; } = [];

        public override string Add(object? value)
        {
            Items.Add(value switch
            {
                null => new NpgsqlParameter { Value = DBNull.Value },
                string s => Text(s),
                int i => Int(i),
                bool b => Bool(b),
                _ => new NpgsqlParameter { Value = value },
            });
            return "$" + Items.Count.ToString(CultureInfo.InvariantCulture);
        }

        public override string In(string column, IReadOnlyCollection<string> items)
        {
            Items.Add(TextArray([.. items]));
            return $"{column} = ANY(${Items.Count.ToString(CultureInfo.InvariantCulture)})";
        }

        public override string ContainsIgnoreCase(string column, string term) => $"strpos(upper({column}), upper({Add(term)})) > 0";
    }
}
