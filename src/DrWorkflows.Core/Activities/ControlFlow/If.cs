using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Core.Activities.ControlFlow;

/// <summary>Runs <see cref="Then"/> or <see cref="Else"/> depending on a condition.</summary>
[Activity("Elsa", "Control Flow", "Evaluate a Boolean condition to determine which activity to execute next.", SafeToRerun = true, Outcomes = [Outcomes.True, Outcomes.False, Outcomes.Done])]
public sealed class If : Activity
{
    [Input(Description = "The condition to evaluate.", UIHint = InputUIHints.SingleLine)]
    public Input<bool> Condition { get; set; } = new(false);

    [Output(Description = "The value of the condition.")]
    public Output<bool> Result { get; set; } = new();

    [Port(DisplayName = "Then")]
    public Activity? Then { get; set; }

    [Port(DisplayName = "Else")]
    public Activity? Else { get; set; }

    public override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var condition = context.Get(Condition);
        context.Set(Result, condition);
        context.SetProperty("condition", condition);
        var branch = condition ? Then : Else;
        if (branch is null)
            return context.CompleteAsync(condition ? Outcomes.True : Outcomes.False, Outcomes.Done);
        context.ScheduleChild(branch);
        return ValueTask.CompletedTask;
    }

    public override ValueTask OnChildCompletedAsync(ActivityExecutionContext context, ChildCompletion child) =>
        context.CompleteAsync(context.GetProperty<bool>("condition") ? Outcomes.True : Outcomes.False, Outcomes.Done);
}
