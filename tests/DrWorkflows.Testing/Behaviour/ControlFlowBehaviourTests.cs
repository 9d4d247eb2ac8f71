using Xunit;
using static DrWorkflows.Testing.Behaviour.ElsaJson;

namespace DrWorkflows.Testing.Behaviour;

/// <summary>Elsa's structured activities: Sequence, Parallel, Fork, If, Switch, While, For, ForEach, ParallelForEach, Break.</summary>
public abstract class ControlFlowBehaviourTests : BehaviourTestBase
{
    [Fact]
    public async Task Sequence_RunsItsActivitiesInOrder()
    {
        await using var host = CreateHost();
        var json = Definition("sequence", Sequence("seq", WriteLine("a", "1"), WriteLine("b", "2"), WriteLine("c", "3")));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["1", "2", "3"], host.Output.Lines);
    }

    [Fact]
    public async Task Parallel_InterleavesBranchesAndCompletesWhenAllHaveCompleted()
    {
        await using var host = CreateHost();
        var json = Definition("parallel", Sequence("seq",
            $$"""
            { "type": "Elsa.Parallel", "version": 1, "id": "par", "activities": [
                {{Sequence("left", WriteLine("l1", "left 1"), Delay("lwait", "00:01:00"), WriteLine("l2", "left 2"))}},
                {{Sequence("right", WriteLine("r1", "right 1"), WriteLine("r2", "right 2"))}}
            ] }
            """,
            WriteLine("after", "after parallel")));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertSuspended(state);
        Assert.Equal(["left 1", "right 1", "right 2"], host.Output.Lines);
        await host.AdvanceAsync(TimeSpan.FromMinutes(1), Ct);
        AssertFinished(await ReloadAsync(host, state.Id));
        Assert.Equal(["left 1", "right 1", "right 2", "left 2", "after parallel"], host.Output.Lines);
    }

    private static string ForkDefinition(string definitionId, string joinMode) => Definition(definitionId, Sequence("seq",
        $$"""
        { "type": "Elsa.Fork", "version": 1, "id": "fork", "joinMode": "{{joinMode}}", "branches": [
            {{Sequence("slow", Delay("wait", "00:05:00"), WriteLine("slowText", "slow"))}},
            {{WriteLine("fast", "fast")}}
        ] }
        """,
        WriteLine("after", "after fork")));

    [Fact]
    public async Task Fork_WaitAll_CompletesWhenEveryBranchHasCompleted()
    {
        await using var host = CreateHost();

        var state = await host.RunAsync(ForkDefinition("fork-all", "WaitAll"), cancellationToken: Ct);

        AssertSuspended(state);
        Assert.Equal(["fast"], host.Output.Lines);
        await host.AdvanceAsync(TimeSpan.FromMinutes(5), Ct);
        AssertFinished(await ReloadAsync(host, state.Id));
        Assert.Equal(["fast", "slow", "after fork"], host.Output.Lines);
    }

    [Fact]
    public async Task Fork_WaitAny_CompletesWithTheFirstBranchAndDropsTheOthers()
    {
        await using var host = CreateHost();

        var state = await host.RunAsync(ForkDefinition("fork-any", "WaitAny"), cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["fast", "after fork"], host.Output.Lines);
        Assert.Empty(await BookmarksAsync(host, state.Id));
        await host.AdvanceAsync(TimeSpan.FromMinutes(10), Ct);
        Assert.Equal(["fast", "after fork"], host.Output.Lines);
    }

    [Theory]
    [InlineData("true", "then")]
    [InlineData("false", "else")]
    public async Task If_RunsThenOrElse(string condition, string expected)
    {
        await using var host = CreateHost();
        var json = Definition("if", Sequence("seq",
            Activity("Elsa.If", "if1", $"""
                "condition": {Js(condition, "Boolean")},
                "then": {WriteLine("thenText", "then")},
                "else": {WriteLine("elseText", "else")}
                """),
            WriteLine("after", "after")));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal([expected, "after"], host.Output.Lines);
        AssertJson(condition, OutputOf(state, "if1"));
    }

    [Fact]
    public async Task If_InAFlowchart_CompletesWithTrueOrFalseAndDone()
    {
        await using var host = CreateHost();
        var json = Definition("if-flow", Flowchart("flow1",
            [Start(), Activity("Elsa.If", "if1", $"\"condition\": {Lit("True", "Boolean")}"), WriteLine("t", "true port"), WriteLine("f", "false port"), WriteLine("d", "done port")],
            [Connect("start", "if1"), Connect("if1", "t", "True"), Connect("if1", "f", "False"), Connect("if1", "d", "Done")]));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["true port", "done port"], host.Output.Lines);
    }

    [Theory]
    [InlineData("red", "stop")]
    [InlineData("green", "go")]
    [InlineData("blue", "unknown colour")]
    public async Task Switch_RunsTheActivityOfTheFirstMatchingCaseOrTheDefault(string colour, string expected)
    {
        await using var host = CreateHost();
        var json = Definition("switch", Sequence("seq",
            Activity("Elsa.Switch", "sw", $$"""
                "expression": {{Js("getVariable('Colour')")}},
                "cases": [
                  { "label": "Red", "condition": { "type": "JavaScript", "value": "getVariable('Colour') === 'red'" }, "activity": {{WriteLine("red", "stop")}} },
                  { "label": "Green", "condition": { "type": "JavaScript", "value": "getVariable('Colour') === 'green'" }, "activity": {{WriteLine("green", "go")}} },
                  { "label": "AlsoGreen", "condition": { "type": "JavaScript", "value": "getVariable('Colour') === 'green'" }, "activity": {{WriteLine("green2", "second match")}} }
                ],
                "default": {{WriteLine("other", "unknown colour")}}
                """),
            WriteLine("after", "after")),
            variables: [Variable("v-colour", "Colour", "String", colour)]);

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal([expected, "after"], host.Output.Lines);
        AssertJson($"\"{colour}\"", OutputOf(state, "sw", "Output"));
    }

    [Fact]
    public async Task While_RepeatsItsBodyWhileTheConditionHolds()
    {
        await using var host = CreateHost();
        var json = Definition("while", Sequence("seq",
            Activity("Elsa.While", "loop", $"""
                "condition": {Js("getVariable('I') < 3", "Boolean")},
                "body": {Sequence("body", WriteLineJs("say", "'i=' + I"), SetVariable("inc", "v-i", "I", Js("I + 1")))}
                """),
            WriteLine("after", "after")),
            variables: [Variable("v-i", "I", "Int32", "0")]);

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["i=0", "i=1", "i=2", "after"], host.Output.Lines);
    }

    private static string ForLoop(string definitionId, string start, string end, string step, string inclusive) => Definition(definitionId, Sequence("seq",
        Activity("Elsa.For", "for", $"""
            "start": {Lit(start, "Int32")},
            "end": {Lit(end, "Int32")},
            "step": {Lit(step, "Int32")},
            "outerBoundInclusive": {Lit(inclusive, "Boolean")},
            "currentValue": {Bind("v-current", "Int32")},
            "body": {WriteLineJs("say", "CurrentValue + '/' + getVariable('Current')")}
            """),
        WriteLine("after", "after")),
        variables: [Variable("v-current", "Current", "Int32", null)]);

    [Theory]
    [InlineData("1", "3", "1", "true", "1/1,2/2,3/3")]
    [InlineData("1", "3", "1", "false", "1/1,2/2")]
    [InlineData("0", "10", "5", "true", "0/0,5/5,10/10")]
    [InlineData("3", "1", "-1", "true", "3/3,2/2,1/1")]
    [InlineData("10", "0", "-4", "false", "10/10,6/6,2/2")]
    [InlineData("3", "1", "1", "true", "3/3,2/2,1/1")]
    [InlineData("5", "1", "2", "false", "5/5,3/3")]
    [InlineData("4", "4", "1", "true", "4/4")]
    [InlineData("4", "4", "1", "false", "")]
    public async Task For_CountsFromStartToEnd(string start, string end, string step, string inclusive, string expected)
    {
        await using var host = CreateHost();

        var state = await host.RunAsync(ForLoop($"for-{start}-{end}-{step}-{inclusive}", start, end, step, inclusive), cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal([.. expected.Split(',', StringSplitOptions.RemoveEmptyEntries), "after"], host.Output.Lines);
    }

    [Fact]
    public async Task ForEach_RunsTheBodyOncePerItemWithCurrentValueAndIndex()
    {
        await using var host = CreateHost();
        var json = Definition("foreach", Sequence("seq",
            Activity("Elsa.ForEach", "each", $"""
                "items": {Obj("[\"db\", \"cache\", \"web\"]")},
                "currentValue": {Bind("v-item")},
                "body": {WriteLineJs("say", "CurrentIndex + ':' + CurrentValue + ':' + getVariable('Item')")}
                """),
            WriteLineJs("after", "'last=' + getVariable('Item')")),
            variables: [Variable("v-item", "Item", "Object", null)]);

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["0:db:db", "1:cache:cache", "2:web:web", "last=web"], host.Output.Lines);
    }

    [Theory]
    [InlineData("JavaScript", "[1, 2, 3]")]
    [InlineData("Literal", "1,2,3")]
    [InlineData("Variable", "List")]
    public async Task ForEach_AcceptsItemsFromAnyExpression(string expressionType, string value)
    {
        await using var host = CreateHost();
        var items = $$"""{ "typeName": "Object", "expression": { "type": "{{expressionType}}", "value": {{Str(value)}} } }""";
        var json = Definition("foreach-" + expressionType, Activity("Elsa.ForEach", "each", $"""
            "items": {items},
            "body": {WriteLineJs("say", "'item ' + CurrentValue")}
            """),
            variables: [Variable("v-list", "List", "Object", "[1, 2, 3]")]);

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["item 1", "item 2", "item 3"], host.Output.Lines);
    }

    [Fact]
    public async Task ParallelForEach_GivesEveryIterationItsOwnCurrentValue()
    {
        await using var host = CreateHost();
        var json = Definition("parallel-foreach", Sequence("seq",
            Activity("Elsa.ParallelForEach", "each", $"""
                "items": {Js("['a', 'b', 'c']")},
                "body": {Sequence("body", WriteLineJs("begin", "'begin ' + CurrentValue"), Delay("wait", "00:01:00"), WriteLineJs("end", "'end ' + CurrentValue + ' #' + CurrentIndex"))}
                """),
            WriteLine("after", "all done")));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertSuspended(state);
        Assert.Equal(["begin a", "begin b", "begin c"], host.Output.Lines);
        Assert.Equal(3, (await BookmarksAsync(host, state.Id)).Count);
        await host.AdvanceAsync(TimeSpan.FromMinutes(1), Ct);
        AssertFinished(await ReloadAsync(host, state.Id));
        var lines = host.Output.Lines;
        Assert.Equal(["end a #0", "end b #1", "end c #2"], lines.Skip(3).Take(3).Order(StringComparer.Ordinal));
        Assert.Equal("all done", lines[^1]);
        Assert.Equal(7, lines.Count);
    }

    [Fact]
    public async Task Break_InsideWhile_LeavesTheLoop()
    {
        await using var host = CreateHost();
        var json = Definition("break-while", Sequence("seq",
            Activity("Elsa.While", "loop", $"""
                "condition": {Lit("true", "Boolean")},
                "body": {Sequence("body",
                    SetVariable("inc", "v-i", "I", Js("I + 1")),
                    Activity("Elsa.If", "check", $"\"condition\": {Js("I >= 3", "Boolean")}, \"then\": {Activity("Elsa.Break", "stop")}"),
                    WriteLineJs("say", "'i=' + I"))}
                """),
            WriteLine("after", "after")),
            variables: [Variable("v-i", "I", "Int32", "0")]);

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["i=1", "i=2", "after"], host.Output.Lines);
    }

    [Fact]
    public async Task Break_InsideFor_LeavesTheLoop()
    {
        await using var host = CreateHost();
        var json = Definition("break-for", Sequence("seq",
            Activity("Elsa.For", "for", $"""
                "start": {Lit("1", "Int32")}, "end": {Lit("100", "Int32")}, "step": {Lit("1", "Int32")},
                "body": {Sequence("body",
                    Activity("Elsa.If", "check", $"\"condition\": {Js("CurrentValue > 2", "Boolean")}, \"then\": {Activity("Elsa.Break", "stop")}"),
                    WriteLineJs("say", "'n=' + CurrentValue"))}
                """),
            WriteLine("after", "after")));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["n=1", "n=2", "after"], host.Output.Lines);
    }

    [Fact]
    public async Task Break_InsideForEach_LeavesTheLoop()
    {
        await using var host = CreateHost();
        var json = Definition("break-foreach", Sequence("seq",
            Activity("Elsa.ForEach", "each", $"""
                "items": {Obj("[\"a\", \"b\", \"stop\", \"c\"]")},
                "body": {Sequence("body",
                    Activity("Elsa.If", "check", $"\"condition\": {Js("CurrentValue === 'stop'", "Boolean")}, \"then\": {Activity("Elsa.Break", "stop")}"),
                    WriteLineJs("say", "CurrentValue"))}
                """),
            WriteLine("after", "after")));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["a", "b", "after"], host.Output.Lines);
    }

    [Fact]
    public async Task CompositeFailingWhenAChildCompletes_RaisesTheIncidentOnTheComposite()
    {
        await using var host = CreateHost();
        var json = Definition("composite-fails", Sequence("seq",
            Activity("Elsa.For", "for", $"""
                "start": {Lit("1", "Int32")},
                "end": {Js("setVariable('N', N + 1); if (getVariable('N') > 1) { throw new Error('end exploded'); } 3", "Int32")},
                "body": {WriteLineJs("say", "'n=' + CurrentValue")}
                """),
            WriteLine("after", "after the loop")),
            variables: [Variable("v-n", "N", "Int32", "0")]);

        var state = await host.RunAsync(json, cancellationToken: Ct);

        var incident = AssertFaultedWithIncident(state);
        Assert.Equal("for", incident.ActivityId);
        Assert.Contains("end exploded", incident.Message, StringComparison.Ordinal);
        Assert.Equal(["n=1"], host.Output.Lines);
        var resolved = await host.Runtime.ResolveIncidentAsync(state.Id, incident.Id, Core.Execution.IncidentResolution.Skip, "operator", null, Ct);
        AssertFinished(resolved!);
        Assert.Equal(["n=1", "after the loop"], host.Output.Lines);
    }

    [Fact]
    public async Task Break_OutsideALoop_RaisesAnIncident()
    {
        await using var host = CreateHost();
        var json = Definition("break-nowhere", Sequence("seq", Activity("Elsa.Break", "stop"), WriteLine("after", "after")));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        var incident = AssertFaultedWithIncident(state);
        Assert.Equal("stop", incident.ActivityId);
        Assert.Contains("not inside a loop", incident.Message, StringComparison.Ordinal);
    }
}
