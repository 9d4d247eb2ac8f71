using System.Text.Json.Nodes;

namespace DrWorkflows.Activities.Backups;

/// <summary>A backup set as activities output it (the manifest without per-table facts).</summary>
public sealed record BackupSetSummary(
    string Store,
    string SetId,
    string Kind,
    string Source,
    DateTimeOffset StartedAt,
    DateTimeOffset CompletedAt,
    long Size,
    string? Sha256,
    string Compression,
    string Encryption,
    IReadOnlyList<string> Recipients,
    bool Verified,
    DateTimeOffset? LastVerifiedAt,
    int Tables,
    long Rows)
{
    public static BackupSetSummary From(BackupSet set)
    {
        var m = set.Manifest;
        return new BackupSetSummary(set.Store, set.Id, m.Kind, m.Source, m.StartedAt, m.CompletedAt, m.Size, m.Sha256, m.Compression, m.Encryption.Method,
            m.Encryption.Recipients, m.IsVerified, m.LastVerifiedAt, m.Tables?.Count ?? 0, m.Tables?.Sum(t => t.RowCount) ?? 0);
    }

    public JsonObject ToJournal() => new()
    {
        ["store"] = Store,
        ["setId"] = SetId,
        ["kind"] = Kind,
        ["source"] = Source,
        ["bytes"] = Size,
        ["sha256"] = Sha256,
        ["compression"] = Compression,
        ["encryption"] = Encryption,
        ["completedAt"] = CompletedAt,
    };
}

/// <summary>Finds the set an activity names, or the newest (verified) one, with a clear error when there is none.</summary>
internal static class BackupSetLookup
{
    public static async Task<BackupSet> FindAsync(IBackupCatalog catalog, string? store, string kind, string source, string? setId, bool requireVerified, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrWhiteSpace(setId))
        {
            return await catalog.FindAsync(store, kind, source, setId, cancellationToken)
                ?? throw new BackupException(BackupErrorCodes.NotFound,
                    $"Backup set '{setId}' of {kind} source '{source}' does not exist (or is incomplete) in store '{store ?? "default"}'. Use ListBackups or FindRestorePoint to see the sets.");
        }

        var selection = await catalog.FindRestorePointAsync(new RestorePointQuery(kind, source) { Store = store, RequireVerified = requireVerified }, cancellationToken);
        return selection.SelectedSet ?? throw new BackupException(BackupErrorCodes.NoRestorePoint,
            selection.Candidates.Count == 0
                ? $"There is no {kind} backup of '{source}' in store '{store ?? "default"}'."
                : $"None of the {selection.Candidates.Count} {kind} backup(s) of '{source}' in store '{store ?? "default"}' is verified (newest: {selection.Candidates[0].SetId}, {selection.Candidates[0].Note}). Run VerifyLatestBackup, or name a set with SetId to restore an unverified one.");
    }
}
