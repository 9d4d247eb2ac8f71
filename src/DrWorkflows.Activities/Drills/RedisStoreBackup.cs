using System.Globalization;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Backups.Pipeline;
using DrWorkflows.Activities.Redis;
using DrWorkflows.Activities.Throwaway;
using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Drills;

/// <summary>A Redis dump fetched from a backup store into a local file, ready for <c>RestoreRedis</c>.</summary>
public sealed record FetchedRedisBackup(string Store, string SetId, string Path, DateTimeOffset TakenAt, long Keys, long Bytes);

/// <summary>
/// Redis snapshots as backup sets (kind <c>redis</c>), so that they get the same compression, encryption,
/// checksums, manifests, retention and restore-point selection as the database dumps, in the local store and in S3.
/// </summary>
public interface IRedisStoreBackup
{
    /// <summary>BGSAVE, then the RDB streamed through compression and encryption into the store (never a full-size temp file).</summary>
    Task<BackupSet> BackupAsync(string source, string setId, string? store, string? workflowInstanceId, CancellationToken cancellationToken);

    /// <summary>Downloads a set (the newest when <paramref name="setId"/> is null), verifies its checksum, decrypts and decompresses it to <paramref name="path"/>.</summary>
    Task<FetchedRedisBackup> FetchAsync(string source, string? setId, string? store, string path, DecryptionKeys? keys, CancellationToken cancellationToken);
}

internal sealed class RedisStoreBackup(IBackupCatalog catalog, IBackupCodecs codecs, IRedisService redis, IThrowawayLedger ledger, TimeProvider clock, ILogger<RedisStoreBackup> logger) : IRedisStoreBackup
{
    public async Task<BackupSet> BackupAsync(string source, string setId, string? store, string? workflowInstanceId, CancellationToken cancellationToken)
    {
        await using var encoding = await codecs.BeginEncodingAsync(cancellationToken);
        await using var set = await catalog.BeginAsync(new BackupSetRequest(BackupKinds.Redis, source, setId) { Store = store }, cancellationToken);
        await using var file = await set.CreateFileAsync($"dump.rdb{encoding.Suffix}", cancellationToken);
        var snapshot = await redis.SnapshotAsync((dump, ct) => StreamPipeline.RunAsync(dump, encoding.Stages, file, logger, ct), cancellationToken);
        await file.CommitAsync(cancellationToken);
        var manifest = set.Manifest;
        manifest.StartedAt = snapshot.SavedAt;
        manifest.CompletedAt = clock.GetUtcNow();
        manifest.Origin = snapshot.Server;
        manifest.Compression = encoding.Compression;
        manifest.Encryption = encoding.Encryption;
        foreach (var (tool, version) in encoding.Tools)
            manifest.Tools[tool] = version;
        manifest.WorkflowInstanceId = workflowInstanceId;
        manifest.Properties["format"] = "rdb";
        manifest.Properties["keys"] = snapshot.Keys.ToString(CultureInfo.InvariantCulture);
        manifest.Properties["rdbBytes"] = snapshot.Bytes.ToString(CultureInfo.InvariantCulture);
        manifest.Properties["rdbSha256"] = snapshot.Sha256;
        return await set.CompleteAsync(clock, cancellationToken);
    }

    public async Task<FetchedRedisBackup> FetchAsync(string source, string? setId, string? store, string path, DecryptionKeys? keys, CancellationToken cancellationToken)
    {
        var set = setId is null
            ? (await catalog.FindRestorePointAsync(new RestorePointQuery(BackupKinds.Redis, source) { Store = store, RequireVerified = false }, cancellationToken)).SelectedSet
            : await catalog.FindAsync(store, BackupKinds.Redis, source, setId, cancellationToken);
        if (set is null)
        {
            throw new BackupException(BackupErrorCodes.NoRestorePoint,
                $"No Redis backup of '{source}'{(setId is null ? string.Empty : $" with id {setId}")} exists in store '{store ?? "default"}'. Run BackupRedis first, or restore Redis from an RDB file.");
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.part");
        // The partial file is Redis's data in clear: in the ledger (and 0600), so a crash does not leave it behind.
        await using var partial = await ledger.RecordAsync(ThrowawaySpec.File(temp, $"partial download of Redis set {set}"), _ => ThrowawayFiles.DeleteFileAsync(temp), cancellationToken);
        try
        {
            await using (var decoding = await codecs.BeginDecodingAsync(set.Manifest, keys, cancellationToken))
            await using (var stored = await catalog.OpenReadAsync(set, set.Manifest.MainFile, cancellationToken))
            await using (var output = new FileStream(temp, PrivateFile()))
            {
                await StreamPipeline.RunAsync(stored, decoding.Stages, output, logger, cancellationToken);
                await stored.DrainAndVerifyAsync(cancellationToken);
            }

            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            await partial.DisposeAsync();
        }

        var keysCount = set.Manifest.Properties.TryGetValue("keys", out var text) && long.TryParse(text, CultureInfo.InvariantCulture, out var k) ? k : 0;
        return new FetchedRedisBackup(set.Store, set.Id, Path.GetFullPath(path), set.Manifest.StartedAt, keysCount, new FileInfo(path).Length);
    }

    private static FileStreamOptions PrivateFile()
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 1 << 16, Options = FileOptions.Asynchronous };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = ThrowawayFiles.PrivateFileMode;
        return options;
    }
}
