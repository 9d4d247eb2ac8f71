using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Core.Activities.ControlFlow;

/// <summary>Runs <see cref="Body"/> for every item side by side; completes when all iterations have completed.</summary>
[Activity("Elsa", "Looping", "Iterate over a set of values in parallel.", SafeToRerun = true, DisplayName = "Parallel For Each")]
public sealed class ParallelForEach : Activity
{
    private const string RemainingKey = "remaining";

    [Input(Description = "The items to iterate (an array).")]
    public Input<JsonNode>? Items { get; set; }

    [Port]
    public Activity? Body { get; set; }

    public override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var items = LoopItems.Read(context.Get(Items));
        if (items.Count == 0 || Body is null)
            return context.CompleteAsync();
        context.SetProperty(RemainingKey, items.Count);
        for (var i = 0; i < items.Count; i++)
            context.ScheduleChild(Body, JsonValue.Create(i), new Dictionary<string, object?> { ["CurrentValue"] = items[i]?.DeepClone(), ["CurrentIndex"] = i });
        return ValueTask.CompletedTask;
    }

    public override ValueTask OnChildCompletedAsync(ActivityExecutionContext context, ChildCompletion child)
    {
        var remaining = context.GetProperty<int>(RemainingKey) - 1;
        context.SetProperty(RemainingKey, remaining);
        return remaining <= 0 ? context.CompleteAsync() : ValueTask.CompletedTask;
    }

    public override async ValueTask<bool> OnBreakAsync(ActivityExecutionContext context)
    {
        await context.CompleteAsync();
        return true;
    }
}
