using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using Xunit;
using static DrWorkflows.Testing.Behaviour.ElsaJson;

namespace DrWorkflows.Testing.Behaviour;

/// <summary>
/// Elsa's incident strategies (<c>options.incidentStrategyType</c>) on the structure of Elsa's own incident-strategy
/// test: two branches from a start, one waiting on a timer before its second line, the other faulting before its
/// second line. Elsa prints "Start", "Step 1a", "Step 2a" and ends <c>Faulted</c> under its Fault strategy, and also
/// prints "Step 1b" and stays <c>Suspended</c> under Continue with incidents, with one incident either way. The hold
/// (no option) stops the run at the incident for an operator.
/// </summary>
public abstract class IncidentStrategyBehaviourTests : BehaviourTestBase
{
    private static string Options(IncidentStrategy? strategy) => strategy is { } s
        ? $$"""{ "incidentStrategyType": "{{IncidentStrategies.TypeName(s)}}, Elsa.Workflows.Core" }"""
        : """{ "autoUpdateConsumingWorkflows": false }""";

    private static string Faulty(string definitionId, IncidentStrategy? strategy) => Definition(definitionId, Flowchart("flow1",
        [
            WriteLine("start", "Start"),
            WriteLine("step1a", "Step 1a"),
            Delay("event1", "00:05:00"),
            WriteLine("step1b", "Step 1b"),
            WriteLine("step2a", "Step 2a"),
            Activity("Elsa.Fault", "fault", $"\"message\": {Lit("Whoops!")}"),
            WriteLine("step2b", "Step 2b"),
        ],
        [
            Connect("start", "step1a"), Connect("step1a", "event1"), Connect("event1", "step1b"),
            Connect("start", "step2a"), Connect("step2a", "fault"), Connect("fault", "step2b"),
        ]), options: Options(strategy));

    [Fact]
    public async Task FaultStrategy_EndsTheRunFinishedFaulted_WithTheIncidentRecordedAndNothingElseRun()
    {
        await using var host = CreateHost();

        var run = await host.RunAsync(Faulty("fault-strategy", IncidentStrategy.Fault), cancellationToken: Ct);
        await host.AdvanceAsync(TimeSpan.FromMinutes(10), Ct);

        var state = await ReloadAsync(host, run.Id);
        Assert.Equal(["Start", "Step 1a", "Step 2a"], host.Output.Lines);
        Assert.Equal(WorkflowStatus.Finished, state.Status);
        Assert.Equal(WorkflowSubStatus.Faulted, state.SubStatus);
        Assert.Equal("Whoops!", state.Fault?.Message);
        var incident = Assert.Single(state.Incidents);
        Assert.Equal("fault", incident.ActivityId);
        Assert.Equal(IncidentStrategy.Fault, incident.Strategy);
        Assert.Null(incident.Resolution); // open (alerted, counted) until on-call acknowledges it
        Assert.Empty(state.Bookmarks);
        Assert.Empty(await BookmarksAsync(host, run.Id));
        var journal = await host.JournalAsync(run.Id);
        var faulted = Assert.Single(journal, e => e.EventName == JournalEvents.Faulted);
        Assert.Equal("fault", faulted.ActivityId);
        Assert.Equal(IncidentStrategies.FaultType, faulted.Payload?["incidentStrategy"]?.GetValue<string>());
        Assert.Equal("Whoops!", Assert.Single(journal, e => e.EventName == JournalEvents.WorkflowFaulted).Message);
        Assert.Equal(1, (await host.Instances.ListAsync(new InstanceQuery(HasIncidents: true), Ct)).Items.Single(r => r.Id == run.Id).IncidentCount);
    }

    [Fact]
    public async Task ContinueWithIncidents_RecordsTheFaultedActivityAndCarriesOnWithTheOtherBranch()
    {
        await using var host = CreateHost();

        var run = await host.RunAsync(Faulty("continue-strategy", IncidentStrategy.ContinueWithIncidents), cancellationToken: Ct);
        var waiting = await ReloadAsync(host, run.Id);
        AssertSuspended(waiting); // not held: the other branch's timer is what it waits on
        Assert.Single(waiting.Bookmarks);

        await host.AdvanceAsync(TimeSpan.FromMinutes(10), Ct);

        var state = await ReloadAsync(host, run.Id);
        Assert.Equal(["Start", "Step 1a", "Step 2a", "Step 1b"], host.Output.Lines);
        AssertSuspended(state); // as Elsa: the faulted activity never completes, so neither does the flowchart
        Assert.Null(state.Fault);
        var incident = Assert.Single(state.Incidents);
        Assert.Equal("fault", incident.ActivityId);
        Assert.Equal(IncidentStrategy.ContinueWithIncidents, incident.Strategy);
        Assert.Null(incident.Resolution);
        Assert.Equal(ActivityStatus.Faulted, state.Executions.Single(e => e.Id == incident.ExecutionId).Status);
        var journal = await host.JournalAsync(run.Id);
        Assert.Single(journal, e => e.EventName == JournalEvents.Faulted && e.ActivityId == "fault");
        Assert.Contains(journal, e => e.EventName == JournalEvents.Completed && e.ActivityId == "step1b");
        Assert.DoesNotContain(journal, e => e.ActivityId == "step2b");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task OperatorHold_IsTheDefault_AndStopsTheRunAtTheIncident(bool namedExplicitly)
    {
        await using var host = CreateHost();

        var run = await host.RunAsync(Faulty("hold-" + namedExplicitly, namedExplicitly ? IncidentStrategy.OperatorHold : null), cancellationToken: Ct);
        await host.AdvanceAsync(TimeSpan.FromMinutes(10), Ct);

        var state = await ReloadAsync(host, run.Id);
        var incident = AssertFaultedWithIncident(state);
        Assert.Equal(IncidentStrategy.OperatorHold, incident.Strategy);
        Assert.Equal(["Start", "Step 1a", "Step 2a"], host.Output.Lines); // held: the due timer waits for the operator too
        Assert.Equal([IncidentResolution.Retry, IncidentResolution.Skip, IncidentResolution.Fail], WorkflowExecutor.AllowedResolutions(incident));
    }

    [Fact]
    public async Task AStrategyIncident_TakesOnlyAnAcknowledgement_WhichLeavesTheRunAsItEnded()
    {
        await using var host = CreateHost();
        var run = await host.RunAsync(Faulty("fault-ack", IncidentStrategy.Fault), cancellationToken: Ct);
        var incident = Assert.Single((await ReloadAsync(host, run.Id)).Incidents);

        await Assert.ThrowsAsync<InvalidOperationException>(() => host.Runtime.ResolveIncidentAsync(run.Id, incident.Id, IncidentResolution.Retry, "otto", null, Ct));
        await host.Runtime.ResolveIncidentAsync(run.Id, incident.Id, IncidentResolution.Acknowledge, "otto", null, Ct);

        var state = await ReloadAsync(host, run.Id);
        Assert.Equal(WorkflowStatus.Finished, state.Status);
        Assert.Equal(WorkflowSubStatus.Faulted, state.SubStatus);
        Assert.Equal("Whoops!", state.Fault?.Message);
        Assert.Equal(IncidentResolution.Acknowledge, Assert.Single(state.Incidents).Resolution);
        Assert.Equal("otto", Assert.Single(await host.JournalAsync(run.Id), e => e.EventName == JournalEvents.IncidentResolved).Actor);
        Assert.Equal(["Start", "Step 1a", "Step 2a"], host.Output.Lines);
    }

    private static string Breaks(string definitionId, IncidentStrategy? strategy) =>
        Definition(definitionId, Sequence("childSeq", WriteLine("childSays", "child starts"), Activity("Elsa.Fault", "boom", $"\"message\": {Lit("replica is gone")}")), options: Options(strategy));

    private static string Caller(string definitionId, string childId, IncidentStrategy? strategy) => Definition(definitionId, Sequence("parentSeq",
            Activity("Elsa.ExecuteWorkflow", "exec", $"\"workflowDefinitionId\": {Lit(childId)}, \"waitForCompletion\": {Lit("true", "Boolean")}"),
            WriteLine("parentSays", "parent went on")),
        options: Options(strategy));

    // Elsa's ExecuteWorkflow starts a run of its own, under its own strategy, and completes with the child's result
    // however it ended; here a child that did not finish successfully fails the activity, under the parent's strategy.
    [Theory]
    [InlineData(IncidentStrategy.Fault)]
    [InlineData(IncidentStrategy.ContinueWithIncidents)]
    public async Task AChildFaultedByItsOwnFaultStrategy_FaultsTheParentsExecuteWorkflow_UnderTheParentsStrategy(IncidentStrategy parentStrategy)
    {
        await using var host = CreateHost();
        await host.PublishAsync(Breaks("breaks-fault-" + parentStrategy, IncidentStrategy.Fault), Ct);

        var parent = await host.RunAsync(Caller("calls-breaks-fault-" + parentStrategy, "breaks-fault-" + parentStrategy, parentStrategy), cancellationToken: Ct);
        await host.DrainAsync(Ct);

        var child = await ChildOfAsync(host, parent.Id);
        Assert.Equal((WorkflowStatus.Finished, WorkflowSubStatus.Faulted), (child.Status, child.SubStatus));
        Assert.DoesNotContain(await host.JournalAsync(child.Id), e => e.EventName == JournalEvents.WorkflowStarted && e.Payload?["incidentStrategy"] is not null);
        var state = await ReloadAsync(host, parent.Id);
        var incident = Assert.Single(state.Incidents);
        Assert.Equal(("exec", parentStrategy), (incident.ActivityId, incident.Strategy));
        Assert.Contains(child.Id, incident.Message, StringComparison.Ordinal);
        Assert.Contains("replica is gone", incident.Message, StringComparison.Ordinal);
        Assert.Equal(["child starts"], host.Output.Lines); // Elsa would also print "parent went on"
        if (parentStrategy == IncidentStrategy.Fault)
            Assert.Equal((WorkflowStatus.Finished, WorkflowSubStatus.Faulted), (state.Status, state.SubStatus));
        else
            AssertSuspended(state); // the faulted activity never completes
    }

    [Fact]
    public async Task AChildFaultedByTheFaultStrategy_HoldsAParentWithTheDefaultStrategy_RatherThanLeavingItSuspended()
    {
        await using var host = CreateHost();
        await host.PublishAsync(Breaks("breaks-fault-2", IncidentStrategy.Fault), Ct);

        var parent = await host.RunAsync(Caller("holds-on-child", "breaks-fault-2", null), cancellationToken: Ct);
        await host.DrainAsync(Ct);

        var incident = AssertFaultedWithIncident(await ReloadAsync(host, parent.Id));
        Assert.Equal("exec", incident.ActivityId);
        Assert.Contains("replica is gone", incident.Message, StringComparison.Ordinal);
        Assert.Equal(["child starts"], host.Output.Lines);
    }

    // A faulted activity left by the Continue strategy is cancelled with its container, as Elsa cancels every activity
    // that is not completed or cancelled: its record goes (journaled Cancelled), its incident stays open.
    private static string JoinAfterFault(string definitionId) => Definition(definitionId, Flowchart("flow1",
        [
            Start(),
            WriteLine("a1", "a1"),
            Activity("Elsa.Fault", "boom", $"\"message\": {Lit("disk is gone")}"),
            Delay("wait", "00:01:00"),
            WriteLine("b1", "b1"),
            Activity("Elsa.FlowJoin", "join", $"\"mode\": {Lit("WaitAny", "FlowJoinMode")}"),
            WriteLine("after", "after"),
        ],
        [
            Connect("start", "a1"), Connect("a1", "boom"), Connect("boom", "join"),
            Connect("start", "wait"), Connect("wait", "b1"), Connect("b1", "join"),
            Connect("join", "after"),
        ]), options: Options(IncidentStrategy.ContinueWithIncidents));

    [Fact]
    public async Task ContinueWithIncidents_AWaitAnyJoinCancelsTheFaultedBranch_AndTheFlowchartFinishesAsInElsa()
    {
        await using var host = CreateHost();

        var run = await host.RunAsync(JoinAfterFault("continue-join"), cancellationToken: Ct);
        AssertSuspended(await ReloadAsync(host, run.Id));
        await host.AdvanceAsync(TimeSpan.FromMinutes(2), Ct);

        var state = await ReloadAsync(host, run.Id);
        Assert.Equal(["a1", "b1", "after"], host.Output.Lines);
        AssertFinished(state); // before the fix the faulted 'boom' stayed under the flowchart, which never completed
        var incident = Assert.Single(state.Incidents);
        Assert.Equal(("boom", IncidentStrategy.ContinueWithIncidents), (incident.ActivityId, incident.Strategy));
        Assert.Null(incident.Resolution);
        var journal = await host.JournalAsync(run.Id);
        var faulted = Assert.Single(journal, e => e.EventName == JournalEvents.Faulted && e.ActivityId == "boom");
        var cancelled = Assert.Single(journal, e => e.EventName == JournalEvents.Cancelled && e.ActivityId == "boom");
        Assert.True(cancelled.Sequence > faulted.Sequence);
    }

    private static string ForkThenWait(string definitionId) => Definition(definitionId, Sequence("root",
        $$"""
        { "type": "Elsa.Fork", "version": 1, "id": "fork", "joinMode": "WaitAny", "branches": [
            {{Sequence("branchA", WriteLine("a1", "a1"), Activity("Elsa.Fault", "boom", $"\"message\": {Lit("disk is gone")}"))}},
            {{Sequence("branchB", Delay("wait", "00:01:00"), WriteLine("b1", "b1"))}} ] }
        """,
        Delay("later", "00:05:00"),
        WriteLine("after", "after")), options: Options(IncidentStrategy.ContinueWithIncidents));

    [Fact]
    public async Task ContinueWithIncidents_AWaitAnyForkCancelsTheFaultedBranch_LeavingNoRecordOfItBehind()
    {
        await using var host = CreateHost();

        var run = await host.RunAsync(ForkThenWait("continue-fork"), cancellationToken: Ct);
        await host.AdvanceAsync(TimeSpan.FromMinutes(2), Ct);

        var waiting = await ReloadAsync(host, run.Id);
        AssertSuspended(waiting); // on 'later'
        Assert.Equal(["a1", "b1"], host.Output.Lines);
        Assert.DoesNotContain(waiting.Executions, e => e.NodeId.EndsWith(":boom", StringComparison.Ordinal) || e.Status == ActivityStatus.Faulted);
        Assert.All(waiting.Executions, e => Assert.True(e.ParentId is null || waiting.Executions.Any(p => p.Id == e.ParentId), $"execution {e.NodeId} has no parent"));
        Assert.Contains(await host.JournalAsync(run.Id), e => e.EventName == JournalEvents.Cancelled && e.ActivityId == "boom");

        await host.AdvanceAsync(TimeSpan.FromMinutes(10), Ct);
        var state = await ReloadAsync(host, run.Id);
        AssertFinished(state);
        Assert.Equal(["a1", "b1", "after"], host.Output.Lines);
        Assert.Null(Assert.Single(state.Incidents).Resolution);
    }

    [Fact]
    public async Task ContinueWithIncidents_CancellingTheRunCancelsTheFaultedActivity_AndKeepsItsIncident()
    {
        await using var host = CreateHost();
        var run = await host.RunAsync(Faulty("continue-cancel", IncidentStrategy.ContinueWithIncidents), cancellationToken: Ct);

        await host.Runtime.CancelAsync(run.Id, "otto", Ct);

        var state = await ReloadAsync(host, run.Id);
        Assert.Equal((WorkflowStatus.Finished, WorkflowSubStatus.Cancelled), (state.Status, state.SubStatus));
        Assert.Empty(state.Executions);
        Assert.Equal("fault", Assert.Single(state.Incidents).ActivityId);
        var journal = await host.JournalAsync(run.Id);
        Assert.Contains(journal, e => e.EventName == JournalEvents.Cancelled && e.ActivityId == "fault");
        Assert.Contains(journal, e => e.EventName == JournalEvents.Cancelled && e.ActivityId == "event1");
        Assert.Equal(["Start", "Step 1a", "Step 2a"], host.Output.Lines);
    }

    [Fact]
    public async Task OperatorHold_CancellingAHeldRunClosesItsIncident_SoNoActionIsOfferedOnAFinishedRun()
    {
        await using var host = CreateHost();
        var run = await host.RunAsync(Faulty("hold-cancel", null), cancellationToken: Ct);
        Assert.True(Assert.Single((await ReloadAsync(host, run.Id)).Incidents).HoldsRun);

        await host.Runtime.CancelAsync(run.Id, "otto", Ct);

        var state = await ReloadAsync(host, run.Id);
        Assert.Equal((WorkflowStatus.Finished, WorkflowSubStatus.Cancelled), (state.Status, state.SubStatus));
        var incident = Assert.Single(state.Incidents);
        Assert.Equal((IncidentResolution.RunCancelled, "otto"), (incident.Resolution, incident.ResolvedBy));
        Assert.NotNull(incident.ResolvedAt);
        Assert.False(incident.HoldsRun);
        var journal = await host.JournalAsync(run.Id);
        Assert.Contains(journal, e => e.EventName == JournalEvents.IncidentResolved && e.Message!.Contains("the run was cancelled by otto", StringComparison.Ordinal));
    }

    // A workflow used as an activity: Elsa runs it inside its parent, so the parent's strategy decides what a fault in
    // it does, whatever the child's own definition says. Here the child is a run of its own that inherits the strategy.
    private static string Breaker(string definitionId, string name, IncidentStrategy? own) => Definition(definitionId,
        Sequence("childSeq", WriteLine("childSays", "child starts"), Activity("Elsa.Fault", "boom", $"\"message\": {Lit("replica is gone")}"), WriteLine("childEnds", "child ends")),
        name: name,
        options: own is { } s
            ? $$"""{ "usableAsActivity": true, "incidentStrategyType": "{{IncidentStrategies.TypeName(s)}}" }"""
            : """{ "usableAsActivity": true }""");

    private static string UsesBreaker(string definitionId, string activityType, IncidentStrategy? strategy) => Definition(definitionId, Flowchart("flow1",
        [
            Start(),
            Activity(activityType, "useChild"),
            WriteLine("afterChild", "after child"),
            Delay("timer", "00:05:00"),
            WriteLine("other", "other branch"),
        ],
        [
            Connect("start", "useChild"), Connect("useChild", "afterChild"),
            Connect("start", "timer"), Connect("timer", "other"),
        ]), options: Options(strategy));

    private static async Task<WorkflowState> ChildOfAsync(WorkflowTestHost host, string parentId) =>
        await ReloadAsync(host, Assert.Single((await host.Instances.ListAsync(new InstanceQuery(ParentInstanceId: parentId), Ct)).Items).Id);

    [Fact]
    public async Task AWorkflowUsedAsActivity_FaultsUnderTheParentsFaultStrategy_AndSoDoesTheParent()
    {
        await using var host = CreateHost();
        await host.PublishAsync(Breaker("breaker-f", "Breaker F", own: null), Ct); // its own: the hold

        var parent = await host.RunAsync(UsesBreaker("uses-breaker-f", "BreakerF", IncidentStrategy.Fault), cancellationToken: Ct);
        await host.DrainAsync(Ct);
        await host.AdvanceAsync(TimeSpan.FromMinutes(10), Ct);

        var child = await ChildOfAsync(host, parent.Id);
        Assert.Equal((WorkflowStatus.Finished, WorkflowSubStatus.Faulted), (child.Status, child.SubStatus));
        Assert.Equal(IncidentStrategy.Fault, Assert.Single(child.Incidents).Strategy);
        var started = Assert.Single(await host.JournalAsync(child.Id), e => e.EventName == JournalEvents.WorkflowStarted);
        Assert.Equal(IncidentStrategies.FaultType, started.Payload?["incidentStrategy"]?.GetValue<string>());
        var state = await ReloadAsync(host, parent.Id);
        Assert.Equal((WorkflowStatus.Finished, WorkflowSubStatus.Faulted), (state.Status, state.SubStatus)); // as Elsa
        Assert.Contains("replica is gone", state.Fault?.Message, StringComparison.Ordinal);
        Assert.Equal("useChild", Assert.Single(state.Incidents).ActivityId);
        Assert.Equal(["child starts"], host.Output.Lines);
    }

    [Fact]
    public async Task AWorkflowUsedAsActivity_ContinuesWithIncidentsUnderTheParentsContinueStrategy_AndTheParentsOtherBranchRuns()
    {
        await using var host = CreateHost();
        await host.PublishAsync(Breaker("breaker-c", "Breaker C", IncidentStrategy.Fault), Ct); // its own says Fault: the parent's wins

        var parent = await host.RunAsync(UsesBreaker("uses-breaker-c", "BreakerC", IncidentStrategy.ContinueWithIncidents), cancellationToken: Ct);
        await host.DrainAsync(Ct);
        await host.AdvanceAsync(TimeSpan.FromMinutes(10), Ct);

        var child = await ChildOfAsync(host, parent.Id);
        AssertSuspended(child); // the faulted activity never completes, so neither does the child
        var incident = Assert.Single(child.Incidents);
        Assert.Equal(("boom", IncidentStrategy.ContinueWithIncidents), (incident.ActivityId, incident.Strategy));
        Assert.Null(incident.Resolution);
        var state = await ReloadAsync(host, parent.Id);
        AssertSuspended(state); // as Elsa: the activity running the child never completes
        Assert.Equal(["child starts", "other branch"], host.Output.Lines);
        Assert.Empty(state.Incidents); // different from Elsa, where the one incident is on the parent: here it is on the child's run
    }

    [Fact]
    public async Task AWorkflowUsedAsActivity_IsHeldUnderAParentWithTheDefault_AndTheOperatorsFailReachesTheParent()
    {
        await using var host = CreateHost();
        await host.PublishAsync(Breaker("breaker-h", "Breaker H", IncidentStrategy.Fault), Ct);

        var parent = await host.RunAsync(UsesBreaker("uses-breaker-h", "BreakerH", null), cancellationToken: Ct);
        await host.DrainAsync(Ct);

        var child = await ChildOfAsync(host, parent.Id);
        var held = AssertFaultedWithIncident(child); // the DR default wins over the child's own Fault
        Assert.Equal(IncidentStrategy.OperatorHold, held.Strategy);
        AssertSuspended(await ReloadAsync(host, parent.Id)); // waits for the operator's decision on the child

        await host.Runtime.ResolveIncidentAsync(child.Id, held.Id, IncidentResolution.Fail, "otto", null, Ct);
        await host.DrainAsync(Ct);

        var incident = AssertFaultedWithIncident(await ReloadAsync(host, parent.Id));
        Assert.Equal(("useChild", IncidentStrategy.OperatorHold), (incident.ActivityId, incident.Strategy));
        Assert.Contains(child.Id, incident.Message, StringComparison.Ordinal);
        Assert.Equal(["child starts"], host.Output.Lines);
    }
}
