using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Core.Activities.Primitives;

/// <summary>Sets one of the workflow's outputs.</summary>
[Activity("Elsa", "Primitives", "Set an output of the current workflow.", SafeToRerun = true)]
public sealed class SetOutput : CodeActivity
{
    [Input(Description = "The name of the workflow output.")]
    public Input<string> OutputName { get; set; } = new(string.Empty);

    [Input(Description = "The value of the output.")]
    public Input<object>? OutputValue { get; set; }

    protected override ValueTask RunAsync(ActivityExecutionContext context)
    {
        var name = context.Get(OutputName);
        if (string.IsNullOrWhiteSpace(name))
            throw new ActivityFailureException($"SetOutput '{context.Activity.Id}' has no output name.");
        Set(context, name, context.Get(OutputValue));
        return ValueTask.CompletedTask;
    }

    /// <summary>Sets the workflow output <paramref name="name"/> (also used by steps that end a run, e.g. CloseIncident).</summary>
    public static void Set(ActivityExecutionContext context, string name, object? value)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Workflow.State.Output[name] = ValueConverter.ToJsonNode(value);
    }
}
