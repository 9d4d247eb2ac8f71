using System.Diagnostics;
using System.Globalization;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Persistence.Internal;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace DrWorkflows.Persistence.Sqlite;

/// <summary>
/// The embedded store: one SQLite file in WAL mode with fully synchronous commits. All writes go through one
/// connection (<see cref="SqliteWriter"/>, with group commit); reads use a small pool of read-only connections.
/// </summary>
internal sealed partial class SqliteStore : IWorkflowDefinitionStore, IWorkflowInstanceStore, IScheduleStore, IThrowawayResourceStore, IStoreInitializer, IDisposable
{
    private const string DefinitionColumns = RowReaders.DefinitionColumns;
    private const string BookmarkColumns = RowReaders.BookmarkColumns;
    private const string SummaryColumns = RowReaders.SummaryColumns;

    private const string InsertBookmark =
        "INSERT INTO bookmarks (instance_id, position, id, execution_id, name, key, activity_type, node_id, resume_at, created_at, payload) "
        + "VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, @p10)";

    private const string InsertJournal =
        "INSERT INTO journal (instance_id, sequence, timestamp, event_name, execution_id, node_id, activity_type, actor, entry) "
        + "VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8)";

    private readonly SqliteStoreOptions options;
    private readonly ILogger logger;
    private readonly TimeProvider time;
    private readonly StoreStartup startup;
    private readonly string path;
    private readonly string connectionString;
    private SqliteWriter? writer;
    private SqliteReadPool? reads;
    private bool disposed;

    public SqliteStore(SqliteStoreOptions options, ILogger logger, TimeProvider time)
    {
        this.options = options;
        this.logger = logger;
        this.time = time;
        path = options.ResolveDatabasePath();
        var builder = string.IsNullOrWhiteSpace(options.ConnectionString)
            ? new SqliteConnectionStringBuilder()
            : new SqliteConnectionStringBuilder(options.ConnectionString);
        builder.DataSource = path;
        if (builder.Mode != SqliteOpenMode.ReadWrite)
            builder.Mode = SqliteOpenMode.ReadWriteCreate;
        builder.Cache = SqliteCacheMode.Private;
        builder.Pooling = false; // The store keeps its own connections open.
        builder.ForeignKeys = true;
        builder.DefaultTimeout = Math.Max(1, (int)Math.Ceiling(options.BusyTimeout.TotalSeconds));
        connectionString = builder.ConnectionString;
        startup = new StoreStartup("SQLite", logger, ct => Task.Run(() => (Open(), path), ct));
    }

    /// <summary>The database file.</summary>
    public string DatabasePath => path;

    private int BusyTimeoutMs => (int)options.BusyTimeout.TotalMilliseconds;

    // ---- start-up ------------------------------------------------------------------------------------------------

    public Task InitializeAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return startup.EnsureAsync(cancellationToken);
    }

    public void Dispose()
    {
        if (disposed)
            return;
        disposed = true;
        reads?.Dispose();
        writer?.Dispose();
        startup.Dispose();
    }

    private int Open()
    {
        var directory = Path.GetDirectoryName(path);
        try
        {
            if (!string.IsNullOrEmpty(directory))
                Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StoreUnavailableException(
                $"Cannot create the data directory '{directory}' for the SQLite store ({e.Message}). Check that the path is a directory the user "
                + "running DrWorkflows may create and write (set DRW_DATA_DIR to choose another one).", e);
        }

        if (Directory.Exists(path))
        {
            throw new StoreUnavailableException(
                $"The SQLite store path '{path}' is a directory; it must be a database file (created when missing). Point the store at a file name.");
        }

        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            using (var pragma = connection.CreateCommand())
            {
                pragma.CommandText = "PRAGMA journal_mode = WAL;";
                var mode = Convert.ToString(pragma.ExecuteScalar(), CultureInfo.InvariantCulture);
                if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
                {
                    throw new StoreUnavailableException(
                        $"The SQLite store '{path}' could not switch to WAL mode (it reports '{mode}'). Keep the store on a local file system "
                        + "(not a network share) that supports shared memory files next to it.");
                }

                pragma.CommandText =
                    $"PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {BusyTimeoutMs}; PRAGMA temp_store = MEMORY;";
                pragma.ExecuteNonQuery();
            }

            var version = Migrate(connection);
            writer = new SqliteWriter(connection, path, logger);
            reads = new SqliteReadPool(connectionString, BusyTimeoutMs);
            return version;
        }
        catch (SqliteException e) when (SqliteErrors.Describe(e, path) is { } described)
        {
            connection.Dispose();
            throw described;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private int Migrate(SqliteConnection connection)
    {
        var migrations = Migration.Load("Sqlite");
        var known = migrations.Count;
        using var command = connection.CreateCommand();
        command.CommandText =
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)";
        command.ExecuteNonQuery();
        var current = CurrentVersion(command);
        if (current > known)
            throw Migration.TooNew("SQLite", path, current, known);

        foreach (var migration in migrations.Where(m => m.Version > current))
        {
            var started = Stopwatch.GetTimestamp();
            using var transaction = connection.BeginTransaction(deferred: false);
            command.Transaction = transaction;

            // Another process may have migrated while this one waited for the write lock.
            if (CurrentVersion(command) >= migration.Version)
            {
                transaction.Rollback();
                continue;
            }

            command.CommandText = migration.Sql;
            command.ExecuteNonQuery();
            command.CommandText = "INSERT INTO schema_version (version, name, applied_at) VALUES (@v, @n, @t)";
            command.Parameters.AddWithValue("@v", migration.Version);
            command.Parameters.AddWithValue("@n", migration.Name);
            command.Parameters.AddWithValue("@t", Times.ToUnixMs(time.GetUtcNow()));
            command.ExecuteNonQuery();
            command.Parameters.Clear();
            transaction.Commit();
            command.Transaction = null;
            var elapsedMs = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            Log.MigrationApplied(logger, "SQLite", migration.Version, migration.Name, elapsedMs);
        }

        return Math.Max(current, known);
    }

    private static int CurrentVersion(SqliteCommand command)
    {
        command.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_version";
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private Task<T> WriteAsync<T>(Func<SqliteWriter, T> body, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return startup.Done ? writer!.RunAsync(body, cancellationToken) : Slow();

        async Task<T> Slow()
        {
            await startup.EnsureAsync(cancellationToken).ConfigureAwait(false);
            return await writer!.RunAsync(body, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<T> ReadAsync<T>(Func<SqliteCommands, T> body, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(disposed, this);
        await startup.EnsureAsync(cancellationToken).ConfigureAwait(false);
        var commands = reads!.Rent();
        try
        {
            return body(commands);
        }
        catch (SqliteException e) when (SqliteErrors.Describe(e, path) is { } described)
        {
            throw described;
        }
        finally
        {
            reads.Return(commands);
        }
    }

    // ---- definitions ---------------------------------------------------------------------------------------------

    public Task SaveAsync(IReadOnlyCollection<StoredWorkflowDefinition> versions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(versions);
        var rows = versions.ToList();
        return WriteAsync(
            w =>
            {
                foreach (var d in rows)
                {
                    w.Execute(
                        "INSERT INTO definitions (" + DefinitionColumns + ") VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, @p10, @p11, @p12) "
                        + "ON CONFLICT (id) DO UPDATE SET definition_id = excluded.definition_id, version = excluded.version, name = excluded.name, "
                        + "description = excluded.description, is_latest = excluded.is_latest, is_published = excluded.is_published, "
                        + "is_readonly = excluded.is_readonly, usable_as_activity = excluded.usable_as_activity, origin = excluded.origin, "
                        + "created_at = excluded.created_at, json = excluded.json, source_commit = excluded.source_commit",
                        d.Id, d.DefinitionId, d.Version, d.Name, d.Description, d.IsLatest, d.IsPublished, d.IsReadonly, d.UsableAsActivity,
                        d.Origin, Times.ToUnixMs(d.CreatedAt), d.Json, d.SourceCommit);
                }

                return rows.Count;
            },
            cancellationToken);
    }

    public Task<StoredWorkflowDefinition?> FindByIdAsync(string id, CancellationToken cancellationToken) =>
        ReadAsync(
            c =>
            {
                using var reader = c.Get("SELECT " + DefinitionColumns + " FROM definitions WHERE id = @p0", id).ExecuteReader();
                return reader.Read() ? ReadDefinition(reader) : null;
            },
            cancellationToken);

    public Task<StoredWorkflowDefinition?> FindAsync(string definitionId, VersionOptions versions, CancellationToken cancellationToken) =>
        ReadAsync(
            c =>
            {
                var p = new Parameters();
                var where = "definition_id = " + p.Add(definitionId);
                if (SqlFilter.Versions(versions, p) is { } condition)
                    where += " AND " + condition;
                var sql = "SELECT " + DefinitionColumns + " FROM definitions WHERE " + where + " ORDER BY version DESC, id LIMIT 1";
                using var reader = c.Get(sql, p.Span).ExecuteReader();
                return reader.Read() ? ReadDefinition(reader) : null;
            },
            cancellationToken);

    public Task<IReadOnlyList<StoredWorkflowDefinition>> ListVersionsAsync(string definitionId, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<StoredWorkflowDefinition>>(
            c =>
            {
                using var reader = c.Get("SELECT " + DefinitionColumns + " FROM definitions WHERE definition_id = @p0 ORDER BY version, id", definitionId)
                    .ExecuteReader();
                var list = new List<StoredWorkflowDefinition>();
                while (reader.Read())
                    list.Add(ReadDefinition(reader));
                return list;
            },
            cancellationToken);

    public Task<PagedResult<StoredWorkflowDefinition>> ListAsync(DefinitionQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var p = new Parameters();
        if (SqlFilter.Definitions(query, p) is not { } where)
            return Task.FromResult(new PagedResult<StoredWorkflowDefinition>([], 0));
        return ReadAsync(
            c => Page(
                c,
                "definitions" + where,
                "SELECT " + DefinitionColumns + " FROM definitions" + where + $" ORDER BY name COLLATE {SqliteReadPool.NoCase}, definition_id, version, id",
                p,
                query.Skip,
                query.Take,
                ReadDefinition),
            cancellationToken);
    }

    public Task<int> DeleteAsync(string definitionId, CancellationToken cancellationToken) =>
        WriteAsync(w => w.Execute("DELETE FROM definitions WHERE definition_id = @p0", definitionId), cancellationToken);

    public Task<bool> DeleteVersionAsync(string id, CancellationToken cancellationToken) =>
        WriteAsync(w => w.Execute("DELETE FROM definitions WHERE id = @p0", id) > 0, cancellationToken);

    private static StoredWorkflowDefinition ReadDefinition(SqliteDataReader r) => RowReaders.Definition(r, UnixMs);

    private static DateTimeOffset UnixMs(System.Data.Common.DbDataReader r, int ordinal) => Times.FromUnixMs(r.GetInt64(ordinal));

    // ---- instances -----------------------------------------------------------------------------------------------

    public async Task CreateAsync(WorkflowState state, IReadOnlyList<JournalEntry> journal, CancellationToken cancellationToken)
    {
        var write = InstanceWrite.ForCreate(state, journal);
        await WriteAsync(
            w =>
            {
                // All writes go through this one connection, one at a time: the check and the insert cannot interleave
                // with another create. The unique index ux_instances_running_platform holds the rule anyway.
                RefuseWhenRunning(w, write);
                try
                {
                    w.Execute(
                        "INSERT INTO instances (id, definition_id, definition_version_id, version, name, correlation_id, parent_instance_id, status, "
                        + "sub_status, incident_count, created_at, updated_at, finished_at, revision, state, platform) "
                        + "VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, @p10, @p11, @p12, @p13, @p14, @p15)",
                        write.Id, write.DefinitionId, write.DefinitionVersionId, write.Version, write.Name, write.CorrelationId, write.ParentInstanceId,
                        write.Status, write.SubStatus, write.IncidentCount, Times.ToUnixMs(write.CreatedAt), Times.ToUnixMs(write.UpdatedAt),
                        Times.ToUnixMs(write.FinishedAt), write.NewRevision, write.StateJson, write.Platform);
                }
                catch (SqliteException e) when (e.SqliteErrorCode == SqliteErrors.Constraint)
                {
                    RefuseWhenRunning(w, write);
                    throw new InstanceExistsException(write.Id, e);
                }

                WriteChildren(w, write, replaceBookmarks: false);
                return 0;
            },
            cancellationToken).ConfigureAwait(false);
        state.Revision = write.NewRevision;
    }

    /// <summary>Throws <see cref="RunAlreadyRunningException"/> when another run of the definition is running on the new run's platform.</summary>
    private static void RefuseWhenRunning(SqliteWriter w, InstanceWrite write)
    {
        if (write.Platform is not { } platform)
            return;
        var running = w.Command(
            "SELECT id FROM instances WHERE definition_id = @p0 AND platform = @p1 AND status = 'Running' LIMIT 1", write.DefinitionId, platform).ExecuteScalar();
        if (running is string id)
            throw new RunAlreadyRunningException(write.DefinitionId, platform, id);
    }

    public async Task CommitAsync(WorkflowState state, IReadOnlyList<JournalEntry> journal, CancellationToken cancellationToken)
    {
        var write = InstanceWrite.ForCommit(state, journal);
        try
        {
            await WriteAsync(
                w =>
                {
                    var updated = w.Execute(
                        "UPDATE instances SET definition_id = @p2, definition_version_id = @p3, version = @p4, name = @p5, correlation_id = @p6, "
                        + "parent_instance_id = @p7, status = @p8, sub_status = @p9, incident_count = @p10, created_at = @p11, updated_at = @p12, "
                        + "finished_at = @p13, revision = @p14, state = @p15 WHERE id = @p0 AND revision = @p1",
                        write.Id, write.ExpectedRevision, write.DefinitionId, write.DefinitionVersionId, write.Version, write.Name, write.CorrelationId,
                        write.ParentInstanceId, write.Status, write.SubStatus, write.IncidentCount, Times.ToUnixMs(write.CreatedAt),
                        Times.ToUnixMs(write.UpdatedAt), Times.ToUnixMs(write.FinishedAt), write.NewRevision, write.StateJson);
                    if (updated != 1)
                        throw new ConcurrencyException(write.Id, write.ExpectedRevision);
                    WriteChildren(w, write, replaceBookmarks: true);
                    return 0;
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (ConcurrencyException)
        {
            Log.CommitConflict(logger, write.Id, write.ExpectedRevision);
            throw;
        }

        state.Revision = write.NewRevision;
    }

    private static void WriteChildren(SqliteWriter w, InstanceWrite write, bool replaceBookmarks)
    {
        if (replaceBookmarks)
            w.Execute("DELETE FROM bookmarks WHERE instance_id = @p0", write.Id);
        foreach (var b in write.Bookmarks)
        {
            w.Execute(
                InsertBookmark,
                write.Id, b.Position, b.Id, b.ExecutionId, b.Name, b.Key, b.ActivityType, b.NodeId, Times.ToUnixMs(b.ResumeAt),
                Times.ToUnixMs(b.CreatedAt), b.Payload);
        }

        foreach (var j in write.Journal)
        {
            w.Execute(
                InsertJournal,
                write.Id, j.Sequence, Times.ToUnixMs(j.Timestamp), j.EventName, j.ExecutionId, j.NodeId, j.ActivityType, j.Actor, j.Entry);
        }
    }

    public Task<WorkflowState?> GetAsync(string instanceId, CancellationToken cancellationToken) =>
        ReadAsync(
            c =>
            {
                using var reader = c.Get("SELECT state, revision FROM instances WHERE id = @p0", instanceId).ExecuteReader();
                return reader.Read() ? Rows.DeserializeState(reader.GetString(0), reader.GetInt64(1)) : null;
            },
            cancellationToken);

    public Task<PagedResult<WorkflowInstanceSummary>> ListAsync(InstanceQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var p = new Parameters();
        if (SqlFilter.Instances(query, p) is not { } where)
            return Task.FromResult(new PagedResult<WorkflowInstanceSummary>([], 0));
        return ReadAsync(
            c => Page(
                c,
                "instances" + where,
                "SELECT " + SummaryColumns + " FROM instances" + where + " ORDER BY created_at DESC, id DESC",
                p,
                query.Skip,
                query.Take,
                r => RowReaders.Summary(r, UnixMs)),
            cancellationToken);
    }

    public Task<int> DeleteAsync(IReadOnlyCollection<string> instanceIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(instanceIds);
        var ids = instanceIds.Distinct(StringComparer.Ordinal).ToList();
        if (ids.Count == 0)
            return Task.FromResult(0);
        return WriteAsync(
            w =>
            {
                var deleted = 0;
                foreach (var id in ids)
                {
                    // Bookmarks and journal rows go with the instance (ON DELETE CASCADE).
                    deleted += w.Execute("DELETE FROM instances WHERE id = @p0", id);
                    w.Execute("DELETE FROM leases WHERE instance_id = @p0", id);
                }

                return deleted;
            },
            cancellationToken);
    }

    public Task<PagedResult<JournalEntry>> GetJournalAsync(string instanceId, int skip, int take, CancellationToken cancellationToken)
    {
        var p = new Parameters();
        var where = " WHERE instance_id = " + p.Add(instanceId);
        return ReadAsync(
            c => Page(c, "journal" + where, "SELECT entry FROM journal" + where + " ORDER BY sequence", p, skip, take, r => Rows.DeserializeEntry(r.GetString(0))),
            cancellationToken);
    }

    /// <summary>The total count of <paramref name="fromWhere"/> and one page of <paramref name="select"/>.</summary>
    private static PagedResult<T> Page<T>(
        SqliteCommands c, string fromWhere, string select, Parameters p, int skip, int take, Func<SqliteDataReader, T> read)
    {
        var total = Convert.ToInt64(c.Get("SELECT COUNT(*) FROM " + fromWhere, p.Span).ExecuteScalar(), CultureInfo.InvariantCulture);
        var (s, t) = Rows.Page(skip, take);
        var list = new List<T>();
        if (t > 0 && s < total)
        {
            var sql = select + $" LIMIT {p.Add(t)} OFFSET {p.Add(s)}";
            using var reader = c.Get(sql, p.Span).ExecuteReader();
            while (reader.Read())
                list.Add(read(reader));
        }

        return new PagedResult<T>(list, total);
    }

    public Task<IReadOnlyList<StoredBookmark>> FindBookmarksAsync(BookmarkQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        return ReadAsync<IReadOnlyList<StoredBookmark>>(
            c =>
            {
                var p = new Parameters();
                var where = SqlFilter.Bookmarks(query, p);
                return ReadBookmarks(c.Get("SELECT " + BookmarkColumns + " FROM bookmarks" + where + " ORDER BY instance_id, position", p.Span));
            },
            cancellationToken);
    }

    public Task<IReadOnlyList<StoredBookmark>> GetDueTimersAsync(DateTimeOffset now, int max, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<StoredBookmark>>(
            c => ReadBookmarks(c.Get(
                "SELECT " + BookmarkColumns + " FROM bookmarks WHERE resume_at IS NOT NULL AND resume_at <= @p0 "
                + "ORDER BY resume_at, instance_id, position LIMIT @p1",
                Times.ToUnixMs(now), Math.Max(0, max))),
            cancellationToken);

    public Task<DateTimeOffset?> GetNextTimerAsync(CancellationToken cancellationToken) =>
        ReadAsync(
            c => c.Get("SELECT MIN(resume_at) FROM bookmarks WHERE resume_at IS NOT NULL").ExecuteScalar() is long ms
                ? Times.FromUnixMs(ms)
                : (DateTimeOffset?)null,
            cancellationToken);

    public Task<IReadOnlyList<string>> FindRunnableAsync(DateTimeOffset now, int max, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<string>>(
            c =>
            {
                using var reader = c.Get(
                    "SELECT i.id FROM instances i LEFT JOIN leases l ON l.instance_id = i.id "
                    + "WHERE i.status = 'Running' AND i.sub_status IN ('Pending', 'Executing') AND (l.instance_id IS NULL OR l.lease_until <= @p0) "
                    + "ORDER BY i.updated_at, i.id LIMIT @p1",
                    Times.ToUnixMs(now), Math.Max(0, max)).ExecuteReader();
                var list = new List<string>();
                while (reader.Read())
                    list.Add(reader.GetString(0));
                return list;
            },
            cancellationToken);

    public Task<bool> TryAcquireLeaseAsync(string instanceId, string owner, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken) =>
        WriteAsync(
            w => w.Execute(
                "INSERT INTO leases (instance_id, owner, lease_until) VALUES (@p0, @p1, @p3) "
                + "ON CONFLICT (instance_id) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until "
                + "WHERE leases.owner = excluded.owner OR leases.lease_until <= @p2",
                instanceId, owner, Times.ToUnixMs(now), Times.ToUnixMs(until)) == 1,
            cancellationToken);

    public Task ReleaseLeaseAsync(string instanceId, string owner, CancellationToken cancellationToken) =>
        WriteAsync(w => w.Execute("DELETE FROM leases WHERE instance_id = @p0 AND owner = @p1", instanceId, owner), cancellationToken);

    private static List<StoredBookmark> ReadBookmarks(SqliteCommand command)
    {
        using var reader = command.ExecuteReader();
        var list = new List<StoredBookmark>();
        while (reader.Read())
            list.Add(RowReaders.Bookmark(reader, UnixMs));

        return list;
    }

    // ---- schedules -----------------------------------------------------------------------------------------------

    public Task<bool> TryClaimSlotAsync(string scheduleId, DateTimeOffset slot, string owner, DateTimeOffset now, CancellationToken cancellationToken) =>
        WriteAsync(
            w => w.Execute(
                "INSERT INTO schedule_slots (schedule_id, slot, owner, claimed_at) VALUES (@p0, @p1, @p2, @p3) ON CONFLICT DO NOTHING",
                scheduleId, Times.ToUnixMs(slot), owner, Times.ToUnixMs(now)) == 1,
            cancellationToken);

    public Task<DateTimeOffset?> GetLastSlotAsync(string scheduleId, CancellationToken cancellationToken) =>
        ReadAsync(
            c => c.Get("SELECT MAX(slot) FROM schedule_slots WHERE schedule_id = @p0", scheduleId).ExecuteScalar() is long ms
                ? Times.FromUnixMs(ms)
                : (DateTimeOffset?)null,
            cancellationToken);

    public Task SetSlotInstanceAsync(string scheduleId, DateTimeOffset slot, string instanceId, CancellationToken cancellationToken) =>
        WriteAsync(
            w => w.Execute(
                "INSERT INTO schedule_slots (schedule_id, slot, instance_id) VALUES (@p0, @p1, @p2) "
                + "ON CONFLICT (schedule_id, slot) DO UPDATE SET instance_id = excluded.instance_id",
                scheduleId, Times.ToUnixMs(slot), instanceId),
            cancellationToken);

    private sealed class Parameters : SqlParameters
    {
        private readonly List<object?> values = [];

        public ReadOnlySpan<object?> Span => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(values);

        public override string Add(object? value)
        {
            values.Add(value);
            return "@p" + (values.Count - 1).ToString(CultureInfo.InvariantCulture);
        }

        public override string In(string column, IReadOnlyCollection<string> items) =>
            $"{column} IN ({string.Join(", ", items.Select(v => Add(v)))})";

        public override string ContainsIgnoreCase(string column, string term) => $"drw_contains({column}, {Add(term)})";
    }
}
