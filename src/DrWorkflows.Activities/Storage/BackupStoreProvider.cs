using DrWorkflows.Activities.Backups;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Storage;

/// <summary>Builds the configured stores once (the S3 client is reused) and hands them out by name.</summary>
internal sealed class BackupStoreProvider : IBackupStoreProvider, IDisposable
{
    private readonly Dictionary<string, IBackupStore> stores = new(StringComparer.OrdinalIgnoreCase);

    public BackupStoreProvider(IOptions<BackupStoreOptions> options, ILoggerFactory loggerFactory, TimeProvider clock)
    {
        var value = options.Value;
        var logger = loggerFactory.CreateLogger("DrWorkflows.Activities.Storage");
        stores[BackupStoreOptions.LocalStoreName] = new LocalBackupStore(BackupStoreOptions.LocalStoreName, value.Local.Directory, logger);
        foreach (var (name, _, s3) in value.S3Stores())
            stores[name] = new S3BackupStore(name, s3, logger, clock);
        DefaultStoreName = value.DefaultStore.ToLowerInvariant();
        Options = value;
    }

    public BackupStoreOptions Options { get; }

    public string DefaultStoreName { get; }

    public IReadOnlyCollection<string> StoreNames => stores.Keys;

    public IBackupStore Get(string? name = null)
    {
        var wanted = string.IsNullOrWhiteSpace(name) ? DefaultStoreName : name.Trim();
        return stores.TryGetValue(wanted, out var store)
            ? store
            : throw new BackupException(BackupErrorCodes.InvalidRequest,
                $"Backup store '{wanted}' is not configured. Configured stores: {string.Join(", ", stores.Keys)}. Set Backups:Stores:S3:BucketName to enable 's3', Backups:Stores:Offsite:BucketName to enable 'offsite'.");
    }

    /// <summary>Retention settings of a store.</summary>
    public BackupStoreRetentionOptions RetentionFor(string storeName) =>
        string.Equals(storeName, BackupStoreOptions.S3StoreName, StringComparison.OrdinalIgnoreCase) ? Options.S3
        : string.Equals(storeName, BackupStoreOptions.OffsiteStoreName, StringComparison.OrdinalIgnoreCase) ? Options.Offsite
        : Options.Local;

    public void Dispose()
    {
        foreach (var store in stores.Values.OfType<IDisposable>())
            store.Dispose();
    }
}
