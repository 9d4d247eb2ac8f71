using System.Net;
using System.Text.Json.Nodes;
using DrWorkflows.Server.Tests.Cli;
using DrWorkflows.Testing;
using WireMock.Matchers;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;

namespace DrWorkflows.Server.Tests.Operations;

/// <summary>
/// <c>GET /api/setup</c>, <c>drw doctor</c>, the schedule gate (an unconfigured workflow's trigger starts no run and is
/// logged once), and <c>POST /api/preflight/{id}</c> / <c>drw preflight</c>: ready on the first-run workflow, and each
/// blocker named on a broken platform (missing container and volume, unreachable database server, no backup, unreadable
/// S3 bucket, Slack, GitHub and Route 53 refusing their credentials, nobody to approve). The real server, the CLI's exit codes.
/// </summary>
public sealed class SetupAndPreflightTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string RepoWorkflow(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "repo-workflows", name));

    [Fact]
    public async Task Setup_lists_per_workflow_what_is_configured_and_what_is_missing_and_doctor_exits_1_naming_the_settings()
    {
        await using var server = new ServerFactory(workflowFiles: new Dictionary<string, string>
        {
            ["backup-redis.json"] = RepoWorkflow("backup-redis.json"),
            ["first-run.json"] = RepoWorkflow("first-run.json"),
        });

        var setup = await GetJsonAsync(server, "/api/setup", ServerFactory.ViewerKey);
        var items = setup["items"]!.AsArray().Select(i => i!.AsObject()).ToDictionary(i => i["definitionId"]!.ToString());

        var redis = items["backup-redis"];
        Assert.False(redis["ready"]!.GetValue<bool>());
        Assert.Equal(["0 4 * * *"], Texts(redis["schedules"]));
        Assert.Contains(Texts(redis["missing"]), m => m.Contains("Redis is not configured: set Redis:ConnectionString", StringComparison.Ordinal));
        Assert.Contains(Texts(redis["missing"]), m => m.Contains("Backups:Stores:S3:BucketName is empty", StringComparison.Ordinal));
        Assert.Contains("backup store local", Texts(redis["configured"]));

        var first = items["first-run"];
        Assert.True(first["ready"]!.GetValue<bool>(), string.Join(" | ", Texts(first["missing"])));
        Assert.Contains("backup store local", Texts(first["configured"]));

        // A DR scenario written in C#: the knowledge of its own configuration check step.
        var db = items["dr-database-container-failure"];
        Assert.False(db["ready"]!.GetValue<bool>());
        Assert.Contains(Texts(db["missing"]), m => m.StartsWith("Docker:ComposeProject is not set", StringComparison.Ordinal));
        Assert.Contains(Texts(db["missing"]), m => m.StartsWith("Postgres:Servers:main is not set", StringComparison.Ordinal));
        Assert.Contains(Texts(db["optional"]), m => m.StartsWith("Notifications:Slack:BotToken is not set", StringComparison.Ordinal));

        var (exit, output, error) = await Drw.RunAsync(server, "doctor", "--api-key", ServerFactory.ViewerKey);
        Assert.True(exit == 1, error);
        Assert.Contains("MISSING  backup-redis (scheduled: 0 4 * * *)", output, StringComparison.Ordinal);
        Assert.Contains("    missing  Redis is not configured: set Redis:ConnectionString", output, StringComparison.Ordinal);
        Assert.Contains("ready    first-run", output, StringComparison.Ordinal);
        Assert.Matches(@"\d+ of \d+ workflows miss settings", output);
    }

    [Fact]
    public async Task A_scheduled_trigger_of_an_unconfigured_workflow_starts_no_run_and_the_server_says_once_which_settings_are_missing()
    {
        await using var server = new ServerFactory(
            workflowFiles: new Dictionary<string, string>
            {
                ["unconfigured.json"] = Ticking("tick-redis", """{ "type": "DrWorkflows.BackupRedis", "version": 1, "id": "backup", "store": { "typeName": "String", "expression": { "type": "Literal", "value": "local" } } }"""),
                ["configured.json"] = Ticking("tick-hello", """{ "type": "Elsa.WriteLine", "version": 1, "id": "hello", "text": { "typeName": "String", "expression": { "type": "Literal", "value": "tick" } } }"""),
            },
            settings: new Dictionary<string, string> { ["DrWorkflows:Runtime:PollInterval"] = "00:00:00.200" });
        using var client = server.Client();

        // The configured twin proves the scheduler fires: wait for three of its slots (each a later sweep than the first).
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (await CountRunsAsync(client, "tick-hello") < 3)
        {
            Assert.True(DateTime.UtcNow < deadline, "the configured scheduled workflow never started three runs: " + server.Logs.All);
            await Task.Delay(200, Ct);
        }

        Assert.Equal(0, await CountRunsAsync(client, "tick-redis"));
        var lines = server.Logs.Lines.Where(l => l.Contains("Workflow tick-redis: scheduled runs are not started until it is configured", StringComparison.Ordinal)).ToList();
        var line = Assert.Single(lines);
        Assert.StartsWith("Warning 134 ", line, StringComparison.Ordinal);
        Assert.Contains("Redis is not configured: set Redis:ConnectionString", line, StringComparison.Ordinal);
        Assert.DoesNotContain(server.Logs.Lines, l => l.Contains("Workflow tick-hello: scheduled runs are not started", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Preflight_of_the_first_run_workflow_is_ready_and_drw_preflight_exits_0()
    {
        await using var server = new ServerFactory(workflowFiles: new Dictionary<string, string> { ["first-run.json"] = RepoWorkflow("first-run.json") });

        var report = await PostJsonAsync(server, "/api/preflight/first-run", new JsonObject());
        Assert.True(report["ready"]!.GetValue<bool>(), report.ToJsonString());
        Assert.Equal(0, report["blockers"]!.GetValue<int>());
        Assert.Contains(Items(report), i => i.Status == "Ok" && i.Detail.StartsWith("Backup store local (", StringComparison.Ordinal) && i.Detail.EndsWith("can be listed with the configured credentials", StringComparison.Ordinal));

        var (exit, output, error) = await Drw.RunAsync(server, "preflight", "first-run", "--api-key", ServerFactory.AdminKey);
        Assert.True(exit == 0, output + error);
        Assert.Contains("first-run: ready (", output, StringComparison.Ordinal);

        // The workflow it vouches for succeeds on the embedded defaults, and says what the store holds.
        (exit, output, error) = await Drw.RunAsync(server, "run", "first-run", "--json", "--api-key", ServerFactory.AdminKey);
        Assert.True(exit == 0, output + error);
        var run = JsonNode.Parse(output)!["workflowState"]!;
        Assert.Equal("Finished", run["subStatus"]!.ToString());
        Assert.StartsWith("The default backup store holds no backup set yet.", run["output"]!["Summary"]!.ToString(), StringComparison.Ordinal);
        // Without --json the result is shown too: the outputs under the status line, as the README's first run says.
        (exit, output, error) = await Drw.RunAsync(server, "run", "first-run", "--api-key", ServerFactory.AdminKey);
        Assert.True(exit == 0, output + error);
        Assert.Contains("  Summary: The default backup store holds no backup set yet.", output, StringComparison.Ordinal);

        (exit, _, error) = await Drw.RunAsync(server, "preflight", "no-such-workflow", "--api-key", ServerFactory.AdminKey);
        Assert.Equal(2, exit);
        Assert.Contains("No published workflow 'no-such-workflow'", error, StringComparison.Ordinal);
        (exit, _, _) = await Drw.RunAsync(server, "preflight", "first-run", "--api-key", ServerFactory.ViewerKey);
        Assert.Equal(2, exit); // operators only: a preflight uses every credential
    }

    [Fact]
    public async Task Preflight_on_a_broken_platform_reports_each_blocker_and_drw_preflight_exits_1()
    {
        var docker = TestServices.RequireDocker();
        var s3 = TestServices.RequireS3();
        using var stand = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false });
        stand.Given(Request.Create().WithPath("/slack/auth.test").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody("""{"ok":false,"error":"invalid_auth"}"""));
        stand.Given(Request.Create().WithPath(new WildcardMatcher("*/repos/acme/shop")).UsingGet())
            .RespondWith(Response.Create().WithStatusCode(401).WithHeader("Content-Type", "application/json").WithBody("""{"message":"Bad credentials"}"""));
        stand.Given(Request.Create().WithPath("/2013-04-01/hostedzonecount").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(403).WithBody("""<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error></ErrorResponse>"""));
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var settings = new Dictionary<string, string>
        {
            ["Docker:Endpoint"] = docker.ToString(),
            ["Postgres:Servers:dr"] = $"Host=127.0.0.1;Port={FreePort.Get()};Username=postgres;Password=x;Timeout=3",
            ["Backups:Stores:S3:BucketName"] = "drw-no-such-bucket-" + suffix,
            ["Backups:Stores:S3:ServiceUrl"] = s3.ToString(),
            ["Backups:Stores:S3:ForcePathStyle"] = "true",
            ["Backups:Stores:S3:AccessKeyId"] = "S3RVER",
            ["Backups:Stores:S3:SecretAccessKey"] = "S3RVER",
            ["Notifications:Slack:BotToken"] = "xoxb-revoked",
            ["Notifications:Slack:BaseUrl"] = stand.Urls[0] + "/slack/",
            ["GitHub:Token"] = "ghp_revoked",
            ["GitHub:Owner"] = "acme",
            ["GitHub:Repository"] = "shop",
            ["GitHub:BaseUrl"] = stand.Urls[0],
            ["GitHub:MaxAttempts"] = "1",
            ["Route53:AccessKeyId"] = "AKIAREVOKED",
            ["Route53:SecretAccessKey"] = "revoked",
            ["Route53:Endpoint"] = stand.Urls[0],
            ["Route53:MaxAttempts"] = "1",
        };
        await using var server = new ServerFactory(workflowFiles: new Dictionary<string, string> { ["broken.json"] = BrokenPlatformWorkflow(suffix) }, settings: settings);

        var report = await PostJsonAsync(server, "/api/preflight/preflight-broken", new JsonObject());
        var blockers = Items(report).Where(i => i.Status == "Blocker").ToList();
        var all = string.Join("\n", blockers.Select(b => $"{b.Check}: {b.Detail}"));
        Assert.False(report["ready"]!.GetValue<bool>());
        Assert.Contains(Items(report), i => i.Check == "docker" && i.Status == "Ok"); // the engine answers; what it lacks is named below
        Assert.Contains(blockers, b => b.Check == "container" && b.Detail.Contains($"drw-pf-missing-{suffix}", StringComparison.Ordinal));
        Assert.Contains(blockers, b => b.Check == "volume" && b.Detail == $"Volume drw-pf-novolume-{suffix} does not exist on Docker engine {docker}.");
        Assert.Contains(blockers, b => b.Check == "database server" && b.Detail.StartsWith("Database server dr:", StringComparison.Ordinal));
        Assert.Contains(blockers, b => b.Check == "backup" && b.Detail.StartsWith("Store local holds no postgres backup of shop_db", StringComparison.Ordinal));
        Assert.Contains(blockers, b => b.Check == "backup store" && b.Detail.StartsWith("Backup store s3 (", StringComparison.Ordinal));
        Assert.Contains(blockers, b => b.Check == "credentials" && b.Detail.Contains("Slack rejected the bot token (auth.test: invalid_auth)", StringComparison.Ordinal));
        Assert.Contains(blockers, b => b.Check == "credentials" && b.Detail.Contains("GitHub rejected the token", StringComparison.Ordinal));
        Assert.Contains(blockers, b => b.Check == "credentials" && b.Detail.StartsWith("Route 53 credentials:", StringComparison.Ordinal));
        Assert.Contains(blockers, b => b.Check == "approver" && b.Detail.StartsWith("Nobody who may approve can be reached (contact:DatabaseAdmin)", StringComparison.Ordinal));
        Assert.True(blockers.Count == report["blockers"]!.GetValue<int>(), all);
        Assert.True(blockers.Count == 9, all);

        var (exit, output, error) = await Drw.RunAsync(server, "preflight", "preflight-broken", "--api-key", ServerFactory.AdminKey);
        Assert.True(exit == 1, output + error);
        Assert.StartsWith("BLOCKER", output, StringComparison.Ordinal);
        Assert.Contains("preflight-broken: 9 blocker(s)", output, StringComparison.Ordinal);
        Assert.DoesNotContain("ghp_revoked", output, StringComparison.Ordinal);
        Assert.DoesNotContain("xoxb-revoked", output, StringComparison.Ordinal);
    }

    private static string Ticking(string id, string step) => $$"""
        { "definitionId": "{{id}}", "name": "{{id}}",
          "root": { "type": "Elsa.Flowchart", "version": 1, "id": "flow",
            "activities": [
              { "type": "Elsa.Timer", "version": 1, "id": "tick", "customProperties": { "canStartWorkflow": true },
                "interval": { "typeName": "TimeSpan", "expression": { "type": "Literal", "value": "00:00:02" } } },
              {{step}} ],
            "connections": [ { "source": { "activity": "tick", "port": "Done" }, "target": { "activity": "{{JsonNode.Parse(step)!["id"]}}", "port": "In" } } ] } }
        """;

    /// <summary>Every kind of need, each pointing at something broken or absent.</summary>
    private static string BrokenPlatformWorkflow(string suffix)
    {
        static string Lit(string name, string type, string value) => $$""" "{{name}}": { "typeName": "{{type}}", "expression": { "type": "Literal", "value": {{System.Text.Json.JsonSerializer.Serialize(value)}} } } """;
        static string Obj(string name, string json) => $$""" "{{name}}": { "typeName": "String[]", "expression": { "type": "Object", "value": {{System.Text.Json.JsonSerializer.Serialize(json)}} } } """;
        var steps = new[]
        {
            $$"""{ "type": "DrWorkflows.StopContainers", "version": 1, "id": "stop", {{Obj("containers", $"[\"drw-pf-missing-{suffix}\"]")}} }""",
            $$"""{ "type": "DrWorkflows.ArchiveVolume", "version": 1, "id": "archive", {{Lit("volume", "String", $"drw-pf-novolume-{suffix}")}}, {{Lit("outputPath", "String", "/tmp/never.tar")}} }""",
            $$"""{ "type": "DrWorkflows.WaitForPostgres", "version": 1, "id": "waitDr", {{Lit("server", "String", "dr")}} }""",
            $$"""{ "type": "DrWorkflows.FindRestorePoint", "version": 1, "id": "findLocal", {{Lit("source", "String", "shop_db")}}, {{Lit("store", "String", "local")}} }""",
            $$"""{ "type": "DrWorkflows.FindRestorePoint", "version": 1, "id": "findS3", {{Lit("source", "String", "shop_db")}}, {{Lit("store", "String", "s3")}} }""",
            $$"""{ "type": "DrWorkflows.ApprovalGate", "version": 1, "id": "gate", {{Lit("title", "String", "Go?")}}, {{Lit("question", "String", "Go?")}}, {{Obj("approvers", "[\"contact:DatabaseAdmin\"]")}} }""",
            $$"""{ "type": "DrWorkflows.GetDnsRecord", "version": 1, "id": "dns", {{Lit("zoneId", "String", "Z1")}}, {{Lit("recordName", "String", "api.example.com")}} }""",
            $$"""{ "type": "DrWorkflows.SendSlackMessage", "version": 1, "id": "say", {{Lit("text", "String", "hello")}} }""",
            $$"""{ "type": "DrWorkflows.CloseIncident", "version": 1, "id": "closeFailed", {{Lit("outcome", "String", "Failed")}} }""", // the post-mortem is opened at the end of an incident
        };
        return $$"""
            { "definitionId": "preflight-broken", "name": "Preflight on a broken platform",
              "root": { "type": "Elsa.Sequence", "version": 1, "id": "seq", "activities": [ {{string.Join(",\n", steps)}} ] } }
            """;
    }

    private static async Task<int> CountRunsAsync(HttpClient client, string definitionId)
    {
        using var response = await client.PostAsync("/elsa/api/workflow-instances", new StringContent($$"""{"definitionId":"{{definitionId}}","pageSize":50}""", System.Text.Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!["items"]!.AsArray().Count;
    }

    private static async Task<JsonNode> GetJsonAsync(ServerFactory server, string path, string key)
    {
        using var client = server.Client(key);
        using var response = await client.GetAsync(path, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }

    private static async Task<JsonNode> PostJsonAsync(ServerFactory server, string path, JsonObject body)
    {
        using var client = server.Client();
        using var response = await client.PostAsync(path, new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"), Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }

    private static List<string> Texts(JsonNode? node) => [.. node!.AsArray().Select(n => n!.ToString())];

    private static List<(string Check, string Status, string Detail)> Items(JsonNode report) =>
        [.. report["items"]!.AsArray().Select(i => (i!["check"]!.ToString(), i["status"]!.ToString(), i["detail"]!.ToString()))];
}
