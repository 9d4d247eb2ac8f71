namespace DrWorkflows.Activities.PgBackRest;

/// <summary>Error codes of the pgBackRest service (<see cref="PgBackRestException.Code"/>).</summary>
public static class PgBackRestErrorCodes
{
    public const string NotConfigured = "pgbackrest.not-configured";
    public const string NotReady = "pgbackrest.container-not-ready";
    public const string CommandFailed = "pgbackrest.command-failed";
    public const string NoStanza = "pgbackrest.no-stanza";
    public const string RepositoryUnreadable = "pgbackrest.repository-unreadable";
    public const string TargetOutOfRange = "pgbackrest.target-out-of-range";
    public const string WalMissing = "pgbackrest.wal-missing";
    public const string RecoveryFailed = "pgbackrest.recovery-failed";
    public const string IntegrityFailed = "pgbackrest.integrity-failed";
    public const string VerificationFailed = "pgbackrest.verification-failed";
}

/// <summary>A pgBackRest operation that could not be done, with the reason (never a secret).</summary>
public sealed class PgBackRestException(string code, string message, Exception? innerException = null) : Exception(message, innerException)
{
    public string Code { get; } = code;
}

/// <summary>One server setting changed by <see cref="IPgBackRest.EnableArchivingAsync"/>.</summary>
public sealed record SettingChange(string Name, string Before, string After);

/// <summary>What enabling archiving did and found.</summary>
public sealed record ArchivingEnabled(
    string Container, string Stanza, IReadOnlyList<SettingChange> Changes, bool Restarted, IReadOnlyList<int> Repositories,
    bool StanzaCreated, string CheckOutput);

/// <summary>
/// One backup taken, per repository. <see cref="Expired"/> are the backups <c>info</c> listed before and no longer
/// lists after (retention removed them, e.g. <c>repo2 20261205-141210F</c>); <see cref="Kept"/> is what each
/// repository holds afterwards, checked against <see cref="Retention"/>.
/// </summary>
public sealed record PgBackRestBackupTaken(
    string Container, string Stanza, string Type, IReadOnlyList<PgBackRestBackup> Backups, IReadOnlyList<string> Expired,
    PgBackRestRetention Retention, IReadOnlyList<PgBackRestRepositoryHolding> Kept);

/// <summary>The retention in force (<c>repo-retention-full</c>, <c>repo-retention-diff</c>), the same for every repository.</summary>
public sealed record PgBackRestRetention(int Full, int Diff);

/// <summary>The backups a repository holds after a backup and its retention (labels oldest first).</summary>
public sealed record PgBackRestRepositoryHolding(int Repository, int Full, int Diff, int Incremental, IReadOnlyList<string> Labels);

/// <summary>Where a point-in-time restore should stop.</summary>
public enum RecoveryTargetKind
{
    /// <summary>Replay every archived WAL segment.</summary>
    Latest,

    /// <summary>Stop at a time (transactions committed after it are not replayed).</summary>
    Time,

    /// <summary>Stop as soon as a named backup is consistent (its end).</summary>
    Backup,
}

/// <summary>A point-in-time restore into a fresh volume and container.</summary>
public sealed record PointInTimeRestoreRequest
{
    public required string Stanza { get; init; }

    public RecoveryTargetKind Target { get; init; } = RecoveryTargetKind.Latest;

    /// <summary>For <see cref="RecoveryTargetKind.Time"/>.</summary>
    public DateTimeOffset? TargetTime { get; init; }

    /// <summary>For <see cref="RecoveryTargetKind.Backup"/>: the backup label, e.g. <c>20261205-141210F</c>.</summary>
    public string? BackupLabel { get; init; }

    /// <summary>The database container whose backups to restore (read for its image and repository volume; never changed). May be gone when <see cref="Image"/> and <see cref="RepositoryVolume"/> are given.</summary>
    public string? SourceContainer { get; init; }

    public string? Image { get; init; }

    public string? RepositoryVolume { get; init; }

    /// <summary>Repository to restore from (1 S3, 2 local); default the first readable one that holds a usable backup.</summary>
    public int? Repository { get; init; }

    /// <summary>Name prefix of the new container and volume (default: the source container's name).</summary>
    public string? NameHint { get; init; }

    /// <summary>A verification: the new volume and server are throwaways, recorded in the ledger before they exist and removed when the restore ends.</summary>
    internal bool Throwaway { get; init; }

    /// <summary>Run against the restored server after it was read in full and before it is removed (a throwaway's last look).</summary>
    internal Func<RestoredServerQuery, CancellationToken, Task>? Probe { get; init; }
}

/// <summary>One query in a database of a restored server; its rows, one string each.</summary>
internal delegate Task<IReadOnlyList<string>> RestoredServerQuery(string database, string sql, CancellationToken cancellationToken);

/// <summary>A database of the restored server, read in full.</summary>
public sealed record RestoredDatabase(string Name, int Tables, long Rows);

/// <summary>The result of a point-in-time restore: where the server runs now and what it really reached.</summary>
public sealed record PointInTimeRestoreResult(
    string Container, string Volume, int Port, string Stanza, int Repository, string BackupLabel, string Target,
    DateTimeOffset? LastReplayedCommitAt, string Timeline, IReadOnlyList<RestoredDatabase> Databases, double RestoreSeconds, double RecoverySeconds);

/// <summary>The range a restore can reach from a repository.</summary>
public sealed record RecoverableRange(int Repository, DateTimeOffset OldestBackupEnd, DateTimeOffset? NewestWalStoredAt)
{
    public override string ToString() =>
        $"repository {Repository}: from {OldestBackupEnd:yyyy-MM-dd HH:mm:ss}Z (end of the oldest backup) to {(NewestWalStoredAt is { } n ? n.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) + "Z (newest archived WAL)" : "the end of that backup (no WAL archived after it)")}";
}

/// <summary>
/// One repository verified: the newest base backup plus its WAL restored into a throwaway and read in full, or why not
/// (<see cref="Error"/>: pgBackRest's first error lines, or the gap or range refused before restoring).
/// </summary>
public sealed record RepositoryVerification(
    int Repository, string? BackupLabel, bool Succeeded, DateTimeOffset At, DateTimeOffset? LastReplayedCommitAt, string? Timeline,
    IReadOnlyList<RestoredDatabase> Databases, double Seconds, string? Error)
{
    /// <summary>Null when the outcome was recorded on the backup (pgBackRest annotations); else why it could not be.</summary>
    public string? Recorded { get; init; }
}

/// <summary>Every repository of a stanza verified.</summary>
public sealed record PgBackRestVerification(string Container, string Stanza, IReadOnlyList<RepositoryVerification> Repositories)
{
    public bool Succeeded => Repositories.Count > 0 && Repositories.All(r => r.Succeeded && r.Recorded is null);
}

/// <summary>Whether a target time can be reached: the range of every readable repository, and those whose range holds it.</summary>
public sealed record PointInTimeTargetCheck(string Stanza, DateTimeOffset Target, bool Reachable, IReadOnlyList<int> Repositories, IReadOnlyList<RecoverableRange> Ranges, string Summary);

/// <summary>What a restore-point gate may offer for a point-in-time restore: the option text and target, or why not (with the ranges).</summary>
public sealed record PointInTimeOffer(bool Offered, string? Option, DateTimeOffset TargetTime, string Reason, IReadOnlyList<RecoverableRange> Ranges);

/// <summary>
/// The RPO exposure a restore implies: the writes committed between <see cref="RecoveryPoint"/> (the last commit
/// replayed) and the failure, at most <see cref="ExposureSeconds"/> (the failure came no later than
/// <see cref="FailureNoLaterThan"/>). Null seconds when no commit was replayed after the base backup.
/// </summary>
public sealed record RpoExposure(DateTimeOffset? RecoveryPoint, DateTimeOffset FailureNoLaterThan, double? ExposureSeconds, int TargetSeconds, bool WithinTarget, string Summary);

/// <summary>What removing a restored copy found: each gone (read back) or left to the janitor; <see cref="AlreadyGone"/> when there was nothing to remove.</summary>
public sealed record RestoredCopyRemoval(string Container, string Volume, bool ContainerRemoved, bool VolumeRemoved, bool AlreadyGone)
{
    public bool Removed => ContainerRemoved && VolumeRemoved;
}
