using System.Diagnostics.Metrics;
using DrWorkflows.Activities.Approvals;
using DrWorkflows.Activities.Drills;
using DrWorkflows.Activities.PgBackRest;
using Microsoft.Extensions.Options;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;

namespace DrWorkflows.Server.Telemetry;

using Tags = KeyValuePair<string, object?>;

/// <summary>The platform's state as last read for the gauges of <see cref="DrwMetrics"/>. A part that could not be read is empty.</summary>
public sealed record PlatformSnapshot
{
    public static PlatformSnapshot Empty { get; } = new();

    public DateTimeOffset? SampledAt { get; init; }

    public IReadOnlyList<Measurement<long>> Runs { get; init; } = [];

    public IReadOnlyList<Measurement<long>> RunsWithIncidents { get; init; } = [];

    public IReadOnlyList<Measurement<long>> OpenIncidents { get; init; } = [];

    public IReadOnlyList<Measurement<long>> PendingApprovals { get; init; } = [];

    public IReadOnlyList<Measurement<double>> ApprovalWaits { get; init; } = [];

    public IReadOnlyList<Measurement<double>> ApprovalOverdue { get; init; } = [];

    public IReadOnlyList<Measurement<double>> BackupNewestAge { get; init; } = [];

    public IReadOnlyList<Measurement<double>> BackupVerifiedAge { get; init; } = [];

    public IReadOnlyList<Measurement<double>> BackupRpo { get; init; } = [];

    public IReadOnlyList<Measurement<long>> BackupReadable { get; init; } = [];

    public IReadOnlyList<Measurement<long>> BackupLastVerification { get; init; } = [];

    public IReadOnlyList<Measurement<double>> ObjectiveTarget { get; init; } = [];

    public IReadOnlyList<Measurement<long>> ObjectiveCanHold { get; init; } = [];

    public IReadOnlyList<Measurement<long>> ObjectiveHeldNow { get; init; } = [];

    public IReadOnlyList<Measurement<double>> RpoExposure { get; init; } = [];

    public IReadOnlyList<Measurement<long>> WalArchivingFailing { get; init; } = [];
}

/// <summary>
/// Reads the platform's state for <c>/metrics</c>: before a scrape is answered, when the last reading is older than
/// <see cref="MetricsOptions.MinRefreshSeconds"/> (one reading at a time; concurrent scrapes share it). Each part is
/// read on its own: a part that fails is logged, counted in <c>drw_metrics_sampling_errors_total</c> and left out,
/// never reported with stale or default values.
/// </summary>
public sealed class PlatformSampler(
    DrwMetrics metrics,
    IWorkflowInstanceStore instances,
    IWorkflowDefinitionStore definitions,
    IApprovalService approvals,
    BackupFreshness backups,
    IRecoveryPromiseCheck objectives,
    IWalArchiveStatus archiving,
    IOptions<RecoveryObjectivesOptions> objectiveOptions,
    MetricsOptions options,
    TimeProvider clock,
    ILogger<PlatformSampler> logger) : IDisposable
{
    private const int MaxRunsRead = 2000;
    private static readonly (WorkflowStatus Status, WorkflowSubStatus Sub)[] States =
    [
        (WorkflowStatus.Running, WorkflowSubStatus.Pending), (WorkflowStatus.Running, WorkflowSubStatus.Executing),
        (WorkflowStatus.Running, WorkflowSubStatus.Suspended), (WorkflowStatus.Running, WorkflowSubStatus.Faulted),
        (WorkflowStatus.Finished, WorkflowSubStatus.Finished), (WorkflowStatus.Finished, WorkflowSubStatus.Faulted),
        (WorkflowStatus.Finished, WorkflowSubStatus.Cancelled),
    ];

    private readonly SemaphoreSlim oneAtATime = new(1, 1);

    /// <summary>Reads the state again unless the last reading is younger than the minimum interval.</summary>
    public async Task RefreshIfStaleAsync(CancellationToken cancellationToken)
    {
        if (IsFresh())
            return;
        await oneAtATime.WaitAsync(cancellationToken);
        try
        {
            if (!IsFresh())
                metrics.Snapshot = await ReadAsync(cancellationToken);
        }
        finally
        {
            oneAtATime.Release();
        }
    }

    public void Dispose() => oneAtATime.Dispose();

    private bool IsFresh() => metrics.Snapshot.SampledAt is { } at && clock.GetUtcNow() - at < TimeSpan.FromSeconds(options.MinRefreshSeconds);

    private async Task<PlatformSnapshot> ReadAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var snapshot = new PlatformSnapshot { SampledAt = now };
        snapshot = await PartAsync("runs", snapshot, s => RunsAsync(s, cancellationToken), cancellationToken);
        snapshot = await PartAsync("incidents", snapshot, s => IncidentsAsync(s, cancellationToken), cancellationToken);
        snapshot = await PartAsync("approvals", snapshot, s => ApprovalsAsync(s, now, cancellationToken), cancellationToken);
        snapshot = await PartAsync("backups", snapshot, s => BackupsAsync(s, cancellationToken), cancellationToken);
        snapshot = await PartAsync("objectives", snapshot, s => ObjectivesAsync(s, cancellationToken), cancellationToken);
        snapshot = await PartAsync("exposure", snapshot, s => ExposureAsync(s, cancellationToken), cancellationToken);
        return snapshot;
    }

    private async Task<PlatformSnapshot> PartAsync(string part, PlatformSnapshot snapshot, Func<PlatformSnapshot, Task<PlatformSnapshot>> read, CancellationToken cancellationToken)
    {
        try
        {
            return await read(snapshot);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            TelemetryLog.SamplingFailed(logger, part, e.Message);
            metrics.SamplingFailed(part);
            return snapshot;
        }
    }

    /// <summary>Counts per definition and state: one count query each (the store answers the total).</summary>
    private async Task<PlatformSnapshot> RunsAsync(PlatformSnapshot snapshot, CancellationToken cancellationToken)
    {
        var ids = new SortedSet<string>(StringComparer.Ordinal);
        for (var skip = 0; ; skip += 500)
        {
            var page = await definitions.ListAsync(new DefinitionQuery(new VersionOptions(Latest: true, Published: false, Version: null), Skip: skip, Take: 500), cancellationToken);
            ids.UnionWith(page.Items.Select(d => d.DefinitionId));
            if (page.Items.Count == 0 || skip + page.Items.Count >= page.TotalCount)
                break;
        }

        var runs = new List<Measurement<long>>();
        foreach (var id in ids)
        {
            foreach (var (status, sub) in States)
            {
                var page = await instances.ListAsync(new InstanceQuery(DefinitionId: id, Status: status, SubStatuses: [sub], Take: 1), cancellationToken);
                runs.Add(new Measurement<long>(page.TotalCount, new Tags("definition", id), new Tags("status", status.ToString()), new Tags("sub_status", sub.ToString())));
            }
        }

        return snapshot with { Runs = runs };
    }

    private async Task<PlatformSnapshot> IncidentsAsync(PlatformSnapshot snapshot, CancellationToken cancellationToken)
    {
        var page = await instances.ListAsync(new InstanceQuery(HasIncidents: true, Take: MaxRunsRead), cancellationToken);
        var byDefinition = page.Items.Where(r => r.IncidentCount > 0).GroupBy(r => r.DefinitionId, StringComparer.Ordinal).ToList();
        return snapshot with
        {
            RunsWithIncidents = [.. byDefinition.Select(g => new Measurement<long>(g.Count(), new Tags("definition", g.Key)))],
            OpenIncidents = [.. byDefinition.Select(g => new Measurement<long>(g.Sum(r => (long)r.IncidentCount), new Tags("definition", g.Key)))],
        };
    }

    private async Task<PlatformSnapshot> ApprovalsAsync(PlatformSnapshot snapshot, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var pending = await approvals.ListAsync(new ApprovalQuery { Status = "pending", Take = 500 }, cancellationToken);
        static Tags[] Labels(ApprovalRecord a) => [new("definition", a.DefinitionId ?? "unknown"), new("run", a.InstanceId), new("approval", a.ApprovalId)];
        return snapshot with
        {
            PendingApprovals = [.. pending.GroupBy(a => a.DefinitionId ?? "unknown", StringComparer.Ordinal).Select(g => new Measurement<long>(g.Count(), new Tags("definition", g.Key)))],
            ApprovalWaits = [.. pending.Select(a => new Measurement<double>(Math.Max(0, (now - a.CreatedAt).TotalSeconds), Labels(a)))],
            ApprovalOverdue = [.. pending.Select(a => new Measurement<double>(a.Deadline == default ? 0 : Math.Max(0, (now - a.Deadline).TotalSeconds), Labels(a)))],
        };
    }

    private async Task<PlatformSnapshot> BackupsAsync(PlatformSnapshot snapshot, CancellationToken cancellationToken)
    {
        var rows = await backups.MeasureAsync(cancellationToken);
        static Tags[] Labels(BackupFreshnessRow r) => [new("component", r.Component), new("kind", r.Kind), new("source", r.Source), new("store", r.Store)];
        foreach (var row in rows.Where(r => r.Unreadable is not null))
            TelemetryLog.StoreUnreadable(logger, row.Store, row.Component, row.Unreadable!);
        return snapshot with
        {
            BackupNewestAge = [.. rows.Where(r => r.NewestAge is not null).Select(r => new Measurement<double>(r.NewestAge!.Value.TotalSeconds, Labels(r)))],
            BackupVerifiedAge = [.. rows.Where(r => r.Exposure is not null).Select(r => new Measurement<double>(r.Exposure!.Value.TotalSeconds, Labels(r)))],
            BackupRpo = [.. rows.Select(r => new Measurement<double>(r.Rpo.TotalSeconds, Labels(r)))],
            BackupReadable = [.. rows.Select(r => new Measurement<long>(r.Unreadable is null ? 1 : 0, Labels(r)))],
            BackupLastVerification = [.. rows.Where(r => r.LastVerificationSucceeded is not null).Select(r => new Measurement<long>(r.LastVerificationSucceeded!.Value ? 1 : 0, Labels(r)))],
        };
    }

    private async Task<PlatformSnapshot> ExposureAsync(PlatformSnapshot snapshot, CancellationToken cancellationToken)
    {
        var states = await archiving.MeasureAsync(cancellationToken);
        var rows = RpoExposureRow.From(await backups.MeasureAsync(cancellationToken), states, objectiveOptions.Value, archiving.AllowedLag);
        return snapshot with
        {
            RpoExposure = [.. rows.Where(r => r.Exposure is not null).Select(r => new Measurement<double>(r.Exposure!.Value.TotalSeconds, new Tags("component", r.Component), new Tags("via", r.Via)))],
            WalArchivingFailing = [.. states.Where(s => s.Failing is not null).Select(s => new Measurement<long>(s.Failing!.Value ? 1 : 0, new Tags("component", s.Component), new Tags("container", s.Container)))],
        };
    }

    private async Task<PlatformSnapshot> ObjectivesAsync(PlatformSnapshot snapshot, CancellationToken cancellationToken)
    {
        var promises = await objectives.CheckAsync(cancellationToken);
        static Tags[] Labels(RecoveryPromise p) => [new("component", p.Component), new("objective", p.Objective)];
        return snapshot with
        {
            ObjectiveTarget = [.. promises.Select(p => new Measurement<double>(p.Target.TotalSeconds, Labels(p)))],
            ObjectiveCanHold = [.. promises.Select(p => new Measurement<long>(p.CanHold ? 1 : 0, Labels(p)))],
            ObjectiveHeldNow = [.. promises.Where(p => p.IsHeldNow is not null).Select(p => new Measurement<long>(p.IsHeldNow!.Value ? 1 : 0, Labels(p)))],
        };
    }
}
