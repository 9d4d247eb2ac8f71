using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Storage;

namespace DrWorkflows.Workflows.Tests.Fakes;

/// <summary>The two stores of the plan (<c>local</c> and <c>s3</c>) in memory, under the real backup catalog.</summary>
public sealed class MemoryBackupStores(TimeProvider clock) : IBackupStoreProvider
{
    private readonly Dictionary<string, MemoryBackupStore> stores = new(StringComparer.OrdinalIgnoreCase)
    {
        [BackupStoreOptions.LocalStoreName] = new(BackupStoreOptions.LocalStoreName, clock),
        [BackupStoreOptions.S3StoreName] = new(BackupStoreOptions.S3StoreName, clock),
    };

    public string DefaultStoreName => BackupStoreOptions.LocalStoreName;

    public IReadOnlyCollection<string> StoreNames => stores.Keys;

    /// <summary>Takes a store away, as a configuration without it would (e.g. no S3 bucket).</summary>
    public void Remove(string name) => stores.Remove(name);

    /// <summary>Adds a store, as a configuration with it would (e.g. the offsite store).</summary>
    public MemoryBackupStore Add(string name) => stores[name] = new MemoryBackupStore(name, clock);

    public IBackupStore Get(string? name = null) =>
        stores.TryGetValue(string.IsNullOrWhiteSpace(name) ? DefaultStoreName : name, out var store)
            ? store
            : throw new BackupException(BackupErrorCodes.InvalidRequest, $"Backup store '{name}' is not configured (test stores: local, s3).");
}

/// <summary>An atomic object store in memory: objects appear on commit, as in the real stores.</summary>
public sealed class MemoryBackupStore(string name, TimeProvider clock) : IBackupStore
{
    private readonly ConcurrentDictionary<string, (byte[] Data, DateTimeOffset At)> objects = new(StringComparer.Ordinal);

    public string Name => name;

    public string Location => $"memory store '{name}'";

    /// <summary>When set, every call fails as an unreachable endpoint does, with this reason.</summary>
    public string? Unreachable { get; set; }

    public Task<IBackupObjectWriter> CreateWriterAsync(string key, CancellationToken cancellationToken)
    {
        ThrowIfUnreachable();
        return Task.FromResult<IBackupObjectWriter>(new Writer(key, data => objects[key] = (data, clock.GetUtcNow())));
    }

    public Task PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        ThrowIfUnreachable();
        objects[key] = (content.ToArray(), clock.GetUtcNow());
        return Task.CompletedTask;
    }

    public Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken) =>
        objects.TryGetValue(key, out var item)
            ? Task.FromResult<Stream>(new MemoryStream(item.Data, writable: false))
            : throw new BackupException(BackupErrorCodes.NotFound, $"{key} does not exist in {Location}.");

    public Task<BackupObjectInfo?> GetInfoAsync(string key, CancellationToken cancellationToken) =>
        Task.FromResult(objects.TryGetValue(key, out var item) ? new BackupObjectInfo(key, item.Data.Length, item.At) : null);

    public async IAsyncEnumerable<BackupObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ThrowIfUnreachable();
        foreach (var (key, item) in objects.Where(o => o.Key.StartsWith(prefix, StringComparison.Ordinal)).OrderBy(o => o.Key, StringComparer.Ordinal).ToList())
        {
            await Task.Yield();
            yield return new BackupObjectInfo(key, item.Data.Length, item.At);
        }
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        objects.TryRemove(key, out _);
        return Task.CompletedTask;
    }

    private void ThrowIfUnreachable()
    {
        if (Unreachable is { } why)
            throw new BackupException(BackupErrorCodes.StoreError, $"Could not reach the {Location}: the endpoint is unreachable ({why}).", retryable: true);
    }

    private sealed class Writer(string key, Action<byte[]> commit) : IBackupObjectWriter
    {
        private readonly MemoryStream buffer = new();

        public string Key => key;

        public long BytesWritten => buffer.Length;

        public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) => buffer.WriteAsync(data, cancellationToken);

        public Task CommitAsync(CancellationToken cancellationToken)
        {
            commit(buffer.ToArray());
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync() => buffer.DisposeAsync();
    }
}
