using DrWorkflows.Activities.Storage;

namespace DrWorkflows.Activities.Backups;

/// <summary>The store a restore reads from, and why each store before it was passed over.</summary>
public sealed record RestoreStoreChoice(string? Store, IReadOnlyList<string> PassedOver);

/// <summary>
/// Chooses the store a restore reads from: the first of the candidates (in order, e.g. <c>s3</c> then <c>offsite</c>)
/// that is configured, answers within <see cref="StoreListing.ReadTimeout"/> and holds at least one set of the kind.
/// A store that is down is passed over with its error, so that scenario 2 restores from the offsite copy when the
/// first store is unreachable; null when no candidate can be used.
/// </summary>
public static class RestoreStoreChooser
{
    public static async Task<RestoreStoreChoice> ChooseAsync(IBackupCatalog catalog, IBackupStoreProvider stores, IReadOnlyList<string> candidates, string kind, CancellationToken cancellationToken)
    {
        BackupKinds.Validate(kind);
        var passedOver = new List<string>();
        foreach (var candidate in candidates.Where(c => !string.IsNullOrWhiteSpace(c)).Select(c => c.Trim()).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (!stores.StoreNames.Contains(candidate, StringComparer.OrdinalIgnoreCase))
            {
                passedOver.Add($"{candidate}: not configured");
                continue;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(StoreListing.ReadTimeout);
            try
            {
                var sets = await catalog.ListAsync(candidate, kind, null, timeout.Token);
                if (sets.Count > 0)
                    return new RestoreStoreChoice(candidate, passedOver);
                passedOver.Add($"{candidate}: holds no {kind} backup");
            }
            catch (Exception e) when (e is BackupException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                passedOver.Add(e is OperationCanceledException ? $"{candidate}: no answer within {StoreListing.ReadTimeout.TotalSeconds:0} s" : $"{candidate}: unreachable ({e.Message})");
            }
        }

        return new RestoreStoreChoice(null, passedOver);
    }
}
