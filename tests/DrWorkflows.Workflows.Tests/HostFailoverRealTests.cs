using System.Diagnostics;
using System.Xml.Linq;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Dns;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Drills;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Activities.Storage;
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
[TypicalDuration(360)]
public sealed partial class HostFailoverRealTests(ITestOutputHelper output)
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
        await using var dr = await StartDrHostAsync(primary, drSite, pgBin, route53);
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

            var input = FailoverInput(primary, drSite, scratch, "All endpoints of the primary down (real-parts test)");
            input["Store"] = "local";
            var run = await dr.RunAsync(HostFailover.Id, input);
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
            AssertInOrder(await dr.CompletedAsync(run.Id), "checkPrimary", "startDatabase", "waitDatabase", "planRestore", "restoreDatabases", "inventoryAfter", "recordReport", "fetchRedis", "restoreRedis", "composeUp", "waitHealthy", "smokeDr", "currentDns", "approveDnsCutover", "moveDns", "waitDns", "smokePublic", "wholeServerBack", "closeRecovered");

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

    /// <summary>
    /// Scenario 2 with the first store down: the <c>s3</c> store points at a closed port (the first S3 endpoint is gone
    /// with the primary's region), the <c>offsite</c> store is the harness's second s3rver holding the checked copies
    /// made by <see cref="CopyToOffsite"/>. The run passes over <c>s3</c> with its error, restores every database and
    /// Redis from <c>offsite</c>, says so in the thread, the journal and the cutover gate, and the DR platform is healthy.
    /// </summary>
    [Fact]
    public async Task With_the_first_S3_store_unreachable_the_DR_server_is_restored_from_the_offsite_copy_and_the_run_says_which_store_and_why()
    {
        var offsiteEndpoint = TestServices.RequireS3Offsite();
        await using var primary = SamplePlatform.Create();
        await using var drSite = SamplePlatform.Create();
        var pgBin = TestServices.RequirePgBin();
        using var scratch = new TempDirectory("drw-failover-offsite");
        using var route53 = Route53StandIn();
        var closedPort = FreePort.Get();
        var bucket = "drw-offsite-" + Guid.NewGuid().ToString("N")[..12];
        using var offsiteClient = new AmazonS3Client(new BasicAWSCredentials("S3RVER", "S3RVER"), new AmazonS3Config
        {
            ServiceURL = offsiteEndpoint.ToString(),
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        });
        await offsiteClient.PutBucketAsync(new PutBucketRequest { BucketName = bucket }, Ct);
        await using var dr = await StartDrHostAsync(primary, drSite, pgBin, route53, services => services.Configure<BackupStoreOptions>(o =>
        {
            // The first S3 store is gone (nothing listens on its endpoint); the offsite store is the second s3rver.
            o.S3.BucketName = "drw-primary-region";
            o.S3.ServiceUrl = $"http://127.0.0.1:{closedPort}";
            o.S3.ForcePathStyle = true;
            o.S3.AccessKeyId = "S3RVER";
            o.S3.SecretAccessKey = "S3RVER";
            o.Offsite.BucketName = bucket;
            o.Offsite.ServiceUrl = offsiteEndpoint.ToString();
            o.Offsite.ForcePathStyle = true;
            o.Offsite.AccessKeyId = "S3RVER";
            o.Offsite.SecretAccessKey = "S3RVER";
        }));
        await using var primaryServices = new ServiceCollection().AddLogging().AddDockerActivities(primary.Configure).BuildServiceProvider();
        var primaryCompose = primaryServices.GetRequiredService<IComposeService>();
        var compose = dr.Get<IComposeService>();
        var docker = dr.Get<IDockerService>();
        await RequireComposeAsync(compose);

        try
        {
            await primary.UpAndSeedAsync(primaryCompose, primaryServices.GetRequiredService<IDockerService>(), customers: 20, Ct);
            await primary.ExecuteAsync("postgres", $"CREATE DATABASE {AiDatabase}", Ct);
            await ExecuteAsync(primary.ConnectionString(AiDatabase), "CREATE TABLE embeddings (id bigserial PRIMARY KEY, label text NOT NULL); INSERT INTO embeddings (label) SELECT 'item ' || g FROM generate_series(1, 7) g;");
            var sets = await BackUpPrimaryAsync(dr);
            var customers = await primary.CountAsync("customers", Ct);

            // The offsite copy, by the real activity: every set copied to the second s3rver and read back there.
            var copy = new WorkflowBuilder("test-copy-offsite", "Copy to offsite (test)").WithDescription("Copies the primary's sets to the offsite store.");
            copy.Flowchart().Add(new CopyToOffsite { Id = "copy", From = new("local") });
            var copyDefinition = await dr.Host.Definitions.SaveAsync(copy.Build(dr.Host.Registry), publish: true, "test", isReadonly: false, Ct);
            var copied = await dr.RunAsync(copyDefinition.DefinitionId);
            Assert.True(copied.SubStatus == WorkflowSubStatus.Finished, Describe(copied));
            foreach (var (kind, source, id) in new[] { (BackupKinds.Postgres, SamplePlatform.Database, sets.Main), (BackupKinds.Postgres, AiDatabase, sets.Ai), (BackupKinds.Redis, "redis", sets.Redis) })
                Assert.Equal(id, Assert.Single(await dr.Catalog.ListAsync("offsite", kind, source, Ct)).Id);
            Assert.Single(await dr.Catalog.ListAsync("offsite", BackupKinds.Globals, "main", Ct));

            await SamplePlatform.DownAsync(primaryCompose, output);
            // The defaults: Store s3, FallbackStores ['offsite'].
            var run = await dr.RunAsync(HostFailover.Id, FailoverInput(primary, drSite, scratch, "Primary region down, its S3 endpoint too (real-parts test)"));
            run = await RunToGateAsync(dr, run.Id, TimeSpan.FromSeconds(90));

            Assert.True(run.SubStatus == WorkflowSubStatus.Suspended, Describe(run));
            Assert.Equal(ChooseRestoreStore.Chosen, await dr.OutcomeAsync(run.Id, "chooseStore"));
            var journal = await dr.Host.JournalAsync(run.Id);
            var choice = Assert.Single(journal, e => e.EventName == JournalEvents.Completed && e.ActivityId == "chooseStore").Payload!["data"]!["restoreStore"]!;
            Assert.Equal("offsite", choice["chosen"]!.ToString());
            var passedOver = Assert.Single(choice["passedOver"]!.AsArray())!.ToString();
            Assert.StartsWith("s3: ", passedOver, StringComparison.Ordinal);
            Assert.True(passedOver.Contains("unreachable", StringComparison.Ordinal) || passedOver.Contains("no answer", StringComparison.Ordinal), passedOver);
            Assert.Contains(dr.Comms.SlackPosts, p => p.Text.StartsWith("Restoring from backup store offsite (passed over: s3: ", StringComparison.Ordinal));
            Assert.Contains(dr.Comms.SlackPosts, p => p.Text.StartsWith("Restored on the DR server from store offsite: ", StringComparison.Ordinal));
            // The data is the primary's, from the offsite copies.
            Assert.Equal(RestorePostgresServer.Restored, await dr.OutcomeAsync(run.Id, "restoreDatabases"));
            Assert.Equal(customers, await drSite.CountAsync("customers", Ct));
            Assert.Equal(7L, await ScalarAsync<long>(drSite.ConnectionString(AiDatabase), "SELECT count(*) FROM embeddings"));
            var gate = await dr.PendingGateAsync(run.Id);
            Assert.Equal("offsite", gate.Facts!["restoreStore"]!.ToString());
            Assert.Equal(passedOver, Assert.Single(gate.Facts["storesPassedOver"]!.AsArray())!.ToString());
            Assert.All(gate.Facts["databases"]!.AsArray(), d => Assert.Equal("offsite", d!["store"]!.ToString()));
            Assert.Equal([(AiDatabase, sets.Ai), (SamplePlatform.Database, sets.Main)], gate.Facts["databases"]!.AsArray().Select(d => (d!["database"]!.ToString(), d["set"]!.ToString())));
            Assert.Equal(sets.Redis, gate.Facts["redisBackup"]!["setId"]!.ToString());
            Assert.Equal("offsite", gate.Facts["redisBackup"]!["store"]!.ToString());

            await dr.DecideAsync(run.Id, "approve", comment: "primary region confirmed down");
            var done = await RunToEndAsync(dr, run.Id, TimeSpan.FromSeconds(60));
            Assert.True(done.SubStatus == WorkflowSubStatus.Finished, Describe(done));
            Assert.Equal("Recovered", done.Output["Outcome"]!.ToString());
            // The platform is healthy on the DR engine after the run.
            var up = await docker.WaitForHealthyAsync(ContainerSelector.Project(drSite.Project), TimeSpan.FromMinutes(2), Ct);
            Assert.True(up.AllReady, up.Describe());
            Assert.Equal(["backend", "gateway", "postgres"], up.Containers.Select(c => c.ComposeService).Order());
        }
        finally
        {
            await SamplePlatform.DownAsync(primaryCompose, output);
            await SamplePlatform.DownAsync(compose, output);
            try
            {
                foreach (var item in (await offsiteClient.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket }, CancellationToken.None)).S3Objects ?? [])
                    await offsiteClient.DeleteObjectAsync(bucket, item.Key, CancellationToken.None);
                await offsiteClient.DeleteBucketAsync(bucket, CancellationToken.None);
            }
            catch (AmazonS3Exception)
            {
                // Already gone.
            }
        }

        Assert.Empty(await docker.ListContainersAsync(ContainerSelector.Project(drSite.Project), null, Ct));
    }

    /// <summary>
    /// The orchestrator of the DR server: real backups (PostgreSQL tools, the primary as <c>main</c>, the DR server as
    /// <c>dr</c>), the DR site's real Docker, Compose and smoke tests, and the real Route 53 client against the stand-in.
    /// </summary>
    private static Task<DrTestHost> StartDrHostAsync(SamplePlatform primary, SamplePlatform drSite, string pgBin, WireMockServer route53, Action<IServiceCollection>? configure = null) =>
        DrTestHost.StartWithRealBackupsAsync(
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
                configure?.Invoke(services);
                services.RemoveAll<IDnsProvider>();
                services.AddRoute53(o =>
                {
                    o.AccessKeyId = "AKIDDRWFAILOVER";
                    o.SecretAccessKey = Guid.NewGuid().ToString("N");
                    o.Endpoint = route53.Urls[0].TrimEnd('/');
                    o.MaxAttempts = 1;
                });
            });

    /// <summary>The run's input: the primary's health page must fail, the DR gateway's serves the DR and the public checks.</summary>
    private static System.Text.Json.Nodes.JsonObject FailoverInput(SamplePlatform primary, SamplePlatform drSite, TempDirectory scratch, string reason) =>
        System.Text.Json.JsonSerializer.SerializeToNode(new
        {
            Reason = reason,
            PrimaryChecks = new[] { new { url = primary.GatewayHealth.ToString(), timeout = "00:00:02" } },
            ZoneId = Zone,
            RecordName = Record,
            DrAddress,
            RedisDumpPath = scratch.Combine("failover.rdb"),
            ComposeProject = drSite.Project,
            DrChecks = new[] { new { url = drSite.GatewayHealth.ToString(), expectedStatus = new[] { 200 }, bodyContains = new[] { "ok" } } },
            PublicChecks = new[] { new { url = drSite.GatewayHealth.ToString(), expectedStatus = new[] { 200 }, bodyContains = new[] { "ok" } } },
        })!.AsObject();

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
