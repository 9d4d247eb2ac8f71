using System.Text.Json.Nodes;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Expressions;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Testing;
using DrWorkflows.Testing.Behaviour;
using Microsoft.Extensions.DependencyInjection;
using static DrWorkflows.Testing.Behaviour.ElsaJson;

namespace DrWorkflows.Core.Tests.Execution;

/// <summary>
/// C# expressions and <c>Elsa.RunCSharp</c> on the in-memory runtime: Elsa's globals and typed accessors, outcomes,
/// compile errors refused at publish, runtime errors and the time limit as incidents, and the compiled-script cache.
/// </summary>
public sealed class CSharpExpressionTests : BehaviourTestBase
{
    private const string DefinitionId = "csharp-globals";

    protected override BehaviourStore CreateStore() => new InMemoryBehaviourStore();

    private static WorkflowTestHost NewHost(Action<CSharpOptions>? configure = null) => WorkflowTestHost.Create(configure: services =>
    {
        services.AddActivities(typeof(BehaviourStore).Assembly);
        if (configure is not null)
            services.Configure(configure);
    });

    /// <summary>A producer with outputs (Result 42, Message "forty-two"), then RunCSharp running <paramref name="script"/>.</summary>
    private static string Globals(string script) => Definition(DefinitionId, Sequence("seq",
            Activity("Tests.TwoOutputs", "producer", "\"name\": \"Producer\""),
            Activity("Elsa.RunCSharp", "cs", $"\"script\": {Lit(script)}")),
        variables:
        [
            Variable("v-greeting", "Greeting", "String", "hello"),
            Variable("v-count", "Count", "Int32", "3"),
            Variable("v-config", "Config", "Object", """{ "host": "db1", "port": 5432 }"""),
            Variable("v-lower", "message", "String", "lower-case name"),
        ],
        inputs: [Argument("Name"), Argument("Port", "Int32")]);

    private static async Task<(WorkflowTestHost Host, WorkflowState State)> RunGlobalsAsync(string script)
    {
        var host = NewHost();
        await host.PublishAsync(Globals(script), Ct);
        var state = await host.Runtime.StartAsync(new StartRunRequest(DefinitionId)
        {
            Input = new Dictionary<string, JsonNode?> { ["Name"] = "Ada", ["Port"] = 5432 },
            CorrelationId = "corr-1",
            StartedBy = "test",
        }, Ct);
        return (host, state);
    }

    [Theory]
    [InlineData("Variable.Greeting", "\"hello\"")]
    [InlineData("Variables.Greeting", "\"hello\"")]
    [InlineData("Variable.Count + 1", "4")]
    [InlineData("Variable.Get<int>(\"Count\") * 2", "6")]
    [InlineData("Variable.Get(\"Greeting\")", "\"hello\"")]
    [InlineData("Variable.Message", "\"lower-case name\"")]
    [InlineData("ExecutionContext.GetVariable<string>(\"Greeting\")", "\"hello\"")]
    [InlineData("((IDictionary<string, object?>)Variable.Config!)[\"host\"]", "\"db1\"")]
    [InlineData("Input.Name", "\"Ada\"")]
    [InlineData("Inputs.Port + 1", "5433")]
    [InlineData("Input.Get<string>(\"name\")", "\"Ada\"")]
    [InlineData("ExecutionContext.GetInput<int>(\"Port\")", "5432")]
    [InlineData("Output.From(\"producer\")", "42")]
    [InlineData("Output.From<string>(\"Producer\", \"Message\")", "\"forty-two\"")]
    [InlineData("Output.Get(\"producer\", \"Message\")", "\"forty-two\"")]
    [InlineData("Output.LastResult", "42")]
    [InlineData("CorrelationId", "\"corr-1\"")]
    [InlineData("WorkflowDefinitionId", "\"csharp-globals\"")]
    [InlineData("var hosts = new[] { \"db1\", \"db2\" };\nreturn hosts.Select(h => h.ToUpperInvariant()).ToList();", "[\"DB1\", \"DB2\"]")]
    public async Task RunCSharp_ReadsVariablesInputsAndOutputs_WithElsasGlobals(string script, string expectedJson)
    {
        var (host, state) = await RunGlobalsAsync(script);
        await using var _ = host;

        AssertFinished(state);
        AssertJson(expectedJson, state.ActivityOutputs["cs"]["Result"]);
    }

    [Fact]
    public async Task RunCSharp_SeesTheRunsInstanceId()
    {
        var (host, state) = await RunGlobalsAsync("WorkflowInstanceId");
        await using var _ = host;

        AssertFinished(state);
        Assert.Equal(state.Id, state.ActivityOutputs["cs"]["Result"]?.GetValue<string>());
    }

    [Fact]
    public async Task RunCSharp_WritesVariablesAndTheCorrelationId()
    {
        var (host, state) = await RunGlobalsAsync("Variable.Count = Variable.Count * 10;\nVariables.Set(\"Greeting\", \"hi\");\nCorrelationId = \"corr-2\";\nreturn Variable.Count;");
        await using var _ = host;

        AssertFinished(state);
        AssertJson("30", state.ActivityOutputs["cs"]["Result"]);
        Assert.Equal(30, state.Variables["v-count"]?.GetValue<int>());
        Assert.Equal("hi", state.Variables["v-greeting"]?.GetValue<string>());
        Assert.Equal("corr-2", state.CorrelationId);
    }

    [Fact]
    public async Task RunCSharp_OutcomeSet_ChoosesTheFlowchartPorts()
    {
        await using var host = NewHost();
        var json = Definition("cs-outcomes", Flowchart("flow1",
            [
                Start(),
                Activity("Elsa.RunCSharp", "cs", $"""
                    "script": {Lit("if (Variable.Load > 80) Outcome.Set(\"Busy\"); else Outcome.Set(\"Idle\", \"Report\");")},
                    "possibleOutcomes": {Obj("[\"Busy\", \"Idle\", \"Report\"]", "String[]")}
                    """),
                WriteLine("busy", "busy"),
                WriteLine("idle", "idle"),
                WriteLine("report", "report"),
            ],
            [Connect("start", "cs"), Connect("cs", "busy", "Busy"), Connect("cs", "idle", "Idle"), Connect("cs", "report", "Report")]),
            variables: [Variable("v-load", "Load", "Int32", "20")]);

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["idle", "report"], host.Output.Lines);
    }

    [Fact]
    public async Task CompileError_IsRefusedAtPublish_NamingTheActivityAndTheLine_WhileADraftSaves()
    {
        await using var host = NewHost();
        var json = Globals("var total = Variable.Count;\nreturn totl + 1;");

        var draft = await host.Definitions.SaveAsync(Core.Model.WorkflowDefinitionDocument.Parse(json), publish: false, "api", isReadonly: false, Ct);
        var error = await Assert.ThrowsAsync<WorkflowDefinitionException>(() => host.PublishAsync(json, Ct));

        Assert.False(draft.IsPublished);
        Assert.Equal("cs", error.ActivityId);
        Assert.Contains("C# in activity 'cs' does not compile", error.Message, StringComparison.Ordinal);
        Assert.Contains("line 2", error.Message, StringComparison.Ordinal);
        Assert.Contains("totl", error.Message, StringComparison.Ordinal);
        Assert.Null(await host.Definitions.FindAsync(DefinitionId, Core.Persistence.VersionOptions.PublishedVersion, Ct));
    }

    [Fact]
    public async Task CompileErrorInAnExpression_IsRefusedAtPublish_NamingTheActivityAndTheInput()
    {
        await using var host = NewHost();
        var json = Definition("cs-bad-input", Activity("Elsa.WriteLine", "say", $"\"text\": {Cs("Variable.Nope", "String")}"));

        var error = await Assert.ThrowsAsync<WorkflowDefinitionException>(() => host.PublishAsync(json, Ct));

        Assert.Equal("say", error.ActivityId);
        Assert.Contains("line 1", error.Message, StringComparison.Ordinal);
        Assert.Contains("'text'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RuntimeError_BecomesAnIncidentNamingTheActivityAndTheError()
    {
        await using var host = NewHost();
        var json = Definition("cs-throw", Sequence("seq",
            WriteLine("before", "before"),
            Activity("Elsa.RunCSharp", "broken", $"\"script\": {Lit("throw new InvalidOperationException(\"backup bucket missing\");")}"),
            WriteLine("after", "after")));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        var incident = AssertFaultedWithIncident(state);
        Assert.Equal("broken", incident.ActivityId);
        Assert.Contains("C# error in activity 'broken'", incident.Message, StringComparison.Ordinal);
        Assert.Contains("backup bucket missing", incident.Message, StringComparison.Ordinal);
        Assert.Equal(["before"], host.Output.Lines);
    }

    [Fact]
    public async Task TimeLimit_RaisesAnIncidentSayingSo_AndCodeLeftRunningCannotChangeTheRun()
    {
        await using var host = NewHost(o => o.Timeout = TimeSpan.FromSeconds(5));
        var csharp = host.Services.GetRequiredService<CSharpHandler>();
        // Blocks (without spinning a core) well past the limit, then tries to write: the write must not reach the run.
        var json = Definition("cs-slow", Activity("Elsa.RunCSharp", "slow", $"\"script\": {Lit("System.Threading.Thread.Sleep(1500);\nVariable.Set(\"Late\", \"written\");\nreturn 1;")}"),
            variables: [Variable("v-late", "Late", "String", "untouched")]);
        await host.PublishAsync(json, Ct);

        // The limit runs on the host's fake clock: move it past the limit until the run gives up waiting.
        var run = Task.Run(() => host.StartAsync("cs-slow", cancellationToken: Ct), Ct);
        while (!run.IsCompleted)
        {
            host.Clock.Advance(TimeSpan.FromSeconds(6));
            await Task.WhenAny(run, Task.Delay(TimeSpan.FromMilliseconds(20), Ct));
        }

        var state = await run;
        var incident = AssertFaultedWithIncident(state);
        Assert.Equal("slow", incident.ActivityId);
        Assert.Contains("hit the time limit of 5 s", incident.Message, StringComparison.Ordinal);

        // The code goes on (it cannot be aborted) until it ends; its write is refused.
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (csharp.AbandonedStillRunning > 0 && waited.Elapsed < TimeSpan.FromSeconds(60))
            await Task.Delay(TimeSpan.FromMilliseconds(50), Ct);
        Assert.Equal(0, csharp.AbandonedStillRunning);
        var stored = await host.Instances.GetAsync(state.Id, Ct);
        Assert.Equal("untouched", stored!.Variables["v-late"]?.GetValue<string>());
    }

    [Fact]
    public async Task AnExpression_IsCompiledOnce_ThenServedFromTheCache()
    {
        await using var host = NewHost();
        var csharp = host.Services.GetRequiredService<CSharpHandler>();
        await host.PublishAsync(Globals("Variable.Count + 1"), Ct);
        var afterPublish = csharp.Compilations;

        for (var run = 0; run < 3; run++)
            AssertFinished(await host.StartAsync(DefinitionId, new { Name = "Ada", Port = 1 }, Ct));

        Assert.Equal(1, afterPublish);
        Assert.Equal(afterPublish, csharp.Compilations);
    }

    [Fact]
    public async Task TheCache_IsBounded()
    {
        await using var host = NewHost(o => o.CacheSize = 2);
        var csharp = host.Services.GetRequiredService<CSharpHandler>();

        foreach (var script in new[] { "1", "2", "3", "4" })
            await host.PublishAsync(Globals(script), Ct);

        Assert.Equal(4, csharp.Compilations);
        Assert.True(csharp.CachedCount <= 2, $"{csharp.CachedCount} compiled expressions cached, the limit is 2");
    }

    [Fact]
    public void FindUses_NamesEachActivityUsingCSharp()
    {
        var json = JsonNode.Parse(Definition("uses", Sequence("seq",
            WriteLine("plain", "plain"),
            Activity("Elsa.WriteLine", "expr", $"\"text\": {Cs("\"x\"", "String")}"),
            Activity("Elsa.RunCSharp", "run", $"\"script\": {Lit("1")}"),
            Activity("Elsa.FlowSwitch", "route", "\"cases\": [ { \"label\": \"A\", \"condition\": { \"type\": \"CSharp\", \"value\": \"true\" } } ]"))))!;

        var uses = CSharpHandler.FindUses(json["root"]);

        Assert.Equal([("expr", "text", "\"x\""), ("run", "script", "1"), ("route", "cases", "true")], uses.Select(u => (u.ActivityId, u.Where, u.Code)));
    }
}
