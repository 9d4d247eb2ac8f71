using DrWorkflows.Activities.Drills;
using DrWorkflows.Activities.PgBackRest;
using DrWorkflows.Activities.Tests.Backups;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace DrWorkflows.Activities.Tests.PgBackRest;

/// <summary>
/// The RPO of an archived database (issue 12, objectives and exposure): pg_stat_archiver as the server reports it,
/// read into exposure and problems, and judged by the objectives report. The archiver rows are the query's real
/// output format; the real server is read in PointInTimeRecoveryRealTests.
/// </summary>
public sealed class WalArchiveObjectivesTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1796480000);

    [Fact]
    public void The_archiver_row_is_read_with_the_server_clock_and_the_WAL_written_after_the_last_archived_segment()
    {
        var busy = ArchiverStatistics.Parse("on|5|16777216|000000010000000000000003|1796479990.5|2|000000010000000000000002|1796479900.25|0/4000060|1796480000.75\n");
        Assert.Equal(("on", TimeSpan.FromSeconds(5), 16777216L), (busy.ArchiveMode, busy.ArchiveTimeout, busy.WalSegmentBytes));
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1796479990500), busy.LastArchivedAt);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1796479900250), busy.LastFailedAt);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1796480000750), busy.ServerNow);
        Assert.Equal(0x60, busy.UnarchivedBytes); // segment 3 ends at 0/4000000

        // A quiet server: the current position is the end of the archived segment; a later log file counts in full.
        Assert.Equal(0, ArchiverStatistics.Parse("on|60|16777216|000000010000000000000003|1796479000|0|||0/4000000|1796480000").UnarchivedBytes);
        Assert.Equal(0x1_0000_0000L - 0x4000000 + 0x10, ArchiverStatistics.Parse("on|60|16777216|000000010000000000000003|1796479000|0|||1/10|1796480000").UnarchivedBytes);
        // Nothing archived yet, a history file last, a standby: unknown, never 0.
        Assert.Null(ArchiverStatistics.Parse("on|60|16777216|||0|||0/4000000|1796480000").UnarchivedBytes);
        Assert.Null(ArchiverStatistics.Parse("on|60|16777216|00000002.history|1796479000|0|||0/4000000|1796480000").UnarchivedBytes);
        Assert.Throws<FormatException>(() => ArchiverStatistics.Parse("on|60|16777216"));
    }

    [Fact]
    public void The_drills_canaries_count_up_to_the_end_of_the_last_archived_segment_as_an_LSN()
    {
        Assert.Equal("0/4000000", RpoCanary.SegmentEnd("000000010000000000000003", 16777216));
        Assert.Equal("1/10000000", RpoCanary.SegmentEnd("00000002000000010000000F", 16777216));
        Assert.Equal("0/8000000", RpoCanary.SegmentEnd("000000010000000000000001", 67108864)); // 64 MiB segments
        Assert.Null(RpoCanary.SegmentEnd("00000002.history", 16777216));
        Assert.Null(RpoCanary.SegmentEnd("000000010000000000000003.partial", 16777216));
        Assert.Null(RpoCanary.SegmentEnd(null, 16777216));
    }

    [Fact]
    public void Exposure_is_the_age_of_the_last_archived_WAL_while_newer_WAL_waits_and_failures_after_the_last_success_are_problems()
    {
        var lag = TimeSpan.FromSeconds(90);
        var healthy = State("on|60|16777216|000000010000000000000003|1796479970|4|000000010000000000000002|1796479000|0/4000060|1796480000");
        Assert.Equal(TimeSpan.FromSeconds(30), healthy.Exposure);
        Assert.False(healthy.Failing); // the failures are older than the last success
        Assert.Null(healthy.Problem(lag));

        var quiet = State("on|60|16777216|000000010000000000000003|1796470000|0|||0/4000000|1796480000");
        Assert.Equal(TimeSpan.Zero, quiet.Exposure);
        Assert.Null(quiet.Problem(lag)); // hours since the last archive, but nothing was written since

        var lagging = State("on|60|16777216|000000010000000000000003|1796479800|0|||0/4000060|1796480000");
        Assert.Equal(TimeSpan.FromSeconds(200), lagging.Exposure);
        Assert.Contains("is 200 s old while 96 bytes of newer WAL wait: more than the allowed lag of 90 s", lagging.Problem(lag), StringComparison.Ordinal);

        var failing = State("on|60|16777216|000000010000000000000003|1796479990|7|000000010000000000000004|1796479995|0/5000060|1796480000");
        Assert.True(failing.Failing);
        Assert.Contains("archive_command fails on pg: 7 failure(s)", failing.Problem(lag), StringComparison.Ordinal);
        Assert.Contains("000000010000000000000004", failing.Problem(lag), StringComparison.Ordinal);

        var off = State("off|60|16777216|||0|||0/5000060|1796480000");
        Assert.True(off.Failing);
        Assert.Null(off.Exposure);
        Assert.Contains("archive_mode is off", off.Problem(lag), StringComparison.Ordinal);

        var never = State("on|60|16777216|||0|||0/5000060|1796480000");
        Assert.Null(never.Exposure);
        Assert.Contains("no WAL has ever been archived", never.Problem(lag), StringComparison.Ordinal);

        var unreadable = new WalArchiveState("postgres-main", "pg", "main", null, "There is no container 'pg'", Now);
        Assert.Null(unreadable.Failing);
        Assert.Null(unreadable.Exposure);
        Assert.Contains("could not be measured: There is no container 'pg'", unreadable.Problem(lag), StringComparison.Ordinal);
        Assert.NotEqual(unreadable.EpisodeKey, failing.EpisodeKey);
    }

    [Fact]
    public async Task With_archiving_the_objectives_report_says_the_RPO_can_hold_by_archive_timeout_and_is_held_now_from_the_archiver_and_a_base_backup()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = BackupTestHost.Create();
        var backup = new PgBackRestBackup("20261205-141210F", "full", 2, Now.AddHours(-1), Now.AddHours(-1).AddMinutes(1), "000000010000000000000002", "000000010000000000000002", 1, 1);
        var pgBackRest = new FakePgBackRest { Info = new PgBackRestStanzaInfo("main", true, "ok", [new PgBackRestRepository(2, true, "ok", "aes-256-cbc", [backup], "15-1", null, null)]) };

        RecoveryPromise Check(string row, TimeSpan? rpo = null, string? unreadable = null)
        {
            var archive = new FakeArchiveStatus(new WalArchiveState(RecoveryComponents.PostgresMain, "pg", "main", unreadable is null ? ArchiverStatistics.Parse(row) : null, unreadable, Now));
            var objectives = new RecoveryObjectivesOptions();
            objectives.Components.Clear();
            objectives.Components[RecoveryComponents.PostgresMain] = new RecoveryObjective { DisplayName = "PostgreSQL (Main)", Rto = TimeSpan.FromMinutes(30), Rpo = rpo ?? TimeSpan.FromMinutes(15), BackupSchedule = "0 */6 * * *", BackupKind = "postgres", BackupSource = "ecommerce_db" };
            var check = new RecoveryPromiseCheck(Options.Create(objectives), host.Catalog, host.Stores, TimeProvider.System, NullLogger<RecoveryPromiseCheck>.Instance, archiving: archive, pgBackRest: pgBackRest);
            return check.CheckAsync(ct).GetAwaiter().GetResult().Single(p => p.Objective == RecoveryObjectiveNames.Rpo);
        }

        var held = Check("on|5|16777216|000000010000000000000003|1796479990|0|||0/4000060|1796480000");
        Assert.True(held.CanHold);
        Assert.True(held.IsHeldNow);
        Assert.Contains("archive_timeout 5 s (as the server runs it) + 30 s allowed to reach the repositories", held.Reason, StringComparison.Ordinal);
        Assert.Contains("up to 35 s of data lost, within the RPO of 15 min 00 s", held.Reason, StringComparison.Ordinal);
        Assert.Contains("held: exposure 10 s", held.Reason, StringComparison.Ordinal);
        Assert.Contains("newest base backup 20261205-141210F in repository 2", held.Reason, StringComparison.Ordinal);
        Assert.Contains("Dumps as well: local: no verified backup", held.Reason, StringComparison.Ordinal); // the 6-hourly dumps are not what holds it

        var failing = Check("on|5|16777216|000000010000000000000003|1796479990|3|000000010000000000000004|1796479999|0/5000060|1796480000");
        Assert.True(failing.CanHold);
        Assert.False(failing.IsHeldNow);
        Assert.Contains("NOT held: archive_command fails", failing.Reason, StringComparison.Ordinal);

        var unknown = Check(string.Empty, unreadable: "There is no container 'pg'");
        Assert.Null(unknown.IsHeldNow); // unmeasurable is never "held"
        Assert.True(unknown.CanHold); // by design, from PgBackRest:ArchiveTimeoutSeconds (60) + 30 s
        Assert.Contains("as configured (PgBackRest:ArchiveTimeoutSeconds; the server could not be read)", unknown.Reason, StringComparison.Ordinal);
        Assert.Contains("Now: unknown, the server's archiver could not be read (There is no container 'pg')", unknown.Reason, StringComparison.Ordinal);

        var tight = Check("on|60|16777216|000000010000000000000003|1796479990|0|||0/4000060|1796480000", rpo: TimeSpan.FromSeconds(60));
        Assert.False(tight.CanHold);
        Assert.Contains("up to 1 min 30 s of data lost, more than the RPO of 1 min 00 s: the promise cannot hold", tight.Reason, StringComparison.Ordinal);

        var noTimeout = Check("on|0|16777216|000000010000000000000003|1796479990|0|||0/4000060|1796480000");
        Assert.False(noTimeout.CanHold);
        Assert.Contains("archive_timeout is 0", noTimeout.Reason, StringComparison.Ordinal);

        pgBackRest.Info = new PgBackRestStanzaInfo("main", true, "ok", [new PgBackRestRepository(2, true, "ok", "aes-256-cbc", [], "15-1", null, null)]);
        var noBackup = Check("on|5|16777216|000000010000000000000003|1796479990|0|||0/4000060|1796480000");
        Assert.False(noBackup.IsHeldNow);
        Assert.Contains("no repository holds a base backup", noBackup.Reason, StringComparison.Ordinal);

        pgBackRest.Info = null;
        var infoFails = Check("on|5|16777216|000000010000000000000003|1796479990|0|||0/4000060|1796480000");
        Assert.Null(infoFails.IsHeldNow);
        Assert.Contains("whether a base backup exists is unknown: pgbackrest info failed (repository unreadable in test)", infoFails.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pgbackrest_info_is_read_once_per_archive_monitor_interval_not_on_every_metrics_scrape()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = BackupTestHost.Create();
        var clock = new FakeTimeProvider(Now);
        var backup = new PgBackRestBackup("20261205-141210F", "full", 2, Now.AddHours(-1), Now.AddHours(-1).AddMinutes(1), "000000010000000000000002", "000000010000000000000002", 1, 1);
        var pgBackRest = new FakePgBackRest { Info = new PgBackRestStanzaInfo("main", true, "ok", [new PgBackRestRepository(2, true, "ok", "aes-256-cbc", [backup], "15-1", null, null)]) };
        var archive = new FakeArchiveStatus(State("on|60|16777216|000000010000000000000003|1796479990|0|||0/4000060|1796480000"));
        var objectives = new RecoveryObjectivesOptions();
        objectives.Components.Clear();
        objectives.Components[RecoveryComponents.PostgresMain] = new RecoveryObjective { DisplayName = "PostgreSQL (Main)", Rto = TimeSpan.FromMinutes(30), Rpo = TimeSpan.FromMinutes(15), BackupSchedule = "0 */6 * * *", BackupKind = "postgres", BackupSource = "ecommerce_db" };
        var check = new RecoveryPromiseCheck(Options.Create(objectives), host.Catalog, host.Stores, clock, NullLogger<RecoveryPromiseCheck>.Instance,
            archiving: archive, pgBackRest: pgBackRest, pgBackRestOptions: Options.Create(new PgBackRestOptions { ArchiveTimeoutSeconds = 60 }));
        async Task<RecoveryPromise> ScrapeAsync(TimeSpan after)
        {
            clock.Advance(after);
            return (await check.CheckAsync(ct)).Single(p => p.Objective == RecoveryObjectiveNames.Rpo);
        }

        Assert.Contains("newest base backup 20261205-141210F", (await ScrapeAsync(TimeSpan.Zero)).Reason, StringComparison.Ordinal);
        Assert.Equal(1, pgBackRest.InfoCalls);
        // Scrapes every 15 s within the interval (60 s, the archive monitor's): the listing read once is used.
        pgBackRest.Info = new PgBackRestStanzaInfo("main", true, "ok", [new PgBackRestRepository(2, true, "ok", "aes-256-cbc", [], "15-1", null, null)]);
        for (var i = 0; i < 3; i++)
            Assert.Contains("newest base backup 20261205-141210F", (await ScrapeAsync(TimeSpan.FromSeconds(15))).Reason, StringComparison.Ordinal);
        Assert.Equal(1, pgBackRest.InfoCalls);
        // At the interval: read again, and the change is seen.
        Assert.Contains("no repository holds a base backup", (await ScrapeAsync(TimeSpan.FromSeconds(15))).Reason, StringComparison.Ordinal);
        Assert.Equal(2, pgBackRest.InfoCalls);
        // A failing info is kept as long (it is not retried on every scrape either), and read again after it.
        pgBackRest.Info = null;
        Assert.Contains("pgbackrest info failed (repository unreadable in test)", (await ScrapeAsync(TimeSpan.FromSeconds(60))).Reason, StringComparison.Ordinal);
        Assert.Contains("pgbackrest info failed", (await ScrapeAsync(TimeSpan.FromSeconds(59))).Reason, StringComparison.Ordinal);
        Assert.Equal(3, pgBackRest.InfoCalls);
        pgBackRest.Info = new PgBackRestStanzaInfo("main", true, "ok", [new PgBackRestRepository(2, true, "ok", "aes-256-cbc", [backup], "15-1", null, null)]);
        Assert.Contains("newest base backup 20261205-141210F", (await ScrapeAsync(TimeSpan.FromSeconds(1))).Reason, StringComparison.Ordinal);
        Assert.Equal(4, pgBackRest.InfoCalls);
    }

    [Fact]
    public void Archiving_settings_are_validated_at_start()
    {
        var validator = new PgBackRestOptionsValidator();
        var options = new PgBackRestOptions { ArchiveTimeoutSeconds = 30, ArchiveMonitorInterval = TimeSpan.FromSeconds(45), ArchiveAllowedLag = TimeSpan.FromSeconds(10) };
        options.Archiving["postgres-main"] = new ArchivedDatabase { Container = "bad name" };
        options.Archiving["postgres-ai"] = new ArchivedDatabase { Container = "ai_postgres", Stanza = "ai;rm" };
        var result = validator.Validate(null, options);
        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.Contains("ArchiveMonitorInterval must be positive and at most archive_timeout (30 s)", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("ArchiveAllowedLag must be at least archive_timeout", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("PgBackRest:Archiving:postgres-main:Container", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("PgBackRest:Archiving:postgres-ai:Stanza", StringComparison.Ordinal));

        var good = new PgBackRestOptions { ArchiveTimeoutSeconds = 30 };
        good.Archiving["postgres-main"] = new ArchivedDatabase { Container = "ecommerce_postgres", Stanza = "ecommerce" };
        Assert.True(validator.Validate(null, good).Succeeded);
        Assert.Equal(TimeSpan.FromSeconds(30), good.MonitorInterval);
        Assert.Equal(TimeSpan.FromSeconds(60), good.AllowedLag);
    }

    private static WalArchiveState State(string row) => new(RecoveryComponents.PostgresMain, "pg", "main", ArchiverStatistics.Parse(row), null, Now);

    private sealed class FakeArchiveStatus(WalArchiveState state) : IWalArchiveStatus
    {
        public IReadOnlyDictionary<string, ArchivedDatabase> Databases { get; } = new Dictionary<string, ArchivedDatabase> { [state.Component] = new() { Container = state.Container, Stanza = state.Stanza } };

        public TimeSpan AllowedLag => TimeSpan.FromSeconds(90);

        public TimeSpan TransferAllowance => TimeSpan.FromSeconds(30);

        public Task<IReadOnlyList<WalArchiveState>> MeasureAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<WalArchiveState>>([state]);
    }

    /// <summary>Only <c>info</c> answers (the objectives report reads nothing else); null makes it fail like an unreadable repository.</summary>
    private sealed class FakePgBackRest : IPgBackRest
    {
        public PgBackRestStanzaInfo? Info { get; set; }

        public int InfoCalls { get; private set; }

        public Task<PgBackRestStanzaInfo> InfoAsync(string container, string stanza, CancellationToken cancellationToken) =>
            ++InfoCalls > 0 && Info is { } info ? Task.FromResult(info) : throw new PgBackRestException(PgBackRestErrorCodes.RepositoryUnreadable, "repository unreadable in test");

        public Task<ArchivingEnabled> EnableArchivingAsync(string container, string stanza, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<PgBackRestBackupTaken> BackupAsync(string container, string stanza, string type, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<PointInTimeRestoreResult> RestoreAsync(PointInTimeRestoreRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<PgBackRestVerification> VerifyAsync(string container, string stanza, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<ArchiverStatistics> ArchiverStatisticsAsync(string container, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<PointInTimeTargetCheck> CheckTargetAsync(string container, string stanza, DateTimeOffset target, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<RestoredCopyRemoval> RemoveRestoredCopyAsync(string container, string volume, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
