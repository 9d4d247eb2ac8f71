using DrWorkflows.Activities.Storage;

namespace DrWorkflows.Activities.Backups;

/// <summary>One store's sets of a source, newest first, or why the store could not be read (then no sets: unknown, never empty).</summary>
public sealed record StoreListing(string Store, IReadOnlyList<BackupSet> Sets, string? Unreadable)
{
    /// <summary>How long one store may take to list a source's sets before it counts as unreadable.</summary>
    public static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(20);

    public BackupSet? Newest => Sets.Count > 0 ? Sets[0] : null;

    public BackupSet? NewestVerified => Sets.FirstOrDefault(s => s.Manifest.IsVerified);

    /// <summary>
    /// Lists <paramref name="kind"/>/<paramref name="source"/> in every configured store, in name order, each within
    /// <see cref="ReadTimeout"/>. A store that fails or does not answer in time is returned with the reason; only the
    /// caller's own cancellation is thrown.
    /// </summary>
    public static async Task<IReadOnlyList<StoreListing>> ReadEveryStoreAsync(IBackupCatalog catalog, IBackupStoreProvider stores, string kind, string source, CancellationToken cancellationToken)
    {
        var listings = new List<StoreListing>();
        foreach (var store in stores.StoreNames.Order(StringComparer.Ordinal))
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ReadTimeout);
            try
            {
                listings.Add(new StoreListing(store, await catalog.ListAsync(store, kind, source, timeout.Token), null));
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                listings.Add(new StoreListing(store, [], e is OperationCanceledException ? $"no answer within {ReadTimeout.TotalSeconds:0} s" : e.Message));
            }
        }

        return listings;
    }
}
