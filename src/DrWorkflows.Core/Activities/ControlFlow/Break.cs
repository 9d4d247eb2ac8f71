using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Core.Activities.ControlFlow;

/// <summary>Leaves the nearest enclosing loop (While, For, ForEach, ParallelForEach).</summary>
[Activity("Elsa", "Looping", "Break out of a loop.", SafeToRerun = true, Outcomes = [])]
public sealed class Break : Activity
{
    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        for (var ancestor = context.Parent; ancestor is not null; ancestor = ancestor.Parent)
        {
            if (await ancestor.Activity.OnBreakAsync(ancestor))
                return;
        }

        throw new ActivityFailureException($"Break '{Id}' is not inside a loop.");
    }
}
