using System.Text.Json.Nodes;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Core.Expressions;

/// <summary>What an expression can see: the run's variables, input, activity outputs and identity.</summary>
public sealed class ExpressionScope(ActivityExecutionContext context)
{
    public ActivityExecutionContext Context { get; } = context;

    private WorkflowState State => Context.Workflow.State;

    public string WorkflowInstanceId => State.Id;

    public string WorkflowDefinitionId => State.DefinitionId;

    public int WorkflowDefinitionVersion => State.DefinitionVersion;

    public string? CorrelationId
    {
        get => State.CorrelationId;
        set => State.CorrelationId = value;
    }

    /// <summary>Workflow variables and the local variables visible to this activity (loop items).</summary>
    public IEnumerable<string> VariableNames => Context.Workflow.Graph.Variables.Select(v => v.Name).Concat(Context.VisibleLocals.Select(l => l.Key)).Distinct(StringComparer.Ordinal);

    public JsonNode? GetVariable(string name) => Context.GetVariable(name);

    public void SetVariable(string name, JsonNode? value)
    {
        if (Context.Workflow.Graph.FindVariable(name) is null && Context.TryGetLocal(name, out _))
            throw new ActivityFailureException($"'{name}' is a loop variable and cannot be assigned; declare a workflow variable to keep a value.");
        Context.Workflow.SetVariable(name, value);
    }

    public bool HasVariable(string name) => Context.Workflow.Graph.FindVariable(name) is not null || Context.TryGetLocal(name, out _);

    /// <summary>A workflow input by name (case-insensitive, as Elsa matches them).</summary>
    public JsonNode? GetInput(string name) =>
        State.Input.FirstOrDefault(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    public IReadOnlyDictionary<string, JsonNode?> Input => State.Input;

    /// <summary>The workflow's declared input names.</summary>
    public IEnumerable<string> DeclaredInputs => Context.Workflow.Graph.Inputs.Select(i => i.Name);

    /// <summary>Every activity of the workflow that has outputs, with its output names (for Elsa's <c>get{Output}From{Activity}</c>).</summary>
    public IEnumerable<(Abstractions.Activity Activity, IEnumerable<string> Outputs)> ActivitiesWithOutputs =>
        Context.Workflow.Graph.Activities
            .Select(a => (Activity: a, Outputs: Context.Workflow.Registry.Describe(a).Outputs.Select(o => o.Name)))
            .Where(a => a.Outputs.Any());

    /// <summary>An output of a completed activity, found by id or name; the <c>Result</c> output when no name is given.</summary>
    public JsonNode? GetOutputFrom(string activityIdOrName, string? outputName)
    {
        var graph = Context.Workflow.Graph;
        var activity = graph.FindActivity(activityIdOrName);
        var key = activity?.Id ?? activityIdOrName;
        var name = outputName ?? "Result";
        if (!State.ActivityOutputs.TryGetValue(key, out var outputs))
            return Context.Workflow.FindTransientOutput(key, name);
        return outputs.FirstOrDefault(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)).Value ?? Context.Workflow.FindTransientOutput(key, name);
    }

    public JsonNode? LastResult => State.LastResult ?? Context.Workflow.TransientLastResult;

    /// <summary>
    /// Outcomes chosen by a script with <c>setOutcome</c>/<c>setOutcomes</c> (Elsa's RunJavaScript). Null where a
    /// script cannot choose outcomes (ordinary expressions): the functions are then not defined.
    /// </summary>
    public IList<string>? Outcomes { get; init; }
}
