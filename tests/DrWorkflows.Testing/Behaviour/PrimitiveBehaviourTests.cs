using System.Text.Json.Nodes;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using Xunit;
using static DrWorkflows.Testing.Behaviour.ElsaJson;

namespace DrWorkflows.Testing.Behaviour;

/// <summary>Elsa's primitive activities: SetVariable, SetOutput, SetName, Correlate, WriteLine, RunJavaScript.</summary>
public abstract class PrimitiveBehaviourTests : BehaviourTestBase
{
    [Fact]
    public async Task SetVariable_ConvertsTheValueToTheDeclaredType()
    {
        await using var host = CreateHost();
        var json = Definition("set-variable", Sequence("seq",
                SetVariable("setCount", "v-count", "Count", Lit("41", "Object")),
                SetVariable("incCount", "v-count", "Count", Js("getVariable('Count') + 1")),
                SetVariable("setFlag", "v-flag", "Flag", Lit("true", "Object")),
                SetVariable("setLabel", "v-label", "Label", Js("6 * 7")),
                SetVariable("setData", "v-data", "Data", Obj("""{ "host": "db1", "ports": [5432, 5433] }""")),
                WriteLineJs("say", "typeof Count + ' ' + Count + ' ' + typeof Flag + ' ' + typeof Label + ' ' + Data.ports[1]")),
            variables:
            [
                Variable("v-count", "Count", "Int32", "0"),
                Variable("v-flag", "Flag", "Boolean", "false"),
                Variable("v-label", "Label", "String", ""),
                Variable("v-data", "Data", "Object", null),
            ]);

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["number 42 boolean string 5433"], host.Output.Lines);
        var stored = await ReloadAsync(host, state.Id);
        AssertJson("42", stored.Variables["v-count"]);
        AssertJson("true", stored.Variables["v-flag"]);
        AssertJson("\"42\"", stored.Variables["v-label"]);
        AssertJson("""{ "host": "db1", "ports": [5432, 5433] }""", stored.Variables["v-data"]);
    }

    [Fact]
    public async Task SetVariable_OfAnUndeclaredVariable_RaisesAnIncidentNamingIt()
    {
        await using var host = CreateHost();
        var json = Definition("set-unknown", Sequence("seq", SetVariable("set", "v-missing", "Missing", Lit("1"))));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        var incident = AssertFaultedWithIncident(state);
        Assert.Equal("set", incident.ActivityId);
        Assert.Contains("'Missing'", incident.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SetOutput_SetsTheWorkflowOutput()
    {
        await using var host = CreateHost();
        var json = Definition("set-output", Sequence("seq",
                Activity("Elsa.SetOutput", "out1", $"\"outputName\": {Lit("Summary")}, \"outputValue\": {Js("({ restored: getInput('Target'), tables: 12 })")}"),
                Activity("Elsa.SetOutput", "out2", $"\"outputName\": {Lit("Status")}, \"outputValue\": {Lit("ok", "Object")}")),
            inputs: [Argument("Target")],
            outputs: [Argument("Summary", "Object"), Argument("Status")]);
        await host.PublishAsync(json, Ct);

        var state = await StartAsync(host, "set-output", new Dictionary<string, JsonNode?> { ["Target"] = "orders-db" });

        AssertFinished(state);
        var stored = await ReloadAsync(host, state.Id);
        AssertJson("""{ "restored": "orders-db", "tables": 12 }""", stored.Output["Summary"]);
        AssertJson("\"ok\"", stored.Output["Status"]);
        var finished = (await host.JournalAsync(state.Id)).Single(e => e.EventName == JournalEvents.WorkflowFinished);
        AssertJson("\"orders-db\"", finished.Payload?["output"]?["Summary"]?["restored"]);
    }

    [Fact]
    public async Task SetName_RenamesTheRun()
    {
        await using var host = CreateHost();
        var json = Definition("set-name", Sequence("seq",
            Activity("Elsa.SetName", "name", $"\"value\": {Js("'restore ' + getInput('Target')", "String")}"),
            WaitForSignalActivity("wait")),
            inputs: [Argument("Target")]);
        await host.PublishAsync(json, Ct);

        var state = await StartAsync(host, "set-name", new Dictionary<string, JsonNode?> { ["Target"] = "orders-db" });

        Assert.Equal("restore orders-db", (await ReloadAsync(host, state.Id)).Name);
        var listed = await host.Instances.ListAsync(new InstanceQuery(DefinitionId: "set-name"), Ct);
        Assert.Equal("restore orders-db", Assert.Single(listed.Items).Name);
    }

    [Fact]
    public async Task Correlate_SetsTheCorrelationIdThatLaterActivitiesSee()
    {
        await using var host = CreateHost();
        var json = Definition("correlate", Sequence("seq",
            Activity("Elsa.Correlate", "corr", $"\"correlationId\": {Js("'incident-' + getInput('Number')", "String")}"),
            WriteLineJs("say", "'correlated as ' + getCorrelationId()"),
            WaitForSignalActivity("wait")),
            inputs: [Argument("Number", "Int32")]);
        await host.PublishAsync(json, Ct);

        var state = await StartAsync(host, "correlate", new Dictionary<string, JsonNode?> { ["Number"] = 17 });

        Assert.Equal(["correlated as incident-17"], host.Output.Lines);
        Assert.Equal("incident-17", (await ReloadAsync(host, state.Id)).CorrelationId);
        var listed = await host.Instances.ListAsync(new InstanceQuery(CorrelationId: "incident-17"), Ct);
        Assert.Equal(state.Id, Assert.Single(listed.Items).Id);
    }

    [Fact]
    public async Task WriteLine_WritesItsTextAndJournalsIt()
    {
        await using var host = CreateHost();
        var json = Definition("write-line", Sequence("seq", WriteLine("hello", "Hello, world"), Activity("Elsa.WriteLine", "empty")));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["Hello, world", string.Empty], host.Output.Lines);
        var completed = (await host.JournalAsync(state.Id)).Single(e => e.ActivityId == "hello" && e.EventName == JournalEvents.Completed);
        AssertJson("\"Hello, world\"", completed.Payload?["inputs"]?["Text"]);
    }

    [Fact]
    public async Task RunJavaScript_ResultIsTheLastValueAndCanBeBoundToAVariable()
    {
        await using var host = CreateHost();
        var json = Definition("run-js", Sequence("seq",
            Activity("Elsa.RunJavaScript", "js", $"""
                "script": {Lit("var hosts = ['db1', 'db2'];\nvar total = 0;\nfor (var i = 0; i < hosts.length; i++) { total += hosts[i].length; }\n({ hosts: hosts, total: total })")},
                "result": {Bind("v-result")}
                """),
            WriteLineJs("say", "getLastResult().total + ' ' + getVariable('Result').hosts.join('+') + ' ' + getOutputFrom('js').hosts.length")),
            variables: [Variable("v-result", "Result", "Object", null)]);

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["6 db1+db2 2"], host.Output.Lines);
        AssertJson("""{ "hosts": ["db1", "db2"], "total": 6 }""", OutputOf(state, "js"));
        AssertJson("""{ "hosts": ["db1", "db2"], "total": 6 }""", (await ReloadAsync(host, state.Id)).Variables["v-result"]);
    }

    [Fact]
    public async Task RunJavaScript_SetOutcome_ChoosesTheFlowchartPort()
    {
        await using var host = CreateHost();
        var json = Definition("run-js-outcome", Flowchart("flow1",
            [
                Start(),
                Activity("Elsa.RunJavaScript", "js", $"""
                    "script": {Lit("if (getVariable('Load') > 80) { setOutcome('Busy'); } else { setOutcomes(['Idle', 'Report']); }")},
                    "possibleOutcomes": {Obj("[\"Busy\", \"Idle\", \"Report\"]", "String[]")}
                    """),
                WriteLine("busy", "busy"),
                WriteLine("idle", "idle"),
                WriteLine("report", "report"),
                WriteLine("done", "done"),
            ],
            [Connect("start", "js"), Connect("js", "busy", "Busy"), Connect("js", "idle", "Idle"), Connect("js", "report", "Report"), Connect("js", "done")]),
            variables: [Variable("v-load", "Load", "Int32", "20")]);

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["idle", "report"], host.Output.Lines);
    }

    [Fact]
    public async Task RunJavaScript_WithoutSetOutcome_CompletesWithDone()
    {
        await using var host = CreateHost();
        var json = Definition("run-js-done", Flowchart("flow1",
            [Start(), Activity("Elsa.RunJavaScript", "js", $"\"script\": {Lit("1 + 1")}"), WriteLine("done", "done")],
            [Connect("start", "js"), Connect("js", "done")]));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["done"], host.Output.Lines);
        AssertJson("2", OutputOf(state, "js"));
    }

    private static string WaitForSignalActivity(string id) => Activity("Tests.WaitForSignal", id);
}
