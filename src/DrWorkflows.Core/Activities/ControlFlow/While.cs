using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Core.Activities.ControlFlow;

/// <summary>Runs <see cref="Body"/> while a condition holds (checked before each iteration).</summary>
[Activity("Elsa", "Looping", "Execute an activity while a given condition evaluates to true.", SafeToRerun = true)]
public sealed class While : Activity
{
    [Input(Description = "The condition, evaluated before each iteration.")]
    public Input<bool> Condition { get; set; } = new(false);

    [Port]
    public Activity? Body { get; set; }

    public override ValueTask ExecuteAsync(ActivityExecutionContext context) => IterateAsync(context);

    public override ValueTask OnChildCompletedAsync(ActivityExecutionContext context, ChildCompletion child) => IterateAsync(context);

    public override async ValueTask<bool> OnBreakAsync(ActivityExecutionContext context)
    {
        await context.CompleteAsync();
        return true;
    }

    private ValueTask IterateAsync(ActivityExecutionContext context)
    {
        if (Body is null || !context.Get(Condition))
            return context.CompleteAsync();
        context.ScheduleChild(Body);
        return ValueTask.CompletedTask;
    }
}
