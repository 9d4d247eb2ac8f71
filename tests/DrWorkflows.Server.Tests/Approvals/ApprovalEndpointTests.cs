using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DrWorkflows.Activities.Approvals;
using DrWorkflows.Core.Execution;
using Microsoft.AspNetCore.Mvc.Testing;

namespace DrWorkflows.Server.Tests.Approvals;

public sealed partial class ApprovalEndpointTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_API_lists_gates_for_viewers_and_records_an_approval_by_an_approver_key()
    {
        await using var server = new ApprovalServerFactory();
        var (runId, gate) = await server.StartGateAsync();

        var (listStatus, list, _) = await server.Client(ApprovalServerFactory.ViewerKey).GetJsonAsync("/api/approvals?status=pending");
        var (viewerStatus, _, _) = await server.Client(ApprovalServerFactory.ViewerKey).PostJsonAsync($"/api/approvals/{gate.ApprovalId}/approve", """{"option":"dr-1"}""");
        var (operatorStatus, _, _) = await server.Client(ApprovalServerFactory.OperatorKey).PostJsonAsync($"/api/approvals/{gate.ApprovalId}/approve", """{"option":"dr-1"}""");
        var (anonymousStatus, _, _) = await server.Client(null).PostJsonAsync($"/api/approvals/{gate.ApprovalId}/approve", """{"option":"dr-1"}""");
        var (status, body, _) = await server.Client(ApprovalServerFactory.AliceKey).PostJsonAsync($"/api/approvals/{gate.ApprovalId}/approve", new JsonObject { ["option"] = "dr-2", ["comment"] = "dr-2 is warmer", ["evidenceSha256"] = gate.EvidenceSha256 });
        await server.SweepAsync();

        Assert.Equal(HttpStatusCode.OK, listStatus);
        Assert.Equal(gate.ApprovalId, list!["items"]![0]!["approvalId"]!.ToString());
        Assert.Equal("Primary down for 12 minutes.", list["items"]![0]!["evidenceText"]!.ToString());
        Assert.Equal(HttpStatusCode.Forbidden, viewerStatus);
        Assert.Equal(HttpStatusCode.Forbidden, operatorStatus);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymousStatus);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("decided", body!["result"]!.ToString());
        var journal = await server.JournalAsync(runId);
        var resumed = Assert.Single(journal, e => e.EventName == JournalEvents.Resumed && e.Payload?["bookmark"]?.ToString() == ApprovalGate.BookmarkName);
        Assert.Equal("alice (api)", resumed.Actor);
        Assert.Equal("dr-2 is warmer", resumed.Payload!["payload"]!["decision"]!["comment"]!.ToString());
        Assert.Equal(gate.EvidenceSha256, resumed.Payload["payload"]!["decision"]!["evidenceSha256"]!.ToString());
        Assert.Contains(journal, e => e.ActivityId == "approved" && e.EventName == JournalEvents.Completed);
        var (_, decided, _) = await server.Client(ApprovalServerFactory.ViewerKey).GetJsonAsync("/api/approvals?status=decided");
        Assert.Equal("Approved", decided!["items"]![0]!["status"]!.ToString());
        Assert.Equal("dr-2", decided["items"]![0]!["decidedOption"]!.ToString());
    }

    [Fact]
    public async Task API_refusals_are_clear_and_change_nothing()
    {
        await using var server = new ApprovalServerFactory();
        var (runId, gate) = await server.StartGateAsync(startedBy: "starter (api)");
        var before = await server.SnapshotAsync(runId);
        var alice = server.Client(ApprovalServerFactory.AliceKey);
        var admin = server.Client(ApprovalServerFactory.AdminKey);

        var (selfStatus, self, _) = await server.Client(ApprovalServerFactory.StarterKey).PostJsonAsync($"/api/approvals/{gate.ApprovalId}/approve", """{"option":"dr-1"}""");
        var (notOfferedStatus, notOffered, _) = await alice.PostJsonAsync($"/api/approvals/{gate.ApprovalId}/approve", """{"option":"dr-9"}""");
        var (staleStatus, stale, _) = await alice.PostJsonAsync($"/api/approvals/{gate.ApprovalId}/approve", """{"option":"dr-1","evidenceSha256":"0000"}""");
        var (notApproverStatus, notApprover, _) = await admin.PostJsonAsync($"/api/approvals/{gate.ApprovalId}/approve", """{"option":"dr-1"}""");
        var (unknownStatus, _, _) = await alice.PostJsonAsync($"/api/approvals/{runId}.nothing/approve", """{"option":"dr-1"}""");
        var (badJsonStatus, _, _) = await alice.PostJsonAsync($"/api/approvals/{gate.ApprovalId}/approve", "{not json");

        Assert.Equal(HttpStatusCode.Forbidden, selfStatus);
        Assert.Equal(ApprovalCodes.SelfApproval, self!["code"]!.ToString());
        Assert.Equal(HttpStatusCode.BadRequest, notOfferedStatus);
        Assert.Equal(ApprovalCodes.OptionNotOffered, notOffered!["code"]!.ToString());
        Assert.Contains("1. dr-1, 2. dr-2", notOffered["detail"]!.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Conflict, staleStatus);
        Assert.Equal(ApprovalCodes.EvidenceChanged, stale!["code"]!.ToString());
        Assert.Equal(HttpStatusCode.Forbidden, notApproverStatus);
        Assert.Equal(ApprovalCodes.NotApprover, notApprover!["code"]!.ToString());
        Assert.Equal(HttpStatusCode.NotFound, unknownStatus);
        Assert.Equal(HttpStatusCode.BadRequest, badJsonStatus);
        Assert.Equal(before, await server.SnapshotAsync(runId));

        var (rejectStatus, _, _) = await alice.PostJsonAsync($"/api/approvals/{gate.ApprovalId}/reject", """{"comment":"wrong region","channel":"cli"}""");
        Assert.Equal(HttpStatusCode.OK, rejectStatus);
        Assert.Equal("cli", Assert.Single((await server.Approvals.FindAsync(gate.ApprovalId, Ct))!.Votes).Channel);
        var (lateStatus, late, _) = await server.Client(ApprovalServerFactory.StarterKey).PostJsonAsync($"/api/approvals/{gate.ApprovalId}/reject", "{}");
        Assert.Equal(HttpStatusCode.Conflict, lateStatus);
        Assert.Equal(ApprovalCodes.Decided, late!["code"]!.ToString());
    }

    [Fact]
    public async Task Decisions_cannot_be_edited_or_deleted_through_the_API()
    {
        await using var server = new ApprovalServerFactory();
        var (_, gate) = await server.StartGateAsync();
        var admin = server.Client(ApprovalServerFactory.AdminKey);

        var put = await admin.SendAsync(HttpMethod.Put, $"/api/approvals/{gate.ApprovalId}", """{"status":"Approved"}""");
        var delete = await admin.SendAsync(HttpMethod.Delete, $"/api/approvals/{gate.ApprovalId}");
        var patch = await admin.SendAsync(HttpMethod.Patch, $"/api/approvals/{gate.ApprovalId}", "{}");

        Assert.All([put.Status, delete.Status, patch.Status], s => Assert.True(s is HttpStatusCode.MethodNotAllowed or HttpStatusCode.NotFound, s.ToString()));
        Assert.Equal(ApprovalStatus.Pending, (await server.Approvals.FindAsync(gate.ApprovalId, Ct))!.Status);
    }

    [Fact]
    public async Task A_signed_Slack_click_by_an_approver_decides_and_the_message_shows_who_decided()
    {
        await using var server = new ApprovalServerFactory();
        var (runId, gate) = await server.StartGateAsync();
        var client = server.Client(null);

        using var click = server.SlackClick("U0ALICE001", "drw.approve.1", $"{gate.ApprovalId}|1", "trigger-1");
        var response = await client.SendAsync(click, Ct);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!;
        await server.SweepAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("decided", body["result"]!.ToString());
        var record = await server.Approvals.FindAsync(gate.ApprovalId, Ct);
        Assert.Equal(ApprovalStatus.Approved, record!.Status);
        Assert.Equal("dr-1", record.DecidedOption);
        var update = server.Requests("/api/chat.update").Last();
        Assert.Contains("Approved", update["blocks"]!.ToJsonString(), StringComparison.Ordinal);
        Assert.Contains("u0alice001 (U0ALICE001)", update["blocks"]!.ToJsonString(), StringComparison.Ordinal);
        Assert.Contains(server.Requests("/slack-response/"), r => r["text"]!.ToString().Contains("decided the gate", StringComparison.Ordinal));
        var resumed = Assert.Single(await server.JournalAsync(runId), e => e.EventName == JournalEvents.Resumed && e.Payload?["bookmark"]?.ToString() == ApprovalGate.BookmarkName);
        Assert.Equal("u0alice001 (U0ALICE001) (slack)", resumed.Actor);
        Assert.Equal("slack", resumed.Payload!["payload"]!["decision"]!["channel"]!.ToString());
    }

    [Fact]
    public async Task A_Slack_click_that_takes_longer_than_the_answer_budget_is_answered_at_once_and_finished_in_the_background()
    {
        await using var server = new ApprovalServerFactory(slackAnswerBudget: TimeSpan.FromTicks(1));
        var (_, gate) = await server.StartGateAsync();

        using var click = server.SlackClick("U0ALICE001", "drw.approve.1", $"{gate.ApprovalId}|1", "trigger-slow");
        var started = TimeProvider.System.GetTimestamp();
        var response = await server.Client(null).SendAsync(click, Ct);
        var elapsed = TimeProvider.System.GetElapsedTime(started);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(body["pending"]?.GetValue<bool>() == true || body["result"]?.ToString() == "decided", body.ToJsonString());
        // Not a speed test: the answer must not wait for the decision's own work (a loaded 2-core machine takes seconds).
        Assert.True(elapsed < TimeSpan.FromSeconds(30), $"answered after {elapsed}");
        for (var i = 0; i < 600 && server.Requests("/slack-response/").Count == 0; i++)
            await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System, Ct);
        Assert.Contains(server.Requests("/slack-response/"), r => r["text"]!.ToString().Contains("decided the gate", StringComparison.Ordinal));
        Assert.Equal(ApprovalStatus.Approved, (await server.Approvals.FindAsync(gate.ApprovalId, Ct))!.Status);
    }

    [Fact]
    public async Task Slack_requests_with_a_bad_or_missing_signature_or_a_stale_timestamp_are_refused_and_change_nothing()
    {
        await using var server = new ApprovalServerFactory();
        var (runId, gate) = await server.StartGateAsync();
        var before = await server.SnapshotAsync(runId);
        var client = server.Client(null);

        using var badSecret = server.SlackClick("U0ALICE001", "drw.approve.1", $"{gate.ApprovalId}|1", "t-bad", secret: "guessed-secret");
        using var unsigned = server.SlackClick("U0ALICE001", "drw.approve.1", $"{gate.ApprovalId}|1", "t-unsigned", secret: null);
        using var stale = server.SlackClick("U0ALICE001", "drw.approve.1", $"{gate.ApprovalId}|1", "t-stale", age: TimeSpan.FromMinutes(6));
        var responses = new[] { await client.SendAsync(badSecret, Ct), await client.SendAsync(unsigned, Ct), await client.SendAsync(stale, Ct) };

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode));
        Assert.Contains("replay", await responses[2].Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(before, await server.SnapshotAsync(runId));
    }

    [Fact]
    public async Task Slack_retries_are_idempotent_and_a_replayed_payload_is_refused()
    {
        await using var server = new ApprovalServerFactory();
        var (runId, gate) = await server.StartGateAsync(required: 2);
        var client = server.Client(null);

        using var first = server.SlackClick("U0ALICE001", "drw.approve.2", $"{gate.ApprovalId}|2", "trigger-7");
        var firstResponse = await client.SendAsync(first, Ct);
        await server.SweepAsync();
        var afterFirst = await server.SnapshotAsync(runId);
        using var retry = server.SlackClick("U0ALICE001", "drw.approve.2", $"{gate.ApprovalId}|2", "trigger-7", retryNum: "1");
        var retryResponse = await client.SendAsync(retry, Ct);
        using var replay = server.SlackClick("U0ALICE001", "drw.approve.2", $"{gate.ApprovalId}|2", "trigger-7");
        var replayResponse = await client.SendAsync(replay, Ct);

        Assert.Equal(HttpStatusCode.OK, firstResponse.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retryResponse.StatusCode);
        Assert.Contains("\"duplicate\":true", await retryResponse.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Conflict, replayResponse.StatusCode);
        Assert.Equal(afterFirst, await server.SnapshotAsync(runId));
        Assert.Single((await server.Approvals.FindAsync(gate.ApprovalId, Ct))!.Votes);
    }

    [Fact]
    public async Task A_Slack_click_by_someone_who_is_not_an_approver_is_refused_with_a_note_to_them()
    {
        await using var server = new ApprovalServerFactory();
        var (runId, gate) = await server.StartGateAsync();
        var before = await server.SnapshotAsync(runId);

        using var click = server.SlackClick("U0EVE00001", "drw.approve.1", $"{gate.ApprovalId}|1", "trigger-eve");
        var response = await server.Client(null).SendAsync(click, Ct);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(body["ok"]!.GetValue<bool>());
        Assert.Equal(ApprovalCodes.NotApprover, body["code"]!.ToString());
        Assert.Contains(server.Requests("/slack-response/"), r => r["response_type"]!.ToString() == "ephemeral" && r["text"]!.ToString().Contains("not an approver", StringComparison.Ordinal));
        Assert.Equal(before, await server.SnapshotAsync(runId));
    }

    [Fact]
    public async Task A_GitHub_approve_comment_by_an_authorised_user_decides_the_gate_on_the_incident_issue()
    {
        await using var server = new ApprovalServerFactory();
        var (runId, gate) = await server.StartGateAsync();
        var client = server.Client(null);

        using var comment = ApprovalServerFactory.GitHubComment("carol", "/approve 2\nreplication lag is 4s, fine", 1001);
        var response = await client.SendAsync(comment, Ct);
        await server.SweepAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var record = await server.Approvals.FindAsync(gate.ApprovalId, Ct);
        Assert.Equal(ApprovalStatus.Approved, record!.Status);
        Assert.Equal("dr-2", record.DecidedOption);
        Assert.Equal("replication lag is 4s, fine", record.Votes[0].Comment);
        Assert.Equal("github", record.Votes[0].Channel);
        Assert.Contains(server.Requests("/repos/acme/platform/issues/7/comments"), c => c["body"]!.ToString().Contains("**Approved** option **dr-2** by @carol", StringComparison.Ordinal));
        Assert.Contains(await server.JournalAsync(runId), e => e.Actor == "@carol (github)");
    }

    [Fact]
    public async Task GitHub_refusals_bad_signature_stranger_bot_and_replayed_delivery_change_nothing()
    {
        await using var server = new ApprovalServerFactory();
        var (runId, gate) = await server.StartGateAsync();
        var before = await server.SnapshotAsync(runId);
        var client = server.Client(null);

        using var forged = ApprovalServerFactory.GitHubComment("carol", "/approve 1", 2001, secret: "guessed");
        using var unsigned = ApprovalServerFactory.GitHubComment("carol", "/approve 1", 2002, secret: null);
        using var stranger = ApprovalServerFactory.GitHubComment("mallory", "/approve 1", 2003);
        using var bot = ApprovalServerFactory.GitHubComment("carol", "/approve 1", 2004, type: "Bot");
        using var edited = ApprovalServerFactory.GitHubComment("carol", "/approve 1", 2005, action: "edited");
        var forgedResponse = await client.SendAsync(forged, Ct);
        var unsignedResponse = await client.SendAsync(unsigned, Ct);
        var strangerResponse = await client.SendAsync(stranger, Ct);
        var strangerBody = JsonNode.Parse(await strangerResponse.Content.ReadAsStringAsync(Ct))!;
        var botResponse = await client.SendAsync(bot, Ct);
        var editedResponse = await client.SendAsync(edited, Ct);
        using var again = ApprovalServerFactory.GitHubComment("mallory", "/approve 1", 2003);
        var againResponse = await client.SendAsync(again, Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, forgedResponse.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, unsignedResponse.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, strangerResponse.StatusCode);
        Assert.Equal(ApprovalCodes.NotApprover, strangerBody["code"]!.ToString());
        Assert.Contains(server.Requests("/repos/acme/platform/issues/7/comments"), c => c["body"]!.ToString().StartsWith("@mallory not recorded", StringComparison.Ordinal));
        Assert.Contains("bots", await botResponse.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Contains("edits", await editedResponse.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Conflict, againResponse.StatusCode);
        Assert.Equal(before, await server.SnapshotAsync(runId));
        Assert.Empty((await server.Approvals.FindAsync(gate.ApprovalId, Ct))!.Votes);
    }

    [Fact]
    public async Task The_approvals_page_needs_the_Studio_sign_in_and_shows_the_evidence_and_a_decision_form()
    {
        await using var server = new ApprovalServerFactory();
        var (_, gate) = await server.StartGateAsync();
        using var anonymousBrowser = server.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        var anonymous = await anonymousBrowser.GetAsync("/studio/approvals", Ct);

        using var browser = await SignedInBrowserAsync(server);
        var page = await browser.GetAsync("/studio/approvals", Ct);
        var html = await page.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.Redirect, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("Approve the DNS cutover", html, StringComparison.Ordinal);
        Assert.Contains("Primary down for 12 minutes.", html, StringComparison.Ordinal);
        Assert.Contains("replicationLag", html, StringComparison.Ordinal);
        Assert.Contains(gate.EvidenceSha256, html, StringComparison.Ordinal);

        using var decide = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__antiforgery"] = WebUtility.HtmlDecode(TokenPattern().Match(html).Groups[1].Value),
            ["evidenceSha256"] = gate.EvidenceSha256,
            ["option"] = "1",
            ["comment"] = "from the page",
            ["vote"] = "approve",
        });
        var decided = await browser.PostAsync($"/studio/approvals/{gate.ApprovalId}/decide", decide, Ct);

        Assert.Equal(HttpStatusCode.OK, decided.StatusCode);
        var vote = Assert.Single((await server.Approvals.FindAsync(gate.ApprovalId, Ct))!.Votes);
        Assert.Equal("web", vote.Channel);
        Assert.Equal("alice", vote.By);
    }

    [Fact]
    public async Task An_option_that_needs_a_typed_confirmation_is_refused_without_it_from_every_channel()
    {
        await using var server = new ApprovalServerFactory();
        var (runId, gate) = await server.StartGateAsync(confirm: true);
        var before = await server.SnapshotAsync(runId);
        var client = server.Client(null);

        // API (and the CLI's own route).
        var (apiStatus, api, _) = await server.Client(ApprovalServerFactory.AliceKey).PostJsonAsync($"/api/approvals/{gate.ApprovalId}/approve", """{"option":"dr-2"}""");
        // Slack: the message has no button for dr-2, but a click on it (an old message, a forged payload) carries no phrase.
        using var click = server.SlackClick("U0ALICE001", "drw.approve.2", $"{gate.ApprovalId}|2", "trigger-confirm");
        var slack = JsonNode.Parse(await (await client.SendAsync(click, Ct)).Content.ReadAsStringAsync(Ct))!;
        // GitHub: /approve 2 without a confirm: line, and with a wrong phrase.
        using var comment = ApprovalServerFactory.GitHubComment("carol", "/approve 2\nlooks fine", 3001);
        var github = await client.SendAsync(comment, Ct);
        using var wrong = ApprovalServerFactory.GitHubComment("carol", "/approve 2\nconfirm: cut over", 3002);
        var githubWrong = JsonNode.Parse(await (await client.SendAsync(wrong, Ct)).Content.ReadAsStringAsync(Ct))!;
        // The CLI without --confirm.
        var (cliExit, _, cliError) = await DrwAsync(server, "approvals", "approve", gate.ApprovalId, "--option", "2", "--api-key", ApprovalServerFactory.AliceKey);
        // The web page without the confirmation field.
        var (pageStatus, pageHtml) = await DecideOnPageAsync(server, gate, new Dictionary<string, string> { ["option"] = "2" });

        Assert.Equal(HttpStatusCode.BadRequest, apiStatus);
        Assert.Equal(ApprovalCodes.ConfirmationRequired, api!["code"]!.ToString());
        Assert.Contains(ApprovalServerFactory.Dr2Phrase, api["detail"]!.ToString(), StringComparison.Ordinal);
        Assert.Equal(ApprovalCodes.ConfirmationRequired, slack["code"]!.ToString());
        Assert.Contains(server.Requests("/slack-response/"), r => r["text"]!.ToString().Contains("needs a typed confirmation", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.BadRequest, github.StatusCode);
        Assert.Equal(ApprovalCodes.ConfirmationRequired, githubWrong["code"]!.ToString());
        Assert.Contains(server.Requests("/repos/acme/platform/issues/7/comments"), c => c["body"]!.ToString().StartsWith("@carol not recorded: 'dr-2' needs a typed confirmation", StringComparison.Ordinal));
        Assert.NotEqual(0, cliExit);
        Assert.Contains("needs a typed confirmation", cliError, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, pageStatus);
        Assert.Contains("Not recorded: &#39;dr-2&#39; needs a typed confirmation", pageHtml, StringComparison.Ordinal);
        Assert.Equal(before, await server.SnapshotAsync(runId));

        // The page shows the phrase next to the option and a field to type it; the Slack message has no button for it.
        Assert.Contains($"needs a typed confirmation: <code>{ApprovalServerFactory.Dr2Phrase}</code>", pageHtml, StringComparison.Ordinal);
        Assert.Contains("name=\"confirmation\"", pageHtml, StringComparison.Ordinal);
        var buttons = server.Requests("/api/chat.postMessage")[0]["blocks"]!.AsArray().Single(b => b!["type"]!.ToString() == "actions")!["elements"]!.AsArray();
        Assert.DoesNotContain(buttons, b => b!["action_id"]!.ToString() == "drw.approve.2");
    }

    [Fact]
    public async Task The_CLI_the_page_and_GitHub_carry_the_typed_confirmation()
    {
        await using var server = new ApprovalServerFactory();

        var (_, viaCli) = await server.StartGateAsync(confirm: true);
        var (cliExit, cliOut, cliError) = await DrwAsync(server, "approvals", "approve", viaCli.ApprovalId, "--option", "2", "--confirm", ApprovalServerFactory.Dr2Phrase, "--api-key", ApprovalServerFactory.AliceKey);
        await server.SweepAsync();
        Assert.True(cliExit == 0, cliError);
        Assert.Contains("Approved", cliOut, StringComparison.Ordinal);
        var cliVote = Assert.Single((await server.Approvals.FindAsync(viaCli.ApprovalId, Ct))!.Votes);
        Assert.Equal(("cli", "dr-2", ApprovalServerFactory.Dr2Phrase), (cliVote.Channel, cliVote.Option, cliVote.Confirmation));

        var (_, viaPage) = await server.StartGateAsync(confirm: true);
        var (pageStatus, _) = await DecideOnPageAsync(server, viaPage, new Dictionary<string, string> { ["option"] = "2", ["confirmation"] = ApprovalServerFactory.Dr2Phrase.ToUpperInvariant() });
        await server.SweepAsync();
        Assert.Equal(HttpStatusCode.OK, pageStatus);
        var pageVote = Assert.Single((await server.Approvals.FindAsync(viaPage.ApprovalId, Ct))!.Votes);
        Assert.Equal(("web", "dr-2"), (pageVote.Channel, pageVote.Option));

        var (_, viaGitHub) = await server.StartGateAsync(confirm: true);
        using var comment = ApprovalServerFactory.GitHubComment("carol", $"/approve 2\nconfirm: {ApprovalServerFactory.Dr2Phrase}\nreplication lag is fine", 3101);
        var github = await server.Client(null).SendAsync(comment, Ct);
        await server.SweepAsync();
        Assert.Equal(HttpStatusCode.OK, github.StatusCode);
        var githubVote = Assert.Single((await server.Approvals.FindAsync(viaGitHub.ApprovalId, Ct))!.Votes);
        Assert.Equal(("github", "dr-2", ApprovalServerFactory.Dr2Phrase, "replication lag is fine"), (githubVote.Channel, githubVote.Option, githubVote.Confirmation, githubVote.Comment));
    }

    private static async Task<(int Exit, string Out, string Err)> DrwAsync(ApprovalServerFactory server, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await DrWorkflows.Cli.CliApp.RunAsync(args, output, error, (_, key) => server.Client(key), Ct);
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>A browser (cookies, no redirects) signed in to the Studio with alice's key.</summary>
    private static async Task<HttpClient> SignedInBrowserAsync(ApprovalServerFactory server)
    {
        var browser = server.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        var signInHtml = await (await browser.GetAsync("/studio/signin", Ct)).Content.ReadAsStringAsync(Ct);
        using var signIn = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__antiforgery"] = WebUtility.HtmlDecode(TokenPattern().Match(signInHtml).Groups[1].Value),
            ["apiKey"] = ApprovalServerFactory.AliceKey,
            ["returnUrl"] = "/studio/approvals",
        });
        await browser.PostAsync("/studio/signin", signIn, Ct);
        return browser;
    }

    /// <summary>Signs in to the Studio as alice and posts the approvals page's decision form (approve) with <paramref name="fields"/>.</summary>
    private static async Task<(HttpStatusCode Status, string Html)> DecideOnPageAsync(ApprovalServerFactory server, ApprovalRecord gate, Dictionary<string, string> fields)
    {
        using var browser = await SignedInBrowserAsync(server);
        var html = await (await browser.GetAsync($"/studio/approvals/{gate.ApprovalId}", Ct)).Content.ReadAsStringAsync(Ct);
        var form = new Dictionary<string, string>(fields)
        {
            ["__antiforgery"] = WebUtility.HtmlDecode(TokenPattern().Match(html).Groups[1].Value),
            ["evidenceSha256"] = gate.EvidenceSha256,
            ["vote"] = "approve",
        };
        using var content = new FormUrlEncodedContent(form);
        var response = await browser.PostAsync($"/studio/approvals/{gate.ApprovalId}/decide", content, Ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(Ct));
    }

    [GeneratedRegex("name=\"__antiforgery\" value=\"([^\"]+)\"")]
    private static partial Regex TokenPattern();
}
