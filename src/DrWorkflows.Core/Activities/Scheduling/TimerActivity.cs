using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Activities.Flowchart;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Core.Activities.Scheduling;

/// <summary>
/// Base of the time-based activities. In the middle of a run they wait on a durable timer bookmark (the
/// runtime resumes it when due, also after a restart). As the trigger that started a run they complete at once.
/// </summary>
public abstract class TimerActivity : Activity
{
    /// <summary>Bookmark name of every timer.</summary>
    public const string BookmarkName = "Elsa.Timer";

    public override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        if (WasTrigger(context))
            return context.CompleteAsync();
        var due = GetDueTime(context, context.Clock.GetUtcNow());
        if (due is null || due <= context.Clock.GetUtcNow())
            return context.CompleteAsync();
        context.CreateBookmark(BookmarkName, resumeAt: due);
        return ValueTask.CompletedTask;
    }

    public override ValueTask ResumeAsync(ActivityExecutionContext context, BookmarkResumption resumption) => context.CompleteAsync();

    /// <summary>When the timer is due, counted from <paramref name="now"/>; <c>null</c> when it need not wait.</summary>
    public abstract DateTimeOffset? GetDueTime(ActivityExecutionContext context, DateTimeOffset now);

    private bool WasTrigger(ActivityExecutionContext context)
    {
        var properties = context.Workflow.State.Properties;
        if (properties.TryGetValue(TriggerKeys.TriggerNodeId, out var node) && node?.GetValue<string>() == NodeId && !properties.ContainsKey("triggerConsumed"))
        {
            properties["triggerConsumed"] = true;
            return true;
        }

        return false;
    }
}

/// <summary>Waits for a duration.</summary>
[Activity("Elsa", "Scheduling", "Delay execution for the specified amount of time.", SafeToRerun = true, IsBlocking = true)]
public sealed class Delay : TimerActivity
{
    [Input(Description = "How long to wait, e.g. 00:05:00, PT5M or 5m.")]
    public Input<TimeSpan> TimeSpan { get; set; } = new(System.TimeSpan.Zero);

    public override DateTimeOffset? GetDueTime(ActivityExecutionContext context, DateTimeOffset now) => now + context.Get(TimeSpan);
}

/// <summary>Waits until a moment.</summary>
[Activity("Elsa", "Scheduling", "Trigger execution at a specific time in the future.", SafeToRerun = true, IsBlocking = true, DisplayName = "Start At")]
public sealed class StartAt : TimerActivity
{
    [Input(Description = "The moment (ISO 8601, UTC if no offset is given).")]
    public Input<DateTimeOffset> DateTime { get; set; } = new(DateTimeOffset.MinValue);

    public override DateTimeOffset? GetDueTime(ActivityExecutionContext context, DateTimeOffset now) => context.Get(DateTime);
}

/// <summary>As a trigger: starts the workflow every interval. In a run: waits one interval.</summary>
[Activity("Elsa", "Scheduling", "Trigger workflow execution at a specific interval.", SafeToRerun = true, IsBlocking = true)]
public sealed class Timer : TimerActivity
{
    [Input(Description = "The interval, e.g. 01:00:00, PT1H or 1h.")]
    public Input<TimeSpan> Interval { get; set; } = new(System.TimeSpan.FromMinutes(1));

    public override DateTimeOffset? GetDueTime(ActivityExecutionContext context, DateTimeOffset now) => now + context.Get(Interval);
}

/// <summary>As a trigger: starts the workflow on a cron schedule. In a run: waits for the next occurrence.</summary>
[Activity("Elsa", "Scheduling", "Trigger workflow execution on a cron schedule.", SafeToRerun = true, IsBlocking = true)]
public sealed class Cron : TimerActivity
{
    [Input(Description = "Cron expression: 5 fields (minute hour day month weekday) or 6 with seconds first. UTC.")]
    public Input<string> CronExpression { get; set; } = new("0 3 1 * *");

    public override DateTimeOffset? GetDueTime(ActivityExecutionContext context, DateTimeOffset now) =>
        CronSchedule.Parse(context.Get(CronExpression) ?? string.Empty).GetNextOccurrence(now);
}
