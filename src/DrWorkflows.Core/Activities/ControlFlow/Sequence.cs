using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Core.Activities.ControlFlow;

/// <summary>Runs its activities one after the other.</summary>
[Activity("Elsa", "Workflows", "Execute a set of activities in sequence.", SafeToRerun = true)]
public sealed class Sequence : Activity
{
    private const string IndexKey = "index";

    public IList<Activity> Activities { get; set; } = [];

    public override ValueTask ExecuteAsync(ActivityExecutionContext context) => ScheduleFromAsync(context, 0);

    public override ValueTask OnChildCompletedAsync(ActivityExecutionContext context, ChildCompletion child) =>
        ScheduleFromAsync(context, context.GetProperty<int>(IndexKey) + 1);

    private ValueTask ScheduleFromAsync(ActivityExecutionContext context, int index)
    {
        if (index >= Activities.Count)
            return context.CompleteAsync();
        context.SetProperty(IndexKey, index);
        context.ScheduleChild(Activities[index]);
        return ValueTask.CompletedTask;
    }
}
