using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Core.Activities.ControlFlow;

/// <summary>Runs <see cref="Body"/> once per item, one after the other.</summary>
[Activity("Elsa", "Looping", "Iterate over a set of values.", SafeToRerun = true, DisplayName = "For Each")]
public sealed class ForEach : Activity
{
    private const string IndexKey = "index";
    private const string ItemsKey = "items";

    [Input(Description = "The items to iterate (an array).")]
    public Input<JsonNode>? Items { get; set; }

    [Output(Description = "The current item, also visible to the body as the variable CurrentValue.")]
    public Output<object?> CurrentValue { get; set; } = new();

    [Port]
    public Activity? Body { get; set; }

    public override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        context.Properties[ItemsKey] = LoopItems.Read(context.Get(Items));
        return IterateAsync(context, 0);
    }

    public override ValueTask OnChildCompletedAsync(ActivityExecutionContext context, ChildCompletion child) =>
        IterateAsync(context, context.GetProperty<int>(IndexKey) + 1);

    public override async ValueTask<bool> OnBreakAsync(ActivityExecutionContext context)
    {
        await context.CompleteAsync();
        return true;
    }

    private ValueTask IterateAsync(ActivityExecutionContext context, int index)
    {
        var items = (JsonArray)context.Properties[ItemsKey]!;
        if (index >= items.Count || Body is null)
            return context.CompleteAsync();
        var item = items[index]?.DeepClone();
        context.SetProperty(IndexKey, index);
        context.Set(CurrentValue, (object?)item);
        context.ScheduleChild(Body, locals: new Dictionary<string, object?> { ["CurrentValue"] = item, ["CurrentIndex"] = index });
        return ValueTask.CompletedTask;
    }
}

/// <summary>Normalizes loop input to a JSON array: arrays as they are, text split by lines or commas, one value as one item.</summary>
internal static class LoopItems
{
    public static JsonArray Read(JsonNode? node) => node switch
    {
        null => [],
        JsonArray array => (JsonArray)array.DeepClone(),
        JsonValue value when value.TryGetValue<string>(out var text) && text.TrimStart().StartsWith('[') => JsonNode.Parse(text) as JsonArray ?? [],
        JsonValue value when value.TryGetValue<string>(out var text) => new JsonArray([.. text.Split(text.Contains('\n', StringComparison.Ordinal) ? '\n' : ',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(t => (JsonNode)JsonValue.Create(t))]),
        _ => [node.DeepClone()],
    };
}
