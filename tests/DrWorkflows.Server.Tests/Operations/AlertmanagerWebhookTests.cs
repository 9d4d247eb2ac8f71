using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Server.Operations;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Server.Tests.Operations;

/// <summary>Prometheus Alertmanager's webhook starts the routed DR workflow once per alert firing.</summary>
public sealed class AlertmanagerWebhookTests : IAsyncLifetime
{
    private const string Workflow = """
        {
          "definitionId": "dr-db-down", "name": "DB down",
          "inputs": [ { "name": "Reason", "type": "String" }, { "name": "Container", "type": "String" } ],
          "root": { "type": "Elsa.Sequence", "version": 1, "id": "seq", "activities": [
            { "type": "Elsa.Delay", "version": 1, "id": "wait",
              "timeSpan": { "typeName": "TimeSpan", "expression": { "type": "Literal", "value": "01:00:00" } } } ] }
        }
        """;

    private readonly ServerFactory server = new(
        workflowFiles: new Dictionary<string, string> { ["dr-db-down.json"] = Workflow },
        settings: new Dictionary<string, string>
        {
            ["Alertmanager:Routes:0:AlertName"] = "DatabaseDown",
            ["Alertmanager:Routes:0:Labels:service"] = "postgres",
            ["Alertmanager:Routes:0:Workflow"] = "dr-db-down",
            ["Alertmanager:Routes:0:Input:Container"] = "ecommerce_postgres",
            ["Alertmanager:Routes:1:AlertName"] = "DiskFull",
            ["Alertmanager:Routes:1:Workflow"] = "no-such-workflow",
        });

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await server.DisposeAsync();

    private static JsonObject Payload(string status, string alertName, string service = "postgres", string startsAt = "2026-11-26T02:00:00Z") => new()
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
            ["fingerprint"] = "a1b2c3d4e5f60718",
            ["generatorURL"] = "http://prometheus:9090/graph",
        }),
    };

    [Fact]
    public async Task A_firing_alert_starts_its_workflow_once_however_often_Alertmanager_repeats_it()
    {
        var client = server.Client();

        var first = await (await client.PostAsJsonAsync("/alerts/alertmanager", Payload("firing", "DatabaseDown"), Ct)).Content.ReadFromJsonAsync<JsonObject>(Ct);
        var repeat = await (await client.PostAsJsonAsync("/alerts/alertmanager", Payload("firing", "DatabaseDown"), Ct)).Content.ReadFromJsonAsync<JsonObject>(Ct);
        var resolved = await (await client.PostAsJsonAsync("/alerts/alertmanager", Payload("resolved", "DatabaseDown"), Ct)).Content.ReadFromJsonAsync<JsonObject>(Ct);

        var instanceId = Assert.Single(first!["started"]!.AsArray())!["instanceId"]!.GetValue<string>();
        Assert.Equal(instanceId, Assert.Single(repeat!["alreadyRunning"]!.AsArray())!["instanceId"]!.GetValue<string>());
        Assert.Empty(repeat["started"]!.AsArray());
        Assert.Empty(resolved!["started"]!.AsArray());
        var store = server.Services.GetRequiredService<IWorkflowInstanceStore>();
        var runs = await store.ListAsync(new InstanceQuery(DefinitionId: "dr-db-down"), Ct);
        Assert.Equal(instanceId, Assert.Single(runs.Items).Id);
        var state = (await store.GetAsync(instanceId, Ct))!; // created before the answer (then executed in the background)
        Assert.Equal("PostgreSQL main is down", state.Input["Reason"]!.GetValue<string>());
        Assert.Equal("ecommerce_postgres", state.Input["Container"]!.GetValue<string>());
        Assert.Equal("critical", state.Input["Alert"]!["labels"]!["severity"]!.GetValue<string>());
        Assert.Equal("alert:a1b2c3d4e5f60718", state.CorrelationId);
        Assert.StartsWith("alertmanager (", state.StartedBy, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_same_alert_firing_again_later_starts_a_new_run()
    {
        var client = server.Client();

        await client.PostAsJsonAsync("/alerts/alertmanager", Payload("firing", "DatabaseDown"), Ct);
        var later = await (await client.PostAsJsonAsync("/alerts/alertmanager", Payload("firing", "DatabaseDown", startsAt: "2026-11-27T09:00:00Z"), Ct)).Content.ReadFromJsonAsync<JsonObject>(Ct);

        Assert.Single(later!["started"]!.AsArray());
        var runs = await server.Services.GetRequiredService<IWorkflowInstanceStore>().ListAsync(new InstanceQuery(DefinitionId: "dr-db-down"), Ct);
        Assert.Equal(2, runs.Items.Count);
    }

    [Fact]
    public async Task Unmatched_alerts_and_broken_routes_are_reported_without_starting_anything()
    {
        var client = server.Client();

        var otherService = await (await client.PostAsJsonAsync("/alerts/alertmanager", Payload("firing", "DatabaseDown", service: "redis"), Ct)).Content.ReadFromJsonAsync<JsonObject>(Ct);
        var broken = await client.PostAsJsonAsync("/alerts/alertmanager", Payload("firing", "DiskFull"), Ct);

        Assert.Equal("DatabaseDown", Assert.Single(otherService!["unmatched"]!.AsArray())!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, broken.StatusCode);
        var failure = Assert.Single((await broken.Content.ReadFromJsonAsync<JsonObject>(Ct))!["failed"]!.AsArray())!;
        Assert.Contains("no-such-workflow", failure["error"]!.GetValue<string>(), StringComparison.Ordinal);
        var runs = await server.Services.GetRequiredService<IWorkflowInstanceStore>().ListAsync(new InstanceQuery(), Ct);
        Assert.Empty(runs.Items);
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
