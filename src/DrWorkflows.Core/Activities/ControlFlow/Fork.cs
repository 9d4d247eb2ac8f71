using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Core.Activities.ControlFlow;

/// <summary>How a <see cref="Fork"/> joins its branches.</summary>
public enum ForkJoinMode
{
    WaitAll,
    WaitAny,
}

/// <summary>Runs branches side by side; completes when all (or, with WaitAny, the first) have completed.</summary>
[Activity("Elsa", "Control Flow", "Branch execution into multiple branches.", SafeToRerun = true)]
public sealed class Fork : Activity
{
    private const string CompletedKey = "completed";

    [Input(Description = "WaitAll: complete when every branch has completed. WaitAny: complete with the first and cancel the others.")]
    public ForkJoinMode JoinMode { get; set; } = ForkJoinMode.WaitAll;

    public IList<Activity> Branches { get; set; } = [];

    public override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        if (Branches.Count == 0)
            return context.CompleteAsync();
        foreach (var branch in Branches)
            context.ScheduleChild(branch, JsonValue.Create(branch.Id));
        return ValueTask.CompletedTask;
    }

    public override ValueTask OnChildCompletedAsync(ActivityExecutionContext context, ChildCompletion child)
    {
        if (JoinMode == ForkJoinMode.WaitAny)
            return context.CompleteAsync();
        var completed = context.GetProperty<List<string>>(CompletedKey) ?? [];
        completed.Add(child.Activity.Id);
        context.SetProperty(CompletedKey, completed);
        return Branches.All(b => completed.Contains(b.Id)) ? context.CompleteAsync() : ValueTask.CompletedTask;
    }
}
