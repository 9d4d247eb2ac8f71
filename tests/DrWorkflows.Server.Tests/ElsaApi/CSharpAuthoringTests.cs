using System.Net;
using System.Text.Json.Nodes;

namespace DrWorkflows.Server.Tests.ElsaApi;

/// <summary>
/// C# is full-trust code: only keys with the designer role may save or publish a definition that contains it (the
/// admin key alone may not); a file under workflows/ came through review and loads; the Studio's syntax list offers
/// C# only to those keys.
/// </summary>
public sealed class CSharpAuthoringTests : IAsyncLifetime
{
    private const string FileWorkflow = """
        { "definitionId": "reviewed-csharp", "name": "Reviewed C#",
          "root": { "type": "Elsa.Sequence", "id": "seq", "version": 1, "activities": [
            { "id": "cs", "type": "Elsa.RunCSharp", "version": 1, "script": { "typeName": "String", "expression": { "type": "Literal", "value": "1 + 1" } } } ] } }
        """;

    private readonly ServerFactory server = new(workflowFiles: new Dictionary<string, string> { ["reviewed-csharp.json"] = FileWorkflow });

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await server.DisposeAsync();

    private static JsonObject Model(string definitionId, string csharpInput) => JsonNode.Parse($$"""
        { "definitionId": "{{definitionId}}", "name": "{{definitionId}}",
          "variables": [ { "id": "v-count", "name": "Count", "typeName": "Int32", "value": "2" } ],
          "root": { "type": "Elsa.Sequence", "id": "seq", "version": 1, "activities": [
            { "id": "say", "type": "Elsa.WriteLine", "version": 1, "text": {{csharpInput}} } ] } }
        """)!.AsObject();

    private static string CSharp(string code) => new JsonObject { ["typeName"] = "String", ["expression"] = new JsonObject { ["type"] = "CSharp", ["value"] = code } }.ToJsonString();

    [Fact]
    public async Task Only_keys_with_the_designer_role_may_save_or_publish_CSharp_and_the_refusal_names_the_activity_and_the_rule()
    {
        using var admin = server.Client();
        using var designer = server.Client(ServerFactory.DesignerKey);

        // The admin key (no designer role) is refused, naming the activity and the rule; nothing is stored.
        var (refused, problem, _) = await admin.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = Model("cs-by-admin", CSharp("$\"count {Variable.Count}\"")), ["publish"] = true });
        Assert.Equal(HttpStatusCode.Forbidden, refused);
        var detail = problem!["detail"]!.GetValue<string>();
        Assert.Contains("Activity 'say'", detail, StringComparison.Ordinal);
        Assert.Contains("designer role", detail, StringComparison.Ordinal);
        Assert.Contains("full-trust", detail, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetJsonAsync("/elsa/api/workflow-definitions/by-definition-id/cs-by-admin")).Status);
        var (importRefused, _, _) = await admin.PostJsonAsync("/elsa/api/workflow-definitions/import", Model("cs-import", CSharp("\"x\"")));
        Assert.Equal(HttpStatusCode.Forbidden, importRefused);

        // The designer key saves a draft; the admin key may not publish it; the designer may, and it runs.
        var (saved, body, _) = await designer.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = Model("cs-by-designer", CSharp("$\"count {Variable.Count}\"")), ["publish"] = false });
        Assert.True(saved is HttpStatusCode.Created or HttpStatusCode.OK, body?.ToJsonString());
        var (publishRefused, publishProblem, _) = await admin.PostJsonAsync("/elsa/api/workflow-definitions/cs-by-designer/publish", "{}");
        Assert.Equal(HttpStatusCode.Forbidden, publishRefused);
        Assert.Contains("Activity 'say'", publishProblem!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        var (published, _, _) = await designer.PostJsonAsync("/elsa/api/workflow-definitions/cs-by-designer/publish", "{}");
        Assert.Equal(HttpStatusCode.OK, published);
        var (ran, run, _) = await admin.PostJsonAsync("/elsa/api/workflow-definitions/cs-by-designer/execute", "{}");
        Assert.Equal(HttpStatusCode.OK, ran);
        Assert.Equal("Finished", run!["workflowState"]!["status"]!.GetValue<string>());

        // A compile error is refused at publish with the activity and the line (400, nothing published).
        var (bad, badBody, _) = await designer.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = Model("cs-typo", CSharp("Variable.Cuont")), ["publish"] = true });
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Assert.Contains("C# in activity 'say' does not compile: line 1", badBody!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reviewed_file_with_CSharp_loads_and_the_syntax_list_offers_CSharp_to_designers_only()
    {
        using var admin = server.Client();
        using var designer = server.Client(ServerFactory.DesignerKey);

        var (status, file, _) = await admin.GetJsonAsync("/elsa/api/workflow-definitions/by-definition-id/reviewed-csharp?versionOptions=Published");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(file!["isPublished"]!.GetValue<bool>());

        static async Task<List<string>> SyntaxesAsync(HttpClient client) =>
            [.. (await client.GetJsonAsync("/elsa/api/descriptors/expression-descriptors")).Body!["items"]!.AsArray().Select(e => e!["type"]!.GetValue<string>())];
        Assert.Contains("CSharp", await SyntaxesAsync(designer));
        Assert.DoesNotContain("CSharp", await SyntaxesAsync(admin));
    }
}
