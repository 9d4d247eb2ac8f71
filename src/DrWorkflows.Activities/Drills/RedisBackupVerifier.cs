using System.Diagnostics;
using System.Security.Cryptography;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Redis;
using DrWorkflows.Activities.Storage;
using DrWorkflows.Activities.Throwaway;
using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Drills;

/// <summary>
/// Verifies the Redis backup sets (kind <c>redis</c>) that were never verified, in every store (the offsite copy too):
/// each set is read back from that store, checked against its manifest, decrypted and decompressed, its SHA-256
/// compared with the one taken of the RDB when it was written, and the RDB parsed key by key by Redis's own checker
/// (<see cref="IRedisDumpChecker"/>: every key, the CRC64). The verdict is recorded in that store's manifest of the
/// set, as for the database dumps; a repeat finds nothing new to verify.
/// </summary>
public sealed class RedisBackupVerifier(
    IBackupCatalog catalog,
    IRedisStoreBackup backups,
    IRedisDumpChecker checker,
    IBackupStoreProvider stores,
    IThrowawayLedger ledger,
    TimeProvider clock,
    ILogger<RedisBackupVerifier> logger)
{
    public async Task<ArchiveVerification> VerifyNewAsync(string source, IReadOnlyList<string>? storeNames, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(source);
        var directory = ThrowawayFiles.NewPath("drw-redis-verify-");
        // The decoded RDB is Redis's data in clear: a private directory, in the ledger, so a crash does not leave it behind.
        await using var lease = await ledger.CreateDirectoryAsync(directory, $"Redis backups of '{source}' being verified", cancellationToken);
        var result = await UnverifiedSetSweep.RunAsync(
            catalog, stores, BackupKinds.Redis, source, storeNames,
            (store, set, ct) => VerifyAsync(store, set, Path.Combine(directory, $"{store}-{set.Id}.rdb"), ct),
            cancellationToken);
        Log.RedisBackupsVerified(logger, source, result.Verified.Count, result.Problems.Count);
        return result;
    }

    private async Task<BackupVerificationRecord> VerifyAsync(string store, BackupSet set, string path, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        var record = new BackupVerificationRecord { At = clock.GetUtcNow() };
        var properties = set.Manifest.Properties;
        try
        {
            await backups.FetchAsync(set.Source, set.Id, store, path, null, cancellationToken);
            var checks = new List<string> { $"read back from store '{store}', checked against the manifest, decoded" };
            if (properties.TryGetValue("rdbSha256", out var expected))
            {
                string actual;
                await using (var rdb = File.OpenRead(path))
                    actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(rdb, cancellationToken));
                if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
                    record.Problems.Add($"the decoded RDB's SHA-256 {actual[..12]}... is not the {expected[..Math.Min(12, expected.Length)]}... recorded when it was written");
                else
                    checks.Add("the RDB's SHA-256 as written");
            }
            else
            {
                checks.Add("no SHA-256 of the RDB in the manifest (an older set): the checker's verdict only");
            }

            var check = await checker.CheckAsync(path, cancellationToken);
            if (check.Passed)
                checks.Add(check.Detail + (properties.TryGetValue("keys", out var keys) ? $" ({keys} when the snapshot was taken)" : string.Empty));
            else
                record.Problems.Add(check.Detail);
            record.Method = string.Join(", ", checks);
        }
        catch (Exception ex) when (ex is BackupException or RedisOperationException or InvalidDataException or IOException && !cancellationToken.IsCancellationRequested)
        {
            record.Problems.Add(ex.Message);
            record.Method = $"read back from store '{store}'";
        }
        finally
        {
            await ThrowawayFiles.DeleteFileAsync(path);
        }

        record.Succeeded = record.Problems.Count == 0;
        record.DurationSeconds = Math.Round(watch.Elapsed.TotalSeconds, 3);
        return record;
    }
}
