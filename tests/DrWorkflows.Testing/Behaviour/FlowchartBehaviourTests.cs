using DrWorkflows.Core;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using Xunit;
using static DrWorkflows.Testing.Behaviour.ElsaJson;

namespace DrWorkflows.Testing.Behaviour;

/// <summary>
/// Elsa's flowchart and its flow activities: connections between outcome ports, Start, FlowDecision, FlowFork,
/// FlowJoin (WaitAll/WaitAny), FlowSwitch (MatchFirst/MatchAny/Default), FlowNode, End, Complete, Finish, Fault.
/// </summary>
public abstract class FlowchartBehaviourTests : BehaviourTestBase
{
    [Fact]
    public async Task Flowchart_RunsActivitiesAlongTheirConnections()
    {
        await using var host = CreateHost();
        var json = Definition("chain", Flowchart("flow1",
            [Start(), WriteLine("a", "one"), WriteLine("b", "two"), WriteLine("c", "three"), WriteLine("orphan", "never")],
            [Connect("start", "a"), Connect("a", "b"), Connect("b", "c")]));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["one", "two", "three"], host.Output.Lines);
    }

    [Fact]
    public async Task Flowchart_ConnectionWithoutPorts_UsesDoneAndIn()
    {
        await using var host = CreateHost();
        var json = Definition("default-ports", Flowchart("flow1",
            [Start(), WriteLine("a", "reached")],
            ["""{ "source": { "activity": "start" }, "target": { "activity": "a" } }"""]));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["reached"], host.Output.Lines);
    }

    [Fact]
    public async Task Flowchart_WithoutStartActivity_BeginsWithTheActivityThatHasNoInboundConnection()
    {
        await using var host = CreateHost();
        var json = Definition("no-start", Flowchart("flow1",
            [WriteLine("second", "2"), WriteLine("first", "1")],
            [Connect("first", "second")]));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["1", "2"], host.Output.Lines);
    }

    [Fact]
    public async Task Flowchart_BackEdge_LoopsUntilTheDecisionLeavesTheLoop()
    {
        await using var host = CreateHost();
        var json = Definition("flow-loop", Flowchart("flow1",
            [
                Start(),
                SetVariable("inc", "v-count", "Count", Js("getVariable('Count') + 1")),
                WriteLineJs("say", "'pass ' + Count"),
                Activity("Elsa.FlowDecision", "more", $"\"condition\": {Js("Count < 3", "Boolean")}"),
                WriteLine("done", "left the loop"),
            ],
            [Connect("start", "inc"), Connect("inc", "say"), Connect("say", "more"), Connect("more", "inc", "True"), Connect("more", "done", "False")]),
            variables: [Variable("v-count", "Count", "Int32", "0")]);

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["pass 1", "pass 2", "pass 3", "left the loop"], host.Output.Lines);
        AssertJson("3", state.Variables["v-count"]);
    }

    [Theory]
    [InlineData("7", "big")]
    [InlineData("2", "small")]
    public async Task FlowDecision_TakesTheTrueOrFalsePort(string count, string expected)
    {
        await using var host = CreateHost();
        var json = Definition("decision", Flowchart("flow1",
            [
                Start(),
                Activity("Elsa.FlowDecision", "decide", $"\"condition\": {Js("getVariable('Count') > 5", "Boolean")}"),
                WriteLine("yes", "big"),
                WriteLine("no", "small"),
            ],
            [Connect("start", "decide"), Connect("decide", "yes", "True"), Connect("decide", "no", "False")]),
            variables: [Variable("v1", "Count", "Int32", count)]);

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal([expected], host.Output.Lines);
        var journal = await host.JournalAsync(state.Id);
        Assert.Contains(journal, e => e.ActivityId == "decide" && e.EventName == JournalEvents.Completed && e.Outcomes!.SequenceEqual([expected == "big" ? "True" : "False"]));
    }

    [Fact]
    public async Task FlowFork_StartsEveryListedBranchAndNoOther()
    {
        await using var host = CreateHost();
        var json = Definition("fork", Flowchart("flow1",
            [
                Start(),
                Activity("Elsa.FlowFork", "fork", $"\"branches\": {Lit("Left,Right", "String[]")}"),
                WriteLine("left", "left"),
                WriteLine("right", "right"),
                WriteLine("other", "other"),
            ],
            [Connect("start", "fork"), Connect("fork", "left", "Left"), Connect("fork", "right", "Right"), Connect("fork", "other", "Other")]));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["left", "right"], host.Output.Lines);
    }

    /// <summary>A fork whose slow branch waits a minute (and has started waiting when the fast one arrives) before both meet in a join.</summary>
    private static string ForkJoin(string definitionId, string joinMode) => $$"""
        {
          "definitionId": "{{definitionId}}",
          "name": "Fork and join",
          "variables": [], "inputs": [], "outputs": [], "outcomes": [], "customProperties": {},
          "options": { "autoUpdateConsumingWorkflows": false },
          "root": {
            "type": "Elsa.Flowchart", "version": 1, "id": "flow1", "nodeId": "Workflow1:flow1",
            "metadata": {}, "customProperties": {},
            "activities": [
              { "type": "Elsa.Start", "version": 1, "id": "start", "nodeId": "Workflow1:flow1:start",
                "metadata": { "designer": { "position": { "x": 0, "y": 0 } } } },
              { "type": "Elsa.FlowFork", "version": 1, "id": "fork", "nodeId": "Workflow1:flow1:fork",
                "branches": { "typeName": "String[]", "expression": { "type": "Object", "value": "[\"Fast\",\"Slow\"]" } } },
              { "type": "Elsa.WriteLine", "version": 1, "id": "fast", "nodeId": "Workflow1:flow1:fast",
                "text": { "typeName": "String", "expression": { "type": "Literal", "value": "fast branch" } } },
              { "type": "Elsa.FlowNode", "version": 1, "id": "relay", "nodeId": "Workflow1:flow1:relay" },
              { "type": "Elsa.Delay", "version": 1, "id": "wait", "nodeId": "Workflow1:flow1:wait",
                "timeSpan": { "typeName": "TimeSpan", "expression": { "type": "Literal", "value": "00:01:00" } } },
              { "type": "Elsa.WriteLine", "version": 1, "id": "slow", "nodeId": "Workflow1:flow1:slow",
                "text": { "typeName": "String", "expression": { "type": "Literal", "value": "slow branch" } } },
              { "type": "Elsa.FlowJoin", "version": 1, "id": "join", "nodeId": "Workflow1:flow1:join",
                "mode": { "typeName": "FlowJoinMode", "expression": { "type": "Literal", "value": "{{joinMode}}" } } },
              { "type": "Elsa.WriteLine", "version": 1, "id": "after", "nodeId": "Workflow1:flow1:after",
                "text": { "typeName": "String", "expression": { "type": "Literal", "value": "joined" } } }
            ],
            "connections": [
              { "source": { "activity": "start", "port": "Done" }, "target": { "activity": "fork", "port": "In" }, "vertices": [] },
              { "source": { "activity": "fork", "port": "Fast" }, "target": { "activity": "fast", "port": "In" }, "vertices": [] },
              { "source": { "activity": "fork", "port": "Slow" }, "target": { "activity": "wait", "port": "In" }, "vertices": [] },
              { "source": { "activity": "wait", "port": "Done" }, "target": { "activity": "slow", "port": "In" }, "vertices": [] },
              { "source": { "activity": "fast", "port": "Done" }, "target": { "activity": "relay", "port": "In" }, "vertices": [] },
              { "source": { "activity": "relay", "port": "Done" }, "target": { "activity": "join", "port": "In" }, "vertices": [] },
              { "source": { "activity": "slow", "port": "Done" }, "target": { "activity": "join", "port": "In" }, "vertices": [] },
              { "source": { "activity": "join", "port": "Done" }, "target": { "activity": "after", "port": "In" }, "vertices": [] }
            ]
          }
        }
        """;

    [Fact]
    public async Task FlowJoin_WaitAll_ContinuesOnlyWhenEveryBranchArrived()
    {
        await using var host = CreateHost();

        var state = await host.RunAsync(ForkJoin("join-all", "WaitAll"), cancellationToken: Ct);

        AssertSuspended(state);
        Assert.Equal(["fast branch"], host.Output.Lines);
        await host.AdvanceAsync(TimeSpan.FromMinutes(1), Ct);
        AssertFinished(await ReloadAsync(host, state.Id));
        Assert.Equal(["fast branch", "slow branch", "joined"], host.Output.Lines);
        var journal = await host.JournalAsync(state.Id);
        Assert.Single(journal, e => e.ActivityId == "join" && e.EventName == JournalEvents.Completed);
    }

    [Fact]
    public async Task FlowJoin_WaitAny_ContinuesWithTheFirstBranchAndCancelsTheOthers()
    {
        await using var host = CreateHost();

        var state = await host.RunAsync(ForkJoin("join-any", "WaitAny"), cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["fast branch", "joined"], host.Output.Lines);
        Assert.Empty(state.Bookmarks);
        Assert.Empty(await BookmarksAsync(host, state.Id));
        var journal = await host.JournalAsync(state.Id);
        Assert.Contains(journal, e => e.ActivityId == "wait" && e.EventName == JournalEvents.Cancelled);
        await host.AdvanceAsync(TimeSpan.FromMinutes(5), Ct);
        Assert.Equal(["fast branch", "joined"], host.Output.Lines);
    }

    [Fact]
    public async Task FlowJoin_WaitAllActive_WaitsForTheBranchesThatWereTaken()
    {
        await using var host = CreateHost();
        var json = Definition("join-all-active", Flowchart("flow1",
            [
                Start(),
                Activity("Elsa.FlowFork", "fork", $"\"branches\": {Lit("A,B", "String[]")}"),
                Activity("Elsa.FlowDecision", "decide", $"\"condition\": {Lit("true", "Boolean")}"),
                WriteLine("taken", "taken"),
                WriteLine("untaken", "untaken"),
                WriteLine("other", "other branch"),
                Activity("Elsa.FlowJoin", "join", $"\"mode\": {Lit("WaitAllActive", "FlowJoinMode")}"),
                WriteLine("after", "joined"),
            ],
            [
                Connect("start", "fork"), Connect("fork", "decide", "A"), Connect("decide", "taken", "True"), Connect("decide", "untaken", "False"),
                Connect("fork", "other", "B"), Connect("taken", "join"), Connect("untaken", "join"), Connect("other", "join"), Connect("join", "after"),
            ]));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["other branch", "taken", "joined"], host.Output.Lines);
    }

    private static string FlowSwitchDefinition(string definitionId, string mode, int value) => Definition(definitionId, Flowchart("flow1",
        [
            Start(),
            Activity("Elsa.FlowSwitch", "switch", $$"""
                "mode": {{Lit(mode, "SwitchMode")}},
                "cases": [
                  { "label": "Small", "condition": { "type": "JavaScript", "value": "getVariable('Size') < 10" } },
                  { "label": "Medium", "condition": { "type": "JavaScript", "value": "getVariable('Size') < 100" } },
                  { "label": "Odd", "condition": { "type": "JavaScript", "value": "getVariable('Size') % 2 === 1" } }
                ]
                """),
            WriteLine("small", "small"),
            WriteLine("medium", "medium"),
            WriteLine("odd", "odd"),
            WriteLine("default", "default"),
        ],
        [Connect("start", "switch"), Connect("switch", "small", "Small"), Connect("switch", "medium", "Medium"), Connect("switch", "odd", "Odd"), Connect("switch", "default", "Default")]),
        variables: [Variable("v-size", "Size", "Int32", value.ToString(System.Globalization.CultureInfo.InvariantCulture))]);

    [Fact]
    public async Task FlowSwitch_MatchFirst_TakesOnlyTheFirstMatchingCase()
    {
        await using var host = CreateHost();

        var state = await host.RunAsync(FlowSwitchDefinition("switch-first", "MatchFirst", 5), cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["small"], host.Output.Lines);
    }

    [Fact]
    public async Task FlowSwitch_MatchAny_TakesEveryMatchingCase()
    {
        await using var host = CreateHost();

        var state = await host.RunAsync(FlowSwitchDefinition("switch-any", "MatchAny", 5), cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["small", "medium", "odd"], host.Output.Lines);
    }

    [Fact]
    public async Task FlowSwitch_NoMatchingCase_TakesTheDefaultPort()
    {
        await using var host = CreateHost();

        var state = await host.RunAsync(FlowSwitchDefinition("switch-default", "MatchAny", 1000), cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["default"], host.Output.Lines);
    }

    [Fact]
    public async Task FlowSwitch_WithoutMode_MatchesTheFirstCaseOnly()
    {
        await using var host = CreateHost();
        var json = Definition("switch-no-mode", Flowchart("flow1",
            [
                Start(),
                Activity("Elsa.FlowSwitch", "switch", """
                    "cases": [
                      { "label": "A", "condition": { "type": "JavaScript", "value": "true" } },
                      { "label": "B", "condition": { "type": "Literal", "value": "true" } }
                    ]
                    """),
                WriteLine("a", "a"),
                WriteLine("b", "b"),
            ],
            [Connect("start", "switch"), Connect("switch", "a", "A"), Connect("switch", "b", "B")]));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["a"], host.Output.Lines);
    }

    /// <summary>Two branches (one waits a minute) meeting in <c>merge</c>, an activity with a merge mode and no join.</summary>
    private static string MergeDefinition(string definitionId, string mergeMode) => Definition(definitionId, Flowchart("flow1",
        [
            Start(),
            Activity("Elsa.FlowFork", "fork", $"\"branches\": {Lit("A,B", "String[]")}"),
            WriteLine("a", "a"),
            WriteLine("b", "b"),
            Delay("wait", "00:01:00"),
            WriteLine("late", "late"),
            Activity("Elsa.WriteLine", "merge", $"\"text\": {Lit("merged")}, \"customProperties\": {{ \"mergeMode\": \"{mergeMode}\" }}"),
        ],
        [Connect("start", "fork"), Connect("fork", "a", "A"), Connect("fork", "b", "B"), Connect("a", "merge"), Connect("b", "merge"), Connect("fork", "wait", "B"), Connect("wait", "late"), Connect("late", "merge")]));

    [Theory]
    [InlineData("Stream", "a,b,merged", "a,b,merged,late,merged")]
    [InlineData("Cascade", "a,b,merged,merged", "a,b,merged,merged,late,merged")]
    [InlineData("Converge", "a,b", "a,b,late,merged")]
    [InlineData("Merge", "a,b", "a,b,late,merged")]
    [InlineData("Race", "a,merged", "a,merged")]
    public async Task MergeMode_DecidesWhenAnActivityWithSeveralInboundConnectionsRuns(string mergeMode, string beforeDelay, string afterDelay)
    {
        await using var host = CreateHost();

        var state = await host.RunAsync(MergeDefinition("merge-" + mergeMode.ToUpperInvariant(), mergeMode), cancellationToken: Ct);
        Assert.Equal(beforeDelay.Split(','), host.Output.Lines);
        await host.AdvanceAsync(TimeSpan.FromMinutes(1), Ct);

        Assert.Equal(afterDelay.Split(','), host.Output.Lines);
        AssertFinished(await ReloadAsync(host, state.Id));
    }

    [Fact]
    public async Task MergeMode_Default_DoesNotWaitForAnUntakenPath()
    {
        await using var host = CreateHost();
        var json = Definition("merge-untaken", Flowchart("flow1",
            [
                Start(),
                Activity("Elsa.FlowDecision", "decide", $"\"condition\": {Lit("true", "Boolean")}"),
                WriteLine("yes", "yes"),
                WriteLine("no", "no"),
                WriteLine("after", "after"),
            ],
            [Connect("start", "decide"), Connect("decide", "yes", "True"), Connect("decide", "no", "False"), Connect("yes", "after"), Connect("no", "after")]));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["yes", "after"], host.Output.Lines);
    }

    [Fact]
    public async Task MergeMode_Merge_WaitsForAnUntakenForwardPath_AndTheRunStillEnds()
    {
        await using var host = CreateHost();
        var json = Definition("merge-merge-untaken", Flowchart("flow1",
            [
                Start(),
                Activity("Elsa.FlowDecision", "decide", $"\"condition\": {Lit("true", "Boolean")}"),
                WriteLine("yes", "yes"),
                WriteLine("no", "no"),
                Activity("Elsa.WriteLine", "after", $"\"text\": {Lit("after")}, \"customProperties\": {{ \"mergeMode\": \"Merge\" }}"),
            ],
            [Connect("start", "decide"), Connect("decide", "yes", "True"), Connect("decide", "no", "False"), Connect("yes", "after"), Connect("no", "after")]));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["yes"], host.Output.Lines);
    }

    [Fact]
    public async Task FlowNode_PassesControlOn()
    {
        await using var host = CreateHost();
        var json = Definition("flow-node", Flowchart("flow1",
            [Start(), WriteLine("before", "before"), Activity("Elsa.FlowNode", "node"), WriteLine("after", "after")],
            [Connect("start", "before"), Connect("before", "node"), Connect("node", "after")]));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["before", "after"], host.Output.Lines);
        Assert.Contains(await host.JournalAsync(state.Id), e => e.ActivityId == "node" && e.EventName == JournalEvents.Completed);
    }

    // Elsa's FlowNode ("Container") runs its body and completes with Done when the body completes.
    private static string FlowNodeWithBody(string definitionId, string body) => Definition(definitionId, Flowchart("flow1",
        [Start(), WriteLine("before", "before"), Activity("Elsa.FlowNode", "node", $"\"body\": {body}"), WriteLine("after", "after")],
        [Connect("start", "before"), Connect("before", "node"), Connect("node", "after")]));

    [Fact]
    public async Task FlowNode_RunsItsBody_AndPassesControlOnWhenTheBodyCompletes()
    {
        await using var host = CreateHost();
        var json = FlowNodeWithBody("flow-node-body", Sequence("inner", WriteLine("in1", "inside"), Delay("pause", "00:01:00"), WriteLine("in2", "inside again")));

        var run = await host.RunAsync(json, cancellationToken: Ct);

        AssertSuspended(await ReloadAsync(host, run.Id)); // the node waits for its body
        Assert.Equal(["before", "inside"], host.Output.Lines);
        await host.AdvanceAsync(TimeSpan.FromMinutes(2), Ct);
        AssertFinished(await ReloadAsync(host, run.Id));
        Assert.Equal(["before", "inside", "inside again", "after"], host.Output.Lines);
        var journal = await host.JournalAsync(run.Id);
        var innerDone = Assert.Single(journal, e => e.ActivityId == "inner" && e.EventName == JournalEvents.Completed);
        var nodeDone = Assert.Single(journal, e => e.ActivityId == "node" && e.EventName == JournalEvents.Completed);
        Assert.True(nodeDone.Sequence > innerDone.Sequence);
        Assert.Equal(["Done"], nodeDone.Outcomes);
    }

    [Fact]
    public async Task FlowNode_CompletesWithDone_WhateverPortItsBodyTook()
    {
        await using var host = CreateHost();
        var json = FlowNodeWithBody("flow-node-decision", Activity("Elsa.FlowDecision", "decide", $"\"condition\": {Lit("true", "Boolean")}"));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["before", "after"], host.Output.Lines);
        var journal = await host.JournalAsync(state.Id);
        Assert.Equal(["True"], Assert.Single(journal, e => e.ActivityId == "decide" && e.EventName == JournalEvents.Completed).Outcomes);
        Assert.Equal(["Done"], Assert.Single(journal, e => e.ActivityId == "node" && e.EventName == JournalEvents.Completed).Outcomes);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task FlowNode_AnUnknownTypeInItsBody_IsRefusedAtSaveAndPublish_NamingTheActivityAndTheCompatibilityEntry(bool publish)
    {
        await using var host = CreateHost();
        var json = FlowNodeWithBody("flow-node-unknown-" + publish, Activity("Elsa.SendEmail", "mail"));

        var error = await Assert.ThrowsAsync<WorkflowDefinitionException>(() =>
            host.Definitions.SaveAsync(WorkflowDefinitionDocument.Parse(json), publish, "api", isReadonly: false, Ct));

        Assert.Equal("mail", error.ActivityId);
        Assert.Contains("'mail'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'Elsa.SendEmail'", error.Message, StringComparison.Ordinal);
        Assert.Contains("docs/elsa-compatibility.md, Activities", error.Message, StringComparison.Ordinal);
        Assert.Null(await host.Definitions.FindAsync("flow-node-unknown-" + publish, VersionOptions.LatestVersion, Ct));
    }

    [Fact]
    public async Task End_CompletesTheFlowchartAndCancelsItsOtherBranches()
    {
        await using var host = CreateHost();
        var json = Definition("end", Flowchart("flow1",
            [
                Start(),
                Activity("Elsa.FlowFork", "fork", $"\"branches\": {Lit("Quick,Slow", "String[]")}"),
                WriteLine("quick", "quick"),
                Activity("Elsa.End", "end"),
                Delay("wait", "01:00:00"),
                WriteLine("late", "too late"),
            ],
            [Connect("start", "fork"), Connect("fork", "quick", "Quick"), Connect("quick", "end"), Connect("fork", "wait", "Slow"), Connect("wait", "late")]));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Empty(await BookmarksAsync(host, state.Id));
        await host.AdvanceAsync(TimeSpan.FromHours(2), Ct);
        Assert.Equal(["quick"], host.Output.Lines);
    }

    [Fact]
    public async Task End_InANestedFlowchart_CompletesOnlyThatFlowchart()
    {
        await using var host = CreateHost();
        var inner = Flowchart("inner",
            [WriteLine("in1", "inside"), Activity("Elsa.End", "innerEnd"), WriteLine("in2", "never")],
            [Connect("in1", "innerEnd"), Connect("innerEnd", "in2")]);
        var json = Definition("nested-end", Flowchart("outer",
            [Start(), inner, WriteLine("after", "after the inner flowchart")],
            [Connect("start", "inner"), Connect("inner", "after")]));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["inside", "after the inner flowchart"], host.Output.Lines);
    }

    [Fact]
    public async Task Complete_InANestedFlowchart_CompletesItWithTheOutcomeThatTheOuterFlowchartFollows()
    {
        await using var host = CreateHost();
        var inner = Flowchart("review",
            [
                WriteLine("check", "checking"),
                Activity("Elsa.Complete", "approve", $"\"outcomes\": {Obj("[\"Approved\"]", "String[]")}"),
                WriteLine("never", "never"),
            ],
            [Connect("check", "approve"), Connect("approve", "never")]);
        var json = Definition("nested-complete", Flowchart("outer",
            [Start(), inner, WriteLine("approved", "approved"), WriteLine("rejected", "rejected"), WriteLine("done", "done")],
            [Connect("start", "review"), Connect("review", "approved", "Approved"), Connect("review", "rejected", "Rejected"), Connect("review", "done")]));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["checking", "approved"], host.Output.Lines);
        var journal = await host.JournalAsync(state.Id);
        Assert.Contains(journal, e => e.ActivityId == "review" && e.EventName == JournalEvents.Completed && e.Outcomes!.SequenceEqual(["Approved"]));
    }

    [Fact]
    public async Task Complete_AtTheWorkflowRoot_FinishesTheRun()
    {
        await using var host = CreateHost();
        var json = Definition("root-complete", Flowchart("flow1",
            [Start(), Activity("Elsa.Complete", "complete", $"\"outcomes\": {Js("['Done']", "String[]")}"), WriteLine("never", "never")],
            [Connect("start", "complete"), Connect("complete", "never")]));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Empty(host.Output.Lines);
    }

    [Fact]
    public async Task Finish_EndsTheWholeRunAndCancelsWaitingBranches()
    {
        await using var host = CreateHost();
        var inner = Flowchart("inner", [WriteLine("bye", "finishing"), Activity("Elsa.Finish", "finish")], [Connect("bye", "finish")]);
        var json = Definition("finish", Flowchart("outer",
            [
                Start(),
                Activity("Elsa.FlowFork", "fork", $"\"branches\": {Lit("A,B", "String[]")}"),
                Delay("wait", "00:10:00"),
                WriteLine("late", "too late"),
                inner,
                WriteLine("after", "after inner"),
            ],
            [Connect("start", "fork"), Connect("fork", "wait", "A"), Connect("wait", "late"), Connect("fork", "inner", "B"), Connect("inner", "after")]));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["finishing"], host.Output.Lines);
        Assert.Empty(await BookmarksAsync(host, state.Id));
        await host.AdvanceAsync(TimeSpan.FromHours(1), Ct);
        Assert.Equal(["finishing"], host.Output.Lines);
    }

    [Fact]
    public async Task ScheduledBy_NamesTheStepAndPortThatLedToAnActivity_IsStoredWithIt_AndSurvivesARestart()
    {
        string instanceId;
        string bookmarkId;
        string decideExecution;
        await using (var before = CreateHost())
        {
            var json = Definition("scheduled-by", Flowchart("flow1",
                [
                    Start(),
                    Activity("Elsa.FlowDecision", "decide", $"\"condition\": {Js("false", "Boolean")}"),
                    Activity("Tests.WhoScheduledMe", "gate"),
                    WriteLineJs("after", "'after ' + getOutputFrom('gate').activityId + ':' + getOutputFrom('gate').port"),
                ],
                [Connect("start", "decide"), Connect("decide", "gate", "True"), Connect("decide", "gate", "False"), Connect("gate", "after")]));
            var state = await before.RunAsync(json, cancellationToken: Ct);
            AssertSuspended(state);
            instanceId = state.Id;
            bookmarkId = Assert.Single(await BookmarksAsync(before, state.Id)).Id;

            var journal = await before.JournalAsync(instanceId);
            decideExecution = journal.Single(e => e.ActivityId == "decide" && e.EventName == JournalEvents.Started).ExecutionId!;
            var startExecution = journal.Single(e => e.ActivityId == "start" && e.EventName == JournalEvents.Started).ExecutionId!;
            Assert.Null(journal.Single(e => e.ActivityId == "start" && e.EventName == JournalEvents.Started).Payload?[ScheduledBy.JournalKey]); // the first step: nothing led to it
            Assert.Equal(new ScheduledBy("start", "Done", startExecution), ScheduledBy.FromJson(journal.Single(e => e.ActivityId == "decide" && e.EventName == JournalEvents.Started).Payload?[ScheduledBy.JournalKey]));
            Assert.Equal(new ScheduledBy("decide", "False", decideExecution), ScheduledBy.FromJson(journal.Single(e => e.ActivityId == "gate" && e.EventName == JournalEvents.Started).Payload?[ScheduledBy.JournalKey]));

            // Stored with the waiting execution, in the run's state.
            var stored = await ReloadAsync(before, instanceId);
            var gate = Assert.Single(stored.Executions, e => e.NodeId.EndsWith(":gate", StringComparison.Ordinal));
            Assert.Equal(new ScheduledBy("decide", "False", decideExecution), gate.ScheduledBy);
        }

        await using var after = CreateHost();
        var (outcome, resumed) = await after.Runtime.ResumeAsync(bookmarkId, null, "user:carol", Ct);

        Assert.Equal(ResumeOutcome.Resumed, outcome);
        AssertFinished(resumed!);
        Assert.Equal(["after decide:False"], after.Output.Lines);
        Assert.Equal(decideExecution, OutputOf(resumed!, "gate")?["executionId"]?.GetValue<string>());
    }

    [Fact]
    public async Task Fault_RaisesAnIncidentWithItsMessageAndJournalsTheError()
    {
        await using var host = CreateHost();
        var json = Definition("fault", Flowchart("flow1",
            [
                Start(),
                Activity("Elsa.Fault", "fail", $"\"message\": {Js("'disk ' + 'full on ' + getVariable('Host')", "String")}, \"code\": {Lit("E42")}"),
                WriteLine("after", "never"),
            ],
            [Connect("start", "fail"), Connect("fail", "after")]),
            variables: [Variable("v-host", "Host", "String", "db1")]);

        var state = await host.RunAsync(json, cancellationToken: Ct);

        var incident = AssertFaultedWithIncident(state);
        Assert.Equal("fail", incident.ActivityId);
        Assert.Equal("Elsa.Fault", incident.ActivityType);
        Assert.Equal("disk full on db1", incident.Message);
        Assert.Equal("disk full on db1", state.Fault?.Message);
        var stored = await ReloadAsync(host, state.Id);
        Assert.Equal(WorkflowSubStatus.Faulted, stored.SubStatus);
        Assert.Single(stored.Incidents);
        var journal = await host.JournalAsync(state.Id);
        var faulted = Assert.Single(journal, e => e.EventName == JournalEvents.Faulted);
        Assert.Equal("fail", faulted.ActivityId);
        Assert.Equal("disk full on db1", faulted.Payload?["error"]?.GetValue<string>());
        Assert.Empty(host.Output.Lines);
    }
}
