using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Storage;
using DrWorkflows.Activities.Throwaway;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Media;

/// <summary>
/// Verifies the media backup sets never verified, in every store that holds them (the primary and the offsite copy
/// alike), by restoring each one: the set is restored from that store (<see cref="IMediaBackupService.RestoreAsync"/>,
/// every content object read back and checked against its SHA-256 on the way) into a throwaway folder, then the folder
/// is read back and compared with the set's file map and manifest: the same files and no others (count), each with its
/// size and SHA-256 hashed again from disk, the empty folders, the total bytes. The folder is in the throwaway ledger and
/// removed after each set, so a crash leaves nothing the janitor does not clean. The verdict is recorded in that store's
/// manifest of the set, as for the other kinds; the objectives report reads it from there.
/// </summary>
public sealed class MediaSetVerifier(
    IBackupCatalog catalog,
    IMediaBackupService media,
    IBackupStoreProvider stores,
    IThrowawayLedger ledger,
    IOptions<MediaBackupOptions> options,
    TimeProvider clock,
    ILogger<MediaSetVerifier> logger)
{
    public async Task<ArchiveVerification> VerifyNewAsync(string source, IReadOnlyList<string>? storeNames, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(source);
        var directory = ThrowawayFiles.NewPath("drw-media-verify-", options.Value.VerificationDirectory);
        // The restored files are the customers' uploads: a private folder, in the ledger, removed however this ends.
        await using var lease = await ledger.CreateDirectoryAsync(directory, $"media backups of '{source}' restored to be verified", cancellationToken);
        var result = await UnverifiedSetSweep.RunAsync(
            catalog, stores, BackupKinds.Media, source, storeNames,
            (store, set, ct) => VerifyAsync(store, set, Path.Combine(directory, $"{store}-{set.Id}"), ct),
            cancellationToken);
        Log.MediaBackupsVerified(logger, source, result.Verified.Count, result.Problems.Count);
        return result;
    }

    private async Task<BackupVerificationRecord> VerifyAsync(string store, BackupSet set, string target, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        var record = new BackupVerificationRecord { At = clock.GetUtcNow() };
        var checkedFiles = 0;
        long checkedBytes = 0;
        try
        {
            var map = await media.ReadFileMapAsync(set, cancellationToken);
            await media.RestoreAsync(new MediaRestoreRequest(set, target), cancellationToken);
            (checkedFiles, checkedBytes) = await CompareAsync(set, map, target, record.Problems, cancellationToken);
        }
        catch (Exception ex) when (ex is BackupException or InvalidDataException or IOException or UnauthorizedAccessException or System.Text.Json.JsonException && !cancellationToken.IsCancellationRequested)
        {
            record.Problems.Add($"the restore from store '{store}' failed: {ex.Message}");
        }
        finally
        {
            await ThrowawayFiles.DeleteDirectoryAsync(target);
        }

        record.Succeeded = record.Problems.Count == 0;
        record.DurationSeconds = watch.Elapsed.TotalSeconds;
        record.Method = $"restored from store '{store}' into a throwaway folder and read back: {checkedFiles} file(s), {checkedBytes} bytes, each file's size and SHA-256 as in the file map, no file missing or extra";
        if (!record.Succeeded)
            Log.MediaSetNotVerified(logger, set.ToString(), string.Join("; ", record.Problems));
        return record;
    }

    /// <summary>The restored folder against the file map and the manifest; returns the files and bytes that matched.</summary>
    private static async Task<(int Files, long Bytes)> CompareAsync(BackupSet set, MediaFileMap map, string root, List<string> problems, CancellationToken cancellationToken)
    {
        var properties = set.Manifest.Properties;
        if (properties.TryGetValue("files", out var recorded) && recorded != map.Files.Count.ToString(CultureInfo.InvariantCulture))
            problems.Add($"the manifest records {recorded} file(s), the file map lists {map.Files.Count}");
        var mapBytes = map.Files.Sum(f => f.Size);
        if (properties.TryGetValue("contentBytes", out var bytes) && bytes != mapBytes.ToString(CultureInfo.InvariantCulture))
            problems.Add($"the manifest records {bytes} bytes, the file map's files add up to {mapBytes}");

        var onDisk = Directory.Exists(root)
            ? Directory.EnumerateFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
                .Select(f => Path.GetRelativePath(root, f).Replace(Path.DirectorySeparatorChar, '/'))
                .ToHashSet(StringComparer.Ordinal)
            : [];
        if (onDisk.Count != map.Files.Count)
            problems.Add($"the restore holds {onDisk.Count} file(s), the file map lists {map.Files.Count}");
        foreach (var extra in onDisk.Except(map.Files.Select(f => f.Path), StringComparer.Ordinal).Order(StringComparer.Ordinal).Take(10))
            problems.Add($"{extra}: restored but not in the file map");

        var files = 0;
        long matched = 0;
        foreach (var entry in map.Files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var path = Path.Combine(root, entry.Path);
            if (!onDisk.Contains(entry.Path))
            {
                problems.Add($"{entry.Path}: in the file map, missing from the restore");
                continue;
            }

            var size = new FileInfo(path).Length;
            if (size != entry.Size)
            {
                problems.Add($"{entry.Path}: restored with {size} bytes, the file map records {entry.Size}");
                continue;
            }

            string sha256;
            await using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan))
                sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));
            if (!string.Equals(sha256, entry.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                problems.Add($"{entry.Path}: restored with SHA-256 {sha256[..12]}..., the file map records {entry.Sha256[..Math.Min(12, entry.Sha256.Length)]}...");
                continue;
            }

            files++;
            matched += size;
        }

        foreach (var directory in map.EmptyDirectories.Where(d => !Directory.Exists(Path.Combine(root, d))))
            problems.Add($"{directory}/: an empty folder of the backup, missing from the restore");
        return (files, matched);
    }
}
