namespace DrWorkflows.Activities.Storage;

/// <summary>
/// Where backup objects live: a local directory or an S3 bucket. Keys are relative, '/'-separated paths
/// (e.g. <c>postgres/main/0af3.../main.dump.zst.gpg</c>). Every write is atomic: an object appears only when its
/// writer is committed, and a writer disposed without commit leaves nothing behind.
/// </summary>
public interface IBackupStore
{
    /// <summary>Configured name of the store (<c>local</c>, <c>s3</c>).</summary>
    string Name { get; }

    /// <summary>Human-readable location for messages, e.g. <c>s3://backups/dr/ at http://127.0.0.1:4569</c>.</summary>
    string Location { get; }

    /// <summary>Starts writing an object. Nothing is visible until <see cref="IBackupObjectWriter.CommitAsync"/>.</summary>
    Task<IBackupObjectWriter> CreateWriterAsync(string key, CancellationToken cancellationToken);

    /// <summary>Writes a small object (a manifest) atomically in one call.</summary>
    Task PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);

    /// <summary>Opens an object for reading; throws a <c>backup.not-found</c> error when it does not exist.</summary>
    Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken);

    /// <summary>Size and time of an object, or <c>null</c> when it does not exist.</summary>
    Task<BackupObjectInfo?> GetInfoAsync(string key, CancellationToken cancellationToken);

    /// <summary>Objects whose key starts with <paramref name="prefix"/> (committed objects only), in key order.</summary>
    IAsyncEnumerable<BackupObjectInfo> ListAsync(string prefix, CancellationToken cancellationToken);

    /// <summary>Deletes an object; deleting a missing object is not an error.</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken);
}

/// <summary>A streaming write of one object. Dispose without <see cref="CommitAsync"/> aborts the write.</summary>
public interface IBackupObjectWriter : IAsyncDisposable
{
    string Key { get; }

    /// <summary>Bytes accepted so far.</summary>
    long BytesWritten { get; }

    ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>Makes the object visible (rename / complete multipart). After a failure nothing is visible.</summary>
    Task CommitAsync(CancellationToken cancellationToken);
}

/// <summary>One stored object.</summary>
public sealed record BackupObjectInfo(string Key, long Size, DateTimeOffset LastModified);

/// <summary>The stores configured in <see cref="BackupStoreOptions"/>, by name.</summary>
public interface IBackupStoreProvider
{
    /// <summary>Name of the store used when an activity does not name one.</summary>
    string DefaultStoreName { get; }

    IReadOnlyCollection<string> StoreNames { get; }

    /// <summary>The named store, or the default store when <paramref name="name"/> is null or empty.</summary>
    IBackupStore Get(string? name = null);
}
