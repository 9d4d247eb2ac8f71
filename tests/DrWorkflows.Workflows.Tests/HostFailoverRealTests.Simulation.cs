using System.Diagnostics;
using System.Xml.Linq;
using Docker.DotNet;
using Docker.DotNet.Models;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Core.Execution;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using WireMock;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;
using static DrWorkflows.Workflows.Tests.DatabaseContainerFailureRealTests;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// The quarterly failover simulation on the parts of the scenario 2 test: the primary's real backups, the cold DR
/// server on the test dockerd, and Route 53 as a stand-in that keeps the records it is sent (so the move and the
/// putting back are both seen, and read back).
/// </summary>
public sealed partial class HostFailoverRealTests
{
    private const string TestRecord = "failover-test.example.com";
    private const string TestRecordBefore = "192.0.2.1";

    [Fact]
    public async Task The_failover_simulation_moves_only_the_test_record_measures_each_step_and_leaves_nothing_behind()
    {
        await using var primary = SamplePlatform.Create();
        await using var drSite = SamplePlatform.Create();
        var pgBin = TestServices.RequirePgBin();
        using var scratch = new TempDirectory("drw-simulation");
        var records = new Dictionary<string, (string Value, long Ttl)>(StringComparer.OrdinalIgnoreCase)
        {
            [TestRecord] = (TestRecordBefore, 300),
            [Record] = (PrimaryAddress, 300),
        };
        using var route53 = RecordingRoute53StandIn(records);
        // The sample platform has no Redis (scenario 2 restores into the Redis stand-in): the DR Redis the cleanup probes
        // is a loopback port where nothing listens, as a project's Redis after the take-down. The DR PostgreSQL the
        // cleanup probes is the DR site's own, a service of its project.
        await using var dr = await StartDrHostAsync(primary, drSite, pgBin, route53, services =>
            services.Configure<DrWorkflows.Activities.Redis.RedisOptions>(o => o.ConnectionString = $"127.0.0.1:{FreePort.Get()}"));
        await using var primaryServices = new ServiceCollection().AddLogging().AddDockerActivities(primary.Configure).BuildServiceProvider();
        var primaryCompose = primaryServices.GetRequiredService<IComposeService>();
        var docker = dr.Get<IDockerService>();
        await RequireComposeAsync(dr.Get<IComposeService>());
        using var engine = new DockerClientConfiguration(drSite.DockerEndpoint).CreateClient();
        var clock = Stopwatch.StartNew();

        try
        {
            await primary.UpAndSeedAsync(primaryCompose, primaryServices.GetRequiredService<IDockerService>(), customers: 10, Ct);
            await primary.ExecuteAsync("postgres", $"CREATE DATABASE {AiDatabase}", Ct);
            await ExecuteAsync(primary.ConnectionString(AiDatabase), "CREATE TABLE embeddings (id bigserial PRIMARY KEY, label text NOT NULL); INSERT INTO embeddings (label) VALUES ('one');");
            await BackUpPrimaryAsync(dr);
            // The test record's old target does not answer (the simulation's "primary"): here the primary, taken down.
            await SamplePlatform.DownAsync(primaryCompose, output);
            Step("primary backed up and down");

            var run = await dr.RunAsync(QuarterlyFailoverSimulation.Id, System.Text.Json.JsonSerializer.SerializeToNode(new
            {
                TestRecordName = TestRecord,
                ZoneId = Zone,
                ZoneName = "example.com",
                DrAddress,
                ComposeProject = drSite.Project,
                FailoverInput = new
                {
                    Store = "local",
                    RedisDumpPath = scratch.Combine("failover.rdb"),
                    PrimaryChecks = new[] { new { url = primary.GatewayHealth.ToString(), timeout = "00:00:02" } },
                    DrChecks = new[] { new { url = drSite.GatewayHealth.ToString(), expectedStatus = new[] { 200 } } },
                    PublicChecks = new[] { new { url = drSite.GatewayHealth.ToString(), expectedStatus = new[] { 200 } } },
                },
            })!.AsObject());
            var approvals = dr.Get<DrWorkflows.Activities.Approvals.IApprovalService>();
            run = await SweepUntilAsync(dr, run.Id, TimeSpan.FromSeconds(120), async _ =>
                (await approvals.ListAsync(new DrWorkflows.Activities.Approvals.ApprovalQuery { Status = "pending" }, Ct)).Count > 0);
            Step("scenario 2 waits on the cutover gate");
            Assert.True(run.SubStatus == WorkflowSubStatus.Suspended, Describe(run));
            // The DR stack runs; nothing moved yet.
            Assert.NotEmpty(await docker.ListContainersAsync(ContainerSelector.Project(drSite.Project), null, Ct));
            Assert.Equal(TestRecordBefore, records[TestRecord].Value);

            var gate = Assert.Single(await approvals.ListAsync(new DrWorkflows.Activities.Approvals.ApprovalQuery { Status = "pending" }, Ct));
            var decided = await approvals.DecideAsync(gate.ApprovalId, DrTestHost.OnCall, new DrWorkflows.Activities.Approvals.ApprovalRequest { Vote = "approve", Comment = "quarterly simulation" }, Ct);
            Assert.Equal(DrWorkflows.Activities.Approvals.ApprovalResultKind.Decided, decided.Kind);
            var done = await RunToEndAsync(dr, run.Id, TimeSpan.FromSeconds(120));
            Step("simulation ended");

            Assert.True(done.SubStatus == WorkflowSubStatus.Finished, Describe(done));
            Assert.Equal("Met", done.Output["Verdict"]!.ToString());
            Assert.True(done.Output["Passed"]!.GetValue<bool>(), done.Output["Summary"]?.ToString());
            var report = done.Output["Report"]!;
            Assert.All(report["steps"]!.AsArray(), s => Assert.NotNull(s!["sinceStart"]));
            Assert.Equal(["oncall"], report["approval"]!["approvers"]!.AsArray().Select(a => a!.ToString()));
            Assert.True(report["cleanup"]!["clean"]!.GetValue<bool>(), report["cleanup"]!.ToJsonString());
            // Measured: the DR PostgreSQL scenario 2 restored into refuses connections after the take-down.
            var drServer = Assert.Single(report["cleanup"]!["servicesAfter"]!.AsArray(), p => p!["service"]!.ToString() == "PostgreSQL server 'dr'")!;
            Assert.Equal(($"127.0.0.1:{drSite.PostgresPort}", "Gone"), (drServer["endpoint"]!.ToString(), drServer["state"]!.ToString()));

            // Route 53: the test record moved to the DR address and back to its old value (both read back); the
            // production record was never asked for nor changed.
            var requests = Route53Requests(route53);
            var changes = requests.Where(r => r.Method == "POST").Select(r => XDocument.Parse(r.Body!).Descendants(XName.Get("Value", Xmlns)).Single().Value).ToList();
            Assert.Equal([DrAddress, TestRecordBefore], changes);
            Assert.Equal((TestRecordBefore, 300L), records[TestRecord]);
            Assert.DoesNotContain(requests, r => Uri.UnescapeDataString(r.RawQuery ?? string.Empty).Contains(Record + ".", StringComparison.OrdinalIgnoreCase)
                || (r.Body ?? string.Empty).Contains(Record + ".", StringComparison.OrdinalIgnoreCase));
            Assert.Equal((PrimaryAddress, 300L), records[Record]);
        }
        finally
        {
            await SamplePlatform.DownAsync(primaryCompose, output);
        }

        // Nothing of the DR stack is left: no container, no volume (the DR server was cold, it had none).
        Assert.Empty(await docker.ListContainersAsync(ContainerSelector.Project(drSite.Project), null, Ct));
        var byProject = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"com.docker.compose.project={drSite.Project}"] = true } };
        Assert.Empty((await engine.Volumes.ListAsync(new VolumesListParameters { Filters = byProject }, Ct)).Volumes ?? []);
        Step("nothing left");

        void Step(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.0} s  {what}");
    }

    /// <summary>
    /// Route 53 stand-in that keeps the records: a read answers the record asked for (by its <c>name</c>), a change
    /// sets it, and the change is INSYNC at the first GetChange.
    /// </summary>
    private static WireMockServer RecordingRoute53StandIn(Dictionary<string, (string Value, long Ttl)> records)
    {
        var server = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false });
        server.Given(Request.Create().WithPath($"/2013-04-01/hostedzone/{Zone}/rrset").UsingGet())
            .RespondWith(Response.Create().WithCallback(request =>
            {
                var query = Uri.UnescapeDataString(request.RawQuery ?? string.Empty);
                var sets = string.Concat(records.Where(r => query.Contains("name=" + r.Key + ".", StringComparison.OrdinalIgnoreCase)).Select(r =>
                    $"<ResourceRecordSet><Name>{r.Key}.</Name><Type>A</Type><TTL>{r.Value.Ttl}</TTL><ResourceRecords><ResourceRecord><Value>{r.Value.Value}</Value></ResourceRecord></ResourceRecords></ResourceRecordSet>"));
                return Xml($"""<?xml version="1.0" encoding="UTF-8"?><ListResourceRecordSetsResponse xmlns="{Xmlns}"><ResourceRecordSets>{sets}</ResourceRecordSets><IsTruncated>false</IsTruncated><MaxItems>1</MaxItems></ListResourceRecordSetsResponse>""");
            }));
        server.Given(Request.Create().WithPath($"/2013-04-01/hostedzone/{Zone}/rrset").UsingPost())
            .RespondWith(Response.Create().WithCallback(request =>
            {
                XNamespace ns = Xmlns;
                var set = XDocument.Parse(request.Body!).Descendants(ns + "ResourceRecordSet").Single();
                lock (records)
                    records[set.Element(ns + "Name")!.Value.TrimEnd('.')] = (set.Descendants(ns + "Value").Single().Value, long.Parse(set.Element(ns + "TTL")!.Value, System.Globalization.CultureInfo.InvariantCulture));
                return Xml(ChangeInfo("ChangeResourceRecordSetsResponse", "PENDING"));
            }));
        server.Given(Request.Create().WithPath($"/2013-04-01/change/{ChangeId}").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "text/xml").WithBody(ChangeInfo("GetChangeResponse", "INSYNC")));
        return server;
    }

    private static ResponseMessage Xml(string body) => new()
    {
        StatusCode = 200,
        Headers = new Dictionary<string, WireMock.Types.WireMockList<string>> { ["Content-Type"] = new("text/xml") },
        BodyData = new WireMock.Util.BodyData { BodyAsString = body, DetectedBodyType = WireMock.Types.BodyType.String },
    };
}
