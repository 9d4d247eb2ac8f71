using System.Data;
using System.Diagnostics;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Backups.Pipeline;
using DrWorkflows.Activities.Storage;
using DrWorkflows.Activities.Throwaway;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DrWorkflows.Activities.Postgres;

/// <summary>What to back up and where.</summary>
public sealed record PostgresBackupRequest(PostgresServer Server, string Database, string SetId)
{
    /// <summary>Store name; null for the default store.</summary>
    public string? Store { get; init; }

    /// <summary>Source name in the store (default: the database name).</summary>
    public string? Source { get; init; }

    public string? WorkflowInstanceId { get; init; }
}

/// <summary>Globals (roles, tablespaces) of a server.</summary>
public sealed record PostgresGlobalsRequest(PostgresServer Server, string SetId)
{
    public string? Store { get; init; }

    /// <summary>Source name in the store (default: the server name).</summary>
    public string? Source { get; init; }

    public string? WorkflowInstanceId { get; init; }
}

/// <summary>Streaming PostgreSQL backups to a backup store.</summary>
public interface IPostgresBackupService
{
    /// <summary>
    /// <c>pg_dump -Fc -Z0</c> of one database, streamed through compression and encryption into the store, with
    /// row counts taken in the dump's own snapshot. The manifest is written last.
    /// </summary>
    Task<BackupSet> BackupDatabaseAsync(PostgresBackupRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// As <see cref="BackupDatabaseAsync"/>, but the one dump is written to every store of <paramref name="stores"/>
    /// at once (one read of the database). A store that fails is reported in the result and the others keep their
    /// copy; it throws only when no store could take the set.
    /// </summary>
    Task<BackupCopies> BackupDatabaseToStoresAsync(PostgresBackupRequest request, IReadOnlyList<string?> stores, CancellationToken cancellationToken);

    /// <summary><c>pg_dumpall --globals-only</c> (roles with their password hashes, tablespaces).</summary>
    Task<BackupSet> BackupGlobalsAsync(PostgresGlobalsRequest request, CancellationToken cancellationToken);

    /// <summary>As <see cref="BackupGlobalsAsync"/>, written to every store of <paramref name="stores"/> at once.</summary>
    Task<BackupCopies> BackupGlobalsToStoresAsync(PostgresGlobalsRequest request, IReadOnlyList<string?> stores, CancellationToken cancellationToken);

    /// <summary>Non-template databases that accept connections.</summary>
    Task<IReadOnlyList<string>> ListDatabasesAsync(PostgresServer server, CancellationToken cancellationToken);
}

internal sealed class PostgresBackupService(
    IBackupCatalog catalog,
    IBackupStoreProvider storeProvider,
    IBackupCodecs codecs,
    PostgresTools tools,
    IOptions<PostgresBackupOptions> options,
    TimeProvider clock,
    IThrowawayLedger ledger,
    ILogger<PostgresBackupService> logger) : IPostgresBackupService
{
    public async Task<BackupSet> BackupDatabaseAsync(PostgresBackupRequest request, CancellationToken cancellationToken) =>
        (await BackupDatabaseToStoresAsync(request, [request.Store], cancellationToken)).Sets[0];

    public async Task<BackupCopies> BackupDatabaseToStoresAsync(PostgresBackupRequest request, IReadOnlyList<string?> stores, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(request.Database);
        stores = BackupCopiesWriter.CheckStores(storeProvider, stores.Count == 0 ? [request.Store] : stores);
        var pgDump = tools.Find("pg_dump");
        var pgDumpVersion = await PostgresTools.VersionAsync(pgDump, cancellationToken);
        var stopwatch = Stopwatch.StartNew();
        var server = request.Server;

        await using var connection = await PostgresConnections.OpenAsync(server, request.Database, cancellationToken);
        var (version, versionNum) = await ServerVersionAsync(connection, cancellationToken);
        PostgresTools.EnsureCompatible("pg_dump", pgDumpVersion, versionNum, server);

        // One snapshot for the dump and the row counts: the manifest describes exactly what was dumped.
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
        string snapshot;
        await using (var command = new NpgsqlCommand("SELECT pg_export_snapshot()", connection, transaction))
            snapshot = (string)(await command.ExecuteScalarAsync(cancellationToken))!;

        await using var encoding = await codecs.BeginEncodingAsync(cancellationToken);
        await using var set = await BackupCopiesWriter.BeginAsync(catalog, new BackupSetRequest(BackupKinds.Postgres, request.Source ?? request.Database, request.SetId) { Store = request.Store }, stores, logger, cancellationToken);
        Log.BackupStarting(logger, request.Database, server, set.Locations, request.SetId);
        var tempDirectory = await ledger.CreateDirectoryAsync(ThrowawayFiles.NewPath("drwpg"), $"pg_dump of {request.Database} (.pgpass)", cancellationToken);
        var temp = tempDirectory.Name;
        try
        {
            using var env = PostgresConnections.CreateToolEnvironment(server, request.Database, temp);
            var dump = new ProcessStage("pg_dump", pgDump, ["--format=custom", "--compress=0", "--no-password", $"--snapshot={snapshot}"])
            {
                Environment = env.Variables,
                RemoveEnvironmentPrefixes = ["PG"],
                IsErrorLine = IsPgErrorLine,
                Classify = (_, stderr) => PostgresConnections.ClassifyToolFailure("pg_dump", stderr, server, request.Database),
                Hint = "Check the database and the pg_dump version.",
            };

            List<TableFacts> tables;
            await using (var file = await set.CreateFileAsync($"{request.Database}.dump{encoding.Suffix}", cancellationToken))
            {
                using var countsCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var counts = options.Value.RecordRowCounts
                    ? PostgresFacts.CollectAsync(connection, options.Value.CreatedAtColumns, countsCancel.Token)
                    : Task.FromResult<List<TableFacts>>([]);
                try
                {
                    await StreamPipeline.RunAsync(null, [dump, .. encoding.Stages], file, logger, cancellationToken);
                }
                catch
                {
                    await countsCancel.CancelAsync();
                    await Task.WhenAny(counts);
                    throw;
                }

                tables = await counts;
            }

            await set.CommitFileAsync(cancellationToken);
            var completedAt = clock.GetUtcNow();
            var result = await set.CompleteAsync(manifest =>
            {
                Describe(manifest, server, version, encoding, ("pg_dump", pgDumpVersion), request.WorkflowInstanceId, "pg_dump custom", completedAt);
                manifest.Database = request.Database;
                manifest.Tables = options.Value.RecordRowCounts ? [.. tables] : null;
            }, clock, cancellationToken);
            Log.BackupDone(logger, request.Database, result.Sets[0].Manifest.Size, stopwatch.Elapsed.TotalSeconds);
            return result;
        }
        catch (Exception ex) when (ex is IOException && StoreErrors.IsDiskFull(ex))
        {
            throw StoreErrors.FromIo(ex, $"back up {request.Database}", set.Locations);
        }
        finally
        {
            await transaction.RollbackAsync(CancellationToken.None);
            await tempDirectory.DisposeAsync();
        }
    }

    public async Task<BackupSet> BackupGlobalsAsync(PostgresGlobalsRequest request, CancellationToken cancellationToken) =>
        (await BackupGlobalsToStoresAsync(request, [request.Store], cancellationToken)).Sets[0];

    public async Task<BackupCopies> BackupGlobalsToStoresAsync(PostgresGlobalsRequest request, IReadOnlyList<string?> stores, CancellationToken cancellationToken)
    {
        stores = BackupCopiesWriter.CheckStores(storeProvider, stores.Count == 0 ? [request.Store] : stores);
        var pgDumpAll = tools.Find("pg_dumpall");
        var toolVersion = await PostgresTools.VersionAsync(pgDumpAll, cancellationToken);
        var server = request.Server;
        string version;
        List<ServerDatabase> databases;
        List<string> roles;
        await using (var connection = await PostgresConnections.OpenAsync(server, "postgres", cancellationToken))
        {
            var (text, num) = await ServerVersionAsync(connection, cancellationToken);
            PostgresTools.EnsureCompatible("pg_dumpall", toolVersion, num, server);
            version = text;
            // What lives on the server, for a restore of the whole server when it can no longer be asked.
            (databases, roles) = await PostgresInventory.ReadAsync(connection, options.Value.VerificationDatabasePrefix, cancellationToken);
        }

        await using var encoding = await codecs.BeginEncodingAsync(cancellationToken);
        await using var set = await BackupCopiesWriter.BeginAsync(catalog, new BackupSetRequest(BackupKinds.Globals, request.Source ?? server.Name, request.SetId) { Store = request.Store }, stores, logger, cancellationToken);
        var tempDirectory = await ledger.CreateDirectoryAsync(ThrowawayFiles.NewPath("drwpg"), $"pg_dumpall --globals-only of {server} (.pgpass)", cancellationToken);
        var temp = tempDirectory.Name;
        try
        {
            using var env = PostgresConnections.CreateToolEnvironment(server, "postgres", temp);
            var dump = new ProcessStage("pg_dumpall", pgDumpAll, ["--globals-only", "--no-password", "--database=postgres"])
            {
                Environment = env.Variables,
                RemoveEnvironmentPrefixes = ["PG"],
                IsErrorLine = IsPgErrorLine,
                Classify = (_, stderr) => PostgresConnections.ClassifyToolFailure("pg_dumpall", stderr, server, "postgres"),
                Hint = "pg_dumpall --globals-only needs a superuser (it reads pg_authid).",
            };
            await using (var file = await set.CreateFileAsync($"globals.sql{encoding.Suffix}", cancellationToken))
                await StreamPipeline.RunAsync(null, [dump, .. encoding.Stages], file, logger, cancellationToken);
            await set.CommitFileAsync(cancellationToken);
            var completedAt = clock.GetUtcNow();
            return await set.CompleteAsync(
                manifest =>
                {
                    Describe(manifest, server, version, encoding, ("pg_dumpall", toolVersion), request.WorkflowInstanceId, "sql", completedAt);
                    (manifest.ServerDatabases, manifest.Roles) = (databases, roles);
                }, clock, cancellationToken);
        }
        finally
        {
            await tempDirectory.DisposeAsync();
        }
    }

    /// <summary>The facts every PostgreSQL set's manifest records: server, tools, compression, encryption, format, end.</summary>
    private static void Describe(BackupManifest manifest, PostgresServer server, string version, EncodingSession encoding, (string Name, string Version) tool, string? workflowInstanceId, string format, DateTimeOffset completedAt)
    {
        manifest.ServerVersion = version;
        manifest.Origin = server.ToString();
        (manifest.Server, manifest.Endpoint) = (server.Name, server.Endpoint);
        manifest.Compression = encoding.Compression;
        manifest.Encryption = encoding.Encryption;
        manifest.Tools[tool.Name] = tool.Version;
        foreach (var (name, toolVersion) in encoding.Tools)
            manifest.Tools[name] = toolVersion;
        manifest.WorkflowInstanceId = workflowInstanceId;
        manifest.Properties["format"] = format;
        manifest.CompletedAt = completedAt;
    }

    public async Task<IReadOnlyList<string>> ListDatabasesAsync(PostgresServer server, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresConnections.OpenAsync(server, "postgres", cancellationToken);
        await using var command = new NpgsqlCommand("SELECT datname FROM pg_database WHERE NOT datistemplate AND datallowconn ORDER BY datname", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var names = new List<string>();
        while (await reader.ReadAsync(cancellationToken))
            names.Add(reader.GetString(0));
        return names;
    }

    internal static async Task<(string Version, int VersionNum)> ServerVersionAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT current_setting('server_version'), current_setting('server_version_num')::int", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetString(0), reader.GetInt32(1));
    }

    internal static bool IsPgErrorLine(string line) =>
        line.Contains(" error: ", StringComparison.Ordinal) || line.StartsWith("FATAL:", StringComparison.Ordinal) || line.Contains(": FATAL:", StringComparison.Ordinal);

    internal static void TryDeleteDirectory(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
