using System.Diagnostics;
using DrWorkflows.Core.Execution;
using DrWorkflows.Testing;
using static DrWorkflows.Workflows.Tests.DatabaseContainerFailureRealTests;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// Scenario 5 (JSON) with pgBackRest on real parts: the sample platform archives its WAL, rows are written after the
/// last dump, the control file in the data volume is overwritten so PostgreSQL cannot start; the gate's default is the
/// latest archived transaction (found from a helper container: the database container is stopped), restored into a new
/// volume and container, PostgreSQL switched to a copy of it (the corrupted volume copied aside), archiving on again,
/// and the whole platform's health and the smoke tests decide "recovered". The repository is repo2 on the pgbackrest
/// volume only (see <see cref="PgBackRestTestPlatform.LocalRepositoryOnly"/>).
/// </summary>
[TypicalDuration(330)]
public sealed class VolumeCorruptionPointInTimeRealTests(ITestOutputHelper output)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_corrupted_volume_of_a_server_that_archives_its_WAL_is_replaced_by_a_restore_to_the_latest_archived_transaction()
    {
        using var emergency = new TempDirectory("drw-emergency");
        await using var pitr = await PgBackRestTestPlatform.StartAsync(output, PgBackRestTestPlatform.LocalRepositoryOnly);
        var (platform, dr, docker, client) = (pitr.Platform, pitr.Dr, pitr.Docker, pitr.Client);
        var clock = Stopwatch.StartNew();
        await pitr.UpArchivingAsync(customers: 30);
        await BackUpAndVerifySetAsync(dr);
        await BackUpGlobalsAsync(dr);
        Step("archiving on; pgBackRest full backup, a verified dump and the globals");

        // Written after the dump: only the archived WAL holds these rows.
        await platform.ExecuteAsync(SamplePlatform.Database, "CREATE TABLE canary (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp()); INSERT INTO canary SELECT FROM generate_series(1, 25)", Ct);
        var newest = await platform.ScalarAsync<DateTime>(SamplePlatform.Database, "SELECT max(at) FROM canary", Ct);
        await pitr.WaitForArchiverPastAsync(newest);

        // The fault: the control file is overwritten, PostgreSQL refuses to start on the volume.
        await docker.StopContainerAsync(platform.PostgresContainer, TimeSpan.FromSeconds(10), Ct);
        await VolumeCorruptionRealTests.CorruptControlFileAsync(client, platform.PostgresVolume);
        await docker.StartContainerAsync(platform.PostgresContainer, Ct);
        await VolumeCorruptionRealTests.WaitForLogAsync(client, platform.PostgresContainer, "database files are incompatible with server", TimeSpan.FromSeconds(60));
        Step("volume corrupted, PostgreSQL cannot start");

        var input = System.Text.Json.Nodes.JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(VolumeCorruptionRealTests.Input(platform, emergency)))!.AsObject();
        input["PgBackRestStanza"] = "shop";
        var run = await dr.RunAsync("dr-volume-corruption", input);
        var gate = await RansomwareRecoveryRealTests.WaitForGateAsync(dr, run.Id, "Replace the corrupted volume from backup?", TimeSpan.FromMinutes(5));
        Step("waiting on the gate");
        Assert.Equal(2, gate.Options.Count);
        Assert.StartsWith("Latest with pgBackRest", gate.Options[0], StringComparison.Ordinal);
        Assert.Equal("From the dumps (the plan in the question)", gate.Options[1]);
        Assert.Equal(gate.Options[0], gate.Facts!["pointInTime"]!.GetValue<string>());

        // Approved without naming an option: the default, the latest archived transaction.
        await dr.DecideAsync(run.Id, "approve", comment: "replace it from pgBackRest");
        var done = await RunToEndAsync(dr, run.Id, TimeSpan.FromMinutes(10));
        Step("run ended");
        Assert.True(done.SubStatus == WorkflowSubStatus.Finished, $"{done.SubStatus}: {string.Join("; ", done.Incidents.Select(i => i.Message))}");
        Assert.True("Recovered" == done.Output["Outcome"]?.ToString(), $"{done.Output["Outcome"]}: {done.Output["FailureReason"]}");
        var completed = await dr.CompletedAsync(run.Id);
        output.WriteLine($"completed: {string.Join(", ", completed)}");
        AssertInOrder(completed, "stopPostgres", "archiveVolume", "offerPointInTime", "planRestore", "approveReplace", "pointInTimeChosen", "restorePointInTime", "quarantineVolumeForPointInTime",
            "copyRestoredData", "startPostgresOnPointInTime", "waitServerOnPointInTime", "archiveAgain", "backupAfterSwitch", "waitHealthy", "smoke", "viaPointInTime", "closeRecovered");
        Assert.DoesNotContain("restoreServer", completed);

        // Every row back, those only the WAL held included; the corrupted volume kept aside; archiving on again.
        Assert.Equal(25, await platform.CountAsync("canary", Ct));
        Assert.Equal(60, await platform.CountAsync("orders", Ct));
        Assert.Equal("on", await platform.ScalarAsync<string>("postgres", "SHOW archive_mode", Ct));
        Assert.NotNull(await docker.InspectVolumeAsync($"damaged-{platform.PostgresVolume}-incident-{run.Id}", Ct));
        var restore = Assert.Single(await dr.Host.JournalAsync(run.Id), e => e.EventName == JournalEvents.Completed && e.ActivityId == "restorePointInTime").Payload!["data"]!["restore"]!;
        output.WriteLine($"restore: {restore.ToJsonString()}");
        Assert.True(restore["lastReplayedCommitAt"]!.GetValue<DateTimeOffset>().UtcDateTime >= newest);
        Assert.Equal(2, restore["repository"]!.GetValue<int>());

        void Step(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.0} s  {what}");
    }
}
