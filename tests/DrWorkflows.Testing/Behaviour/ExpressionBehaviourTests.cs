using System.Text.Json.Nodes;
using DrWorkflows.Core.Execution;
using Xunit;
using static DrWorkflows.Testing.Behaviour.ElsaJson;

namespace DrWorkflows.Testing.Behaviour;

/// <summary>
/// Expressions as Elsa 3 writes them: Literal, Object, Variable, JavaScript with Elsa's helper functions and C# with
/// Elsa's globals; JavaScript errors and runaway scripts become incidents.
/// </summary>
public abstract class ExpressionBehaviourTests : BehaviourTestBase
{
    private const string HelpersId = "js-helpers";

    /// <summary>
    /// A workflow with variables, an input and a previous activity with outputs, then a RunJavaScript whose script
    /// is the test's expression. Started with input Name=Ada and correlation id corr-1.
    /// </summary>
    private static string Helpers(string script) => Definition(HelpersId, Sequence("seq",
            Activity("Tests.TwoOutputs", "producer", "\"name\": \"Producer\""),
            Activity("Elsa.RunJavaScript", "js", $"\"script\": {Lit(script)}")),
        variables:
        [
            Variable("v-greeting", "Greeting", "String", "hello"),
            Variable("v-count", "Count", "Int32", "3"),
            Variable("v-empty", "Empty", "String", ""),
            Variable("v-config", "Config", "Object", """{ "host": "db1", "port": 5432 }"""),
        ],
        inputs: [Argument("Name")]);

    private async Task<(WorkflowTestHost Host, WorkflowState State)> RunHelpersAsync(string script)
    {
        var host = CreateHost();
        await host.PublishAsync(Helpers(script), Ct);
        var state = await StartAsync(host, HelpersId, new Dictionary<string, JsonNode?> { ["Name"] = "Ada" }, correlationId: "corr-1");
        return (host, state);
    }

    [Theory]
    [InlineData("getVariable('Greeting')", "\"hello\"")]
    [InlineData("Greeting", "\"hello\"")]
    [InlineData("variables.Greeting", "\"hello\"")]
    [InlineData("getGreeting()", "\"hello\"")]
    [InlineData("getVariable('Count') + 1", "4")]
    [InlineData("setVariable('Count', 10); getVariable('Count')", "10")]
    [InlineData("setCount(Count * 2); getCount()", "6")]
    [InlineData("getVariable('Config').port", "5432")]
    [InlineData("Config.host", "\"db1\"")]
    [InlineData("getInput('Name')", "\"Ada\"")]
    [InlineData("getInput('name')", "\"Ada\"")]
    [InlineData("getWorkflowInput('Name')", "\"Ada\"")]
    [InlineData("input.Name", "\"Ada\"")]
    [InlineData("getOutputFrom('producer')", "42")]
    [InlineData("getOutputFrom('Producer')", "42")]
    [InlineData("getOutputFrom('producer', 'Result')", "42")]
    [InlineData("getOutputFrom('producer', 'Message')", "\"forty-two\"")]
    [InlineData("getOutputFrom('Producer', 'Message')", "\"forty-two\"")]
    [InlineData("getLastResult()", "42")]
    [InlineData("getWorkflowDefinitionId()", "\"js-helpers\"")]
    [InlineData("getCorrelationId()", "\"corr-1\"")]
    [InlineData("setCorrelationId('corr-2'); getCorrelationId()", "\"corr-2\"")]
    [InlineData("toJson({ a: 1, b: [1, 2] }) === '{\"a\":1,\"b\":[1,2]}'", "true")]
    [InlineData("typeof toJson(Config)", "\"string\"")]
    [InlineData("isNullOrEmpty('')", "true")]
    [InlineData("isNullOrEmpty(null)", "true")]
    [InlineData("isNullOrEmpty(Empty)", "true")]
    [InlineData("isNullOrEmpty('x')", "false")]
    [InlineData("isNullOrWhiteSpace('   ')", "true")]
    [InlineData("isNullOrWhiteSpace(null)", "true")]
    [InlineData("isNullOrWhiteSpace(' a ')", "false")]
    [InlineData("/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(newGuidString())", "true")]
    [InlineData("newGuidString() !== newGuidString()", "true")]
    public async Task JavaScript_Helper_ReturnsWhatElsaReturns(string script, string expectedJson)
    {
        var (host, state) = await RunHelpersAsync(script);
        await using (host)
        {
            AssertFinished(state);
            AssertJson(expectedJson, OutputOf(state, "js"));
        }
    }

    /// <summary>
    /// Elsa's generated accessors: <c>get/set</c> + the variable name pascalized, <c>get</c> + each declared input name
    /// (as declared, and pascalized), <c>get{Output}From{Activity}</c>. Names with other than letters and digits get
    /// none, as in Elsa.
    /// </summary>
    [Theory]
    [InlineData("getMessage()", "\"hi\"")]
    [InlineData("setMessage('bye'); getMessage() + ' ' + getVariable('message')", "\"bye bye\"")]
    [InlineData("getInput1()", "7")]
    [InlineData("gethostName() + ' ' + getHostName()", "\"db1 db1\"")]
    [InlineData("getResultFromProducer()", "42")]
    [InlineData("getMessageFromProducer()", "\"forty-two\"")]
    [InlineData("typeof getRetry_count", "\"undefined\"")]
    public async Task JavaScript_ElsaGeneratedAccessors_AreNamedAsInElsa(string script, string expectedJson)
    {
        await using var host = CreateHost();
        await host.PublishAsync(Definition("js-accessors", Sequence("seq",
                Activity("Tests.TwoOutputs", "producer", "\"name\": \"Producer\""),
                Activity("Elsa.RunJavaScript", "js", $"\"script\": {Lit(script)}")),
            variables: [Variable("v-message", "message", "String", "hi"), Variable("v-retry", "retry_count", "Int32", "0")],
            inputs: [Argument("Input1", "Int32"), Argument("hostName")]), Ct);

        var state = await StartAsync(host, "js-accessors", new Dictionary<string, JsonNode?> { ["Input1"] = 7, ["hostName"] = "db1" });

        AssertFinished(state);
        AssertJson(expectedJson, OutputOf(state, "js"));
    }

    [Fact]
    public async Task JavaScript_GetWorkflowInstanceId_IsTheRunId()
    {
        var (host, state) = await RunHelpersAsync("getWorkflowInstanceId()");
        await using (host)
        {
            AssertFinished(state);
            AssertJson(Str(state.Id), OutputOf(state, "js"));
        }
    }

    [Fact]
    public async Task JavaScript_SetVariableAndSetCorrelationId_ArePersisted()
    {
        var (host, state) = await RunHelpersAsync("setVariable('Greeting', 'bonjour'); setCount(9); setCorrelationId('corr-9'); 'ok'");
        await using (host)
        {
            var stored = await ReloadAsync(host, state.Id);
            AssertJson("\"bonjour\"", stored.Variables["v-greeting"]);
            AssertJson("9", stored.Variables["v-count"]);
            Assert.Equal("corr-9", stored.CorrelationId);
        }
    }

    [Fact]
    public async Task Literal_IsTheTextAsWrittenConvertedToTheInputType()
    {
        await using var host = CreateHost();
        var json = Definition("literal", Sequence("seq",
            WriteLine("text", "plain text, with {braces} and 'quotes'"),
            Delay("wait", "00:00:30"),
            WriteLineJs("after", "'waited'")));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertSuspended(state);
        Assert.Equal(["plain text, with {braces} and 'quotes'"], host.Output.Lines);
        var bookmark = Assert.Single(await BookmarksAsync(host, state.Id));
        Assert.Equal(host.Clock.GetUtcNow().AddSeconds(30), bookmark.ResumeAt);
    }

    [Fact]
    public async Task Object_IsParsedAsJson()
    {
        await using var host = CreateHost();
        var json = Definition("object", Sequence("seq",
                SetVariable("set", "v-config", "Config", Obj("""{ "replicas": [ { "host": "db2" }, { "host": "db3" } ], "primary": "db1" }""")),
                WriteLineJs("say", "Config.primary + '>' + Config.replicas.map(function (r) { return r.host; }).join(',')")),
            variables: [Variable("v-config", "Config", "Object", null)]);

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["db1>db2,db3"], host.Output.Lines);
    }

    [Fact]
    public async Task Variable_ReadsTheVariableByNameOrByReference()
    {
        await using var host = CreateHost();
        var json = Definition("variable-expression", Sequence("seq",
                WriteLine("placeholder", "start"),
                Activity("Elsa.WriteLine", "byName", $"\"text\": {Var("Greeting", "String")}"),
                Activity("Elsa.WriteLine", "byReference", """
                    "text": { "typeName": "String", "expression": { "type": "Variable", "value": { "id": "v-greeting", "name": "Greeting" } } }
                    """),
                Activity("Elsa.WriteLine", "byMemory", """
                    "text": { "typeName": "String", "memoryReference": { "id": "v-greeting" } }
                    """)),
            variables: [Variable("v-greeting", "Greeting", "String", "hello")]);

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["start", "hello", "hello", "hello"], host.Output.Lines);
    }

    [Fact]
    public async Task ObjectVariable_InitialJsonValue_IsAnObjectForScripts()
    {
        await using var host = CreateHost();
        var json = Definition("object-variable", WriteLineJs("say", "Config.host + ':' + getVariable('Config').port + ' ' + Items.length"),
            variables:
            [
                Variable("v-config", "Config", "Object", """{ "host": "db1", "port": 5432 }"""),
                Variable("v-items", "Items", "Object", "[1, 2, 3]"),
            ]);

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["db1:5432 3"], host.Output.Lines);
    }

    [Fact]
    public async Task CSharpExpression_InAnInput_ReadsVariablesInputsAndOutputsWithElsasGlobals()
    {
        await using var host = CreateHost();
        var json = Definition("csharp", Sequence("seq",
                Activity("Tests.TwoOutputs", "producer", "\"name\": \"Producer\""),
                Activity("Elsa.WriteLine", "sharp", $"\"text\": {Cs("$\"{Variable.Greeting} {Input.Name}: {Variable.Count + 1}, {Output.From<int>(\"Producer\")}, {CorrelationId}\"", "String")}")),
            variables: [Variable("v-greeting", "Greeting", "String", "hello"), Variable("v-count", "Count", "Int32", "3")],
            inputs: [Argument("Name")]);
        await host.PublishAsync(json, Ct);

        var state = await StartAsync(host, "csharp", new Dictionary<string, JsonNode?> { ["Name"] = "Ada" }, correlationId: "corr-1");

        AssertFinished(state);
        Assert.Equal(["hello Ada: 4, 42, corr-1"], host.Output.Lines);
    }

    [Fact]
    public async Task CSharpExpression_InASwitchCase_ChoosesTheCase()
    {
        await using var host = CreateHost();
        var json = Definition("csharp-case", Flowchart("flow1",
            [
                Start(),
                Activity("Elsa.FlowSwitch", "route", """
                    "cases": [ { "label": "Few", "condition": { "type": "CSharp", "value": "Variables.Count < 2" } },
                               { "label": "Many", "condition": { "type": "CSharp", "value": "Variable.Count > 1" } } ]
                    """),
                WriteLine("few", "few"),
                WriteLine("many", "many"),
            ],
            [Connect("start", "route"), Connect("route", "few", "Few"), Connect("route", "many", "Many")]),
            variables: [Variable("v-count", "Count", "Int32", "3")]);

        var state = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(state);
        Assert.Equal(["many"], host.Output.Lines);
    }

    [Fact]
    public async Task JavaScriptError_BecomesAnIncidentNamingTheActivityAndTheError()
    {
        await using var host = CreateHost();
        var json = Definition("js-error", Sequence("seq",
            WriteLine("before", "before"),
            Activity("Elsa.RunJavaScript", "broken", $"\"script\": {Lit("var x = 1;\nthrow new Error('backup bucket missing');")}"),
            WriteLine("after", "after")));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        var incident = AssertFaultedWithIncident(state);
        Assert.Equal("broken", incident.ActivityId);
        Assert.Contains("'broken'", incident.Message, StringComparison.Ordinal);
        Assert.Contains("backup bucket missing", incident.Message, StringComparison.Ordinal);
        Assert.Contains("line 2", incident.Message, StringComparison.Ordinal);
        Assert.Equal(["before"], host.Output.Lines);
    }

    [Fact]
    public async Task JavaScriptSyntaxError_BecomesAnIncidentNamingTheActivity()
    {
        await using var host = CreateHost();
        var json = Definition("js-syntax", Activity("Elsa.WriteLine", "typo", $"\"text\": {Js("'unclosed + ", "String")}"));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        var incident = AssertFaultedWithIncident(state);
        Assert.Equal("typo", incident.ActivityId);
        Assert.Contains("'typo'", incident.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JavaScriptInfiniteLoop_IsStoppedByTheTimeLimitAndBecomesAnIncident()
    {
        await using var host = CreateHost();
        var json = Definition("js-loop", Activity("Elsa.RunJavaScript", "spin", $"\"script\": {Lit("while (true) { }")}"));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        var incident = AssertFaultedWithIncident(state);
        Assert.Equal("spin", incident.ActivityId);
        Assert.Contains("'spin'", incident.Message, StringComparison.Ordinal);
        Assert.Contains("stopped", incident.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JavaScript_UndeclaredVariable_BecomesAnIncidentNamingIt()
    {
        await using var host = CreateHost();
        var json = Definition("js-undeclared", Activity("Elsa.WriteLine", "say", $"\"text\": {Js("getVariable('Nope')", "String")}"));

        var state = await host.RunAsync(json, cancellationToken: Ct);

        var incident = AssertFaultedWithIncident(state);
        Assert.Equal("say", incident.ActivityId);
        Assert.Contains("'Nope'", incident.Message, StringComparison.Ordinal);
    }
}
