using DrWorkflows.Activities.Storage;

namespace DrWorkflows.Activities.Backups;

/// <summary>
/// The walk the set verifiers share (<see cref="ArchiveSetVerifier"/>, <see cref="Drills.RedisBackupVerifier"/>): in each
/// store (the given ones, or every configured store in name order), the sets of one kind and source never verified,
/// each checked by the verifier's own <c>verify</c>, its verdict recorded in that store's manifest of the set. A store
/// that cannot be listed, or a verdict that cannot be recorded, is a problem, never a silent skip.
/// </summary>
internal static class UnverifiedSetSweep
{
    public delegate Task<BackupVerificationRecord> VerifySet(string store, BackupSet set, CancellationToken cancellationToken);

    public static async Task<ArchiveVerification> RunAsync(
        IBackupCatalog catalog,
        IBackupStoreProvider stores,
        string kind,
        string source,
        IReadOnlyList<string>? storeNames,
        VerifySet verify,
        CancellationToken cancellationToken)
    {
        var verified = new List<string>();
        var problems = new List<string>();
        foreach (var store in storeNames is { Count: > 0 } given ? given : [.. stores.StoreNames.Order(StringComparer.Ordinal)])
        {
            IReadOnlyList<BackupSet> sets;
            try
            {
                sets = await catalog.ListAsync(store, kind, source, cancellationToken);
            }
            catch (BackupException ex) when (ex.Code != BackupErrorCodes.InvalidRequest)
            {
                problems.Add($"{kind}/{source} ({store}): the store could not be listed, nothing in it was verified: {ex.Message}");
                continue;
            }

            foreach (var set in sets.Where(s => s.Manifest.Verification is null))
            {
                var record = await verify(store, set, cancellationToken);
                try
                {
                    await catalog.RecordVerificationAsync(set, record, cancellationToken);
                }
                catch (BackupException ex) when (!cancellationToken.IsCancellationRequested)
                {
                    problems.Add($"{kind}/{source} ({store}): the verification of set {set.Id} could not be recorded: {ex.Message}");
                    continue;
                }

                if (record.Succeeded)
                    verified.Add($"{kind}/{source} ({store}): set {set.Id} verified, {record.Method}");
                else
                    problems.Add($"{kind}/{source} ({store}): set {set.Id} did not pass verification: {string.Join("; ", record.Problems)}");
            }
        }

        return new ArchiveVerification(kind, source, verified, problems);
    }
}
