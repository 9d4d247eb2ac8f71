using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Dns;
using DrWorkflows.Activities.PgBackRest;
using DrWorkflows.Core.Execution;
using DrWorkflows.Testing;
using DrWorkflows.Workflows.Shared;
using DrWorkflows.Workflows.Tests.Fakes;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Workflows.Tests;

/// <summary>Scenario 2 on the real runtime: everything is restored and tested on the DR server first; DNS moves only after approval.</summary>
public sealed class HostFailoverTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 20, 14, 0, 0, TimeSpan.Zero);

    private static object Input(string dumpPath) => new
    {
        Reason = "All endpoints down, SSH times out",
        PrimaryChecks = new[] { new { url = "https://primary.example.com/health" } },
        Store = "local",
        ZoneId = "Z1234567890ABC",
        DrAddress = "198.51.100.7",
        RedisDumpPath = dumpPath,
    };

    private static async Task<DrTestHost> StartAsync()
    {
        var dr = await DrTestHost.StartAsync(Now, services => services.AddSingleton<FakePgBackRest>().AddSingleton<IPgBackRest>(sp => sp.GetRequiredService<FakePgBackRest>()));
        dr.Smoke.FailingUrls.Add("https://primary.example.com/health");
        dr.Dns.Records["api.example.com"] = new DnsRecord("api.example.com", "A", 300, ["203.0.113.10"]);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "main9h", "local", "ecommerce_db", DrTestHost.Ct, Now.AddHours(-9), verified: true);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "main6h", "local", "ecommerce_db", DrTestHost.Ct, Now.AddHours(-3));
        // ai_db is backed up through the `ai` entry of Postgres:Servers (backup-postgres), a server of the same host.
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ai_db", "ai6h", "local", "ai_db", DrTestHost.Ct, Now.AddHours(-3), verified: true, server: "ai");
        await dr.Databases.WriteSetAsync(BackupKinds.Globals, "main", "roles", "local", null, DrTestHost.Ct, Now.AddHours(-3));
        await dr.Databases.WriteSetAsync(BackupKinds.Redis, "redis", "rdb", "local", null, DrTestHost.Ct, Now.AddHours(-10));
        return dr;
    }

    [Fact]
    public async Task It_restores_and_tests_the_DR_server_then_moves_DNS_only_after_the_cutover_is_approved()
    {
        using var scratch = new TempDirectory("failover");
        await using var dr = await StartAsync();

        var run = await dr.RunAsync(HostFailover.Id, Input(scratch.Combine("failover.rdb")));

        dr.Calls.AssertOrder(
            "smoke https://primary.example.com/health -> failed",
            "compose.up postgres",
            "postgres.wait dr -> ready",
            "postgres.restore-globals roles -> dr",
            "postgres.restore ai6h -> dr/ai_db Recreate",
            "postgres.restore main6h -> dr/ecommerce_db Recreate",
            "postgres.integrity dr/ecommerce_db vs main6h -> passed",
            "postgres.inspect dr -> ai_db,ecommerce_db,postgres",
            "redis.restore " + scratch.Combine("failover.rdb"),
            "compose.up",
            "docker.wait-healthy project:ecommerce:api_gateway,backend,postgres 300s -> healthy",
            "smoke https://dr-server.example.com/health -> passed");
        Assert.Equal("redis:redis:rdb", await File.ReadAllTextAsync(scratch.Combine("failover.rdb"), DrTestHost.Ct));
        Assert.Empty(dr.Calls.Of("dns.upsert"));
        var gate = await dr.PendingGateAsync(run.Id);
        Assert.Equal("Approve the DNS cutover to the DR server", gate.Title);
        Assert.Equal("203.0.113.10", gate.Facts!["currentValues"]![0]!.ToString());
        Assert.Equal("198.51.100.7", gate.Facts["newValue"]!.ToString());
        // The latest of each database, as the plan says, verified or not.
        Assert.Equal([("ai_db", "ai6h", true), ("ecommerce_db", "main6h", false)],
            gate.Facts["databases"]!.AsArray().Select(d => (d!["database"]!.ToString(), d["set"]!.ToString(), d["verified"]!.GetValue<bool>())));
        Assert.Empty(gate.Facts["lost"]!.AsArray());
        Assert.Contains("nothing missing", gate.Facts["comparison"]!.ToString(), StringComparison.Ordinal);
        Assert.Equal("rdb", gate.Facts["redisBackup"]!["setId"]!.ToString());
        // No stanza given: pgBackRest is not asked, the dumps are the restore.
        Assert.Empty(dr.Calls.Of("pgbackrest."));
        Assert.Equal("dumps", gate.Facts["restoredWith"]!.ToString());

        await dr.DecideAsync(run.Id, "approve", comment: "primary DC confirms power loss");

        var done = await dr.StateAsync(run.Id);
        Assert.Equal("Recovered", done.Output["Outcome"]!.ToString());
        dr.Calls.AssertOrder(
            "dns.upsert Z1234567890ABC api.example.com A 198.51.100.7 ttl=60",
            "dns.change C123",
            "smoke https://api.example.com/health -> passed",
            "statuspage.update sp-incident-1 resolved",
            "github.post-mortem SEV-1");
        Assert.Equal(Now.AddHours(-3), Assert.Single(dr.PostMortems.Requests).Details.LastGoodDataAt);
    }

    [Fact]
    public async Task A_database_of_the_primary_without_any_backup_is_listed_as_lost_at_the_cutover_and_the_run_ends_partial()
    {
        using var scratch = new TempDirectory("failover");
        await using var dr = await StartAsync();
        // The newest globals set recorded what lived on the primary: a third database that no backup covers.
        await dr.Databases.WriteSetAsync(BackupKinds.Globals, "main", "roles2h", "local", null, DrTestHost.Ct, Now.AddHours(-2), edit: m =>
            m.ServerDatabases = [new("ai_db", 3_000_000), new("ecommerce_db", 8_000_000), new("postgres", 7_500_000), new("reports_db", 5_242_880)]);

        var run = await dr.RunAsync(HostFailover.Id, Input(scratch.Combine("failover.rdb")));

        var gate = await dr.PendingGateAsync(run.Id);
        var lost = Assert.Single(gate.Facts!["lost"]!.AsArray())!;
        Assert.Equal(("reports_db", 5_242_880L, "no backup of it exists"), (lost["database"]!.ToString(), lost["sizeBytes"]!.GetValue<long>(), lost["reason"]!.ToString()));
        Assert.Contains("MISSING after: reports_db (5 MiB)", gate.Facts["comparison"]!.ToString(), StringComparison.Ordinal);
        Assert.Contains("postgres.restore-globals roles2h -> dr", dr.Calls.Calls);

        await dr.DecideAsync(run.Id, "approve", comment: "reports are rebuilt on the DR side");

        var done = await dr.StateAsync(run.Id);
        Assert.Equal("Partial", done.Output["Outcome"]!.ToString());
        Assert.Contains("LOST: reports_db (5 MiB, no backup of it exists)", done.Output["FailureReason"]!.ToString(), StringComparison.Ordinal);
        Assert.Equal(("wholeServerBack", "False", "wholeServerBack:False"), await dr.FailureSourceAsync(run.Id, IncidentComms.RecordPartialId));
        Assert.Single(dr.Calls.Of("dns.upsert"));
        Assert.Empty(dr.Calls.Of("statuspage.update sp-incident-1 resolved"));
    }

    [Fact]
    public async Task A_rejected_cutover_leaves_DNS_alone_and_reports_that_the_DR_stack_is_up()
    {
        using var scratch = new TempDirectory("failover");
        await using var dr = await StartAsync();
        var run = await dr.RunAsync(HostFailover.Id, Input(scratch.Combine("failover.rdb")));

        await dr.DecideAsync(run.Id, "reject", comment: "primary is coming back within 10 minutes");

        var done = await dr.StateAsync(run.Id);
        Assert.Equal("Failed", done.Output["Outcome"]!.ToString());
        Assert.Contains("DNS cutover was rejected by oncall: primary is coming back", done.Output["FailureReason"]!.ToString(), StringComparison.Ordinal);
        Assert.Equal(("approveDnsCutover", "Rejected", "approveDnsCutover:Rejected"), await dr.FailureSourceAsync(run.Id));
        Assert.Empty(dr.Calls.Of("dns.upsert"));
        Assert.Equal(["203.0.113.10"], dr.Dns.Records["api.example.com"].Values);
        Assert.Single(dr.PostMortems.Requests);
    }

    [Fact]
    public async Task A_DR_database_server_that_does_not_accept_connections_stops_the_failover_before_any_restore()
    {
        using var scratch = new TempDirectory("failover");
        await using var dr = await StartAsync();
        dr.Databases.Ready = false;

        var run = await dr.RunAsync(HostFailover.Id, Input(scratch.Combine("failover.rdb")));

        var done = await dr.StateAsync(run.Id);
        Assert.Equal("Failed", done.Output["Outcome"]!.ToString());
        Assert.Contains("The DR database server dr does not accept connections after 2 minutes", done.Output["FailureReason"]!.ToString(), StringComparison.Ordinal);
        Assert.Equal(("waitDatabase", "NotReady", "waitDatabase:NotReady"), await dr.FailureSourceAsync(run.Id));
        dr.Calls.AssertOrder("compose.up postgres", "postgres.wait dr -> not ready");
        Assert.Empty(dr.Calls.Of("postgres.restore"));
        Assert.Empty(dr.Calls.Of("dns."));
    }

    [Fact]
    public async Task A_DR_database_server_outside_Compose_is_only_waited_for()
    {
        using var scratch = new TempDirectory("failover");
        await using var dr = await StartAsync();

        var run = await dr.RunAsync(HostFailover.Id, new
        {
            Reason = "All endpoints down",
            PrimaryChecks = new[] { new { url = "https://primary.example.com/health" } },
            Store = "local",
            ZoneId = "Z1234567890ABC",
            DrAddress = "198.51.100.7",
            RedisDumpPath = scratch.Combine("failover.rdb"),
            DatabaseServices = Array.Empty<string>(),
        });

        Assert.NotNull(await dr.PendingGateAsync(run.Id));
        dr.Calls.AssertOrder("postgres.wait dr -> ready", "postgres.restore-globals roles -> dr", "compose.up");
        Assert.Equal(["compose.up"], dr.Calls.Of("compose."));
    }

    [Fact]
    public async Task A_primary_that_still_answers_stops_the_failover_before_anything_is_restored()
    {
        using var scratch = new TempDirectory("failover");
        await using var dr = await StartAsync();
        dr.Smoke.FailingUrls.Clear();

        var run = await dr.RunAsync(HostFailover.Id, Input(scratch.Combine("failover.rdb")));

        var done = await dr.StateAsync(run.Id);
        Assert.Equal("Failed", done.Output["Outcome"]!.ToString());
        Assert.Contains("The primary answers its health checks", done.Output["FailureReason"]!.ToString(), StringComparison.Ordinal);
        Assert.Equal(("checkPrimary", "Passed", "checkPrimary:Passed"), await dr.FailureSourceAsync(run.Id));
        Assert.Empty(dr.Calls.Of("postgres."));
        Assert.Empty(dr.Calls.Of("compose."));
        Assert.Empty(dr.Calls.Of("dns."));
    }

    private static Dictionary<string, object?> PgBackRestInput(TempDirectory scratch, params (string Key, object? Value)[] more)
    {
        var input = new Dictionary<string, object?>
        {
            ["Reason"] = "All endpoints down, SSH times out",
            ["PrimaryChecks"] = new[] { new { url = "https://primary.example.com/health" } },
            ["Store"] = "local",
            ["ZoneId"] = "Z1234567890ABC",
            ["DrAddress"] = "198.51.100.7",
            ["RedisDumpPath"] = scratch.Combine("failover.rdb"),
            ["PgBackRestStanza"] = "shop",
            ["AlsoFromServers"] = Array.Empty<string>(),
        };
        foreach (var (key, value) in more)
            input[key] = value;
        return input;
    }

    private static FakePgBackRest PgBackRest(DrTestHost dr) => dr.Get<FakePgBackRest>();

    private static string Thread(DrTestHost dr) => string.Join("\n", dr.Comms.SlackPosts.Select(p => p.Text));

    [Fact]
    public async Task With_a_pgBackRest_stanza_the_DR_server_is_restored_from_the_S3_repository_to_latest_and_the_run_reports_the_recovery_point_and_the_RPO_exposure()
    {
        using var scratch = new TempDirectory("failover");
        await using var dr = await StartAsync();

        var run = await dr.RunAsync(HostFailover.Id, PgBackRestInput(scratch));
        var waiting = await dr.StateAsync(run.Id);
        Assert.True(waiting.SubStatus == WorkflowSubStatus.Suspended, $"{waiting.SubStatus}: {string.Join("; ", waiting.Incidents.Select(i => i.Message))} {waiting.Output.GetValueOrDefault("FailureReason")}");

        // repo1 only (the local repo2 died with the primary), into a fresh volume, then the DR stack's PostgreSQL switched
        // onto a copy (its first volume kept aside), archiving on again; no dump is restored.
        dr.Calls.AssertOrder(
            "compose.up postgres",
            "postgres.wait dr -> ready",
            "pgbackrest.check-target ecommerce_postgres shop",
            "pgbackrest.restore ecommerce_postgres shop repo=1 Latest",
            "docker.stop ecommerce_postgres-pitr-1a2b3c4d",
            "docker.stop ecommerce_postgres",
            "compose.remove postgres",
            $"docker.volume-copy ecommerce_postgres_data -> replaced-ecommerce_postgres_data-failover-{run.Id} (remove source)",
            "docker.volume-create ecommerce_postgres_data",
            "docker.volume-copy ecommerce_postgres-pitr-data-1a2b3c4d -> ecommerce_postgres_data",
            "compose.up postgres",
            "postgres.wait dr -> ready",
            "pgbackrest.enable-archiving ecommerce_postgres shop",
            "pgbackrest.backup ecommerce_postgres shop full",
            "redis.restore " + scratch.Combine("failover.rdb"),
            "compose.up",
            "docker.wait-healthy project:ecommerce:api_gateway,backend,postgres 300s -> healthy",
            "smoke https://dr-server.example.com/health -> passed");
        Assert.Empty(dr.Calls.Of("postgres.restore"));
        Assert.Empty(dr.Calls.Of("dns.upsert"));

        // The exact recovery point and the exposure it implies: the run started at 14:00:00, the last commit replayed is 13:59:12.
        var gate = await dr.PendingGateAsync(run.Id);
        Assert.Equal("pgBackRest", gate.Facts!["restoredWith"]!.ToString());
        Assert.Equal(new DateTimeOffset(2026, 11, 20, 13, 59, 12, TimeSpan.Zero), gate.Facts["recoveryPoint"]!.GetValue<DateTimeOffset>());
        Assert.Equal(48, gate.Facts["rpoExposureSeconds"]!.GetValue<double>());
        Assert.Equal(900, gate.Facts["rpoTargetSeconds"]!.GetValue<int>());
        Assert.Equal(1, gate.Facts["pointInTime"]!["repository"]!.GetValue<int>());
        Assert.Empty(gate.Facts["databases"]!.AsArray());
        Assert.Null(gate.Facts["pgBackRestRefused"]);
        Assert.Contains("restored the main PostgreSQL with pgBackRest from repository 1 (S3)", gate.EvidenceText, StringComparison.Ordinal);
        Assert.Contains("last commit replayed 2026-11-20T13:59:12", gate.EvidenceText, StringComparison.Ordinal);
        Assert.Contains("at most 48 s of committed writes may be lost, within the RPO target of 15 min", Thread(dr), StringComparison.Ordinal);
        var journal = await dr.Host.JournalAsync(run.Id);
        var measured = Assert.Single(journal, e => e.EventName == JournalEvents.Completed && e.ActivityId == "measureRpoExposure").Payload!["data"]!["rpoExposure"]!;
        Assert.Equal(48, measured["exposureSeconds"]!.GetValue<double>());

        await dr.DecideAsync(run.Id, "approve", comment: "primary DC confirms power loss");

        // "Recovered" still comes from the DR stack's health and smoke tests (and the public name's after the cutover).
        var done = await dr.StateAsync(run.Id);
        Assert.Equal("Recovered", done.Output["Outcome"]!.ToString());
        dr.Calls.AssertOrder("dns.upsert Z1234567890ABC api.example.com A 198.51.100.7 ttl=60", "smoke https://api.example.com/health -> passed", "statuspage.update sp-incident-1 resolved");
        Assert.Equal(new DateTimeOffset(2026, 11, 20, 13, 59, 12, TimeSpan.Zero), Assert.Single(dr.PostMortems.Requests).Details.LastGoodDataAt);
    }

    [Fact]
    public async Task With_the_S3_repository_refused_the_run_says_so_in_the_thread_and_restores_the_dumps_instead()
    {
        using var scratch = new TempDirectory("failover");
        await using var dr = await StartAsync();
        PgBackRest(dr).Repository1Error = "error (other): [HostConnectError] unable to connect to 'drw-pitr.s3.example.com:443'";

        var run = await dr.RunAsync(HostFailover.Id, PgBackRestInput(scratch));

        dr.Calls.AssertOrder("pgbackrest.check-target ecommerce_postgres shop", "postgres.restore-globals roles -> dr", "postgres.restore main6h -> dr/ecommerce_db Recreate", "compose.up");
        Assert.Empty(dr.Calls.Of("pgbackrest.restore"));
        Assert.Contains("NOT restored with pgBackRest. pgBackRest repository 1 (S3) cannot be restored from:", Thread(dr), StringComparison.Ordinal);
        Assert.Contains("HostConnectError", Thread(dr), StringComparison.Ordinal);
        var gate = await dr.PendingGateAsync(run.Id);
        Assert.Equal("dumps", gate.Facts!["restoredWith"]!.ToString());
        Assert.Contains("HostConnectError", gate.Facts["pgBackRestRefused"]!.ToString(), StringComparison.Ordinal);
        Assert.Contains("(the dumps were restored instead)", gate.EvidenceText, StringComparison.Ordinal);
        Assert.Null(gate.Facts["recoveryPoint"]);
        var journal = await dr.Host.JournalAsync(run.Id);
        var offered = Assert.Single(journal, e => e.EventName == JournalEvents.Completed && e.ActivityId == "checkPgBackRestRepository").Payload!["data"]!["pointInTime"]!;
        Assert.False(offered["offered"]!.GetValue<bool>());

        await dr.DecideAsync(run.Id, "approve");
        Assert.Equal("Recovered", (await dr.StateAsync(run.Id)).Output["Outcome"]!.ToString());
    }

    [Fact]
    public async Task With_the_S3_repository_refused_and_the_fallback_stop_the_run_fails_with_the_reason_and_restores_nothing()
    {
        using var scratch = new TempDirectory("failover");
        await using var dr = await StartAsync();
        PgBackRest(dr).Repository1Error = "error (other): [CryptoError] cipher header invalid";

        var run = await dr.RunAsync(HostFailover.Id, PgBackRestInput(scratch, ("PgBackRestFallback", "stop")));

        var done = await dr.StateAsync(run.Id);
        Assert.Equal("Failed", done.Output["Outcome"]!.ToString());
        Assert.Contains("Not restored: pgBackRest repository 1 (S3) cannot be restored from:", done.Output["FailureReason"]!.ToString(), StringComparison.Ordinal);
        Assert.Contains("CryptoError", done.Output["FailureReason"]!.ToString(), StringComparison.Ordinal);
        Assert.Empty(dr.Calls.Of("postgres.restore"));
        Assert.Empty(dr.Calls.Of("pgbackrest.restore"));
        Assert.Empty(dr.Calls.Of("dns."));
    }

    [Fact]
    public async Task A_pgBackRest_restore_refused_and_abandoned_falls_back_to_the_dumps_visibly()
    {
        using var scratch = new TempDirectory("failover");
        await using var dr = await StartAsync();
        PgBackRest(dr).RestoreRefusal = "Refused to restore stanza 'shop': repository 1 lacks WAL segment 000000010000000000000007 after backup 20261120-020000F.";

        var run = await dr.RunAsync(HostFailover.Id, PgBackRestInput(scratch));

        var faulted = await dr.StateAsync(run.Id);
        Assert.Equal(WorkflowSubStatus.Faulted, faulted.SubStatus);
        var incident = Assert.Single(faulted.Incidents);
        Assert.Equal("restorePointInTime", incident.ActivityId);
        Assert.Contains("lacks WAL segment", incident.Message, StringComparison.Ordinal);
        await dr.Host.Runtime.ResolveIncidentAsync(run.Id, incident.Id, IncidentResolution.Skip, "operator", "Failed", DrTestHost.Ct);
        await dr.Host.DrainAsync(DrTestHost.Ct);

        // Nothing was replaced: the DR server's PostgreSQL was never stopped; the dumps are restored into it.
        Assert.Empty(dr.Calls.Of("docker.stop"));
        dr.Calls.AssertOrder("pgbackrest.restore ecommerce_postgres shop repo=1 Latest", "postgres.restore-globals roles -> dr", "postgres.restore main6h -> dr/ecommerce_db Recreate");
        Assert.Contains("NOT restored with pgBackRest. The pgBackRest restore from repository 1 (S3) was refused or failed", Thread(dr), StringComparison.Ordinal);
        var gate = await dr.PendingGateAsync(run.Id);
        Assert.Equal("dumps", gate.Facts!["restoredWith"]!.ToString());
    }

    [Fact]
    public async Task On_the_pgBackRest_path_the_other_servers_databases_come_back_from_their_dumps_with_the_roles_of_the_restored_cluster()
    {
        using var scratch = new TempDirectory("failover");
        await using var dr = await StartAsync();
        // The main cluster pgBackRest restores holds ecommerce_db; ai_db lived on the `ai` server of the same host.
        PgBackRest(dr).RestoredDatabases = [new RestoredDatabase("ecommerce_db", 3, 150), new RestoredDatabase("postgres", 0, 0)];
        var input = PgBackRestInput(scratch);
        input.Remove("AlsoFromServers");

        var run = await dr.RunAsync(HostFailover.Id, input);

        // Only the ai server's own set, into the restored server, with owners; no globals set replayed over the roles
        // the cluster came back with, and never a dump of a database pgBackRest brought back (main6h).
        dr.Calls.AssertOrder("pgbackrest.restore ecommerce_postgres shop repo=1 Latest", "pgbackrest.backup ecommerce_postgres shop full", "postgres.restore ai6h -> dr/ai_db Recreate", "redis.restore " + scratch.Combine("failover.rdb"));
        Assert.Single(dr.Calls.Of("postgres.restore "));
        Assert.Empty(dr.Calls.Of("postgres.restore-globals"));
        var gate = await dr.PendingGateAsync(run.Id);
        Assert.Equal("pgBackRest", gate.Facts!["restoredWith"]!.ToString());
        Assert.Equal("ai6h", Assert.Single(gate.Facts["databases"]!.AsArray())!["set"]!.ToString());
        Assert.Contains("The other servers of the primary (ai) from their dumps in store local: Roles already on the server", gate.EvidenceText, StringComparison.Ordinal);

        await dr.DecideAsync(run.Id, "approve");
        var done = await dr.StateAsync(run.Id);
        Assert.True(done.SubStatus == WorkflowSubStatus.Finished, $"{done.SubStatus}: {string.Join("; ", done.Incidents.Select(i => i.Message))}");
        Assert.Equal("Recovered", done.Output["Outcome"]!.ToString());
        // The newest data every database is sure to have: the ai dump's start, older than the recovery point 13:59:12.
        Assert.Equal(Now.AddHours(-3), Assert.Single(dr.PostMortems.Requests).Details.LastGoodDataAt);
    }

    [Fact]
    public async Task On_the_pgBackRest_path_a_dump_is_never_restored_over_a_database_the_restored_cluster_already_holds()
    {
        using var scratch = new TempDirectory("failover");
        await using var dr = await StartAsync();
        // This cluster held ai_db too: pgBackRest brought it back, newer than the ai6h dump.
        PgBackRest(dr).RestoredDatabases = [new RestoredDatabase("ai_db", 1, 25), new RestoredDatabase("ecommerce_db", 3, 150), new RestoredDatabase("postgres", 0, 0)];
        var input = PgBackRestInput(scratch);
        input.Remove("AlsoFromServers");

        var run = await dr.RunAsync(HostFailover.Id, input);
        await dr.DecideAsync(run.Id, "approve");

        Assert.Empty(dr.Calls.Of("postgres.restore"));
        Assert.Equal("Recovered", (await dr.StateAsync(run.Id)).Output["Outcome"]!.ToString());
    }

    [Fact]
    public async Task On_the_pgBackRest_path_other_servers_without_any_dump_end_the_run_partial_saying_which()
    {
        using var scratch = new TempDirectory("failover");
        await using var dr = await StartAsync();
        PgBackRest(dr).RestoredDatabases = [new RestoredDatabase("ecommerce_db", 3, 150), new RestoredDatabase("postgres", 0, 0)];
        var input = PgBackRestInput(scratch, ("AlsoFromServers", new[] { "reports" }));

        var run = await dr.RunAsync(HostFailover.Id, input);
        await dr.DecideAsync(run.Id, "approve");

        var done = await dr.StateAsync(run.Id);
        Assert.True(done.SubStatus == WorkflowSubStatus.Finished, $"{done.SubStatus}: {string.Join("; ", done.Incidents.Select(i => i.Message))}");
        Assert.Equal("Partial", done.Output["Outcome"]!.ToString());
        var reason = done.Output["FailureReason"]!.ToString();
        Assert.Contains("not every database of the other servers of the primary (reports) came back from their dumps", reason, StringComparison.Ordinal);
        Assert.Contains("The other servers of the primary (reports): nothing restored from store local.", reason, StringComparison.Ordinal);
        Assert.Empty(dr.Calls.Of("postgres.restore"));
    }
}
