using DrWorkflows.Activities.PgBackRest;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// pgBackRest for the in-memory scenario tests: the range a restore can reach (what the restore gates ask), nothing
/// else; a restore or a backup fails as an unreadable repository would. The real service is tested on real parts.
/// </summary>
internal sealed class RangeOnlyPgBackRest(DateTimeOffset oldestBackupEnd, DateTimeOffset newestWal) : IPgBackRest
{
    public List<string> Checked { get; } = [];

    public Task<PointInTimeTargetCheck> CheckTargetAsync(string container, string stanza, DateTimeOffset target, CancellationToken cancellationToken)
    {
        Checked.Add($"{container} {stanza}");
        var range = new RecoverableRange(2, oldestBackupEnd, newestWal);
        var inside = target >= oldestBackupEnd && target <= newestWal;
        return Task.FromResult(new PointInTimeTargetCheck(stanza, target, inside, inside ? [2] : [], [range],
            inside ? $"{target.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z is inside {range}" : $"{target.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z is outside what the archive can reach: {range}"));
    }

    public Task<PgBackRestStanzaInfo> InfoAsync(string container, string stanza, CancellationToken cancellationToken) => throw Unreadable();

    public Task<ArchivingEnabled> EnableArchivingAsync(string container, string stanza, CancellationToken cancellationToken) => throw Unreadable();

    public Task<PgBackRestBackupTaken> BackupAsync(string container, string stanza, string type, CancellationToken cancellationToken) => throw Unreadable();

    public Task<PointInTimeRestoreResult> RestoreAsync(PointInTimeRestoreRequest request, CancellationToken cancellationToken) => throw Unreadable();

    public Task<PgBackRestVerification> VerifyAsync(string container, string stanza, CancellationToken cancellationToken) => throw Unreadable();

    public Task<ArchiverStatistics> ArchiverStatisticsAsync(string container, CancellationToken cancellationToken) => throw Unreadable();

    public Task<RestoredCopyRemoval> RemoveRestoredCopyAsync(string container, string volume, CancellationToken cancellationToken) => throw Unreadable();

    private static PgBackRestException Unreadable() => new(PgBackRestErrorCodes.RepositoryUnreadable, "the fake pgBackRest only answers CheckTargetAsync");
}
