using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Model;

namespace DrWorkflows.Core.Activities.Flowchart;

/// <summary>The entry point of a flowchart.</summary>
[Activity("Elsa", "Primitives", "The start of the flowchart.", SafeToRerun = true)]
public sealed class Start : CodeActivity
{
    protected override ValueTask RunAsync(ActivityExecutionContext context) => ValueTask.CompletedTask;
}

/// <summary>Ends the enclosing flowchart (other branches of it are cancelled).</summary>
[Activity("Elsa", "Primitives", "Marks the end of a flowchart: it completes when End is reached.", SafeToRerun = true, Outcomes = [])]
public sealed class End : CodeActivity
{
    protected override ValueTask RunAsync(ActivityExecutionContext context) => ValueTask.CompletedTask;
}

/// <summary>
/// Elsa's "Container": runs its <see cref="Body"/> and completes when the body completes (with <c>Done</c>, whatever
/// ports the body took). With no body it passes control on at once.
/// </summary>
[Activity("Elsa", "Flow", "A simple container that executes the specified activity.", SafeToRerun = true, DisplayName = "Container")]
public sealed class FlowNode : Activity
{
    /// <summary>The activity to run.</summary>
    [Port]
    public Activity? Body { get; set; }

    public override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        if (Body is null)
            return context.CompleteAsync();
        context.ScheduleChild(Body);
        return ValueTask.CompletedTask;
    }

    public override ValueTask OnChildCompletedAsync(ActivityExecutionContext context, ChildCompletion child) => context.CompleteAsync();
}

/// <summary>Takes the <c>True</c> or <c>False</c> port depending on a condition.</summary>
[Activity("Elsa", "Branching", "Evaluate a Boolean condition to determine which path to take.", SafeToRerun = true, DisplayName = "Decision", Outcomes = [Outcomes.True, Outcomes.False])]
public sealed class FlowDecision : Activity
{
    [Input(Description = "The condition to evaluate.", UIHint = InputUIHints.SingleLine)]
    public Input<bool> Condition { get; set; } = new(false);

    public override ValueTask ExecuteAsync(ActivityExecutionContext context) =>
        context.CompleteAsync(context.Get(Condition) ? Outcomes.True : Outcomes.False);
}

/// <summary>Starts several branches of the flowchart at once: every branch name is an outcome port.</summary>
[Activity("Elsa", "Flow", "Branch the flow into multiple paths.", SafeToRerun = true, DisplayName = "Fork", Outcomes = [])]
[DynamicOutcomes(nameof(Branches))]
public sealed class FlowFork : Activity
{
    [Input(Description = "The names of the branches (one port each).", UIHint = InputUIHints.MultiText)]
    public Input<string[]>? Branches { get; set; }

    public override ValueTask ExecuteAsync(ActivityExecutionContext context) => context.CompleteAsync(context.Get(Branches) ?? []);
}

/// <summary>How a <see cref="FlowJoin"/> merges its inbound branches.</summary>
public enum FlowJoinMode
{
    WaitAny,
    WaitAll,

    /// <summary>Wait for the inbound branches that were activated (untaken paths do not block), as the default merge mode.</summary>
    WaitAllActive,
}

/// <summary>Merges branches: waits for all of them, or continues with the first and cancels the rest.</summary>
[Activity("Elsa", "Flow", "Merge multiple branches into a single branch of execution.", SafeToRerun = true, DisplayName = "Join")]
public sealed class FlowJoin : CodeActivity
{
    [Input(Description = "WaitAll: wait for every inbound branch. WaitAllActive: wait for the branches that were taken. WaitAny: go on with the first and cancel the others.")]
    public Input<FlowJoinMode> Mode { get; set; } = new(FlowJoinMode.WaitAny);

    protected override ValueTask RunAsync(ActivityExecutionContext context) => ValueTask.CompletedTask;
}

/// <summary>Takes the port of the first (or every) case whose condition is true, else <c>Default</c>.</summary>
[Activity("Elsa", "Branching", "Evaluate a set of case conditions and schedule the activity for a matching case.", SafeToRerun = true, DisplayName = "Switch (flow)", Outcomes = [Outcomes.Default])]
public sealed class FlowSwitch : Activity, ICustomActivityJson
{
    /// <summary>Cases: a label (the outcome port) and a condition.</summary>
    public IList<FlowSwitchCase> Cases { get; set; } = [];

    [Input(Description = "MatchFirst: the first matching case only. MatchAny: every matching case.")]
    public Input<SwitchMode> Mode { get; set; } = new(SwitchMode.MatchFirst);

    public override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var mode = context.Get(Mode);
        var matches = new List<string>();
        foreach (var @case in Cases)
        {
            if (@case.Condition is not null && ValueConverter.Convert<bool>(context.Evaluate(@case.Condition, typeof(bool))))
            {
                matches.Add(@case.Label);
                if (mode == SwitchMode.MatchFirst)
                    break;
            }
        }

        return context.CompleteAsync(matches.Count > 0 ? [.. matches] : [Outcomes.Default]);
    }

    public void ReadJson(System.Text.Json.Nodes.JsonObject json, Func<System.Text.Json.Nodes.JsonObject, Activity> materialize)
    {
        if (json["cases"] is not System.Text.Json.Nodes.JsonArray cases)
            return;
        foreach (var item in cases.OfType<System.Text.Json.Nodes.JsonObject>())
        {
            var label = item["label"]?.GetValue<string>() ?? string.Empty;
            Cases.Add(new FlowSwitchCase(label, Expressions.ExpressionJson.ReadEvaluable(item["condition"], Id, $"condition of case '{label}'")));
        }
    }

    public void WriteJson(System.Text.Json.Nodes.JsonObject json, Func<Activity, System.Text.Json.Nodes.JsonObject> serialize) =>
        json["cases"] = new System.Text.Json.Nodes.JsonArray([.. Cases.Select(c => (System.Text.Json.Nodes.JsonNode)new System.Text.Json.Nodes.JsonObject
        {
            ["label"] = c.Label,
            ["condition"] = Expressions.ExpressionJson.Write(c.Condition),
        })]);

    public IEnumerable<Activity> GetCustomChildren() => [];
}

/// <summary>A case of a <see cref="FlowSwitch"/>: its label is the outcome port.</summary>
public sealed record FlowSwitchCase(string Label, Expressions.Expression? Condition);

public enum SwitchMode
{
    MatchFirst,
    MatchAny,
}
