using DrWorkflows.Testing;
using System.Diagnostics;
using Docker.DotNet.Models;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Core.Execution;
using static DrWorkflows.Workflows.Tests.DatabaseContainerFailureRealTests;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// Scenario 1 with pgBackRest on real parts: the sample platform archives its WAL (into repo2 on the pgbackrest volume
/// only: the scenario does not depend on where the repository is, and backing up to and restoring from the s3rver took
/// minutes; restores from repo1 are proven by PointInTimeRecoveryRealTests, HostFailoverPointInTimeRealTests and
/// RansomwarePointInTimeRealTests); rows are written after the last dump; a physical fault (the orders table's file
/// removed, so the healthcheck fails and a restart does not help); the gate's default is the latest archived
/// transaction, and the run restores it into a new volume and container, switches PostgreSQL to a copy of it (the
/// damaged volume kept aside), turns archiving on again, and the whole platform's health decides "recovered".
/// </summary>
[TypicalDuration(320)]
public sealed class DatabaseContainerFailurePointInTimeRealTests(ITestOutputHelper output)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_damaged_database_whose_server_archives_its_WAL_is_restored_to_the_latest_archived_transaction_and_the_platform_recovers()
    {
        await using var pitr = await PgBackRestTestPlatform.StartAsync(output, PgBackRestTestPlatform.LocalRepositoryOnly);
        var (platform, dr, docker, client) = (pitr.Platform, pitr.Dr, pitr.Docker, pitr.Client);
        var clock = Stopwatch.StartNew();
        await pitr.UpArchivingAsync(customers: 40);
        var setId = await BackUpAndVerifyAsync(dr);
        Step("archiving on; pgBackRest full backup and a verified dump");

        // Written after the dump: only the archived WAL holds these rows.
        await platform.ExecuteAsync(SamplePlatform.Database, "CREATE TABLE canary (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())", Ct);
        for (var i = 0; i < 30; i++)
        {
            await platform.ExecuteAsync(SamplePlatform.Database, "INSERT INTO canary DEFAULT VALUES", Ct);
            await Task.Delay(TimeSpan.FromMilliseconds(100), Ct);
        }

        var newest = await platform.ScalarAsync<DateTime>(SamplePlatform.Database, "SELECT max(at) FROM canary", Ct);
        await pitr.WaitForArchiverPastAsync(newest);

        // The fault: the orders table's data file is gone; after a restart the healthcheck's query fails.
        var file = await platform.ScalarAsync<string>(SamplePlatform.Database, "SELECT pg_relation_filepath('orders')", Ct);
        var removed = await docker.ExecAsync(platform.PostgresContainer, ["sh", "-c", $"rm /var/lib/postgresql/data/{file}"], new ExecOptions(), Ct);
        Assert.True(removed.Succeeded, removed.StandardError);
        await client.Containers.RestartContainerAsync(platform.PostgresContainer, new ContainerRestartParameters { WaitBeforeKillSeconds = 10 }, Ct);
        await WaitForHealthAsync(docker, platform.PostgresContainer, "unhealthy", TimeSpan.FromSeconds(120));
        Step("orders file removed; container unhealthy");

        var input = PlatformInput(platform, "DatabaseDown: orders unreadable (real-parts test, pgBackRest)", "SELECT count(*) FROM orders");
        input["MonitorMinutes"] = 2;
        input["PgBackRestStanza"] = "shop";
        input["PostgresService"] = "postgres";
        input["Volume"] = platform.PostgresVolume;
        var run = await dr.RunAsync(DatabaseContainerFailure.Id, input);
        var gate = await RansomwareRecoveryRealTests.WaitForGateAsync(dr, run.Id, "Restore the database from backup?", TimeSpan.FromMinutes(3));
        Step("waiting on the gate");
        var option = gate.Options[^1];
        Assert.StartsWith("Latest with pgBackRest", option, StringComparison.Ordinal);
        Assert.Contains(setId, gate.Options[0], StringComparison.Ordinal);
        Assert.Contains("the default is " + option, gate.Question, StringComparison.Ordinal);
        Assert.Equal(option, gate.Facts!["pointInTime"]!.GetValue<string>());

        // Approved without naming an option: the default, the latest archived transaction.
        await dr.DecideAsync(run.Id, "approve", comment: "restore to latest");
        var done = await RunToEndAsync(dr, run.Id, TimeSpan.FromMinutes(10));
        Step("run ended");
        Assert.True(done.SubStatus == WorkflowSubStatus.Finished, $"{done.SubStatus}: {string.Join("; ", done.Incidents.Select(i => i.Message))}");
        Assert.Equal("Recovered", done.Output["Outcome"]!.ToString());
        var completed = await dr.CompletedAsync(run.Id);
        output.WriteLine($"completed: {string.Join(", ", completed)}");
        AssertInOrder(completed, "findBackup", "offerPointInTime", "approveRestore", "pointInTimeChosen", "restorePointInTime", "stopRestoredServer", "stopPostgresForPointInTime",
            "quarantineVolumeForPointInTime", "copyRestoredData", "startPostgresOnPointInTime", "waitServerOnPointInTime", "archiveAgain", "backupAfterSwitch", "removeRestoredCopy", "waitRestored", "waitPlatform", "checkBackend", "smoke", "monitorCheck", "closeRecovered");
        Assert.DoesNotContain("restore", completed);

        // Every row back, those only the WAL held included; the damaged volume kept aside; archiving on again.
        Assert.Equal(30, await platform.CountAsync("canary", Ct));
        Assert.Equal(80, await platform.CountAsync("orders", Ct));
        Assert.Equal(40, await platform.CountAsync("customers", Ct));
        Assert.Equal("on", await platform.ScalarAsync<string>("postgres", "SHOW archive_mode", Ct));
        Assert.NotNull(await docker.InspectVolumeAsync($"damaged-{platform.PostgresVolume}-incident-{run.Id}", Ct));
        var journal = await dr.Host.JournalAsync(run.Id);
        var restore = Assert.Single(journal, e => e.EventName == JournalEvents.Completed && e.ActivityId == "restorePointInTime").Payload!["data"]!["restore"]!;
        output.WriteLine($"restore: {restore.ToJsonString()}");
        Assert.Equal("latest", restore["target"]!.GetValue<string>());
        Assert.Equal(2, restore["repository"]!.GetValue<int>());
        Assert.True(restore["lastReplayedCommitAt"]!.GetValue<DateTimeOffset>().UtcDateTime >= newest);

        // Once the switch was checked, the restored copy (server and volume) is removed, not left stopped.
        var copy = restore["container"]!.GetValue<string>();
        Assert.Null(await docker.InspectVolumeAsync(restore["volume"]!.GetValue<string>(), Ct));
        Assert.Empty(await client.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = new Dictionary<string, IDictionary<string, bool>> { ["name"] = new Dictionary<string, bool> { [copy] = true } } }, Ct));
        var removedCopy = Assert.Single(journal, e => e.EventName == JournalEvents.Completed && e.ActivityId == "removeRestoredCopy").Payload!["data"]!["removed"]!;
        Assert.True(removedCopy["containerRemoved"]!.GetValue<bool>() && removedCopy["volumeRemoved"]!.GetValue<bool>() && !removedCopy["alreadyGone"]!.GetValue<bool>(), removedCopy.ToJsonString());

        // The repository is good for the next restore: a full backup on the restored server's new timeline.
        var info = await pitr.PgBackRest.InfoAsync(platform.PostgresContainer, "shop", Ct);
        Assert.StartsWith("00000002", Assert.Single(info.Repositories).Backups[^1].ArchiveStart, StringComparison.Ordinal);

        void Step(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.0} s  {what}");
    }
}
