using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using DrWorkflows.Cli;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Server.Tests.Operations;

/// <summary>
/// A DR scenario started by hand (API dispatch, the Studio's execute, the CLI) while it runs on the same platform is
/// refused with 409 naming the running run; another platform (Compose project) is not.
/// </summary>
public sealed class OneRecoveryPerPlatformTests : IAsyncLifetime
{
    private const string Scenario = """
        {
          "definitionId": "dr-scenario", "name": "DR scenario", "customProperties": { "oneRunPerPlatform": true },
          "inputs": [ { "name": "Reason", "type": "String" }, { "name": "ComposeProject", "type": "String" } ],
          "root": { "type": "Elsa.Sequence", "version": 1, "id": "seq", "activities": [
            { "type": "Elsa.Delay", "version": 1, "id": "wait",
              "timeSpan": { "typeName": "TimeSpan", "expression": { "type": "Literal", "value": "01:00:00" } } } ] }
        }
        """;

    private readonly ServerFactory server = new(
        workflowFiles: new Dictionary<string, string> { ["dr-scenario.json"] = Scenario },
        settings: new Dictionary<string, string>
        {
            ["Docker:Endpoint"] = "unix:///run/test-docker.sock",
            ["Docker:ComposeProject"] = "shop",
            ["IncidentAlerts:ServerUrl"] = "https://drw.example.com",
        });

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await server.DisposeAsync();

    private Task<HttpResponseMessage> DispatchAsync(string? project = null, string route = "dispatch") =>
        server.Client().PostAsJsonAsync(
            $"/elsa/api/workflow-definitions/dr-scenario/{route}",
            new JsonObject { ["input"] = project is null ? new JsonObject { ["Reason"] = "by hand" } : new JsonObject { ["Reason"] = "by hand", ["ComposeProject"] = project } },
            Ct);

    private static async Task<string> RunIdAsync(HttpResponseMessage response)
    {
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));
        return response.Headers.GetValues("x-elsa-workflow-instance-id").Single();
    }

    [Fact]
    public async Task A_second_start_on_the_same_platform_is_refused_with_409_naming_the_running_run_from_the_API_and_the_Studio()
    {
        var first = await RunIdAsync(await DispatchAsync());

        var dispatched = await DispatchAsync();
        var executed = await DispatchAsync(route: "execute");

        foreach (var refused in new[] { dispatched, executed })
        {
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            var problem = (await refused.Content.ReadFromJsonAsync<JsonObject>(Ct))!;
            Assert.Equal(first, problem["runningInstanceId"]!.GetValue<string>());
            Assert.Equal($"https://drw.example.com/studio/instances/{first}", problem["link"]!.GetValue<string>());
            Assert.Equal("Docker unix:///run/test-docker.sock, Compose project shop", problem["platform"]!.GetValue<string>());
            var detail = problem["detail"]!.GetValue<string>();
            Assert.Contains(first, detail, StringComparison.Ordinal);
            Assert.Contains("already running", detail, StringComparison.Ordinal);
            Assert.Contains($"https://drw.example.com/studio/instances/{first}", detail, StringComparison.Ordinal);
        }

        var runs = await server.Services.GetRequiredService<IWorkflowInstanceStore>().ListAsync(new InstanceQuery(DefinitionId: "dr-scenario"), Ct);
        Assert.Equal([first], runs.Items.Select(r => r.Id));
    }

    [Fact]
    public async Task Starts_racing_each_other_start_exactly_one_run_and_every_other_answer_names_it()
    {
        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => DispatchAsync(), Ct)));

        var winner = Assert.Single(answers, a => a.StatusCode == HttpStatusCode.OK).Headers.GetValues("x-elsa-workflow-instance-id").Single();
        foreach (var refused in answers.Where(a => a.StatusCode != HttpStatusCode.OK))
        {
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Equal(winner, (await refused.Content.ReadFromJsonAsync<JsonObject>(Ct))!["runningInstanceId"]!.GetValue<string>());
        }

        var runs = await server.Services.GetRequiredService<IWorkflowInstanceStore>().ListAsync(new InstanceQuery(DefinitionId: "dr-scenario"), Ct);
        Assert.Equal([winner], runs.Items.Select(r => r.Id));
    }

    [Fact]
    public async Task Another_Compose_project_is_another_platform_and_a_cancelled_run_frees_its_platform()
    {
        var shop = await RunIdAsync(await DispatchAsync());
        var ai = await RunIdAsync(await DispatchAsync(project: "ai"));

        var cancel = await server.Client().PostAsync($"/elsa/api/cancel/workflow-instances/{shop}", null, Ct);
        var again = await RunIdAsync(await DispatchAsync());

        Assert.NotEqual(shop, ai);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.NotEqual(shop, again);
        var store = server.Services.GetRequiredService<IWorkflowInstanceStore>();
        Assert.Equal("Docker unix:///run/test-docker.sock, Compose project ai", (await store.GetAsync(ai, Ct))!.Platform);
        Assert.Equal(WorkflowStatus.Running, (await store.GetAsync(again, Ct))!.Status);
    }

    [Fact]
    public async Task The_CLI_says_which_run_is_already_running_and_exits_non_zero()
    {
        var first = await RunIdAsync(await DispatchAsync());
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await CliApp.RunAsync(["run", "dr-scenario", "--api-key", ServerFactory.AdminKey], output, error, (_, key) =>
        {
            var client = server.CreateClient();
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("ApiKey", key);
            return client;
        }, Ct);

        Assert.Equal(2, exit);
        var message = error.ToString();
        Assert.Contains("409", message, StringComparison.Ordinal);
        Assert.Contains(first, message, StringComparison.Ordinal);
        Assert.Contains($"https://drw.example.com/studio/instances/{first}", message, StringComparison.Ordinal);
    }
}
