using System.Text.Json.Nodes;
using DrWorkflows.Activities.Approvals;
using DrWorkflows.Activities.Notifications;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.Tests.Approvals;

public sealed class ApprovalGateTests
{
    private static readonly ApprovalIdentity Alice = ApprovalIdentity.Slack("U0ALICE001", "alice");
    private static readonly ApprovalIdentity Bob = ApprovalIdentity.Slack("U0BOB00001", "bob");
    private static readonly ApprovalIdentity Carol = ApprovalIdentity.GitHub("carol");
    private static readonly ApprovalIdentity Mallory = ApprovalIdentity.Slack("U0MALLORY1", "mallory");

    private static readonly JsonObject RestorePoints = new()
    {
        ["text"] = "Ransomware detected at 02:10 UTC. Pick the newest restore point from before the first indicator of compromise.",
        ["facts"] = new JsonArray(
            new JsonObject { ["label"] = "2026-11-01T01:00Z", ["age"] = "2h", ["verified"] = true },
            new JsonObject { ["label"] = "2026-10-31T19:00Z", ["age"] = "8h", ["verified"] = true }),
    };

    private static Dictionary<string, object?> RestoreGate(int required = 1, bool forbidSelf = true) => new()
    {
        ["title"] = "Confirm the restore point",
        ["question"] = "Which restore point is clean?",
        ["evidence"] = RestorePoints,
        ["options"] = new[] { "2026-11-01T01:00Z", "2026-10-31T19:00Z" },
        ["approvers"] = new[] { "slack:U0ALICE001", "slack:U0BOB00001", "github:carol", "user:starter" },
        ["requiredApprovals"] = required,
        ["forbidSelfApproval"] = forbidSelf,
        ["gitHubIssue"] = ApprovalTestHost.Issue,
    };

    [Fact]
    public async Task An_approval_from_Slack_takes_the_Approved_port_and_is_journaled_with_who_channel_option_and_evidence_hash()
    {
        await using var t = ApprovalTestHost.Create();
        var run = await t.StartAsync(RestoreGate());
        var pending = await t.PendingAsync(run.Id);

        var post = Assert.Single(t.Requests("/api/chat.postMessage"));
        Assert.Equal(ApprovalTestHost.Channel, post["channel"]!.ToString());
        var buttons = post["blocks"]!.AsArray().Single(b => b!["type"]!.ToString() == "actions")!["elements"]!.AsArray();
        Assert.Equal(["drw.approve.1", "drw.approve.2", "drw.reject"], buttons.Select(b => b!["action_id"]!.ToString()));
        Assert.Equal($"{pending.ApprovalId}|2", buttons[1]!["value"]!.ToString());
        var issueComment = Assert.Single(t.Requests("/repos/acme/platform/issues/7/comments"));
        Assert.Contains("/approve", issueComment["body"]!.ToString(), StringComparison.Ordinal);

        var result = await t.DecideAsync(pending.ApprovalId, Alice, "approve", option: "2", comment: "19:00 is before the first IoC");
        await t.Host.DrainAsync(TestContext.Current.CancellationToken);

        Assert.Equal(ApprovalResultKind.Decided, result.Kind);
        var state = await t.Host.GetAsync(run.Id);
        Assert.Equal(WorkflowSubStatus.Finished, state!.SubStatus);
        Assert.Equal(["approved"], t.Host.Output.Lines);
        var decision = state.ActivityOutputs["gate"]["Decision"]!;
        Assert.Equal("2026-10-31T19:00Z", decision["option"]!.ToString());
        Assert.Equal("alice (U0ALICE001)", decision["approvers"]![0]!.ToString());

        var expectedHash = EvidenceHash.Compute(EvidenceHash.Snapshot("Confirm the restore point", "Which restore point is clean?", RestorePoints["text"]!.ToString(), RestorePoints["facts"], ["2026-11-01T01:00Z", "2026-10-31T19:00Z"], null));
        Assert.Equal(expectedHash, pending.EvidenceSha256);
        var journal = await t.Host.JournalAsync(run.Id);
        var resumed = Assert.Single(journal, e => e.EventName == JournalEvents.Resumed && e.Payload?["bookmark"]?.ToString() == ApprovalGate.BookmarkName);
        Assert.Equal("alice (U0ALICE001) (slack)", resumed.Actor);
        var recorded = resumed.Payload!["payload"]!["decision"]!;
        Assert.Equal("alice (U0ALICE001)", recorded["by"]!.ToString());
        Assert.Equal("slack", recorded["channel"]!.ToString());
        Assert.Equal("19:00 is before the first IoC", recorded["comment"]!.ToString());
        Assert.Equal("2", recorded["option"]!.ToString());
        Assert.Equal(expectedHash, recorded["evidenceSha256"]!.ToString());
        var completed = Assert.Single(journal, e => e.EventName == JournalEvents.Completed && e.ActivityId == "gate");
        Assert.Equal([ApprovalOutcomes.Approved], completed.Outcomes);
        Assert.Equal("2026-10-31T19:00Z", completed.Payload!["data"]!["decision"]!["votes"]![0]!["option"]!.ToString());
        Assert.Equal(expectedHash, EvidenceHash.Compute(completed.Payload["data"]!["evidence"]!));

        var update = t.Requests("/api/chat.update").Last();
        Assert.Equal(post["channel"]!.ToString(), update["channel"]!.ToString());
        Assert.Contains("Approved", update["blocks"]!.ToJsonString(), StringComparison.Ordinal);
        Assert.Contains("alice", update["blocks"]!.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain(update["blocks"]!.AsArray(), b => b!["type"]!.ToString() == "actions");
        Assert.Contains(t.Requests("/repos/acme/platform/issues/7/comments"), c => c["body"]!.ToString().Contains("**Approved**", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Refusals_change_nothing_not_an_approver_option_not_offered_missing_option_bad_vote()
    {
        await using var t = ApprovalTestHost.Create();
        var run = await t.StartAsync(RestoreGate());
        var id = (await t.PendingAsync(run.Id)).ApprovalId;
        var before = await t.SnapshotAsync(run.Id);

        var stranger = await t.DecideAsync(id, Mallory, "approve", option: "1");
        var notOffered = await t.DecideAsync(id, Alice, "approve", option: "2026-01-01T00:00Z");
        var outOfRange = await t.DecideAsync(id, Alice, "approve", option: "3");
        var missing = await t.DecideAsync(id, Alice, "approve");
        var badVote = await t.DecideAsync(id, Alice, "maybe", option: "1");
        var unknown = await t.DecideAsync(run.Id + ".nosuchgate", Alice, "approve", option: "1");

        Assert.Equal(ApprovalCodes.NotApprover, stranger.Refusal!.Code);
        Assert.Equal(ApprovalCodes.OptionNotOffered, notOffered.Refusal!.Code);
        Assert.Equal(ApprovalCodes.OptionNotOffered, outOfRange.Refusal!.Code);
        Assert.Equal(ApprovalCodes.OptionRequired, missing.Refusal!.Code);
        Assert.Equal(ApprovalCodes.BadVote, badVote.Refusal!.Code);
        Assert.Equal(ApprovalCodes.NotFound, unknown.Refusal!.Code);
        Assert.Contains("1. 2026-11-01T01:00Z", notOffered.Refusal.Message, StringComparison.Ordinal);
        Assert.Equal(before, await t.SnapshotAsync(run.Id));
    }

    [Fact]
    public async Task The_runs_starter_cannot_approve_but_another_approver_can()
    {
        await using var t = ApprovalTestHost.Create(o => o.People.Add(new ApprovalPerson { Name = "Sam", SlackUserId = "U0SAM00001", UserNames = ["starter"] }));
        var run = await t.StartAsync(RestoreGate(), startedBy: "starter (api)");
        var id = (await t.PendingAsync(run.Id)).ApprovalId;
        var before = await t.SnapshotAsync(run.Id);

        var viaApi = await t.DecideAsync(id, ApprovalIdentity.User(ApprovalChannels.Api, "starter", ["approver"]), "approve", option: "1");
        var viaLinkedSlack = await t.DecideAsync(id, ApprovalIdentity.Slack("U0SAM00001", "sam"), "approve", option: "1");

        Assert.Equal(ApprovalCodes.SelfApproval, viaApi.Refusal!.Code);
        Assert.Equal(ApprovalCodes.SelfApproval, viaLinkedSlack.Refusal!.Code);
        Assert.Equal(before, await t.SnapshotAsync(run.Id));
        Assert.Equal(ApprovalResultKind.Decided, (await t.DecideAsync(id, Bob, "approve", option: "1")).Kind);
    }

    [Fact]
    public async Task Self_approval_is_allowed_when_the_gate_allows_it()
    {
        await using var t = ApprovalTestHost.Create();
        var run = await t.StartAsync(RestoreGate(forbidSelf: false), startedBy: "starter (api)");
        var id = (await t.PendingAsync(run.Id)).ApprovalId;

        var result = await t.DecideAsync(id, ApprovalIdentity.User(ApprovalChannels.Api, "starter", ["approver"]), "approve", option: "1");

        Assert.Equal(ApprovalResultKind.Decided, result.Kind);
    }

    [Fact]
    public async Task Two_of_three_needs_two_people_on_the_same_option_and_a_repeat_or_second_identity_of_one_person_counts_once()
    {
        await using var t = ApprovalTestHost.Create(o => o.People.Add(new ApprovalPerson { Name = "Alice", SlackUserId = "U0ALICE001", GitHubLogin = "alice-gh" }));
        var inputs = RestoreGate(required: 2);
        inputs["approvers"] = new[] { "slack:U0ALICE001", "slack:U0BOB00001", "github:carol", "github:alice-gh" };
        var run = await t.StartAsync(inputs);
        var id = (await t.PendingAsync(run.Id)).ApprovalId;

        var first = await t.DecideAsync(id, Alice, "approve", option: "1");
        var repeat = await t.DecideAsync(id, Alice, "approve", option: "1");
        var sameOtherChannel = await t.DecideAsync(id, ApprovalIdentity.GitHub("alice-gh"), "approve", option: "1");
        var changed = await t.DecideAsync(id, Alice, "approve", option: "2");
        var otherOption = await t.DecideAsync(id, Carol, "approve", option: "2");
        await t.Host.DrainAsync(TestContext.Current.CancellationToken);

        Assert.Equal(ApprovalResultKind.Recorded, first.Kind);
        Assert.Equal(ApprovalResultKind.AlreadyRecorded, repeat.Kind);
        Assert.Equal(ApprovalResultKind.AlreadyRecorded, sameOtherChannel.Kind);
        Assert.Equal(ApprovalCodes.AlreadyVoted, changed.Refusal!.Code);
        Assert.Equal(ApprovalResultKind.Recorded, otherOption.Kind);
        Assert.Equal(ApprovalStatus.Pending, (await t.RecordAsync(id)).Status);
        // Alice is a known person: shown by her name, not by the Slack id she decided with.
        Assert.Contains(":white_check_mark: Alice approved", t.Requests("/api/chat.update").Last()["blocks"]!.ToJsonString(), StringComparison.Ordinal);

        var second = await t.DecideAsync(id, Bob, "approve", option: "1");
        await t.Host.DrainAsync(TestContext.Current.CancellationToken);

        Assert.Equal(ApprovalResultKind.Decided, second.Kind);
        var record = await t.RecordAsync(id);
        Assert.Equal(ApprovalStatus.Approved, record.Status);
        Assert.Equal("2026-11-01T01:00Z", record.DecidedOption);
        Assert.Equal(3, record.Votes.Count);
        Assert.Equal(["approved"], t.Host.Output.Lines);
    }

    [Fact]
    public async Task Two_approvers_clicking_at_the_same_moment_with_N_1_exactly_one_decision_wins()
    {
        await using var t = ApprovalTestHost.Create();
        var run = await t.StartAsync(RestoreGate());
        var id = (await t.PendingAsync(run.Id)).ApprovalId;

        var results = await Task.WhenAll(
            Task.Run(() => t.DecideAsync(id, Alice, "approve", option: "1")),
            Task.Run(() => t.DecideAsync(id, Bob, "reject", comment: "not sure")));
        await t.Host.DrainAsync(TestContext.Current.CancellationToken);

        Assert.Single(results, r => r.Kind == ApprovalResultKind.Decided);
        var loser = Assert.Single(results, r => r.Kind == ApprovalResultKind.Refused);
        Assert.Equal(ApprovalCodes.Decided, loser.Refusal!.Code);
        var record = await t.RecordAsync(id);
        Assert.Single(record.Votes);
        Assert.Single(t.Host.Output.Lines);
        var journal = await t.Host.JournalAsync(run.Id);
        Assert.Single(journal, e => e.EventName == JournalEvents.Completed && e.ActivityId == "gate");
    }

    [Fact]
    public async Task Two_approvers_clicking_at_the_same_moment_with_N_2_both_count_once()
    {
        await using var t = ApprovalTestHost.Create();
        var run = await t.StartAsync(RestoreGate(required: 2));
        var id = (await t.PendingAsync(run.Id)).ApprovalId;

        var results = await Task.WhenAll(
            Task.Run(() => t.DecideAsync(id, Alice, "approve", option: "1")),
            Task.Run(() => t.DecideAsync(id, Bob, "approve", option: "1")),
            Task.Run(() => t.DecideAsync(id, Alice, "approve", option: "1")));
        await t.Host.DrainAsync(TestContext.Current.CancellationToken);

        Assert.Single(results, r => r.Kind == ApprovalResultKind.Decided);
        Assert.DoesNotContain(results, r => r.Kind == ApprovalResultKind.Refused);
        var record = await t.RecordAsync(id);
        Assert.Equal(ApprovalStatus.Approved, record.Status);
        Assert.Equal(2, record.Votes.Count);
        Assert.Equal(2, record.Votes.Select(v => v.PersonKey).Distinct().Count());
        Assert.Equal(["approved"], t.Host.Output.Lines);
    }

    [Fact]
    public async Task A_decided_gate_refuses_later_decisions_and_a_repeat_of_the_winning_click_is_idempotent()
    {
        await using var t = ApprovalTestHost.Create();
        var run = await t.StartAsync(RestoreGate());
        var id = (await t.PendingAsync(run.Id)).ApprovalId;
        await t.DecideAsync(id, Alice, "reject", comment: "wrong incident");
        await t.Host.DrainAsync(TestContext.Current.CancellationToken);
        var before = await t.SnapshotAsync(run.Id);

        var late = await t.DecideAsync(id, Bob, "approve", option: "1");
        var retry = await t.DecideAsync(id, Alice, "reject", comment: "wrong incident");

        Assert.Equal(ApprovalCodes.Decided, late.Refusal!.Code);
        Assert.Contains("rejected by alice", late.Refusal.Message, StringComparison.Ordinal);
        Assert.Equal(ApprovalResultKind.AlreadyRecorded, retry.Kind);
        Assert.Equal(before, await t.SnapshotAsync(run.Id));
        Assert.Equal(["rejected"], t.Host.Output.Lines);
    }

    [Fact]
    public async Task A_generic_bookmark_resume_without_the_services_seal_is_ignored()
    {
        await using var t = ApprovalTestHost.Create();
        var run = await t.StartAsync(RestoreGate());
        var state = await t.Host.GetAsync(run.Id);
        var bookmark = state!.Bookmarks.Single(b => b.Name == ApprovalGate.BookmarkName);
        var forged = new JsonObject
        {
            ["decision"] = new JsonObject { ["vote"] = "approve", ["by"] = "alice", ["channel"] = "slack", ["subject"] = "U0ALICE001", ["option"] = "1" },
            ["seal"] = new string('0', 64),
        };

        await t.Host.Runtime.ResumeAsync(bookmark.Id, forged, "operator (api)", TestContext.Current.CancellationToken);
        await t.Host.DrainAsync(TestContext.Current.CancellationToken);

        var record = await t.PendingAsync(run.Id);
        Assert.Empty(record.Votes);
        Assert.Equal(ApprovalCodes.Unsealed, record.LastRefusal!.Code);
        Assert.Empty(t.Host.Output.Lines);
        Assert.Equal(ApprovalResultKind.Decided, (await t.DecideAsync(record.ApprovalId, Alice, "approve", option: "1")).Kind);
    }

    [Fact]
    public async Task Timeout_escalates_through_the_contact_tree_then_takes_the_safe_default()
    {
        await using var t = ApprovalTestHost.Create(contacts: c =>
        {
            c.Roles["IncidentCommander"] = [new ContactPerson { Name = "Ivy", SlackUserId = "U0IVY00001" }];
            c.Roles["OperationsLead"] = [new ContactPerson { Name = "Otto", SlackUserId = "U0OTTO0001" }];
            c.Tiers = [
                new ContactTierOptions { Name = "Incident command", Roles = ["IncidentCommander"], EscalateAfter = TimeSpan.FromMinutes(10) },
                new ContactTierOptions { Name = "Operations", Roles = ["OperationsLead"], EscalateAfter = TimeSpan.FromMinutes(15) },
            ];
        });
        var inputs = RestoreGate();
        inputs["timeout"] = "20m";
        inputs["safeDefault"] = ApprovalOutcomes.Rejected;
        var run = await t.StartAsync(inputs);
        var id = (await t.PendingAsync(run.Id)).ApprovalId;

        await t.AdvanceAsync(TimeSpan.FromMinutes(19));
        Assert.Equal(0, (await t.RecordAsync(id)).Tier);
        Assert.Equal(ApprovalCodes.NotApprover, (await t.DecideAsync(id, ApprovalIdentity.Slack("U0IVY00001"), "approve", option: "1")).Refusal!.Code);

        await t.AdvanceAsync(TimeSpan.FromMinutes(1));
        var tier1 = await t.RecordAsync(id);
        Assert.Equal(1, tier1.Tier);
        Assert.Equal(t.Host.Clock.GetUtcNow() + TimeSpan.FromMinutes(10), tier1.Deadline);
        Assert.Contains(t.Requests("/api/chat.postMessage"), m => m["thread_ts"] is not null && m["text"]!.ToString().Contains("<@U0IVY00001>", StringComparison.Ordinal));

        await t.AdvanceAsync(TimeSpan.FromMinutes(10));
        var tier2 = await t.RecordAsync(id);
        Assert.Equal(2, tier2.Tier);
        Assert.Equal(["Ivy", "Otto"], tier2.Escalations.SelectMany(e => e.People));
        Assert.Contains(t.Requests("/api/chat.postMessage"), m => m["thread_ts"] is not null && m["text"]!.ToString().Contains("<@U0OTTO0001>", StringComparison.Ordinal));

        await t.AdvanceAsync(TimeSpan.FromMinutes(15));
        var final = await t.RecordAsync(id);
        Assert.Equal(ApprovalStatus.TimedOut, final.Status);
        Assert.Equal(ApprovalOutcomes.Rejected, final.Outcome);
        Assert.Equal(["rejected"], t.Host.Output.Lines);
        var journal = await t.Host.JournalAsync(run.Id);
        Assert.Equal(3, journal.Count(e => e.EventName == JournalEvents.Resumed && e.Actor == "timer" && e.Payload?["bookmark"]?.ToString() == ApprovalGate.BookmarkName));
        var completed = Assert.Single(journal, e => e.EventName == JournalEvents.Completed && e.ActivityId == "gate");
        Assert.Equal("timer", completed.Payload!["data"]!["decision"]!["approvers"]![0]!.ToString());
        Assert.Equal(ApprovalCodes.TimedOut, (await t.DecideAsync(id, Alice, "approve", option: "1")).Refusal!.Code);
        Assert.Contains("Timed out", t.Requests("/api/chat.update").Last()["blocks"]!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_escalated_tier_can_decide()
    {
        await using var t = ApprovalTestHost.Create(contacts: c =>
        {
            c.Roles["IncidentCommander"] = [new ContactPerson { Name = "Ivy", SlackUserId = "U0IVY00001" }];
            c.Tiers = [new ContactTierOptions { Name = "Incident command", Roles = ["IncidentCommander"], EscalateAfter = TimeSpan.FromMinutes(10) }];
        });
        var inputs = RestoreGate();
        inputs["timeout"] = "5m";
        var run = await t.StartAsync(inputs);
        var id = (await t.PendingAsync(run.Id)).ApprovalId;

        await t.AdvanceAsync(TimeSpan.FromMinutes(5));
        var result = await t.DecideAsync(id, ApprovalIdentity.Slack("U0IVY00001", "ivy"), "approve", option: "1");

        Assert.Equal(ApprovalResultKind.Decided, result.Kind);
    }

    [Fact]
    public async Task A_schema_gate_checks_the_free_answer()
    {
        await using var t = ApprovalTestHost.Create();
        var run = await t.StartAsync(new Dictionary<string, object?>
        {
            ["title"] = "Recovery point",
            ["question"] = "Up to which moment should PostgreSQL be replayed?",
            ["inputSchema"] = JsonNode.Parse("""{"type":"string","format":"date-time"}"""),
            ["approvers"] = new[] { "slack:U0ALICE001" },
        });
        var id = (await t.PendingAsync(run.Id)).ApprovalId;

        var bad = await t.DecideAsync(id, Alice, "approve", value: JsonValue.Create("yesterday"));
        var good = await t.DecideAsync(id, Alice, "approve", value: JsonValue.Create("2026-11-01T02:09:00Z"));
        await t.Host.DrainAsync(TestContext.Current.CancellationToken);

        Assert.Equal(ApprovalCodes.InvalidAnswer, bad.Refusal!.Code);
        Assert.Equal(ApprovalResultKind.Decided, good.Kind);
        var decision = (await t.Host.GetAsync(run.Id))!.ActivityOutputs["gate"]["Decision"]!;
        Assert.Equal("2026-11-01T02:09:00Z", decision["value"]!.ToString());
    }

    [Fact]
    public async Task Timestamps_in_facts_and_answers_reach_Slack_and_GitHub_with_a_plus_sign_not_an_escape()
    {
        await using var t = ApprovalTestHost.Create();
        var run = await t.StartAsync(new Dictionary<string, object?>
        {
            ["title"] = "Recovery point",
            ["question"] = "Up to which moment should PostgreSQL be replayed?",
            ["evidence"] = JsonNode.Parse("""{"text":"Newest backup below.","facts":{"mainBackup":{"set":"s1","startedAt":"2026-11-01T01:00:00+00:00"}}}"""),
            ["inputSchema"] = JsonNode.Parse("""{"type":"string","format":"date-time"}"""),
            ["approvers"] = new[] { "slack:U0ALICE001" },
            ["gitHubIssue"] = ApprovalTestHost.Issue,
        });
        var id = (await t.PendingAsync(run.Id)).ApprovalId;

        await t.DecideAsync(id, Alice, "approve", value: JsonValue.Create("2026-11-01T02:09:00+00:00"));
        await t.Host.DrainAsync(TestContext.Current.CancellationToken);

        var posted = Strings(Assert.Single(t.Requests("/api/chat.postMessage"))["blocks"]);
        Assert.Contains("""*mainBackup*: {"set":"s1","startedAt":"2026-11-01T01:00:00+00:00"}""", posted, StringComparison.Ordinal);
        var decided = Strings(t.Requests("/api/chat.update").Last()["blocks"]);
        Assert.Contains("`\"2026-11-01T02:09:00+00:00\"`", decided, StringComparison.Ordinal);
        var comments = t.Requests("/repos/acme/platform/issues/7/comments").Select(c => c["body"]!.ToString()).ToList();
        Assert.Contains(comments, c => c.Contains("\"startedAt\": \"2026-11-01T01:00:00+00:00\"", StringComparison.Ordinal));
        Assert.Contains(comments, c => c.Contains("` \"2026-11-01T02:09:00+00:00\" `", StringComparison.Ordinal));
        // Not in the texts, and not on the wire either (the bodies are written with the relaxed encoder).
        var wire = t.Server.LogEntries.Select(e => e.RequestMessage!.Body ?? string.Empty).ToList();
        Assert.True(!wire.Any(b => b.Contains("\\u002B", StringComparison.Ordinal)), string.Join("\n", wire));
        Assert.DoesNotContain(posted + decided + string.Concat(comments), "\\u002B", StringComparison.Ordinal);
    }

    /// <summary>Every string in a JSON tree (the texts of Slack blocks), one per line.</summary>
    private static string Strings(JsonNode? node) => node switch
    {
        JsonValue v when v.TryGetValue<string>(out var text) => text + "\n",
        JsonObject o => string.Concat(o.Select(p => Strings(p.Value))),
        JsonArray a => string.Concat(a.Select(Strings)),
        _ => string.Empty,
    };

    [Fact]
    public async Task A_gate_with_an_unsupported_schema_keyword_or_no_approvers_raises_an_incident_with_the_reason()
    {
        await using var t = ApprovalTestHost.Create();
        var run = await t.StartAsync(new Dictionary<string, object?>
        {
            ["title"] = "Bad gate",
            ["question"] = "?",
            ["inputSchema"] = JsonNode.Parse("""{"type":"string","oneOf":[]}"""),
            ["approvers"] = new[] { "nobody:x" },
        });

        var state = await t.Host.GetAsync(run.Id);
        var incident = Assert.Single(state!.Incidents);
        Assert.Contains("'oneOf' is not supported", incident.Message, StringComparison.Ordinal);
        Assert.Contains("'nobody:x' is not understood", incident.Message, StringComparison.Ordinal);
    }

    /// <summary>A restore-point gate as FindRestorePoint's offer feeds it: a default, and one option needing a typed phrase.</summary>
    private static Dictionary<string, object?> OfferGate(bool withDefault = true)
    {
        var gate = RestoreGate();
        gate["options"] = new[] { "2026-11-01 01:00 UTC, verified, set a", "UNVERIFIED (never restore-tested): 2026-11-01 01:30 UTC, set b" };
        gate["confirmationPhrases"] = new JsonObject { ["UNVERIFIED (never restore-tested): 2026-11-01 01:30 UTC, set b"] = "restore unverified set b" };
        if (withDefault)
            gate["defaultOption"] = "2026-11-01 01:00 UTC, verified, set a";
        return gate;
    }

    [Fact]
    public async Task Approving_without_an_option_takes_the_default_option_and_a_repeat_is_the_same_vote()
    {
        await using var t = ApprovalTestHost.Create();
        var run = await t.StartAsync(OfferGate());
        var pending = await t.PendingAsync(run.Id);
        Assert.Equal("2026-11-01 01:00 UTC, verified, set a", pending.DefaultOption);

        var result = await t.DecideAsync(pending.ApprovalId, Alice, "approve", comment: "newest verified");
        var repeat = await t.DecideAsync(pending.ApprovalId, Alice, "approve");
        await t.Host.DrainAsync(TestContext.Current.CancellationToken);

        Assert.Equal(ApprovalResultKind.Decided, result.Kind);
        Assert.Equal(ApprovalResultKind.AlreadyRecorded, repeat.Kind);
        var decision = (await t.Host.GetAsync(run.Id))!.ActivityOutputs["gate"]["Decision"]!;
        Assert.Equal("2026-11-01 01:00 UTC, verified, set a", decision["option"]!.ToString());

        // The default and the phrases are part of the evidence the approver saw (and of its hash).
        Assert.Equal(EvidenceHash.Compute(EvidenceHash.Snapshot(pending.Title, pending.Question, pending.EvidenceText, pending.Facts, pending.Options, null, pending.DefaultOption, pending.ConfirmationPhrases)), pending.EvidenceSha256);
        Assert.NotEqual(EvidenceHash.Compute(EvidenceHash.Snapshot(pending.Title, pending.Question, pending.EvidenceText, pending.Facts, pending.Options, null)), pending.EvidenceSha256);

        // Slack: the default's button is the primary one, the option that needs a phrase has none.
        var buttons = t.Requests("/api/chat.postMessage")[0]["blocks"]!.AsArray().Single(b => b!["type"]!.ToString() == "actions")!["elements"]!.AsArray();
        Assert.Equal(["drw.approve.1", "drw.reject"], buttons.Select(b => b!["action_id"]!.ToString()));
        Assert.StartsWith("Approve (default): ", buttons[0]!["text"]!["text"]!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_option_that_needs_a_typed_confirmation_is_refused_without_it_or_with_a_wrong_phrase_and_recorded_with_it()
    {
        await using var t = ApprovalTestHost.Create();
        var run = await t.StartAsync(OfferGate(withDefault: false));
        var pending = await t.PendingAsync(run.Id);
        var before = await t.SnapshotAsync(run.Id);

        var missing = await t.DecideAsync(pending.ApprovalId, Alice, "approve", option: "2");
        var wrong = await t.DecideAsync(pending.ApprovalId, Alice, "approve", option: "2", confirmation: "restore unverified set c");
        var noOption = await t.DecideAsync(pending.ApprovalId, Alice, "approve");
        // A Slack click (an old message, a forged payload) carries no phrase: refused the same way.
        var click = await t.DecideAsync(pending.ApprovalId, Bob, "approve", option: "2");

        Assert.Equal(ApprovalCodes.ConfirmationRequired, missing.Refusal!.Code);
        Assert.Contains("type \"restore unverified set b\"", missing.Refusal.Message, StringComparison.Ordinal);
        Assert.Equal(ApprovalCodes.ConfirmationRequired, wrong.Refusal!.Code);
        Assert.Contains("is not \"restore unverified set b\"", wrong.Refusal.Message, StringComparison.Ordinal);
        Assert.Equal(ApprovalCodes.OptionRequired, noOption.Refusal!.Code);
        Assert.Equal(ApprovalCodes.ConfirmationRequired, click.Refusal!.Code);
        Assert.Equal(400, click.Refusal.HttpStatus);
        Assert.Equal(before, await t.SnapshotAsync(run.Id));

        // Case and spacing do not matter; the words do.
        var confirmed = await t.DecideAsync(pending.ApprovalId, Alice, "approve", option: "2", comment: "nothing else predates the IoC", confirmation: "  Restore  unverified set B ");
        await t.Host.DrainAsync(TestContext.Current.CancellationToken);

        Assert.Equal(ApprovalResultKind.Decided, confirmed.Kind);
        Assert.Equal("Restore  unverified set B", confirmed.Vote!.Confirmation);
        var decision = (await t.Host.GetAsync(run.Id))!.ActivityOutputs["gate"]["Decision"]!;
        Assert.Equal("UNVERIFIED (never restore-tested): 2026-11-01 01:30 UTC, set b", decision["option"]!.ToString());
        Assert.Equal("Restore  unverified set B", decision["votes"]![0]!["confirmation"]!.ToString());
    }

    [Fact]
    public async Task A_default_that_is_no_option_or_needs_a_confirmation_is_a_gate_set_up_wrongly()
    {
        await using var t = ApprovalTestHost.Create();
        var notAnOption = OfferGate();
        notAnOption["defaultOption"] = "yesterday";
        var needsPhrase = OfferGate();
        needsPhrase["defaultOption"] = "UNVERIFIED (never restore-tested): 2026-11-01 01:30 UTC, set b";

        var first = await t.StartAsync(notAnOption);
        var second = await t.StartAsync(needsPhrase);

        Assert.Contains("DefaultOption 'yesterday' is not one of the Options", Assert.Single((await t.Host.GetAsync(first.Id))!.Incidents).Message, StringComparison.Ordinal);
        Assert.Contains("an option that does cannot be the default", Assert.Single((await t.Host.GetAsync(second.Id))!.Incidents).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_gate_over_its_size_limits_raises_an_incident_naming_them_and_long_evidence_is_cut_visibly()
    {
        await using var t = ApprovalTestHost.Create();
        var tooBig = await t.StartAsync(new Dictionary<string, object?>
        {
            ["title"] = new string('t', ApprovalLimits.Title + 1),
            ["question"] = new string('q', ApprovalLimits.Question + 1),
            ["options"] = Enumerable.Range(1, ApprovalLimits.Options + 1).Select(i => "option " + i).ToArray(),
            ["approvers"] = new[] { "slack:U0ALICE001" },
        });
        var longEvidence = await t.StartAsync(new Dictionary<string, object?>
        {
            ["title"] = "Confirm",
            ["question"] = "Go?",
            ["evidence"] = new string('e', ApprovalLimits.EvidenceText + 500),
            ["approvers"] = new[] { "slack:U0ALICE001" },
        });

        var incident = Assert.Single((await t.Host.GetAsync(tooBig.Id))!.Incidents);
        Assert.Contains($"Title is {ApprovalLimits.Title + 1} characters long; the limit is {ApprovalLimits.Title}", incident.Message, StringComparison.Ordinal);
        Assert.Contains($"the limit is {ApprovalLimits.Question}", incident.Message, StringComparison.Ordinal);
        Assert.Contains($"Options has {ApprovalLimits.Options + 1} entries", incident.Message, StringComparison.Ordinal);
        var evidence = (await t.PendingAsync(longEvidence.Id)).EvidenceText!;
        Assert.True(evidence.Length < ApprovalLimits.EvidenceText + 200, $"{evidence.Length} characters");
        Assert.EndsWith("500 more are in the workflow's data)", evidence, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_decision_from_a_place_the_gate_was_not_posted_to_is_refused_even_inside_the_server()
    {
        await using var t = ApprovalTestHost.Create();
        var run = await t.StartAsync(RestoreGate());
        var gate = await t.PendingAsync(run.Id);
        var before = await t.SnapshotAsync(run.Id);

        var otherIssue = await t.Approvals.DecideAsync(gate.ApprovalId, Carol, new ApprovalRequest { Vote = "approve", Option = "1", Place = ApprovalPlace.GitHubIssue("other/repo", 99) }, TestContext.Current.CancellationToken);
        var otherMessage = await t.Approvals.DecideAsync(gate.ApprovalId, Alice, new ApprovalRequest { Vote = "approve", Option = "1", Place = ApprovalPlace.SlackMessage(ApprovalTestHost.Channel, "1.0") }, TestContext.Current.CancellationToken);
        var mixed = await t.Approvals.DecideAsync(gate.ApprovalId, Alice, new ApprovalRequest { Vote = "approve", Option = "1", Place = ApprovalPlace.GitHubIssue("acme/platform", 7) }, TestContext.Current.CancellationToken);

        Assert.Equal(ApprovalCodes.WrongPlace, otherIssue.Refusal!.Code);
        Assert.Equal(ApprovalCodes.WrongPlace, otherMessage.Refusal!.Code);
        Assert.Equal(ApprovalCodes.WrongPlace, mixed.Refusal!.Code);
        Assert.Equal(before, await t.SnapshotAsync(run.Id));

        var posted = await t.Approvals.DecideAsync(gate.ApprovalId, Carol, new ApprovalRequest { Vote = "approve", Option = "1", Place = ApprovalPlace.GitHubIssue("ACME/Platform", 7) }, TestContext.Current.CancellationToken);
        Assert.Equal(ApprovalResultKind.Decided, posted.Kind);
    }
}
