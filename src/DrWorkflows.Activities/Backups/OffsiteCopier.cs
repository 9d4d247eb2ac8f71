using DrWorkflows.Activities.Media;
using DrWorkflows.Activities.Storage;
using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Backups;

/// <summary>Which sets <see cref="IOffsiteCopier"/> copies.</summary>
public sealed record OffsiteCopyRequest
{
    /// <summary>Store to copy from; null for the default store.</summary>
    public string? From { get; init; }

    /// <summary>Only this kind; null for every kind.</summary>
    public string? Kind { get; init; }
}

/// <summary>
/// What an offsite copy did: each set copied and checked there (<c>kind/source/setId</c>), the sets the offsite store
/// already held, the sets left out because they are older than the offsite retention (they would be deleted at once), and
/// the bytes copied (for a media set, its file map and the content objects the offsite store did not hold yet).
/// </summary>
public sealed record OffsiteCopyResult(string From, string To, string Location, IReadOnlyList<string> Copied, IReadOnlyList<string> AlreadyThere, IReadOnlyList<string> OlderThanRetention, long BytesCopied)
{
    /// <summary>Media content objects (shared between media sets, outside the sets) copied to the offsite store and read back there.</summary>
    public int MediaObjectsCopied { get; init; }
}

/// <summary>Copies backup sets to the offsite store (<c>Backups:Stores:Offsite</c>) and checks each copy there.</summary>
public interface IOffsiteCopier
{
    /// <summary>Whether an offsite store is configured.</summary>
    bool Configured { get; }

    /// <summary>
    /// Copies every set of <see cref="OffsiteCopyRequest.From"/> that the offsite store does not hold yet (within the
    /// offsite retention), then reads each copy back from the offsite store and compares it with its manifest. Throws a
    /// <c>backup.store-error</c> when the offsite store cannot be read or written, or when any copy does not match.
    /// </summary>
    Task<OffsiteCopyResult> CopyAsync(OffsiteCopyRequest request, CancellationToken cancellationToken);
}

/// <summary>
/// The offsite copy. Each file is streamed from the source store through its SHA-256 check (a corrupt source is never
/// copied) into the offsite store; the copy gets the source's manifest without its verification record (a copy is
/// verified in its own store by the daily verification). The copy counts only after its manifest and every file were
/// read back from the offsite store and matched: the upload returning is not taken as proof.
/// </summary>
internal sealed class OffsiteCopier(IBackupCatalog catalog, IBackupStoreProvider stores, TimeProvider clock, ILogger<OffsiteCopier> logger) : IOffsiteCopier
{
    public bool Configured => stores.StoreNames.Contains(BackupStoreOptions.OffsiteStoreName, StringComparer.OrdinalIgnoreCase);

    public async Task<OffsiteCopyResult> CopyAsync(OffsiteCopyRequest request, CancellationToken cancellationToken)
    {
        var target = stores.Get(BackupStoreOptions.OffsiteStoreName);
        var source = stores.Get(request.From);
        if (string.Equals(source.Name, target.Name, StringComparison.OrdinalIgnoreCase))
            throw new BackupException(BackupErrorCodes.InvalidRequest, "CopyToOffsite: From names the offsite store itself; copy from 'local' or 's3'.");
        var kind = request.Kind is null ? null : BackupKinds.Validate(request.Kind);
        var rules = stores is BackupStoreProvider provider ? provider.RetentionFor(target.Name) : null;
        var now = clock.GetUtcNow();

        var sets = await catalog.ListAsync(source.Name, kind, null, cancellationToken);
        IReadOnlyList<BackupSet> there;
        try
        {
            there = await catalog.ListAsync(target.Name, kind, null, cancellationToken);
        }
        catch (BackupException ex) when (ex.Code != BackupErrorCodes.InvalidRequest)
        {
            throw new BackupException(BackupErrorCodes.StoreError,
                $"The offsite store ({target.Location}) could not be read, so no backup set was copied there: {ex.Message} The backups in '{source.Name}' are complete and still count; the offsite copy is missing until a copy succeeds.",
                retryable: true, ex);
        }

        var present = there.Select(s => s.Prefix).ToHashSet(StringComparer.Ordinal);
        var copied = new List<string>();
        var alreadyThere = new List<string>();
        var tooOld = new List<string>();
        var failures = new List<string>();
        var mediaObjects = new MediaObjectsThere(target);
        long bytes = 0;
        foreach (var set in sets.OrderBy(s => s.Manifest.CompletedAt))
        {
            var name = set.Prefix.TrimEnd('/');
            if (present.Contains(set.Prefix))
            {
                alreadyThere.Add(name);
                continue;
            }

            if (rules?.DaysFor(set.Kind) is { } days && set.Manifest.CompletedAt < now.AddDays(-days))
            {
                tooOld.Add(name);
                continue;
            }

            try
            {
                // A media set's files are content objects outside the set: they go first, so that the set appears in
                // the offsite store only when everything it points at is there and checked.
                if (set.Kind == BackupKinds.Media)
                    bytes += await CopyMediaContentAsync(set, source, mediaObjects, cancellationToken);
                await CopyAndCheckAsync(set, target, cancellationToken);
                copied.Add(name);
                bytes += set.Manifest.Size;
                Log.OffsiteCopied(logger, name, source.Name, target.Location, set.Manifest.Size);
            }
            catch (BackupException ex) when (!cancellationToken.IsCancellationRequested && ex.Code != BackupErrorCodes.InvalidRequest)
            {
                failures.Add($"{name}: {ex.Message}");
                Log.OffsiteCopyFailed(logger, name, target.Location, ex.Message);
            }
        }

        if (failures.Count > 0)
            throw new BackupException(BackupErrorCodes.StoreError,
                $"{failures.Count} backup set(s) could not be copied to the offsite store ({target.Location}) and checked there ({copied.Count} copied): {string.Join(" | ", failures)}. The backups in '{source.Name}' are complete and still count; these offsite copies are missing.",
                retryable: true);
        return new OffsiteCopyResult(source.Name, target.Name, target.Location, copied, alreadyThere, tooOld, bytes) { MediaObjectsCopied = mediaObjects.Copied };
    }

    /// <summary>The media content objects the offsite store holds (listed once per source), and how many this copy added.</summary>
    private sealed class MediaObjectsThere(IBackupStore target)
    {
        private readonly Dictionary<string, Dictionary<string, long>> bySource = new(StringComparer.Ordinal);

        public IBackupStore Target => target;

        public int Copied { get; set; }

        public async Task<Dictionary<string, long>> ForAsync(string objectPrefix, CancellationToken cancellationToken)
        {
            if (!bySource.TryGetValue(objectPrefix, out var objects))
            {
                objects = new Dictionary<string, long>(StringComparer.Ordinal);
                await foreach (var item in target.ListAsync(objectPrefix, cancellationToken))
                    objects[item.Key] = item.Size;
                bySource[objectPrefix] = objects;
            }

            return objects;
        }
    }

    /// <summary>
    /// Copies each content object of a media set's file map that the offsite store does not hold yet: streamed through its
    /// SHA-256 check (a corrupt source object is never copied), then read back from the offsite store and hashed again.
    /// Objects are addressed by their SHA-256, so one the offsite store already holds with the right size is the same content.
    /// </summary>
    private async Task<long> CopyMediaContentAsync(BackupSet set, IBackupStore source, MediaObjectsThere there, CancellationToken cancellationToken)
    {
        var mapEntry = set.Manifest.Files.FirstOrDefault(f => f.Name == MediaFileMap.FileName)
            ?? throw new BackupException(BackupErrorCodes.ChecksumMismatch, $"Backup set {set} has no {MediaFileMap.FileName}; it cannot be copied.");
        MediaFileMap map;
        await using (var stream = await catalog.OpenReadAsync(set, mapEntry, cancellationToken))
        using (var buffer = new MemoryStream())
        {
            await stream.CopyToAsync(buffer, cancellationToken);
            map = MediaFileMap.Parse(buffer.ToArray());
        }

        var target = there.Target;
        var objects = await there.ForAsync(map.ObjectPrefix, cancellationToken);
        long bytes = 0;
        foreach (var file in map.Files.DistinctBy(f => f.Key, StringComparer.Ordinal))
        {
            if (objects.TryGetValue(file.Key, out var size) && size == file.Size)
                continue;
            var expected = new BackupFileEntry { Key = file.Key, Name = file.Path, Size = file.Size, Sha256 = file.Sha256 };
            await using (var input = await source.OpenReadAsync(file.Key, cancellationToken))
            await using (var verifying = new VerifyingReadStream(input, expected, $"{file.Path} (object {file.Key} in the {source.Location})"))
            await using (var writer = await target.CreateWriterAsync(file.Key, cancellationToken))
            {
                var chunk = new byte[1 << 20];
                int read;
                while ((read = await verifying.ReadAsync(chunk, cancellationToken)) > 0)
                    await writer.WriteAsync(chunk.AsMemory(0, read), cancellationToken);
                await writer.CommitAsync(cancellationToken);
            }

            // The proof: the object as the offsite store returns it.
            await using (var back = await target.OpenReadAsync(file.Key, cancellationToken))
            await using (var check = new VerifyingReadStream(back, expected, $"{file.Path} (object {file.Key} read back from the {target.Location})"))
                await check.CopyToAsync(Stream.Null, 1 << 20, cancellationToken);

            objects[file.Key] = file.Size;
            there.Copied++;
            bytes += file.Size;
        }

        return bytes;
    }

    /// <summary>Writes the set into <paramref name="target"/>, then reads it back from there and checks it against the source's manifest.</summary>
    private async Task CopyAndCheckAsync(BackupSet set, IBackupStore target, CancellationToken cancellationToken)
    {
        // A copy of the manifest, without what belongs to the source store's copy (its verification, its lock).
        var manifest = BackupManifest.Parse(set.Manifest.ToJsonBytes(), $"of set {set}");
        manifest.Files = [];
        manifest.Verification = null;
        manifest.LastVerifiedAt = null;
        manifest.ObjectLock = null;
        manifest.Properties["copiedFrom"] = set.Store;
        manifest.Properties["copiedAt"] = clock.GetUtcNow().ToString("o", System.Globalization.CultureInfo.InvariantCulture);

        // An earlier, broken attempt is hidden first (as a re-run of a backup does).
        await target.DeleteAsync(set.ManifestKey, cancellationToken);
        await using (var writer = new BackupSetWriter(target, set.Prefix, manifest, logger))
        {
            foreach (var file in set.Manifest.Files)
            {
                await using var input = await catalog.OpenReadAsync(set, file, cancellationToken);
                await using var output = await writer.CreateFileAsync(file.Name, cancellationToken);
                await input.CopyToAsync(output, 1 << 20, cancellationToken);
                var written = await output.CommitAsync(cancellationToken);
                if (written.Size != file.Size || !string.Equals(written.Sha256, file.Sha256, StringComparison.OrdinalIgnoreCase))
                    throw new BackupException(BackupErrorCodes.ChecksumMismatch, $"{file.Key} was written to the {target.Location} with {written.Size} bytes and SHA-256 {written.Sha256} instead of {file.Size} and {file.Sha256}.");
            }

            await writer.CompleteAsync(clock, cancellationToken);
        }

        // The proof: the manifest and every file as the offsite store returns them.
        try
        {
            var copy = await catalog.FindAsync(target.Name, set.Kind, set.Source, set.Id, cancellationToken)
                ?? throw new BackupException(BackupErrorCodes.NotFound, $"the manifest of the copy cannot be read back from the {target.Location}");
            var expected = set.Manifest.Files.Select(f => (f.Name, f.Key, f.Size, f.Sha256.ToLowerInvariant())).ToList();
            var found = copy.Manifest.Files.Select(f => (f.Name, f.Key, f.Size, f.Sha256.ToLowerInvariant())).ToList();
            if (!expected.SequenceEqual(found))
                throw new BackupException(BackupErrorCodes.ChecksumMismatch, $"the manifest read back from the {target.Location} lists other files, sizes or checksums than the source's");
            await catalog.VerifyChecksumsAsync(copy, cancellationToken);
        }
        catch (BackupException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // A copy that does not match is not left to be counted as one.
            try
            {
                await target.DeleteAsync(set.ManifestKey, CancellationToken.None);
            }
            catch (BackupException cleanup)
            {
                Log.CleanupFailed(logger, set.ManifestKey, target.Location, cleanup);
            }

            throw new BackupException(ex.Code ?? BackupErrorCodes.StoreError, $"the copy did not check out when read back from the offsite store: {ex.Message}", ex.Retryable, ex);
        }
    }
}
