using System.Diagnostics;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Dns;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Activities.Drills;
using DrWorkflows.Core.Building;
using DrWorkflows.Core.Execution;
using DrWorkflows.Testing;
using static DrWorkflows.Workflows.Tests.DatabaseContainerFailureRealTests;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// Scenario 2 with pgBackRest on real parts: the sample platform archives its WAL (repo1 on the harness's HTTPS s3rver,
/// repo2 on its pgbackrest volume); rows are written after the last dump; then the primary host is lost: its Compose
/// project goes down and its data volume and pgbackrest volume (the local repo2 with them) are destroyed. The DR host
/// (the same engine and Compose project, cold) runs <c>dr-host-failover</c> with the stanza: it restores from repo1 only,
/// to latest, into a fresh volume, switches its PostgreSQL onto it, and its stack's health and smoke tests decide.
/// </summary>
[TypicalDuration(600)]
public sealed class HostFailoverPointInTimeRealTests(ITestOutputHelper output)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task With_the_primary_host_and_its_local_repository_gone_the_DR_host_restores_from_the_S3_repository_to_latest_with_the_rows_only_the_WAL_held()
    {
        await using var pitr = await PgBackRestTestPlatform.StartAsync(output);
        var (platform, dr, docker, client) = (pitr.Platform, pitr.Dr, pitr.Docker, pitr.Client);
        using var scratch = new TempDirectory("drw-failover-pitr");
        var clock = Stopwatch.StartNew();
        string? replaced = null;
        try
        {
            await pitr.UpArchivingAsync(customers: 10);
            await BackUpShopAndRedisAsync(dr);
            Step("archiving on; pgBackRest full backup, a dump and a Redis backup");

            // Written after the dump: only the archived WAL (in S3) holds these rows.
            await platform.ExecuteAsync(SamplePlatform.Database, "CREATE TABLE canary (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())", Ct);
            await platform.ExecuteAsync(SamplePlatform.Database, "INSERT INTO canary SELECT FROM generate_series(1, 20)", Ct);
            var newest = await platform.ScalarAsync<DateTime>(SamplePlatform.Database, "SELECT max(at) FROM canary", Ct);
            await pitr.WaitForArchiverPastAsync(newest);
            Step("canary rows archived");

            // The primary host is gone: every container, the data volume and the pgbackrest volume (repo2) with it.
            await SamplePlatform.DownAsync(pitr.Compose, output);
            foreach (var volume in new[] { platform.PostgresVolume, $"{platform.Project}_pgbackrest" })
                Assert.True(await docker.RemoveVolumeAsync(volume, force: true, Ct), volume);
            Step("primary down, its volumes destroyed");

            dr.Dns.Records["api.example.com"] = new DnsRecord("api.example.com", "A", 300, ["203.0.113.10"]);
            var health = new[] { new { url = platform.GatewayHealth.ToString(), expectedStatus = new[] { 200 }, bodyContains = new[] { "ok" } } };
            var run = await dr.RunAsync(HostFailover.Id, new Dictionary<string, object?>
            {
                ["Reason"] = "All endpoints of the primary down (real-parts test, pgBackRest)",
                ["PrimaryChecks"] = new[] { new { url = platform.GatewayHealth.ToString(), timeout = "00:00:02" } },
                ["Server"] = "main",
                ["Store"] = "local",
                ["FallbackStores"] = Array.Empty<string>(),
                ["AlsoFromServers"] = Array.Empty<string>(),
                ["ComposeProject"] = platform.Project,
                ["ZoneId"] = "Z0DRWFAILOVER1",
                ["DrAddress"] = "127.0.0.1",
                ["RedisDumpPath"] = scratch.Combine("failover.rdb"),
                ["DrChecks"] = health,
                ["PublicChecks"] = health,
                ["PgBackRestStanza"] = "shop",
                ["PostgresContainer"] = platform.PostgresContainer,
                ["PostgresService"] = "postgres",
                ["Volume"] = platform.PostgresVolume,
            });
            replaced = $"replaced-{platform.PostgresVolume}-failover-{run.Id}";
            var gate = await RansomwareRecoveryRealTests.WaitForGateAsync(dr, run.Id, "Approve the DNS cutover to the DR server", TimeSpan.FromMinutes(8));
            Step("waiting on the cutover gate");

            // From repo1 (S3), to latest: every canary row, which no dump holds; the recovery point and the exposure measured.
            Assert.Equal(20, await platform.CountAsync("canary", Ct));
            Assert.Equal(10, await platform.CountAsync("customers", Ct));
            Assert.Equal("pgBackRest", gate.Facts!["restoredWith"]!.ToString());
            Assert.Equal(1, gate.Facts["pointInTime"]!["repository"]!.GetValue<int>());
            var recoveryPoint = gate.Facts["recoveryPoint"]!.GetValue<DateTimeOffset>();
            Assert.True(recoveryPoint.UtcDateTime >= newest, $"recovery point {recoveryPoint:O} before the newest canary {newest:O}");
            Assert.InRange(gate.Facts["rpoExposureSeconds"]!.GetValue<double>(), 0, (DateTimeOffset.UtcNow - recoveryPoint).TotalSeconds);
            Assert.Null(gate.Facts["pgBackRestRefused"]);
            var completed = await dr.CompletedAsync(run.Id);
            AssertInOrder(completed, "waitDatabase", "checkPgBackRestRepository", "restorePointInTime", "quarantineVolumeForPointInTime", "copyRestoredData", "startPostgresOnPointInTime",
                "waitServerOnPointInTime", "archiveAgain", "backupAfterSwitch", "measureRpoExposure", "fetchRedis", "composeUp", "waitHealthy", "smokeDr");
            Assert.DoesNotContain("restoreDatabases", completed);
            Assert.Equal("on", await platform.ScalarAsync<string>("postgres", "SHOW archive_mode", Ct));

            await dr.DecideAsync(run.Id, "approve", comment: "primary data centre confirms the outage");
            var done = await RunToEndAsync(dr, run.Id, TimeSpan.FromMinutes(3));
            Step("run ended");
            Assert.True(done.SubStatus == WorkflowSubStatus.Finished, $"{done.SubStatus}: {string.Join("; ", done.Incidents.Select(i => i.Message))} {done.Output.GetValueOrDefault("FailureReason")}");
            Assert.Equal("Recovered", done.Output["Outcome"]!.ToString());
            Assert.Equal(recoveryPoint, Assert.Single(dr.PostMortems.Requests).Details.LastGoodDataAt);
        }
        finally
        {
            if (replaced is not null)
                await docker.RemoveVolumeAsync(replaced, force: true, CancellationToken.None);
        }

        void Step(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.0} s  {what}");
    }

    /// <summary>The scheduled backups scenario 2 also needs: a dump of the shop (so the store is usable) and Redis (its stand-in), into the local store.</summary>
    private static async Task BackUpShopAndRedisAsync(DrTestHost dr)
    {
        var builder = new WorkflowBuilder("test-backup-shop-redis", "Back up the shop and Redis (test)").WithDescription("Takes the dump and the Redis backup the failover finds.");
        var flow = builder.Flowchart();
        flow.Chain(
            flow.Add(new BackupDatabase { Id = "shop", Server = new("main"), Database = new(SamplePlatform.Database), Store = new("local") }),
            flow.Add(new BackupRedis { Id = "redis", Store = new("local") }));
        var definition = await dr.Host.Definitions.SaveAsync(builder.Build(dr.Host.Registry), publish: true, "test", isReadonly: false, Ct);
        var run = await dr.RunAsync(definition.DefinitionId);
        Assert.True(run.SubStatus == WorkflowSubStatus.Finished, string.Join("; ", run.Incidents.Select(i => i.Message)));
        Assert.Single(await dr.Catalog.ListAsync("local", BackupKinds.Postgres, SamplePlatform.Database, Ct));
    }
}
