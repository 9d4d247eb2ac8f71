using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Expressions;
using DrWorkflows.Core.Model;

namespace DrWorkflows.Core.Activities.ControlFlow;

/// <summary>Runs the activity of the first case whose condition is true, or <see cref="Default"/>.</summary>
[Activity("Elsa", "Control Flow", "Evaluate a set of case conditions and schedule the activity for a matching case.", SafeToRerun = true)]
public sealed class Switch : Activity, ICustomActivityJson
{
    [Input(Description = "The value to switch on (available to the cases as the activity's Output).")]
    public Input<object>? Expression { get; set; }

    [Output(Description = "The value switched on.")]
    public Output<object?> Output { get; set; } = new();

    /// <summary>Cases: label, condition and the activity to run.</summary>
    public IList<SwitchCase> Cases { get; set; } = [];

    [Port]
    public Activity? Default { get; set; }

    public override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        context.Set(Output, context.Get(Expression));
        foreach (var @case in Cases)
        {
            if (@case.Condition is not null && ValueConverter.Convert<bool>(context.Evaluate(@case.Condition, typeof(bool))))
            {
                if (@case.Activity is null)
                    return context.CompleteAsync();
                context.ScheduleChild(@case.Activity);
                return ValueTask.CompletedTask;
            }
        }

        if (Default is null)
            return context.CompleteAsync();
        context.ScheduleChild(Default);
        return ValueTask.CompletedTask;
    }

    public override ValueTask OnChildCompletedAsync(ActivityExecutionContext context, ChildCompletion child) => context.CompleteAsync();

    public void ReadJson(JsonObject json, Func<JsonObject, Activity> materialize)
    {
        if (json["cases"] is not JsonArray cases)
            return;
        foreach (var item in cases.OfType<JsonObject>())
        {
            var label = item["label"]?.GetValue<string>() ?? string.Empty;
            Cases.Add(new SwitchCase
            {
                Label = label,
                Condition = ExpressionJson.ReadEvaluable(item["condition"], Id, $"condition of case '{label}'"),
                Activity = item["activity"] is JsonObject activity ? materialize(activity) : null,
            });
        }
    }

    public void WriteJson(JsonObject json, Func<Activity, JsonObject> serialize) =>
        json["cases"] = new JsonArray([.. Cases.Select(c => (JsonNode)new JsonObject
        {
            ["label"] = c.Label,
            ["condition"] = ExpressionJson.Write(c.Condition),
            ["activity"] = c.Activity is null ? null : serialize(c.Activity),
        })]);

    public IEnumerable<Activity> GetCustomChildren() => Cases.Where(c => c.Activity is not null).Select(c => c.Activity!);
}

/// <summary>One case of a <see cref="Switch"/>.</summary>
public sealed class SwitchCase
{
    public string Label { get; set; } = string.Empty;

    public Expression? Condition { get; set; }

    public Activity? Activity { get; set; }
}
