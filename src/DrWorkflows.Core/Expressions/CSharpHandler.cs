using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Core.Expressions;

/// <summary>Settings of C# expressions and <c>Elsa.RunCSharp</c> (section <c>DrWorkflows:CSharp</c>).</summary>
public sealed class CSharpOptions
{
    /// <summary>How long one evaluation may run before the activity raises an incident (default 10 s, as JavaScript).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How many compiled expressions are kept (least recently used ones are dropped beyond it).</summary>
    [Range(1, 100_000)]
    public int CacheSize { get; set; } = 1000;
}

/// <summary>A C# compile error: the line and column in the expression (1-based) and the compiler's message.</summary>
public sealed record CSharpCompileError(int Line, int Column, string Id, string Message);

/// <summary>
/// C# expressions (Roslyn scripting) with Elsa 3's globals (<see cref="CSharpGlobals"/>) and its generated typed
/// accessors: <c>Variable.Count</c> (each variable, its name pascalized, typed by its declared type, read and write),
/// <c>Input.HostName</c> (each declared workflow input, named as declared), with <c>Variables</c>/<c>Inputs</c> as
/// Elsa's older names. The accessors are a preamble generated from the workflow's declared variables and inputs:
/// each expression is compiled once per (expression text, preamble) and kept in a bounded cache; the preamble itself
/// is compiled once per workflow shape. C# is full-trust code: it runs in the orchestrator with everything the
/// orchestrator may do. Each evaluation runs on a thread-pool thread with a time limit (<see cref="CSharpOptions.Timeout"/>):
/// at the limit the activity raises an incident and the run stops waiting; the code itself cannot be aborted (.NET
/// has no way to stop a thread), so it keeps its thread until it ends, cut off from the run.
/// </summary>
public sealed class CSharpHandler : IExpressionHandler
{
    private static readonly string[] Imports =
    [
        "System", "System.Linq", "System.Collections.Generic", "System.Text.Json", "System.Text.Json.Serialization",
        "System.Text.Json.Nodes", "System.Dynamic", "DrWorkflows.Core.Expressions",
    ];

    private static readonly ScriptOptions ScriptOptions = Microsoft.CodeAnalysis.Scripting.ScriptOptions.Default
        .WithOptimizationLevel(OptimizationLevel.Release)
        .WithReferences(
            typeof(CSharpGlobals).Assembly,
            typeof(Enumerable).Assembly,
            typeof(Guid).Assembly,
            typeof(System.Text.Json.JsonSerializer).Assembly,
            typeof(Dictionary<,>).Assembly,
            typeof(System.Dynamic.ExpandoObject).Assembly,
            typeof(Microsoft.CSharp.RuntimeBinder.Binder).Assembly)
        .WithImports(Imports);

    /// <summary>Member names of the generated proxies' base classes: a variable or input of that name gets no typed accessor.</summary>
    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal) { "Get", "Set", "ExecutionContext", "Arguments", "WorkflowVariablesProxy", "WorkflowInputsProxy" };

    private readonly CSharpOptions options;
    private readonly ILogger logger;
    private readonly ConditionalWeakTable<WorkflowGraph, string> preambles = new();
    private readonly ConcurrentDictionary<string, Script<object>> preambleScripts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Preamble, string Code), Entry> compiled = new();
    private int compilations;
    private int abandoned;
    private long uses;

    public CSharpHandler(IOptions<CSharpOptions> options, ILogger<CSharpHandler> logger)
    {
        this.options = options.Value;
        this.logger = logger;
    }

    /// <summary>With the default settings and no logging (offline validation, tests).</summary>
    public CSharpHandler()
        : this(Options.Create(new CSharpOptions()), NullLogger<CSharpHandler>.Instance)
    {
    }

    public string Type => ExpressionTypes.CSharp;

    /// <summary>How many expressions were compiled since start (each distinct expression and preamble once while cached).</summary>
    public int Compilations => Volatile.Read(ref compilations);

    /// <summary>Evaluations given up at their time limit whose code is still running.</summary>
    public int AbandonedStillRunning => Volatile.Read(ref abandoned);

    /// <summary>How many compiled expressions are cached.</summary>
    public int CachedCount => compiled.Count;

    public object? Evaluate(Expression expression, Type targetType, ExpressionScope scope)
    {
        var code = expression.ValueText ?? string.Empty;
        if (string.IsNullOrWhiteSpace(code))
            return null;
        var activityId = scope.Context.Activity.Id;
        var (runner, errors) = Compile(scope.Context.Workflow.Graph, code);
        if (runner is null)
            throw new ActivityFailureException(CompileMessage(activityId, errors), retryable: false);
        return Run(runner, scope, activityId);
    }

    /// <summary>Compiles <paramref name="code"/> as it would run in <paramref name="graph"/> (and caches it); the errors, none when it compiles.</summary>
    public IReadOnlyList<CSharpCompileError> Check(WorkflowGraph graph, string code) =>
        string.IsNullOrWhiteSpace(code) ? [] : Compile(graph, code).Errors;

    /// <summary>"C# in activity 'x' does not compile: line 2, column 5: CS0103 ...".</summary>
    public static string CompileMessage(string activityId, IReadOnlyList<CSharpCompileError> errors) =>
        $"C# in activity '{activityId}' does not compile: " + string.Join("; ", errors.Take(5).Select(e => $"line {e.Line}, column {e.Column}: {e.Id} {e.Message}"));

    private object? Run(ScriptRunner<object> runner, ExpressionScope scope, string activityId)
    {
        var limit = options.Timeout;
        using var timer = new CancellationTokenSource(limit, scope.Context.Clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(scope.Context.CancellationToken, timer.Token);
        var globals = new CSharpGlobals(scope, linked.Token);
        var task = Task.Run(() => runner(globals, linked.Token), CancellationToken.None);
        try
        {
            // Wait with a token (not inlined on this thread), so that the limit is enforced even if the code never looks at it.
            task.Wait(linked.Token);
            return task.Result;
        }
        catch (Exception e) when (timer.IsCancellationRequested && e is OperationCanceledException or AggregateException { InnerException: OperationCanceledException })
        {
            if (!task.IsCompleted)
            {
                globals.Close();
                Abandon(task, activityId);
            }

            throw new ActivityFailureException(LimitMessage(activityId, limit), retryable: false);
        }
        catch (OperationCanceledException) when (!task.IsCompleted)
        {
            // The node is shutting down: the run is resumed elsewhere or later.
            globals.Close();
            Abandon(task, activityId);
            throw;
        }
        catch (AggregateException e) when (e.InnerException is { } inner)
        {
            throw new ActivityFailureException($"C# error in activity '{activityId}': {inner.GetType().Name}: {inner.Message}", retryable: false, inner);
        }
        finally
        {
            if (task.IsCompleted)
                globals.Close();
        }
    }

    private static string LimitMessage(string activityId, TimeSpan limit) =>
        $"C# in activity '{activityId}' was stopped: it hit the time limit of {limit.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s (DrWorkflows:CSharp:Timeout). The run no longer waits for it and it can no longer read or change the run, but code that does not stop by itself keeps its thread until it ends.";

    private void Abandon(Task task, string activityId)
    {
        Interlocked.Increment(ref abandoned);
        Log.CSharpAbandoned(logger, activityId, options.Timeout);
        task.ContinueWith(
            t =>
            {
                Interlocked.Decrement(ref abandoned);
                Log.CSharpAbandonedEnded(logger, activityId, t.Status.ToString());
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private (ScriptRunner<object>? Runner, IReadOnlyList<CSharpCompileError> Errors) Compile(WorkflowGraph graph, string code)
    {
        var preamble = preambles.GetValue(graph, Preamble);
        var entry = compiled.GetOrAdd((preamble, code), key => new Entry(new Lazy<(ScriptRunner<object>?, IReadOnlyList<CSharpCompileError>)>(() => CompileNow(key.Preamble, key.Code))));
        entry.LastUse = Interlocked.Increment(ref uses);
        var result = entry.Compiled.Value;
        if (compiled.Count > options.CacheSize)
            Evict();
        return result;
    }

    private (ScriptRunner<object>?, IReadOnlyList<CSharpCompileError>) CompileNow(string preamble, string code)
    {
        Interlocked.Increment(ref compilations);
        var start = preambleScripts.GetOrAdd(preamble, text => CSharpScript.Create<object>(text, ScriptOptions, typeof(CSharpGlobals)));
        if (preambleScripts.Count > options.CacheSize)
        {
            foreach (var key in preambleScripts.Keys.Where(k => k != preamble).Take(preambleScripts.Count - options.CacheSize))
                preambleScripts.TryRemove(key, out _);
        }

        var script = start.ContinueWith<object>(code, ScriptOptions);
        try
        {
            var errors = script.Compile().Where(d => d.Severity == DiagnosticSeverity.Error).Select(Error).ToList();
            return errors.Count > 0 ? (null, errors) : (script.CreateDelegate(), []);
        }
        catch (CompilationErrorException e)
        {
            return (null, [.. e.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(Error)]);
        }
    }

    private static CSharpCompileError Error(Diagnostic diagnostic)
    {
        var position = diagnostic.Location.GetLineSpan().StartLinePosition;
        return new CSharpCompileError(position.Line + 1, position.Character + 1, diagnostic.Id, diagnostic.GetMessage(CultureInfo.InvariantCulture));
    }

    /// <summary>Drops the least recently used entries beyond the cache size (only when an expression was added).</summary>
    private void Evict()
    {
        var excess = compiled.Count - options.CacheSize;
        if (excess <= 0)
            return;
        foreach (var (key, _) in compiled.OrderBy(p => p.Value.LastUse).Take(excess).ToList())
            compiled.TryRemove(key, out _);
    }

    /// <summary>
    /// Elsa's generated accessors for one workflow: <c>WorkflowVariablesProxy</c> with a typed property per variable
    /// (name pascalized, as Elsa), <c>WorkflowInputsProxy</c> with one per declared input (named as declared), and
    /// <c>Variables</c>, <c>Variable</c>, <c>Inputs</c>, <c>Input</c>, <c>Args</c>. As in Elsa, only names of letters
    /// and digits get a property (here also: a valid C# name, not one the proxy already has); others are reached with
    /// <c>Variable.Get("my-var")</c>.
    /// </summary>
    private static string Preamble(WorkflowGraph graph)
    {
        var text = new StringBuilder();
        text.AppendLine("public sealed class WorkflowVariablesProxy : CSharpVariables {");
        text.AppendLine("\tpublic WorkflowVariablesProxy(CSharpExecutionContext executionContext) : base(executionContext) { }");
        var names = new HashSet<string>(Reserved, StringComparer.Ordinal);
        foreach (var variable in graph.Variables)
        {
            var property = ElsaNaming.Pascalize(variable.Name);
            if (!IsAccessorName(variable.Name) || !IsAccessorName(property) || !names.Add(property))
                continue;
            var type = TypeName(variable.TypeName);
            text.Append(CultureInfo.InvariantCulture, $"\tpublic {type} {property} {{ get => Get<{type}>(\"{variable.Name}\"); set => Set(\"{variable.Name}\", value); }}").AppendLine();
        }

        text.AppendLine("}");
        text.AppendLine("public sealed class WorkflowInputsProxy : CSharpInputs {");
        text.AppendLine("\tpublic WorkflowInputsProxy(CSharpExecutionContext executionContext) : base(executionContext) { }");
        names = new HashSet<string>(Reserved, StringComparer.Ordinal);
        foreach (var input in graph.Inputs)
        {
            if (!IsAccessorName(input.Name) || !names.Add(input.Name))
                continue;
            var type = input.IsArray ? $"{TypeName(input.TypeName)}[]" : TypeName(input.TypeName);
            text.Append(CultureInfo.InvariantCulture, $"\tpublic {type} {input.Name} => Get<{type}>(\"{input.Name}\");").AppendLine();
        }

        text.AppendLine("}");
        text.AppendLine("var Variables = new WorkflowVariablesProxy(ExecutionContext);");
        text.AppendLine("var Variable = Variables;");
        text.AppendLine("var Inputs = new WorkflowInputsProxy(ExecutionContext);");
        text.AppendLine("var Input = Inputs;");
        text.AppendLine("var Args = new CSharpArguments(Arguments);");
        return text.ToString();
    }

    private static bool IsAccessorName(string name) =>
        !string.IsNullOrWhiteSpace(name) && name.All(char.IsLetterOrDigit) && SyntaxFacts.IsValidIdentifier(name) && SyntaxFacts.GetKeywordKind(name) == SyntaxKind.None;

    /// <summary>The C# type of a declared type name (<c>Int32</c> → <c>int</c>); unknown names are <c>object</c>.</summary>
    private static string TypeName(string? alias) => TypeAliases.ToType(alias) switch
    {
        var t when t == typeof(string) => "string?",
        var t when t == typeof(bool) => "bool",
        var t when t == typeof(int) => "int",
        var t when t == typeof(long) => "long",
        var t when t == typeof(double) => "double",
        var t when t == typeof(float) => "float",
        var t when t == typeof(decimal) => "decimal",
        var t when t == typeof(string[]) => "string[]?",
        var t when t == typeof(object) => "object?",
        var t => $"global::{t.FullName}{(t.IsValueType ? string.Empty : "?")}",
    };

    private sealed class Entry(Lazy<(ScriptRunner<object>? Runner, IReadOnlyList<CSharpCompileError> Errors)> compiled)
    {
        public Lazy<(ScriptRunner<object>? Runner, IReadOnlyList<CSharpCompileError> Errors)> Compiled { get; } = compiled;

        public long LastUse { get; set; }
    }

    /// <summary>
    /// Every C# in a definition's JSON: <c>{"type": "CSharp", "value": ...}</c> expressions (inputs, switch cases,
    /// anywhere) and <c>Elsa.RunCSharp</c> activities, each with the id of the activity it belongs to, where, and
    /// its code when it is written out (a RunCSharp script given as a Literal or CSharp text).
    /// </summary>
    public static IReadOnlyList<CSharpUse> FindUses(JsonNode? root)
    {
        var uses = new List<CSharpUse>();
        Walk(root, activityId: null, where: null, uses);
        return uses;
    }

    private static void Walk(JsonNode? node, string? activityId, string? where, List<CSharpUse> uses)
    {
        switch (node)
        {
            case JsonArray array:
                foreach (var item in array)
                    Walk(item, activityId, where, uses);
                break;
            case JsonObject obj:
                var type = obj["type"] is JsonValue t && t.TryGetValue<string>(out var s) ? s : null;
                if (type == ExpressionTypes.CSharp && obj.ContainsKey("value") && !obj.ContainsKey("id"))
                {
                    uses.Add(new CSharpUse(activityId ?? "(workflow)", where ?? "expression", Text(obj["value"]), IsExpression: true));
                    return;
                }

                if (type is not null && obj["id"] is JsonValue idValue && idValue.TryGetValue<string>(out var id))
                {
                    activityId = id;
                    where = null;
                    if (type == Activities.Primitives.RunCSharp.TypeName)
                    {
                        var script = obj["script"]?["expression"] as JsonObject;
                        var scriptType = script?["type"]?.GetValue<string>();
                        var code = scriptType is ExpressionTypes.Literal or ExpressionTypes.CSharp ? Text(script?["value"]) : null;
                        uses.Add(new CSharpUse(id, "script", code, IsExpression: false));
                        foreach (var (name, value) in obj.Where(p => p.Key != "script"))
                            Walk(value, activityId, name, uses);
                        return; // the script is the code itself, whatever expression type holds it
                    }
                }

                foreach (var (name, value) in obj)
                    Walk(value, activityId, where ?? name, uses);
                break;
        }
    }

    private static string? Text(JsonNode? value) => value switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var text) => text,
        _ => value.ToJsonString(),
    };
}

/// <summary>One place a definition uses C#: the activity, where in it, and the code when it is written out.</summary>
public sealed record CSharpUse(string ActivityId, string Where, string? Code, bool IsExpression);
