using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Core.Activities.Primitives;

/// <summary>Faults the run with a message (an incident is raised for the operator).</summary>
[Activity("Elsa", "Primitives", "Faults the workflow.", SafeToRerun = true)]
public sealed class Fault : CodeActivity
{
    [Input(Description = "The message to include with the fault.")]
    public Input<string> Message { get; set; } = new(string.Empty);

    [Input(Description = "A code for the fault (optional).")]
    public Input<string> Code { get; set; } = new(string.Empty);

    protected override ValueTask RunAsync(ActivityExecutionContext context)
    {
        var message = context.Get(Message);
        throw new ActivityFailureException(string.IsNullOrWhiteSpace(message) ? "The workflow raised a fault." : message) { Code = context.Get(Code) };
    }
}
