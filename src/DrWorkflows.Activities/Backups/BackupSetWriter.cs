using DrWorkflows.Activities.Storage;
using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Backups;

/// <summary>
/// Writes one backup set: data files first (each atomic), the manifest last. Disposing before
/// <see cref="CompleteAsync"/> deletes the files already written, so a failed backup leaves nothing behind.
/// </summary>
public sealed class BackupSetWriter : IAsyncDisposable
{
    private readonly IBackupStore store;
    private readonly ILogger logger;
    private readonly List<BackupFileStream> open = [];
    private bool completed;

    internal BackupSetWriter(IBackupStore store, string prefix, BackupManifest manifest, ILogger logger)
    {
        this.store = store;
        this.logger = logger;
        Prefix = prefix;
        Manifest = manifest;
    }

    /// <summary>The manifest being built; fill in its facts before <see cref="CompleteAsync"/>.</summary>
    public BackupManifest Manifest { get; }

    public string Prefix { get; }

    public IBackupStore Store => store;

    /// <summary>Starts a data file of the set (e.g. <c>main.dump.zst.gpg</c>).</summary>
    public async Task<BackupFileStream> CreateFileAsync(string name, CancellationToken cancellationToken)
    {
        var segment = BackupKeys.Segment(name);
        if (segment == BackupManifest.FileName)
            throw new BackupException(BackupErrorCodes.InvalidRequest, $"'{name}' is reserved for the manifest.");
        var objectWriter = await store.CreateWriterAsync(Prefix + segment, cancellationToken);
        var writer = new BackupFileStream(segment, objectWriter, entry =>
        {
            Manifest.Files.RemoveAll(f => f.Name == entry.Name);
            Manifest.Files.Add(entry);
        });
        open.Add(writer);
        return writer;
    }

    /// <summary>Writes the manifest (the set becomes visible) and removes stale files of an earlier attempt.</summary>
    public async Task<BackupSet> CompleteAsync(TimeProvider clock, CancellationToken cancellationToken)
    {
        if (Manifest.Files.Count == 0)
            throw new InvalidOperationException("A backup set needs at least one committed file.");
        if (Manifest.CompletedAt == default)
            Manifest.CompletedAt = clock.GetUtcNow();
        Manifest.Size = Manifest.Files.Sum(f => f.Size);
        Manifest.Sha256 = Manifest.Files[0].Sha256;
        // Taken before the manifest is written, so the object's own retention is never earlier than the one recorded.
        if (store is S3BackupStore s3)
            Manifest.ObjectLock = s3.LockForNewObject();
        await store.PutAsync(Prefix + BackupManifest.FileName, Manifest.ToJsonBytes(), cancellationToken);
        completed = true;

        // The set is complete from here on: a cancellation now must not report it as failed. Stale files of an
        // earlier attempt are removed within a minute, or left to the next attempt or retention.
        var keep = Manifest.Files.Select(f => f.Key).Append(Prefix + BackupManifest.FileName).ToHashSet(StringComparer.Ordinal);
        using var cleanup = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        try
        {
            await foreach (var item in store.ListAsync(Prefix, cleanup.Token))
            {
                if (!keep.Contains(item.Key))
                    await store.DeleteAsync(item.Key, cleanup.Token);
            }
        }
        catch (Exception ex) when (ex is BackupException or OperationCanceledException)
        {
            Log.CleanupFailed(logger, Prefix, store.Location, ex);
        }

        Log.SetCompleted(logger, Manifest.Kind, Manifest.Source, Manifest.Id, store.Location, Manifest.Size);
        return new BackupSet(store.Name, Prefix, Manifest);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var writer in open)
            await writer.DisposeAsync();
        if (completed)
            return;

        // Failed or cancelled: remove the files this attempt committed.
        foreach (var file in Manifest.Files)
        {
            try
            {
                await store.DeleteAsync(file.Key, CancellationToken.None);
            }
            catch (BackupException ex)
            {
                Log.CleanupFailed(logger, file.Key, store.Location, ex);
            }
        }

        Log.SetAbandoned(logger, Manifest.Kind, Manifest.Source, Manifest.Id, store.Location);
    }
}
