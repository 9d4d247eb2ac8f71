using System.Net;
using System.Text.Json.Nodes;

namespace DrWorkflows.Server.Tests.ElsaApi;

/// <summary>
/// Elsa's instance routes (issue 2) and the activity-execution routes of the instance viewer: 401 without a
/// key, 4xx with a message for bad JSON and unknown ids (never a 500), execute's instance-id header, list,
/// get, journal, execution state, variables, cancel, delete and their bulk forms.
/// </summary>
/// <remarks>
/// One server for the class (<see cref="SharedServer"/>): every test starts runs of its own and finds them by the id
/// the server gave them, so the tests do not see each other's runs; a server per test cost about 2 s each (35 tests).
/// </remarks>
public sealed class WorkflowInstanceApiTests(WorkflowInstanceApiTests.SharedServer fixture) : IClassFixture<WorkflowInstanceApiTests.SharedServer>
{
    private const string WaitingWorkflow = """
        {
          "definitionId": "waits", "name": "Waits for a timer",
          "variables": [ { "id": "v1", "name": "Counter", "typeName": "Int32", "value": "41" } ],
          "root": { "type": "Elsa.Flowchart", "id": "fc", "version": 1,
            "activities": [
              { "id": "start", "type": "Elsa.Start", "version": 1 },
              { "id": "set", "type": "Elsa.SetVariable", "version": 1, "variable": { "id": "v1", "name": "Counter" },
                "value": { "typeName": "Object", "expression": { "type": "JavaScript", "value": "getVariable('Counter') + 1" } } },
              { "id": "wait", "type": "Elsa.Delay", "version": 1, "timeSpan": { "typeName": "TimeSpan", "expression": { "type": "Literal", "value": "01:00:00" } } },
              { "id": "done", "type": "Elsa.WriteLine", "version": 1, "text": { "typeName": "String", "expression": { "type": "Literal", "value": "done" } } }
            ],
            "connections": [
              { "source": { "activity": "start", "port": "Done" }, "target": { "activity": "set", "port": "In" } },
              { "source": { "activity": "set", "port": "Done" }, "target": { "activity": "wait", "port": "In" } },
              { "source": { "activity": "wait", "port": "Done" }, "target": { "activity": "done", "port": "In" } }
            ] }
        }
        """;

    private readonly ServerFactory server = fixture.Factory;
    private readonly HttpClient admin = fixture.Admin;

    /// <summary>The server the tests share, with the definition <c>waits</c> published.</summary>
    public sealed class SharedServer : SharedServerFactory
    {
        protected override async Task PrepareAsync(HttpClient admin)
        {
            var (status, _, _) = await admin.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = JsonNode.Parse(WaitingWorkflow), ["publish"] = true });
            Assert.Equal(HttpStatusCode.Created, status);
        }
    }

    private async Task<string> StartAsync()
    {
        var (status, body, response) = await admin.PostJsonAsync("/elsa/api/workflow-definitions/waits/execute", """{"input":{"who":"test"},"correlationId":"corr-1"}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var id = Assert.Single(response.Headers.GetValues("x-elsa-workflow-instance-id"));
        Assert.Equal(id, body!["workflowState"]!["id"]!.GetValue<string>());
        return id;
    }

    [Fact]
    public async Task Execute_returns_the_instance_id_header_and_the_instance_reads_back_in_elsa_shapes()
    {
        var id = await StartAsync();

        var (status, instance, _) = await admin.GetJsonAsync($"/elsa/api/workflow-instances/{id}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Running", instance!["status"]!.GetValue<string>());
        Assert.Equal("Suspended", instance["subStatus"]!.GetValue<string>());
        Assert.Equal("corr-1", instance["correlationId"]!.GetValue<string>());
        Assert.Equal("waits", instance["definitionId"]!.GetValue<string>());
        Assert.Contains(instance["workflowState"]!["bookmarks"]!.AsArray(), b => b!["activityNodeId"]!.GetValue<string>() == "Workflow1:fc:wait");

        var (_, state, _) = await admin.GetJsonAsync($"/elsa/api/workflow-instances/{id}/execution-state");
        Assert.Equal("Suspended", state!["workflowSubStatus"]!.GetValue<string>());

        var (_, variables, _) = await admin.GetJsonAsync($"/elsa/api/workflow-instances/{id}/variables");
        var counter = Assert.Single(variables!["items"]!.AsArray());
        Assert.Equal("Counter", counter!["name"]!.GetValue<string>());
        Assert.Equal(42, counter["value"]!.GetValue<int>());

        // The list body exactly as the Studio's instance list sends it (nulls, enums as strings, timestamp filters).
        var (listStatus, list, _) = await admin.PostJsonAsync("/elsa/api/workflow-instances", """
            {"page":0,"pageSize":10,"searchTerm":null,"definitionId":null,"definitionIds":["waits"],"correlationId":null,"version":null,
             "hasIncidents":null,"isSystem":false,"status":null,"statuses":["Running"],"subStatus":null,"subStatuses":["Suspended"],
             "orderBy":"Created","orderDirection":"Descending",
             "timestampFilters":[{"column":"CreatedAt","operator":"GreaterThanOrEqual","timestamp":"2020-08-01T00:00:00+00:00"}]}
            """);
        Assert.Equal(HttpStatusCode.OK, listStatus);
        Assert.Contains(list!["items"]!.AsArray(), i => i!["id"]!.GetValue<string>() == id && i["definitionVersionId"] is not null);
        Assert.True(list["totalCount"]!.GetValue<int>() >= 1);
    }

    [Fact]
    public async Task The_instance_is_the_list_row_plus_its_workflow_state_with_the_same_properties_in_the_same_order()
    {
        var id = await StartAsync();
        string[] row = ["id", "definitionId", "definitionVersionId", "version", "status", "subStatus", "correlationId", "name", "incidentCount", "createdAt", "updatedAt", "finishedAt"];

        var (_, list, _) = await admin.PostJsonAsync("/elsa/api/workflow-instances", """{"page":0,"pageSize":10,"definitionIds":["waits"],"orderBy":"Created","orderDirection":"Descending"}""");
        var item = list!["items"]!.AsArray().Single(i => i!["id"]!.GetValue<string>() == id)!.AsObject();
        Assert.Equal(row, item.Select(p => p.Key));

        var (_, instance, _) = await admin.GetJsonAsync($"/elsa/api/workflow-instances/{id}");
        Assert.Equal([.. row, "workflowState"], instance!.AsObject().Select(p => p.Key));
        // The list reads the store's index columns, which keep timestamps to the millisecond.
        foreach (var name in row.Except(["createdAt", "updatedAt"]))
            Assert.True(JsonNode.DeepEquals(item[name], instance[name]), $"{name}: list {item[name]?.ToJsonString()}, instance {instance[name]?.ToJsonString()}");
        foreach (var name in (string[])["createdAt", "updatedAt"])
            Assert.True((instance[name]!.GetValue<DateTimeOffset>() - item[name]!.GetValue<DateTimeOffset>()).Duration() < TimeSpan.FromMilliseconds(1), name);
        Assert.Equal(id, instance["workflowState"]!["id"]!.GetValue<string>());

        // The export is the same model, indented, without the null properties (finishedAt of a running instance).
        using var export = await admin.GetAsync($"/elsa/api/workflow-instances/{id}/export", TestContext.Current.CancellationToken);
        var exported = JsonNode.Parse(await export.Content.ReadAsStringAsync(TestContext.Current.CancellationToken))!.AsObject();
        Assert.Equal([.. row.Where(n => n != "finishedAt"), "workflowState"], exported.Select(p => p.Key));
    }

    [Fact]
    public async Task Journal_and_activity_executions_show_where_the_run_waits()
    {
        var id = await StartAsync();

        var (_, journal, _) = await admin.GetJsonAsync($"/elsa/api/workflow-instances/{id}/journal?skip=0&take=50");
        var events = journal!["items"]!.AsArray().Select(e => (e!["activityId"]?.GetValue<string>(), e["eventName"]!.GetValue<string>())).ToList();
        Assert.Contains(("set", "Completed"), events);
        Assert.Contains(("wait", "Suspended"), events);

        var (reportStatus, report, _) = await admin.PostJsonAsync("/elsa/api/activity-executions/report",
            $$"""{"workflowInstanceId":"{{id}}","activityNodeIds":["Workflow1:fc:start","Workflow1:fc:set","Workflow1:fc:wait","Workflow1:fc:done"]}""");
        Assert.Equal(HttpStatusCode.OK, reportStatus);
        var stats = report!["stats"]!.AsArray().ToDictionary(s => s!["activityNodeId"]!.GetValue<string>());
        Assert.Equal(1, stats["Workflow1:fc:set"]!["completedCount"]!.GetValue<int>());
        Assert.True(stats["Workflow1:fc:wait"]!["isBlocked"]!.GetValue<bool>());
        Assert.Equal(1, stats["Workflow1:fc:wait"]!["uncompletedCount"]!.GetValue<int>());
        Assert.False(stats.ContainsKey("Workflow1:fc:done"));

        var (_, summaries, _) = await admin.GetJsonAsync($"/elsa/api/activity-execution-summaries/list?WorkflowInstanceId={id}&ActivityNodeId=Workflow1:fc:wait");
        var summary = Assert.Single(summaries!["items"]!.AsArray());
        Assert.Equal("Running", summary!["status"]!.GetValue<string>());
        Assert.True(summary["hasBookmarks"]!.GetValue<bool>());

        var (_, record, _) = await admin.GetJsonAsync($"/elsa/api/activity-executions/by-id?id={Uri.EscapeDataString(summary["id"]!.GetValue<string>())}");
        Assert.Equal("Elsa.Delay", record!["activityType"]!.GetValue<string>());
        // As in Elsa, the scheduling activity of a flowchart step is the step whose completion scheduled it (here 'set'
        // through its Done port), not the flowchart; the call stack below still follows the composites.
        var executions = (await admin.GetJsonAsync($"/elsa/api/activity-executions/list?workflowInstanceId={id}")).Body!["items"]!.AsArray();
        var set = executions.Single(e => e!["activityId"]!.GetValue<string>() == "set")!;
        Assert.Equal("set", record["schedulingActivityId"]!.GetValue<string>());
        Assert.Equal(set["id"]!.GetValue<string>(), record["schedulingActivityExecutionId"]!.GetValue<string>());
        Assert.Equal("Done", record["properties"]!["scheduledBy"]!["port"]!.GetValue<string>());
        var start = executions.Single(e => e!["activityId"]!.GetValue<string>() == "start")!;
        Assert.Equal("fc", start["schedulingActivityId"]!.GetValue<string>()); // the first step: its flowchart scheduled it
        Assert.Null(start["properties"]!["scheduledBy"]);
        var (_, stack, _) = await admin.GetJsonAsync($"/elsa/api/activity-executions/{Uri.EscapeDataString(summary["id"]!.GetValue<string>())}/call-stack");
        Assert.Equal(2, stack!["totalCount"]!.GetValue<int>());
        Assert.Equal("Elsa.Flowchart", stack["items"]![0]!["activityType"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_input_excluded_by_logPersistenceMode_is_in_no_answer_journal_state_or_activity_execution()
    {
        const string Secretish = "restore-token-31337";
        var workflow = $$"""
            {
              "definitionId": "keeps-out", "name": "Keeps a value out of the records",
              "customProperties": { "logPersistenceMode": { "default": "Exclude" } },
              "root": { "type": "Elsa.Sequence", "id": "seq", "version": 1, "activities": [
                { "id": "say", "type": "Elsa.WriteLine", "version": 1, "text": { "typeName": "String", "expression": { "type": "Literal", "value": "{{Secretish}}" } } },
                { "id": "shown", "type": "Elsa.WriteLine", "version": 1, "text": { "typeName": "String", "expression": { "type": "Literal", "value": "shown text" } },
                  "customProperties": { "logPersistenceMode": { "default": "Include" } } },
                { "id": "wait", "type": "Elsa.Delay", "version": 1, "timeSpan": { "typeName": "TimeSpan", "expression": { "type": "Literal", "value": "01:00:00" } } } ] }
            }
            """;
        Assert.Equal(HttpStatusCode.Created, (await admin.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = JsonNode.Parse(workflow), ["publish"] = true })).Status);
        var (status, _, response) = await admin.PostJsonAsync("/elsa/api/workflow-definitions/keeps-out/execute", "{}");
        Assert.Equal(HttpStatusCode.OK, status);
        var id = Assert.Single(response.Headers.GetValues("x-elsa-workflow-instance-id"));

        var (_, executions, _) = await admin.GetJsonAsync($"/elsa/api/activity-executions/list?workflowInstanceId={id}");
        var say = executions!["items"]!.AsArray().Single(e => e!["activityId"]!.GetValue<string>() == "say")!;
        Assert.Null(say["activityState"]?["Text"]);
        Assert.Equal("Text", say["payload"]!["excluded"]!["inputs"]![0]!.GetValue<string>());
        var shown = executions["items"]!.AsArray().Single(e => e!["activityId"]!.GetValue<string>() == "shown")!;
        Assert.Equal("shown text", shown["activityState"]?["Text"]?.GetValue<string>()); // its own Include wins over the workflow's Exclude
        foreach (var path in (string[])[$"/elsa/api/workflow-instances/{id}", $"/elsa/api/workflow-instances/{id}/export", $"/elsa/api/workflow-instances/{id}/execution-state",
                     $"/elsa/api/workflow-instances/{id}/journal?skip=0&take=50", $"/elsa/api/activity-executions/list?workflowInstanceId={id}",
                     $"/elsa/api/activity-executions/by-id?id={Uri.EscapeDataString(say["id"]!.GetValue<string>())}"])
        {
            var (answered, body, _) = await admin.GetJsonAsync(path);
            Assert.Equal(HttpStatusCode.OK, answered);
            Assert.DoesNotContain(Secretish, body!.ToJsonString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Cancel_delete_and_their_bulk_forms()
    {
        var first = await StartAsync();
        var second = await StartAsync();
        var third = await StartAsync();

        var (cancelStatus, cancelled, _) = await admin.PostJsonAsync($"/elsa/api/cancel/workflow-instances/{first}", "");
        Assert.Equal(HttpStatusCode.OK, cancelStatus);
        Assert.Equal("Cancelled", cancelled!["subStatus"]!.GetValue<string>());

        var (_, bulkCancel, _) = await admin.PostJsonAsync("/elsa/api/bulk-actions/cancel/workflow-instances", $$"""{"ids":["{{first}}","{{second}}"],"definitionVersionId":null,"definitionId":null,"versionOptions":null}""");
        Assert.Equal(1, bulkCancel!["cancelledCount"]!.GetValue<int>());

        Assert.Equal(HttpStatusCode.NoContent, (await admin.SendAsync(HttpMethod.Delete, $"/elsa/api/workflow-instances/{first}")).Status);
        var (_, bulkDelete, _) = await admin.PostJsonAsync("/elsa/api/bulk-actions/delete/workflow-instances/by-id", $$"""{"ids":["{{second}}","{{third}}","unknown"]}""");
        Assert.Equal(2, bulkDelete!["deletedCount"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetJsonAsync($"/elsa/api/workflow-instances/{third}")).Status);
    }

    [Theory]
    [InlineData("GET", "/elsa/api/workflow-instances/nope")]
    [InlineData("GET", "/elsa/api/workflow-instances/nope/execution-state")]
    [InlineData("GET", "/elsa/api/workflow-instances/nope/journal")]
    [InlineData("POST", "/elsa/api/workflow-instances/nope/journal")]
    [InlineData("GET", "/elsa/api/workflow-instances/nope/variables")]
    [InlineData("GET", "/elsa/api/workflow-instances/nope/export")]
    [InlineData("POST", "/elsa/api/cancel/workflow-instances/nope")]
    [InlineData("DELETE", "/elsa/api/workflow-instances/nope")]
    [InlineData("POST", "/elsa/api/workflow-definitions/nope/execute")]
    [InlineData("POST", "/elsa/api/workflow-definitions/nope/dispatch")]
    [InlineData("GET", "/elsa/api/workflow-definitions/by-definition-id/nope")]
    [InlineData("GET", "/elsa/api/workflow-definitions/by-id/nope")]
    [InlineData("POST", "/elsa/api/workflow-definitions/nope/publish")]
    [InlineData("POST", "/elsa/api/workflow-definitions/nope/retract")]
    [InlineData("DELETE", "/elsa/api/workflow-definitions/nope")]
    [InlineData("DELETE", "/elsa/api/workflow-definition-versions/nope")]
    [InlineData("GET", "/elsa/api/activity-executions/by-id?id=nope.x")]
    [InlineData("POST", "/elsa/api/bookmarks/nope/resume")]
    public async Task Unknown_ids_are_404_with_a_message(string method, string path)
    {
        var (status, problem, _) = await admin.SendAsync(new HttpMethod(method), path, method == "POST" ? "{}" : null);
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("nope", problem!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/elsa/api/workflow-instances")]
    [InlineData("/elsa/api/workflow-definitions/waits/execute")]
    [InlineData("/elsa/api/workflow-definitions")]
    [InlineData("/elsa/api/workflow-instances/x/journal")]
    [InlineData("/elsa/api/activity-executions/report")]
    [InlineData("/elsa/api/bulk-actions/delete/workflow-instances/by-id")]
    public async Task Malformed_json_is_400_with_a_message(string path)
    {
        var (status, problem, _) = await admin.PostJsonAsync(path, "{\"page\": 0,, ");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.False(string.IsNullOrWhiteSpace(problem!["detail"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Wrong_shapes_are_4xx_never_500()
    {
        foreach (var (path, body) in ((string, string)[])[
            ("/elsa/api/workflow-instances", """{"page":"first","statuses":["Sleeping"]}"""),
            ("/elsa/api/workflow-instances", "[1,2,3]"),
            ("/elsa/api/workflow-definitions/waits/execute", """{"input":"not an object"}"""),
            ("/elsa/api/workflow-definitions/waits/execute", """{"versionOptions":"Whenever"}"""),
            ("/elsa/api/activity-executions/report", """{"activityNodeIds":[1,2]}"""),
            ("/elsa/api/bulk-actions/delete/workflow-instances/by-id", """{"ids":"x"}"""),
            ("/elsa/api/workflow-instances/x/journal", """{"filter":{"activityIds":[1,{"a":2}]}}""")])
        {
            var (status, _, _) = await admin.PostJsonAsync(path, body);
            Assert.True((int)status is >= 400 and < 500, $"{path} {body}: {(int)status}");
        }

        Assert.Equal(HttpStatusCode.BadRequest, (await admin.GetJsonAsync("/elsa/api/workflow-instances/x/journal?skip=abc")).Status);
    }

    [Theory]
    [InlineData("POST", "/elsa/api/workflow-instances")]
    [InlineData("GET", "/elsa/api/workflow-instances/x")]
    [InlineData("POST", "/elsa/api/workflow-definitions/waits/execute")]
    [InlineData("POST", "/elsa/api/cancel/workflow-instances/x")]
    [InlineData("GET", "/elsa/api/workflow-definitions")]
    [InlineData("POST", "/elsa/api/activity-executions/report")]
    public async Task Requests_without_a_valid_key_are_401(string method, string path)
    {
        using var anonymous = server.Client(key: null);
        var (status, problem, response) = await anonymous.SendAsync(new HttpMethod(method), path, method == "POST" ? "{}" : null);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Contains("ApiKey", problem!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("ApiKey", response.Headers.WwwAuthenticate.Single().Scheme);
    }
}
