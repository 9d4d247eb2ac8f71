using System.Diagnostics;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Core.Execution;
using DrWorkflows.Testing;
using static DrWorkflows.Workflows.Tests.DatabaseContainerFailureRealTests;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// Scenario 3 with pgBackRest on real parts: the sample platform archives its WAL (repo1 on the harness's HTTPS s3rver,
/// repo2 on the pgbackrest volume), a canary row is written every ~100 ms before the attack, the attack overwrites
/// rows, drops a table and leaves a ransom note; the restore-point gate offers "restore to just before the compromise"
/// next to the dump, the test chooses it, and the run restores into a fresh volume and container (the compromised
/// volume is quarantined as evidence), switches the platform to a copy of the restored data and turns archiving on
/// again. Host isolation and comms stay the recording stand-ins, as in <see cref="RansomwareRecoveryRealTests"/>.
/// </summary>
[TypicalDuration(206)]
public sealed class RansomwarePointInTimeRealTests(ITestOutputHelper output)
{
    private const string RansomNote = "README-RESTORE-YOUR-FILES.txt";
    private const int MarginSeconds = 2;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_gate_offers_a_restore_to_just_before_the_compromise_which_comes_back_without_the_attack_and_reports_the_last_commit_replayed()
    {
        using var forensics = new TempDirectory("drw-forensics");
        await using var pitr = await PgBackRestTestPlatform.StartAsync(output);
        var (platform, dr, pgbackrest, docker, client) = (pitr.Platform, pitr.Dr, pitr.PgBackRest, pitr.Docker, pitr.Client);
        var clock = Stopwatch.StartNew();
        await pitr.UpArchivingAsync(customers: 30);
        var full = (await pgbackrest.InfoAsync(platform.PostgresContainer, "shop", Ct)).Repositories.SelectMany(r => r.Backups).ToList();
        var dump = await BackUpAndVerifySetAsync(dr);
        await BackUpGlobalsAsync(dr);
        Step("archiving on, pgBackRest full backup and a verified dump taken");

        // Refused up front, with the range: a target before the oldest base backup, and one after the newest archived WAL.
        var early = await pgbackrest.CheckTargetAsync(platform.PostgresContainer, "shop", full[0].StartedAt.AddHours(-1), Ct);
        Assert.False(early.Reachable);
        Assert.Contains("end of the oldest backup", early.Summary, StringComparison.Ordinal);
        var late = await pgbackrest.CheckTargetAsync(platform.PostgresContainer, "shop", DateTimeOffset.UtcNow.AddHours(1), Ct);
        output.WriteLine($"too late: {late.Summary}");
        Assert.False(late.Reachable);
        Assert.Contains("is outside what the archive can reach", late.Summary, StringComparison.Ordinal);
        Assert.Contains("newest archived WAL", late.Summary, StringComparison.Ordinal);
        Assert.Equal(2, late.Ranges.Count);

        // Writing before the attack: canaries every ~100 ms, then the compromise after a pause longer than the margin.
        await platform.ExecuteAsync(SamplePlatform.Database, "CREATE TABLE canary (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())", Ct);
        for (var i = 0; i < 30; i++)
        {
            await platform.ExecuteAsync(SamplePlatform.Database, "INSERT INTO canary DEFAULT VALUES", Ct);
            await Task.Delay(TimeSpan.FromMilliseconds(100), Ct);
        }

        await Task.Delay(TimeSpan.FromSeconds(MarginSeconds + 1), Ct);
        var compromisedAt = new DateTimeOffset(await platform.ScalarAsync<DateTime>("postgres", "SELECT clock_timestamp()", Ct), TimeSpan.Zero);
        await platform.ExecuteAsync(SamplePlatform.Database, "INSERT INTO canary DEFAULT VALUES; UPDATE customers SET email = 'ENCRYPTED:' || md5(random()::text || id); DROP TABLE orders", Ct);
        var note = await docker.ExecAsync(platform.PostgresContainer, ["sh", "-c", $"echo 'pay' > /var/lib/postgresql/data/{RansomNote}"], new ExecOptions(), Ct);
        Assert.True(note.Succeeded, note.StandardError);
        // The archive holds the WAL past the compromise (as it would minutes later in a real incident).
        await pitr.WaitForArchiverPastAsync(compromisedAt.UtcDateTime);

        Step("attacked; WAL archived past the compromise");

        var input = RansomwareRecoveryRealTests.Input(platform, forensics, compromisedAt, "Ransom note in the database volume (real-parts test, point in time)");
        input["PgBackRestStanza"] = "shop";
        input["PointInTimeMarginSeconds"] = MarginSeconds;
        var run = await dr.RunAsync(RansomwareRecovery.Id, input);
        var gate = await RansomwareRecoveryRealTests.WaitForGateAsync(dr, run.Id, "Confirm the safe restore point", TimeSpan.FromMinutes(5));
        Step("waiting on the restore-point gate");

        // The dump and, next to it, the point in time just before the compromise.
        var target = compromisedAt - TimeSpan.FromSeconds(MarginSeconds);
        var option = $"Point in time {target.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z with pgBackRest ({MarginSeconds} s before the compromise)";
        Assert.Equal(2, gate.Options.Count);
        Assert.Contains(dump.Id, gate.Options[0], StringComparison.Ordinal);
        Assert.Equal(option, gate.Options[1]);
        Assert.Contains("Also offered: " + option, gate.Question, StringComparison.Ordinal);
        Assert.Equal(option, gate.Facts!.AsArray()[1]!["option"]!.GetValue<string>());
        Assert.Contains("is inside repository 1: from", gate.EvidenceText, StringComparison.Ordinal);

        await dr.DecideAsync(run.Id, "approve", option: option, comment: "just before the compromise");
        var lift = await RansomwareRecoveryRealTests.WaitForGateAsync(dr, run.Id, "Lift the network isolation?", TimeSpan.FromMinutes(10));
        Step("restored to the point in time; waiting on the lift gate");

        // The exact recovery point reached is measured and reported: at or before the target, at or after the last canary before it.
        var canaries = await HostFailoverRealTests.ScalarAsync<long>(platform.ConnectionString(SamplePlatform.Database), $"SELECT count(*) FROM canary WHERE at <= timestamptz '{target.UtcDateTime:yyyy-MM-dd HH:mm:ss.ffffff}+00'");
        Assert.Equal(30, canaries);
        Assert.Equal(0, await HostFailoverRealTests.ScalarAsync<long>(platform.ConnectionString(SamplePlatform.Database), "SELECT count(*) FROM canary WHERE id > 30"));
        var newestCanary = await HostFailoverRealTests.ScalarAsync<DateTime>(platform.ConnectionString(SamplePlatform.Database), "SELECT max(at) FROM canary");
        var journal = await dr.Host.JournalAsync(run.Id);
        var restore = Assert.Single(journal, e => e.EventName == JournalEvents.Completed && e.ActivityId == "restorePointInTime").Payload!["data"]!["restore"]!;
        output.WriteLine($"restore: {restore.ToJsonString()}");
        var reached = restore["lastReplayedCommitAt"]!.GetValue<DateTimeOffset>();
        Assert.True(reached <= target, $"{reached:O} > {target:O}");
        Assert.True(reached.UtcDateTime >= newestCanary, $"{reached:O} < {newestCanary:O}");
        Assert.Contains($"last commit replayed {reached.UtcDateTime:yyyy-MM-dd}", lift.EvidenceText, StringComparison.Ordinal);
        Assert.StartsWith("pgBackRest time ", lift.Facts!["restoredSet"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("Full backup on the new timeline: repo1 ", lift.EvidenceText, StringComparison.Ordinal);

        // Without the attack: the e-mails as they were, the orders table back, no ransom note; archiving on again.
        Assert.Equal(0, await platform.ScalarAsync<long>(SamplePlatform.Database, "SELECT count(*) FROM customers WHERE email LIKE 'ENCRYPTED:%'", Ct));
        Assert.Equal(60, await platform.CountAsync("orders", Ct));
        Assert.Equal("absent", (await SamplePlatform.OnVolumeAsync(client, platform.PostgresVolume, $"test -e /data/{RansomNote} && echo present || echo absent", Ct)).Trim());
        Assert.Equal("on", await platform.ScalarAsync<string>("postgres", "SHOW archive_mode", Ct));

        // The evidence untouched: the quarantined volume holds the attacked data and the note.
        var quarantined = $"forensic-{platform.PostgresVolume}-incident-{run.Id}";
        Assert.Equal("pay", (await SamplePlatform.OnVolumeAsync(client, quarantined, $"cat /data/{RansomNote}", Ct)).Trim());

        await dr.DecideAsync(run.Id, "approve", comment: "restored to just before the compromise; open again");
        var done = await RunToEndAsync(dr, run.Id, TimeSpan.FromSeconds(120));
        Assert.True(done.SubStatus == WorkflowSubStatus.Finished, $"{done.SubStatus}: {string.Join("; ", done.Incidents.Select(i => i.Message))}");
        Assert.Equal("Recovered", done.Output["Outcome"]!.ToString());
        var completed = await dr.CompletedAsync(run.Id);
        output.WriteLine($"completed: {string.Join(", ", completed)}");
        AssertInOrder(completed, "listBackups", "offerPointInTime", "confirmRestorePoint", "pointInTimeChosen", "restorePointInTime", "stopRestoredServer", "stopPostgresForPointInTime",
            "removePostgresContainerForPointInTime", "quarantineVolumeForPointInTime", "freshVolumeForPointInTime", "copyRestoredData", "startPostgresOnPointInTime", "waitServerOnPointInTime",
            "archiveAgain", "backupAfterSwitch", "rebuildApplication", "waitHealthy", "approveLiftIsolation", "liftIsolation", "smoke", "viaPointInTime", "closeRecovered");
        Assert.DoesNotContain("restore", completed);
        Assert.DoesNotContain("chosenRestorePoint", completed);
        Assert.Equal(reached, Assert.Single(dr.PostMortems.Requests).Details.LastGoodDataAt);
        Step("run ended: Recovered");

        void Step(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.0} s  {what}");
    }
}
