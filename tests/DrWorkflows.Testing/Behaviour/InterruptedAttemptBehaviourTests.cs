using System.Diagnostics;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Runtime;
using Xunit;
using static DrWorkflows.Testing.Behaviour.ElsaJson;

namespace DrWorkflows.Testing.Behaviour;

/// <summary>
/// A step cut short by a crash leaves an <see cref="JournalEvents.Interrupted"/> entry, written when the restart finds
/// it and before what follows (the next attempt, or the incident of an unsafe step); the ambient activity attempt
/// tells services which run, step and attempt they work for.
/// </summary>
public abstract class InterruptedAttemptBehaviourTests : BehaviourTestBase
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 3, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task SafeStep_CutByACrash_IsJournaledInterruptedAtTheRestart_ThenRunsAgainAsTheNextAttempt()
    {
        var json = Definition("crash-safe", Sequence("seq", WriteLine("before", "one"), Activity("Tests.Hang", "restore"), WriteLine("after", "two")));
        var instanceId = await CrashDuringAsync(json, "restore");
        var restartedAt = T0.AddMinutes(7);

        await using var after = CreateHost(restartedAt);
        var resumed = await after.Runtime.RunAsync(instanceId, Ct);

        AssertFinished(resumed!);
        Assert.Equal(2, OutputOf(resumed!, "restore")?.GetValue<int>());
        var journal = await after.JournalAsync(instanceId);
        Assert.Equal(Enumerable.Range(0, journal.Count).Select(i => (long)i), journal.Select(e => e.Sequence));
        var step = journal.Where(e => e.ActivityId == "restore").Select(e => (e.EventName, e.Attempt)).ToList();
        Assert.Equal([(JournalEvents.Started, 1), (JournalEvents.Interrupted, 1), (JournalEvents.Started, 2), (JournalEvents.Completed, 2)], step);
        var interrupted = journal.Single(e => e.EventName == JournalEvents.Interrupted);
        var started = journal.First(e => e.ActivityId == "restore" && e.EventName == JournalEvents.Started);
        Assert.Equal(restartedAt, interrupted.Timestamp); // when the restart found it, not when the attempt began
        Assert.Equal(started.ExecutionId, interrupted.ExecutionId);
        Assert.Equal(("Tests.Hang", "restore"), (interrupted.ActivityType, interrupted.ActivityId));
        Assert.Contains("Attempt 1 of 'restore' (Tests.Hang)", interrupted.Message, StringComparison.Ordinal);
        Assert.Contains("was interrupted", interrupted.Message, StringComparison.Ordinal);
        Assert.Contains("runs again as attempt 2", interrupted.Message, StringComparison.Ordinal);
        AssertJson("1", interrupted.Payload?["interruptedAttempt"]);
        AssertJson("\"retry\"", interrupted.Payload?["next"]);
        AssertJson($"\"{started.Timestamp:O}\"", interrupted.Payload?["startedAt"]);
        var nodeId = after.Services.GetService(typeof(Microsoft.Extensions.Options.IOptions<RuntimeOptions>)) is Microsoft.Extensions.Options.IOptions<RuntimeOptions> o ? o.Value.NodeId : null;
        AssertJson($"\"{nodeId}\"", interrupted.Payload?["startedOn"]);
        AssertJson($"\"{nodeId}\"", interrupted.Payload?["detectedOn"]);
        Assert.Equal(["two"], after.Output.Lines);
    }

    [Fact]
    public async Task UnsafeStep_CutByACrash_IsJournaledInterrupted_BeforeItsIncident_AndNotRunAgain()
    {
        var json = Definition("crash-unsafe", Sequence("seq", Activity("Tests.HangUnsafe", "drop"), WriteLine("after", "two")));
        var instanceId = await CrashDuringAsync(json, "drop");

        await using var after = CreateHost(T0.AddMinutes(3));
        var stopped = await after.Runtime.RunAsync(instanceId, Ct);

        var incident = AssertFaultedWithIncident(stopped!);
        Assert.Equal(IncidentKind.InterruptedUnsafeActivity, incident.Kind);
        var step = (await after.JournalAsync(instanceId)).Where(e => e.ActivityId == "drop").ToList();
        Assert.Equal([(JournalEvents.Started, 1), (JournalEvents.Interrupted, 1), (JournalEvents.IncidentRaised, 1)], step.Select(e => (e.EventName, e.Attempt)));
        Assert.Equal(T0.AddMinutes(3), step[1].Timestamp);
        Assert.Contains("not safe to run again automatically", step[1].Message, StringComparison.Ordinal);
        AssertJson("\"incident\"", step[1].Payload?["next"]);
        Assert.Empty(after.Output.Lines);
    }

    [Fact]
    public async Task SafeStep_CutTwice_HasOneInterruptedEntryPerAttempt()
    {
        var json = Definition("crash-twice", Sequence("seq", Activity("Tests.Hang", "restore", $"\"hangAttempts\": {Lit("2", "Int32")}")));
        var instanceId = await CrashDuringAsync(json, "restore");
        await using (var second = CreateHost(T0.AddMinutes(1)))
            await CrashAsync(second, instanceId, token => second.Runtime.RunAsync(instanceId, token), "restore", attempt: 2);

        await using var third = CreateHost(T0.AddMinutes(2));
        AssertFinished((await third.Runtime.RunAsync(instanceId, Ct))!);

        var step = (await third.JournalAsync(instanceId)).Where(e => e.ActivityId == "restore").Select(e => (e.EventName, e.Attempt)).ToList();
        Assert.Equal(
            [(JournalEvents.Started, 1), (JournalEvents.Interrupted, 1), (JournalEvents.Started, 2), (JournalEvents.Interrupted, 2), (JournalEvents.Started, 3), (JournalEvents.Completed, 3)],
            step);
    }

    [Fact]
    public async Task AStepThatWasNotCut_HasNoInterruptedEntry_AndARestartBetweenStepsAddsNone()
    {
        await using (var host = CreateHost())
        {
            var state = await host.RunAsync(Definition("no-crash", Sequence("seq", Activity("Tests.Flaky", "flaky", $"\"failures\": {Lit("0", "Int32")}"), Activity("Tests.WaitForSignal", "gate"))), cancellationToken: Ct);
            AssertSuspended(state);
            Assert.DoesNotContain(await host.JournalAsync(state.Id), e => e.EventName == JournalEvents.Interrupted);
        }
    }

    [Fact]
    public async Task ServicesSeeTheAttemptTheyWorkFor_AndNothingOutsideIt()
    {
        await using var host = CreateHost();

        var state = await host.RunAsync(Definition("who", Sequence("seq", Activity("Tests.WhoOwnsMe", "who"))), cancellationToken: Ct);

        AssertFinished(state);
        var executionId = (await host.JournalAsync(state.Id)).First(e => e.ActivityId == "who").ExecutionId;
        Assert.Equal($"{state.Id}|{executionId}|who|Tests.WhoOwnsMe|1", OutputOf(state, "who")?.GetValue<string>());
        Assert.Null(ActivityAttempt.Current);
    }

    [Fact]
    public void OnlyActivitiesThatDoOutsideWork_AreCommittedAsStartedBeforeTheyRun()
    {
        var registry = CreateHost().Registry;

        Assert.False(WorkflowExecutor.CommitsBeforeStart(registry.Find("Elsa.WriteLine")!));
        Assert.False(WorkflowExecutor.CommitsBeforeStart(registry.Find("Elsa.Sequence")!));
        Assert.True(WorkflowExecutor.CommitsBeforeStart(registry.Find("Tests.Hang")!)); // safe, but outside the runtime
        Assert.True(WorkflowExecutor.CommitsBeforeStart(registry.Find("Tests.HangUnsafe")!));
    }

    /// <summary>Starts the definition on a first host and cuts it while <paramref name="activityId"/> runs; returns the run id.</summary>
    private async Task<string> CrashDuringAsync(string json, string activityId)
    {
        await using var before = CreateHost(T0);
        var definition = await before.PublishAsync(json, Ct);
        var instanceId = Guid.NewGuid().ToString("N");
        await CrashAsync(before, instanceId, token => before.Runtime.StartAsync(new StartRunRequest(definition.DefinitionId) { InstanceId = instanceId, StartedBy = "test" }, token), activityId, attempt: 1);
        return instanceId;
    }

    /// <summary>
    /// Runs <paramref name="execute"/> until the step is committed as started on <paramref name="attempt"/>, then stops it
    /// as a dying process would: its execution is cancelled and commits nothing more (not even the attempt's end).
    /// </summary>
    private static async Task CrashAsync(WorkflowTestHost host, string instanceId, Func<CancellationToken, Task> execute, string activityId, int attempt)
    {
        using var dies = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var running = Task.Run(() => execute(dies.Token), Ct);
        var clock = Stopwatch.StartNew();
        while (!(await host.JournalAsync(instanceId)).Any(e => e.ActivityId == activityId && e.EventName == JournalEvents.Started && e.Attempt == attempt))
        {
            Assert.False(running.IsCompleted, $"The run ended before step '{activityId}' started attempt {attempt}: {running.Exception?.GetBaseException().Message}");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"Step '{activityId}' was not committed as started on attempt {attempt} within 60 s.");
            await Task.Delay(10, Ct);
        }

        await dies.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        var stored = await host.Instances.GetAsync(instanceId, Ct);
        Assert.Equal(ActivityStatus.Running, stored!.Executions.Single(e => e.Attempt == attempt && stored.Queue.Any(w => w.ExecutionId == e.Id)).Status);
    }
}
