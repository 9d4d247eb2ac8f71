using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Dns;
using DrWorkflows.Testing;

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
        var dr = await DrTestHost.StartAsync(Now);
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
        Assert.Empty(dr.Calls.Of("postgres."));
        Assert.Empty(dr.Calls.Of("compose."));
        Assert.Empty(dr.Calls.Of("dns."));
    }
}
