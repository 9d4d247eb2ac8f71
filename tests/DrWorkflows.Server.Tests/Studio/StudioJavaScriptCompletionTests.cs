using System.Net;
using System.Text.Json.Nodes;

namespace DrWorkflows.Server.Tests.Studio;

/// <summary>
/// The route the Studio calls when an input switches to JavaScript (<c>POST
/// /elsa/api/scripting/javascript/type-definitions/{definitionId}</c>): TypeScript declarations for Monaco, with the
/// engine's helpers, the workflow's variables and inputs, and the outputs of the activities before the current one.
/// </summary>
public sealed class StudioJavaScriptCompletionTests : IAsyncLifetime
{
    private readonly ServerFactory server = new();
    private HttpClient client = null!;

    public ValueTask InitializeAsync()
    {
        client = server.Client(ServerFactory.ViewerKey);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        client.Dispose();
        await server.DisposeAsync();
    }

    [Fact]
    public async Task Declarations_cover_helpers_variables_inputs_and_earlier_outputs_only()
    {
        using var admin = server.Client();
        var model = JsonNode.Parse("""
            {"definitionId":"js-completions","name":"JS completions",
             "variables":[{"id":"v1","name":"BackupSet","typeName":"String","value":""},{"id":"v2","name":"Attempts","typeName":"Int32","value":"0"}],
             "inputs":[{"name":"Database","type":"String","isArray":false}],
             "root":{"type":"Elsa.Flowchart","version":1,"id":"fc","activities":[
               {"id":"start","type":"Elsa.Start","version":1,"name":"Start1"},
               {"id":"js1","type":"Elsa.RunJavaScript","version":1,"name":"PickBackup","script":{"typeName":"String","expression":{"type":"Literal","value":"return 'b1'"}}},
               {"id":"say","type":"Elsa.WriteLine","version":1,"name":"Announce","text":{"typeName":"String","expression":{"type":"Literal","value":"x"}}},
               {"id":"js2","type":"Elsa.RunJavaScript","version":1,"name":"AfterAnnounce","script":{"typeName":"String","expression":{"type":"Literal","value":"return 1"}}}],
              "connections":[
               {"source":{"activity":"start","port":"Done"},"target":{"activity":"js1","port":"In"}},
               {"source":{"activity":"js1","port":"Done"},"target":{"activity":"say","port":"In"}},
               {"source":{"activity":"say","port":"Done"},"target":{"activity":"js2","port":"In"}}]}}
            """)!;
        Assert.Equal(HttpStatusCode.Created, (await admin.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = model, ["publish"] = false })).Status);

        var ts = await DeclarationsAsync("js-completions", "Elsa.WriteLine");
        Assert.Contains("declare function getVariable(name: \"BackupSet\" | \"Attempts\" | string): any;", ts, StringComparison.Ordinal);
        Assert.Contains("declare function setVariable(", ts, StringComparison.Ordinal);
        Assert.Contains("declare function getInput(name: \"Database\" | string): any;", ts, StringComparison.Ordinal);
        Assert.Contains("declare const BackupSet: string;", ts, StringComparison.Ordinal);
        Assert.Contains("declare function setAttempts(value: number): void;", ts, StringComparison.Ordinal);
        Assert.Contains("declare const input: { Database: string; [name: string]: any };", ts, StringComparison.Ordinal);
        Assert.Contains("declare function getOutputFrom(activityIdOrName: \"PickBackup\", outputName?: ", ts, StringComparison.Ordinal);
        // Announce (the WriteLine itself) and what runs after it are not "before".
        Assert.DoesNotContain("\"AfterAnnounce\"", ts, StringComparison.Ordinal);
        Assert.DoesNotContain("declare function getOutputFrom(activityIdOrName: \"Announce\"", ts, StringComparison.Ordinal);

        // An unknown definition (a workflow not saved yet): the helpers alone, still 200.
        var helpers = await DeclarationsAsync("not-saved-yet", "Elsa.WriteLine");
        Assert.Contains("declare function getOutputFrom(activityIdOrName: string, outputName?: string): any;", helpers, StringComparison.Ordinal);
        Assert.Contains("declare function getVariable(name: string): any;", helpers, StringComparison.Ordinal);
    }

    private async Task<string> DeclarationsAsync(string definitionId, string activityType)
    {
        using var response = await client.PostAsync(
            new Uri($"/elsa/api/scripting/javascript/type-definitions/{definitionId}", UriKind.Relative),
            new StringContent($$"""{"workflowDefinitionId":"{{definitionId}}","activityTypeName":"{{activityType}}","propertyName":"Text"}""", System.Text.Encoding.UTF8, "application/json"),
            TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
    }
}
