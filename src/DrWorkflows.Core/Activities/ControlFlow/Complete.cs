using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Model;

namespace DrWorkflows.Core.Activities.ControlFlow;

/// <summary>Completes the enclosing composite (e.g. the flowchart) with the given outcomes.</summary>
[Activity("Elsa", "Primitives", "Signals the current composite activity to complete itself as a whole.", SafeToRerun = true, Outcomes = [])]
[DynamicOutcomes(nameof(Outcomes))]
public sealed class Complete : Activity
{
    [Input(Description = "The outcomes the composite completes with.", UIHint = InputUIHints.OutcomePicker)]
    public Input<string[]>? Outcomes { get; set; }

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var outcomes = context.Get(Outcomes) ?? [];
        if (context.Parent is { } parent)
        {
            await context.Workflow.CompleteAsync(context, outcomes, notifyParent: false);
            await parent.CompleteAsync(outcomes);
        }
        else
            await context.CompleteAsync(outcomes);
    }
}

/// <summary>Ends the whole run successfully, cancelling whatever else is running or waiting.</summary>
[Activity("Elsa", "Primitives", "Mark the workflow as finished.", SafeToRerun = true, Outcomes = [])]
public sealed class Finish : Activity
{
    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        await context.Workflow.CompleteAsync(context, [], notifyParent: false);
        context.Workflow.Finish(WorkflowSubStatus.Finished);
    }
}
