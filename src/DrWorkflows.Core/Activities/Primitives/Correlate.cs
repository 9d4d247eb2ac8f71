using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Core.Activities.Primitives;

/// <summary>Sets the run's correlation id.</summary>
[Activity("Elsa", "Primitives", "Set the correlation ID of the workflow instance.", SafeToRerun = true)]
public sealed class Correlate : CodeActivity
{
    [Input(Description = "An identifier to correlate the run with (e.g. an alert or incident id).")]
    public Input<string> CorrelationId { get; set; } = new(string.Empty);

    protected override ValueTask RunAsync(ActivityExecutionContext context)
    {
        context.Workflow.State.CorrelationId = context.Get(CorrelationId);
        return ValueTask.CompletedTask;
    }
}
