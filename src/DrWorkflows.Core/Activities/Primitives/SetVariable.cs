using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Core.Activities.Primitives;

/// <summary>Sets a workflow variable.</summary>
[Activity("Elsa", "Primitives", "Assign a value to a workflow variable.", SafeToRerun = true)]
public sealed class SetVariable : CodeActivity
{
    /// <summary>The variable, as Elsa writes it: <c>{"id": "...", "name": "..."}</c>.</summary>
    [Input(Description = "The variable to assign the value to.", UIHint = InputUIHints.VariablePicker)]
    public VariableReference? Variable { get; set; }

    [Input(Description = "The value to assign.")]
    public Input<object>? Value { get; set; }

    protected override ValueTask RunAsync(ActivityExecutionContext context)
    {
        var reference = Variable ?? throw new ActivityFailureException($"SetVariable '{context.Activity.Id}' has no variable selected.");
        var definition = context.Workflow.Graph.FindVariable(reference.Id ?? reference.Name ?? string.Empty)
            ?? context.Workflow.Graph.FindVariable(reference.Name ?? string.Empty)
            ?? throw new ActivityFailureException($"SetVariable '{context.Activity.Id}': variable '{reference.Name ?? reference.Id}' is not declared in the workflow.");
        var value = context.Get(Value);
        var type = Model.TypeAliases.ToType(definition.TypeName);
        var converted = type == typeof(object) ? value : ValueConverter.Convert(value, type);
        context.Workflow.SetVariable(definition.Name, converted);
        context.AddJournalData("variable", definition.Name);
        return ValueTask.CompletedTask;
    }
}

/// <summary>A reference to a variable as stored in activity JSON.</summary>
public sealed class VariableReference
{
    public string? Id { get; set; }

    public string? Name { get; set; }

    public string? TypeName { get; set; }

    public JsonNode? Value { get; set; }
}
