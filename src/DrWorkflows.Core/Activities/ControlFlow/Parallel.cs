using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Core.Activities.ControlFlow;

/// <summary>
/// Runs its activities side by side and completes when all have completed. Branches interleave on one
/// executor: while one waits (a gate, a timer), the others go on.
/// </summary>
[Activity("Elsa", "Workflows", "Execute a set of activities in parallel.", SafeToRerun = true)]
public sealed class Parallel : Activity
{
    private const string RemainingKey = "remaining";

    public IList<Activity> Activities { get; set; } = [];

    public override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        if (Activities.Count == 0)
            return context.CompleteAsync();
        context.SetProperty(RemainingKey, Activities.Count);
        foreach (var activity in Activities)
            context.ScheduleChild(activity);
        return ValueTask.CompletedTask;
    }

    public override ValueTask OnChildCompletedAsync(ActivityExecutionContext context, ChildCompletion child)
    {
        var remaining = context.GetProperty<int>(RemainingKey) - 1;
        context.SetProperty(RemainingKey, remaining);
        return remaining <= 0 ? context.CompleteAsync() : ValueTask.CompletedTask;
    }
}
