using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Docker.DotNet;
using Docker.DotNet.Models;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Testing;
using DrWorkflows.Workflows;
using Microsoft.Extensions.DependencyInjection;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;

namespace DrWorkflows.Server.Tests.Operations;

/// <summary>
/// Issue 19's flapping alert, on real parts: the real server (webhook, runtime, SQLite store) runs the real scenario 1
/// (<c>dr-database-container-failure</c>) against a container of the test run's private dockerd whose healthcheck
/// always fails. The alert fires, resolves and fires again with a new <c>startsAt</c> while the run works on the
/// container: one run, one SEV-1 announcement, one status page incident, one page, the second firing recorded on
/// the run. The run finds no verified backup and fails; the alert, still firing, then pages on-call with the failed
/// run's link and starts nothing. Slack and Statuspage are WireMock stand-ins.
/// </summary>
[TypicalDuration(45)]
public sealed class FlappingAlertRealTests : IAsyncLifetime
{
    private const string Channel = "C0INCIDENT";
    private const string Busybox = "local/busybox:1";

    private readonly string container = $"drwflap-{Guid.NewGuid():N}"[..16] + "_postgres";
    private readonly TempDirectory backups = new("flapping-backups");
    private WireMockServer? stand;
    private ServerFactory? server;
    private DockerClient? docker;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        var endpoint = TestServices.RequireDocker();
        TestServices.RequireDockerImage(Busybox);
        docker = new DockerClientConfiguration(endpoint).CreateClient();
        var created = await docker.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Name = container,
            Image = Busybox,
            Cmd = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
            Healthcheck = new HealthConfig { Test = ["CMD-SHELL", "exit 1"], Interval = TimeSpan.FromMilliseconds(500), Timeout = TimeSpan.FromSeconds(2), Retries = 1 },
            HostConfig = new HostConfig { NetworkMode = "none" },
        }, Ct);
        await docker.Containers.StartContainerAsync(created.ID, new ContainerStartParameters(), Ct);

        stand = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false });
        stand.Given(Request.Create().WithPath("/api/chat.postMessage").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody($"{{\"ok\":true,\"channel\":\"{Channel}\",\"ts\":\"1700000000.000100\"}}"));
        stand.Given(Request.Create().WithPath("/v1/pages/PG1/incidents/unresolved").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody("[]"));
        stand.Given(Request.Create().WithPath("/v1/pages/PG1/incidents").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(201).WithBody("{\"id\":\"sp-1\",\"name\":\"Database issues\",\"status\":\"investigating\"}"));
        stand.Given(Request.Create().WithPath("/v1/pages/PG1/incidents/sp-1").UsingPatch())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody("{\"id\":\"sp-1\",\"name\":\"Database issues\",\"status\":\"identified\"}"));

        // Scenario 1 checks its configuration first: a Compose project whose files declare the database service, and the
        // server it would restore into (never reached: the run fails on the missing verified backup before any restore).
        var composeFile = Path.Combine(backups.FullPath, "compose", "docker-compose.yml");
        Directory.CreateDirectory(Path.GetDirectoryName(composeFile)!);
        await File.WriteAllTextAsync(composeFile, $"services:\n  postgres:\n    image: {Busybox}\n    container_name: {container}\n", Ct);
        server = new ServerFactory(settings: new Dictionary<string, string>
        {
            ["Docker:Endpoint"] = endpoint.ToString(),
            ["Docker:ComposeProject"] = container[..^"_postgres".Length],
            ["Docker:ComposeFiles:0"] = composeFile,
            ["Docker:ComposeProjectDirectory"] = Path.GetDirectoryName(composeFile)!,
            ["Postgres:Servers:main"] = "Host=127.0.0.1;Port=1;Username=postgres;Database=postgres",
            ["Docker:HelperImage"] = Busybox,
            ["Backups:Stores:Local:Directory"] = backups.FullPath,
            ["Notifications:Slack:BotToken"] = "xoxb-test",
            ["Notifications:Slack:BaseUrl"] = stand.Urls[0] + "/api/",
            ["Notifications:Slack:DefaultChannel"] = Channel,
            ["Notifications:StatusPage:ApiKey"] = "sp-key",
            ["Notifications:StatusPage:PageId"] = "PG1",
            ["Notifications:StatusPage:BaseUrl"] = stand.Urls[0] + "/v1/",
            ["Notifications:Contacts:Roles:IncidentCommander:0:Name"] = "Ivy",
            ["Notifications:Contacts:Roles:IncidentCommander:0:SlackUserId"] = "U0IVY",
            ["IncidentAlerts:ServerUrl"] = "https://drw.example.com",
            ["Alertmanager:Routes:0:AlertName"] = "DatabaseDown",
            ["Alertmanager:Routes:0:Workflow"] = DatabaseContainerFailure.Id,
            ["Alertmanager:Routes:0:Input:Container"] = container,
            ["Alertmanager:Routes:0:Input:Store"] = "local",
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (server is not null)
            await server.DisposeAsync();
        stand?.Dispose();
        if (docker is not null)
        {
            await docker.Containers.RemoveContainerAsync(container, new ContainerRemoveParameters { Force = true });
            docker.Dispose();
        }

        backups.Dispose();
    }

    private static JsonObject Alert(string status, string startsAt) => new()
    {
        ["version"] = "4",
        ["status"] = status,
        ["alerts"] = new JsonArray(new JsonObject
        {
            ["status"] = status,
            ["labels"] = new JsonObject { ["alertname"] = "DatabaseDown", ["instance"] = "ecommerce_postgres" },
            ["annotations"] = new JsonObject { ["summary"] = "PostgreSQL main is down" },
            ["startsAt"] = startsAt,
            ["fingerprint"] = "9f2c41d0a7b3e615",
        }),
    };

    private async Task<JsonObject> PostAsync(JsonObject payload)
    {
        var response = await server!.Client().PostAsJsonAsync("/alerts/alertmanager", payload, Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));
        return (await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!;
    }

    private List<string> Slack() =>
        [.. stand!.LogEntries.Where(e => e.RequestMessage!.Path == "/api/chat.postMessage").OrderBy(e => e.RequestMessage!.DateTime)
            .Select(e => JsonNode.Parse(e.RequestMessage!.Body!)!["text"]!.GetValue<string>())];

    private int StatusPageIncidentsOpened() =>
        stand!.LogEntries.Count(e => e.RequestMessage!.Path == "/v1/pages/PG1/incidents" && e.RequestMessage.Method == "POST");

    [Fact]
    public async Task A_flapping_alert_yields_one_run_one_announcement_and_one_page_and_after_the_run_failed_it_pages_with_the_link()
    {
        var store = server!.Services.GetRequiredService<IWorkflowInstanceStore>();

        // Firing, resolved, firing again with a new startsAt: the first starts the run, the second joins it.
        var fired = await PostAsync(Alert("firing", "2026-11-26T02:00:00Z"));
        var runId = Assert.Single(fired["started"]!.AsArray())!["instanceId"]!.GetValue<string>();
        var resolved = await PostAsync(Alert("resolved", "2026-11-26T02:00:00Z"));
        var firedAgain = await PostAsync(Alert("firing", "2026-11-26T02:01:40Z"));

        Assert.Empty(resolved["started"]!.AsArray());
        Assert.Empty(firedAgain["started"]!.AsArray());
        var joined = Assert.Single(firedAgain["alreadyRunning"]!.AsArray())!;
        Assert.Equal(runId, joined["instanceId"]!.GetValue<string>());

        // The run works on the container (inspect, restart, 30 s), finds no verified backup and fails.
        var deadline = DateTime.UtcNow.AddMinutes(5);
        WorkflowState run;
        while ((run = (await store.GetAsync(runId, Ct))!).Status != WorkflowStatus.Finished)
        {
            Assert.True(DateTime.UtcNow < deadline, $"run {runId} did not end within 5 minutes: {run.SubStatus}; incidents: {string.Join("; ", run.Incidents.Select(i => i.Message))}");
            await Task.Delay(250, Ct);
        }

        Assert.Equal("Failed", run.Output["Outcome"]!.GetValue<string>());
        Assert.Contains("No backup of ecommerce_db exists", run.Output["FailureReason"]!.GetValue<string>(), StringComparison.Ordinal);
        var journal = (await store.GetJournalAsync(runId, 0, 10_000, Ct)).Items;
        Assert.Contains(journal, e => e.ActivityId == "restart" && e.EventName == JournalEvents.Completed);
        var note = Assert.Single(journal, e => e.EventName == JournalEvents.Note && e.Payload?["alert"] is not null);
        Assert.Equal("2026-11-26T02:01:40Z", note.Payload!["alert"]!["startsAt"]!.GetValue<string>());
        Assert.Equal("9f2c41d0a7b3e615", note.Payload["alert"]!["fingerprint"]!.GetValue<string>());
        Assert.Equal([runId], (await store.ListAsync(new InstanceQuery(DefinitionId: DatabaseContainerFailure.Id), Ct)).Items.Select(r => r.Id));

        var slack = Slack();
        Assert.Single(slack, t => t.StartsWith(":rotating_light: *SEV-1 Database container failure*", StringComparison.Ordinal));
        Assert.Single(slack, t => t.StartsWith("*[SEV-1] Database container failure*", StringComparison.Ordinal));
        Assert.Equal(1, StatusPageIncidentsOpened());

        // Still firing after the failed run: on-call is paged with the run's link, nothing starts.
        var stillFiring = await PostAsync(Alert("firing", "2026-11-26T02:01:40Z"));

        Assert.Empty(stillFiring["started"]!.AsArray());
        var notStarted = Assert.Single(stillFiring["notStarted"]!.AsArray())!;
        Assert.Equal(runId, notStarted["instanceId"]!.GetValue<string>());
        Assert.Equal("sent by slack", notStarted["paged"]!.GetValue<string>());
        var page = Assert.Single(Slack(), t => t.Contains("is still firing after run", StringComparison.Ordinal));
        Assert.Contains($"https://drw.example.com/studio/instances/{runId}", page, StringComparison.Ordinal);
        Assert.Contains("No backup of ecommerce_db exists", page, StringComparison.Ordinal);
        Assert.Contains("<@U0IVY>", page, StringComparison.Ordinal);
        Assert.Equal(1, StatusPageIncidentsOpened());
        Assert.Single((await store.ListAsync(new InstanceQuery(DefinitionId: DatabaseContainerFailure.Id), Ct)).Items);
    }
}
