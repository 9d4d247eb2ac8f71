using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using DrWorkflows.Server.Security;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;

namespace DrWorkflows.Server.Tests.GitOps;

/// <summary>
/// Break-glass: an admin publishes a draft without review only through an approval gate that needs two different
/// approvers (not the admin who asked); then the version runs, the pull request labelled break-glass is opened
/// against the GitHub stand-in (exact requests), drift shows the definition until that pull request is merged.
/// </summary>
public sealed class BreakGlassTests : IDisposable
{
    private const string Repo = "/api/v3/repos/shop/dr-workflows";
    private const string Branch = "drworkflows/dr-redis-failure/v1";
    private const string MergeSha = "abababababababababababababababababababab";
    private const string AnnaKey = "test-ops-anna-key";
    private const string BenKey = "test-ops-ben-key";

    private readonly WireMockServer github = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false });

    public void Dispose() => github.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Break_glass_publishes_only_after_two_different_approvers_and_opens_the_labelled_pull_request_drift_shows_it_until_merged()
    {
        StubPullRequest();
        using var server = new ServerFactory(settings: new Dictionary<string, string>
        {
            ["DrWorkflows:GitOps:Enabled"] = "true",
            ["DrWorkflows:GitOps:Repository"] = "shop/dr-workflows",
            ["DrWorkflows:GitOps:DriftCheckInterval"] = "00:00:00",
            ["DrWorkflows:GitOps:MergePollInterval"] = "00:00:00",
            ["Approvals:GitHub:WebhookSecret"] = "gitops-webhook-secret",
            ["GitHub:BaseUrl"] = github.Urls[0],
            ["GitHub:Token"] = "ghp_break_glass",
            ["GitHub:Owner"] = "shop",
            ["GitHub:Repository"] = "incidents",
            ["GitHub:MaxAttempts"] = "1",
            ["DrWorkflows:Auth:Keys:2:Name"] = "anna",
            ["DrWorkflows:Auth:Keys:2:Sha256"] = ConfiguredApiKeyStore.HashHex(AnnaKey),
            ["DrWorkflows:Auth:Keys:2:Roles:0"] = Roles.Admin,
            ["DrWorkflows:Auth:Keys:3:Name"] = "ben",
            ["DrWorkflows:Auth:Keys:3:Sha256"] = ConfiguredApiKeyStore.HashHex(BenKey),
            ["DrWorkflows:Auth:Keys:3:Roles:0"] = Roles.Admin,
        });
        var admin = server.Client(ServerFactory.AdminKey);
        var (saved, _, _) = await server.Client(ServerFactory.DesignerKey).PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = JsonNode.Parse(PublishPullRequestTests.Definition), ["publish"] = false });
        Assert.Equal(HttpStatusCode.Created, saved);

        // Only an admin asks, with a reason.
        var (status, _, _) = await server.Client(ServerFactory.DesignerKey).PostJsonAsync("/api/gitops/break-glass", """{"definitionId":"dr-redis-failure","reason":"Redis is down now"}""");
        Assert.Equal(HttpStatusCode.Forbidden, status);
        (status, _, _) = await admin.PostJsonAsync("/api/gitops/break-glass", """{"definitionId":"dr-redis-failure"}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);

        var (asked, request, _) = await admin.PostJsonAsync("/api/gitops/break-glass", """{"definitionId":"dr-redis-failure","reason":"Redis is down now and the old runbook restarts the wrong container"}""");
        Assert.True(asked == HttpStatusCode.Accepted, $"{asked}: {request}");
        var runId = request!["runId"]!.GetValue<string>();
        var (_, journal, _) = await admin.GetJsonAsync($"/elsa/api/workflow-instances/{runId}/journal?skip=0&take=50");
        Assert.True(request["approvalId"] is not null, $"{request}\n{journal}");
        var approvalId = request["approvalId"]!.GetValue<string>();
        Assert.Equal(1, request["version"]!.GetValue<int>());

        // The admin who asked cannot approve; one approver twice is one approval; nothing runs yet.
        (status, _, _) = await admin.PostJsonAsync($"/api/approvals/{approvalId}/approve", "{}");
        Assert.NotEqual(HttpStatusCode.OK, status);
        var (first, vote, _) = await server.Client(AnnaKey).PostJsonAsync($"/api/approvals/{approvalId}/approve", """{"comment":"seen the diff"}""");
        Assert.True(first == HttpStatusCode.OK, $"{first}: {vote}");
        Assert.Equal("recorded", vote!["result"]!.GetValue<string>());
        (_, vote, _) = await server.Client(AnnaKey).PostJsonAsync($"/api/approvals/{approvalId}/approve", "{}");
        Assert.Equal("already-recorded", vote!["result"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetJsonAsync("/elsa/api/workflow-definitions/by-definition-id/dr-redis-failure?versionOptions=Published")).Status);
        Assert.Empty(github.LogEntries);

        // The second, different approver: the version runs and the pull request is opened.
        (status, vote, _) = await server.Client(BenKey).PostJsonAsync($"/api/approvals/{approvalId}/approve", "{}");
        Assert.True(status == HttpStatusCode.OK, $"{status}: {vote}");
        await WaitForAsync(async () => (await admin.GetJsonAsync($"/elsa/api/workflow-instances/{runId}")).Body?["status"]?.GetValue<string>() == "Finished", "the break-glass run to finish");
        var (_, run, _) = await admin.GetJsonAsync($"/elsa/api/workflow-instances/{runId}");
        Assert.Equal("Finished", run!["subStatus"]!.GetValue<string>());
        var (found, published, _) = await admin.GetJsonAsync("/elsa/api/workflow-definitions/by-definition-id/dr-redis-failure?versionOptions=Published");
        Assert.Equal(HttpStatusCode.OK, found);
        Assert.Equal($"break-glass:{runId}", published!["providerName"]!.GetValue<string>());

        var requests = github.LogEntries.OrderBy(e => e.RequestMessage!.DateTime).Select(e => e.RequestMessage!).ToList();
        Assert.Equal(
            [$"GET {Repo}/git/refs/heads/main", $"POST {Repo}/git/refs", $"GET {Repo}/contents/workflows/dr-redis-failure.json", $"PUT {Repo}/contents/workflows/dr-redis-failure.json", $"GET {Repo}/pulls", $"POST {Repo}/pulls", $"POST {Repo}/issues/42/labels"],
            requests.Select(r => $"{r.Method} {r.Path}"));
        var pull = JsonNode.Parse(requests[5].Body!)!;
        Assert.Equal("Break-glass: Workflow dr-redis-failure: version 1", pull["title"]!.GetValue<string>());
        var text = pull["body"]!.GetValue<string>();
        Assert.Contains("**Break-glass publish**: `workflows/dr-redis-failure.json` version 1 already runs in production", text, StringComparison.Ordinal);
        Assert.Contains("approved by anna and ben", text, StringComparison.Ordinal);
        Assert.Contains("Reason: Redis is down now and the old runbook restarts the wrong container", text, StringComparison.Ordinal);
        Assert.Equal("""["break-glass"]""", JsonNode.Parse(requests[6].Body!)!.ToJsonString());
        var committed = Encoding.UTF8.GetString(Convert.FromBase64String(JsonNode.Parse(requests[3].Body!)!["content"]!.GetValue<string>()));

        // Audited: the gate's record holds both approvals, by whom.
        var (_, record, _) = await admin.GetJsonAsync($"/api/approvals/{approvalId}");
        Assert.Equal(["anna", "ben"], record!["votes"]!.AsArray().Where(v => v!["vote"]!.GetValue<string>() == "approve").Select(v => v!["by"]!.GetValue<string>()).Order(StringComparer.Ordinal));

        // Drift shows it until the pull request is merged: main has no file yet.
        github.Reset();
        github.Given(Request.Create().WithPath($"{Repo}/contents/workflows").UsingGet()).RespondWith(Json(200, "[]"));
        var (_, drift, _) = await admin.GetJsonAsync("/api/gitops/drift");
        var item = drift!["items"]!.AsArray().Single(i => i!["definitionId"]!.GetValue<string>() == "dr-redis-failure")!;
        Assert.Equal("NoFile", item["state"]!.GetValue<string>());

        // Merged: the merge publishes nothing new (the file is what runs) and drift is gone.
        github.Reset();
        github.Given(Request.Create().WithPath($"{Repo}/pulls/42/files").UsingGet()).RespondWith(Json(200, """[{"filename":"workflows/dr-redis-failure.json","status":"added"}]"""));
        StubFile(committed, MergeSha);
        var merged = MergePublishTests.PullRequestEvent(42, merged: true);
        merged["pull_request"]!["merge_commit_sha"] = MergeSha;
        var (hooked, answer, _) = await MergePublishTests.SendAsync(server.Client(null), "pull_request", merged, "gitops-webhook-secret");
        Assert.True(hooked == HttpStatusCode.OK, $"{hooked}: {answer}");
        Assert.Equal("Unchanged", answer!["files"]![0]!["outcome"]!.GetValue<string>());
        github.Given(Request.Create().WithPath($"{Repo}/contents/workflows").UsingGet())
            .RespondWith(Json(200, """[{"type":"file","name":"dr-redis-failure.json","path":"workflows/dr-redis-failure.json","sha":"f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0"}]"""));
        StubFile(committed, "main");
        (_, drift, _) = await admin.GetJsonAsync("/api/gitops/drift");
        item = drift!["items"]!.AsArray().Single(i => i!["definitionId"]!.GetValue<string>() == "dr-redis-failure")!;
        Assert.Equal("InSync", item["state"]!.GetValue<string>());
    }

    private void StubFile(string text, string reference) =>
        github.Given(Request.Create().WithPath($"{Repo}/contents/workflows/dr-redis-failure.json").WithParam("ref", reference).UsingGet())
            .RespondWith(Json(200, new JsonObject
            {
                ["type"] = "file",
                ["encoding"] = "base64",
                ["name"] = "dr-redis-failure.json",
                ["path"] = "workflows/dr-redis-failure.json",
                ["sha"] = "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0",
                ["content"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(text)),
            }.ToJsonString()));

    private void StubPullRequest()
    {
        PublishPullRequestTests.StubPullRequest(github, Branch);
        github.Given(Request.Create().WithPath($"{Repo}/issues/42/labels").UsingPost())
            .RespondWith(Json(200, """[{"name":"break-glass","color":"d73a4a"}]"""));
    }

    private static IResponseBuilder Json(int status, string body) => PublishPullRequestTests.Json(status, body);

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(100, Ct);
        }
    }
}
