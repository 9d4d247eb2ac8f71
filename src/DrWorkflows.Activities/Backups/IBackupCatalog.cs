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
