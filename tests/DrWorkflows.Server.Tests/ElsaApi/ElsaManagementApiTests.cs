using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace DrWorkflows.Server.Tests.ElsaApi;

/// <summary>
/// Elsa's management points as Elsa answers them (issue 16): consumers of a workflow used as an activity (404 for an
/// unknown id), a bad cron expression refused at publish (a draft with it still saves), an imported version keeps the
/// file's id, and execute without a Content-Type or by GET.
/// </summary>
public sealed class ElsaManagementApiTests : IAsyncLifetime
{
    private readonly ServerFactory server = new();
    private HttpClient admin = null!;

    public ValueTask InitializeAsync()
    {
        admin = server.Client();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        admin.Dispose();
        await server.DisposeAsync();
    }

    private static JsonObject Definition(string definitionId, string name, string activities, string options = "{}", string extra = "") => JsonNode.Parse($$"""
        {
          "definitionId": "{{definitionId}}", "name": "{{name}}", {{extra}}
          "inputs": [ { "type": "String", "name": "Who", "displayName": "Who", "isArray": false } ],
          "options": {{options}},
          "root": { "type": "Elsa.Flowchart", "id": "fc", "version": 1, "activities": [ {{activities}} ], "connections": [] }
        }
        """)!.AsObject();

    private const string Greet = """{ "id": "say", "type": "Elsa.WriteLine", "version": 1, "text": { "typeName": "String", "expression": { "type": "JavaScript", "value": "'hi ' + getWho()" } } }""";

    private async Task SaveAsync(JsonObject model, bool publish)
    {
        var (status, body, _) = await admin.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = model, ["publish"] = publish });
        Assert.True(status is HttpStatusCode.Created or HttpStatusCode.OK, $"{(int)status}: {body?.ToJsonString()}");
    }

    [Fact]
    public async Task Consumers_lists_the_workflows_using_one_as_an_activity_directly_or_through_another_and_404s_an_unknown_id()
    {
        await SaveAsync(Definition("check-one", "Check one", Greet, """{ "usableAsActivity": true }"""), publish: true);
        await SaveAsync(Definition("check-all", "Check all", """{ "id": "c1", "type": "CheckOne", "version": 1, "workflowDefinitionId": "check-one" }""", """{ "usableAsActivity": true }"""), publish: true);
        await SaveAsync(Definition("failover", "Failover", """{ "id": "c2", "type": "CheckAll", "version": 1, "workflowDefinitionId": "check-all" }"""), publish: true);
        await SaveAsync(Definition("unrelated", "Unrelated", Greet), publish: true);

        var (status, body, _) = await admin.GetJsonAsync("/elsa/api/workflow-definitions/check-one/consumers");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["check-all", "failover"], body!["consumingWorkflowDefinitionIds"]!.AsArray().Select(n => n!.GetValue<string>()).Order());

        (status, body, _) = await admin.GetJsonAsync("/elsa/api/workflow-definitions/failover/consumers");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Empty(body!["consumingWorkflowDefinitionIds"]!.AsArray());

        (status, body, _) = await admin.GetJsonAsync("/elsa/api/workflow-definitions/nope/consumers");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("nope", body!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Publishing_a_child_that_auto_updates_consumers_answers_the_update_and_the_descriptor_and_consumers_follow()
    {
        const string autoUpdate = """{ "usableAsActivity": true, "autoUpdateConsumingWorkflows": true }""";
        await SaveAsync(Definition("check-one", "Check one", Greet, autoUpdate), publish: true);
        await SaveAsync(Definition("failover", "Failover", """{ "id": "c1", "type": "CheckOne", "version": 1, "workflowDefinitionId": "check-one", "workflowDefinitionVersionId": "check-one:v1" }"""), publish: true);
        await SaveAsync(Definition("check-one", "Check one", Greet.Replace("'hi '", "'hello '", StringComparison.Ordinal), autoUpdate), publish: false);

        var (status, body, _) = await admin.PostJsonAsync("/elsa/api/workflow-definitions/check-one/publish", new JsonObject());

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, body!["consumingWorkflowCount"]!.GetValue<int>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""[{"definitionId": "failover", "version": 2, "isPublished": true}]"""), body["updatedConsumingWorkflows"]), body.ToJsonString());
        (_, body, _) = await admin.GetJsonAsync("/elsa/api/workflow-definitions/check-one/consumers");
        Assert.Equal(["failover"], body!["consumingWorkflowDefinitionIds"]!.AsArray().Select(n => n!.GetValue<string>()));
        (_, body, _) = await admin.GetJsonAsync("/elsa/api/descriptors/activities");
        var descriptor = body!["items"]!.AsArray().Single(i => i!["typeName"]!.GetValue<string>() == "CheckOne")!;
        Assert.Equal("check-one:v2", descriptor["constructionProperties"]!["WorkflowDefinitionVersionId"]!.GetValue<string>());
        Assert.Equal(2, descriptor["constructionProperties"]!["LatestAvailablePublishedVersion"]!.GetValue<int>());
        (_, body, _) = await admin.GetJsonAsync("/elsa/api/workflow-definitions/by-definition-id/failover?versionOptions=Published");
        Assert.Equal(2, body!["version"]!.GetValue<int>());
        Assert.Equal("check-one:v2", body["root"]!["activities"]![0]!["workflowDefinitionVersionId"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_bad_cron_expression_is_refused_at_publish_naming_the_activity_but_a_draft_with_it_saves()
    {
        var model = Definition("nightly", "Nightly", """{ "id": "every", "type": "Elsa.Cron", "version": 1, "cronExpression": { "typeName": "String", "expression": { "type": "Literal", "value": "61 * * * *" } } }""");
        await SaveAsync(model, publish: false);

        var (status, body, _) = await admin.PostJsonAsync("/elsa/api/workflow-definitions/nightly/publish", "{}");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var detail = body!["detail"]!.GetValue<string>();
        Assert.Contains("'every'", detail, StringComparison.Ordinal);
        Assert.Contains("61 * * * *", detail, StringComparison.Ordinal);
        Assert.Contains("elsa-compatibility", detail, StringComparison.Ordinal);
        var (_, latest, _) = await admin.GetJsonAsync("/elsa/api/workflow-definitions/by-definition-id/nightly?versionOptions=Latest");
        Assert.False(latest!["isPublished"]!.GetValue<bool>());
    }

    [Fact]
    public async Task An_imported_definition_keeps_its_version_id()
    {
        var model = Definition("imported", "Imported", Greet, extra: "\"id\": \"3f2a9c1d7e6b5a40\", \"version\": 4,");

        var (status, body, _) = await admin.PostJsonAsync("/elsa/api/workflow-definitions/import", model);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("3f2a9c1d7e6b5a40", body!["id"]!.GetValue<string>());
        (status, body, _) = await admin.GetJsonAsync("/elsa/api/workflow-definitions/by-id/3f2a9c1d7e6b5a40");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("imported", body!["definitionId"]!.GetValue<string>());
    }

    [Fact]
    public async Task Execute_without_a_content_type_and_by_get_start_the_run()
    {
        await SaveAsync(Definition("greets", "Greets", Greet), publish: true);

        using (var bare = new HttpRequestMessage(HttpMethod.Post, "/elsa/api/workflow-definitions/greets/execute"))
        {
            var response = await admin.SendAsync(bare, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Single(response.Headers.GetValues("x-elsa-workflow-instance-id"));
        }

        using (var untyped = new HttpRequestMessage(HttpMethod.Post, "/elsa/api/workflow-definitions/greets/execute") { Content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"input":{"Who":"Ada"},"correlationId":"c-post"}""")) })
        {
            var response = await admin.SendAsync(untyped, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var state = JsonNode.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken))!["workflowState"]!;
            Assert.Equal("c-post", state["correlationId"]!.GetValue<string>());
            Assert.Equal("Ada", state["input"]!["Who"]!.GetValue<string>());
        }

        var (status, body, response2) = await admin.GetJsonAsync("/elsa/api/workflow-definitions/greets/execute?correlationId=c-get&input=" + Uri.EscapeDataString("""{"Who":"Grace"}"""));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Single(response2.Headers.GetValues("x-elsa-workflow-instance-id"));
        Assert.Equal("c-get", body!["workflowState"]!["correlationId"]!.GetValue<string>());
        Assert.Equal("Grace", body["workflowState"]!["input"]!["Who"]!.GetValue<string>());

        (status, body, _) = await admin.GetJsonAsync("/elsa/api/workflow-definitions/greets/execute?input=" + Uri.EscapeDataString("[1]"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("input", body!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
