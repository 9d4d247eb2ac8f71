using System.Text.Json.Nodes;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Throwaway;

/// <summary>A resource the janitor could not remove this pass, and why.</summary>
public sealed record JanitorFailure(ThrowawayResource Resource, string Reason, string Error);

/// <summary>What one janitor pass did.</summary>
/// <param name="StartedAt">When the pass started.</param>
/// <param name="Examined">Live resources looked at.</param>
/// <param name="Owned">Live resources whose owner is still live (left alone).</param>
/// <param name="Removed">Resources removed, with the reason.</param>
/// <param name="Failed">Resources whose removal failed (still live; tried again next pass).</param>
/// <param name="Elsewhere">Orphans another node must remove (another host or engine).</param>
/// <param name="Journaled">Removals written to their runs' journals.</param>
public sealed record JanitorReport(DateTimeOffset StartedAt, int Examined, int Owned, IReadOnlyList<ThrowawayResource> Removed, IReadOnlyList<JanitorFailure> Failed, int Elsewhere, int Journaled);

/// <summary>
/// Removes the throwaway resources whose owner ended, failed or was interrupted: the run ended; the step ended,
/// failed or moved on to a later attempt; or the process that created it is gone while the step was not waiting.
/// A resource whose attempt is still live is never touched, on any node. Each removal is claimed in the store first
/// (two nodes never remove the same resource), logged, and written to the owning run's journal.
/// </summary>
public sealed class ThrowawayJanitor : IDisposable
{
    private readonly IThrowawayResourceStore store;
    private readonly IWorkflowInstanceStore instances;
    private readonly WorkflowRuntime? runtime;
    private readonly ThrowawayLedger ledger;
    private readonly IReadOnlyDictionary<string, IThrowawayRemover> removers;
    private readonly JanitorOptions options;
    private readonly TimeProvider clock;
    private readonly ILogger<ThrowawayJanitor> logger;
    private readonly SemaphoreSlim oneAtATime = new(1, 1);

    internal ThrowawayJanitor(
        IThrowawayResourceStore store,
        IWorkflowInstanceStore instances,
        IServiceProvider services,
        ThrowawayLedger ledger,
        IEnumerable<IThrowawayRemover> removers,
        IOptions<JanitorOptions> options,
        TimeProvider clock,
        ILogger<ThrowawayJanitor> logger)
    {
        this.store = store;
        this.instances = instances;
        runtime = (WorkflowRuntime?)services.GetService(typeof(WorkflowRuntime));
        this.ledger = ledger;
        this.removers = removers.GroupBy(r => r.Kind, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
        this.options = options.Value;
        this.clock = clock;
        this.logger = logger;
    }

    public void Dispose() => oneAtATime.Dispose();

    /// <summary>Raised after each pass with its report (the server counts removals and failures for /metrics).</summary>
    public event Action<JanitorReport>? PassCompleted;

    /// <summary>Who removes (for the ledger and journals).</summary>
    public string Name => $"janitor on node {ledger.Holder.NodeId}";

    /// <summary>Renews this process's entry (proof that what it holds has a live owner).</summary>
    public Task HeartbeatAsync(CancellationToken cancellationToken) => ledger.HeartbeatAsync(cancellationToken);

    /// <summary>One pass over the live resources (passes on one node never overlap).</summary>
    public async Task<JanitorReport> RunOnceAsync(CancellationToken cancellationToken)
    {
        await oneAtATime.WaitAsync(cancellationToken);
        try
        {
            var report = await PassAsync(cancellationToken);
            PassCompleted?.Invoke(report);
            return report;
        }
        finally
        {
            oneAtATime.Release();
        }
    }

    private async Task<JanitorReport> PassAsync(CancellationToken cancellationToken)
    {
        var started = clock.GetUtcNow();
        await ledger.HeartbeatAsync(cancellationToken);
        var holders = (await store.ListHoldersAsync(cancellationToken)).ToDictionary(h => h.Id, StringComparer.Ordinal);
        var live = await store.ListAsync(new ThrowawayQuery(State: ThrowawayState.Live, Take: options.MaxPerPass), cancellationToken);
        var runs = new Dictionary<string, WorkflowState?>(StringComparer.Ordinal);
        var removed = new List<ThrowawayResource>();
        var failed = new List<JanitorFailure>();
        var owned = 0;
        var elsewhere = 0;

        // Containers before the networks and volumes they use; files before the directories that hold them.
        foreach (var resource in live.OrderBy(r => Order(r.Kind)).ThenBy(r => r.RecordedAt))
        {
            var reason = await WhyOrphanedAsync(resource, holders, runs, started, cancellationToken);
            if (reason is null)
            {
                owned++;
                continue;
            }

            if (!removers.TryGetValue(resource.Kind, out var remover))
            {
                failed.Add(await FailAsync(resource, reason, $"no remover for kind '{resource.Kind}' on this node", cancellationToken));
                continue;
            }

            if (remover.CannotRemoveHere(resource, out var another) is { } why)
            {
                if (another)
                    elsewhere++;
                else
                    failed.Add(await FailAsync(resource, reason, why, cancellationToken));
                continue;
            }

            var now = clock.GetUtcNow();
            if (!await store.TryClaimAsync(resource.Id, ledger.Holder.Id, now, now + options.ClaimDuration, cancellationToken))
                continue;
            try
            {
                await remover.RemoveAsync(resource, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                failed.Add(await FailAsync(resource, reason, e.Message, cancellationToken));
                continue;
            }

            var at = clock.GetUtcNow();
            if (await store.EndAsync(resource.Id, ThrowawayState.Removed, at, Name, reason, cancellationToken))
            {
                removed.Add(resource with { State = ThrowawayState.Removed, EndedAt = at, EndedBy = Name, Reason = reason });
                Log.Removed(logger, resource.Kind, resource.Name, resource.Location ?? resource.Host ?? "-", Owner(resource), reason);
            }
        }

        var journaled = await JournalRemovalsAsync(cancellationToken);
        await ForgetGoneHoldersAsync(holders.Values, live, started, cancellationToken);
        await store.PurgeAsync(started - options.Retention, cancellationToken);
        var report = new JanitorReport(started, live.Count, owned, removed, failed, elsewhere, journaled);
        Log.Pass(logger, removed.Count + failed.Count > 0 ? LogLevel.Information : LogLevel.Debug, live.Count, removed.Count, failed.Count, owned, elsewhere);
        return report;
    }

    /// <summary>Null while the resource's owner is live; otherwise why it is not.</summary>
    private async Task<string?> WhyOrphanedAsync(ThrowawayResource resource, Dictionary<string, ThrowawayHolder> holders, Dictionary<string, WorkflowState?> runs, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var gone = ThrowawayProcesses.WhyGone(holders.GetValueOrDefault(resource.HolderId), resource.HolderId, ledger.Holder, now, options.HolderTimeout);
        if (resource.InstanceId is not { } instanceId)
            return gone;
        if (!runs.TryGetValue(instanceId, out var run))
            runs[instanceId] = run = await instances.GetAsync(instanceId, cancellationToken);
        var attempt = resource.Attempt ?? 1;
        if (run is null)
            return $"its run {instanceId} no longer exists";
        if (run.Status == WorkflowStatus.Finished)
            return $"its run ended ({run.SubStatus})";
        var step = run.Executions.Find(e => e.Id == resource.ExecutionId);
        if (step is null)
            return $"its step '{resource.ActivityId}' ended";
        if (step.Attempt > attempt)
            return $"attempt {attempt} of step '{resource.ActivityId}' ended or was interrupted (the step is on attempt {step.Attempt})";
        switch (step.Status)
        {
            case ActivityStatus.Faulted:
                return $"attempt {attempt} of step '{resource.ActivityId}' failed (incident)";
            case ActivityStatus.Completed or ActivityStatus.Canceled:
                return $"its step '{resource.ActivityId}' ended ({step.Status})";
            case ActivityStatus.Running when run.Bookmarks.Any(b => b.ExecutionId == step.Id && b.Name == RetryPolicy.RetryBookmark):
                return $"attempt {attempt} of step '{resource.ActivityId}' failed (a retry is scheduled)";
            case ActivityStatus.Running when run.Bookmarks.Any(b => b.ExecutionId == step.Id):
                return null; // the step waits (a gate, a timer) and may still use it, whichever process created it
            default:
                return gone is null ? null : $"attempt {attempt} of step '{resource.ActivityId}' was interrupted: {gone}";
        }
    }

    private async Task<JanitorFailure> FailAsync(ThrowawayResource resource, string reason, string error, CancellationToken cancellationToken)
    {
        Log.JanitorRemovalFailed(logger, resource.Kind, resource.Name, resource.Location ?? resource.Host ?? "-", Owner(resource), reason, error, resource.FailedRemovals + 1);
        await store.RecordFailureAsync(resource.Id, error, cancellationToken);
        return new JanitorFailure(resource, reason, error);
    }

    /// <summary>Writes each removal not yet journaled into its run's journal (runs executing right now are tried next pass).</summary>
    private async Task<int> JournalRemovalsAsync(CancellationToken cancellationToken)
    {
        var journaled = 0;
        foreach (var resource in await store.ListAsync(new ThrowawayQuery(State: ThrowawayState.Removed, Journaled: false, Take: options.MaxPerPass), cancellationToken))
        {
            if (resource.InstanceId is not { } instanceId || runtime is null)
            {
                await store.SetJournaledAsync(resource.Id, cancellationToken);
                continue;
            }

            var note = new JournalEntry
            {
                EventName = JournalEvents.Note,
                ExecutionId = resource.ExecutionId,
                ActivityId = resource.ActivityId,
                ActivityType = resource.ActivityType,
                Attempt = resource.Attempt,
                Actor = Name,
                Message = $"The janitor removed {resource.Kind} {resource.Name}{(resource.Location is null ? string.Empty : $" on {resource.Location}")}, left by attempt {resource.Attempt ?? 1} of '{resource.ActivityId}': {resource.Reason}.",
                Payload = new JsonObject
                {
                    ["throwaway"] = new JsonObject
                    {
                        ["id"] = resource.Id,
                        ["kind"] = resource.Kind,
                        ["name"] = resource.Name,
                        ["location"] = resource.Location,
                        ["host"] = resource.Host,
                        ["recordedAt"] = resource.RecordedAt.ToString("O"),
                        ["removedAt"] = resource.EndedAt?.ToString("O"),
                        ["removedBy"] = resource.EndedBy,
                        ["reason"] = resource.Reason,
                    },
                },
            };
            try
            {
                if (!await runtime.TryJournalNoteAsync(instanceId, note, cancellationToken))
                {
                    if (await instances.GetAsync(instanceId, cancellationToken) is null)
                        await store.SetJournaledAsync(resource.Id, cancellationToken); // the run was deleted: nothing to write to
                    continue;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Log.JournalFailed(logger, instanceId, e.Message);
                continue;
            }

            await store.SetJournaledAsync(resource.Id, cancellationToken);
            journaled++;
        }

        return journaled;
    }

    /// <summary>Forgets the entries of processes that are gone and hold nothing live any more.</summary>
    private async Task ForgetGoneHoldersAsync(IEnumerable<ThrowawayHolder> holders, IReadOnlyList<ThrowawayResource> live, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var holding = (await store.ListAsync(new ThrowawayQuery(State: ThrowawayState.Live, Take: options.MaxPerPass), cancellationToken))
            .Concat(live).Select(r => r.HolderId).ToHashSet(StringComparer.Ordinal);
        var gone = holders.Where(h => !holding.Contains(h.Id) && ThrowawayProcesses.WhyGone(h, h.Id, ledger.Holder, now, options.HolderTimeout) is not null)
            .Select(h => h.Id).ToList();
        if (gone.Count > 0)
            await store.DeleteHoldersAsync(gone, cancellationToken);
    }

    private static string Owner(ThrowawayResource r) =>
        r.InstanceId is null ? $"process {r.HolderId} on node {r.NodeId}" : $"attempt {r.Attempt ?? 1} of '{r.ActivityId}' ({r.ActivityType}) in run {r.InstanceId}";

    private static int Order(string kind) => kind switch
    {
        ThrowawayKinds.DockerContainer => 0,
        ThrowawayKinds.DockerNetwork or ThrowawayKinds.DockerVolume => 1,
        ThrowawayKinds.PostgresDatabase => 2,
        ThrowawayKinds.File => 3,
        ThrowawayKinds.Directory => 4,
        _ => 5,
    };
}
