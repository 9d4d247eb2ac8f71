using DrWorkflows.Activities.PgBackRest;

namespace DrWorkflows.Workflows.Tests.Fakes;

/// <summary>
/// pgBackRest in memory: repository 1 (S3) holds a backup and WAL up to <see cref="NewestWal"/> unless
/// <see cref="Repository1Error"/> says why it cannot be read (as <c>pgbackrest info</c> reports an unreachable endpoint or
/// a wrong key); the local repository 2 is empty (it died with the primary). A restore reaches <see cref="LastCommit"/>.
/// </summary>
public sealed class FakePgBackRest(CallLog log) : IPgBackRest
{
    public DateTimeOffset BackupEnd { get; set; } = new(2026, 11, 20, 2, 0, 0, TimeSpan.Zero);

    public DateTimeOffset NewestWal { get; set; } = new(2026, 11, 20, 13, 59, 20, TimeSpan.Zero);

    public DateTimeOffset? LastCommit { get; set; } = new(2026, 11, 20, 13, 59, 12, TimeSpan.Zero);

    /// <summary>Why repository 1 cannot be read (null: it can).</summary>
    public string? Repository1Error { get; set; }

    /// <summary>The restore itself is refused (e.g. a WAL gap found only then).</summary>
    public string? RestoreRefusal { get; set; }

    public Task<ArchivingEnabled> EnableArchivingAsync(string container, string stanza, CancellationToken cancellationToken)
    {
        log.Add($"pgbackrest.enable-archiving {container} {stanza}");
        return Task.FromResult(new ArchivingEnabled(container, stanza, [new SettingChange("archive_mode", "off", "on")], true, [1, 2], false, "check ok"));
    }

    public Task<PgBackRestBackupTaken> BackupAsync(string container, string stanza, string type, CancellationToken cancellationToken)
    {
        log.Add($"pgbackrest.backup {container} {stanza} {type}");
        var backups = new[] { 1, 2 }.Select(r => new PgBackRestBackup("20261120-140500F", "full", r, BackupEnd, BackupEnd, "000000020000000000000010", "000000020000000000000010", 1 << 20, 1 << 18)).ToList();
        return Task.FromResult(new PgBackRestBackupTaken(container, stanza, type, backups, [], new PgBackRestRetention(2, 6), []));
    }

    public Task<PgBackRestStanzaInfo> InfoAsync(string container, string stanza, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<PointInTimeTargetCheck> CheckTargetAsync(string container, string stanza, DateTimeOffset target, CancellationToken cancellationToken)
    {
        log.Add($"pgbackrest.check-target {container} {stanza}");
        var problems = $"repository 1: {Repository1Error ?? "ok"}; repository 2: error (missing stanza path)";
        IReadOnlyList<RecoverableRange> ranges = Repository1Error is null ? [new RecoverableRange(1, BackupEnd, NewestWal)] : [];
        var text = ranges.Count == 0 ? $"no repository of stanza '{stanza}' holds a usable backup ({problems})" : string.Join("; ", ranges);
        return Task.FromResult(new PointInTimeTargetCheck(stanza, target, false, [], ranges, $"{target.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z is outside what the archive can reach: {text}"));
    }

    /// <summary>The databases a restore reports it brought back (every table read).</summary>
    public IReadOnlyList<RestoredDatabase> RestoredDatabases { get; set; } = [new RestoredDatabase("ai_db", 1, 25), new RestoredDatabase("ecommerce_db", 3, 150), new RestoredDatabase("postgres", 0, 0)];

    public Task<PointInTimeRestoreResult> RestoreAsync(PointInTimeRestoreRequest request, CancellationToken cancellationToken)
    {
        log.Add($"pgbackrest.restore {request.SourceContainer} {request.Stanza} repo={request.Repository?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "any"} {request.Target}");
        if (RestoreRefusal is not null)
            throw new PgBackRestException(PgBackRestErrorCodes.WalMissing, RestoreRefusal);
        return Task.FromResult(new PointInTimeRestoreResult(
            $"{request.SourceContainer}-pitr-1a2b3c4d", $"{request.SourceContainer}-pitr-data-1a2b3c4d", 55432, request.Stanza, request.Repository ?? 1, "20261120-020000F", "latest",
            LastCommit, "00000002", RestoredDatabases, 12.5, 3.25));
    }

    public Task<PgBackRestVerification> VerifyAsync(string container, string stanza, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<ArchiverStatistics> ArchiverStatisticsAsync(string container, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<RestoredCopyRemoval> RemoveRestoredCopyAsync(string container, string volume, CancellationToken cancellationToken)
    {
        log.Add($"pgbackrest.remove-copy {container} {volume}");
        return Task.FromResult(new RestoredCopyRemoval(container, volume, ContainerRemoved: true, VolumeRemoved: true, AlreadyGone: false));
    }
}
