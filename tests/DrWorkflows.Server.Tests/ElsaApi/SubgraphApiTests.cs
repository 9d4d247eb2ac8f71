using System.Net;
using System.Text.Json.Nodes;

namespace DrWorkflows.Server.Tests.ElsaApi;

/// <summary>
/// Elsa's subgraph routes (issue 16), which the Studio calls to drill into embedded activities: a flowchart holding a
/// ForEach whose Body is an If whose Then is a WriteLine. The subgraph of a node is that node with the activities
/// under it and the port that holds it; the segments of a node are the containing activities from the top (the
/// flowchart is not one), each named with the port the path goes through, and the innermost as the container.
/// </summary>
public sealed class SubgraphApiTests : IAsyncLifetime
{
    private readonly ServerFactory server = new();
    private HttpClient viewer = null!;

    public ValueTask InitializeAsync()
    {
        viewer = server.Client(ServerFactory.ViewerKey);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        viewer.Dispose();
        await server.DisposeAsync();
    }

    [Fact]
    public async Task Subgraph_and_segments_follow_the_ports_of_embedded_activities_as_Elsa_names_them()
    {
        using var admin = server.Client();
        var model = JsonNode.Parse("""
            { "definitionId": "nested", "name": "Nested",
              "root": { "type": "Elsa.Flowchart", "id": "fc", "version": 1, "connections": [], "activities": [
                { "id": "loop", "type": "Elsa.ForEach", "version": 1, "name": "EachServer",
                  "items": { "typeName": "Object", "expression": { "type": "JavaScript", "value": "['main', 'ai']" } },
                  "body": { "id": "check", "type": "Elsa.If", "version": 1,
                    "condition": { "typeName": "Boolean", "expression": { "type": "JavaScript", "value": "true" } },
                    "then": { "id": "yes", "type": "Elsa.WriteLine", "version": 1, "text": { "typeName": "String", "expression": { "type": "Literal", "value": "yes" } } } } } ] } }
            """)!;
        var (saved, body, _) = await admin.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = model, ["publish"] = true });
        Assert.True(saved is HttpStatusCode.Created or HttpStatusCode.OK, body?.ToJsonString());
        var versionId = (await viewer.GetJsonAsync("/elsa/api/workflow-definitions/by-definition-id/nested?versionOptions=Published")).Body!["id"]!.GetValue<string>();

        // Without a parent node: the whole graph from the top.
        var (status, top, _) = await viewer.GetJsonAsync($"/elsa/api/workflow-definitions/subgraph/{versionId}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Root", top!["port"]!.GetValue<string>());
        Assert.Equal("Elsa.Flowchart", top["activity"]!["type"]!.GetValue<string>());
        var loop = top["activity"]!["activities"]![0]!;
        var loopNode = loop["nodeId"]!.GetValue<string>();
        var checkNode = loop["body"]!["nodeId"]!.GetValue<string>();
        var yesNode = loop["body"]!["then"]!["nodeId"]!.GetValue<string>();
        Assert.Equal(top["nodeId"]!.GetValue<string>(), top["activity"]!["nodeId"]!.GetValue<string>());

        // The ForEach's subgraph: its body and what is under it; it sits in the flowchart's Activities.
        var (_, sub, _) = await viewer.GetJsonAsync($"/elsa/api/workflow-definitions/subgraph/{versionId}?parentNodeId={Uri.EscapeDataString(loopNode)}");
        Assert.Equal(loopNode, sub!["nodeId"]!.GetValue<string>());
        Assert.Equal("Activities", sub["port"]!.GetValue<string>());
        Assert.Equal("Elsa.ForEach", sub["activity"]!["type"]!.GetValue<string>());
        Assert.Equal("Elsa.WriteLine", sub["activity"]!["body"]!["then"]!["type"]!.GetValue<string>());

        // An unknown parent node: the top, as in Elsa.
        var (_, fallback, _) = await viewer.GetJsonAsync($"/elsa/api/workflow-definitions/subgraph/{versionId}?parentNodeId=nope");
        Assert.Equal("Root", fallback!["port"]!.GetValue<string>());

        // The WriteLine's segments: ForEach (through Body), then If (through Then); the If is the container.
        var (_, segments, _) = await viewer.GetJsonAsync($"/elsa/api/workflow-definitions/subgraph/segments/{versionId}?childNodeId={Uri.EscapeDataString(yesNode)}");
        Assert.Equal(yesNode, segments!["childNode"]!["nodeId"]!.GetValue<string>());
        Assert.Equal("Then", segments["childNode"]!["port"]!.GetValue<string>());
        Assert.Equal(checkNode, segments["container"]!["nodeId"]!.GetValue<string>());
        var path = segments["pathSegments"]!.AsArray();
        Assert.Equal([loopNode, checkNode], path.Select(s => s!["activityNodeId"]!.GetValue<string>()));
        Assert.Equal(["Body", "Then"], path.Select(s => s!["portName"]!.GetValue<string>()));
        Assert.Equal(["Elsa.ForEach", "Elsa.If"], path.Select(s => s!["activityType"]!.GetValue<string>()));
        Assert.Equal(["loop", "check"], path.Select(s => s!["activityId"]!.GetValue<string>()));
        Assert.Equal("EachServer", path[0]!["activityName"]!.GetValue<string>());

        // A node directly in the flowchart: no segment, the flowchart is the container.
        var (_, direct, _) = await viewer.GetJsonAsync($"/elsa/api/workflow-definitions/subgraph/segments/{versionId}?childNodeId={Uri.EscapeDataString(loopNode)}");
        Assert.Empty(direct!["pathSegments"]!.AsArray());
        Assert.Equal(top["nodeId"]!.GetValue<string>(), direct["container"]!["nodeId"]!.GetValue<string>());

        // Refusals: an unknown child node is 400 naming it; an unknown version is 404.
        var (unknownChild, refusal, _) = await viewer.GetJsonAsync($"/elsa/api/workflow-definitions/subgraph/segments/{versionId}?childNodeId=nope");
        Assert.Equal(HttpStatusCode.BadRequest, unknownChild);
        Assert.Contains("'nope'", refusal!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await viewer.GetJsonAsync("/elsa/api/workflow-definitions/subgraph/no-such-version")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await viewer.GetJsonAsync("/elsa/api/workflow-definitions/subgraph/segments/no-such-version?childNodeId=x")).Status);
    }
}
