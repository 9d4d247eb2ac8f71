using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Core.Activities.ControlFlow;

/// <summary>
/// Counts from <see cref="Start"/> to <see cref="End"/> by <see cref="Step"/>, running <see cref="Body"/> each time.
/// As in Elsa, the direction comes from <see cref="Start"/> and <see cref="End"/> (counting down when the end is
/// below the start) and the step is a size: <c>3..1</c> with step 1 or -1 counts 3, 2, 1.
/// </summary>
[Activity("Elsa", "Looping", "Iterate over a sequence of steps between a start and an end number.", SafeToRerun = true)]
public sealed class For : Activity
{
    private const string CurrentKey = "current";
    private const string StepKey = "step";

    [Input(Description = "The first value.")]
    public Input<int> Start { get; set; } = new(0);

    [Input(Description = "The last value.")]
    public Input<int> End { get; set; } = new(0);

    [Input(Description = "The step size (its sign is ignored: the loop counts down when the end is below the start).")]
    public Input<int> Step { get; set; } = new(1);

    [Input(Description = "Include the end value.")]
    public Input<bool> OuterBoundInclusive { get; set; } = new(true);

    [Output(Description = "The current value, also visible to the body as the variable CurrentValue.")]
    public Output<int> CurrentValue { get; set; } = new();

    [Port]
    public Activity? Body { get; set; }

    public override ValueTask ExecuteAsync(ActivityExecutionContext context) => IterateAsync(context, context.Get(Start));

    public override ValueTask OnChildCompletedAsync(ActivityExecutionContext context, ChildCompletion child) =>
        IterateAsync(context, context.GetProperty<int>(CurrentKey) + context.GetProperty<int>(StepKey));

    public override async ValueTask<bool> OnBreakAsync(ActivityExecutionContext context)
    {
        await context.CompleteAsync();
        return true;
    }

    private ValueTask IterateAsync(ActivityExecutionContext context, int current)
    {
        var size = Math.Abs(context.Get(Step));
        if (size == 0)
            throw new ActivityFailureException($"For '{Id}' has a step of 0, which would never end.");
        var end = context.Get(End);
        var inclusive = context.Get(OuterBoundInclusive);
        var up = end >= context.Get(Start);
        var inRange = up ? (inclusive ? current <= end : current < end) : (inclusive ? current >= end : current > end);
        if (!inRange || Body is null)
            return context.CompleteAsync();
        context.SetProperty(CurrentKey, current);
        context.SetProperty(StepKey, up ? size : -size);
        context.Set(CurrentValue, current);
        context.ScheduleChild(Body, locals: new Dictionary<string, object?> { ["CurrentValue"] = current });
        return ValueTask.CompletedTask;
    }
}
