using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Core.Activities.Primitives;

/// <summary>Sets the run's display name.</summary>
[Activity("Elsa", "Primitives", "Set the name of the workflow instance.", SafeToRerun = true)]
public sealed class SetName : CodeActivity
{
    [Input(Description = "The name to give the workflow instance.")]
    public Input<string> Value { get; set; } = new(string.Empty);

    protected override ValueTask RunAsync(ActivityExecutionContext context)
    {
        context.Workflow.State.Name = context.Get(Value);
        return ValueTask.CompletedTask;
    }
}
