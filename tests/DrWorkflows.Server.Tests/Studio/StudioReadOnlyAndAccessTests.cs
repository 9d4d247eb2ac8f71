using System.Net;
using System.Text.Json.Nodes;

namespace DrWorkflows.Server.Tests.Studio;

/// <summary>
/// Workflows from <c>workflows/</c> are read-only in the Studio with the reason shown, and changing them answers
/// 409; the Studio's calls work with a signed-in viewer's key and need the right role to change anything.
/// </summary>
/// <remarks>
/// One server for the class (<see cref="SharedServer"/>): the tests read the file workflow, run it, or are refused
/// changing it; the one that saves a definition starts a server of its own, so the others see the stock list.
/// </remarks>
public sealed class StudioReadOnlyAndAccessTests(StudioReadOnlyAndAccessTests.SharedServer fixture) : IClassFixture<StudioReadOnlyAndAccessTests.SharedServer>, IDisposable
{
    private const string FileDefinition = """
        {
          "definitionId": "file-failover", "name": "File failover", "description": "Cut over to the standby.",
          "root": { "type": "Elsa.Flowchart", "id": "fc", "version": 1,
            "activities": [ { "id": "s", "type": "Elsa.Start", "version": 1 }, { "id": "w", "type": "Elsa.WriteLine", "version": 1,
              "text": { "typeName": "String", "expression": { "type": "Literal", "value": "failing over" } } } ],
            "connections": [ { "source": { "activity": "s", "port": "Done" }, "target": { "activity": "w", "port": "In" } } ] }
        }
        """;

    private readonly ServerFactory server = fixture.Factory;
    private readonly HttpClient admin = fixture.Factory.Client();

    public void Dispose() => admin.Dispose();

    /// <summary>The server the tests share, with <c>failover.json</c> in its workflows folder.</summary>
    public sealed class SharedServer : IAsyncDisposable
    {
        public ServerFactory Factory { get; } = NewServer();

        public ValueTask DisposeAsync() => Factory.DisposeAsync();
    }

    private static ServerFactory NewServer() => new(workflowFiles: new Dictionary<string, string> { ["failover.json"] = FileDefinition });

    [Fact]
    public async Task A_file_workflow_opens_read_only_with_the_reason_and_without_a_publish_link()
    {
        var (status, definition, _) = await admin.GetJsonAsync("/elsa/api/workflow-definitions/by-definition-id/file-failover?versionOptions=Latest");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(definition!["isReadonly"]!.GetValue<bool>());
        Assert.True(definition["isPublished"]!.GetValue<bool>());
        Assert.DoesNotContain(definition["links"]!.AsArray(), l => l!["rel"]!.GetValue<string>() == "publish");
        var description = definition["description"]!.GetValue<string>();
        Assert.Contains("Read-only", description, StringComparison.Ordinal);
        Assert.Contains("failover.json", description, StringComparison.Ordinal);
        Assert.Contains("Cut over to the standby.", description, StringComparison.Ordinal);
        Assert.Equal(description[..description.IndexOf(" Cut over", StringComparison.Ordinal)], definition["customProperties"]!["drwReadOnlyReason"]!.GetValue<string>());
        // Node ids were added for the Studio, which cannot render activities without them.
        Assert.Equal("Workflow1:fc:w", definition["root"]!["activities"]![1]!["nodeId"]!.GetValue<string>());

        var (_, list, _) = await admin.GetJsonAsync("/elsa/api/workflow-definitions?versionOptions=Latest&Page=0&PageSize=10");
        var row = list!["items"]!.AsArray().Single(r => r!["definitionId"]!.GetValue<string>() == "file-failover")!;
        Assert.True(row["isReadonly"]!.GetValue<bool>());
        Assert.StartsWith("Read-only", row["description"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Changing_a_file_workflow_answers_409_with_the_reason()
    {
        var (_, definition, _) = await admin.GetJsonAsync("/elsa/api/workflow-definitions/by-definition-id/file-failover");
        var model = definition!.DeepClone();
        model["name"] = "Changed in the Studio";

        foreach (var (method, path, body) in ((HttpMethod, string, string?)[])[
            (HttpMethod.Post, "/elsa/api/workflow-definitions", new JsonObject { ["model"] = model, ["publish"] = false }.ToJsonString()),
            (HttpMethod.Post, "/elsa/api/workflow-definitions/file-failover/retract", "{}"),
            (HttpMethod.Delete, "/elsa/api/workflow-definitions/file-failover", null)])
        {
            var (status, problem, _) = await admin.SendAsync(method, path, body);
            Assert.True(status == HttpStatusCode.Conflict, $"{method} {path}: {(int)status}");
            Assert.Contains("failover.json", problem!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        var (_, after, _) = await admin.GetJsonAsync("/elsa/api/workflow-definitions/by-definition-id/file-failover");
        Assert.Equal("File failover", after!["name"]!.GetValue<string>());
        Assert.True(after["isPublished"]!.GetValue<bool>());
    }

    [Fact]
    public async Task A_file_workflow_can_still_be_run_and_exported()
    {
        var (status, _, response) = await admin.PostJsonAsync("/elsa/api/workflow-definitions/file-failover/execute", """{"correlationId":null,"triggerActivityId":null,"versionOptions":"Latest","input":null}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Single(response.Headers.GetValues("x-elsa-workflow-instance-id"));
        var export = await admin.GetAsync("/elsa/api/workflow-definitions/file-failover/export", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, export.StatusCode);
    }

    [Theory]
    [InlineData("/elsa/api/workflow-definitions/by-definition-id/file-failover?versionOptions=Latest")]
    [InlineData("/elsa/api/descriptors/activities?Refresh=True")]
    [InlineData("/elsa/api/descriptors/expression-descriptors")]
    [InlineData("/elsa/api/descriptors/workflow-activation-strategies")]
    [InlineData("/elsa/api/descriptors/log-persistence-strategies")]
    [InlineData("/elsa/api/features/installed")]
    [InlineData("/elsa/api/descriptors/incident-strategies")]
    [InlineData("/elsa/api/descriptors/commit-strategies/workflows")]
    public async Task The_calls_that_load_the_editor_never_401_for_a_valid_key(string path)
    {
        using var viewer = server.Client(ServerFactory.ViewerKey);
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetJsonAsync(path)).Status);
        using var anonymous = server.Client(key: null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetJsonAsync(path)).Status);
        using var wrong = server.Client("not-a-key");
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetJsonAsync(path)).Status);
    }

    [Fact]
    public async Task Saving_needs_the_designer_role_and_running_the_operator_role()
    {
        await using var server = NewServer();
        using var admin = server.Client();
        var body = new JsonObject { ["model"] = StudioDefinitionApiTests.StudioModel("Roles", "x"), ["publish"] = true }.ToJsonString();
        using var viewer = server.Client(ServerFactory.ViewerKey);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostJsonAsync("/elsa/api/workflow-definitions", body)).Status);

        using var designer = server.Client(ServerFactory.DesignerKey);
        var (status, saved, _) = await designer.PostJsonAsync("/elsa/api/workflow-definitions", body);
        Assert.Equal(HttpStatusCode.Created, status);
        var definitionId = saved!["workflowDefinition"]!["definitionId"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.Forbidden, (await designer.PostJsonAsync($"/elsa/api/workflow-definitions/{definitionId}/execute", "{}")).Status);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostJsonAsync($"/elsa/api/workflow-definitions/{definitionId}/execute", "{}")).Status);
    }
}
