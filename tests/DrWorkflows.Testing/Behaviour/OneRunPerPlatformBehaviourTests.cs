using System.Text.Json.Nodes;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using Xunit;
using static DrWorkflows.Testing.Behaviour.ElsaJson;

namespace DrWorkflows.Testing.Behaviour;

/// <summary>
/// Definitions with <c>customProperties.oneRunPerPlatform</c> (the DR scenarios) run once per platform at a time;
/// notes (an alert that joined a run) reach a run's journal without running it and without waiting for its step.
/// </summary>
public abstract class OneRunPerPlatformBehaviourTests : BehaviourTestBase
{
    private const string OnePerPlatform = """{ "oneRunPerPlatform": true }""";

    private static string Recovery(string definitionId, string customProperties = OnePerPlatform) => Definition(definitionId, Sequence("seq",
            WriteLine("working", "recovering"),
            Activity("Tests.WaitForSignal", "gate", $"\"signal\": {Lit(definitionId)}")),
        inputs: [Argument("Platform")],
        customProperties: customProperties);

    private static Dictionary<string, JsonNode?> On(string platform) => new() { ["Platform"] = platform };

    [Fact]
    public async Task ASecondStartOnTheSamePlatform_IsRefusedNamingTheRunningRun_AnotherPlatformIsNot()
    {
        await using var host = CreateHost();
        await host.PublishAsync(Recovery("db-failure"), Ct);
        var first = await StartAsync(host, "db-failure", On("shop"));

        var refused = await Assert.ThrowsAsync<RunAlreadyRunningException>(() => StartAsync(host, "db-failure", On("shop")));
        var elsewhere = await StartAsync(host, "db-failure", On("ai"));

        AssertSuspended(first);
        Assert.Equal("shop", (await ReloadAsync(host, first.Id)).Platform);
        Assert.Equal(first.Id, refused.RunningInstanceId);
        Assert.Equal("shop", refused.Platform);
        Assert.Contains(first.Id, refused.Message, StringComparison.Ordinal);
        AssertSuspended(elsewhere);
        var runs = await host.Instances.ListAsync(new InstanceQuery(DefinitionId: "db-failure"), Ct);
        Assert.Equal(2, runs.TotalCount);
        Assert.Equal(["recovering", "recovering"], host.Output.Lines);
    }

    [Fact]
    public async Task WhenTheRunningRunEnds_ThePlatformIsFreeForTheNextOne()
    {
        await using var host = CreateHost();
        await host.PublishAsync(Recovery("volume"), Ct);
        var first = await StartAsync(host, "volume", On("shop"));
        var bookmark = Assert.Single(first.Bookmarks);

        var (_, ended) = await host.Runtime.ResumeAsync(bookmark.Id, null, "test", Ct);
        var second = await StartAsync(host, "volume", On("shop"));

        AssertFinished(ended!);
        AssertSuspended(second);
        await host.Runtime.CancelAsync(second.Id, "test", Ct);
        AssertSuspended(await StartAsync(host, "volume", On("shop")));
    }

    [Fact]
    public async Task ADefinitionWithoutTheProperty_RunsAsOftenAsAsked_WithoutAPlatform()
    {
        await using var host = CreateHost();
        await host.PublishAsync(Recovery("backup", customProperties: "{}"), Ct);

        var first = await StartAsync(host, "backup", On("shop"));
        var second = await StartAsync(host, "backup", On("shop"));

        AssertSuspended(first);
        AssertSuspended(second);
        Assert.Null((await ReloadAsync(host, first.Id)).Platform);
    }

    [Fact]
    public async Task TwoStartsAtTheSameMoment_OneRuns_TheOtherIsRefusedNamingIt()
    {
        await using var host = CreateHost();
        await host.PublishAsync(Recovery("racing"), Ct);
        using var go = new ManualResetEventSlim();

        var attempts = Enumerable.Range(0, 4).Select(_ => Task.Run(
            async () =>
            {
                go.Wait(Ct);
                try
                {
                    return (Run: (await StartAsync(host, "racing", On("shop"))).Id, Refused: (string?)null);
                }
                catch (RunAlreadyRunningException e)
                {
                    return (Run: (string?)null, Refused: e.RunningInstanceId);
                }
            },
            Ct)).ToList();
        go.Set();
        var outcomes = await Task.WhenAll(attempts);

        var winner = Assert.Single(outcomes, o => o.Run is not null).Run;
        Assert.All(outcomes.Where(o => o.Run is null), o => Assert.Equal(winner, o.Refused));
        Assert.Equal(1, (await host.Instances.ListAsync(new InstanceQuery(DefinitionId: "racing"), Ct)).TotalCount);
    }

    [Fact]
    public async Task AChildRunOnABusyPlatform_IsNotStarted_AndTheParentsStepFailsNamingTheRunningRun()
    {
        await using var host = CreateHost();
        await host.PublishAsync(Recovery("scenario"), Ct);
        var running = await StartAsync(host, "scenario", On("shop"));
        var parent = Definition("drill", Sequence("drillSeq",
            Activity("Elsa.ExecuteWorkflow", "exec", $"""
                "workflowDefinitionId": {Lit("scenario")},
                "input": {Js("({ Platform: 'shop' })")},
                "waitForCompletion": {Lit("true", "Boolean")}
                """)));

        var started = await host.RunAsync(parent, cancellationToken: Ct);
        await host.DrainAsync(Ct);

        var stored = await ReloadAsync(host, started.Id);
        var problem = stored.Fault?.Message ?? string.Join("; ", stored.Incidents.Select(i => i.Message));
        Assert.Contains("already running", problem, StringComparison.Ordinal);
        Assert.Contains(running.Id, problem, StringComparison.Ordinal);
        Assert.Equal([running.Id], (await host.Instances.ListAsync(new InstanceQuery(DefinitionId: "scenario"), Ct)).Items.Select(r => r.Id));
    }

    [Fact]
    public async Task ANoteForAWaitingRun_IsWrittenToItsJournalAtOnce_WithoutRunningIt()
    {
        await using var host = CreateHost();
        await host.PublishAsync(Recovery("noted"), Ct);
        var run = await StartAsync(host, "noted", On("shop"));

        var outcome = await host.Runtime.AddNoteAsync(run.Id, "Alert DatabaseDown joined this run", new JsonObject { ["alert"] = new JsonObject { ["fingerprint"] = "fp1" } }, "alertmanager (ops)", Ct);

        Assert.Equal(NoteOutcome.Written, outcome);
        var note = (await host.JournalAsync(run.Id))[^1];
        Assert.Equal(JournalEvents.Note, note.EventName);
        Assert.Equal("Alert DatabaseDown joined this run", note.Message);
        Assert.Equal("alertmanager (ops)", note.Actor);
        Assert.Equal("fp1", note.Payload!["alert"]!["fingerprint"]!.GetValue<string>());
        var after = await ReloadAsync(host, run.Id);
        AssertSuspended(after);
        Assert.Equal(run.Bookmarks.Select(b => b.Id), after.Bookmarks.Select(b => b.Id));
        Assert.Equal(["recovering"], host.Output.Lines);
    }

    [Fact]
    public async Task ANoteWhileAStepRuns_DoesNotWaitForTheStep_AndIsWrittenWithTheRunsNextCommit()
    {
        await using var host = CreateHost();
        var hold = "hold-" + Guid.NewGuid().ToString("N");
        await host.PublishAsync(Definition("long-step", Sequence("seq",
            Activity("Tests.Hold", "restore", $"\"holdName\": {Lit(hold)}"),
            WriteLine("after", "restored"))), Ct);
        var running = Task.Run(() => StartAsync(host, "long-step"), Ct);
        await Hold.Entered(hold).WaitAsync(TimeSpan.FromMinutes(2), Ct);
        var id = (await host.Instances.ListAsync(new InstanceQuery(DefinitionId: "long-step"), Ct)).Items.Single().Id;

        var outcome = await host.Runtime.AddNoteAsync(id, "Alert joined during the restore", null, "alertmanager", Ct);
        var duringStep = await host.JournalAsync(id);
        Hold.Release(hold);
        var ended = await running.WaitAsync(TimeSpan.FromMinutes(2), Ct);

        Assert.Equal(NoteOutcome.Queued, outcome);
        Assert.DoesNotContain(duringStep, e => e.EventName == JournalEvents.Note);
        AssertFinished(ended);
        var journal = await host.JournalAsync(id);
        var note = Assert.Single(journal, e => e.EventName == JournalEvents.Note);
        Assert.Equal("Alert joined during the restore", note.Message);
        Assert.True(journal.ToList().IndexOf(note) < journal.ToList().FindIndex(e => e.EventName == JournalEvents.WorkflowFinished));
    }

    [Fact]
    public async Task ANoteForARunThatDoesNotExist_SaysSo()
    {
        await using var host = CreateHost();

        Assert.Equal(NoteOutcome.InstanceNotFound, await host.Runtime.AddNoteAsync("no-such-run", "note", null, "test", Ct));
    }
}
