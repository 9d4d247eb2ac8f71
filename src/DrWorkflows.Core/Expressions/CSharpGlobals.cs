using System.Text.Json.Nodes;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Core.Expressions;

/// <summary>
/// What a C# expression sees, named as in Elsa 3's C# module: <c>Output</c>, <c>Outcome</c>, <c>ExecutionContext</c>,
/// <c>WorkflowInstanceId</c>, <c>CorrelationId</c>, <c>WorkflowInstanceName</c> and <c>Arguments</c>; the generated
/// <c>Variable</c>/<c>Variables</c>, <c>Input</c>/<c>Inputs</c> and <c>Args</c> come from the script's preamble
/// (<see cref="CSharpHandler"/>). Ours on top: <c>WorkflowDefinitionId</c>, <c>WorkflowDefinitionVersion</c> and
/// <c>CancellationToken</c> (cancelled at the time limit, for code that wants to stop cooperatively).
/// Once the evaluation is over (or given up at its time limit) every access to the run through these objects throws,
/// so code still running after its limit cannot change the run.
/// </summary>
public sealed class CSharpGlobals
{
    private readonly ExpressionScope scope;
    private readonly Lock gate = new();
    private bool closed;

    internal CSharpGlobals(ExpressionScope scope, CancellationToken cancellationToken)
    {
        this.scope = scope;
        CancellationToken = cancellationToken;
        ExecutionContext = new CSharpExecutionContext(this);
        Output = new CSharpOutputs(this);
        Outcome = new CSharpOutcomes(this);
    }

    /// <summary>Chooses the outcomes of <c>Elsa.RunCSharp</c>: <c>Outcome.Set("A", "B")</c>.</summary>
    public CSharpOutcomes Outcome { get; }

    /// <summary>Outputs of activities that ran: <c>Output.From("activity", "Result")</c>, <c>Output.LastResult</c>.</summary>
    public CSharpOutputs Output { get; }

    /// <summary>Variables and inputs by name: <c>ExecutionContext.GetVariable&lt;int&gt;("Count")</c>.</summary>
    public CSharpExecutionContext ExecutionContext { get; }

    public string WorkflowInstanceId => Access(() => scope.WorkflowInstanceId);

    public string WorkflowDefinitionId => Access(() => scope.WorkflowDefinitionId);

    public int WorkflowDefinitionVersion => Access(() => scope.WorkflowDefinitionVersion);

    public string? CorrelationId
    {
        get => Access(() => scope.CorrelationId);
        set => Access(() => scope.CorrelationId = value);
    }

    public string? WorkflowInstanceName
    {
        get => Access(() => scope.Context.Workflow.State.Name);
        set => Access(() => scope.Context.Workflow.State.Name = value);
    }

    /// <summary>Elsa's caller arguments; the runtime passes none, so it is empty (kept so Elsa scripts compile).</summary>
    public IDictionary<string, object> Arguments { get; } = new Dictionary<string, object>(StringComparer.Ordinal);

    /// <summary>Cancelled when the evaluation reaches its time limit or the node shuts down.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Ends access to the run (the evaluation is over, or was given up at its limit).</summary>
    internal void Close()
    {
        lock (gate)
            closed = true;
    }

    internal T Access<T>(Func<T> read)
    {
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(closed, typeof(CSharpGlobals));
            return read();
        }
    }

    internal void Access(Action write) => Access(() =>
    {
        write();
        return true;
    });

    internal ExpressionScope Scope => scope;

    internal object? ValueOf(JsonNode? node, Type type) => ValueConverter.Convert(node, type);
}

/// <summary>Elsa's <c>ExecutionContext</c> proxy: variables and workflow inputs by name.</summary>
public sealed class CSharpExecutionContext
{
    private readonly CSharpGlobals globals;

    internal CSharpExecutionContext(CSharpGlobals globals) => this.globals = globals;

    public T? GetVariable<T>(string name) => globals.Access(() => ValueConverter.Convert<T>(globals.Scope.GetVariable(name)));

    /// <summary>The variable's value as its declared type (<c>Object</c>: strings, numbers, dictionaries and lists).</summary>
    public object? GetVariable(string name) => globals.Access(() =>
    {
        var declared = globals.Scope.Context.Workflow.Graph.FindVariable(name);
        return globals.ValueOf(globals.Scope.GetVariable(name), Model.TypeAliases.ToType(declared?.TypeName));
    });

    public void SetVariable(string name, object? value) => globals.Access(() => globals.Scope.SetVariable(name, ValueConverter.ToJsonNode(value)));

    /// <summary>A workflow input by name (case-insensitive, as Elsa matches them).</summary>
    public T? GetInput<T>(string name) => globals.Access(() => ValueConverter.Convert<T>(globals.Scope.GetInput(name)));
}

/// <summary>Elsa's generated <c>Variable</c> proxy: <c>Get</c>, <c>Get&lt;T&gt;</c>, <c>Set</c>; the preamble adds one typed property per variable.</summary>
public class CSharpVariables(CSharpExecutionContext executionContext)
{
    public CSharpExecutionContext ExecutionContext { get; } = executionContext;

    public T? Get<T>(string name) => ExecutionContext.GetVariable<T>(name);

    public object? Get(string name) => ExecutionContext.GetVariable(name);

    public void Set(string name, object? value) => ExecutionContext.SetVariable(name, value);
}

/// <summary>Elsa's generated <c>Input</c> proxy: <c>Get&lt;T&gt;</c>; the preamble adds one typed property per declared workflow input.</summary>
public class CSharpInputs(CSharpExecutionContext executionContext)
{
    public CSharpExecutionContext ExecutionContext { get; } = executionContext;

    public T? Get<T>(string name) => ExecutionContext.GetInput<T>(name);
}

/// <summary>Elsa's generated <c>Args</c> proxy over <see cref="CSharpGlobals.Arguments"/>.</summary>
public class CSharpArguments(IDictionary<string, object> arguments)
{
    public IDictionary<string, object> Arguments { get; } = arguments;

    public T? Get<T>(string name) => Arguments.TryGetValue(name, out var value) ? ValueConverter.Convert<T>(value) : default;
}

/// <summary>Elsa's <c>Output</c> proxy: outputs of activities that ran, by activity id or name.</summary>
public sealed class CSharpOutputs
{
    private readonly CSharpGlobals globals;

    internal CSharpOutputs(CSharpGlobals globals) => this.globals = globals;

    /// <summary>An output of an activity (<c>Result</c> when no name is given); strings, numbers, dictionaries and lists.</summary>
    public object? From(string activityIdOrName, string? outputName = null) =>
        globals.Access(() => ValueConverter.Convert<object>(globals.Scope.GetOutputFrom(activityIdOrName, outputName)));

    public T? From<T>(string activityIdOrName, string? outputName = null) =>
        globals.Access(() => ValueConverter.Convert<T>(globals.Scope.GetOutputFrom(activityIdOrName, outputName)));

    /// <summary>Elsa's older name for <see cref="From(string, string?)"/>.</summary>
    public object? Get(string activityIdOrName, string? outputName = null) => From(activityIdOrName, outputName);

    /// <summary>Elsa's older name for <see cref="From{T}(string, string?)"/>.</summary>
    public T? Get<T>(string activityIdOrName, string? outputName = null) => From<T>(activityIdOrName, outputName);

    /// <summary>The <c>Result</c> of the last activity that set one.</summary>
    public object? LastResult => globals.Access(() => ValueConverter.Convert<object>(globals.Scope.LastResult));
}

/// <summary>Elsa's <c>Outcome</c> proxy: <c>Outcome.Set("A")</c> chooses the ports <c>Elsa.RunCSharp</c> completes with.</summary>
public sealed class CSharpOutcomes
{
    private readonly CSharpGlobals globals;

    internal CSharpOutcomes(CSharpGlobals globals) => this.globals = globals;

    public void Set(params string[] outcomeNames) => globals.Access(() =>
    {
        var outcomes = globals.Scope.Outcomes ?? throw new InvalidOperationException("Outcome.Set is only available in Elsa.RunCSharp.");
        outcomes.Clear();
        foreach (var name in outcomeNames)
            outcomes.Add(name);
    });
}
