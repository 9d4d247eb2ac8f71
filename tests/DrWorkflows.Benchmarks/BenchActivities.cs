using System.Collections.Concurrent;
using System.Diagnostics;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Benchmarks;

/// <summary>When each run's marked step started (Stopwatch timestamps), for latency measurements.</summary>
internal static class Marks
{
    public static ConcurrentDictionary<string, long> Started { get; } = new(StringComparer.Ordinal);

    public static async Task<long> WaitAsync(string instanceId, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (!Started.TryGetValue(instanceId, out _))
        {
            if (deadline.Elapsed > timeout)
                throw new TimeoutException($"Run {instanceId} did not reach its marked step within {timeout}.");
            await Task.Delay(1);
        }

        return Started[instanceId];
    }
}

/// <summary>A durable step that does no work of its own: what is measured is the runtime and the store.</summary>
[Activity("Bench", "Benchmark", "Does nothing (safe to re-run).", SafeToRerun = true)]
public sealed class Step : CodeActivity
{
    [Input(Description = "Record when this step started (latency measurements).")]
    public Input<bool> Mark { get; set; } = new(false);

    protected override ValueTask RunAsync(ActivityExecutionContext context)
    {
        if (context.Get(Mark, false))
            Marks.Started.TryAdd(context.WorkflowInstanceId, Stopwatch.GetTimestamp());
        return ValueTask.CompletedTask;
    }
}

/// <summary>The same step declared unsafe to re-run: committed as started before it runs (two commits per step).</summary>
[Activity("Bench", "Benchmark", "Does nothing (not safe to re-run).")]
public sealed class UnsafeStep : CodeActivity
{
    protected override ValueTask RunAsync(ActivityExecutionContext context) => ValueTask.CompletedTask;
}

/// <summary>Waits on a bookmark until resumed.</summary>
[Activity("Bench", "Benchmark", "Waits on a bookmark.", SafeToRerun = true, IsBlocking = true)]
public sealed class Wait : DrWorkflows.Core.Abstractions.Activity
{
    public const string BookmarkName = "Bench.Wait";

    public override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        context.CreateBookmark(BookmarkName);
        return ValueTask.CompletedTask;
    }

    public override ValueTask ResumeAsync(ActivityExecutionContext context, BookmarkResumption resumption) => context.CompleteAsync();
}
