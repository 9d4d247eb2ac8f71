using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Activities.Composition;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Core.Runtime;

/// <summary>How to start a run.</summary>
public sealed record StartRunRequest(string DefinitionId)
{
    /// <summary>Which version; default: the published one.</summary>
    public VersionOptions Versions { get; init; } = VersionOptions.PublishedVersion;

    /// <summary>The exact version to run (its id, a version of <see cref="DefinitionId"/>); when set, <see cref="Versions"/> is not used.</summary>
    public string? DefinitionVersionId { get; init; }

    public IDictionary<string, JsonNode?>? Input { get; init; }

    public string? CorrelationId { get; init; }

    /// <summary>Who or what starts it (API key name, user, trigger).</summary>
    public string? StartedBy { get; init; }

    /// <summary>A fixed instance id (child runs, idempotent starts); default: a new one.</summary>
    public string? InstanceId { get; init; }

    public string? ParentInstanceId { get; init; }

    /// <summary>The trigger activity that started the run (it completes at once).</summary>
    public string? TriggerNodeId { get; init; }

    /// <summary>What the trigger received (an HTTP request), kept in the run's state for the trigger activity to read.</summary>
    public JsonNode? TriggerPayload { get; init; }

    /// <summary>Return once the run is created, executing it in the background (Elsa's "dispatch").</summary>
    public bool Dispatch { get; init; }

    /// <summary>The incident strategy the run inherits from its parent instead of its definition's (a workflow used as an activity).</summary>
    public Execution.IncidentStrategy? IncidentStrategy { get; init; }
}

/// <summary>What became of a note added to a run's journal (<see cref="WorkflowRuntime.AddNoteAsync"/>).</summary>
public enum NoteOutcome
{
    /// <summary>Committed to the run's journal.</summary>
    Written,

    /// <summary>The run is executing a step in this process: the note is committed with the run's next commit.</summary>
    Queued,

    /// <summary>Another node executes the run and did not let go in time: the note waits here until this node next runs it.</summary>
    Busy,

    /// <summary>The run does not exist.</summary>
    InstanceNotFound,
}

/// <summary>Why a resume did not happen.</summary>
public enum ResumeOutcome
{
    Resumed,
    BookmarkNotFound,
    InstanceNotFound,
}

/// <summary>
/// Starts, resumes, cancels and recovers runs. A run is executed by one node at a time (a lease in the store
/// plus a lock in this process) and its state is committed after every activity.
/// </summary>
public sealed partial class WorkflowRuntime(
    WorkflowDefinitionService definitions,
    IWorkflowInstanceStore instances,
    WorkflowExecutor executor,
    IServiceProvider services,
    IPlatformResolver platforms,
    TimeProvider clock,
    IOptions<RuntimeOptions> options,
    ILogger<WorkflowRuntime> logger)
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> locks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentQueue<PendingNote>> notes = new(StringComparer.Ordinal);
    private readonly RuntimeOptions settings = options.Value;
    private readonly System.Threading.Channels.Channel<string> backlog = System.Threading.Channels.Channel.CreateUnbounded<string>();

    public string NodeId => settings.NodeId;

    /// <summary>Run ids waiting to be executed in the background (read by the background run dispatcher).</summary>
    public System.Threading.Channels.ChannelReader<string> Backlog => backlog.Reader;

    /// <summary>Raised after a commit that created a timer, so the timer loop can wake up early.</summary>
    public event Action<DateTimeOffset>? TimerScheduled;

    /// <summary>
    /// Creates a run of a definition and executes it until it waits or ends (or, with Dispatch, queues it). A definition
    /// that runs once per platform (<see cref="Model.WorkflowGraph.OneRunPerPlatform"/>) is refused with
    /// <see cref="RunAlreadyRunningException"/> while another run of it is running on the same platform.
    /// </summary>
    public async Task<WorkflowState> StartAsync(StartRunRequest request, CancellationToken cancellationToken)
    {
        var definition = request.DefinitionVersionId is { } versionId
            ? await definitions.FindByIdAsync(versionId, cancellationToken) is { } exact && exact.DefinitionId == request.DefinitionId
                ? exact
                : throw new DefinitionNotFoundException(request.DefinitionId, $"has no version '{versionId}' (deleted since it was chosen)")
            : await definitions.FindAsync(request.DefinitionId, request.Versions, cancellationToken)
                ?? throw new DefinitionNotFoundException(request.DefinitionId, request.Versions.Published ? "has no published version" : "does not exist");
        var graph = definitions.GetGraph(definition);
        var instanceId = request.InstanceId ?? Guid.NewGuid().ToString("N");
        var state = executor.CreateState(graph, instanceId, request.Input, request.CorrelationId, request.StartedBy, request.ParentInstanceId);
        if (graph.OneRunPerPlatform)
            state.Platform = platforms.Resolve(state.Input);
        if (request.TriggerNodeId is not null)
            state.Properties[Activities.Flowchart.TriggerKeys.TriggerNodeId] = request.TriggerNodeId;
        if (request.TriggerPayload is not null)
            state.Properties[Activities.Flowchart.TriggerKeys.TriggerPayload] = request.TriggerPayload.DeepClone();
        if (request.IncidentStrategy is { } inherited)
            state.Properties[Execution.IncidentStrategies.InheritedProperty] = Execution.IncidentStrategies.TypeName(inherited);
        var context = executor.CreateContext(graph, state, services, cancellationToken);
        executor.Start(context);
        try
        {
            await instances.CreateAsync(state, context.PendingJournal, cancellationToken);
        }
        catch (RunAlreadyRunningException e)
        {
            Log.StartRefused(logger, graph.DefinitionId, e.Platform, e.RunningInstanceId, request.StartedBy ?? "unknown");
            throw;
        }

        context.ClearPendingJournal();
        Log.RunStarted(logger, instanceId, graph.DefinitionId, graph.Version, request.StartedBy ?? "unknown");
        if (request.Dispatch)
        {
            Enqueue(instanceId);
            return state;
        }

        return await RunAsync(instanceId, cancellationToken) ?? state;
    }

    /// <summary>
    /// The platform a run of <paramref name="definitionId"/> (published version) with <paramref name="input"/> would act
    /// on, or null when that definition does not run once per platform (or is not published).
    /// </summary>
    public async Task<string?> PlatformOfAsync(string definitionId, IReadOnlyDictionary<string, JsonNode?> input, CancellationToken cancellationToken)
    {
        var definition = await definitions.FindAsync(definitionId, VersionOptions.PublishedVersion, cancellationToken);
        return definition is not null && definitions.GetGraph(definition).OneRunPerPlatform ? platforms.Resolve(input) : null;
    }

    /// <summary>
    /// Adds a note to a run's journal without executing the run (for example an alert that joined it). When the run is
    /// idle (waiting, or ended) it is committed at once; while this process executes one of its steps, it is committed
    /// with that run's next commit, so a note never waits for a long step (a restore) and never conflicts with it.
    /// </summary>
    public async Task<NoteOutcome> AddNoteAsync(string instanceId, string message, JsonObject? payload, string actor, CancellationToken cancellationToken)
    {
        notes.GetOrAdd(instanceId, _ => new ConcurrentQueue<PendingNote>()).Enqueue(new PendingNote(message, payload?.DeepClone() as JsonObject, actor));
        return await WriteNotesAsync(instanceId, cancellationToken);
    }

    /// <summary>
    /// Writes the queued notes of a run when its lock is free. When it is not, the holder writes them: on its next
    /// commit, or right after it lets go (it looks for notes after releasing the lock, and a note is queued before
    /// the lock is tried, so none is left behind).
    /// </summary>
    private async Task<NoteOutcome> WriteNotesAsync(string instanceId, CancellationToken cancellationToken)
    {
        var gate = locks.GetOrAdd(instanceId, _ => new SemaphoreSlim(1, 1));
        if (!await gate.WaitAsync(0, cancellationToken))
            return NoteOutcome.Queued;
        try
        {
            return await UnderLockAsync(instanceId, gate, _ => ValueTask.FromResult(false), cancellationToken) is null ? NoteOutcome.InstanceNotFound : NoteOutcome.Written;
        }
        catch (RunBusyException)
        {
            return NoteOutcome.Busy;
        }
    }

    /// <summary>Writes notes queued while this process held the run; the operation that held it has already succeeded.</summary>
    private async Task WriteLateNotesAsync(string instanceId)
    {
        try
        {
            await WriteNotesAsync(instanceId, CancellationToken.None);
        }
#pragma warning disable CA1031 // The notes stay queued for the run's next commit; the caller's own operation succeeded.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.NotesNotWritten(logger, instanceId, e.Message);
        }
    }

    private bool HasNotes(string instanceId) => notes.TryGetValue(instanceId, out var queue) && !queue.IsEmpty;

    /// <summary>Moves the run's queued notes into the journal entries of the commit being prepared.</summary>
    private void TakeNotes(WorkflowExecutionContext context)
    {
        if (!notes.TryGetValue(context.State.Id, out var queue))
            return;
        while (queue.TryDequeue(out var note))
            context.JournalWorkflow(JournalEvents.Note, note.Message, note.Payload is null ? null : context.Redactor.Redact(note.Payload), note.Actor);
    }

    /// <summary>Resumes a bookmark with a payload and executes the run until it waits or ends.</summary>
    public async Task<(ResumeOutcome Outcome, WorkflowState? State)> ResumeAsync(string bookmarkId, JsonNode? payload, string resumedBy, CancellationToken cancellationToken)
    {
        var found = await instances.FindBookmarksAsync(new BookmarkQuery(BookmarkId: bookmarkId), cancellationToken);
        if (found is not [var bookmark, ..])
            return (ResumeOutcome.BookmarkNotFound, null);
        var outcome = ResumeOutcome.BookmarkNotFound;
        var state = await WithRunAsync(bookmark.InstanceId, async context =>
        {
            if (!executor.QueueResume(context, bookmarkId, payload, resumedBy))
                return false;
            outcome = ResumeOutcome.Resumed;
            return true;
        }, cancellationToken);
        return state is null ? (ResumeOutcome.InstanceNotFound, null) : (outcome, state);
    }

    /// <summary>
    /// Continues a run that has work queued (after a crash, or a dispatch). A run found with nothing to do (the
    /// request was stale: another node or request already ran it) is left as it is, without a write.
    /// </summary>
    public Task<WorkflowState?> RunAsync(string instanceId, CancellationToken cancellationToken) =>
        WithRunAsync(instanceId, context => ValueTask.FromResult(HasWork(context.State)), cancellationToken);

    private static bool HasWork(WorkflowState state) =>
        state.Status == WorkflowStatus.Running
        && (state.Queue.Count > 0 || state.SubStatus is WorkflowSubStatus.Pending or WorkflowSubStatus.Executing);

    /// <summary>
    /// Cancels a run and, after it, every child run it started that is still running (depth first: grandchildren
    /// too), so that a cancelled incident workflow leaves no restore or failover running on its behalf. Returns
    /// null when the run does not exist. Cancelling a run that is already cancelled cancels its children again:
    /// the way to finish the cascade when the orchestrator stopped half-way through it.
    /// </summary>
    public async Task<WorkflowState?> CancelAsync(string instanceId, string actor, CancellationToken cancellationToken)
    {
        var state = await WithRunAsync(instanceId, context =>
        {
            if (context.State.Status == WorkflowStatus.Finished)
                return ValueTask.FromResult(false);
            WorkflowExecutor.Cancel(context, actor);
            return ValueTask.FromResult(true);
        }, cancellationToken);
        if (state is { SubStatus: WorkflowSubStatus.Cancelled })
            await CancelChildrenAsync(state.Id, actor, cancellationToken);
        return state;
    }

    /// <summary>
    /// At start: cancels the child runs still running whose parent was cancelled (the cascade of
    /// <see cref="CancelAsync"/> was cut short by a crash). Returns how many were cancelled.
    /// </summary>
    public async Task<int> CancelChildrenOfCancelledRunsAsync(CancellationToken cancellationToken)
    {
        var children = await instances.ListAsync(new InstanceQuery(Status: WorkflowStatus.Running, HasParent: true, Take: 10_000), cancellationToken);
        var cancelled = 0;
        foreach (var childId in children.Items.Select(c => c.Id).ToList())
        {
            if (await instances.GetAsync(childId, cancellationToken) is not { ParentInstanceId: { } parent } child)
                continue;
            if (await instances.GetAsync(parent, cancellationToken) is { Status: WorkflowStatus.Finished, SubStatus: WorkflowSubStatus.Cancelled })
            {
                Log.ChildCancelled(logger, child.Id, parent);
                await CancelAsync(child.Id, $"runtime (parent run {parent} cancelled)", cancellationToken);
                cancelled++;
            }
        }

        return cancelled;
    }

    private async Task CancelChildrenAsync(string parentId, string actor, CancellationToken cancellationToken)
    {
        var children = await instances.ListAsync(new InstanceQuery(ParentInstanceId: parentId, Status: WorkflowStatus.Running, Take: 10_000), cancellationToken);
        foreach (var child in children.Items)
        {
            Log.ChildCancelled(logger, child.Id, parentId);
            await CancelAsync(child.Id, $"{actor} (parent run {parentId} cancelled)", cancellationToken);
        }
    }

    /// <summary>Applies an operator's decision (retry, skip, fail) to an open incident, then continues the run.</summary>
    public async Task<WorkflowState?> ResolveIncidentAsync(string instanceId, string incidentId, IncidentResolution resolution, string actor, string? outcome, CancellationToken cancellationToken) =>
        await WithRunAsync(instanceId, async context =>
        {
            await executor.ResolveIncidentAsync(context, incidentId, resolution, actor, outcome);
            return true;
        }, cancellationToken);

    /// <summary>
    /// At start: frees the leases this node id still holds from its previous process (which died: this process
    /// just started), so that the sweep continues those runs at once instead of after <see cref="RuntimeOptions.LeaseDuration"/>.
    /// Runs this process is already executing (a request that came in first) keep their lease. Returns how many were freed.
    /// </summary>
    public async Task<int> ReclaimOwnLeasesAsync(CancellationToken cancellationToken)
    {
        var freed = 0;
        var active = await instances.ListAsync(new InstanceQuery(Status: WorkflowStatus.Running, SubStatuses: [WorkflowSubStatus.Pending, WorkflowSubStatus.Executing], Take: 10_000), cancellationToken);
        foreach (var run in active.Items)
        {
            var gate = locks.GetOrAdd(run.Id, _ => new SemaphoreSlim(1, 1));
            if (!await gate.WaitAsync(0, cancellationToken))
                continue;
            try
            {
                // Deletes the lease only when this node id owns it (never another node's).
                await instances.ReleaseLeaseAsync(run.Id, settings.NodeId, cancellationToken);
                freed++;
            }
            finally
            {
                gate.Release();
            }
        }

        return freed;
    }

    /// <summary>
    /// Appends <paramref name="note"/> to a run's journal without executing the run (for example the janitor's record
    /// of what it removed for one of the run's steps). The runtime sets its id, run, sequence and time. Returns false,
    /// without waiting, when the run is being executed (on this node or another) or does not exist: try again later.
    /// </summary>
    public async Task<bool> TryJournalNoteAsync(string instanceId, JournalEntry note, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(note);
        var gate = locks.GetOrAdd(instanceId, _ => new SemaphoreSlim(1, 1));
        if (!await gate.WaitAsync(0, cancellationToken))
            return false;
        try
        {
            var now = clock.GetUtcNow();
            if (!await instances.TryAcquireLeaseAsync(instanceId, settings.NodeId, now, now + settings.LeaseDuration, cancellationToken))
                return false;
            try
            {
                if (await instances.GetAsync(instanceId, cancellationToken) is not { } state)
                    return false;
                note.Id = Guid.NewGuid().ToString("N")[..16];
                note.InstanceId = state.Id;
                note.Sequence = state.JournalSequence++;
                note.Timestamp = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
                await instances.CommitAsync(state, [note], cancellationToken);
                return true;
            }
            catch (ConcurrencyException)
            {
                return false;
            }
            finally
            {
                await instances.ReleaseLeaseAsync(instanceId, settings.NodeId, CancellationToken.None);
            }
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Queues a run for background execution.</summary>
    public void Enqueue(string instanceId) => backlog.Writer.TryWrite(instanceId);

    /// <summary>
    /// Loads the run under its lease, applies <paramref name="change"/> (false: nothing to do), executes until it
    /// waits or ends, committing after every step. Returns null when the run does not exist.
    /// </summary>
    private async Task<WorkflowState?> WithRunAsync(string instanceId, Func<WorkflowExecutionContext, ValueTask<bool>> change, CancellationToken cancellationToken)
    {
        var gate = locks.GetOrAdd(instanceId, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        return await UnderLockAsync(instanceId, gate, change, cancellationToken);
    }

    /// <summary>The body of <see cref="WithRunAsync"/>, entered with <paramref name="gate"/> held; releases it.</summary>
    private async Task<WorkflowState?> UnderLockAsync(string instanceId, SemaphoreSlim gate, Func<WorkflowExecutionContext, ValueTask<bool>> change, CancellationToken cancellationToken)
    {
        WorkflowState? finishedChild = null;
        var completed = false;
        try
        {
            await AcquireLeaseAsync(instanceId, cancellationToken);
            // The lease is renewed in the background while the run executes, also during a long activity (a
            // restore can take longer than the lease): otherwise another node would take the run over mid-step.
            using var leaseLost = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var stopKeeping = new CancellationTokenSource();
            var keeper = KeepLeaseAsync(instanceId, leaseLost, stopKeeping.Token);
            var runToken = leaseLost.Token;
            try
            {
                var state = await instances.GetAsync(instanceId, runToken);
                if (state is null)
                {
                    notes.TryRemove(instanceId, out _);
                    return null;
                }

                var graph = await definitions.GetGraphAsync(state.DefinitionVersionId, runToken);
                var context = executor.CreateContext(graph, state, services, runToken);
                var wasFinished = state.Status == WorkflowStatus.Finished;
                if (!await change(context))
                {
                    if (HasNotes(instanceId))
                        await CommitAsync(context, runToken);
                    else
                        await FlushChildRunsAsync(context, runToken);
                    completed = true;
                    return state;
                }

                await DriveAsync(context, runToken);
                if (!wasFinished && state.Status == WorkflowStatus.Finished)
                {
                    Log.RunEnded(logger, instanceId, state.SubStatus);
                    if (state.ParentInstanceId is not null)
                        finishedChild = state;
                }

                completed = true;
                return state;
            }
            finally
            {
                await stopKeeping.CancelAsync();
                await keeper;
                await instances.ReleaseLeaseAsync(instanceId, settings.NodeId, CancellationToken.None);
            }
        }
        finally
        {
            gate.Release();
            if (completed && HasNotes(instanceId))
                await WriteLateNotesAsync(instanceId);
            if (finishedChild is not null)
                await NotifyParentAsync(finishedChild, cancellationToken);
        }
    }

    private async Task DriveAsync(WorkflowExecutionContext context, CancellationToken cancellationToken)
    {
        var state = context.State;
        if (state.Status == WorkflowStatus.Running && state.Queue.Count > 0 && state.SubStatus != WorkflowSubStatus.Faulted)
            state.SubStatus = WorkflowSubStatus.Executing;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var progressed = await executor.StepAsync(context, () => new ValueTask(CommitAsync(context, cancellationToken)));
            if (!progressed)
                break;
            await CommitAsync(context, cancellationToken);
        }

        WorkflowExecutor.UpdateSubStatus(context);
        await CommitAsync(context, cancellationToken);
    }

    private async Task CommitAsync(WorkflowExecutionContext context, CancellationToken cancellationToken)
    {
        TakeNotes(context);
        context.State.UpdatedAt = clock.GetUtcNow();
        await instances.CommitAsync(context.State, context.PendingJournal, cancellationToken);
        context.ClearPendingJournal();
        if (context.State.Bookmarks.Where(b => b.ResumeAt is not null).Select(b => b.ResumeAt!.Value).DefaultIfEmpty().Min() is var earliest && earliest != default)
            TimerScheduled?.Invoke(earliest);
        await FlushChildRunsAsync(context, cancellationToken);
    }

    /// <summary>Creates the child runs a committed state asked for (each exactly once), then queues them.</summary>
    private async Task FlushChildRunsAsync(WorkflowExecutionContext context, CancellationToken cancellationToken)
    {
        if (context.State.PendingChildRuns.Count == 0)
            return;
        foreach (var request in context.State.PendingChildRuns.ToList())
        {
            if (await instances.GetAsync(request.InstanceId, cancellationToken) is null)
            {
                try
                {
                    await StartAsync(new StartRunRequest(request.DefinitionId)
                    {
                        InstanceId = request.InstanceId,
                        DefinitionVersionId = request.DefinitionVersionId,
                        Input = request.Input,
                        CorrelationId = request.CorrelationId,
                        ParentInstanceId = context.State.Id,
                        StartedBy = $"workflow:{context.State.Id}",
                        Dispatch = true,
                        IncidentStrategy = request.IncidentStrategy,
                    }, cancellationToken);
                }
                catch (DefinitionNotFoundException e)
                {
                    await FailChildRequestAsync(context, request, e.Message, cancellationToken);
                }
                catch (RunAlreadyRunningException e)
                {
                    await FailChildRequestAsync(context, request, e.Message, cancellationToken);
                }
            }
        }

        context.State.PendingChildRuns.Clear();
        await instances.CommitAsync(context.State, context.PendingJournal, cancellationToken);
        context.ClearPendingJournal();
    }

    private async Task FailChildRequestAsync(WorkflowExecutionContext context, ChildRunRequest request, string message, CancellationToken cancellationToken)
    {
        var bookmark = context.State.Bookmarks.Find(b => b.Name == ExecuteWorkflow.BookmarkName && b.Key == request.InstanceId);
        if (bookmark is not null)
        {
            executor.QueueResume(context, bookmark.Id, new JsonObject { ["subStatus"] = nameof(WorkflowSubStatus.Faulted), ["message"] = message }, "runtime");
            await DriveAsync(context, cancellationToken);
        }
    }

    private async Task NotifyParentAsync(WorkflowState child, CancellationToken cancellationToken)
    {
        var found = await instances.FindBookmarksAsync(new BookmarkQuery(Name: ExecuteWorkflow.BookmarkName, Key: child.Id, InstanceId: child.ParentInstanceId), cancellationToken);
        if (found is not [var bookmark, ..])
            return;
        var output = new JsonObject();
        foreach (var (key, value) in child.Output)
            output[key] = value?.DeepClone();
        var payload = new JsonObject { ["subStatus"] = child.SubStatus.ToString(), ["output"] = output, ["message"] = child.Fault?.Message };
        if (child.Properties.TryGetValue(WorkflowExecutionContext.OutcomesProperty, out var outcomes) && outcomes is JsonArray)
            payload["outcomes"] = outcomes.DeepClone();
        await ResumeAsync(bookmark.Id, payload, $"child:{child.Id}", cancellationToken);
    }

    /// <summary>Resumes parents whose children finished while the notification was lost (e.g. a crash).</summary>
    public async Task ReconcileChildrenAsync(CancellationToken cancellationToken)
    {
        var waiting = await instances.FindBookmarksAsync(new BookmarkQuery(Name: ExecuteWorkflow.BookmarkName), cancellationToken);
        foreach (var bookmark in waiting.Where(b => b.Key is not null))
        {
            var child = await instances.GetAsync(bookmark.Key!, cancellationToken);
            if (child is { Status: WorkflowStatus.Finished })
                await NotifyParentAsync(child, cancellationToken);
        }
    }

    /// <summary>
    /// Renews the run's lease every third of <see cref="RuntimeOptions.LeaseDuration"/> until <paramref name="stop"/>.
    /// When another node holds it (this node was stalled longer than the lease), the execution is cancelled: its
    /// commits would be refused anyway, and its activity must not go on beside the new owner's.
    /// </summary>
    private async Task KeepLeaseAsync(string instanceId, CancellationTokenSource execution, CancellationToken stop)
    {
        while (true)
        {
            try
            {
                await Task.Delay(settings.LeaseDuration / 3, clock, stop);
                var now = clock.GetUtcNow();
                if (!await instances.TryAcquireLeaseAsync(instanceId, settings.NodeId, now, now + settings.LeaseDuration, stop))
                {
                    Log.LeaseLost(logger, instanceId, settings.NodeId);
                    await execution.CancelAsync();
                    return;
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // A failed renewal (store briefly unreachable) is retried on the next tick; the lease is still valid until it expires.
            catch (Exception e)
#pragma warning restore CA1031
            {
                Log.LeaseRenewalFailed(logger, instanceId, e.Message);
            }
        }
    }

    private async Task AcquireLeaseAsync(string instanceId, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var now = clock.GetUtcNow();
            if (await instances.TryAcquireLeaseAsync(instanceId, settings.NodeId, now, now + settings.LeaseDuration, cancellationToken))
                return;
            if (attempt >= 50)
                throw new RunBusyException(instanceId);
            await Task.Delay(TimeSpan.FromMilliseconds(100), clock, cancellationToken);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Run {InstanceId} of {DefinitionId} v{Version} started by {StartedBy}")]
        public static partial void RunStarted(ILogger logger, string instanceId, string definitionId, int version, string startedBy);

        [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Run {InstanceId} ended: {SubStatus}")]
        public static partial void RunEnded(ILogger logger, string instanceId, WorkflowSubStatus subStatus);

        [LoggerMessage(EventId = 102, Level = LogLevel.Error, Message = "Run {InstanceId}: node {NodeId} lost its lease to another node (stalled longer than the lease?); its execution here is cancelled")]
        public static partial void LeaseLost(ILogger logger, string instanceId, string nodeId);

        [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "Run {InstanceId}: renewing the lease failed ({Message}); trying again")]
        public static partial void LeaseRenewalFailed(ILogger logger, string instanceId, string message);

        [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "Run {InstanceId} is cancelled because its parent run {ParentId} was cancelled")]
        public static partial void ChildCancelled(ILogger logger, string instanceId, string parentId);

        [LoggerMessage(EventId = 105, Level = LogLevel.Warning, Message = "A run of {DefinitionId} was refused for {StartedBy}: run {RunningInstanceId} is already running on platform {Platform}")]
        public static partial void StartRefused(ILogger logger, string definitionId, string platform, string runningInstanceId, string startedBy);

        [LoggerMessage(EventId = 106, Level = LogLevel.Warning, Message = "Run {InstanceId}: notes for its journal could not be written yet ({Message}); they are written with its next commit")]
        public static partial void NotesNotWritten(ILogger logger, string instanceId, string message);
    }
}

/// <summary>A note waiting for a run's next commit.</summary>
internal sealed record PendingNote(string Message, JsonObject? Payload, string Actor);

/// <summary>Another node is executing the run and did not let go in time.</summary>
public sealed class RunBusyException(string instanceId)
    : Exception($"Workflow instance '{instanceId}' is being executed by another node; try again in a few seconds.")
{
    public string InstanceId { get; } = instanceId;
}
