using System.Diagnostics;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Backups.Pipeline;
using DrWorkflows.Activities.Storage;
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

/// <summary>What a restore did.</summary>
public sealed record PostgresRestoreResult(string SetId, string Database, string Target, long StoredBytes, long DumpBytes, double DownloadSeconds, double RestoreSeconds);

/// <summary>Restores PostgreSQL backup sets.</summary>
public interface IPostgresRestoreService
{
    /// <summary>
    /// Download → verify checksum → decrypt → decompress into a private temporary file (pg_restore -j needs a
    /// seekable file), then <c>pg_restore -j N</c> into the target. Nothing reaches pg_restore before the whole
    /// file matched its SHA-256. The temporary file is always deleted.
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
        Log.RestoreStarting(logger, request.Set, request.Database, server, request.Mode, jobs);

        var temp = CreateTempDirectory();
        try
        {
            var stopwatch = Stopwatch.StartNew();
            var dumpPath = Path.Combine(temp, "restore.dump");
            var dumpBytes = await DownloadAsync(request.Set, request.Keys, dumpPath, temp, cancellationToken);
            var downloadSeconds = stopwatch.Elapsed.TotalSeconds;

            await PrepareDatabaseAsync(server, request.Database, request.Mode, cancellationToken);
            using var env = PostgresConnections.CreateToolEnvironment(server, request.Database, temp);
            var args = new List<string>
            {
                $"--dbname=dbname={PostgresConnections.ConnInfoValue(request.Database)}",
                $"--jobs={jobs}",
                "--no-password",
            };
            if (request.Mode == RestoreMode.Clean)
                args.AddRange(["--clean", "--if-exists"]);
            if (request.NoOwner)
                args.Add("--no-owner");
            if (request.NoPrivileges)
                args.Add("--no-privileges");
            args.Add(dumpPath);
            var restore = new ProcessStage("pg_restore", pgRestore, args)
            {
                Environment = env.Variables,
                RemoveEnvironmentPrefixes = ["PG"],
                Classify = (_, stderr) => PostgresConnections.ClassifyToolFailure("pg_restore", stderr, server, request.Database)
                    ?? new BackupException(BackupErrorCodes.ToolFailed,
                        $"pg_restore into database '{request.Database}' on {server} reported errors: {PostgresConnections.LastLines(stderr)}. The database may be partly restored: fix the cause and run the restore again (Mode=Recreate starts from an empty database)."),
            };
            var restoreWatch = Stopwatch.StartNew();
            await StreamPipeline.RunAsync(null, [restore], Stream.Null, logger, cancellationToken);
            Log.RestoreDone(logger, request.Database, restoreWatch.Elapsed.TotalSeconds);
            return new PostgresRestoreResult(request.Set.Id, request.Database, server.ToString(), manifest.Size, dumpBytes, Math.Round(downloadSeconds, 2), Math.Round(restoreWatch.Elapsed.TotalSeconds, 2));
        }
        finally
        {
            PostgresBackupService.TryDeleteDirectory(temp);
        }
    }

    public async Task<GlobalsRestoreResult> RestoreGlobalsAsync(BackupSet set, PostgresServer target, DecryptionKeys? keys, CancellationToken cancellationToken)
    {
        if (set.Manifest.Kind != BackupKinds.Globals)
            throw new BackupException(BackupErrorCodes.InvalidRequest, $"Backup set {set} is a '{set.Manifest.Kind}' backup, not PostgreSQL globals.");
        var psql = tools.Find("psql");
        var temp = CreateTempDirectory();
        try
        {
            var sqlPath = Path.Combine(temp, "globals.sql");
            await DownloadAsync(set, keys, sqlPath, temp, cancellationToken);
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
            PostgresBackupService.TryDeleteDirectory(temp);
        }
    }

    /// <summary>Store → checksum → decrypt → decompress → private file. Returns the file size.</summary>
    private async Task<long> DownloadAsync(BackupSet set, DecryptionKeys? keys, string path, string temp, CancellationToken cancellationToken)
    {
        await using var decoding = await codecs.BeginDecodingAsync(set.Manifest, keys, cancellationToken);
        await using var source = await catalog.OpenReadAsync(set, set.Manifest.MainFile, cancellationToken);
        var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, BufferSize = 0, Options = FileOptions.Asynchronous };
        if (!OperatingSystem.IsWindows())
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            await using var file = new FileStream(path, fileOptions);
            try
            {
                await StreamPipeline.RunAsync(source, decoding.Stages, file, logger, cancellationToken);
            }
            catch (BackupException ex) when (ex.Code != BackupErrorCodes.ChecksumMismatch && !cancellationToken.IsCancellationRequested)
            {
                // A tool failed part-way: corrupt bytes are the likelier cause; read the rest to tell.
                await DrainQuietlyAsync(source, ex, cancellationToken);
                throw;
            }

            await file.FlushAsync(cancellationToken);
            return file.Length;
        }
        catch (IOException ex) when (StoreErrors.IsDiskFull(ex))
        {
            throw new BackupException(BackupErrorCodes.StoreFull,
                $"No space left in {Path.GetDirectoryName(path)} while decrypting backup set {set} for restore ({set.Manifest.Size} bytes stored, more once decompressed). The partial file was removed. Free space or set Postgres:TempDirectory to a larger volume.", innerException: ex);
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

    private async Task PrepareDatabaseAsync(PostgresServer server, string database, RestoreMode mode, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresConnections.OpenAsync(server, "postgres", cancellationToken);
        bool exists;
        await using (var check = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = @name)", connection))
        {
            check.Parameters.AddWithValue("name", database);
            exists = (bool)(await check.ExecuteScalarAsync(cancellationToken))!;
        }

        var quoted = PostgresConnections.QuoteIdentifier(database);
        try
        {
            switch (mode)
            {
                case RestoreMode.CreateNew when exists:
                    throw new BackupException(BackupErrorCodes.RestoreTarget,
                        $"Database '{database}' already exists on {server}. Restore into another name, or use Mode=Clean (restore over it) or Mode=Recreate (drop it first).");
                case RestoreMode.Recreate when exists:
                    await ExecuteAsync(connection, $"DROP DATABASE {quoted} WITH (FORCE)", cancellationToken);
                    await ExecuteAsync(connection, $"CREATE DATABASE {quoted} TEMPLATE template0", cancellationToken);
                    break;
                case RestoreMode.Recreate:
                case RestoreMode.CreateNew:
                case RestoreMode.Clean when !exists:
                    await ExecuteAsync(connection, $"CREATE DATABASE {quoted} TEMPLATE template0", cancellationToken);
                    break;
            }
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

    private string CreateTempDirectory()
    {
        var root = options.Value.TempDirectory;
        if (string.IsNullOrWhiteSpace(root))
            return BackupCodecs.CreatePrivateDirectory("drwrestore");
        var path = Path.Combine(root, "drwrestore-" + Guid.NewGuid().ToString("N")[..12]);
        if (OperatingSystem.IsWindows())
            Directory.CreateDirectory(path);
        else
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }
}
