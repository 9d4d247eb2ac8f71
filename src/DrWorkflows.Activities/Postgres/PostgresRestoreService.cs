using System.Diagnostics;
using System.Runtime.ExceptionServices;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Backups.Pipeline;
using DrWorkflows.Activities.Storage;
using DrWorkflows.Activities.Throwaway;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DrWorkflows.Activities.Postgres;

/// <summary>How the target database is prepared.</summary>
public enum RestoreMode
{
    /// <summary>Restore into the database with <c>pg_restore --clean --if-exists</c>; create it when missing.</summary>
    Clean,

    /// <summary>Drop the database (terminating its connections) and create it empty, then restore. The cleanest after a compromise.</summary>
    Recreate,

    /// <summary>Create the database; fail when it already exists.</summary>
    CreateNew,
}

/// <summary>What to restore, where, and how.</summary>
public sealed record PostgresRestoreRequest(BackupSet Set, PostgresServer Target, string Database)
{
    public RestoreMode Mode { get; init; } = RestoreMode.Clean;

    /// <summary>pg_restore jobs; null for <see cref="PostgresBackupOptions.RestoreJobs"/>.</summary>
    public int? Jobs { get; init; }

    /// <summary>Do not restore ownership (<c>--no-owner</c>), for servers without the original roles.</summary>
    public bool NoOwner { get; init; }

    /// <summary>Do not restore privileges (<c>--no-privileges</c>).</summary>
    public bool NoPrivileges { get; init; }

    public DecryptionKeys? Keys { get; init; }
}

/// <summary>
/// What a restore did. <see cref="DownloadSeconds"/>: download, checksum, decryption and decompression;
/// <see cref="RestoreSeconds"/>: pg_restore, after the download, or, when <see cref="WhileDownloading"/>, the whole
/// restore, which overlapped the download.
/// </summary>
public sealed record PostgresRestoreResult(string SetId, string Database, string Target, long StoredBytes, long DumpBytes, double DownloadSeconds, double RestoreSeconds)
{
    /// <summary>Restored into a new database while the backup was still downloading.</summary>
    public bool WhileDownloading { get; init; }
}

/// <summary>Restores PostgreSQL backup sets.</summary>
public interface IPostgresRestoreService
{
    /// <summary>
    /// Download → verify checksum → decrypt → decompress into a private temporary file, and pg_restore with N jobs.
    /// Into an <b>existing</b> database, nothing touches it before the whole file matched its SHA-256: then
    /// <c>pg_restore -j N</c> (over it, or into it dropped and created again). Into a <b>new</b> database, the
    /// restore runs while the backup downloads, and a failure (a checksum mismatch found at the end included)
    /// drops the new database. The temporary file is always deleted.
    /// </summary>
    Task<PostgresRestoreResult> RestoreAsync(PostgresRestoreRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Runs a globals set (roles, tablespaces) with psql; "already exists" errors are reported, not fatal. The password
    /// of the role it connects as is kept (the set's hash for that role is left out), so the target stays reachable.
    /// </summary>
    Task<GlobalsRestoreResult> RestoreGlobalsAsync(BackupSet set, PostgresServer target, DecryptionKeys? keys, CancellationToken cancellationToken);
}

/// <summary>Result of a globals restore: statements that failed (typically roles that already exist).</summary>
public sealed record GlobalsRestoreResult(string SetId, IReadOnlyList<string> Errors);

internal sealed class PostgresRestoreService(
    IBackupCatalog catalog,
    IBackupCodecs codecs,
    PostgresTools tools,
    IOptions<PostgresBackupOptions> options,
    IThrowawayLedger ledger,
    ILogger<PostgresRestoreService> logger) : IPostgresRestoreService
{
    public async Task<PostgresRestoreResult> RestoreAsync(PostgresRestoreRequest request, CancellationToken cancellationToken)
    {
        var manifest = request.Set.Manifest;
        if (manifest.Kind != BackupKinds.Postgres)
            throw new BackupException(BackupErrorCodes.InvalidRequest, $"Backup set {request.Set} is a '{manifest.Kind}' backup, not a PostgreSQL database dump.");
        ArgumentException.ThrowIfNullOrWhiteSpace(request.Database);
        var pgRestore = tools.Find("pg_restore");
        var jobs = request.Jobs ?? options.Value.RestoreJobs;
        var server = request.Target;
        var exists = await DatabaseExistsAsync(server, request.Database, cancellationToken);
        if (exists && request.Mode == RestoreMode.CreateNew)
            throw new BackupException(BackupErrorCodes.RestoreTarget,
                $"Database '{request.Database}' already exists on {server}. Restore into another name, or use Mode=Clean (restore over it) or Mode=Recreate (drop it first).");
        Log.RestoreStarting(logger, request.Set, request.Database, server, request.Mode, jobs);

        // The decrypted dump and the .pgpass live here: recorded before it exists, removed by the janitor after a crash.
        var tempDirectory = await CreateTempDirectoryAsync($"restore of {request.Set} into {request.Database} (decrypted dump, .pgpass)", cancellationToken);
        var temp = tempDirectory.Name;
        try
        {
            using var env = PostgresConnections.CreateToolEnvironment(server, request.Database, temp);
            return exists
                ? await RestoreOverExistingAsync(request, pgRestore, jobs, env, temp, cancellationToken)
                : await RestoreIntoNewDatabaseAsync(request, pgRestore, jobs, env, temp, cancellationToken);
        }
        finally
        {
            await tempDirectory.DisposeAsync();
        }
    }

    /// <summary>
    /// The database exists: nothing touches it before the whole backup is downloaded and matched its checksum. Then
    /// it is dropped and created again and restored section by section as a new one (Recreate: its largest table by
    /// several sessions, <see cref="SectionedRestore"/>; a failure drops it), or restored over with
    /// <c>pg_restore -j N --clean</c> (Clean).
    /// </summary>
    private async Task<PostgresRestoreResult> RestoreOverExistingAsync(PostgresRestoreRequest request, string pgRestore, int jobs, PgEnvironment env, string temp, CancellationToken cancellationToken)
    {
        var server = request.Target;
        var stopwatch = Stopwatch.StartNew();
        var dumpPath = Path.Combine(temp, "restore.dump");
        var dumpBytes = await DownloadAsync(request.Set, request.Keys, dumpPath, cancellationToken);
        var downloadSeconds = stopwatch.Elapsed.TotalSeconds;

        if (request.Mode == RestoreMode.Recreate)
        {
            await RecreateDatabaseAsync(server, request.Database, cancellationToken);
            var sectionsWatch = Stopwatch.StartNew();
            try
            {
                await Sections(request, pgRestore, env).RunAsync(GrowingFile.OfCompleteFile(dumpPath), Task.CompletedTask, jobs, request.Set.Manifest.Tables, cancellationToken);
            }
            catch (Exception)
            {
                // The old database is gone already; a half-restored one would only mislead whoever connects to it.
                await DropFailedRestoreAsync(server, request.Database);
                throw;
            }

            Log.RestoreDone(logger, request.Database, stopwatch.Elapsed.TotalSeconds);
            return new PostgresRestoreResult(request.Set.Id, request.Database, server.ToString(), request.Set.Manifest.Size, dumpBytes, Math.Round(downloadSeconds, 2), Math.Round(sectionsWatch.Elapsed.TotalSeconds, 2));
        }

        var args = new List<string>
        {
            $"--dbname=dbname={PostgresConnections.ConnInfoValue(request.Database)}",
            $"--jobs={jobs}",
            "--no-password",
            "--clean",
            "--if-exists",
        };
        args.AddRange(OwnershipOptions(request));
        args.Add(dumpPath);
        var restore = new ProcessStage("pg_restore", pgRestore, args)
        {
            Environment = env.Variables,
            RemoveEnvironmentPrefixes = ["PG"],
            Classify = (_, stderr) => PostgresConnections.ClassifyToolFailure("pg_restore", stderr, server, request.Database)
                ?? new BackupException(BackupErrorCodes.ToolFailed,
                    $"{PostgresConnections.FirstErrors(stderr)} (reported by pg_restore into database '{request.Database}' on {server}). The database may be partly restored: fix the cause and run the restore again (Mode=Recreate starts from an empty database)."),
        };
        var restoreWatch = Stopwatch.StartNew();
        await StreamPipeline.RunAsync(null, [restore], Stream.Null, logger, cancellationToken);
        Log.RestoreDone(logger, request.Database, stopwatch.Elapsed.TotalSeconds);
        return new PostgresRestoreResult(request.Set.Id, request.Database, server.ToString(), request.Set.Manifest.Size, dumpBytes, Math.Round(downloadSeconds, 2), Math.Round(restoreWatch.Elapsed.TotalSeconds, 2));
    }

    /// <summary>
    /// The database does not exist: it is created and restored while the backup downloads (<see cref="SectionedRestore"/>),
    /// so the download no longer comes before the restore. Any failure, a checksum mismatch found at the end
    /// included, drops the new database again.
    /// </summary>
    private async Task<PostgresRestoreResult> RestoreIntoNewDatabaseAsync(PostgresRestoreRequest request, string pgRestore, int jobs, PgEnvironment env, string temp, CancellationToken cancellationToken)
    {
        var server = request.Target;
        var archive = GrowingFile.Create(Path.Combine(temp, "restore.dump"));
        await CreateDatabaseAsync(server, request.Database, cancellationToken);
        var stopwatch = Stopwatch.StartNew();
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var downloadSeconds = 0.0;
        var download = DownloadIntoAsync();
        try
        {
            await Sections(request, pgRestore, env).RunAsync(archive, download, jobs, request.Set.Manifest.Tables, failed.Token);
        }
        catch (Exception restoreFailure)
        {
            await failed.CancelAsync();
            // A download failure (checksum, decryption, store) is the cause of whatever pg_restore then saw.
            var cause = await FailureOfAsync(download) ?? restoreFailure;
            await DropFailedRestoreAsync(server, request.Database);
            if (cancellationToken.IsCancellationRequested && cause is OperationCanceledException)
                throw new OperationCanceledException($"The restore into {request.Database} was cancelled; the new database was dropped.", cause, cancellationToken);
            ExceptionDispatchInfo.Throw(cause);
        }

        Log.RestoreDone(logger, request.Database, stopwatch.Elapsed.TotalSeconds);
        return new PostgresRestoreResult(request.Set.Id, request.Database, server.ToString(), request.Set.Manifest.Size, archive.Length, Math.Round(downloadSeconds, 2), Math.Round(stopwatch.Elapsed.TotalSeconds, 2))
        {
            WhileDownloading = true,
        };

        async Task DownloadIntoAsync()
        {
            try
            {
                await DecodeAsync(request.Set, request.Keys, archive.Path, failed.Token);
                downloadSeconds = stopwatch.Elapsed.TotalSeconds;
                archive.Complete();
            }
            catch (Exception ex)
            {
                archive.Fail(ex);
                throw;
            }
        }
    }

    private static async Task<Exception?> FailureOfAsync(Task download)
    {
        try
        {
            await download;
            return null;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }

    private SectionedRestore Sections(PostgresRestoreRequest request, string pgRestore, PgEnvironment env) =>
        new(pgRestore, env.Variables, request.Target, request.Database, [.. OwnershipOptions(request)], options.Value.SplitTableMinimumBytes, logger);

    private static IEnumerable<string> OwnershipOptions(PostgresRestoreRequest request)
    {
        if (request.NoOwner)
            yield return "--no-owner";
        if (request.NoPrivileges)
            yield return "--no-privileges";
    }

    public async Task<GlobalsRestoreResult> RestoreGlobalsAsync(BackupSet set, PostgresServer target, DecryptionKeys? keys, CancellationToken cancellationToken)
    {
        if (set.Manifest.Kind != BackupKinds.Globals)
            throw new BackupException(BackupErrorCodes.InvalidRequest, $"Backup set {set} is a '{set.Manifest.Kind}' backup, not PostgreSQL globals.");
        var psql = tools.Find("psql");
        var tempDirectory = await CreateTempDirectoryAsync($"restore of globals {set} (role password hashes, .pgpass)", cancellationToken);
        var temp = tempDirectory.Name;
        try
        {
            var sqlPath = Path.Combine(temp, "globals.sql");
            await DownloadAsync(set, keys, sqlPath, cancellationToken);
            var script = await File.ReadAllTextAsync(sqlPath, cancellationToken);
            await File.WriteAllTextAsync(sqlPath, GlobalsScript.KeepPasswordOf(script, target.Username), cancellationToken);
            using var env = PostgresConnections.CreateToolEnvironment(target, "postgres", temp);
            var result = await ToolRunner.RunAsync(psql, ["-X", "-q", "--no-password", "-v", "ON_ERROR_STOP=0", "-f", sqlPath], cancellationToken, env.Variables, TimeSpan.FromMinutes(10));
            if (PostgresConnections.ClassifyToolFailure("psql", result.StandardError, target, "postgres") is { } failure)
                throw failure;
            var errors = result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(l => l.Contains("ERROR:", StringComparison.Ordinal)).ToList();
            if (errors.Count > 0)
                Log.GlobalsErrors(logger, target.ToString(), errors.Count, errors[0]);
            return new GlobalsRestoreResult(set.Id, errors);
        }
        finally
        {
            await tempDirectory.DisposeAsync();
        }
    }

    /// <summary>Store → checksum → decrypt → decompress → private file. Returns the file size.</summary>
    private async Task<long> DownloadAsync(BackupSet set, DecryptionKeys? keys, string path, CancellationToken cancellationToken)
    {
        var file = GrowingFile.Create(path);
        await DecodeAsync(set, keys, path, cancellationToken);
        return file.Length;
    }

    /// <summary>
    /// Store → checksum → decrypt → decompress → the existing file at <paramref name="path"/>, written by the last
    /// program itself (zstd -d) when there is one.
    /// </summary>
    private async Task DecodeAsync(BackupSet set, DecryptionKeys? keys, string path, CancellationToken cancellationToken)
    {
        await using var decoding = await codecs.BeginDecodingAsync(set.Manifest, keys, cancellationToken);
        await using var source = await catalog.OpenReadAsync(set, set.Manifest.MainFile, cancellationToken);
        try
        {
            try
            {
                await StreamPipeline.RunAsync(source, decoding.Stages, path, logger, cancellationToken);
            }
            catch (BackupException ex) when (ex.Code != BackupErrorCodes.ChecksumMismatch && !cancellationToken.IsCancellationRequested)
            {
                // A tool failed part-way: corrupt bytes are the likelier cause; read the rest to tell.
                await DrainQuietlyAsync(source, ex, cancellationToken);
                throw;
            }
        }
        catch (Exception ex) when (ex is IOException && StoreErrors.IsDiskFull(ex) || ex is BackupException { Code: BackupErrorCodes.ToolFailed } && IsFull(path, ex))
        {
            // The decompressor writes the file itself: its "No space left on device" arrives as a tool failure.
            throw new BackupException(BackupErrorCodes.StoreFull,
                $"No space left in {Path.GetDirectoryName(path)} while decrypting backup set {set} for restore ({set.Manifest.Size} bytes stored, more once decompressed). The partial file was removed. Free space or set Postgres:TempDirectory to a larger volume.", innerException: ex);
        }
    }

    private static bool IsFull(string path, Exception failure)
    {
        if (failure.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase) || failure.Message.Contains("Disk quota exceeded", StringComparison.OrdinalIgnoreCase))
            return true;
        try
        {
            return new DriveInfo(Path.GetDirectoryName(path)!).AvailableFreeSpace == 0;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static async Task DrainQuietlyAsync(VerifyingReadStream source, BackupException original, CancellationToken cancellationToken)
    {
        try
        {
            await source.DrainAndVerifyAsync(cancellationToken);
        }
        catch (BackupException mismatch) when (mismatch.Code == BackupErrorCodes.ChecksumMismatch)
        {
            throw new BackupException(BackupErrorCodes.ChecksumMismatch, mismatch.Message + $" (The decoder had failed first: {original.Message})", innerException: original);
        }
        catch (Exception ex) when (ex is IOException or NotSupportedException or ObjectDisposedException or BackupException)
        {
            // The source cannot be read further; the original failure stands.
        }
    }

    private static async Task<bool> DatabaseExistsAsync(PostgresServer server, string database, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresConnections.OpenAsync(server, "postgres", cancellationToken);
        await using var check = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = @name)", connection);
        check.Parameters.AddWithValue("name", database);
        return (bool)(await check.ExecuteScalarAsync(cancellationToken))!;
    }

    private static Task CreateDatabaseAsync(PostgresServer server, string database, CancellationToken cancellationToken) =>
        ExecuteOnServerAsync(server, database, [$"CREATE DATABASE {PostgresConnections.QuoteIdentifier(database)} TEMPLATE template0"], cancellationToken);

    private static Task RecreateDatabaseAsync(PostgresServer server, string database, CancellationToken cancellationToken) =>
        ExecuteOnServerAsync(server, database,
            [$"DROP DATABASE IF EXISTS {PostgresConnections.QuoteIdentifier(database)} WITH (FORCE)", $"CREATE DATABASE {PostgresConnections.QuoteIdentifier(database)} TEMPLATE template0"],
            cancellationToken);

    /// <summary>Drops a database this restore created and could not finish; a failure to do so is logged, not thrown.</summary>
    private async Task DropFailedRestoreAsync(PostgresServer server, string database)
    {
        Log.DroppingFailedRestore(logger, database, server);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        try
        {
            await ExecuteOnServerAsync(server, database, [$"DROP DATABASE IF EXISTS {PostgresConnections.QuoteIdentifier(database)} WITH (FORCE)"], timeout.Token);
        }
        catch (Exception ex) when (ex is BackupException or NpgsqlException or OperationCanceledException or IOException)
        {
            Log.ThrowawayDropFailed(logger, database, server.ToString(), ex);
        }
    }

    private static async Task ExecuteOnServerAsync(PostgresServer server, string database, IReadOnlyList<string> statements, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresConnections.OpenAsync(server, "postgres", cancellationToken);
        try
        {
            foreach (var sql in statements)
                await ExecuteAsync(connection, sql, cancellationToken);
        }
        catch (PostgresException ex)
        {
            throw PostgresConnections.Translate(ex, server, database);
        }
    }

    internal static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 300 };
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>A private (0700) directory under Postgres:TempDirectory (default: the temp directory), in the throwaway ledger.</summary>
    private Task<ThrowawayLease> CreateTempDirectoryAsync(string purpose, CancellationToken cancellationToken) =>
        ledger.CreateDirectoryAsync(ThrowawayFiles.NewPath("drwrestore-", options.Value.TempDirectory), purpose, cancellationToken);
}
