using System.Diagnostics.Metrics;
using DrWorkflows.Activities.Throwaway;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Server.Telemetry;

/// <summary>
/// The instruments behind <c>/metrics</c> (every name starts with <c>drw_</c>). Events (runs ended, step durations,
/// janitor removals) are counted as they are committed; the state of the platform (runs, approvals, incidents,
/// backups, objectives) is read by <see cref="PlatformSampler"/> into a <see cref="PlatformSnapshot"/> that the
/// observable gauges report.
/// </summary>
public sealed class DrwMetrics : IDisposable
{
    /// <summary>The meter's name in production. A second server in the same process (tests) gets its own name, so two servers never report into each other.</summary>
    public const string MeterName = "DrWorkflows";

    /// <summary>The parts of the platform state <see cref="PlatformSampler"/> reads, each on its own.</summary>
    public static readonly IReadOnlyList<string> SampledParts = ["runs", "incidents", "approvals", "backups", "objectives", "exposure"];

    private static int instances;
    private readonly Meter meter;
    private readonly Counter<long> runsEnded;
    private readonly Histogram<double> stepDuration;
    private readonly Counter<long> stepFaults;
    private readonly Counter<long> janitorRemovals;
    private readonly Counter<long> janitorFailures;
    private readonly Counter<long> samplingErrors;
    private volatile PlatformSnapshot snapshot = PlatformSnapshot.Empty;

    public DrwMetrics()
    {
        var n = Interlocked.Increment(ref instances);
        Name = n == 1 ? MeterName : $"{MeterName}.{n}";
        meter = new Meter(Name, typeof(DrwMetrics).Assembly.GetName().Version?.ToString());
        runsEnded = meter.CreateCounter<long>("drw_runs_ended", description: "Runs that ended on this node since it started, by definition and final status (Finished, Faulted, Cancelled).");
        stepDuration = meter.CreateHistogram<double>("drw_step_duration", unit: "s", description: "Duration of completed steps, by definition and activity type.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200] });
        stepFaults = meter.CreateCounter<long>("drw_step_faults", description: "Step attempts that faulted (retried or raised an incident), by definition and activity type.");
        janitorRemovals = meter.CreateCounter<long>("drw_janitor_removals", description: "Throwaway resources the janitor removed, by kind.");
        janitorFailures = meter.CreateCounter<long>("drw_janitor_failures", description: "Throwaway resources the janitor failed to remove, by kind.");
        samplingErrors = meter.CreateCounter<long>("drw_metrics_sampling_errors", description: "Parts of the platform state that could not be read for /metrics (their gauges are absent until read again).");

        meter.CreateObservableGauge("drw_up", () => 1, description: "1 while the orchestrator answers /metrics.");
        meter.CreateObservableGauge("drw_metrics_sampled_at", () => Snapshot.SampledAt is { } at ? [new Measurement<double>(at.ToUnixTimeMilliseconds() / 1000d)] : Array.Empty<Measurement<double>>(),
            unit: "s", description: "When the platform state behind the gauges was last read (Unix time).");
        meter.CreateObservableGauge("drw_runs", () => Snapshot.Runs, description: "Runs in the store, by definition, status and sub-status (Running/Faulted is a run stopped at an incident).");
        meter.CreateObservableGauge("drw_runs_with_open_incidents", () => Snapshot.RunsWithIncidents, description: "Runs stopped at one or more open incidents, by definition.");
        meter.CreateObservableGauge("drw_incidents_open", () => Snapshot.OpenIncidents, description: "Open (unresolved) incidents, by definition.");
        meter.CreateObservableGauge("drw_approvals_pending", () => Snapshot.PendingApprovals, description: "Approval gates waiting for a decision, by definition.");
        meter.CreateObservableGauge("drw_approval_wait", () => Snapshot.ApprovalWaits, unit: "s", description: "How long each pending approval gate has waited, by definition, run and approval id.");
        meter.CreateObservableGauge("drw_approval_overdue", () => Snapshot.ApprovalOverdue, unit: "s", description: "How far past its deadline (escalation or safe default) each pending gate is; 0 while within it.");
        meter.CreateObservableGauge("drw_backup_newest_age", () => Snapshot.BackupNewestAge, unit: "s", description: "Age of the newest backup set, by component, kind, source and store (absent when there is none or the store cannot be read).");
        meter.CreateObservableGauge("drw_backup_newest_verified_age", () => Snapshot.BackupVerifiedAge, unit: "s", description: "Age of the newest verified backup set (the exposure: what a restore now would lose), by component, kind, source and store.");
        meter.CreateObservableGauge("drw_backup_rpo", () => Snapshot.BackupRpo, unit: "s", description: "The component's RPO, with the same labels as the backup ages, to compare against.");
        meter.CreateObservableGauge("drw_backup_store_readable", () => Snapshot.BackupReadable, description: "1 when the store could be listed for the component, 0 when it could not.");
        meter.CreateObservableGauge("drw_backup_last_verification_succeeded", () => Snapshot.BackupLastVerification, description: "1 when the newest verification of the component's sets in the store succeeded, 0 when it failed (absent when never verified).");
        meter.CreateObservableGauge("drw_objective_target", () => Snapshot.ObjectiveTarget, unit: "s", description: "Each promise of the objectives report (GET /api/objectives): its target, by component and objective (RPO, RTO).");
        meter.CreateObservableGauge("drw_objective_can_hold", () => Snapshot.ObjectiveCanHold, description: "1 when the promise can hold by design, 0 when it cannot.");
        meter.CreateObservableGauge("drw_objective_held_now", () => Snapshot.ObjectiveHeldNow, description: "1 when the promise is held now, 0 when it is not (absent when unknown).");
        meter.CreateObservableGauge("drw_rpo_exposure", () => Snapshot.RpoExposure, unit: "s", description: "What a restore now would lose, by component and via (wal-archive: age of the last archived WAL while newer WAL waits, 0 when all is archived; verified-backup: age of the youngest verified backup). Absent when unknown.");
        meter.CreateObservableGauge("drw_wal_archiving_failing", () => Snapshot.WalArchivingFailing, description: "1 when archive_command fails (or archive_mode is off) on an archived database, 0 when it works (absent when it could not be measured).");
    }

    /// <summary>The meter's name (what the MeterProvider listens to).</summary>
    public string Name { get; }

    public PlatformSnapshot Snapshot
    {
        get => snapshot;
        set => snapshot = value;
    }

    /// <summary>Counts what a committed batch of journal entries says happened (called after the commit succeeded).</summary>
    public void Committed(WorkflowState state, IReadOnlyList<JournalEntry> journal)
    {
        var definition = new KeyValuePair<string, object?>("definition", state.DefinitionId);
        foreach (var entry in journal)
        {
            switch (entry.EventName)
            {
                case JournalEvents.Completed when DurationMs(entry) is long ms:
                    stepDuration.Record(ms / 1000d, definition, new("activity_type", entry.ActivityType ?? "unknown"));
                    break;
                case JournalEvents.Faulted:
                    stepFaults.Add(1, definition, new("activity_type", entry.ActivityType ?? "unknown"));
                    break;
                case JournalEvents.WorkflowFinished:
                    runsEnded.Add(1, definition, new("status", nameof(WorkflowSubStatus.Finished)));
                    break;
                case JournalEvents.WorkflowFaulted:
                    runsEnded.Add(1, definition, new("status", nameof(WorkflowSubStatus.Faulted)));
                    break;
                case JournalEvents.WorkflowCancelled:
                    runsEnded.Add(1, definition, new("status", nameof(WorkflowSubStatus.Cancelled)));
                    break;
            }
        }
    }

    /// <summary>Starts the counters at 0: the janitor's for each kind it can remove, the sampling errors for each part.</summary>
    public void StartCountersAtZero(IEnumerable<string> kinds)
    {
        foreach (var part in SampledParts)
            samplingErrors.Add(0, new KeyValuePair<string, object?>("part", part));
        foreach (var kind in kinds.Distinct(StringComparer.Ordinal))
        {
            janitorRemovals.Add(0, new KeyValuePair<string, object?>("kind", kind));
            janitorFailures.Add(0, new KeyValuePair<string, object?>("kind", kind));
        }
    }

    /// <summary>Counts a janitor pass's removals and failures by kind.</summary>
    public void JanitorPass(JanitorReport report)
    {
        foreach (var removed in report.Removed)
            janitorRemovals.Add(1, new KeyValuePair<string, object?>("kind", removed.Kind));
        foreach (var failed in report.Failed)
            janitorFailures.Add(1, new KeyValuePair<string, object?>("kind", failed.Resource.Kind));
    }

    private static long? DurationMs(JournalEntry entry) => entry.Payload?["durationMs"] is System.Text.Json.Nodes.JsonValue value && value.TryGetValue<long>(out var ms) ? ms : null;

    public void SamplingFailed(string part) => samplingErrors.Add(1, new KeyValuePair<string, object?>("part", part));

    public void Dispose() => meter.Dispose();
}
