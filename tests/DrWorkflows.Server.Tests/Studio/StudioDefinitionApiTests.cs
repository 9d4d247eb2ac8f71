using System.Net;
using System.Text.Json.Nodes;

namespace DrWorkflows.Server.Tests.Studio;

/// <summary>
/// The definition routes as Elsa Studio 3.8.2 uses them, driven with the request bodies captured from the real
/// Studio: load, auto-save, input edit, publish, the draft/published versioning, version history, retract,
/// name check, export/import, and the round trip (stored exactly, nodeIds added, runs unchanged).
/// </summary>
public sealed class StudioDefinitionApiTests : IAsyncLifetime
{
    private const string FixtureDefinitionId = "c6deed7e9c4847e8af0647109781e1f3";

    private readonly ServerFactory server = new();
    private HttpClient client = null!;

    public ValueTask InitializeAsync()
    {
        client = server.Client();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        client.Dispose();
        await server.DisposeAsync();
    }

    [Fact]
    public async Task Captured_autosave_creates_the_definition_and_stores_it_exactly()
    {
        var body = ApiClient.Fixture("post-workflow-definitions-autosave.request.json");
        var (status, saved, _) = await client.PostJsonAsync("/elsa/api/workflow-definitions", body);

        Assert.Equal(HttpStatusCode.Created, status);
        var definition = saved!["workflowDefinition"]!.AsObject();
        Assert.Equal(FixtureDefinitionId, definition["definitionId"]!.GetValue<string>());
        Assert.Equal(1, definition["version"]!.GetValue<int>());
        Assert.True(definition["isLatest"]!.GetValue<bool>());
        Assert.False(definition["isPublished"]!.GetValue<bool>());
        Assert.False(saved["alreadyPublished"]!.GetValue<bool>());
        Assert.Contains(definition["links"]!.AsArray(), l => l!["rel"]!.GetValue<string>() == "publish");

        // The root the Studio sent comes back verbatim (positions, measured sizes, custom properties, vertices).
        var sent = ApiClient.FixtureModel("post-workflow-definitions-autosave.request.json");
        Assert.True(JsonNode.DeepEquals(sent["root"], definition["root"]), "the saved root differs from the root the Studio sent");
        var (getStatus, loaded, _) = await client.GetJsonAsync($"/elsa/api/workflow-definitions/by-definition-id/{FixtureDefinitionId}?versionOptions=Latest");
        Assert.Equal(HttpStatusCode.OK, getStatus);
        Assert.True(JsonNode.DeepEquals(sent["root"], loaded!["root"]));
        Assert.True(JsonNode.DeepEquals(sent["options"], loaded["options"]));
        Assert.Equal("DR Approval Workflow", loaded["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task Input_edit_updates_the_draft_in_place_and_keeps_unknown_properties()
    {
        await client.PostJsonAsync("/elsa/api/workflow-definitions", ApiClient.Fixture("post-workflow-definitions-autosave.request.json"));
        var (status, saved, _) = await client.PostJsonAsync("/elsa/api/workflow-definitions", ApiClient.Fixture("post-workflow-definitions-after-input-edit.request.json"));

        Assert.Equal(HttpStatusCode.OK, status);
        var definition = saved!["workflowDefinition"]!;
        Assert.Equal(1, definition["version"]!.GetValue<int>());
        var gate = definition["root"]!["activities"]!.AsArray().Single(a => a!["id"]!.GetValue<string>() == "gate1")!;
        Assert.Equal("Head of Ops", gate["approverRole"]!["expression"]!["value"]!.GetValue<string>());
        Assert.True(gate["approverRole"]!.AsObject().ContainsKey("memoryReference"), "memoryReference: null must be kept as sent");
        Assert.Equal(196.953125, gate["metadata"]!["designer"]!["size"]!["width"]!.GetValue<double>());

        var (_, versions, _) = await client.GetJsonAsync($"/elsa/api/workflow-definitions?versionOptions=AllVersions&Page=0&PageSize=10&DefinitionIds={FixtureDefinitionId}&OrderBy=Version&OrderDirection=Descending");
        Assert.Equal(1, versions!["totalCount"]!.GetValue<int>());
    }

    [Fact]
    public async Task Publish_through_save_then_editing_creates_a_new_draft_version()
    {
        await client.PostJsonAsync("/elsa/api/workflow-definitions", ApiClient.Fixture("post-workflow-definitions-autosave.request.json"));
        var (status, published, _) = await client.PostJsonAsync("/elsa/api/workflow-definitions", ApiClient.Fixture("post-workflow-definitions-publish.request.json"));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(published!["workflowDefinition"]!["isPublished"]!.GetValue<bool>());
        Assert.Equal(1, published["workflowDefinition"]!["version"]!.GetValue<int>());

        // The Studio keeps editing the definition it got back: the next auto-save creates draft v2.
        var next = new JsonObject { ["model"] = published["workflowDefinition"]!.DeepClone(), ["publish"] = false };
        next["model"]!["name"] = "DR Approval Workflow (edited)";
        var (_, draft, _) = await client.PostJsonAsync("/elsa/api/workflow-definitions", next);
        Assert.Equal(2, draft!["workflowDefinition"]!["version"]!.GetValue<int>());
        Assert.True(draft["workflowDefinition"]!["isLatest"]!.GetValue<bool>());
        Assert.False(draft["workflowDefinition"]!["isPublished"]!.GetValue<bool>());

        var (_, history, _) = await client.GetJsonAsync($"/elsa/api/workflow-definitions?versionOptions=AllVersions&Page=0&PageSize=10&DefinitionIds={FixtureDefinitionId}&OrderBy=Version&OrderDirection=Descending");
        var rows = history!["items"]!.AsArray();
        Assert.Equal([2, 1], rows.Select(r => r!["version"]!.GetValue<int>()));
        Assert.True(rows[1]!["isPublished"]!.GetValue<bool>());
        Assert.False(rows[1]!["isLatest"]!.GetValue<bool>());

        var (_, publishedOnly, _) = await client.GetJsonAsync($"/elsa/api/workflow-definitions/by-definition-id/{FixtureDefinitionId}?versionOptions=Published");
        Assert.Equal(1, publishedOnly!["version"]!.GetValue<int>());
        var (_, v1, _) = await client.GetJsonAsync($"/elsa/api/workflow-definitions/by-id/{rows[1]!["id"]!.GetValue<string>()}");
        Assert.Equal("DR Approval Workflow", v1!["name"]!.GetValue<string>());

        // Retract un-publishes v1; a second retract is a 400 with a message the Studio shows.
        var (retractStatus, retracted, _) = await client.PostJsonAsync($"/elsa/api/workflow-definitions/{FixtureDefinitionId}/retract", "{}");
        Assert.Equal(HttpStatusCode.OK, retractStatus);
        Assert.False(retracted!["isPublished"]!.GetValue<bool>());
        var (again, problem, _) = await client.PostJsonAsync($"/elsa/api/workflow-definitions/{FixtureDefinitionId}/retract", "{}");
        Assert.Equal(HttpStatusCode.BadRequest, again);
        Assert.Contains("no published version", problem!["errors"]!["generalErrors"]![0]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_new_definition_from_the_studio_gets_ids_and_node_ids()
    {
        // What the Studio's "Create workflow" sends: no ids, a bare root without nodeId.
        var create = JsonNode.Parse("""
            {"model":{"id":null,"definitionId":null,"name":"Workflow 1","description":null,"version":1,"isLatest":true,"isPublished":false,
              "toolVersion":"3.8.0.0","variables":[],"inputs":[],"outputs":[],"outcomes":[],"customProperties":{},"links":null,
              "options":{"autoUpdateConsumingWorkflows":false},
              "root":{"id":"a1b2c3d4e5f60718","type":"Elsa.Flowchart","version":1,"name":"Flowchart1",
                      "activities":[{"id":"w1","type":"Elsa.WriteLine","version":1,"name":"WriteLine1","metadata":{"designer":{"position":{"x":10,"y":20}}}}],
                      "connections":[]}},
             "publish":false}
            """)!;
        var (status, saved, _) = await client.PostJsonAsync("/elsa/api/workflow-definitions", create);

        Assert.Equal(HttpStatusCode.Created, status);
        var definition = saved!["workflowDefinition"]!;
        Assert.Equal("workflow-1", definition["definitionId"]!.GetValue<string>());
        Assert.Equal("workflow-1:v1", definition["id"]!.GetValue<string>());
        Assert.Equal("Workflow1:a1b2c3d4e5f60718", definition["root"]!["nodeId"]!.GetValue<string>());
        Assert.Equal("Workflow1:a1b2c3d4e5f60718:w1", definition["root"]!["activities"]![0]!["nodeId"]!.GetValue<string>());
        Assert.Equal(10, definition["root"]!["activities"]![0]!["metadata"]!["designer"]!["position"]!["x"]!.GetValue<int>());
    }

    [Fact]
    public async Task Created_workflows_get_readable_unique_ids_from_their_names_that_change_until_published()
    {
        async Task<string> CreateAsync(string name)
        {
            var model = new JsonObject
            {
                ["definitionId"] = null, ["name"] = name,
                ["root"] = JsonNode.Parse("""{"id":"fc","type":"Elsa.Flowchart","version":1,"activities":[],"connections":[]}"""),
            };
            var (status, saved, _) = await client.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = model, ["publish"] = false });
            Assert.Equal(HttpStatusCode.Created, status);
            return saved!["workflowDefinition"]!["definitionId"]!.GetValue<string>();
        }

        Assert.Equal("restore-shop-db-v2", await CreateAsync("  Restore Shop DB (v2)!"));
        Assert.Equal("restore-shop-db-v2-2", await CreateAsync("Restore shop DB v2"));
        Assert.Equal("bascule-reseau", await CreateAsync("Bascule réseau"));
        Assert.Equal("workflow", await CreateAsync("?!"));

        // Before the first publish the id may change; the old id is gone.
        var (changed, body, _) = await client.PostJsonAsync("/elsa/api/workflow-definitions/restore-shop-db-v2-2/change-id", """{"definitionId":"restore-shop-drill"}""");
        Assert.Equal(HttpStatusCode.OK, changed);
        Assert.Equal("restore-shop-drill", body!["definitionId"]!.GetValue<string>());
        Assert.Equal("Restore shop DB v2", body["name"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetJsonAsync("/elsa/api/workflow-definitions/by-definition-id/restore-shop-db-v2-2?versionOptions=Latest")).Status);
        Assert.Equal(HttpStatusCode.OK, (await client.GetJsonAsync("/elsa/api/workflow-definitions/by-definition-id/restore-shop-drill?versionOptions=Latest")).Status);

        // Taken, malformed, published: 409 with the reason; a viewer may not.
        var (taken, takenBody, _) = await client.PostJsonAsync("/elsa/api/workflow-definitions/restore-shop-drill/change-id", """{"definitionId":"workflow"}""");
        Assert.Equal(HttpStatusCode.Conflict, taken);
        Assert.Contains("already used", takenBody!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        var (malformed, malformedBody, _) = await client.PostJsonAsync("/elsa/api/workflow-definitions/restore-shop-drill/change-id", """{"definitionId":"Restore Shop"}""");
        Assert.Equal(HttpStatusCode.Conflict, malformed);
        Assert.Contains("lower-case letters and digits", malformedBody!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        var ran = await CreateAsync("Ran once");
        Assert.Equal(HttpStatusCode.OK, (await client.PostJsonAsync($"/elsa/api/workflow-definitions/{ran}/execute", """{"versionOptions":"Latest"}""")).Status);
        var (hasRuns, hasRunsBody, _) = await client.PostJsonAsync($"/elsa/api/workflow-definitions/{ran}/change-id", """{"definitionId":"other"}""");
        Assert.Equal(HttpStatusCode.Conflict, hasRuns);
        Assert.Contains("has runs", hasRunsBody!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        using var viewer = server.Client(ServerFactory.ViewerKey);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostJsonAsync("/elsa/api/workflow-definitions/restore-shop-drill/change-id", """{"definitionId":"other"}""")).Status);
        Assert.Equal(HttpStatusCode.OK, (await client.PostJsonAsync("/elsa/api/workflow-definitions/restore-shop-drill/publish", "{}")).Status);
        var (published, publishedBody, _) = await client.PostJsonAsync("/elsa/api/workflow-definitions/restore-shop-drill/change-id", """{"definitionId":"other"}""");
        Assert.Equal(HttpStatusCode.Conflict, published);
        Assert.Contains("has been published", publishedBody!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_definition_saved_by_the_studio_runs_unchanged()
    {
        var model = StudioModel("Round trip", "Hello from the Studio");
        var (_, saved, _) = await client.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = model, ["publish"] = true });
        var definitionId = saved!["workflowDefinition"]!["definitionId"]!.GetValue<string>();
        var before = (await client.GetJsonAsync($"/elsa/api/workflow-definitions/by-definition-id/{definitionId}")).Body!;

        // The Run button's body, as captured.
        var (status, _, response) = await client.PostJsonAsync($"/elsa/api/workflow-definitions/{definitionId}/execute", ApiClient.Fixture("post-execute.request.json"));

        Assert.Equal(HttpStatusCode.OK, status);
        var instanceId = Assert.Single(response.Headers.GetValues("x-elsa-workflow-instance-id"));
        var (_, instance, _) = await client.GetJsonAsync($"/elsa/api/workflow-instances/{instanceId}");
        Assert.Equal("Finished", instance!["status"]!.GetValue<string>());
        Assert.Equal("Finished", instance["subStatus"]!.GetValue<string>());
        var (_, journal, _) = await client.PostJsonAsync($"/elsa/api/workflow-instances/{instanceId}/journal?skip=0&take=100", """{"filter":{"activityIds":["write1"],"activityNodeIds":null,"excludedActivityTypes":null,"eventNames":["Completed"]}}""");
        var completed = Assert.Single(journal!["items"]!.AsArray());
        Assert.Equal("Hello from the Studio", completed!["activityState"]!["text"]?.GetValue<string>() ?? completed["activityState"]!["Text"]!.GetValue<string>());

        var after = (await client.GetJsonAsync($"/elsa/api/workflow-definitions/by-definition-id/{definitionId}")).Body!;
        Assert.True(JsonNode.DeepEquals(before, after), "running a definition must not change it");
    }

    [Fact]
    public async Task Outcome_ports_written_by_the_studio_editors_run()
    {
        // FlowFork branches as the dynamic-outcomes editor writes them (an Object expression holding a JSON array),
        // FlowSwitch cases as the flow-switch editor writes them (an unwrapped array of label + condition).
        var model = JsonNode.Parse("""
            { "definitionId": "ports", "name": "Ports", "variables": [], "inputs": [], "outputs": [], "outcomes": [], "customProperties": {},
              "options": { "autoUpdateConsumingWorkflows": false },
              "root": { "type": "Elsa.Flowchart", "version": 1, "id": "fc", "nodeId": "Workflow1:fc", "activities": [
                { "id": "start", "nodeId": "Workflow1:fc:start", "type": "Elsa.Start", "version": 1 },
                { "id": "fork", "nodeId": "Workflow1:fc:fork", "type": "Elsa.FlowFork", "version": 1,
                  "branches": { "typeName": null, "expression": { "type": "Object", "value": "[\"Left\",\"Right\"]" }, "memoryReference": null } },
                { "id": "left", "nodeId": "Workflow1:fc:left", "type": "Elsa.WriteLine", "version": 1,
                  "text": { "typeName": "String", "expression": { "type": "Literal", "value": "left" } } },
                { "id": "switch", "nodeId": "Workflow1:fc:switch", "type": "Elsa.FlowSwitch", "version": 1,
                  "cases": [ { "label": "Small", "condition": { "type": "JavaScript", "value": "1 > 2" } },
                             { "label": "Big", "condition": { "type": "JavaScript", "value": "2 > 1" } } ] },
                { "id": "big", "nodeId": "Workflow1:fc:big", "type": "Elsa.WriteLine", "version": 1,
                  "text": { "typeName": "String", "expression": { "type": "Literal", "value": "big" } } },
                { "id": "small", "nodeId": "Workflow1:fc:small", "type": "Elsa.WriteLine", "version": 1,
                  "text": { "typeName": "String", "expression": { "type": "Literal", "value": "small" } } } ],
              "connections": [
                { "source": { "activity": "start", "port": "Done" }, "target": { "activity": "fork", "port": "In" } },
                { "source": { "activity": "fork", "port": "Left" }, "target": { "activity": "left", "port": "In" } },
                { "source": { "activity": "fork", "port": "Right" }, "target": { "activity": "switch", "port": "In" } },
                { "source": { "activity": "switch", "port": "Big" }, "target": { "activity": "big", "port": "In" } },
                { "source": { "activity": "switch", "port": "Small" }, "target": { "activity": "small", "port": "In" } } ] } }
            """)!;
        var (status, _, _) = await client.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = model, ["publish"] = true });
        Assert.Equal(HttpStatusCode.Created, status);

        var (_, _, response) = await client.PostJsonAsync("/elsa/api/workflow-definitions/ports/execute", "{}");
        var instanceId = Assert.Single(response.Headers.GetValues("x-elsa-workflow-instance-id"));
        var (_, report, _) = await client.PostJsonAsync("/elsa/api/activity-executions/report", $$"""{"workflowInstanceId":"{{instanceId}}","activityNodeIds":[]}""");
        var completed = report!["stats"]!.AsArray().Where(s => s!["completedCount"]!.GetValue<int>() > 0).Select(s => s!["activityId"]!.GetValue<string>()).ToHashSet();
        Assert.Contains("left", completed);
        Assert.Contains("big", completed);
        Assert.DoesNotContain("small", completed);
    }

    [Fact]
    public async Task Version_list_resolves_instances_definitions_by_version_id()
    {
        var (_, saved, _) = await client.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = StudioModel("Lookup", "x"), ["publish"] = true });
        var definition = saved!["workflowDefinition"]!;
        var next = new JsonObject { ["model"] = definition.DeepClone(), ["publish"] = false };
        await client.PostJsonAsync("/elsa/api/workflow-definitions", next);

        // The instance list asks for names by version id (Ids=…) without versionOptions: older versions must come back too.
        var (_, list, _) = await client.GetJsonAsync($"/elsa/api/workflow-definitions?Ids={Uri.EscapeDataString(definition["id"]!.GetValue<string>())}");
        var row = Assert.Single(list!["items"]!.AsArray());
        Assert.Equal(1, row!["version"]!.GetValue<int>());
        Assert.Contains(list["links"]!.AsArray(), l => l!["rel"]!.GetValue<string>() == "bulk-publish");

        var (_, many, _) = await client.GetJsonAsync($"/elsa/api/workflow-definitions/many-by-id?ids={Uri.EscapeDataString(definition["id"]!.GetValue<string>())}&ids=unknown");
        Assert.Equal(1, many!["count"]!.GetValue<int>());
    }

    [Fact]
    public async Task Name_check_export_import_and_delete()
    {
        var (_, saved, _) = await client.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = StudioModel("Unique name", "x"), ["publish"] = false });
        var definitionId = saved!["workflowDefinition"]!["definitionId"]!.GetValue<string>();

        Assert.False((await client.GetJsonAsync("/elsa/api/workflow-definitions/validation/is-name-unique?name=Unique%20name")).Body!["isUnique"]!.GetValue<bool>());
        Assert.True((await client.GetJsonAsync($"/elsa/api/workflow-definitions/validation/is-name-unique?name=Unique%20name&definitionId={definitionId}")).Body!["isUnique"]!.GetValue<bool>());
        Assert.True((await client.GetJsonAsync("/elsa/api/workflow-definitions/validation/is-name-unique?name=Workflow%201")).Body!["isUnique"]!.GetValue<bool>());

        var export = await client.GetAsync($"/elsa/api/workflow-definitions/{definitionId}/export?versionOptions=1&includeConsumingWorkflows=False", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, export.StatusCode);
        Assert.Equal("attachment", export.Content.Headers.ContentDisposition?.DispositionType);
        var exported = JsonNode.Parse(await export.Content.ReadAsStringAsync(TestContext.Current.CancellationToken))!.AsObject();
        Assert.False(exported.ContainsKey("links"));
        Assert.Equal("Unique name", exported["name"]!.GetValue<string>());

        exported["definitionId"] = "imported-copy";
        exported["name"] = "Imported copy";
        var (importStatus, imported, _) = await client.PostJsonAsync("/elsa/api/workflow-definitions/import", exported);
        Assert.Equal(HttpStatusCode.OK, importStatus);
        Assert.Equal("imported-copy", imported!["definitionId"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(exported["root"], imported["root"]));

        var delete = await client.DeleteAsync($"/elsa/api/workflow-definitions/{definitionId}", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetJsonAsync($"/elsa/api/workflow-definitions/by-definition-id/{definitionId}")).Status);
        var (bulkStatus, bulk, _) = await client.PostJsonAsync("/elsa/api/bulk-actions/delete/workflow-definitions/by-definition-id", """{"definitionIds":["imported-copy","nope"]}""");
        Assert.Equal(HttpStatusCode.OK, bulkStatus);
        Assert.Equal(1, bulk!["deleted"]!.GetValue<int>());
    }

    [Fact]
    public async Task Bad_save_bodies_are_400_with_a_message()
    {
        var (status, problem, _) = await client.PostJsonAsync("/elsa/api/workflow-definitions", "{\"model\": ");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.False(string.IsNullOrWhiteSpace(problem!["detail"]?.GetValue<string>()));

        (status, problem, _) = await client.PostJsonAsync("/elsa/api/workflow-definitions", """{"publish":true}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("model", problem!["errors"]!["generalErrors"]![0]!.GetValue<string>(), StringComparison.Ordinal);

        var model = StudioModel("Broken", "x");
        model["root"]!["activities"]![1]!["type"] = "Acme.DoesNotExist";
        (status, problem, _) = await client.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = model, ["publish"] = false });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("Acme.DoesNotExist", problem!["errors"]!["generalErrors"]![0]!.GetValue<string>(), StringComparison.Ordinal);

        (status, _, _) = await client.GetJsonAsync("/elsa/api/workflow-definitions?versionOptions=Sometimes");
        Assert.Equal(HttpStatusCode.BadRequest, status);
    }

    /// <summary>A flowchart Start → WriteLine → End as the Studio writes it (node ids, designer metadata, wrapped input).</summary>
    internal static JsonObject StudioModel(string name, string text) => JsonNode.Parse($$"""
        {
          "definitionId": null, "name": "{{name}}", "description": "made in the Studio", "toolVersion": "3.8.0.0",
          "variables": [], "inputs": [], "outputs": [], "outcomes": [], "customProperties": {}, "isReadonly": false,
          "options": { "activationStrategyType": null, "usableAsActivity": null, "autoUpdateConsumingWorkflows": false,
                       "activityCategory": null, "incidentStrategyType": null, "commitStrategyName": null },
          "root": {
            "type": "Elsa.Flowchart", "version": 1, "id": "flowchart1", "nodeId": "Workflow1:flowchart1", "metadata": {},
            "customProperties": { "notFoundConnections": [] },
            "activities": [
              { "id": "start1", "nodeId": "Workflow1:flowchart1:start1", "name": "Start1", "type": "Elsa.Start", "version": 1, "customProperties": {},
                "metadata": { "designer": { "position": { "x": 0, "y": 0 }, "size": { "width": 160, "height": 54 } } } },
              { "id": "write1", "nodeId": "Workflow1:flowchart1:write1", "name": "WriteLine1", "type": "Elsa.WriteLine", "version": 1,
                "text": { "typeName": "String", "expression": { "type": "Literal", "value": "{{text}}" }, "memoryReference": null },
                "customProperties": {}, "metadata": { "designer": { "position": { "x": 250, "y": 0 }, "size": { "width": 170.5, "height": 54 } } } },
              { "id": "end1", "nodeId": "Workflow1:flowchart1:end1", "name": "End1", "type": "Elsa.End", "version": 1, "customProperties": {},
                "metadata": { "designer": { "position": { "x": 520, "y": 0 }, "size": { "width": 160, "height": 54 } } } }
            ],
            "connections": [
              { "source": { "activity": "start1", "port": "Done" }, "target": { "activity": "write1", "port": "In" }, "vertices": [] },
              { "source": { "activity": "write1", "port": "Done" }, "target": { "activity": "end1", "port": "In" }, "vertices": [ { "x": 400, "y": 10 } ] }
            ]
          },
          "links": null, "version": 1, "isLatest": true, "isPublished": false, "id": null
        }
        """)!.AsObject();
}
