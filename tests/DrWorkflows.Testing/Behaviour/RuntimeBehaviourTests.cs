using System.Text.Json;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Core.Serialization;
using Xunit;
using static DrWorkflows.Testing.Behaviour.ElsaJson;

namespace DrWorkflows.Testing.Behaviour;

/// <summary>
/// The runtime around the activities: bookmarks and resumption, cancellation, incidents (retry, skip, fail),
/// the journal and the redaction of secrets.
/// </summary>
public abstract class RuntimeBehaviourTests : BehaviourTestBase
{
    private static string Gate(string definitionId) => Definition(definitionId, Sequence("seq",
        WriteLine("before", "waiting for approval"),
        Activity("Tests.WaitForSignal", "gate", $"\"signal\": {Lit("approval-7")}"),
        WriteLineJs("after", "'approved by ' + getOutputFrom('gate').by")));

    [Fact]
    public async Task BlockingActivity_SuspendsTheRunWithAPersistedBookmark()
    {
        await using var host = CreateHost();

        var state = await host.RunAsync(Gate("gate"), cancellationToken: Ct);

        AssertSuspended(state);
        var stored = await ReloadAsync(host, state.Id);
        AssertSuspended(stored);
        var bookmark = Assert.Single(stored.Bookmarks);
        Assert.Equal(WaitForSignal.BookmarkName, bookmark.Name);
        Assert.Equal("approval-7", bookmark.Key);
        var indexed = Assert.Single(await host.Instances.FindBookmarksAsync(new BookmarkQuery(Name: WaitForSignal.BookmarkName, Key: "approval-7"), Ct));
        Assert.Equal(state.Id, indexed.InstanceId);
        Assert.Equal(bookmark.Id, indexed.Id);
        Assert.Equal("Tests.WaitForSignal", indexed.ActivityType);
        Assert.Contains(await host.JournalAsync(state.Id), e => e.ActivityId == "gate" && e.EventName == JournalEvents.Suspended);
    }

    [Fact]
    public async Task Resume_WithAPayload_ContinuesTheRunAndJournalsWhoResumedIt()
    {
        await using var host = CreateHost();
        var state = await host.RunAsync(Gate("gate-resume"), cancellationToken: Ct);
        var bookmark = Assert.Single(await BookmarksAsync(host, state.Id));

        var (outcome, resumed) = await host.Runtime.ResumeAsync(bookmark.Id, new JsonObject { ["by"] = "alice", ["comment"] = "go" }, "user:alice", Ct);

        Assert.Equal(ResumeOutcome.Resumed, outcome);
        Assert.NotNull(resumed);
        AssertFinished(resumed);
        Assert.Equal(["waiting for approval", "approved by alice"], host.Output.Lines);
        AssertJson("""{ "by": "alice", "comment": "go" }""", OutputOf(resumed, "gate"));
        Assert.Empty(await BookmarksAsync(host, state.Id));
        var journal = await host.JournalAsync(state.Id);
        var entry = journal.Single(e => e.ActivityId == "gate" && e.EventName == JournalEvents.Resumed);
        Assert.Equal("user:alice", entry.Actor);
        AssertJson("\"alice\"", entry.Payload?["payload"]?["by"]);
        var completed = journal.Single(e => e.ActivityId == "gate" && e.EventName == JournalEvents.Completed);
        AssertJson("\"approval-7\"", completed.Payload?["inputs"]?["Signal"]);
        AssertJson("""{ "by": "alice", "comment": "go" }""", completed.Payload?["outputs"]?["Result"]);
    }

    [Fact]
    public async Task Resume_AfterTheOrchestratorRestarted_ContinuesTheRun()
    {
        string instanceId;
        string bookmarkId;
        await using (var before = CreateHost())
        {
            var state = await before.RunAsync(Gate("gate-restart"), cancellationToken: Ct);
            instanceId = state.Id;
            bookmarkId = Assert.Single(await BookmarksAsync(before, state.Id)).Id;
        }

        await using var after = CreateHost();
        var (outcome, resumed) = await after.Runtime.ResumeAsync(bookmarkId, new JsonObject { ["by"] = "carol" }, "user:carol", Ct);

        Assert.Equal(ResumeOutcome.Resumed, outcome);
        AssertFinished(resumed!);
        Assert.Equal(["approved by carol"], after.Output.Lines);
        AssertFinished(await ReloadAsync(after, instanceId));
    }

    [Fact]
    public async Task Resume_AConsumedBookmark_ReturnsBookmarkNotFound()
    {
        await using var host = CreateHost();
        var state = await host.RunAsync(Gate("gate-twice"), cancellationToken: Ct);
        var bookmark = Assert.Single(await BookmarksAsync(host, state.Id));
        await host.Runtime.ResumeAsync(bookmark.Id, new JsonObject { ["by"] = "alice" }, "user:alice", Ct);

        var (outcome, again) = await host.Runtime.ResumeAsync(bookmark.Id, new JsonObject { ["by"] = "mallory" }, "user:mallory", Ct);

        Assert.Equal(ResumeOutcome.BookmarkNotFound, outcome);
        Assert.Null(again);
        Assert.Equal(["waiting for approval", "approved by alice"], host.Output.Lines);
    }

    [Fact]
    public async Task Resume_AnUnknownBookmark_ReturnsBookmarkNotFound()
    {
        await using var host = CreateHost();

        var (outcome, state) = await host.Runtime.ResumeAsync("no-such-bookmark", null, "test", Ct);

        Assert.Equal(ResumeOutcome.BookmarkNotFound, outcome);
        Assert.Null(state);
    }

    [Fact]
    public async Task Cancel_DropsBookmarksAndEndsTheRunCancelled()
    {
        await using var host = CreateHost();
        var json = Definition("cancel", Sequence("seq",
            Activity("Elsa.Parallel", "par", $"\"activities\": [ {Activity("Tests.WaitForSignal", "gate")}, {Delay("wait", "01:00:00")} ]"),
            WriteLine("after", "never")));
        var state = await host.RunAsync(json, cancellationToken: Ct);
        Assert.Equal(2, (await BookmarksAsync(host, state.Id)).Count);

        var cancelled = await host.Runtime.CancelAsync(state.Id, "operator", Ct);

        Assert.NotNull(cancelled);
        Assert.Equal(WorkflowStatus.Finished, cancelled.Status);
        Assert.Equal(WorkflowSubStatus.Cancelled, cancelled.SubStatus);
        var stored = await ReloadAsync(host, state.Id);
        Assert.Equal(WorkflowSubStatus.Cancelled, stored.SubStatus);
        Assert.NotNull(stored.FinishedAt);
        Assert.Empty(stored.Bookmarks);
        Assert.Empty(stored.Executions);
        Assert.Empty(await BookmarksAsync(host, state.Id));
        var journal = await host.JournalAsync(state.Id);
        Assert.Equal(JournalEvents.WorkflowCancelled, journal[^1].EventName);
        Assert.Contains(journal, e => e.ActivityId == "gate" && e.EventName == JournalEvents.Cancelled);
        await host.AdvanceAsync(TimeSpan.FromHours(2), Ct);
        Assert.Empty(host.Output.Lines);
    }

    [Fact]
    public async Task Cancel_AFinishedRun_ChangesNothing()
    {
        await using var host = CreateHost();
        var state = await host.RunAsync(Definition("done", WriteLine("hi", "hi")), cancellationToken: Ct);

        var after = await host.Runtime.CancelAsync(state.Id, "operator", Ct);

        Assert.NotNull(after);
        AssertFinished(await ReloadAsync(host, state.Id));
    }

    private static string WithFlaky(string definitionId, int failures) => Definition(definitionId, Flowchart("flow1",
        [
            Start(),
            Activity("Tests.Flaky", "flaky", $"\"failures\": {Lit(failures.ToString(System.Globalization.CultureInfo.InvariantCulture), "Int32")}"),
            WriteLineJs("after", "'after attempt ' + getOutputFrom('flaky')"),
            WriteLine("alt", "alternative path"),
        ],
        [Connect("start", "flaky"), Connect("flaky", "after"), Connect("flaky", "alt", "Failed")]));

    [Fact]
    public async Task Incident_Retry_RunsTheActivityAgainAsANewAttempt()
    {
        await using var host = CreateHost();
        var state = await host.RunAsync(WithFlaky("retry", 1), cancellationToken: Ct);
        var incident = AssertFaultedWithIncident(state);
        Assert.Equal("flaky", incident.ActivityId);
        Assert.Equal("attempt 1 failed on purpose", incident.Message);
        Assert.Equal(WorkflowSubStatus.Faulted, (await host.Instances.ListAsync(new InstanceQuery(HasIncidents: true), Ct)).Items.Single().SubStatus);

        var resolved = await host.Runtime.ResolveIncidentAsync(state.Id, incident.Id, IncidentResolution.Retry, "operator:bob", null, Ct);

        Assert.NotNull(resolved);
        AssertFinished(resolved);
        Assert.Equal(["after attempt 2"], host.Output.Lines);
        var stored = await ReloadAsync(host, state.Id);
        var closed = Assert.Single(stored.Incidents);
        Assert.Equal(IncidentResolution.Retry, closed.Resolution);
        Assert.Equal("operator:bob", closed.ResolvedBy);
        var journal = await host.JournalAsync(state.Id);
        var flaky = journal.Where(e => e.ActivityId == "flaky").Select(e => (e.EventName, e.Attempt ?? 0)).ToList();
        Assert.Equal([(JournalEvents.Started, 1), (JournalEvents.Faulted, 1), (JournalEvents.IncidentResolved, 1), (JournalEvents.Started, 2), (JournalEvents.Completed, 2)], flaky);
        Assert.Equal("operator:bob", journal.Single(e => e.EventName == JournalEvents.IncidentResolved).Actor);
    }

    [Fact]
    public async Task Incident_RaisedBeforeARestart_CanBeRetriedAfterIt()
    {
        string instanceId;
        string incidentId;
        await using (var before = CreateHost())
        {
            var state = await before.RunAsync(WithFlaky("retry-restart", 1), cancellationToken: Ct);
            instanceId = state.Id;
            incidentId = AssertFaultedWithIncident(state).Id;
        }

        await using var after = CreateHost();
        var stored = await ReloadAsync(after, instanceId);
        Assert.Equal(incidentId, AssertFaultedWithIncident(stored).Id);
        var resolved = await after.Runtime.ResolveIncidentAsync(instanceId, incidentId, IncidentResolution.Retry, "operator", null, Ct);

        AssertFinished(resolved!);
        Assert.Equal(["after attempt 2"], after.Output.Lines);
    }

    [Fact]
    public async Task Incident_Skip_CompletesTheActivityWithTheChosenOutcome()
    {
        await using var host = CreateHost();
        var state = await host.RunAsync(WithFlaky("skip", 5), cancellationToken: Ct);
        var incident = AssertFaultedWithIncident(state);

        var resolved = await host.Runtime.ResolveIncidentAsync(state.Id, incident.Id, IncidentResolution.Skip, "operator", "Failed", Ct);

        Assert.NotNull(resolved);
        AssertFinished(resolved);
        Assert.Equal(["alternative path"], host.Output.Lines);
    }

    [Fact]
    public async Task Incident_SkipWithoutOutcome_ContinuesOnDone()
    {
        await using var host = CreateHost();
        var json = Definition("skip-fault", Sequence("seq", Activity("Elsa.Fault", "fail", $"\"message\": {Lit("broken")}"), WriteLine("after", "went on")));
        var state = await host.RunAsync(json, cancellationToken: Ct);
        var incident = AssertFaultedWithIncident(state);

        var resolved = await host.Runtime.ResolveIncidentAsync(state.Id, incident.Id, IncidentResolution.Skip, "operator", null, Ct);

        AssertFinished(resolved!);
        Assert.Equal(["went on"], host.Output.Lines);
    }

    [Fact]
    public async Task Incident_Fail_EndsTheRunFaulted()
    {
        await using var host = CreateHost();
        var state = await host.RunAsync(WithFlaky("fail", 5), cancellationToken: Ct);
        var incident = AssertFaultedWithIncident(state);

        var resolved = await host.Runtime.ResolveIncidentAsync(state.Id, incident.Id, IncidentResolution.Fail, "operator", null, Ct);

        Assert.NotNull(resolved);
        var stored = await ReloadAsync(host, state.Id);
        Assert.Equal(WorkflowStatus.Finished, stored.Status);
        Assert.Equal(WorkflowSubStatus.Faulted, stored.SubStatus);
        Assert.Equal("attempt 1 failed on purpose", stored.Fault?.Message);
        Assert.Equal("flaky", stored.Fault?.ActivityId);
        Assert.Equal(JournalEvents.WorkflowFaulted, (await host.JournalAsync(state.Id))[^1].EventName);
        Assert.Empty(host.Output.Lines);
    }

    [Fact]
    public async Task Journal_HasStartedAndCompletedForEveryActivityWithUtcMillisecondTimestampsOutcomesAndOutputs()
    {
        var start = new DateTimeOffset(2026, 11, 1, 3, 0, 0, TimeSpan.Zero).AddTicks(1_234_567);
        await using var host = CreateHost(start);
        var json = Definition("journal", Flowchart("flow1",
            [
                Start(),
                Activity("Tests.TwoOutputs", "produce"),
                Delay("wait", "00:00:01.5"),
                Activity("Elsa.FlowDecision", "decide", $"\"condition\": {Js("getOutputFrom('produce') === 42", "Boolean")}"),
                WriteLine("yes", "yes"),
            ],
            [Connect("start", "produce"), Connect("produce", "wait"), Connect("wait", "decide"), Connect("decide", "yes", "True")]));

        var state = await host.RunAsync(json, cancellationToken: Ct);
        await host.AdvanceAsync(TimeSpan.FromSeconds(2), Ct);

        AssertFinished(await ReloadAsync(host, state.Id));
        var journal = await host.JournalAsync(state.Id);
        Assert.Equal(Enumerable.Range(0, journal.Count).Select(i => (long)i), journal.Select(e => e.Sequence));
        Assert.All(journal, e =>
        {
            Assert.Equal(TimeSpan.Zero, e.Timestamp.Offset);
            Assert.Equal(0, e.Timestamp.UtcTicks % TimeSpan.TicksPerMillisecond);
            Assert.Equal(state.Id, e.InstanceId);
        });
        Assert.Equal(start.AddTicks(-4567), journal[0].Timestamp);
        foreach (var id in new[] { "flow1", "start", "produce", "wait", "decide", "yes" })
        {
            var started = journal.Where(e => e.ActivityId == id && e.EventName == JournalEvents.Started).ToList();
            var completed = journal.Where(e => e.ActivityId == id && e.EventName == JournalEvents.Completed).ToList();
            Assert.True(started.Count == 1 && completed.Count == 1, $"Activity '{id}' should have one Started and one Completed entry.");
            Assert.True(started[0].Sequence < completed[0].Sequence);
            Assert.NotNull(completed[0].Outcomes);
        }

        var produced = journal.Single(e => e.ActivityId == "produce" && e.EventName == JournalEvents.Completed);
        AssertJson("""{ "Result": 42, "Message": "forty-two" }""", produced.Payload?["outputs"]);
        Assert.Equal(["Done"], produced.Outcomes!);
        Assert.Equal("Tests.TwoOutputs", produced.ActivityType);
        Assert.Equal("Workflow1:flow1:produce", produced.NodeId);
        Assert.Equal(["True"], journal.Single(e => e.ActivityId == "decide" && e.EventName == JournalEvents.Completed).Outcomes!);
        var waited = journal.Single(e => e.ActivityId == "wait" && e.EventName == JournalEvents.Completed);
        Assert.Equal(start.AddSeconds(2).AddTicks(-4567), waited.Timestamp);
        AssertJson("\"00:00:01.5000000\"", waited.Payload?["inputs"]?["TimeSpan"]);
        Assert.Equal(2000, waited.Payload?["durationMs"]?.GetValue<long>());
        Assert.Equal(JournalEvents.WorkflowStarted, journal[0].EventName);
        Assert.Equal(JournalEvents.WorkflowFinished, journal[^1].EventName);
    }

    private const string Password = "s3cr3t-Pa55word";

    private static string Secret(string definitionId, string failWith = "") => Definition(definitionId, Sequence("seq",
        Activity("Tests.SecretLogin", "login", $"""
            "user": {Lit("app")},
            "password": {Js("getVariable('Pw')", "String")},
            "failWith": {Lit(failWith)}
            """),
        WriteLineJs("echo", "'connected with ' + getVariable('Pw')")),
        variables: [Variable("v-pw", "Pw", "String", Password)]);

    [Fact]
    public async Task Run_OfASuspendedRunWithNothingQueued_WritesNothing()
    {
        await using var host = CreateHost();
        var state = await host.RunAsync(Definition("stale-dispatch", Sequence("seq", Delay("wait", "00:10:00"), WriteLine("after", "after"))), cancellationToken: Ct);
        AssertSuspended(state);
        var before = await ReloadAsync(host, state.Id);

        var again = await host.Runtime.RunAsync(state.Id, Ct);

        Assert.Equal(WorkflowSubStatus.Suspended, again!.SubStatus);
        Assert.Equal(before.Revision, (await ReloadAsync(host, state.Id)).Revision);
        Assert.Equal(before.JournalSequence, (await ReloadAsync(host, state.Id)).JournalSequence);
        await host.AdvanceAsync(TimeSpan.FromMinutes(10), Ct);
        Assert.Equal(["after"], host.Output.Lines);
    }

    [Fact]
    public async Task Secrets_AreMaskedInJournalInputsAndData()
    {
        await using var host = CreateHost();

        var state = await host.RunAsync(Secret("secret-ok"), cancellationToken: Ct);

        AssertFinished(state);
        var journal = await host.JournalAsync(state.Id);
        var login = journal.Single(e => e.ActivityId == "login" && e.EventName == JournalEvents.Completed);
        AssertJson("\"***\"", login.Payload?["inputs"]?["Password"]);
        AssertJson("\"app\"", login.Payload?["inputs"]?["User"]);
        AssertJson("\"postgres://app:***@db:5432/app\"", login.Payload?["data"]?["connection"]);
        var echo = journal.Single(e => e.ActivityId == "echo" && e.EventName == JournalEvents.Completed);
        AssertJson("\"connected with ***\"", echo.Payload?["inputs"]?["Text"]);
        Assert.Equal(["connected with ***"], host.Output.Lines);
        Assert.DoesNotContain(Password, JsonSerializer.Serialize(journal, Json.Options), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Secrets_CopiedIntoAVariable_AreStillMaskedAfterTheRunResumes()
    {
        await using var host = CreateHost();
        var json = Definition("secret-resume", Sequence("seq",
            Activity("Tests.SecretLogin", "login", $"""
                "user": {Lit("app")},
                "password": {Js("getVariable('Pw')", "String")}
                """),
            Delay("wait", "00:10:00"),
            WriteLineJs("echo", "'after the wait: ' + getVariable('Pw')")),
            variables: [Variable("v-pw", "Pw", "String", Password)]);

        var state = await host.RunAsync(json, cancellationToken: Ct);
        AssertSuspended(state);
        await host.AdvanceAsync(TimeSpan.FromMinutes(10), Ct);

        AssertFinished(await ReloadAsync(host, state.Id));
        Assert.Equal(["after the wait: ***"], host.Output.Lines);
        var journal = await host.JournalAsync(state.Id);
        Assert.DoesNotContain(Password, JsonSerializer.Serialize(journal, Json.Options), StringComparison.Ordinal);
        var stored = JsonSerializer.Serialize((await ReloadAsync(host, state.Id)).Properties, Json.Options);
        Assert.DoesNotContain(Password, stored, StringComparison.Ordinal); // only a keyed digest is kept
    }

    [Fact]
    public async Task Secrets_AreMaskedInIncidentsAndFaultMessages()
    {
        await using var host = CreateHost();

        var state = await host.RunAsync(Secret("secret-fail", "login refused"), cancellationToken: Ct);

        var incident = AssertFaultedWithIncident(state);
        Assert.Equal("login refused (user app, password ***)", incident.Message);
        var stored = await ReloadAsync(host, state.Id);
        Assert.Equal("login refused (user app, password ***)", stored.Fault?.Message);
        var faulted = (await host.JournalAsync(state.Id)).Single(e => e.EventName == JournalEvents.Faulted);
        Assert.Equal("login refused (user app, password ***)", faulted.Message);
        AssertJson("\"login refused (user app, password ***)\"", faulted.Payload?["error"]);
        var everything = JsonSerializer.Serialize(await host.JournalAsync(state.Id), Json.Options) + JsonSerializer.Serialize(stored.Incidents, Json.Options);
        Assert.DoesNotContain(Password, everything, StringComparison.Ordinal);
    }
}
