using DrWorkflows.Core.Activities.Scheduling;
using Xunit;
using static DrWorkflows.Testing.Behaviour.ElsaJson;

namespace DrWorkflows.Testing.Behaviour;

/// <summary>
/// Durable timers in the middle of a run: Delay, Timer, StartAt and Cron wait on a persisted timer bookmark that
/// fires when due, also after the orchestrator restarted (a new host over the same store).
/// </summary>
public abstract class TimerBehaviourTests : BehaviourTestBase
{
    private static string Waiting(string definitionId, string timer) =>
        Definition(definitionId, Sequence("seq", WriteLine("before", "before"), timer, WriteLine("after", "after")));

    [Fact]
    public async Task Delay_SuspendsOnATimerBookmarkUntilTheDurationHasPassed()
    {
        await using var host = CreateHost();

        var state = await host.RunAsync(Waiting("delay", Delay("wait", "00:05:00")), cancellationToken: Ct);

        AssertSuspended(state);
        var bookmark = Assert.Single(await BookmarksAsync(host, state.Id));
        Assert.Equal(TimerActivity.BookmarkName, bookmark.Name);
        Assert.Equal("wait", bookmark.NodeId.Split(':')[^1]);
        Assert.Equal(host.Clock.GetUtcNow().AddMinutes(5), bookmark.ResumeAt);

        await host.AdvanceAsync(TimeSpan.FromMinutes(4) + TimeSpan.FromSeconds(59), Ct);
        AssertSuspended(await ReloadAsync(host, state.Id));
        Assert.Equal(["before"], host.Output.Lines);

        await host.AdvanceAsync(TimeSpan.FromSeconds(1), Ct);
        AssertFinished(await ReloadAsync(host, state.Id));
        Assert.Equal(["before", "after"], host.Output.Lines);
        var resumed = (await host.JournalAsync(state.Id)).Single(e => e.ActivityId == "wait" && e.EventName == Core.Execution.JournalEvents.Resumed);
        Assert.Equal("timer", resumed.Actor);
    }

    [Theory]
    [InlineData("PT2M")]
    [InlineData("2m")]
    [InlineData("00:02:00")]
    public async Task Delay_AcceptsElsaAndShortDurationFormats(string duration)
    {
        await using var host = CreateHost();

        var state = await host.RunAsync(Waiting("delay-format", Delay("wait", duration)), cancellationToken: Ct);

        Assert.Equal(host.Clock.GetUtcNow().AddMinutes(2), Assert.Single(await BookmarksAsync(host, state.Id)).ResumeAt);
    }

    [Fact]
    public async Task Delay_OfZero_DoesNotWait()
    {
        await using var host = CreateHost();

        var state = await host.RunAsync(Waiting("delay-zero", Delay("wait", "00:00:00")), cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["before", "after"], host.Output.Lines);
    }

    [Fact]
    public async Task Timer_InTheMiddleOfARun_WaitsOneInterval()
    {
        await using var host = CreateHost();

        var state = await host.RunAsync(Waiting("timer", Activity("Elsa.Timer", "tick", $"\"interval\": {Lit("01:00:00", "TimeSpan")}")), cancellationToken: Ct);

        AssertSuspended(state);
        await host.AdvanceAsync(TimeSpan.FromMinutes(59), Ct);
        Assert.Equal(["before"], host.Output.Lines);
        await host.AdvanceAsync(TimeSpan.FromMinutes(1), Ct);
        AssertFinished(await ReloadAsync(host, state.Id));
        Assert.Equal(["before", "after"], host.Output.Lines);
    }

    [Fact]
    public async Task StartAt_WaitsUntilTheMoment()
    {
        await using var host = CreateHost();

        var state = await host.RunAsync(Waiting("start-at", Activity("Elsa.StartAt", "at", $"\"dateTime\": {Lit("2026-11-01T05:30:00Z", "DateTimeOffset")}")), cancellationToken: Ct);

        AssertSuspended(state);
        Assert.Equal(new DateTimeOffset(2026, 11, 1, 5, 30, 0, TimeSpan.Zero), Assert.Single(await BookmarksAsync(host, state.Id)).ResumeAt);
        await host.AdvanceAsync(TimeSpan.FromHours(2), Ct);
        Assert.Equal(["before"], host.Output.Lines);
        await host.AdvanceAsync(TimeSpan.FromMinutes(30), Ct);
        AssertFinished(await ReloadAsync(host, state.Id));
    }

    [Fact]
    public async Task StartAt_InThePast_DoesNotWait()
    {
        await using var host = CreateHost();

        var state = await host.RunAsync(Waiting("start-at-past", Activity("Elsa.StartAt", "at", $"\"dateTime\": {Js("'2020-01-01T00:00:00Z'", "DateTimeOffset")}")), cancellationToken: Ct);

        AssertFinished(state);
    }

    [Theory]
    [InlineData("45 3 * * *", 45)]
    [InlineData("0 30 3 * * *", 30)]
    [InlineData("*/20 * * * *", 20)]
    public async Task Cron_InTheMiddleOfARun_WaitsForTheNextOccurrenceInUtc(string expression, int minutesAfterThree)
    {
        await using var host = CreateHost(new DateTimeOffset(2026, 11, 1, 3, 0, 0, TimeSpan.Zero));

        var state = await host.RunAsync(Waiting("cron", Activity("Elsa.Cron", "cron", $"\"cronExpression\": {Lit(expression)}")), cancellationToken: Ct);

        AssertSuspended(state);
        var due = new DateTimeOffset(2026, 11, 1, 3, minutesAfterThree, 0, TimeSpan.Zero);
        Assert.Equal(due, Assert.Single(await BookmarksAsync(host, state.Id)).ResumeAt);
        await host.AdvanceAsync(TimeSpan.FromMinutes(minutesAfterThree) - TimeSpan.FromSeconds(1), Ct);
        AssertSuspended(await ReloadAsync(host, state.Id));
        await host.AdvanceAsync(TimeSpan.FromSeconds(1), Ct);
        AssertFinished(await ReloadAsync(host, state.Id));
        Assert.Equal(["before", "after"], host.Output.Lines);
    }

    [Fact]
    public async Task Cron_WithAnInvalidLiteralExpression_IsRefusedAtPublish_ButSavesAsADraft()
    {
        await using var host = CreateHost();
        var definition = Waiting("cron-bad-literal", Activity("Elsa.Cron", "cron", $"\"cronExpression\": {Lit("every monday")}"));

        var error = await Assert.ThrowsAsync<Core.WorkflowDefinitionException>(() => host.PublishAsync(definition, Ct));

        Assert.Equal("cron", error.ActivityId);
        Assert.Contains("every monday", error.Message, StringComparison.Ordinal);
        Assert.Contains("elsa-compatibility.md", error.Message, StringComparison.Ordinal);
        Assert.Null(await host.Definitions.FindAsync("cron-bad-literal", Core.Persistence.VersionOptions.PublishedVersion, Ct));
        var draft = await host.Definitions.SaveAsync(Core.Model.WorkflowDefinitionDocument.Parse(definition), publish: false, "test", isReadonly: false, Ct);
        Assert.False(draft.IsPublished);
    }

    [Fact]
    public async Task Cron_WithAnInvalidComputedExpression_RaisesAClearIncident()
    {
        await using var host = CreateHost();

        var state = await host.RunAsync(Waiting("cron-bad", Activity("Elsa.Cron", "cron", $"\"cronExpression\": {Js("'every ' + 'monday'", "String")}")), cancellationToken: Ct);

        var incident = AssertFaultedWithIncident(state);
        Assert.Equal("cron", incident.ActivityId);
        Assert.Contains("every monday", incident.Message, StringComparison.Ordinal);
        Assert.Contains("cron", incident.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Delay_FiresAfterTheOrchestratorRestarted()
    {
        string instanceId;
        DateTimeOffset stoppedAt;
        await using (var before = CreateHost())
        {
            var state = await before.RunAsync(Waiting("delay-restart", Delay("wait", "00:10:00")), cancellationToken: Ct);
            AssertSuspended(state);
            instanceId = state.Id;
            stoppedAt = before.Clock.GetUtcNow();
            Assert.Equal(["before"], before.Output.Lines);
        }

        await using var after = CreateHost(stoppedAt.AddMinutes(11));
        await after.DrainAsync(Ct);

        AssertFinished(await ReloadAsync(after, instanceId));
        Assert.Equal(["after"], after.Output.Lines);
        var journal = await after.JournalAsync(instanceId);
        Assert.Contains(journal, e => e.ActivityId == "wait" && e.EventName == Core.Execution.JournalEvents.Resumed && e.Actor == "timer");
    }

    [Fact]
    public async Task Delay_NotYetDueAfterRestart_KeepsWaitingThenFires()
    {
        string instanceId;
        DateTimeOffset stoppedAt;
        await using (var before = CreateHost())
        {
            var state = await before.RunAsync(Waiting("delay-restart-early", Delay("wait", "01:00:00")), cancellationToken: Ct);
            instanceId = state.Id;
            stoppedAt = before.Clock.GetUtcNow();
        }

        await using var after = CreateHost(stoppedAt.AddMinutes(30));
        await after.DrainAsync(Ct);
        AssertSuspended(await ReloadAsync(after, instanceId));
        Assert.Empty(after.Output.Lines);

        await after.AdvanceAsync(TimeSpan.FromMinutes(30), Ct);
        AssertFinished(await ReloadAsync(after, instanceId));
        Assert.Equal(["after"], after.Output.Lines);
    }

    [Fact]
    public async Task ParallelForEach_IterationsWaitingAcrossARestart_KeepTheirOwnValues()
    {
        string instanceId;
        DateTimeOffset stoppedAt;
        var json = Definition("parallel-restart", Sequence("seq",
            Activity("Elsa.ParallelForEach", "each", $"""
                "items": {Js("['eu', 'us']")},
                "body": {Sequence("body", Delay("wait", "00:05:00"), WriteLineJs("say", "'region ' + CurrentValue + ' #' + CurrentIndex"))}
                """),
            WriteLine("after", "done")));
        await using (var before = CreateHost())
        {
            var state = await before.RunAsync(json, cancellationToken: Ct);
            instanceId = state.Id;
            stoppedAt = before.Clock.GetUtcNow();
        }

        await using var after = CreateHost(stoppedAt.AddMinutes(6));
        await after.DrainAsync(Ct);

        AssertFinished(await ReloadAsync(after, instanceId));
        Assert.Equal(["region eu #0", "region us #1"], after.Output.Lines.Take(2).Order(StringComparer.Ordinal));
        Assert.Equal("done", after.Output.Lines[^1]);
    }

    [Fact]
    public async Task Cron_FiresAfterTheOrchestratorRestarted()
    {
        string instanceId;
        await using (var before = CreateHost(new DateTimeOffset(2026, 11, 1, 2, 50, 0, TimeSpan.Zero)))
        {
            var state = await before.RunAsync(Waiting("cron-restart", Activity("Elsa.Cron", "cron", $"\"cronExpression\": {Lit("0 3 * * *")}")), cancellationToken: Ct);
            AssertSuspended(state);
            instanceId = state.Id;
        }

        await using var after = CreateHost(new DateTimeOffset(2026, 11, 1, 3, 0, 0, TimeSpan.Zero));
        await after.DrainAsync(Ct);

        AssertFinished(await ReloadAsync(after, instanceId));
        Assert.Equal(["after"], after.Output.Lines);
    }
}
