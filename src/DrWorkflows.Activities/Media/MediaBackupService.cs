using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Storage;
using DrWorkflows.Activities.Throwaway;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Media;

/// <summary>Back up a directory (a mounted Docker volume).</summary>
public sealed record MediaBackupRequest(string Directory, string Source, string SetId)
{
    public string? Store { get; init; }

    public string? WorkflowInstanceId { get; init; }
}

/// <summary>What a media backup did.</summary>
public sealed record MediaBackupResult(string Store, string SetId, int Files, long TotalBytes, int Uploaded, long UploadedBytes, int Reused, IReadOnlyList<string> Skipped);

/// <summary>Restore a media set into a directory.</summary>
public sealed record MediaRestoreRequest(BackupSet Set, string Directory)
{
    /// <summary>Delete files in the target that the backup does not have (default false).</summary>
    public bool DeleteExtraneous { get; init; }
}

/// <summary>What a media restore did.</summary>
public sealed record MediaRestoreResult(string SetId, int Files, int Written, int AlreadyCurrent, int Deleted, long WrittenBytes);

/// <summary>
/// Media volumes: per-file SHA-256, content-addressed objects (<c>media/{source}/_objects/aa/&lt;sha256&gt;</c>) so that
/// only new or changed content is uploaded, and a file map per set (path → checksum → object).
/// </summary>
public interface IMediaBackupService
{
    Task<MediaBackupResult> BackupAsync(MediaBackupRequest request, CancellationToken cancellationToken);

    /// <summary>Writes every file whose content differs (each verified by SHA-256, written to a temp name then renamed).</summary>
    Task<MediaRestoreResult> RestoreAsync(MediaRestoreRequest request, CancellationToken cancellationToken);

    /// <summary>Reads the file map of a set.</summary>
    Task<MediaFileMap> ReadFileMapAsync(BackupSet set, CancellationToken cancellationToken);

    /// <summary>Deletes content objects that no remaining set references (older than the grace period).</summary>
    Task<int> CollectGarbageAsync(string? store, bool dryRun, CancellationToken cancellationToken);
}

internal sealed class MediaBackupService(
    IBackupCatalog catalog,
    IBackupStoreProvider stores,
    IOptions<MediaBackupOptions> options,
    TimeProvider clock,
    IThrowawayLedger ledger,
    ILogger<MediaBackupService> logger) : IMediaBackupService
{
    private const int MaxAttempts = 3;

    public static string ObjectPrefix(string source) => $"{BackupKinds.Media}/{BackupKeys.Segment(source)}/_objects/";

    public async Task<MediaBackupResult> BackupAsync(MediaBackupRequest request, CancellationToken cancellationToken)
    {
        var root = Path.GetFullPath(request.Directory);
        if (!Directory.Exists(root))
            throw new BackupException(BackupErrorCodes.InvalidRequest, $"Media directory {root} does not exist. Give the host path of the volume (docker volume inspect … Mountpoint) or mount it into the orchestrator.");
        var store = stores.Get(request.Store);
        var objectPrefix = ObjectPrefix(request.Source);

        var existing = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        await foreach (var item in store.ListAsync(objectPrefix, cancellationToken))
            existing[item.Key] = item.Size;

        var previous = options.Value.ReuseChecksumsOfUnchangedFiles ? await PreviousMapAsync(store.Name, request.Source, cancellationToken) : null;
        var map = new MediaFileMap { ObjectPrefix = objectPrefix };
        var files = new List<(FileInfo File, string Relative)>();
        Walk(new DirectoryInfo(root), root, files, map, cancellationToken);

        var entries = new ConcurrentBag<MediaFileEntry>();
        var skipped = new ConcurrentBag<string>(map.Skipped);
        var uploaded = 0;
        long uploadedBytes = 0;
        // A file counts as uploaded when its content was not in the store before this run; identical files
        // backed up in parallel then count the same whichever of them wrote the object first.
        var storedBefore = new HashSet<string>(existing.Keys, StringComparer.Ordinal);
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = options.Value.Parallelism, CancellationToken = cancellationToken }, async (item, ct) =>
        {
            var (file, relative) = item;
            try
            {
                var entry = await BackupFileAsync(store, file, relative, objectPrefix, existing, previous, ct);
                if (entry is null)
                {
                    skipped.Add($"{relative}: changed during every one of {MaxAttempts} attempts");
                    return;
                }

                entries.Add(entry.Value.Entry);
                if (entry.Value.Uploaded || !storedBefore.Contains(entry.Value.Entry.Key))
                {
                    Interlocked.Increment(ref uploaded);
                    Interlocked.Add(ref uploadedBytes, entry.Value.Entry.Size);
                }
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                skipped.Add($"{relative}: deleted during the backup");
            }
            catch (UnauthorizedAccessException ex)
            {
                skipped.Add($"{relative}: unreadable ({ex.Message})");
            }
            catch (IOException ex) when (!StoreErrors.IsDiskFull(ex))
            {
                skipped.Add($"{relative}: read error ({ex.Message})");
            }
        });

        map.Files = [.. entries.OrderBy(e => e.Path, StringComparer.Ordinal)];
        map.Skipped = [.. skipped.Order(StringComparer.Ordinal)];
        foreach (var reason in map.Skipped)
            Log.FileSkipped(logger, reason);

        await using var set = await catalog.BeginAsync(new BackupSetRequest(BackupKinds.Media, request.Source, request.SetId) { Store = store.Name }, cancellationToken);
        await using (var writer = await set.CreateFileAsync(MediaFileMap.FileName, cancellationToken))
        {
            await writer.WriteAsync(map.ToJsonBytes(), cancellationToken);
            await writer.CommitAsync(cancellationToken);
        }

        var total = map.Files.Sum(f => f.Size);
        var manifest = set.Manifest;
        manifest.Origin = root;
        manifest.Compression = "none";
        manifest.Tools["drworkflows-media"] = "1";
        manifest.WorkflowInstanceId = request.WorkflowInstanceId;
        manifest.Properties["objectPrefix"] = objectPrefix;
        manifest.Properties["files"] = map.Files.Count.ToString(CultureInfo.InvariantCulture);
        manifest.Properties["contentBytes"] = total.ToString(CultureInfo.InvariantCulture);
        manifest.Properties["uploadedFiles"] = uploaded.ToString(CultureInfo.InvariantCulture);
        manifest.Properties["skipped"] = map.Skipped.Count.ToString(CultureInfo.InvariantCulture);
        manifest.CompletedAt = clock.GetUtcNow();
        var completed = await set.CompleteAsync(clock, cancellationToken);
        Log.MediaBackedUp(logger, root, map.Files.Count, uploaded, uploadedBytes, store.Location);
        return new MediaBackupResult(store.Name, completed.Id, map.Files.Count, total, uploaded, uploadedBytes, map.Files.Count - uploaded, map.Skipped);
    }

    private static void Walk(DirectoryInfo directory, string root, List<(FileInfo, string)> files, MediaFileMap map, CancellationToken cancellationToken)
    {
        var any = false;
        foreach (var entry in directory.EnumerateFileSystemInfos())
        {
            cancellationToken.ThrowIfCancellationRequested();
            any = true;
            var relative = Path.GetRelativePath(root, entry.FullName).Replace(Path.DirectorySeparatorChar, '/');
            if (entry.LinkTarget is not null)
            {
                map.Skipped.Add($"{relative}: symbolic link to {entry.LinkTarget} (not followed)");
                continue;
            }

            switch (entry)
            {
                case DirectoryInfo sub:
                    try
                    {
                        Walk(sub, root, files, map, cancellationToken);
                    }
                    catch (UnauthorizedAccessException ex)
                    {
                        map.Skipped.Add($"{relative}/: unreadable directory ({ex.Message})");
                    }

                    break;
                case FileInfo file:
                    files.Add((file, relative));
                    break;
            }
        }

        if (!any && !string.Equals(directory.FullName.TrimEnd(Path.DirectorySeparatorChar), root.TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal))
            map.EmptyDirectories.Add(Path.GetRelativePath(root, directory.FullName).Replace(Path.DirectorySeparatorChar, '/'));
    }

    private async Task<(MediaFileEntry Entry, bool Uploaded)?> BackupFileAsync(
        IBackupStore store, FileInfo file, string relative, string objectPrefix, ConcurrentDictionary<string, long> existing, Dictionary<string, MediaFileEntry>? previous, CancellationToken cancellationToken)
    {
        for (var attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            file.Refresh();
            var modified = new DateTimeOffset(file.LastWriteTimeUtc);
            var mode = OperatingSystem.IsWindows() ? null : Convert.ToString((int)file.UnixFileMode, 8);
            string sha;
            if (previous is not null && previous.TryGetValue(relative, out var old) && old.Size == file.Length && old.Modified == modified && existing.ContainsKey(old.Key))
                sha = old.Sha256;
            else
                sha = await HashFileAsync(file.FullName, cancellationToken);

            var key = $"{objectPrefix}{sha[..2]}/{sha}";
            var entry = new MediaFileEntry { Path = relative, Size = file.Length, Sha256 = sha, Key = key, Modified = modified, Mode = mode };
            if (existing.TryGetValue(key, out var size) && size == file.Length)
                return (entry, false);

            // Upload while hashing again: the object is committed only if the content is still the one hashed.
            await using var writer = await store.CreateWriterAsync(key, cancellationToken);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long length = 0;
            await using (var stream = new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 0, FileOptions.Asynchronous | FileOptions.SequentialScan))
            {
                var buffer = new byte[Math.Clamp((int)Math.Min(file.Length, 1 << 20), 4096, 1 << 20)];
                int read;
                while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    hash.AppendData(buffer, 0, read);
                    length += read;
                    await writer.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }
            }

            if (!string.Equals(Convert.ToHexStringLower(hash.GetHashAndReset()), sha, StringComparison.Ordinal))
            {
                Log.FileChanged(logger, relative, attempt);
                continue; // disposed without commit: nothing stored
            }

            await writer.CommitAsync(cancellationToken);
            existing[key] = length;
            entry.Size = length;
            return (entry, true);
        }

        return null;
    }

    private static async Task<string> HashFileAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));
    }

    private async Task<Dictionary<string, MediaFileEntry>?> PreviousMapAsync(string store, string source, CancellationToken cancellationToken)
    {
        var sets = await catalog.ListAsync(store, BackupKinds.Media, source, cancellationToken);
        if (sets.Count == 0)
            return null;
        var latest = sets[0];
        var map = await ReadFileMapAsync(latest, cancellationToken);
        return map.Files.ToDictionary(f => f.Path, StringComparer.Ordinal);
    }

    public async Task<MediaFileMap> ReadFileMapAsync(BackupSet set, CancellationToken cancellationToken)
    {
        if (set.Manifest.Kind != BackupKinds.Media)
            throw new BackupException(BackupErrorCodes.InvalidRequest, $"Backup set {set} is a '{set.Manifest.Kind}' backup, not a media backup.");
        var entry = set.Manifest.Files.FirstOrDefault(f => f.Name == MediaFileMap.FileName)
            ?? throw new BackupException(BackupErrorCodes.ChecksumMismatch, $"Backup set {set} has no {MediaFileMap.FileName}; it is unusable.");
        await using var stream = await catalog.OpenReadAsync(set, entry, cancellationToken);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken);
        return MediaFileMap.Parse(buffer.ToArray());
    }

    public async Task<MediaRestoreResult> RestoreAsync(MediaRestoreRequest request, CancellationToken cancellationToken)
    {
        var map = await ReadFileMapAsync(request.Set, cancellationToken);
        var store = stores.Get(request.Set.Store);
        var root = Path.GetFullPath(request.Directory);
        Directory.CreateDirectory(root);
        var written = 0;
        var current = 0;
        long writtenBytes = 0;
        // Files are downloaded into one staging folder inside the target (same file system: the move is a rename). It
        // is in the throwaway ledger, so partial files left by a crash are removed by the janitor.
        await using var staging = await ledger.CreateDirectoryAsync(Path.Combine(root, $".drw-restore-{Guid.NewGuid().ToString("N")[..12]}"), $"staging of the media restore of {request.Set} into {root}", cancellationToken);
        await Parallel.ForEachAsync(map.Files, new ParallelOptions { MaxDegreeOfParallelism = options.Value.Parallelism, CancellationToken = cancellationToken }, async (entry, ct) =>
        {
            var target = SafePath(root, entry.Path);
            if (File.Exists(target) && new FileInfo(target).Length == entry.Size && await HashFileAsync(target, ct) == entry.Sha256)
            {
                Interlocked.Increment(ref current);
                return;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            var temp = Path.Combine(staging.Name, $"{Guid.NewGuid():N}.partial");
            try
            {
                await using (var source = await store.OpenReadAsync(entry.Key, ct))
                await using (var verifying = new VerifyingReadStream(source, new BackupFileEntry { Key = entry.Key, Name = entry.Path, Size = entry.Size, Sha256 = entry.Sha256 }, $"{entry.Path} (object {entry.Key} in the {store.Location})"))
                await using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0, FileOptions.Asynchronous))
                {
                    await verifying.CopyToAsync(output, 1 << 20, ct);
                }

                File.Move(temp, target, overwrite: true);
                File.SetLastWriteTimeUtc(target, entry.Modified.UtcDateTime);
                if (!OperatingSystem.IsWindows() && entry.Mode is { Length: > 0 } mode)
                    File.SetUnixFileMode(target, (UnixFileMode)Convert.ToInt32(mode, 8));
                Interlocked.Increment(ref written);
                Interlocked.Add(ref writtenBytes, entry.Size);
            }
            catch (Exception ex)
            {
                TryDelete(temp);
                if (ex is IOException io && StoreErrors.IsDiskFull(io))
                    throw new BackupException(BackupErrorCodes.StoreFull, $"No space left in {root} while restoring {entry.Path}. The partial file was removed; free space and run RestoreMedia again (files already restored are skipped).", innerException: ex);
                throw;
            }
        });

        await staging.DisposeAsync();
        foreach (var directory in map.EmptyDirectories)
            Directory.CreateDirectory(SafePath(root, directory));

        var deleted = 0;
        if (request.DeleteExtraneous)
        {
            var wanted = map.Files.Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
            foreach (var file in Directory.EnumerateFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
            {
                var relative = Path.GetRelativePath(root, file).Replace(Path.DirectorySeparatorChar, '/');
                if (!wanted.Contains(relative))
                {
                    File.Delete(file);
                    deleted++;
                }
            }
        }

        Log.MediaRestored(logger, root, request.Set.Id, written, current, deleted);
        return new MediaRestoreResult(request.Set.Id, map.Files.Count, written, current, deleted, writtenBytes);
    }

    public async Task<int> CollectGarbageAsync(string? store, bool dryRun, CancellationToken cancellationToken)
    {
        var target = stores.Get(store);
        var sets = await catalog.ListAsync(target.Name, BackupKinds.Media, null, cancellationToken);
        var referenced = new HashSet<string>(StringComparer.Ordinal);
        foreach (var set in sets)
        {
            foreach (var file in (await ReadFileMapAsync(set, cancellationToken)).Files)
                referenced.Add(file.Key);
        }

        var cutoff = clock.GetUtcNow() - options.Value.UnreferencedObjectGrace;
        var removed = 0;
        await foreach (var item in target.ListAsync(BackupKinds.Media + "/", cancellationToken))
        {
            if (!item.Key.Contains("/_objects/", StringComparison.Ordinal) || referenced.Contains(item.Key) || item.LastModified > cutoff)
                continue;
            removed++;
            if (!dryRun)
                await target.DeleteAsync(item.Key, cancellationToken);
        }

        return removed;
    }

    private static string SafePath(string root, string relative)
    {
        var path = Path.GetFullPath(Path.Combine(root, relative.Replace('/', Path.DirectorySeparatorChar)));
        if (!path.StartsWith(root.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new BackupException(BackupErrorCodes.InvalidRequest, $"The media backup lists path '{relative}', which leaves the target directory; the set was refused.");
        return path;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
    }
}
