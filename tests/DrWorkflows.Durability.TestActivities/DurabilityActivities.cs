using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Runtime;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Durability.TestActivities;

/// <summary>
/// A step that is safe to re-run: records when it started and ended (on which node), and takes a little time so
/// that a kill can land inside it. Re-running it after a crash is expected and allowed.
/// </summary>
[Activity("Durability", "Testing", "Records its start and end in the durability test record, then completes.", SafeToRerun = true)]
public sealed class Probe : CodeActivity
{
    [Input(Description = "How long the step takes, in milliseconds.")]
    public Input<int> DurationMs { get; set; } = new(20);

    protected override async ValueTask RunAsync(ActivityExecutionContext context)
    {
        var node = context.GetRequiredService<IOptions<RuntimeOptions>>().Value.NodeId;
        Record(context, "S", node);
        await Task.Delay(TimeSpan.FromMilliseconds(context.Get(DurationMs, 20)), context.Clock, context.CancellationToken);
        Record(context, "E", node);
    }

    internal static void Record(ActivityExecutionContext context, string kind, string node) =>
        RecordLog.Append(kind, context.ExecutionId, context.WorkflowInstanceId, context.Activity.Id, node, context.Attempt, context.Clock.GetUtcNow());
}

/// <summary>
/// A step that is NOT safe to re-run (the default): its side effect (an <c>X</c> line keyed by the execution id)
/// is recorded in the middle of the step, so a kill can land before or after it. The test checks that no
/// execution id ever has two effects.
/// </summary>
[Activity("Durability", "Testing", "Performs a side effect that must never happen twice (recorded by execution id).")]
public sealed class UnsafeEffect : CodeActivity
{
    [Input(Description = "How long the step takes, in milliseconds (the effect happens half-way).")]
    public Input<int> DurationMs { get; set; } = new(40);

    protected override async ValueTask RunAsync(ActivityExecutionContext context)
    {
        var node = context.GetRequiredService<IOptions<RuntimeOptions>>().Value.NodeId;
        var half = TimeSpan.FromMilliseconds(context.Get(DurationMs, 40) / 2.0);
        Probe.Record(context, "S", node);
        await Task.Delay(half, context.Clock, context.CancellationToken);
        Probe.Record(context, "X", node);
        await Task.Delay(half, context.Clock, context.CancellationToken);
        Probe.Record(context, "E", node);
    }
}
