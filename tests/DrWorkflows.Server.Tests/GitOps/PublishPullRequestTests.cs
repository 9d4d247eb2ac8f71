using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Model;
using DrWorkflows.Server.GitOps;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;

namespace DrWorkflows.Server.Tests.GitOps;

/// <summary>
/// With GitOps on, publishing from the Studio or the API opens a pull request instead of making the version
/// runnable: against a GitHub stand-in, the exact requests (branch, commit of the committed file, pull request
/// with the change summary and the diagram), and GitHub refusing (502 with the cause, still a draft, retry safe).
/// </summary>
public sealed class PublishPullRequestTests : IDisposable
{
    private const string Repo = "/api/v3/repos/shop/dr-workflows";
    private const string Branch = "drworkflows/dr-redis-failure/v1";

    internal const string Definition = """
        { "definitionId": "dr-redis-failure", "name": "DR 6: Redis failure", "description": "Restart Redis after an approval.",
          "root": { "type": "Elsa.Flowchart", "id": "fc", "version": 1,
            "activities": [
              { "id": "start", "type": "Elsa.Start", "version": 1 },
              { "id": "say", "type": "Elsa.WriteLine", "version": 1, "text": { "typeName": "String", "expression": { "type": "Literal", "value": "restarting" } } }
            ],
            "connections": [ { "source": { "activity": "start", "port": "Done" }, "target": { "activity": "say", "port": "In" } } ] } }
        """;

    private readonly WireMockServer github = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false });

    public void Dispose() => github.Dispose();

    [Fact]
    public async Task Publish_opens_a_pull_request_with_the_committed_file_and_the_version_is_not_runnable()
    {
        StubGitHub();
        using var server = GitOpsServer();
        var designer = server.Client(ServerFactory.DesignerKey);

        var (status, body, response) = await designer.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = JsonNode.Parse(Definition), ["publish"] = true });

        Assert.True(status == HttpStatusCode.Accepted, $"{status}: {body}");
        Assert.Equal("https://github.example/shop/dr-workflows/pull/42", response.Headers.Location!.ToString());
        Assert.Equal(42, body!["awaitingReview"]!["number"]!.GetValue<int>());
        Assert.Equal(Branch, body["awaitingReview"]!["branch"]!.GetValue<string>());
        Assert.False(body["workflowDefinition"]!["isPublished"]!.GetValue<bool>());

        // Not runnable: no published version.
        var (published, _, _) = await designer.GetJsonAsync("/elsa/api/workflow-definitions/by-definition-id/dr-redis-failure?versionOptions=Published");
        Assert.Equal(HttpStatusCode.NotFound, published);

        var requests = github.LogEntries.Select(e => e.RequestMessage!).ToList();
        Assert.Equal(
            [$"GET {Repo}/git/refs/heads/main", $"POST {Repo}/git/refs", $"GET {Repo}/contents/workflows/dr-redis-failure.json", $"PUT {Repo}/contents/workflows/dr-redis-failure.json", $"GET {Repo}/pulls", $"POST {Repo}/pulls"],
            requests.Select(r => $"{r.Method} {r.Path}"));
        Assert.All(requests, r => Assert.Equal("token ghp_publish_test", r.Headers!["Authorization"].Single(), ignoreCase: true));

        var reference = JsonNode.Parse(requests[1].Body!)!;
        Assert.Equal($"refs/heads/{Branch}", reference["ref"]!.GetValue<string>());
        Assert.Equal("1111111111111111111111111111111111111111", reference["sha"]!.GetValue<string>());

        Assert.Equal(Branch, requests[2].Query!["ref"].Single());
        var commit = JsonNode.Parse(requests[3].Body!)!;
        Assert.Equal(Branch, commit["branch"]!.GetValue<string>());
        var committed = Encoding.UTF8.GetString(Convert.FromBase64String(commit["content"]!.GetValue<string>()));
        Assert.StartsWith("{\n  \"$schema\": \"" + PullRequestOpener.ElsaSchema + "\",\n  \"id\": \"dr-redis-failure\",\n  \"definitionId\": \"dr-redis-failure\",\n  \"name\": \"DR 6: Redis failure\",\n  \"description\": ", committed.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.EndsWith("}\n", committed, StringComparison.Ordinal);
        var file = JsonNode.Parse(committed)!.AsObject();
        Assert.DoesNotContain("isPublished", file.Select(p => p.Key));
        Assert.DoesNotContain("version", file.Select(p => p.Key));
        Assert.Equal("restarting", file["root"]!["activities"]![1]!["text"]!["expression"]!["value"]!.GetValue<string>());

        Assert.Equal($"shop:{Branch}", requests[4].Query!["head"].Single());
        var pull = JsonNode.Parse(requests[5].Body!)!;
        Assert.Equal(Branch, pull["head"]!.GetValue<string>());
        Assert.Equal("main", pull["base"]!.GetValue<string>());
        var text = pull["body"]!.GetValue<string>();
        Assert.Contains("New workflow `dr-redis-failure`.", text, StringComparison.Ordinal);
        Assert.Contains("- activity `say` (Elsa.WriteLine) added", text, StringComparison.Ordinal);
        Assert.Contains("```mermaid\nflowchart TD\n", text.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains("n1[\"say<br/>Elsa.WriteLine\"]:::changed", text, StringComparison.Ordinal);
        Assert.Contains("n0 --> n1", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_Studio_list_marks_the_draft_awaiting_review_until_it_is_saved_again()
    {
        StubGitHub();
        using var server = GitOpsServer();
        var designer = server.Client(ServerFactory.DesignerKey);
        var (status, body, _) = await designer.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = JsonNode.Parse(Definition), ["publish"] = true });
        Assert.True(status == HttpStatusCode.Accepted, $"{status}: {body}");

        // The list the Studio shows (its default query) marks the draft with its pull request.
        var row = await ListRowAsync(designer);
        Assert.StartsWith("Awaiting review: #42 (https://github.example/shop/dr-workflows/pull/42). Not runnable until the pull request is merged.", row["description"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.False(row["isPublished"]!.GetValue<bool>());
        // The full model the editor loads (and saves back) does not carry the note.
        var (_, model, _) = await designer.GetJsonAsync("/elsa/api/workflow-definitions/by-definition-id/dr-redis-failure?versionOptions=Latest");
        Assert.DoesNotContain("Awaiting review", model!.ToJsonString(), StringComparison.Ordinal);

        // Edited again in the Studio, the draft is no longer what the pull request carries: the mark goes.
        var edited = model.AsObject();
        edited["description"] = "Restart Redis, edited after the pull request.";
        (status, body, _) = await designer.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = edited.DeepClone(), ["publish"] = false });
        Assert.True(status == HttpStatusCode.OK, $"{status}: {body}");
        row = await ListRowAsync(designer);
        Assert.Equal("Restart Redis, edited after the pull request.", row["description"]!.GetValue<string>());
    }

    private static async Task<JsonNode> ListRowAsync(HttpClient client)
    {
        var (status, list, _) = await client.GetJsonAsync("/elsa/api/workflow-definitions?versionOptions=LatestOrPublished");
        Assert.Equal(HttpStatusCode.OK, status);
        return list!["items"]!.AsArray().Single(i => i!["definitionId"]!.GetValue<string>() == "dr-redis-failure")!;
    }

    [Fact]
    public async Task When_GitHub_refuses_the_publish_answers_502_with_the_cause_nothing_is_runnable_and_a_retry_opens_the_pull_request()
    {
        github.Given(Request.Create().WithPath($"{Repo}/git/refs/heads/main").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(401).WithHeader("Content-Type", "application/json").WithBody("{\"message\":\"Bad credentials\"}"));
        using var server = GitOpsServer();
        var designer = server.Client(ServerFactory.DesignerKey);

        var (status, body, _) = await designer.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = JsonNode.Parse(Definition), ["publish"] = true });

        Assert.Equal(HttpStatusCode.BadGateway, status);
        Assert.Contains("GitHub answered 401 opening the pull request for dr-redis-failure on shop/dr-workflows: Bad credentials", body!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("stays a draft (not runnable)", body["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        var (published, _, _) = await designer.GetJsonAsync("/elsa/api/workflow-definitions/by-definition-id/dr-redis-failure?versionOptions=Published");
        Assert.Equal(HttpStatusCode.NotFound, published);

        // The token is fixed: publishing the draft again opens the pull request.
        github.Reset();
        StubGitHub();
        (status, body, _) = await designer.PostJsonAsync("/elsa/api/workflow-definitions/dr-redis-failure/publish", new JsonObject());
        Assert.True(status == HttpStatusCode.Accepted, $"{status}: {body}");
        Assert.Equal(42, body!["awaitingReview"]!["number"]!.GetValue<int>());
        Assert.Single(github.LogEntries, e => e.RequestMessage!.Method == "POST" && e.RequestMessage.Path == $"{Repo}/pulls");
    }

    [Fact]
    public void The_committed_format_is_pretty_printed_with_the_schema_and_identity_first_and_no_server_fields()
    {
        var document = WorkflowDefinitionDocument.Parse("""{"root":{"type":"Elsa.Flowchart","id":"fc"},"isPublished":true,"version":3,"id":"x:v3","description":"d","name":"n","definitionId":"x","createdAt":"2026-01-01T00:00:00Z"}""");

        Assert.Equal(
            "{\n  \"$schema\": \"https://elsaworkflows.io/schemas/workflow-definition/v3.0.0/schema.json\",\n  \"id\": \"x\",\n  \"definitionId\": \"x\",\n  \"name\": \"n\",\n  \"description\": \"d\",\n  \"root\": {\n    \"type\": \"Elsa.Flowchart\",\n    \"id\": \"fc\"\n  }\n}\n",
            PullRequestOpener.CommittedFormat(document).ReplaceLineEndings("\n"));
    }

    private ServerFactory GitOpsServer() => new(settings: GitOpsSettings(github.Urls[0]));

    /// <summary>GitOps on, for the repository shop/dr-workflows on the GitHub stand-in at <paramref name="gitHubUrl"/>; no drift check, no poll.</summary>
    internal static Dictionary<string, string> GitOpsSettings(string gitHubUrl) => new()
    {
        ["DrWorkflows:GitOps:Enabled"] = "true",
        ["DrWorkflows:GitOps:Repository"] = "shop/dr-workflows",
        ["DrWorkflows:GitOps:DriftCheckInterval"] = "00:00:00",
        ["DrWorkflows:GitOps:MergePollInterval"] = "00:00:00",
        ["GitHub:BaseUrl"] = gitHubUrl,
        ["GitHub:Token"] = "ghp_publish_test",
        ["GitHub:Owner"] = "shop",
        ["GitHub:Repository"] = "incidents",
        ["GitHub:MaxAttempts"] = "1",
    };

    private void StubGitHub() => StubPullRequest(github, Branch);

    internal const string FirstBranch = Branch;

    /// <summary>GitHub answering the requests of an opened pull request (number 42) of <paramref name="branch"/>.</summary>
    internal static void StubPullRequest(WireMockServer github, string branch)
    {
        github.Given(Request.Create().WithPath($"{Repo}/git/refs/heads/main").UsingGet())
            .RespondWith(Json(200, """{"ref":"refs/heads/main","object":{"sha":"1111111111111111111111111111111111111111","type":"commit"}}"""));
        github.Given(Request.Create().WithPath($"{Repo}/git/refs").UsingPost())
            .RespondWith(Json(201, "{\"ref\":\"refs/heads/" + branch + "\",\"object\":{\"sha\":\"1111111111111111111111111111111111111111\",\"type\":\"commit\"}}"));
        github.Given(Request.Create().WithPath($"{Repo}/contents/workflows/dr-redis-failure.json").UsingGet())
            .RespondWith(Json(404, """{"message":"Not Found"}"""));
        github.Given(Request.Create().WithPath($"{Repo}/contents/workflows/dr-redis-failure.json").UsingPut())
            .RespondWith(Json(201, """{"content":{"name":"dr-redis-failure.json","path":"workflows/dr-redis-failure.json","sha":"2222222222222222222222222222222222222222","type":"file"},"commit":{"sha":"3333333333333333333333333333333333333333"}}"""));
        github.Given(Request.Create().WithPath($"{Repo}/pulls").UsingGet()).RespondWith(Json(200, "[]"));
        github.Given(Request.Create().WithPath($"{Repo}/pulls").UsingPost())
            .RespondWith(Json(201, """{"number":42,"html_url":"https://github.example/shop/dr-workflows/pull/42","state":"open","title":"Workflow dr-redis-failure: version 1"}"""));
    }

    internal static IResponseBuilder Json(int status, string body) =>
        Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(body);
}
