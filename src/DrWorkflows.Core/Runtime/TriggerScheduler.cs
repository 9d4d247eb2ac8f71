using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Activities.Flowchart;
using DrWorkflows.Core.Activities.Scheduling;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Core.Runtime;

/// <summary>
/// Says whether a workflow's scheduled runs may start: the settings its steps need, missing on this server (empty when
/// everything is configured). A scheduled slot of a workflow with missing settings is recorded as skipped, not started.
/// </summary>
public interface IScheduledRunGate
{
    Task<IReadOnlyList<string>> MissingSettingsAsync(string definitionId, CancellationToken cancellationToken);
}

/// <summary>A scheduled trigger found in a published definition.</summary>
public sealed record ScheduledTrigger(string ScheduleId, string DefinitionId, string NodeId, string ActivityType, string Schedule, DateTimeOffset PublishedAt);

/// <summary>
/// Starts runs of published workflows whose root flowchart begins with a <c>Cron</c>, <c>Timer</c> or
/// <c>StartAt</c> trigger (an activity with <c>canStartWorkflow</c>, or with no inbound connection).
/// Each slot starts exactly one run across all nodes and restarts: the run's id is derived from the slot, and
/// creating a run is an insert that only one node can win. Every firing is recorded in the schedule store.
/// Slots missed while no node ran follow <see cref="RuntimeOptions.MissedSlots"/>.
/// </summary>
public sealed partial class TriggerScheduler(
    IWorkflowDefinitionStore definitionStore,
    WorkflowDefinitionService definitions,
    IWorkflowInstanceStore instances,
    IScheduleStore schedules,
    WorkflowRuntime runtime,
    TimeProvider clock,
    IOptions<RuntimeOptions> options,
    ILogger<TriggerScheduler> logger,
    IEnumerable<IScheduledRunGate> gates)
{
    private readonly RuntimeOptions settings = options.Value;

    // Per definition, the missing settings last logged: one line per workflow, again only when they change.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> announced = new(StringComparer.Ordinal);

    /// <summary>The triggers of every published definition.</summary>
    public async Task<IReadOnlyList<ScheduledTrigger>> GetTriggersAsync(CancellationToken cancellationToken)
    {
        var published = await definitionStore.ListAsync(new DefinitionQuery(VersionOptions.PublishedVersion, Take: 10_000), cancellationToken);
        var triggers = new List<ScheduledTrigger>();
        foreach (var definition in published.Items)
        {
            Model.WorkflowGraph graph;
            try
            {
                graph = definitions.GetGraph(definition);
            }
            catch (WorkflowDefinitionException)
            {
                continue;
            }

            if (graph.Root is not Flowchart flowchart)
                continue;
            foreach (var activity in flowchart.Activities.OfType<TimerActivity>().Where(a => IsTrigger(flowchart, a)))
            {
                if (ScheduleText(activity) is { } schedule)
                    triggers.Add(new ScheduledTrigger($"{definition.DefinitionId}:{activity.NodeId}", definition.DefinitionId, activity.NodeId, activity.Type, schedule, definition.CreatedAt));
            }
        }

        return triggers;
    }

    /// <summary>Fires every slot that is due (called by the background service on each pass).</summary>
    public async Task SweepAsync(CancellationToken cancellationToken)
    {
        foreach (var trigger in await GetTriggersAsync(cancellationToken))
        {
            try
            {
                if (!announced.ContainsKey(trigger.DefinitionId))
                    await MissingSettingsAsync(trigger, cancellationToken); // logs, at the first pass, a workflow that cannot run
                await FireDueSlotsAsync(trigger, cancellationToken);
            }
            catch (WorkflowDefinitionException e)
            {
                Log.BadSchedule(logger, trigger.ScheduleId, e.Message);
            }
        }
    }

    private async Task FireDueSlotsAsync(ScheduledTrigger trigger, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var last = await schedules.GetLastSlotAsync(trigger.ScheduleId, cancellationToken);
        var from = Max(last ?? trigger.PublishedAt, now - settings.MissedSlotWindow);
        var due = Occurrences(trigger, from, now, last).ToList();
        if (due.Count == 0)
            return;
        var onTime = now - (settings.PollInterval * 3);
        for (var i = 0; i < due.Count; i++)
        {
            var slot = due[i];
            var fire = settings.MissedSlots switch
            {
                MissedSlotPolicy.RunAll => true,
                MissedSlotPolicy.RunOnce => i == due.Count - 1,
                _ => slot >= onTime,
            };
            if (fire)
                await FireAsync(trigger, slot, cancellationToken);
            else if (await schedules.TryClaimSlotAsync(trigger.ScheduleId, slot, $"{settings.NodeId} (skipped: missed)", now, cancellationToken))
                Log.SlotSkipped(logger, trigger.ScheduleId, slot);
        }
    }

    private async Task FireAsync(ScheduledTrigger trigger, DateTimeOffset slot, CancellationToken cancellationToken)
    {
        var instanceId = InstanceIdFor(trigger.ScheduleId, slot);
        if (await instances.GetAsync(instanceId, cancellationToken) is null)
        {
            if (await MissingSettingsAsync(trigger, cancellationToken) is { Length: > 0 } missing)
            {
                // Not configured: a run would only fault and page; the slot is recorded as skipped, naming the settings.
                await schedules.TryClaimSlotAsync(trigger.ScheduleId, slot, $"{settings.NodeId} (skipped: not configured: {Shorten(missing)})", clock.GetUtcNow(), cancellationToken);
                return;
            }

            try
            {
                await runtime.StartAsync(new StartRunRequest(trigger.DefinitionId)
                {
                    InstanceId = instanceId,
                    TriggerNodeId = trigger.NodeId,
                    StartedBy = $"schedule:{trigger.Schedule}",
                    CorrelationId = $"{trigger.DefinitionId}@{slot:yyyy-MM-ddTHH:mm:ssZ}",
                    Input = new Dictionary<string, JsonNode?> { ["ScheduledAt"] = slot.ToString("O") },
                    Dispatch = true,
                }, cancellationToken);
                Log.SlotFired(logger, trigger.ScheduleId, slot, instanceId);
            }
            catch (RunAlreadyRunningException e)
            {
                // One run per platform: the slot is recorded as skipped, naming the run that was still running.
                if (await schedules.TryClaimSlotAsync(trigger.ScheduleId, slot, $"{settings.NodeId} (skipped: run {e.RunningInstanceId} still running)", clock.GetUtcNow(), cancellationToken))
                    Log.SlotSkippedRunning(logger, trigger.ScheduleId, slot, e.RunningInstanceId);
                return;
            }
#pragma warning disable CA1031 // Another node may have created the same run first (a unique-key violation, store-specific).
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
#pragma warning restore CA1031
            {
                if (await instances.GetAsync(instanceId, cancellationToken) is null)
                    throw;
            }
        }

        if (await schedules.TryClaimSlotAsync(trigger.ScheduleId, slot, settings.NodeId, clock.GetUtcNow(), cancellationToken))
            await schedules.SetSlotInstanceAsync(trigger.ScheduleId, slot, instanceId, cancellationToken);
    }

    /// <summary>The settings the workflow still needs ("" when none), logged once per workflow (again when they change).</summary>
    private async Task<string> MissingSettingsAsync(ScheduledTrigger trigger, CancellationToken cancellationToken)
    {
        var missing = new List<string>();
        foreach (var gate in gates)
            missing.AddRange(await gate.MissingSettingsAsync(trigger.DefinitionId, cancellationToken));
        var text = string.Join(" ", missing.Distinct(StringComparer.Ordinal));
        var previous = announced.GetValueOrDefault(trigger.DefinitionId);
        announced[trigger.DefinitionId] = text;
        if (text.Length > 0 && text != previous)
            Log.NotConfigured(logger, trigger.DefinitionId, text);
        else if (text.Length == 0 && previous is { Length: > 0 })
            Log.NowConfigured(logger, trigger.DefinitionId);
        return text;
    }

    private static string Shorten(string text) => text.Length <= 400 ? text : text[..399] + "…";

    /// <summary>The run id of a slot: the same on every node, so only one run can exist per slot.</summary>
    public static string InstanceIdFor(string scheduleId, DateTimeOffset slot) =>
        "sched-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{scheduleId}|{slot.UtcTicks}")))[..24];

    private static IEnumerable<DateTimeOffset> Occurrences(ScheduledTrigger trigger, DateTimeOffset from, DateTimeOffset to, DateTimeOffset? last)
    {
        switch (trigger.ActivityType)
        {
            case "Elsa.Cron":
                return CronSchedule.Parse(trigger.Schedule).GetOccurrences(from, to);
            case "Elsa.Timer":
                var interval = ValueConverter.ParseTimeSpan(trigger.Schedule);
                if (interval <= TimeSpan.Zero)
                    throw new WorkflowDefinitionException($"Timer trigger of '{trigger.DefinitionId}' has a non-positive interval '{trigger.Schedule}'.");
                var origin = trigger.PublishedAt;
                var k = Math.Max(1, (long)Math.Ceiling((from - origin) / interval));
                var slots = new List<DateTimeOffset>();
                for (var slot = origin + (interval * k); slot <= to && slots.Count < 10_000; slot += interval)
                {
                    if (slot > from)
                        slots.Add(slot);
                }

                return slots;
            default:
                var at = DateTimeOffset.Parse(trigger.Schedule, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal);
                return last is null && at <= to && at > from - TimeSpan.FromDays(3650) ? [at] : [];
        }
    }

    private static bool IsTrigger(Flowchart flowchart, Activity activity) =>
        (activity.CustomProperties["canStartWorkflow"] is JsonValue v && v.TryGetValue<bool>(out var can) && can)
        || !flowchart.Connections.Any(c => c.Target.Activity == activity.Id);

    private static string? ScheduleText(TimerActivity activity) => activity switch
    {
        Cron cron => cron.CronExpression.Expression?.ValueText,
        Activities.Scheduling.Timer timer => timer.Interval.Expression?.ValueText,
        StartAt startAt => startAt.DateTime.Expression?.ValueText,
        _ => null,
    };

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static partial class Log
    {
        [LoggerMessage(EventId = 130, Level = LogLevel.Information, Message = "Schedule {ScheduleId}: slot {Slot:O} started run {InstanceId}")]
        public static partial void SlotFired(ILogger logger, string scheduleId, DateTimeOffset slot, string instanceId);

        [LoggerMessage(EventId = 131, Level = LogLevel.Warning, Message = "Schedule {ScheduleId}: missed slot {Slot:O} skipped (policy)")]
        public static partial void SlotSkipped(ILogger logger, string scheduleId, DateTimeOffset slot);

        [LoggerMessage(EventId = 133, Level = LogLevel.Warning, Message = "Schedule {ScheduleId}: slot {Slot:O} skipped: run {RunningInstanceId} of the same workflow is still running on the same platform")]
        public static partial void SlotSkippedRunning(ILogger logger, string scheduleId, DateTimeOffset slot, string runningInstanceId);

        [LoggerMessage(EventId = 134, Level = LogLevel.Warning, Message = "Workflow {DefinitionId}: scheduled runs are not started until it is configured. Missing: {Missing} (GET /api/setup, drw doctor)")]
        public static partial void NotConfigured(ILogger logger, string definitionId, string missing);

        [LoggerMessage(EventId = 135, Level = LogLevel.Information, Message = "Workflow {DefinitionId}: configured now; its scheduled runs start again")]
        public static partial void NowConfigured(ILogger logger, string definitionId);

        [LoggerMessage(EventId = 132, Level = LogLevel.Error, Message = "Schedule {ScheduleId} is not valid: {Message}")]
        public static partial void BadSchedule(ILogger logger, string scheduleId, string message);
    }
}
