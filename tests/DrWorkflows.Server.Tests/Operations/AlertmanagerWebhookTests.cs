using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Server.Operations;
using Microsoft.Extensions.DependencyInjection;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;

namespace DrWorkflows.Server.Tests.Operations;

/// <summary>
/// Prometheus Alertmanager's webhook: a firing alert starts the routed DR workflow once; while it runs on that
/// platform, the same alert firing again (flapping) or another alert for it joins that run; after the run failed,
/// the alert pages on-call (Slack stand-in) with the failed run's link instead of starting another.
/// </summary>
public sealed class AlertmanagerWebhookTests : IAsyncLifetime
{
    private const string Channel = "C0ONCALL";

    private const string Workflow = """
        {
          "definitionId": "dr-db-down", "name": "DB down", "customProperties": { "oneRunPerPlatform": true },
          "inputs": [ { "name": "Reason", "type": "String" }, { "name": "Container", "type": "String" }, { "name": "ComposeProject", "type": "String" } ],
          "root": { "type": "Elsa.Sequence", "version": 1, "id": "seq", "activities": [
            { "type": "Elsa.Delay", "version": 1, "id": "wait",
              "timeSpan": { "typeName": "TimeSpan", "expression": { "type": "Literal", "value": "01:00:00" } } } ] }
        }
        """;

    private const string QuickFix = """
        {
          "definitionId": "dr-quick-fix", "name": "Quick fix", "customProperties": { "oneRunPerPlatform": true },
          "root": { "type": "Elsa.Sequence", "version": 1, "id": "seq", "activities": [
            { "type": "Elsa.WriteLine", "version": 1, "id": "fixed", "text": { "typeName": "String", "expression": { "type": "Literal", "value": "fixed" } } } ] }
        }
        """;

    private readonly WireMockServer slack;
    private readonly ServerFactory server;

    public AlertmanagerWebhookTests()
    {
        slack = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false });
        slack.Given(Request.Create().WithPath("/api/chat.postMessage").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody($"{{\"ok\":true,\"channel\":\"{Channel}\",\"ts\":\"1700000000.000100\"}}"));
        server = Server();
    }

    private ServerFactory Server(string? handOver = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["Alertmanager:Routes:0:AlertName"] = "DatabaseDown",
            ["Alertmanager:Routes:0:Labels:service"] = "postgres",
            ["Alertmanager:Routes:0:Workflow"] = "dr-db-down",
            ["Alertmanager:Routes:0:Input:Container"] = "ecommerce_postgres",
            ["Alertmanager:Routes:1:AlertName"] = "DiskFull",
            ["Alertmanager:Routes:1:Workflow"] = "no-such-workflow",
            ["Alertmanager:Routes:2:AlertName"] = "DatabaseDown",
            ["Alertmanager:Routes:2:Labels:service"] = "ai-postgres",
            ["Alertmanager:Routes:2:Workflow"] = "dr-db-down",
            ["Alertmanager:Routes:2:Input:Container"] = "ai_postgres",
            ["Alertmanager:Routes:2:Input:ComposeProject"] = "ai",
            ["Alertmanager:Routes:3:AlertName"] = "DatabaseDown",
            ["Alertmanager:Routes:3:Labels:service"] = "postgres-replica",
            ["Alertmanager:Routes:3:Workflow"] = "dr-db-down",
            ["Alertmanager:Routes:3:Input:Container"] = "replica_postgres",
            ["Alertmanager:Routes:4:AlertName"] = "BackendDown",
            ["Alertmanager:Routes:4:Workflow"] = "dr-quick-fix",
            ["Notifications:Slack:BotToken"] = "xoxb-test",
            ["Notifications:Slack:BaseUrl"] = slack.Urls[0] + "/api/",
            ["Notifications:Slack:DefaultChannel"] = Channel,
            ["IncidentAlerts:ServerUrl"] = "https://drw.example.com",
            ["Docker:Endpoint"] = "unix:///run/test-docker.sock",
        };
        if (handOver is not null)
            settings["Alertmanager:HandOverAfterFailure"] = handOver;
        return new ServerFactory(workflowFiles: new Dictionary<string, string> { ["dr-db-down.json"] = Workflow, ["dr-quick-fix.json"] = QuickFix }, settings: settings);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        await server.DisposeAsync();
        slack.Dispose();
    }

    private IWorkflowInstanceStore Store => server.Services.GetRequiredService<IWorkflowInstanceStore>();

    private static JsonObject Payload(string status, string alertName, string service = "postgres", string startsAt = "2026-11-26T02:00:00Z", string fingerprint = "a1b2c3d4e5f60718") => new()
    {
        ["version"] = "4",
        ["status"] = status,
        ["receiver"] = "drworkflows",
        ["alerts"] = new JsonArray(new JsonObject
        {
            ["status"] = status,
            ["labels"] = new JsonObject { ["alertname"] = alertName, ["service"] = service, ["severity"] = "critical" },
            ["annotations"] = new JsonObject { ["summary"] = "PostgreSQL main is down" },
            ["startsAt"] = startsAt,
            ["fingerprint"] = fingerprint,
            ["generatorURL"] = "http://prometheus:9090/graph",
        }),
    };

    private static async Task<JsonObject> PostAsync(ServerFactory to, JsonObject payload)
    {
        var response = await to.Client().PostAsJsonAsync("/alerts/alertmanager", payload, Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));
        return (await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!;
    }

    private Task<JsonObject> PostAsync(JsonObject payload) => PostAsync(server, payload);

    private List<string> SlackTexts() =>
        [.. slack.LogEntries.Where(e => e.RequestMessage!.Path == "/api/chat.postMessage").OrderBy(e => e.RequestMessage!.DateTime)
            .Select(e => JsonNode.Parse(e.RequestMessage!.Body!)!["text"]!.GetValue<string>())];

    private async Task<IReadOnlyList<JournalEntry>> NotesAsync(string instanceId) =>
        [.. (await Store.GetJournalAsync(instanceId, 0, 1000, Ct)).Items.Where(e => e.EventName == JournalEvents.Note)];

    /// <summary>
    /// The run's notes once there are <paramref name="count"/>: a note is written at once when the run waits, or with
    /// the run's next commit when the background is executing its first step right then.
    /// </summary>
    private async Task<IReadOnlyList<JournalEntry>> NotesAsync(string instanceId, int count)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            var notes = await NotesAsync(instanceId);
            if (notes.Count >= count || DateTime.UtcNow > deadline)
                return notes;
            await Task.Delay(50, Ct);
        }
    }

    private static void AssertRecorded(JsonNode joined)
    {
        var recorded = joined["recorded"]!.GetValue<string>();
        Assert.True(recorded == "written" || recorded.StartsWith("queued", StringComparison.Ordinal), $"the join was not recorded: {recorded}");
    }

    private static string Id(JsonObject answer, string list) => Assert.Single(answer[list]!.AsArray())!["instanceId"]!.GetValue<string>();

    [Fact]
    public async Task A_firing_alert_starts_its_workflow_once_however_often_Alertmanager_repeats_it()
    {
        var first = await PostAsync(Payload("firing", "DatabaseDown"));
        var repeat = await PostAsync(Payload("firing", "DatabaseDown"));
        var resolved = await PostAsync(Payload("resolved", "DatabaseDown"));

        var instanceId = Id(first, "started");
        Assert.Equal(instanceId, Id(repeat, "alreadyRunning"));
        Assert.Equal("started by this alert", repeat["alreadyRunning"]![0]!["recorded"]!.GetValue<string>());
        Assert.Empty(repeat["started"]!.AsArray());
        Assert.Empty(resolved!["started"]!.AsArray());
        var runs = await Store.ListAsync(new InstanceQuery(DefinitionId: "dr-db-down"), Ct);
        Assert.Equal(instanceId, Assert.Single(runs.Items).Id);
        var state = (await Store.GetAsync(instanceId, Ct))!; // created before the answer (then executed in the background)
        Assert.Equal("PostgreSQL main is down", state.Input["Reason"]!.GetValue<string>());
        Assert.Equal("ecommerce_postgres", state.Input["Container"]!.GetValue<string>());
        Assert.Equal("critical", state.Input["Alert"]!["labels"]!["severity"]!.GetValue<string>());
        Assert.Equal("alert:a1b2c3d4e5f60718", state.CorrelationId);
        Assert.Equal("Docker unix:///run/test-docker.sock", state.Platform);
        Assert.StartsWith("alertmanager (", state.StartedBy, StringComparison.Ordinal);
        Assert.Empty(await NotesAsync(instanceId));
        Assert.Empty(SlackTexts());
    }

    [Fact]
    public async Task A_flapping_alert_joins_the_running_run_is_recorded_on_it_once_per_firing_and_pages_nobody()
    {
        var first = await PostAsync(Payload("firing", "DatabaseDown", startsAt: "2026-11-26T02:00:00Z"));
        await PostAsync(Payload("resolved", "DatabaseDown", startsAt: "2026-11-26T02:00:00Z"));
        var again = await PostAsync(Payload("firing", "DatabaseDown", startsAt: "2026-11-26T02:03:30Z"));
        var againRepeated = await PostAsync(Payload("firing", "DatabaseDown", startsAt: "2026-11-26T02:03:30Z"));

        var instanceId = Id(first, "started");
        Assert.Empty(again["started"]!.AsArray());
        Assert.Equal(instanceId, Id(again, "alreadyRunning"));
        AssertRecorded(again["alreadyRunning"]![0]!);
        Assert.Null(again["alreadyRunning"]![0]!["paged"]?.GetValue<string>());
        Assert.Equal("recorded before", againRepeated["alreadyRunning"]![0]!["recorded"]!.GetValue<string>());
        Assert.Single((await Store.ListAsync(new InstanceQuery(DefinitionId: "dr-db-down"), Ct)).Items);

        var note = Assert.Single(await NotesAsync(instanceId, 1));
        Assert.Contains("Alert DatabaseDown (fingerprint a1b2c3d4e5f60718, firing since 2026-11-26T02:03:30Z) joined this run", note.Message, StringComparison.Ordinal);
        Assert.StartsWith("alertmanager (", note.Actor, StringComparison.Ordinal);
        var alert = note.Payload!["alert"]!;
        Assert.Equal("a1b2c3d4e5f60718", alert["fingerprint"]!.GetValue<string>());
        Assert.Equal("2026-11-26T02:03:30Z", alert["startsAt"]!.GetValue<string>());
        Assert.True(DateTimeOffset.TryParse(alert["receivedAt"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture, out _));
        Assert.Equal("Docker unix:///run/test-docker.sock", note.Payload["platform"]!.GetValue<string>());
        Assert.Empty(SlackTexts());
    }

    [Fact]
    public async Task Another_platform_gets_its_own_run_and_another_alert_asking_for_other_inputs_on_a_busy_platform_pages_on_call()
    {
        var shop = Id(await PostAsync(Payload("firing", "DatabaseDown")), "started");

        var ai = await PostAsync(Payload("firing", "DatabaseDown", service: "ai-postgres", fingerprint: "ffff000011112222"));
        var replica = await PostAsync(Payload("firing", "DatabaseDown", service: "postgres-replica", fingerprint: "eeee000011112222"));

        Assert.NotEqual(shop, Id(ai, "started"));
        Assert.Equal("Docker unix:///run/test-docker.sock, Compose project ai", ai["started"]![0]!["platform"]!.GetValue<string>());
        Assert.Equal(shop, Id(replica, "alreadyRunning"));
        Assert.Equal("sent by slack", replica["alreadyRunning"]![0]!["paged"]!.GetValue<string>());
        var page = Assert.Single(SlackTexts());
        Assert.Contains("Container=replica_postgres", page, StringComparison.Ordinal);
        Assert.Contains("with Container=ecommerce_postgres", page, StringComparison.Ordinal);
        Assert.Contains($"https://drw.example.com/studio/instances/{shop}", page, StringComparison.Ordinal);
        Assert.Contains("Nothing was started for this alert", page, StringComparison.Ordinal);
        AssertRecorded(replica["alreadyRunning"]![0]!);
        Assert.Single(await NotesAsync(shop, 1));
    }

    [Fact]
    public async Task An_alert_still_firing_after_its_run_failed_pages_on_call_once_with_the_link_and_starts_nothing()
    {
        var failed = Id(await PostAsync(Payload("firing", "DatabaseDown")), "started");
        var cancel = await server.Client().PostAsync($"/elsa/api/cancel/workflow-instances/{failed}", null, Ct);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);

        var stillFiring = await PostAsync(Payload("firing", "DatabaseDown"));
        var repeated = await PostAsync(Payload("firing", "DatabaseDown"));
        var flappedAfterFailure = await PostAsync(Payload("firing", "DatabaseDown", startsAt: "2026-11-26T03:10:00Z"));

        Assert.Empty(stillFiring["started"]!.AsArray());
        Assert.Empty(stillFiring["alreadyRunning"]!.AsArray());
        var notStarted = Assert.Single(stillFiring["notStarted"]!.AsArray())!;
        Assert.Equal(failed, notStarted["instanceId"]!.GetValue<string>());
        Assert.Equal($"https://drw.example.com/studio/instances/{failed}", notStarted["link"]!.GetValue<string>());
        Assert.Contains("cancelled", notStarted["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("sent by slack", notStarted["paged"]!.GetValue<string>());
        Assert.Equal("already sent by slack", repeated["notStarted"]![0]!["paged"]!.GetValue<string>());
        Assert.Equal(failed, Id(flappedAfterFailure, "notStarted"));
        Assert.Empty(flappedAfterFailure["started"]!.AsArray());

        var page = Assert.Single(SlackTexts());
        Assert.Contains($"Alert DatabaseDown is still firing after run {failed} failed", page, StringComparison.Ordinal);
        Assert.Contains($"https://drw.example.com/studio/instances/{failed}", page, StringComparison.Ordinal);
        Assert.Contains("did not start another run", page, StringComparison.Ordinal);
        Assert.Contains("drw run dr-db-down", page, StringComparison.Ordinal);
        Assert.Equal([failed], (await Store.ListAsync(new InstanceQuery(DefinitionId: "dr-db-down"), Ct)).Items.Select(r => r.Id));
    }

    [Fact]
    public async Task Without_a_hand_over_period_a_new_firing_after_a_failed_run_starts_a_new_run_but_the_old_firing_still_only_pages()
    {
        await using var eager = Server(handOver: "00:00:00");
        var failed = Id(await PostAsync(eager, Payload("firing", "DatabaseDown")), "started");
        Assert.Equal(HttpStatusCode.OK, (await eager.Client().PostAsync($"/elsa/api/cancel/workflow-instances/{failed}", null, Ct)).StatusCode);

        var sameFiring = await PostAsync(eager, Payload("firing", "DatabaseDown"));
        var newFiring = await PostAsync(eager, Payload("firing", "DatabaseDown", startsAt: "2026-11-27T09:00:00Z"));

        Assert.Equal(failed, Id(sameFiring, "notStarted"));
        Assert.NotEqual(failed, Id(newFiring, "started"));
    }

    [Fact]
    public async Task An_alert_still_firing_after_its_run_reported_recovery_pages_on_call_instead_of_looping()
    {
        var fixedRun = Id(await PostAsync(Payload("firing", "BackendDown", service: "backend")), "started");
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while ((await Store.GetAsync(fixedRun, Ct))!.Status != WorkflowStatus.Finished)
        {
            Assert.True(DateTime.UtcNow < deadline, $"run {fixedRun} did not finish within 2 minutes");
            await Task.Delay(50, Ct);
        }

        var stillFiring = await PostAsync(Payload("firing", "BackendDown", service: "backend"));

        Assert.Empty(stillFiring["started"]!.AsArray());
        Assert.Contains("reporting success", stillFiring["notStarted"]![0]!["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains($"Alert BackendDown is still firing after run {fixedRun} ended", Assert.Single(SlackTexts()), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unmatched_alerts_and_broken_routes_are_reported_without_starting_anything()
    {
        var otherService = await PostAsync(Payload("firing", "DatabaseDown", service: "redis"));
        var broken = await server.Client().PostAsJsonAsync("/alerts/alertmanager", Payload("firing", "DiskFull"), Ct);

        Assert.Equal("DatabaseDown", Assert.Single(otherService["unmatched"]!.AsArray())!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, broken.StatusCode);
        var failure = Assert.Single((await broken.Content.ReadFromJsonAsync<JsonObject>(Ct))!["failed"]!.AsArray())!;
        Assert.Contains("no-such-workflow", failure["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty((await Store.ListAsync(new InstanceQuery(), Ct)).Items);
    }

    [Fact]
    public async Task A_viewer_key_or_a_payload_that_is_not_from_Alertmanager_is_refused()
    {
        var viewer = await server.Client(ServerFactory.ViewerKey).PostAsJsonAsync("/alerts/alertmanager", Payload("firing", "DatabaseDown"), Ct);
        var anonymous = await server.Client(null).PostAsJsonAsync("/alerts/alertmanager", Payload("firing", "DatabaseDown"), Ct);
        var notAlerts = await server.Client().PostAsJsonAsync("/alerts/alertmanager", new JsonObject { ["text"] = "hello" }, Ct);

        Assert.Equal(HttpStatusCode.Forbidden, viewer.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, notAlerts.StatusCode);
        Assert.Contains("'alerts' array", await notAlerts.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public void The_run_id_is_stable_per_workflow_alert_and_firing()
    {
        var id = AlertmanagerWebhook.RunId("dr-db-down", "fp", "2026-11-26T02:00:00Z");

        Assert.Equal(id, AlertmanagerWebhook.RunId("dr-db-down", "fp", "2026-11-26T02:00:00Z"));
        Assert.NotEqual(id, AlertmanagerWebhook.RunId("dr-db-down", "fp", "2026-11-26T03:00:00Z"));
        Assert.NotEqual(id, AlertmanagerWebhook.RunId("dr-other", "fp", "2026-11-26T02:00:00Z"));
    }
}
