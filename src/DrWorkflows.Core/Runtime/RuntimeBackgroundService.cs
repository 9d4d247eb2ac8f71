using DrWorkflows.Core.Persistence;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Core.Runtime;

/// <summary>
/// The runtime's background work on this node: executes dispatched runs, resumes due timers, picks up runs
/// interrupted by a crash (on start and whenever another node's lease expires), and re-attaches finished
/// child runs to their waiting parents.
/// </summary>
public sealed partial class RuntimeBackgroundService(
    WorkflowRuntime runtime,
    TriggerScheduler triggers,
    IWorkflowInstanceStore instances,
    TimeProvider clock,
    IOptions<RuntimeOptions> options,
    ILogger<RuntimeBackgroundService> logger) : BackgroundService
{
    private readonly RuntimeOptions settings = options.Value;
    private CancellationTokenSource wake = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        runtime.TimerScheduled += OnTimerScheduled;
        try
        {
            await GuardAsync(() => runtime.ReclaimOwnLeasesAsync(stoppingToken), "leases left by this node's previous process");
            await GuardAsync(() => runtime.CancelChildrenOfCancelledRunsAsync(stoppingToken), "child runs of cancelled runs");
            var workers = Enumerable.Range(0, settings.MaxConcurrentRuns).Select(_ => RunDispatchedAsync(stoppingToken)).ToList();
            workers.Add(PollAsync(stoppingToken));
            await Task.WhenAll(workers);
        }
        finally
        {
            runtime.TimerScheduled -= OnTimerScheduled;
        }
    }

    private void OnTimerScheduled(DateTimeOffset due)
    {
        if (due <= clock.GetUtcNow() + settings.PollInterval)
            Interlocked.Exchange(ref wake, new CancellationTokenSource()).Cancel();
    }

    private async Task RunDispatchedAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var instanceId in runtime.Backlog.ReadAllAsync(stoppingToken))
                await GuardAsync(() => runtime.RunAsync(instanceId, stoppingToken), instanceId);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task PollAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            await GuardAsync(() => SweepAsync(stoppingToken), "sweep");
            var next = await GetNextWakeAsync(stoppingToken);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, Volatile.Read(ref wake).Token);
            try
            {
                if (next > TimeSpan.Zero)
                    await Task.Delay(next, clock, linked.Token);
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One pass: scheduled triggers, due timers, interrupted runs, lost child notifications.</summary>
    public async Task SweepAsync(CancellationToken cancellationToken)
    {
        await triggers.SweepAsync(cancellationToken);
        var now = clock.GetUtcNow();
        foreach (var timer in await instances.GetDueTimersAsync(now, 100, cancellationToken))
            await GuardAsync(() => runtime.ResumeAsync(timer.Id, null, "timer", cancellationToken), timer.InstanceId);
        foreach (var instanceId in await instances.FindRunnableAsync(now, 100, cancellationToken))
            runtime.Enqueue(instanceId);
        await runtime.ReconcileChildrenAsync(cancellationToken);
    }

    private async Task<TimeSpan> GetNextWakeAsync(CancellationToken cancellationToken)
    {
        var next = await instances.GetNextTimerAsync(cancellationToken);
        var untilTimer = next is null ? settings.PollInterval : next.Value - clock.GetUtcNow();
        return untilTimer < settings.PollInterval ? untilTimer : settings.PollInterval;
    }

    private async Task GuardAsync(Func<Task> action, string subject)
    {
        try
        {
            await action();
        }
        catch (OperationCanceledException)
        {
            throw;
        }
#pragma warning disable CA1031 // A failing run or sweep is logged and retried on the next pass; it must not stop the node.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.BackgroundFailure(logger, subject, e.Message, e);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 110, Level = LogLevel.Error, Message = "Background work on {Subject} failed: {Message}")]
        public static partial void BackgroundFailure(ILogger logger, string subject, string message, Exception exception);
    }
}
