using DrWorkflows.Activities.Storage;

namespace DrWorkflows.Activities.Backups;

/// <summary>
/// Backup sets on top of the stores: writing a set (data files, then the manifest last), listing, choosing a
/// restore point, reading with checksum verification, recording verification, retention.
/// </summary>
public interface IBackupCatalog
{
    /// <summary>
    /// Starts a set. With the same <see cref="BackupSetRequest.SetId"/> a re-run replaces the earlier set: its
    /// manifest is removed first, so the set is never offered half-rewritten.
    /// </summary>
    Task<BackupSetWriter> BeginAsync(BackupSetRequest request, CancellationToken cancellationToken);

    /// <summary>Complete sets (with a manifest), newest first.</summary>
    Task<IReadOnlyList<BackupSet>> ListAsync(string? store, string? kind, string? source, CancellationToken cancellationToken);

    /// <summary>One set by id, or null.</summary>
    Task<BackupSet?> FindAsync(string? store, string kind, string source, string setId, CancellationToken cancellationToken);

    /// <summary>The candidates for a restore before <see cref="RestorePointQuery.Before"/> and the selected one.</summary>
    Task<RestorePointSelection> FindRestorePointAsync(RestorePointQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// Opens a data file of a set. The stream hashes what is read and, at its end, throws a
    /// <c>backup.checksum-mismatch</c> error when size or SHA-256 differ from the manifest.
    /// </summary>
    Task<VerifyingReadStream> OpenReadAsync(BackupSet set, BackupFileEntry file, CancellationToken cancellationToken);

    /// <summary>Reads every file of a set and checks size and SHA-256 (throws on mismatch).</summary>
    Task VerifyChecksumsAsync(BackupSet set, CancellationToken cancellationToken);

    /// <summary>Writes the result of a verification into the set's manifest.</summary>
    Task<BackupSet> RecordVerificationAsync(BackupSet set, BackupVerificationRecord record, CancellationToken cancellationToken);

    /// <summary>Deletes a set: manifest first (the set disappears at once), then its files.</summary>
    Task DeleteAsync(BackupSet set, CancellationToken cancellationToken);

    /// <summary>Applies the store's retention rules (see <see cref="BackupStoreRetentionOptions"/>).</summary>
    Task<RetentionResult> ApplyRetentionAsync(RetentionRequest request, CancellationToken cancellationToken);
}

/// <summary>What a new set is.</summary>
public sealed record BackupSetRequest(string Kind, string Source, string SetId)
{
    /// <summary>Store name; null for the default store.</summary>
    public string? Store { get; init; }
}

/// <summary>A complete backup set in a store.</summary>
public sealed record BackupSet(string Store, string Prefix, BackupManifest Manifest)
{
    public string Id => Manifest.Id;

    public string Kind => Manifest.Kind;

    public string Source => Manifest.Source;

    public string ManifestKey => Prefix + BackupManifest.FileName;

    public override string ToString() => $"{Store}:{Prefix}";
}

/// <summary>Selection of "the newest (verified) backup taken strictly before T".</summary>
public sealed record RestorePointQuery(string Kind, string Source)
{
    public string? Store { get; init; }

    /// <summary>Only sets completed strictly before this time qualify; null for no cutoff.</summary>
    public DateTimeOffset? Before { get; init; }

    /// <summary>Only verified sets qualify (default true).</summary>
    public bool RequireVerified { get; init; } = true;
}

/// <summary>A candidate shown to an approval gate.</summary>
public sealed record RestoreCandidate(
    string Store,
    string SetId,
    string Kind,
    string Source,
    DateTimeOffset StartedAt,
    DateTimeOffset CompletedAt,
    double AgeHours,
    long Size,
    bool Verified,
    DateTimeOffset? LastVerifiedAt,
    bool BeforeCutoff,
    bool Qualifies,
    string Note);

/// <summary>One restore point a gate offers: its option text, the set, and the phrase to type when it is not verified.</summary>
public sealed record RestoreOfferItem(
    string Option,
    string SetId,
    string Store,
    DateTimeOffset StartedAt,
    DateTimeOffset CompletedAt,
    double AgeHours,
    long Size,
    bool Verified,
    DateTimeOffset? LastVerifiedAt,
    string Note,
    string? Confirmation);

/// <summary>
/// What a restore-point gate offers (inputs of an <c>ApprovalGate</c>): the <b>verified</b> sets completed strictly
/// before the cutoff, newest first, the newest being the default. Only when none of those is verified are the
/// unverified ones offered, each marked UNVERIFIED in its option text and needing a typed confirmation phrase, and
/// then there is no default.
/// </summary>
public sealed record RestoreOffer(IReadOnlyList<RestoreOfferItem> Items, bool OnlyUnverified)
{
    /// <summary>The option texts, newest first.</summary>
    public IReadOnlyList<string> Options => [.. Items.Select(i => i.Option)];

    /// <summary>The newest verified set's option; null when only unverified sets are offered (or none).</summary>
    public string? DefaultOption => OnlyUnverified || Items.Count == 0 ? null : Items[0].Option;

    /// <summary>Option text → the phrase an approver must type to choose it (the unverified ones).</summary>
    public IReadOnlyDictionary<string, string> ConfirmationPhrases =>
        Items.Where(i => i.Confirmation is not null).ToDictionary(i => i.Option, i => i.Confirmation!, StringComparer.Ordinal);

    /// <summary>Option text → set id, to restore the chosen one.</summary>
    public IReadOnlyDictionary<string, string> SetIds => Items.ToDictionary(i => i.Option, i => i.SetId, StringComparer.Ordinal);

    /// <summary>The offer for <paramref name="candidates"/> (newest first, as <see cref="RestorePointSelection.Candidates"/>).</summary>
    public static RestoreOffer From(IReadOnlyList<RestoreCandidate> candidates)
    {
        var before = candidates.Where(c => c.BeforeCutoff).ToList();
        var verified = before.Where(c => c.Verified).ToList();
        var onlyUnverified = verified.Count == 0 && before.Count > 0;
        return new RestoreOffer([.. (onlyUnverified ? before : verified).Select(Item)], onlyUnverified);
    }

    private static RestoreOfferItem Item(RestoreCandidate c)
    {
        var completed = c.CompletedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture);
        var option = c.Verified
            ? $"{completed} UTC, verified, set {c.SetId}"
            : $"UNVERIFIED ({(c.Note.StartsWith("verification failed", StringComparison.Ordinal) ? "its verification FAILED" : "never restore-tested")}): {completed} UTC, set {c.SetId}";
        return new RestoreOfferItem(option, c.SetId, c.Store, c.StartedAt, c.CompletedAt, c.AgeHours, c.Size, c.Verified, c.LastVerifiedAt, c.Note,
            c.Verified ? null : $"restore unverified set {c.SetId}");
    }
}

/// <summary>Result of <see cref="IBackupCatalog.FindRestorePointAsync"/>.</summary>
public sealed record RestorePointSelection(RestoreCandidate? Selected, IReadOnlyList<RestoreCandidate> Candidates, DateTimeOffset? Cutoff)
{
    public BackupSet? SelectedSet { get; init; }
}

/// <summary>Which sets retention looks at.</summary>
public sealed record RetentionRequest
{
    public string? Store { get; init; }

    /// <summary>Kind to apply retention to; null for all kinds.</summary>
    public string? Kind { get; init; }

    /// <summary>Report what would be deleted without deleting.</summary>
    public bool DryRun { get; init; }
}

/// <summary>What retention deleted (or would delete) and kept.</summary>
public sealed record RetentionResult(string Store, IReadOnlyList<string> Deleted, int Kept, IReadOnlyList<string> Protected, int IncompleteRemoved, bool DryRun);
