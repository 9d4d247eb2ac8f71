using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using DrWorkflows.Server.GitOps;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;

namespace DrWorkflows.Server.Tests.GitOps;

/// <summary>
/// Merge publishes: a signed <c>pull_request</c> webhook (closed and merged) publishes the merged file read at the merge
/// commit, with the commit and the pull request on the version and in the run's journal; closed without merging, a
/// bad signature, a redelivery change nothing; a direct push and the poller publish the same way; a merged file that
/// does not load is commented on the pull request and paged to on-call, once. Against a GitHub (and Slack) stand-in,
/// with the exact requests.
/// </summary>
public sealed class MergePublishTests : IDisposable
{
    private const string Repo = "/api/v3/repos/shop/dr-workflows";
    private const string Secret = "gitops-webhook-secret";
    private const string MergeSha = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private const string BeforeSha = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    private const string PushSha = "cccccccccccccccccccccccccccccccccccccccc";
    private const string File = "workflows/dr-redis-failure.json";

    private const string Definition = """
        {
          "definitionId": "dr-redis-failure",
          "name": "DR 6: Redis failure",
          "description": "Restart Redis after an approval.",
          "root": { "type": "Elsa.Flowchart", "id": "fc", "version": 1,
            "activities": [
              { "id": "start", "type": "Elsa.Start", "version": 1 },
              { "id": "say", "type": "Elsa.WriteLine", "version": 1, "text": { "typeName": "String", "expression": { "type": "Literal", "value": "restarting" } } }
            ],
            "connections": [ { "source": { "activity": "start", "port": "Done" }, "target": { "activity": "say", "port": "In" } } ] }
        }
        """;

    private readonly WireMockServer github = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false });

    public void Dispose() => github.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_merged_pull_request_publishes_the_file_at_the_merge_commit_and_the_version_and_its_runs_name_the_commit()
    {
        StubPullRequestFiles(7, (File, "modified"), ("README.md", "modified"));
        StubContent(File, MergeSha, Definition);
        using var server = GitOpsServer();
        var client = server.Client(null);

        var (status, body, _) = await SendAsync(client, "pull_request", PullRequestEvent(7, merged: true));

        Assert.True(status == HttpStatusCode.OK, $"{status}: {body}");
        var file = Assert.Single(body!["files"]!.AsArray())!;
        Assert.Equal(File, file["path"]!.GetValue<string>());
        Assert.Equal("Published", file["outcome"]!.GetValue<string>());
        Assert.Equal(1, file["version"]!.GetValue<int>());

        // Exactly: the pull request's files, then the workflow file at the merge commit (README.md is not read).
        var requests = github.LogEntries.Select(e => e.RequestMessage!).ToList();
        Assert.Equal([$"GET {Repo}/pulls/7/files", $"GET {Repo}/contents/{File}"], requests.Select(r => $"{r.Method} {r.Path}"));
        Assert.Equal(MergeSha, requests[1].Query!["ref"].Single());
        Assert.All(requests, r => Assert.Equal("token ghp_merge_test", r.Headers!["Authorization"].Single(), ignoreCase: true));

        // The Studio's API shows the commit and the pull request on the published version.
        var admin = server.Client(ServerFactory.AdminKey);
        var (found, published, _) = await admin.GetJsonAsync("/elsa/api/workflow-definitions/by-definition-id/dr-redis-failure?versionOptions=Published");
        Assert.Equal(HttpStatusCode.OK, found);
        Assert.Equal(MergeSha, published!["gitCommit"]!.GetValue<string>());
        Assert.Equal(7, published["gitPullRequest"]!.GetValue<int>());
        Assert.Equal($"git:{File}@{MergeSha}#7", published["providerName"]!.GetValue<string>());
        Assert.False(published["isReadonly"]!.GetValue<bool>());
        var (_, list, _) = await admin.GetJsonAsync("/elsa/api/workflow-definitions?versionOptions=Published");
        var row = list!["items"]!.AsArray().Single(i => i!["definitionId"]!.GetValue<string>() == "dr-redis-failure")!;
        Assert.Equal(MergeSha, row["gitCommit"]!.GetValue<string>());

        // A run of it names the commit in its journal.
        var (ran, _, response) = await admin.PostJsonAsync("/elsa/api/workflow-definitions/dr-redis-failure/execute", "{}");
        Assert.Equal(HttpStatusCode.OK, ran);
        var instanceId = response.Headers.GetValues("x-elsa-workflow-instance-id").Single();
        var (_, journal, _) = await admin.GetJsonAsync($"/elsa/api/workflow-instances/{instanceId}/journal?skip=0&take=50");
        var started = journal!["items"]!.AsArray().Single(e => e!["eventName"]!.GetValue<string>() == "WorkflowStarted")!;
        Assert.Equal(MergeSha, started["payload"]!["definition"]!["commit"]!.GetValue<string>());
        Assert.Equal(7, started["payload"]!["definition"]!["pullRequest"]!.GetValue<int>());
        Assert.Contains($"from {File} at commit aaaaaaa (pull request #7)", started["message"]!.GetValue<string>(), StringComparison.Ordinal);

        // GitHub redelivers (or the push of the same merge arrives): nothing is published again.
        (status, body, _) = await SendAsync(client, "pull_request", PullRequestEvent(7, merged: true));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Unchanged", body!["files"]![0]!["outcome"]!.GetValue<string>());
        Assert.Single(await server.Services.GetRequiredService<DrWorkflows.Core.Persistence.IWorkflowDefinitionStore>().ListVersionsAsync("dr-redis-failure", Ct));
    }

    [Fact]
    public async Task A_pull_request_closed_without_merging_changes_nothing_and_a_bad_signature_is_refused()
    {
        using var server = GitOpsServer();
        var client = server.Client(null);

        var (status, body, _) = await SendAsync(client, "pull_request", PullRequestEvent(8, merged: false));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("closed without merging: nothing is published", body!["ignored"]!.GetValue<string>());

        (status, body, _) = await SendAsync(client, "pull_request", PullRequestEvent(7, merged: true), secret: "not-the-secret");
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Contains("X-Hub-Signature-256 does not match the body", body!["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        (status, _, _) = await SendAsync(client, "pull_request", PullRequestEvent(7, merged: true), secret: null);
        Assert.Equal(HttpStatusCode.Unauthorized, status);

        Assert.Empty(github.LogEntries);
        var (found, _, _) = await server.Client(ServerFactory.AdminKey).GetJsonAsync("/elsa/api/workflow-definitions/by-definition-id/dr-redis-failure?versionOptions=Published");
        Assert.Equal(HttpStatusCode.NotFound, found);
    }

    [Fact]
    public async Task A_direct_push_to_the_branch_publishes_the_changed_file_with_its_commit()
    {
        StubCompare(BeforeSha, PushSha, (File, "added"), ("workflows/notes.md", "added"));
        StubContent(File, PushSha, Definition);
        using var server = GitOpsServer();

        var (status, body, _) = await SendAsync(server.Client(null), "push", PushEvent(BeforeSha, PushSha));

        Assert.True(status == HttpStatusCode.OK, $"{status}: {body}");
        Assert.Equal("Published", Assert.Single(body!["files"]!.AsArray())!["outcome"]!.GetValue<string>());
        var requests = github.LogEntries.Select(e => e.RequestMessage!).ToList();
        Assert.Equal([$"GET {Repo}/compare/{BeforeSha}...{PushSha}", $"GET {Repo}/contents/{File}"], requests.Select(r => $"{r.Method} {r.Path}"));
        Assert.Equal(PushSha, requests[1].Query!["ref"].Single());
        var (_, published, _) = await server.Client(ServerFactory.AdminKey).GetJsonAsync("/elsa/api/workflow-definitions/by-definition-id/dr-redis-failure?versionOptions=Published");
        Assert.Equal(PushSha, published!["gitCommit"]!.GetValue<string>());
        Assert.Null(published["gitPullRequest"]);

        // A push to another branch is not acted on.
        var other = PushEvent(BeforeSha, PushSha);
        other["ref"] = "refs/heads/feature";
        (status, body, _) = await SendAsync(server.Client(null), "push", other);
        Assert.Equal("not a push to main", body!["ignored"]!.GetValue<string>());
        Assert.Equal(2, github.LogEntries.Count);
    }

    [Fact]
    public async Task A_merged_file_that_does_not_load_is_not_published_and_is_commented_on_the_pull_request_and_paged_once()
    {
        var broken = Definition.Replace("Elsa.WriteLine", "Elsa.WriteLyne", StringComparison.Ordinal);
        StubPullRequestFiles(9, (File, "modified"));
        StubContent(File, MergeSha, broken);
        github.Given(Request.Create().WithPath($"{Repo}/issues/9/comments").UsingPost())
            .RespondWith(Json(201, """{"id":901,"body":"x","html_url":"https://github.example/shop/dr-workflows/pull/9#issuecomment-901"}"""));
        github.Given(Request.Create().WithPath("/slack/chat.postMessage").UsingPost())
            .RespondWith(Json(200, """{"ok":true,"channel":"C0ONCALL","ts":"1.2"}"""));
        using var server = GitOpsServer(new Dictionary<string, string>
        {
            ["Notifications:Slack:BotToken"] = "xoxb-test",
            ["Notifications:Slack:BaseUrl"] = github.Urls[0] + "/slack/",
            ["Notifications:Slack:DefaultChannel"] = "C0ONCALL",
        });
        var client = server.Client(null);

        var (status, body, _) = await SendAsync(client, "pull_request", PullRequestEvent(9, merged: true));

        Assert.True(status == HttpStatusCode.OK, $"{status}: {body}");
        var file = Assert.Single(body!["files"]!.AsArray())!;
        Assert.Equal("Refused", file["outcome"]!.GetValue<string>());
        Assert.Contains("Elsa.WriteLyne", file["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("reported on pull request #9", file["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("on-call sent by slack", file["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        var (found, _, _) = await server.Client(ServerFactory.AdminKey).GetJsonAsync("/elsa/api/workflow-definitions/by-definition-id/dr-redis-failure?versionOptions=Published");
        Assert.Equal(HttpStatusCode.NotFound, found);

        var requests = github.LogEntries.Select(e => e.RequestMessage!).ToList();
        Assert.Equal([$"GET {Repo}/pulls/9/files", $"GET {Repo}/contents/{File}", $"POST {Repo}/issues/9/comments", "POST /slack/chat.postMessage"], requests.Select(r => $"{r.Method} {r.Path}"));
        var comment = JsonNode.Parse(requests[2].Body!)!["body"]!.GetValue<string>();
        Assert.Contains($"**DrWorkflows did not publish `{File}`** from commit {MergeSha}: the file does not load, so no version of it is published.", comment, StringComparison.Ordinal);
        Assert.Contains("Elsa.WriteLyne", comment, StringComparison.Ordinal);
        Assert.Contains("drw validate workflows", comment, StringComparison.Ordinal);
        var page = JsonNode.Parse(requests[3].Body!)!;
        Assert.Equal("C0ONCALL", page["channel"]!.GetValue<string>());
        Assert.Contains($"Merged workflow not published: {File}", page["text"]!.GetValue<string>(), StringComparison.Ordinal);

        // Redelivered: read again, still refused, but neither commented nor paged twice.
        (status, body, _) = await SendAsync(client, "pull_request", PullRequestEvent(9, merged: true));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("already reported on pull request #9", body!["files"]![0]!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Single(github.LogEntries, e => e.RequestMessage!.Path == $"{Repo}/issues/9/comments");
        Assert.Single(github.LogEntries, e => e.RequestMessage!.Path == "/slack/chat.postMessage");
    }

    [Fact]
    public async Task When_GitHub_cannot_be_read_the_webhook_answers_502_with_the_cause_and_a_redelivery_publishes()
    {
        github.Given(Request.Create().WithPath($"{Repo}/pulls/7/files").UsingGet())
            .RespondWith(Json(500, """{"message":"Server Error"}"""));
        using var server = GitOpsServer();

        var (status, body, _) = await SendAsync(server.Client(null), "pull_request", PullRequestEvent(7, merged: true));

        Assert.Equal(HttpStatusCode.BadGateway, status);
        Assert.Contains("GitHub answered 500 reading pull request #7 of shop/dr-workflows", body!["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        github.Reset();
        StubPullRequestFiles(7, (File, "modified"));
        StubContent(File, MergeSha, Definition);
        (status, body, _) = await SendAsync(server.Client(null), "pull_request", PullRequestEvent(7, merged: true));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Published", body!["files"]![0]!["outcome"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_poller_publishes_a_merge_no_webhook_brought_and_notes_the_head_first()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-05T03:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        StubHead(BeforeSha);
        using var server = GitOpsServer(new Dictionary<string, string> { ["DrWorkflows:GitOps:MergePollInterval"] = "00:10:00" }, s => s.AddSingleton<TimeProvider>(clock));
        _ = server.Services; // starts the server and its poller

        // The first poll notes the head and publishes nothing.
        await WaitForAsync(() => github.LogEntries.Any(e => e.RequestMessage!.Path == $"{Repo}/git/refs/heads/main"), "the first poll");
        Assert.Single(github.LogEntries);

        // A merge lands on main without a webhook; ten minutes later the poll publishes it.
        github.Reset();
        StubHead(PushSha);
        StubCompare(BeforeSha, PushSha, (File, "modified"));
        StubContent(File, PushSha, Definition);
        clock.Advance(TimeSpan.FromMinutes(10));
        var admin = server.Client(ServerFactory.AdminKey);
        await WaitForAsync(async () => (await admin.GetJsonAsync("/elsa/api/workflow-definitions/by-definition-id/dr-redis-failure?versionOptions=Published")).Status == HttpStatusCode.OK, "the polled merge to be published");
        var (_, published, _) = await admin.GetJsonAsync("/elsa/api/workflow-definitions/by-definition-id/dr-redis-failure?versionOptions=Published");
        Assert.Equal(PushSha, published!["gitCommit"]!.GetValue<string>());
        Assert.Equal(
            [$"GET {Repo}/git/refs/heads/main", $"GET {Repo}/compare/{BeforeSha}...{PushSha}", $"GET {Repo}/contents/{File}"],
            github.LogEntries.OrderBy(e => e.RequestMessage!.DateTime).Select(e => $"{e.RequestMessage!.Method} {e.RequestMessage.Path}"));

        // The next poll sees the same head: nothing more.
        var before = github.LogEntries.Count;
        clock.Advance(TimeSpan.FromMinutes(10));
        await WaitForAsync(() => github.LogEntries.Count > before, "the third poll");
        Assert.Equal(before + 1, github.LogEntries.Count);
    }

    [Fact]
    public async Task After_a_start_the_first_poll_publishes_what_was_merged_since_the_newest_version_published_from_the_repository()
    {
        // Published from pull request #7 at MergeSha; then the server stops and a merge lands on main (PushSha).
        StubPullRequestFiles(7, (File, "modified"));
        StubContent(File, MergeSha, Definition);
        using var server = GitOpsServer();
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(server.Client(null), "pull_request", PullRequestEvent(7, merged: true))).Status);
        github.Reset();
        var changed = Definition.Replace("restarting", "restarting redis-main", StringComparison.Ordinal);
        StubHead(PushSha);
        StubCompare(MergeSha, PushSha, (File, "modified"));
        StubContent(File, PushSha, changed);

        // The poller as it is right after a start (nothing seen yet) goes on from the commit in the store.
        var poller = server.Services.GetRequiredService<MergePoller>();
        Assert.Null(poller.Seen);
        await poller.PollAsync(Ct);

        var (_, published, _) = await server.Client(ServerFactory.AdminKey).GetJsonAsync("/elsa/api/workflow-definitions/by-definition-id/dr-redis-failure?versionOptions=Published");
        Assert.Equal(PushSha, published!["gitCommit"]!.GetValue<string>());
        Assert.Equal("restarting redis-main", published["root"]!["activities"]![1]!["text"]!["expression"]!["value"]!.GetValue<string>());
        Assert.Equal(PushSha, poller.Seen);
        // The Studio's list names the commit the running version came from.
        var (_, list, _) = await server.Client(ServerFactory.AdminKey).GetJsonAsync("/elsa/api/workflow-definitions?versionOptions=LatestOrPublished");
        var row = list!["items"]!.AsArray().Single(i => i!["definitionId"]!.GetValue<string>() == "dr-redis-failure")!;
        Assert.Equal($"From {File} at commit {PushSha[..7]}. Restart Redis after an approval.", row["description"]!.GetValue<string>());
        Assert.Equal(
            [$"GET {Repo}/git/refs/heads/main", $"GET {Repo}/compare/{MergeSha}...{PushSha}", $"GET {Repo}/contents/{File}"],
            github.LogEntries.OrderBy(e => e.RequestMessage!.DateTime).Select(e => $"{e.RequestMessage!.Method} {e.RequestMessage.Path}"));
    }

    [Fact]
    public async Task After_a_start_a_commit_no_longer_on_the_branch_makes_the_first_poll_only_note_the_head_and_say_so()
    {
        StubPullRequestFiles(7, (File, "modified"));
        StubContent(File, MergeSha, Definition);
        using var server = GitOpsServer();
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(server.Client(null), "pull_request", PullRequestEvent(7, merged: true))).Status);
        github.Reset();
        StubHead(PushSha);
        github.Given(Request.Create().WithPath($"{Repo}/compare/{MergeSha}...{PushSha}").UsingGet()).RespondWith(Json(404, "{\"message\":\"Not Found\"}"));

        var poller = server.Services.GetRequiredService<MergePoller>();
        await poller.PollAsync(Ct);

        Assert.Equal(PushSha, poller.Seen);
        var (_, published, _) = await server.Client(ServerFactory.AdminKey).GetJsonAsync("/elsa/api/workflow-definitions/by-definition-id/dr-redis-failure?versionOptions=Published");
        Assert.Equal(MergeSha, published!["gitCommit"]!.GetValue<string>());
        Assert.Contains(server.Logs.Lines, l => l.Contains($"commit {MergeSha} of the newest version published from the repository is no longer on main", StringComparison.Ordinal));
    }

    internal static JsonObject PullRequestEvent(int number, bool merged) => new()
    {
        ["action"] = "closed",
        ["number"] = number,
        ["pull_request"] = new JsonObject
        {
            ["number"] = number,
            ["merged"] = merged,
            ["merge_commit_sha"] = merged ? MergeSha : null,
            ["base"] = new JsonObject { ["ref"] = "main" },
            ["head"] = new JsonObject { ["ref"] = "drworkflows/dr-redis-failure/v1" },
        },
        ["repository"] = new JsonObject { ["full_name"] = "shop/dr-workflows" },
        ["sender"] = new JsonObject { ["login"] = "reviewer", ["type"] = "User" },
    };

    private static JsonObject PushEvent(string before, string after) => new()
    {
        ["ref"] = "refs/heads/main",
        ["before"] = before,
        ["after"] = after,
        ["repository"] = new JsonObject { ["full_name"] = "shop/dr-workflows" },
        ["pusher"] = new JsonObject { ["name"] = "someone" },
    };

    internal static async Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> SendAsync(HttpClient client, string eventName, JsonNode payload, string? secret = Secret)
    {
        using var request = Approvals.ApprovalServerFactory.GitHubEvent(payload, secret);
        request.Headers.Remove("X-GitHub-Event");
        request.Headers.Add("X-GitHub-Event", eventName);
        var response = await client.SendAsync(request, Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        return (response.StatusCode, body.Length == 0 ? null : JsonNode.Parse(body), response);
    }

    private ServerFactory GitOpsServer(Dictionary<string, string>? more = null, Action<IServiceCollection>? services = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["DrWorkflows:GitOps:Enabled"] = "true",
            ["DrWorkflows:GitOps:Repository"] = "shop/dr-workflows",
            ["DrWorkflows:GitOps:DriftCheckInterval"] = "00:00:00",
            ["DrWorkflows:GitOps:MergePollInterval"] = "00:00:00",
            ["Approvals:GitHub:WebhookSecret"] = Secret,
            ["GitHub:BaseUrl"] = github.Urls[0],
            ["GitHub:Token"] = "ghp_merge_test",
            ["GitHub:Owner"] = "shop",
            ["GitHub:Repository"] = "incidents",
            ["GitHub:MaxAttempts"] = "1",
        };
        foreach (var (key, value) in more ?? [])
            settings[key] = value;
        return new ServerFactory(settings: settings, services: services);
    }

    private void StubPullRequestFiles(int number, params (string Path, string Status)[] files) =>
        github.Given(Request.Create().WithPath($"{Repo}/pulls/{number}/files").UsingGet())
            .RespondWith(Json(200, new JsonArray([.. files.Select(f => (JsonNode)new JsonObject { ["filename"] = f.Path, ["status"] = f.Status, ["sha"] = "dddddddddddddddddddddddddddddddddddddddd" })]).ToJsonString()));

    private void StubCompare(string before, string after, params (string Path, string Status)[] files) =>
        github.Given(Request.Create().WithPath($"{Repo}/compare/{before}...{after}").UsingGet())
            .RespondWith(Json(200, new JsonObject
            {
                ["status"] = "ahead",
                ["ahead_by"] = 1,
                ["commits"] = new JsonArray(),
                ["files"] = new JsonArray([.. files.Select(f => (JsonNode)new JsonObject { ["filename"] = f.Path, ["status"] = f.Status })]),
            }.ToJsonString()));

    private void StubContent(string path, string commit, string text) =>
        github.Given(Request.Create().WithPath($"{Repo}/contents/{path}").WithParam("ref", commit).UsingGet())
            .RespondWith(Json(200, new JsonObject
            {
                ["type"] = "file",
                ["encoding"] = "base64",
                ["name"] = Path.GetFileName(path),
                ["path"] = path,
                ["sha"] = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
                ["content"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(text)),
            }.ToJsonString()));

    private void StubHead(string sha) =>
        github.Given(Request.Create().WithPath($"{Repo}/git/refs/heads/main").UsingGet())
            .RespondWith(Json(200, "{\"ref\":\"refs/heads/main\",\"object\":{\"sha\":\"" + sha + "\",\"type\":\"commit\"}}"));

    private static IResponseBuilder Json(int status, string body) =>
        Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(body);

    private static Task WaitForAsync(Func<bool> condition, string what) => WaitForAsync(() => Task.FromResult(condition()), what);

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(50, Ct);
        }
    }
}
