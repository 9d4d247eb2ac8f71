using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DrWorkflows.Activities.Approvals;

namespace DrWorkflows.Server.Tests.Approvals;

/// <summary>
/// Issue 17 on approvals: a decision counts only where the gate was asked (its issue, its Slack message), the API
/// refuses fields the gate does not take, fields and bodies have limits, correctly signed but malformed webhooks are
/// 400 and logged, and text a run computed reaches Slack and GitHub inert.
/// </summary>
public sealed partial class ApprovalHardeningTests
{
    private const string Hostile = "<!channel> <@U0BOSS> <https://evil.example|click here> <img src=x onerror=alert(1)> <script>alert(2)</script> & @octocat @acme/security-team ``` | x |";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_GitHub_command_decides_only_a_gate_posted_on_that_repository_and_issue()
    {
        await using var server = new ApprovalServerFactory();
        var (runId, gate) = await server.StartGateAsync();
        var before = await server.SnapshotAsync(runId);
        var client = server.Client(null);

        using var otherRepo = ApprovalServerFactory.GitHubComment("carol", $"/approve id={gate.ApprovalId} 1", 3001, repository: "other/repo", issue: 99);
        using var otherIssue = ApprovalServerFactory.GitHubComment("carol", $"/approve id={gate.ApprovalId} 1", 3002, issue: 8);
        using var shortId = ApprovalServerFactory.GitHubComment("carol", $"/approve id={gate.ApprovalId[(gate.ApprovalId.LastIndexOf('.') + 1)..]} 1", 3003, repository: "other/repo", issue: 99);
        using var noId = ApprovalServerFactory.GitHubComment("carol", "/approve 1", 3004, repository: "other/repo", issue: 7);
        var responses = new[] { await client.SendAsync(otherRepo, Ct), await client.SendAsync(otherIssue, Ct), await client.SendAsync(shortId, Ct), await client.SendAsync(noId, Ct) };

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.NotFound, r.StatusCode));
        Assert.Equal(before, await server.SnapshotAsync(runId));
        Assert.Empty((await server.Approvals.FindAsync(gate.ApprovalId, Ct))!.Votes);

        // On its own issue the same command decides.
        using var right = ApprovalServerFactory.GitHubComment("carol", $"/approve id={gate.ApprovalId} 1", 3005);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(right, Ct)).StatusCode);
        Assert.Equal(ApprovalStatus.Approved, (await server.Approvals.FindAsync(gate.ApprovalId, Ct))!.Status);
    }

    [Fact]
    public async Task A_Slack_click_decides_only_a_gate_posted_in_that_channel_and_message()
    {
        await using var server = new ApprovalServerFactory();
        var (runId, gate) = await server.StartGateAsync();
        var before = await server.SnapshotAsync(runId);
        var client = server.Client(null);

        using var otherChannel = server.SlackClick("U0ALICE001", "drw.approve.1", $"{gate.ApprovalId}|1", "t-channel", channel: "C0ELSEWHERE");
        using var otherMessage = server.SlackClick("U0ALICE001", "drw.approve.1", $"{gate.ApprovalId}|1", "t-message", messageTs: "1700000999.000999");
        var channelBody = JsonNode.Parse(await (await client.SendAsync(otherChannel, Ct)).Content.ReadAsStringAsync(Ct))!;
        var messageBody = JsonNode.Parse(await (await client.SendAsync(otherMessage, Ct)).Content.ReadAsStringAsync(Ct))!;
        var noMessage = new JsonObject
        {
            ["type"] = "block_actions",
            ["user"] = new JsonObject { ["id"] = "U0ALICE001" },
            ["trigger_id"] = "t-nowhere",
            ["actions"] = new JsonArray(new JsonObject { ["action_id"] = "drw.approve.1", ["value"] = $"{gate.ApprovalId}|1" }),
        };
        using var nowhere = server.SlackInteraction(noMessage);
        var nowhereResponse = await client.SendAsync(nowhere, Ct);

        Assert.Equal(ApprovalCodes.WrongPlace, channelBody["code"]!.GetValue<string>());
        Assert.Equal(ApprovalCodes.WrongPlace, messageBody["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, nowhereResponse.StatusCode);
        Assert.Equal(before, await server.SnapshotAsync(runId));
        Assert.Empty((await server.Approvals.FindAsync(gate.ApprovalId, Ct))!.Votes);
    }

    [Fact]
    public async Task The_API_refuses_fields_the_gate_does_not_take()
    {
        await using var server = new ApprovalServerFactory();
        var (runId, gate) = await server.StartGateAsync();
        var (plainRun, plain) = await server.StartGateAsync(texts: new ApprovalServerFactory.GateTexts { Options = [] });
        var before = (await server.SnapshotAsync(runId), await server.SnapshotAsync(plainRun));
        var alice = server.Client(ApprovalServerFactory.AliceKey);

        var (valueStatus, value, _) = await alice.PostJsonAsync($"/api/approvals/{gate.ApprovalId}/approve", """{"option":"1","value":{"restorePoint":"2026-11-01T02:00:00Z"}}""");
        var (rejectStatus, reject, _) = await alice.PostJsonAsync($"/api/approvals/{gate.ApprovalId}/reject", """{"option":"1","comment":"no"}""");
        var (plainStatus, plainBody, _) = await alice.PostJsonAsync($"/api/approvals/{plain.ApprovalId}/approve", """{"value":true}""");
        var (channelStatus, channel, _) = await alice.PostJsonAsync($"/api/approvals/{gate.ApprovalId}/approve", """{"option":"1","channel":"slack"}""");
        var (kindStatus, kind, _) = await alice.PostJsonAsync($"/api/approvals/{gate.ApprovalId}/approve", """{"option":1}""");

        Assert.Equal(HttpStatusCode.BadRequest, valueStatus);
        Assert.Equal(ApprovalCodes.FieldNotTaken, value!["code"]!.GetValue<string>());
        Assert.Contains("'value'", value["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, rejectStatus);
        Assert.Equal(ApprovalCodes.FieldNotTaken, reject!["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, plainStatus);
        Assert.Equal(ApprovalCodes.OptionNotOffered, plainBody!["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, channelStatus);
        Assert.Equal("channel", channel!["field"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, kindStatus);
        Assert.Equal("option", kind!["field"]!.GetValue<string>());
        Assert.Equal(before, (await server.SnapshotAsync(runId), await server.SnapshotAsync(plainRun)));
    }

    [Fact]
    public async Task Comments_have_a_limit_and_a_20_MB_comment_is_413_and_leaves_the_store_and_the_list_small()
    {
        await using var server = new ApprovalServerFactory();
        var (runId, gate) = await server.StartGateAsync();
        var before = await server.SnapshotAsync(runId);
        var alice = server.Client(ApprovalServerFactory.AliceKey);

        var (longStatus, tooLong, _) = await alice.PostJsonAsync($"/api/approvals/{gate.ApprovalId}/approve", new JsonObject { ["option"] = "1", ["comment"] = new string('c', ApprovalLimits.Comment + 1) });
        using var huge = new StringContent("{\"option\":\"1\",\"comment\":\"" + new string('c', 20 * 1024 * 1024) + "\"}", Encoding.UTF8, "application/json");
        var hugeResponse = await alice.PostAsync($"/api/approvals/{gate.ApprovalId}/approve", huge, Ct);
        using var longComment = ApprovalServerFactory.GitHubComment("carol", "/approve 1\n" + new string('g', ApprovalLimits.Comment + 1), 4001);
        var github = await server.Client(null).SendAsync(longComment, Ct);
        var list = await server.Client(ApprovalServerFactory.ViewerKey).GetAsync("/api/approvals?status=pending", Ct);

        Assert.Equal(HttpStatusCode.BadRequest, longStatus);
        Assert.Equal(ApprovalCodes.TooLong, tooLong!["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, hugeResponse.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, github.StatusCode);
        Assert.Equal(before, await server.SnapshotAsync(runId));
        Assert.True((await list.Content.ReadAsByteArrayAsync(Ct)).Length < 16 * 1024);
        var dataFiles = Directory.EnumerateFiles(server.DataDirectory, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.True(dataFiles < 8 * 1024 * 1024, $"the data directory holds {dataFiles} bytes");
    }

    public static TheoryData<string, string> MalformedGitHub() => new()
    {
        { """{"action":"created","issue":{"number":"7"},"repository":{"full_name":"acme/platform"},"comment":{"id":1,"body":"/approve 1","user":{"login":"carol","type":"User"}}}""", "issue.number" },
        { """{"action":"created","issue":{"number":7.5},"repository":{"full_name":"acme/platform"},"comment":{"id":2,"body":"/approve 1","user":{"login":"carol","type":"User"}}}""", "issue.number" },
        { """{"action":"created","issue":{"number":1e30},"repository":{"full_name":"acme/platform"},"comment":{"id":3,"body":"/approve 1","user":{"login":"carol","type":"User"}}}""", "issue.number" },
        { """{"action":"created","issue":[],"repository":{"full_name":"acme/platform"},"comment":{"id":4,"body":"/approve 1","user":{"login":"carol","type":"User"}}}""", "issue" },
        { """{"action":"created","issue":{"number":7,"number":8},"repository":{"full_name":"acme/platform"},"comment":{"id":5,"body":"/approve 1","user":{"login":"carol","type":"User"}}}""", "issue.number" },
        { """{"action":"created","issue":{"number":7},"repository":{"full_name":"acme/platform"},"comment":{"id":6,"body":"/approve 1","user":"carol"}}""", "comment.user" },
        { "\"just a string\"", "" },
    };

    [Theory]
    [MemberData(nameof(MalformedGitHub))]
    public async Task A_correctly_signed_malformed_GitHub_webhook_is_400_logged_and_changes_nothing(string payload, string field)
    {
        await using var server = new ApprovalServerFactory();
        var (runId, _) = await server.StartGateAsync();
        var before = await server.SnapshotAsync(runId);

        using var request = ApprovalServerFactory.GitHubEvent(payload);
        var response = await server.Client(null).SendAsync(request, Ct);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("github.bad-payload", body["code"]!.GetValue<string>());
        if (field.Length > 0)
            Assert.Equal(field, body["field"]!.GetValue<string>());
        Assert.Contains(server.Logs.Lines, l => l.Contains("GitHub webhook was malformed", StringComparison.Ordinal));
        Assert.Equal(before, await server.SnapshotAsync(runId));
    }

    [Fact]
    public async Task A_correctly_signed_Slack_click_with_the_user_as_a_string_is_400_logged_and_changes_nothing()
    {
        await using var server = new ApprovalServerFactory();
        var (runId, gate) = await server.StartGateAsync();
        var before = await server.SnapshotAsync(runId);
        var payload = new JsonObject
        {
            ["type"] = "block_actions",
            ["user"] = "U0ALICE001",
            ["trigger_id"] = "t-string-user",
            ["channel"] = new JsonObject { ["id"] = ApprovalServerFactory.Channel },
            ["container"] = new JsonObject { ["channel_id"] = ApprovalServerFactory.Channel, ["message_ts"] = ApprovalServerFactory.MessageTs },
            ["actions"] = new JsonArray(new JsonObject { ["action_id"] = "drw.approve.1", ["value"] = $"{gate.ApprovalId}|1" }),
        };

        using var request = server.SlackInteraction(payload);
        var response = await server.Client(null).SendAsync(request, Ct);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("user", body["field"]!.GetValue<string>());
        Assert.Contains(server.Logs.Lines, l => l.Contains("Slack interaction was malformed", StringComparison.Ordinal));
        Assert.Equal(before, await server.SnapshotAsync(runId));
    }

    [Fact]
    public async Task Hostile_text_in_a_gate_reaches_Slack_inert()
    {
        await using var server = new ApprovalServerFactory();
        var (_, gate) = await server.StartGateAsync(texts: Texts());
        using var click = server.SlackClick("U0ALICE001", "drw.approve.1", $"{gate.ApprovalId}|1", "t-hostile");
        var response = await server.Client(null).SendAsync(click, Ct);
        await server.SweepAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = server.Requests("/api/chat.postMessage").Concat(server.Requests("/api/chat.update")).ToList();
        Assert.True(sent.Count >= 2, $"{sent.Count} Slack messages");
        foreach (var message in sent)
        {
            var texts = new List<string> { message["text"]!.GetValue<string>() };
            // mrkdwn is where Slack reads markup; plain_text (header, buttons, dialogs) shows text as typed.
            texts.AddRange(Mrkdwn(message["blocks"]));
            foreach (var text in texts)
            {
                // Slack reads <...> as a mention, link or date; only our own (<@approver>, <!date^...>) may appear.
                foreach (Match m in SlackControl().Matches(text))
                    Assert.True(m.Value.StartsWith("<!date^", StringComparison.Ordinal) || m.Value == "<@U0ALICE001>", $"'{m.Value}' in Slack text: {text}");
                Assert.DoesNotContain("<!channel>", text, StringComparison.Ordinal);
                Assert.DoesNotContain("<https://evil", text, StringComparison.Ordinal);
            }
        }

        Assert.Contains("&lt;!channel&gt;", sent[0]["text"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hostile_text_in_a_gate_reaches_GitHub_inert_and_only_trusted_Markdown_evidence_is_posted_as_is()
    {
        await using var server = new ApprovalServerFactory();
        var (_, gate) = await server.StartGateAsync(texts: Texts());
        var (_, trusted) = await server.StartGateAsync(texts: new ApprovalServerFactory.GateTexts
        {
            Evidence = JsonValue.Create("**Checked by the DBA team:** <details><summary>log</summary>ok</details>"),
            EvidenceFormat = EvidenceFormats.TrustedMarkdown,
        });
        using var stranger = ApprovalServerFactory.GitHubComment("mallory", $"/approve id={gate.ApprovalId} {Hostile}", 5001);
        await server.Client(null).SendAsync(stranger, Ct);
        using var approve = ApprovalServerFactory.GitHubComment("carol", $"/approve id={gate.ApprovalId} 1\n{Hostile}", 5002);
        await server.Client(null).SendAsync(approve, Ct);
        await server.SweepAsync();

        var comments = server.Requests("/repos/acme/platform/issues/7/comments").Select(c => c["body"]!.GetValue<string>()).ToList();
        Assert.True(comments.Count >= 4, $"{comments.Count} comments");
        var hostileComments = comments.Where(c => c.Contains("onerror", StringComparison.Ordinal)).ToList();
        Assert.True(hostileComments.Count >= 3, string.Join("\n----\n", comments));
        foreach (var comment in hostileComments)
        {
            var prose = Fences().Replace(comment, string.Empty);
            Assert.DoesNotContain("<img", prose, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("<script", prose, StringComparison.OrdinalIgnoreCase);
            // Mentions: only the commenter the server answers, and the GitHub approver it names.
            foreach (Match m in GitHubMention().Matches(prose))
                Assert.True(m.Groups[1].Value is "mallory" or "carol", $"'{m.Value}' mentions someone: {comment}");
        }

        // Facts are in a fence the text cannot close: once fences are taken out, no fact is left in the prose.
        var request = comments.First(c => c.StartsWith("### Approval needed", StringComparison.Ordinal) && c.Contains("onerror", StringComparison.Ordinal));
        Assert.Matches("(?m)^```+json$", request);
        Assert.DoesNotContain("\"note\"", Fences().Replace(request, string.Empty), StringComparison.Ordinal);
        var trustedRequest = comments.First(c => c.Contains(trusted.ApprovalId, StringComparison.Ordinal) && c.StartsWith("### Approval needed", StringComparison.Ordinal));
        Assert.Contains("<details><summary>log</summary>ok</details>", trustedRequest, StringComparison.Ordinal);
    }

    private static ApprovalServerFactory.GateTexts Texts() => new()
    {
        Title = "Restore " + Hostile,
        Question = "Which point? " + Hostile,
        Evidence = new JsonObject { ["text"] = "Evidence: " + Hostile, ["facts"] = new JsonObject { ["note"] = Hostile, [Hostile[..20]] = "key" } },
        Options = ["point " + Hostile, "the other point"],
    };

    private static IEnumerable<string> Mrkdwn(JsonNode? node) => node switch
    {
        JsonObject o when o["type"]?.GetValue<string>() == "mrkdwn" => [o["text"]!.GetValue<string>()],
        JsonObject o => o.SelectMany(p => Mrkdwn(p.Value)),
        JsonArray a => a.SelectMany(Mrkdwn),
        _ => [],
    };

    [GeneratedRegex("<[^<>]*>")]
    private static partial Regex SlackControl();

    /// <summary>Fenced code blocks (what is inside is shown as code: no HTML, no mentions).</summary>
    [GeneratedRegex("^(`{3,})[^\\n]*\\n.*?^\\1[ \\t]*$", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex Fences();

    [GeneratedRegex("(?<![\\w`])@([A-Za-z0-9][A-Za-z0-9-]*)")]
    private static partial Regex GitHubMention();
}
