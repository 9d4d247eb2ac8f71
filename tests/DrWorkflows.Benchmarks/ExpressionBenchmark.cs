using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Expressions;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Runtime;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Benchmarks;

/// <summary>
/// Evaluates one expression many times inside a run (the activity's own scope: variables, input, earlier outputs) and
/// records the time per evaluation: what an input or a switch case costs, without the runtime's commit around it.
/// </summary>
[Activity("Bench", "Benchmark", "Evaluates an expression many times and records the time per evaluation.", SafeToRerun = true)]
public sealed class EvaluateMany : CodeActivity
{
    [Input(Description = "The expression type (JavaScript, CSharp).")]
    public Input<string> Syntax { get; set; } = new(string.Empty);

    [Input(Description = "The expression.")]
    public Input<string> Code { get; set; } = new(string.Empty);

    [Input(Description = "Evaluations to time (after one untimed).")]
    public Input<int> Iterations { get; set; } = new(1000);

    [Output(Description = "Microseconds per evaluation.")]
    public Output<double> MicrosecondsEach { get; set; } = new();

    [Output(Description = "The first value (to check both syntaxes agree).")]
    public Output<string> Value { get; set; } = new();

    protected override ValueTask RunAsync(ActivityExecutionContext context)
    {
        var expression = new Expression(context.Get(Syntax)!, JsonValue.Create(context.Get(Code)));
        var iterations = context.Get(Iterations, 1000);
        var first = context.Evaluate(expression, typeof(object)); // the first evaluation compiles (C#) and warms up
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < iterations; i++)
            context.Evaluate(expression, typeof(object));
        context.Set(MicrosecondsEach, clock.Elapsed.TotalMicroseconds / iterations);
        context.Set(Value, Convert.ToString(first, CultureInfo.InvariantCulture) ?? "null");
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// C# expressions against JavaScript ones on the same expressions, after the first compile (issue 16: C# at least as
/// fast). Each pair runs in one workflow with the same variables, input and earlier output; the time per evaluation
/// is the median of <c>rounds</c> runs of <c>iterations</c> evaluations.
/// </summary>
internal static class ExpressionBenchmark
{
    private static readonly (string Name, string JavaScript, string CSharp)[] Cases =
    [
        ("read a variable", "getVariable('Count')", "Variable.Count"),
        ("arithmetic on a variable and an input", "getVariable('Count') * 2 + getInput('Port')", "Variable.Count * 2 + Input.Port"),
        ("string from a variable, an input and an output", "getVariable('Greeting') + ' ' + getInput('Name') + ' ' + getOutputFrom('producer')", "Variable.Greeting + \" \" + Input.Name + \" \" + Output.From(\"producer\")"),
        ("condition", "getVariable('Count') > 2 && getInput('Name') === 'Ada'", "Variable.Count > 2 && Input.Name == \"Ada\""),
    ];

    public static async Task<int> RunAsync(Report report, CancellationToken cancellationToken)
    {
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("DRW_BENCH_ITERATIONS"), CultureInfo.InvariantCulture, out var n) ? n : 2000;
        const int rounds = 5;
        var services = new ServiceCollection();
        services.AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
        services.AddLogging();
        services.AddDrWorkflowsRuntime(registry => registry.RegisterAssembly(typeof(EvaluateMany).Assembly));
        services.AddDrWorkflowsInMemoryStore();
        await using var provider = services.BuildServiceProvider();
        var definitions = provider.GetRequiredService<WorkflowDefinitionService>();
        var runtime = provider.GetRequiredService<WorkflowRuntime>();
        var csharp = provider.GetRequiredService<CSharpHandler>();
        var slowest = double.MaxValue;
        report.Note($"C# against JavaScript: {iterations} evaluations per run, median of {rounds} runs, after the first compile");
        foreach (var (name, javaScript, csharpCode) in Cases)
        {
            var js = new List<double>();
            var cs = new List<double>();
            string? jsValue = null, csValue = null;
            for (var round = 0; round < rounds; round++)
            {
                (var t, jsValue) = await MeasureAsync(definitions, runtime, "JavaScript", javaScript, iterations, cancellationToken);
                js.Add(t);
                (t, csValue) = await MeasureAsync(definitions, runtime, "CSharp", csharpCode, iterations, cancellationToken);
                cs.Add(t);
            }

            if (!string.Equals(jsValue, csValue, StringComparison.OrdinalIgnoreCase))
                throw new InvalidOperationException($"'{name}': JavaScript gave {jsValue}, C# gave {csValue}: the two expressions do not compute the same thing.");
            var ratio = Median(js) / Median(cs);
            slowest = Math.Min(slowest, ratio);
            report.Line("C#", $"{name}: JavaScript {Median(js):F1} µs, C# {Median(cs):F1} µs per evaluation; C# is faster by", ratio, "×");
        }

        report.Note($"C# compilations in the whole benchmark: {csharp.Compilations} (one per expression: the rest came from the cache)");
        var met = slowest >= 1.0;
        report.Note($"target C# at least as fast as JavaScript after the first compile: {(met ? "met" : "MISSED")} (smallest ratio {slowest:F2}×)");
        return met ? 0 : 1;
    }

    private static async Task<(double MicrosecondsEach, string Value)> MeasureAsync(WorkflowDefinitionService definitions, WorkflowRuntime runtime, string syntax, string code, int iterations, CancellationToken cancellationToken)
    {
        var definitionId = "bench-expression-" + syntax.ToLowerInvariant();
        var json = new JsonObject
        {
            ["definitionId"] = definitionId,
            ["name"] = definitionId,
            ["variables"] = new JsonArray(
                new JsonObject { ["id"] = "v-count", ["name"] = "Count", ["typeName"] = "Int32", ["value"] = "3" },
                new JsonObject { ["id"] = "v-greeting", ["name"] = "Greeting", ["typeName"] = "String", ["value"] = "hello" }),
            ["inputs"] = new JsonArray(
                new JsonObject { ["name"] = "Name", ["type"] = "String" },
                new JsonObject { ["name"] = "Port", ["type"] = "Int32" }),
            ["root"] = new JsonObject
            {
                ["type"] = "Elsa.Sequence", ["id"] = "seq", ["version"] = 1,
                ["activities"] = new JsonArray(
                    new JsonObject { ["type"] = "Elsa.RunJavaScript", ["id"] = "producer", ["version"] = 1, ["script"] = Literal("42") },
                    new JsonObject { ["type"] = "Bench.EvaluateMany", ["id"] = "eval", ["version"] = 1, ["syntax"] = Literal(syntax), ["code"] = Literal(code), ["iterations"] = Literal(iterations.ToString(CultureInfo.InvariantCulture)) }),
            },
        };
        await definitions.SaveAsync(new WorkflowDefinitionDocument(json), publish: true, "bench", isReadonly: false, cancellationToken);
        var state = await runtime.StartAsync(new StartRunRequest(definitionId)
        {
            Input = new Dictionary<string, JsonNode?> { ["Name"] = "Ada", ["Port"] = 5432 },
            StartedBy = "bench",
        }, cancellationToken);
        if (state.Status != WorkflowStatus.Finished || state.SubStatus != WorkflowSubStatus.Finished)
            throw new InvalidOperationException($"{syntax} '{code}': the run ended {state.Status}/{state.SubStatus}: {string.Join("; ", state.Incidents.Select(i => i.Message))}");
        var outputs = state.ActivityOutputs["eval"];
        return (outputs["MicrosecondsEach"]!.GetValue<double>(), outputs["Value"]!.GetValue<string>());
    }

    private static JsonObject Literal(string value) => new() { ["typeName"] = "String", ["expression"] = new JsonObject { ["type"] = "Literal", ["value"] = value } };

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
