using System.Diagnostics;
using System.Xml.Linq;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Dns;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Drills;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Core.Building;
using DrWorkflows.Core.Execution;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;
using WireMock;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;
using static DrWorkflows.Workflows.Tests.DatabaseContainerFailureRealTests;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// Scenario 2 (complete host failure) end to end on real parts: a "primary" sample platform of <c>deploy/platform</c>
/// with the shop database, an AI database and an application role, backed up for real (pg_dumpall globals, pg_dump of
/// both databases, into a local store) and then lost (<c>docker-compose down</c>, so its health page no longer
/// answers); a second sample platform is the DR server, cold (nothing runs, no data volume yet). <c>dr-host-failover</c>
/// starts its PostgreSQL with Compose and runs with the real clock against the DR server's Docker, Compose, PostgreSQL and smoke tests, and the real
/// <see cref="IDnsProvider"/> (Route 53 client, SigV4) against an in-process Route 53 stand-in. Redis (the sample
/// platform has none) and comms are the stand-ins of <see cref="DrTestHost"/>.
/// </summary>
public sealed class HostFailoverRealTests(ITestOutputHelper output)
{
    private const string Zone = "Z0DRWFAILOVER1";
    private const string Record = "api.example.com";
    private const string PrimaryAddress = "203.0.113.10";
    private const string DrAddress = "127.0.0.1";
    private const string ChangeId = "C0DRWFAILOVER1";
    private const string AiDatabase = "ai_db";
    private const string AppRole = "shop_app";
    private const string Xmlns = "https://route53.amazonaws.com/doc/2013-04-01/";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_DR_server_gets_the_newest_backups_and_the_platform_then_DNS_moves_to_it_only_after_the_cutover_is_approved()
    {
        await using var primary = SamplePlatform.Create();
        // The DR server was set up with its own superuser password (the orchestrator's `dr` entry has it): the restored
        // globals bring the primary's roles with their password hashes, but must not lock the orchestrator out.
        await using var drSite = SamplePlatform.Create();
        var appPassword = Guid.NewGuid().ToString("N");
        var pgBin = TestServices.RequirePgBin();
        using var scratch = new TempDirectory("drw-failover");
        using var route53 = Route53StandIn();
        await using var dr = await DrTestHost.StartWithRealBackupsAsync(
            o =>
            {
                o.Tools.BinDirectory = pgBin;
                o.Servers["main"] = primary.ConnectionString();
                o.Servers["dr"] = drSite.ConnectionString();
                o.VerificationServer = "dr";
                o.RestoreJobs = 1;
            },
            services =>
            {
                drSite.UseRealDockerAndSmokeTests(services);
                services.RemoveAll<IDnsProvider>();
                services.AddRoute53(o =>
                {
                    o.AccessKeyId = "AKIDDRWFAILOVER";
                    o.SecretAccessKey = Guid.NewGuid().ToString("N");
                    o.Endpoint = route53.Urls[0].TrimEnd('/');
                    o.MaxAttempts = 1;
                });
            });
        await using var primaryServices = new ServiceCollection().AddLogging().AddDockerActivities(primary.Configure).BuildServiceProvider();
        var primaryCompose = primaryServices.GetRequiredService<IComposeService>();
        var compose = dr.Get<IComposeService>();
        var docker = dr.Get<IDockerService>();
        await RequireComposeAsync(compose);
        var clock = Stopwatch.StartNew();

        try
        {
            // The primary: the platform with the shop's data, an AI database and an application role.
            await primary.UpAndSeedAsync(primaryCompose, primaryServices.GetRequiredService<IDockerService>(), customers: 30, Ct);
            await primary.ExecuteAsync("postgres", $"CREATE ROLE {AppRole} LOGIN PASSWORD '{appPassword}'", Ct);
            await primary.ExecuteAsync("postgres", $"CREATE DATABASE {AiDatabase}", Ct);
            await ExecuteAsync(primary.ConnectionString(AiDatabase), """
                CREATE TABLE embeddings (id bigserial PRIMARY KEY, label text NOT NULL, created_at timestamptz NOT NULL);
                INSERT INTO embeddings (label, created_at) SELECT 'item ' || g, timestamptz '2026-03-01 00:00:00+00' + g * interval '1 minute' FROM generate_series(1, 25) g;
                """);
            Step("primary up and seeded");

            var sets = await BackUpPrimaryAsync(dr);
            var customers = await primary.CountAsync("customers", Ct);
            var orders = await primary.CountAsync("orders", Ct);
            Assert.Equal((30L, 60L), (customers, orders));
            Step("primary backed up (globals, both databases, Redis)");

            // The primary is lost; the DR server is cold: nothing of its Compose project runs, its data volume does not exist.
            await SamplePlatform.DownAsync(primaryCompose, output);
            Assert.Empty(await docker.ListContainersAsync(ContainerSelector.Project(drSite.Project), null, Ct));
            Step("primary down, DR server cold");

            var run = await dr.RunAsync(HostFailover.Id, new
            {
                Reason = "All endpoints of the primary down (real-parts test)",
                PrimaryChecks = new[] { new { url = primary.GatewayHealth.ToString(), timeout = "00:00:02" } },
                Store = "local",
                ZoneId = Zone,
                RecordName = Record,
                DrAddress,
                RedisDumpPath = scratch.Combine("failover.rdb"),
                ComposeProject = drSite.Project,
                DrChecks = new[] { new { url = drSite.GatewayHealth.ToString(), expectedStatus = new[] { 200 }, bodyContains = new[] { "ok" } } },
                PublicChecks = new[] { new { url = drSite.GatewayHealth.ToString(), expectedStatus = new[] { 200 }, bodyContains = new[] { "ok" } } },
            });
            run = await RunToGateAsync(dr, run.Id, TimeSpan.FromSeconds(60));
            Step("waiting on the cutover gate");

            // Everything is restored, up and tested on the DR server; nothing public changed yet.
            Assert.True(run.SubStatus == WorkflowSubStatus.Suspended, Describe(run));
            Assert.Equal("Failed", await dr.OutcomeAsync(run.Id, "checkPrimary"));
            Assert.Equal(WaitForPostgres.Ready, await dr.OutcomeAsync(run.Id, "waitDatabase"));
            Assert.Equal(RestorePostgresServer.Restored, await dr.OutcomeAsync(run.Id, "restoreDatabases"));
            Assert.Equal(InspectPostgresServer.Answered, await dr.OutcomeAsync(run.Id, "inventoryAfter"));
            Assert.Equal(WaitForHealthy.Healthy, await dr.OutcomeAsync(run.Id, "waitHealthy"));
            Assert.Equal(customers, await drSite.CountAsync("customers", Ct));
            Assert.Equal(orders, await drSite.CountAsync("orders", Ct));
            Assert.Equal(25L, await ScalarAsync<long>(drSite.ConnectionString(AiDatabase), "SELECT count(*) FROM embeddings"));
            // The application role logs in on the DR server with its password from the primary.
            var asApp = new NpgsqlConnectionStringBuilder(drSite.ConnectionString(SamplePlatform.Database)) { Username = AppRole, Password = appPassword }.ConnectionString;
            Assert.Equal(AppRole, await ScalarAsync<string>(asApp, "SELECT current_user"));
            var up = await docker.WaitForHealthyAsync(ContainerSelector.Project(drSite.Project), TimeSpan.FromMinutes(2), Ct);
            Assert.Equal(["backend", "gateway", "postgres"], up.Containers.Select(c => c.ComposeService).Order());
            Assert.True(up.AllReady, up.Describe());
            var gate = await dr.PendingGateAsync(run.Id);
            Assert.Equal("Approve the DNS cutover to the DR server", gate.Title);
            Assert.Equal(PrimaryAddress, gate.Facts!["currentValues"]![0]!.ToString());
            Assert.Equal(DrAddress, gate.Facts["newValue"]!.ToString());
            // The primary's whole server, from the catalog (the primary is gone): both databases, nothing lost, nothing missing.
            Assert.Equal([(AiDatabase, sets.Ai), (SamplePlatform.Database, sets.Main)], gate.Facts["databases"]!.AsArray().Select(d => (d!["database"]!.ToString(), d["set"]!.ToString())));
            Assert.Empty(gate.Facts["lost"]!.AsArray());
            Assert.Contains("nothing missing", gate.Facts["comparison"]!.ToString(), StringComparison.Ordinal);
            Assert.Equal(sets.Redis, gate.Facts["redisBackup"]!["setId"]!.ToString());
            Assert.Equal(["GET"], Route53Requests(route53).Select(r => r.Method));

            await dr.DecideAsync(run.Id, "approve", comment: "primary data centre confirms the outage");
            var done = await RunToEndAsync(dr, run.Id, TimeSpan.FromSeconds(60));
            Step("run ended");

            Assert.True(done.SubStatus == WorkflowSubStatus.Finished, Describe(done));
            Assert.Equal("Recovered", done.Output["Outcome"]!.ToString());
            AssertInOrder(await dr.CompletedAsync(run.Id), "checkPrimary", "startDatabase", "waitDatabase", "planRestore", "restoreDatabases", "inventoryAfter", "recordReport", "fetchRedis", "restoreRedis", "composeUp", "waitHealthy", "smokeDr", "currentDns", "approveDnsCutover", "moveDns", "waitDns", "smokePublic", "wholeServerBack", "markRecovered");

            // Route 53 got exactly one change, the UPSERT of the A record to the DR address with TTL 60, signed: the
            // record read for the gate, read again by the upsert (its journal keeps the value before), the change, its status.
            var requests = Route53Requests(route53);
            var rrset = $"/2013-04-01/hostedzone/{Zone}/rrset";
            Assert.Equal([$"GET {rrset}", $"GET {rrset}", $"POST {rrset}", $"GET /2013-04-01/change/{ChangeId}"], requests.Select(r => $"{r.Method} {r.AbsolutePath}"));
            var upsert = requests[2];
            Assert.StartsWith("AWS4-HMAC-SHA256 Credential=AKIDDRWFAILOVER/", Header(upsert, "Authorization"), StringComparison.Ordinal);
            Assert.Contains("/us-east-1/route53/aws4_request", Header(upsert, "Authorization"), StringComparison.Ordinal);
            XNamespace ns = Xmlns;
            var sent = XDocument.Parse(upsert.Body!);
            var change = Assert.Single(sent.Descendants(ns + "Change"));
            Assert.Equal("UPSERT", change.Element(ns + "Action")!.Value);
            var set = change.Element(ns + "ResourceRecordSet")!;
            Assert.Equal(Record + ".", set.Element(ns + "Name")!.Value);
            Assert.Equal("A", set.Element(ns + "Type")!.Value);
            Assert.Equal("60", set.Element(ns + "TTL")!.Value);
            Assert.Equal([DrAddress], set.Descendants(ns + "Value").Select(v => v.Value));
            Assert.Equal($"DR failover, DrWorkflows run {run.Id}", sent.Descendants(ns + "Comment").Single().Value);
            Assert.Equal(sets.MainTakenAt, Assert.Single(dr.PostMortems.Requests).Details.LastGoodDataAt);
        }
        finally
        {
            await SamplePlatform.DownAsync(primaryCompose, output);
            await SamplePlatform.DownAsync(compose, output);
            Step("down");
        }

        Assert.Empty(await docker.ListContainersAsync(ContainerSelector.Project(drSite.Project), null, Ct));
        Assert.Empty(await docker.ListContainersAsync(ContainerSelector.Project(primary.Project), null, Ct));

        void Step(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.0} s  {what}");
    }

    private static string Describe(WorkflowState state) =>
        $"{state.SubStatus}: {string.Join("; ", state.Incidents.Select(i => i.Message))} {state.Output.GetValueOrDefault("FailureReason")}";

    private sealed record PrimaryBackups(string Main, DateTimeOffset MainTakenAt, string Ai, string Redis);

    /// <summary>The primary's scheduled backups, by the real activities: globals, both databases and Redis (its stand-in) into the local store.</summary>
    private static async Task<PrimaryBackups> BackUpPrimaryAsync(DrTestHost dr)
    {
        var builder = new WorkflowBuilder("test-backup-primary", "Back up the primary (test)").WithDescription("Takes the backups the failover restores.");
        var flow = builder.Flowchart();
        flow.Chain(
            flow.Add(new BackupGlobals { Id = "globals", Server = new("main"), SourceName = new("main"), Store = new("local") }),
            flow.Add(new BackupDatabase { Id = "main", Server = new("main"), Database = new(SamplePlatform.Database), Store = new("local") }),
            flow.Add(new BackupDatabase { Id = "ai", Server = new("main"), Database = new(AiDatabase), Store = new("local") }),
            flow.Add(new BackupRedis { Id = "redis", Store = new("local") }));
        var definition = await dr.Host.Definitions.SaveAsync(builder.Build(dr.Host.Registry), publish: true, "test", isReadonly: false, Ct);
        var run = await dr.RunAsync(definition.DefinitionId);
        Assert.True(run.SubStatus == WorkflowSubStatus.Finished, string.Join("; ", run.Incidents.Select(i => i.Message)));
        var main = Assert.Single(await dr.Catalog.ListAsync("local", BackupKinds.Postgres, SamplePlatform.Database, Ct));
        var ai = Assert.Single(await dr.Catalog.ListAsync("local", BackupKinds.Postgres, AiDatabase, Ct));
        Assert.Single(await dr.Catalog.ListAsync("local", BackupKinds.Globals, "main", Ct));
        var redis = Assert.Single(await dr.Catalog.ListAsync("local", BackupKinds.Redis, "redis", Ct));
        return new PrimaryBackups(main.Id, main.Manifest.StartedAt, ai.Id, redis.Id);
    }

    /// <summary>
    /// Route 53 stand-in: the record on the primary's address, any change accepted as PENDING, and that change INSYNC
    /// at the first GetChange.
    /// </summary>
    private static WireMockServer Route53StandIn()
    {
        var server = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false });
        server.Given(Request.Create().WithPath($"/2013-04-01/hostedzone/{Zone}/rrset").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "text/xml").WithBody($"""
                <?xml version="1.0" encoding="UTF-8"?>
                <ListResourceRecordSetsResponse xmlns="{Xmlns}"><ResourceRecordSets>
                  <ResourceRecordSet><Name>{Record}.</Name><Type>A</Type><TTL>300</TTL>
                    <ResourceRecords><ResourceRecord><Value>{PrimaryAddress}</Value></ResourceRecord></ResourceRecords></ResourceRecordSet>
                </ResourceRecordSets><IsTruncated>false</IsTruncated><MaxItems>1</MaxItems></ListResourceRecordSetsResponse>
                """));
        server.Given(Request.Create().WithPath($"/2013-04-01/hostedzone/{Zone}/rrset").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "text/xml").WithBody(ChangeInfo("ChangeResourceRecordSetsResponse", "PENDING")));
        server.Given(Request.Create().WithPath($"/2013-04-01/change/{ChangeId}").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "text/xml").WithBody(ChangeInfo("GetChangeResponse", "INSYNC")));
        return server;
    }

    private static string ChangeInfo(string root, string status) => $"""
        <?xml version="1.0" encoding="UTF-8"?>
        <{root} xmlns="{Xmlns}"><ChangeInfo><Id>/change/{ChangeId}</Id><Status>{status}</Status><SubmittedAt>2026-11-26T10:00:00.000Z</SubmittedAt></ChangeInfo></{root}>
        """;

    private static List<IRequestMessage> Route53Requests(WireMockServer server) =>
        [.. server.LogEntries.Select(e => e.RequestMessage).OfType<IRequestMessage>().OrderBy(r => r.DateTime)];

    private static string? Header(IRequestMessage request, string name) =>
        request.Headers?.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value?.FirstOrDefault();

    /// <summary>The smoke checks' retry delays run on the real clock: sweep until the run waits on its gate or ends.</summary>
    private static Task<WorkflowState> RunToGateAsync(DrTestHost dr, string instanceId, TimeSpan timeout) =>
        SweepUntilAsync(dr, instanceId, timeout, async _ =>
            (await dr.Get<DrWorkflows.Activities.Approvals.IApprovalService>().ListAsync(new DrWorkflows.Activities.Approvals.ApprovalQuery { Status = "pending", InstanceId = instanceId }, Ct)).Count > 0);

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
#pragma warning disable CA2100 // Constant SQL of this test.
        await using var command = new NpgsqlCommand(sql, connection);
#pragma warning restore CA2100
        await command.ExecuteNonQueryAsync(Ct);
    }

    internal static async Task<T> ScalarAsync<T>(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
#pragma warning disable CA2100 // Constant SQL of this test.
        await using var command = new NpgsqlCommand(sql, connection);
#pragma warning restore CA2100
        return (T)(await command.ExecuteScalarAsync(Ct))!;
    }
}
