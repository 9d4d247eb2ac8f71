using System.Collections.Concurrent;
using DrWorkflows.Activities.Storage;
using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Backups;

/// <summary>
/// Backup sets laid out as <c>{kind}/{source}/{setId}/{files...}</c> + <c>manifest.json</c> in a store.
/// </summary>
internal sealed class BackupCatalog(IBackupStoreProvider stores, TimeProvider clock, ILogger<BackupCatalog> logger) : IBackupCatalog
{
    /// <summary>Incomplete sets (no manifest) younger than this are assumed to be in progress.</summary>
    internal static readonly TimeSpan IncompleteGrace = TimeSpan.FromDays(1);

    public static string PrefixOf(string kind, string source, string setId) =>
        $"{BackupKinds.Validate(kind)}/{BackupKeys.Segment(source)}/{BackupKeys.Segment(setId)}/";

    public async Task<BackupSetWriter> BeginAsync(BackupSetRequest request, CancellationToken cancellationToken)
    {
        var store = stores.Get(request.Store);
        var prefix = PrefixOf(request.Kind, request.Source, request.SetId);
        // A re-run of the same execution replaces the set: hide the old one first.
        await store.DeleteAsync(prefix + BackupManifest.FileName, cancellationToken);
        var manifest = new BackupManifest
        {
            Id = BackupKeys.Segment(request.SetId),
            Kind = request.Kind,
            Source = request.Source,
            StartedAt = clock.GetUtcNow(),
        };
        return new BackupSetWriter(store, prefix, manifest, logger);
    }

    public async Task<IReadOnlyList<BackupSet>> ListAsync(string? store, string? kind, string? source, CancellationToken cancellationToken)
    {
        var target = stores.Get(store);
        var prefix = kind is null ? string.Empty : BackupKinds.Validate(kind) + "/" + (source is null ? string.Empty : BackupKeys.Segment(source) + "/");
        var manifestKeys = new List<string>();
        await foreach (var item in target.ListAsync(prefix, cancellationToken))
        {
            if (item.Key.EndsWith("/" + BackupManifest.FileName, StringComparison.Ordinal) && item.Key.Count(c => c == '/') == 3)
                manifestKeys.Add(item.Key);
        }

        var sets = new ConcurrentBag<BackupSet>();
        await Parallel.ForEachAsync(manifestKeys, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken }, async (key, ct) =>
        {
            if (await TryReadManifestAsync(target, key, ct) is { } manifest)
                sets.Add(new BackupSet(target.Name, key[..^BackupManifest.FileName.Length], manifest));
        });

        return [.. sets
            .Where(s => source is null || string.Equals(s.Source, source, StringComparison.Ordinal) || BackupKeys.Segment(s.Source) == BackupKeys.Segment(source))
            .OrderByDescending(s => s.Manifest.CompletedAt)
            .ThenByDescending(s => s.Id, StringComparer.Ordinal)];
    }

    public async Task<BackupSet?> FindAsync(string? store, string kind, string source, string setId, CancellationToken cancellationToken)
    {
        var target = stores.Get(store);
        var prefix = PrefixOf(kind, source, setId);
        var manifest = await TryReadManifestAsync(target, prefix + BackupManifest.FileName, cancellationToken);
        return manifest is null ? null : new BackupSet(target.Name, prefix, manifest);
    }

    public async Task<RestorePointSelection> FindRestorePointAsync(RestorePointQuery query, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var cutoff = query.Before;
        var sets = await ListAsync(query.Store, query.Kind, query.Source, cancellationToken);
        var candidates = new List<RestoreCandidate>();
        BackupSet? selectedSet = null;
        RestoreCandidate? selected = null;
        foreach (var set in sets)
        {
            var m = set.Manifest;
            var before = cutoff is null || m.CompletedAt < cutoff;
            var qualifies = before && (!query.RequireVerified || m.IsVerified);
            var verification = !m.IsVerified
                ? m.Verification is { Succeeded: false } failed
                    ? $"verification failed at {failed.At:u}: {string.Join("; ", failed.Problems.Take(3))}"
                    : "never verified"
                : $"verified at {m.LastVerifiedAt:u}";
            var note = before ? verification : $"completed at {m.CompletedAt:u}, not strictly before {cutoff:u}; {verification}";
            var candidate = new RestoreCandidate(set.Store, set.Id, m.Kind, m.Source, m.StartedAt, m.CompletedAt,
                Math.Round((now - m.CompletedAt).TotalHours, 2), m.Size, m.IsVerified, m.LastVerifiedAt, before, qualifies, note);
            candidates.Add(candidate);
            if (qualifies && selected is null)
            {
                selected = candidate;
                selectedSet = set;
            }
        }

        return new RestorePointSelection(selected, candidates, cutoff) { SelectedSet = selectedSet };
    }

    public async Task<VerifyingReadStream> OpenReadAsync(BackupSet set, BackupFileEntry file, CancellationToken cancellationToken)
    {
        var store = stores.Get(set.Store);
        var info = await store.GetInfoAsync(file.Key, cancellationToken)
            ?? throw new BackupException(BackupErrorCodes.ChecksumMismatch,
                $"Backup file {file.Key} listed in the manifest of set {set} is missing from the {store.Location}. The set is unusable; choose an older set.");
        if (info.Size != file.Size)
            throw new BackupException(BackupErrorCodes.ChecksumMismatch,
                $"Backup file {file.Key} in the {store.Location} is corrupt: {info.Size} bytes stored instead of {file.Size} (truncated or replaced). It was refused; choose an older set or another store's copy.");
        var stream = await store.OpenReadAsync(file.Key, cancellationToken);
        return new VerifyingReadStream(stream, file, $"{file.Key} in the {store.Location}");
    }

    public async Task VerifyChecksumsAsync(BackupSet set, CancellationToken cancellationToken)
    {
        foreach (var file in set.Manifest.Files)
        {
            await using var stream = await OpenReadAsync(set, file, cancellationToken);
            await stream.DrainAndVerifyAsync(cancellationToken);
        }
    }

    public async Task<BackupSet> RecordVerificationAsync(BackupSet set, BackupVerificationRecord record, CancellationToken cancellationToken)
    {
        var store = stores.Get(set.Store);
        // Re-read so that a concurrent change of other fields is not lost.
        var manifest = await TryReadManifestAsync(store, set.ManifestKey, cancellationToken)
            ?? throw new BackupException(BackupErrorCodes.NotFound, $"Backup set {set} disappeared from the {store.Location} (retention?) before its verification could be recorded.");
        manifest.Verification = record;
        if (record.Succeeded)
            manifest.LastVerifiedAt = record.At;
        // On a locked store the rewritten manifest is a new object version with a new (later) retention.
        if (store is S3BackupStore s3 && s3.LockForNewObject() is { } objectLock)
            manifest.ObjectLock = objectLock;
        await store.PutAsync(set.ManifestKey, manifest.ToJsonBytes(), cancellationToken);
        if (logger.IsEnabled(LogLevel.Information))
        {
            var result = record.Succeeded ? "verified" : "failed: " + string.Join("; ", record.Problems.Take(3));
            Log.VerificationRecorded(logger, set, result);
        }
        return set with { Manifest = manifest };
    }

    public async Task DeleteAsync(BackupSet set, CancellationToken cancellationToken)
    {
        var store = stores.Get(set.Store);
        await store.DeleteAsync(set.ManifestKey, cancellationToken);
        var keys = new List<string>();
        await foreach (var item in store.ListAsync(set.Prefix, cancellationToken))
            keys.Add(item.Key);
        foreach (var key in keys)
            await store.DeleteAsync(key, cancellationToken);
    }

    public async Task<RetentionResult> ApplyRetentionAsync(RetentionRequest request, CancellationToken cancellationToken)
    {
        var store = stores.Get(request.Store);
        var rules = stores is BackupStoreProvider provider ? provider.RetentionFor(store.Name) : new LocalBackupStoreOptions();
        var now = clock.GetUtcNow();
        var deleted = new List<string>();
        var protectedSets = new List<string>();
        var kept = 0;
        var sets = await ListAsync(store.Name, request.Kind, null, cancellationToken);
        foreach (var group in sets.GroupBy(s => (s.Kind, s.Source)))
        {
            var days = rules.DaysFor(group.Key.Kind);
            var keepLast = rules.KeepLastFor(group.Key.Kind);
            var ordered = group.OrderByDescending(s => s.Manifest.CompletedAt).ToList();
            var newestVerified = ordered.FirstOrDefault(s => s.Manifest.IsVerified);
            for (var i = 0; i < ordered.Count; i++)
            {
                var set = ordered[i];
                var expired = (days is { } d && set.Manifest.CompletedAt < now.AddDays(-d)) || (keepLast is { } last && i >= last);
                if (!expired)
                {
                    kept++;
                    continue;
                }

                if (i < rules.MinimumKeep || (rules.KeepNewestVerified && ReferenceEquals(set, newestVerified)))
                {
                    kept++;
                    protectedSets.Add($"{set.Prefix} (expired, kept: {(i < rules.MinimumKeep ? $"one of the newest {rules.MinimumKeep}" : "newest verified")})");
                    continue;
                }

                if (await LockedAsync(store, set, now, cancellationToken) is { } locked)
                {
                    kept++;
                    protectedSets.Add($"{set.Prefix} (expired, kept: {locked})");
                    Log.RetentionKeptLocked(logger, store.Location, set.Prefix, locked);
                    continue;
                }

                deleted.Add(set.Prefix);
                if (!request.DryRun)
                {
                    await DeleteAsync(set, cancellationToken);
                    if (days is { } expiredAfter && set.Manifest.CompletedAt < now.AddDays(-expiredAfter))
                        Log.RetentionDeleted(logger, store.Location, set.Prefix, set.Manifest.CompletedAt, expiredAfter, set.Kind);
                    else
                        Log.RetentionDeletedByCount(logger, store.Location, set.Prefix, keepLast!.Value, set.Kind);
                }
            }
        }

        var incomplete = await RemoveIncompleteAsync(store, request, sets, now, cancellationToken);
        return new RetentionResult(store.Name, deleted, kept, protectedSets, incomplete, request.DryRun);
    }

    /// <summary>
    /// Why an expired set may not be deleted yet because of S3 Object Lock, or null when nothing locks it. A delete of a
    /// locked object in a versioned bucket does not fail: it hides the set behind a delete marker while its bytes stay, so
    /// the set is never deleted before its retention date. The date recorded in the manifest is checked first; when it
    /// has passed (or none is recorded) on a store that locks, the bucket's own answer (GetObjectRetention of the manifest)
    /// decides, and a set whose retention cannot be read is kept.
    /// </summary>
    internal static async Task<string?> LockedAsync(IBackupStore store, BackupSet set, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (set.Manifest.ObjectLock is { } recorded && recorded.RetainUntil > now)
            return $"S3 Object Lock {recorded.Mode} until {recorded.RetainUntil:u}, recorded in its manifest";
        if (store is not S3BackupStore s3 || (!s3.ObjectLock.Enabled && set.Manifest.ObjectLock is null))
            return null;
        try
        {
            return await s3.GetObjectLockAsync(set.ManifestKey, cancellationToken) is { } held && held.RetainUntil > now
                ? $"S3 Object Lock {held.Mode} until {held.RetainUntil:u}, as the bucket reports it"
                : null;
        }
        catch (BackupException ex) when (!cancellationToken.IsCancellationRequested)
        {
            return $"its S3 Object Lock retention could not be read ({ex.Message}), so it is kept until it can be";
        }
    }

    /// <summary>Files of sets without a manifest (crashed runs) older than the grace period.</summary>
    private async Task<int> RemoveIncompleteAsync(IBackupStore store, RetentionRequest request, IReadOnlyList<BackupSet> complete, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var completePrefixes = complete.Select(s => s.Prefix).ToHashSet(StringComparer.Ordinal);
        var orphans = new Dictionary<string, List<BackupObjectInfo>>(StringComparer.Ordinal);
        var prefix = request.Kind is null ? string.Empty : BackupKinds.Validate(request.Kind) + "/";
        await foreach (var item in store.ListAsync(prefix, cancellationToken))
        {
            var parts = item.Key.Split('/');
            if (parts.Length != 4 || !BackupKinds.All.Contains(parts[0]))
                continue;
            var setPrefix = $"{parts[0]}/{parts[1]}/{parts[2]}/";
            if (completePrefixes.Contains(setPrefix))
                continue;
            if (!orphans.TryGetValue(setPrefix, out var list))
                orphans[setPrefix] = list = [];
            list.Add(item);
        }

        var removed = 0;
        foreach (var (setPrefix, items) in orphans)
        {
            if (items.Any(i => i.Key.EndsWith("/" + BackupManifest.FileName, StringComparison.Ordinal)) || items.Max(i => i.LastModified) > now - IncompleteGrace)
                continue;
            removed++;
            if (request.DryRun)
                continue;
            foreach (var item in items)
                await store.DeleteAsync(item.Key, cancellationToken);
        }

        if (!request.DryRun && store is LocalBackupStore local)
        {
            foreach (var partial in local.FindAbandonedPartials(now - IncompleteGrace))
            {
                try
                {
                    partial.Delete();
                }
                catch (IOException)
                {
                }
            }
        }

        return removed;
    }

    private async Task<BackupManifest?> TryReadManifestAsync(IBackupStore store, string key, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await store.OpenReadAsync(key, cancellationToken);
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer, cancellationToken);
            return BackupManifest.Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), $"{key} in the {store.Location}");
        }
        catch (BackupException ex) when (ex.Code == BackupErrorCodes.NotFound)
        {
            return null;
        }
        catch (BackupException ex) when (ex.Code == BackupErrorCodes.ChecksumMismatch)
        {
            Log.ManifestUnreadable(logger, key, store.Location, ex.Message);
            return null;
        }
    }
}
