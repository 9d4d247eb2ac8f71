using System.Text.Json.Nodes;
using DrWorkflows.Core.Expressions;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Runtime;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Core.Execution;

/// <summary>
/// Executes a run one work item at a time. It does no IO of its own: the caller commits the state (and the
/// journal entries in <see cref="WorkflowExecutionContext.PendingJournal"/>) after every step, which is what
/// makes a crash at any point recoverable.
/// </summary>
public sealed class WorkflowExecutor(ActivityRegistry registry, ExpressionEvaluator evaluator, TimeProvider clock, IOptions<RuntimeOptions> options)
{
    private readonly string nodeId = options.Value.NodeId;

    public ActivityRegistry Registry { get; } = registry;

    public WorkflowExecutionContext CreateContext(WorkflowGraph graph, WorkflowState state, IServiceProvider services, CancellationToken cancellationToken) =>
        new(graph, state, Registry, evaluator, services, clock, cancellationToken);

    /// <summary>A new run's state: variables at their declared values, input as given.</summary>
    public WorkflowState CreateState(WorkflowGraph graph, string instanceId, IDictionary<string, JsonNode?>? input, string? correlationId, string? startedBy, string? parentInstanceId = null)
    {
        var now = clock.GetUtcNow();
        var state = new WorkflowState
        {
            Id = instanceId,
            DefinitionId = graph.DefinitionId,
            DefinitionVersionId = graph.DefinitionVersionId,
            DefinitionVersion = graph.Version,
            Name = graph.Name,
            CorrelationId = correlationId,
            ParentInstanceId = parentInstanceId,
            StartedBy = startedBy,
            Status = WorkflowStatus.Running,
            SubStatus = WorkflowSubStatus.Pending,
            CreatedAt = now,
            UpdatedAt = now,
        };
        foreach (var variable in graph.Variables)
            state.Variables[variable.Id] = InitialValue(variable);
        if (input is not null)
        {
            foreach (var (key, value) in input)
                state.Input[key] = value?.DeepClone();
        }

        return state;
    }

    private static JsonNode? InitialValue(VariableDefinition variable)
    {
        if (variable.Value is null)
            return null;
        if (variable.Value is JsonValue v && v.TryGetValue<string>(out var text))
        {
            var type = TypeAliases.ToType(variable.TypeName);
            if (type == typeof(string) || type == typeof(object) && !LooksLikeJson(text))
                return JsonValue.Create(text);
            if (string.IsNullOrEmpty(text))
                return null;
            if (type == typeof(object))
                return ParseJson(text);
            return ValueConverter.ToJsonNode(ValueConverter.Convert(text, type));
        }

        return variable.Value.DeepClone();
    }

    /// <summary>An Object variable's initial value written as JSON text is that JSON; text that does not parse stays text.</summary>
    private static JsonNode? ParseJson(string text)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException)
        {
            return JsonValue.Create(text);
        }
    }

    private static bool LooksLikeJson(string text) => text.TrimStart() is ['{' or '[', ..];

    /// <summary>Schedules the root activity and journals the start.</summary>
    public void Start(WorkflowExecutionContext context)
    {
        var data = context.State.Input.Count > 0 ? new JsonObject { ["input"] = context.Redactor.Redact(ToObject(context.State.Input)) } : null;
        var message = $"Started {context.Graph.Name ?? context.Graph.DefinitionId} v{context.Graph.Version}";
        if (context.Graph.Origin is { } origin)
        {
            // Which definition ran: its version and where it came from (for a version published from git, the commit).
            data ??= [];
            data["definition"] = new JsonObject { ["versionId"] = context.Graph.DefinitionVersionId, ["origin"] = origin };
            if (Runtime.DefinitionOrigins.ParseGit(origin) is { } git)
            {
                data["definition"]!["commit"] = git.Commit;
                data["definition"]!["pullRequest"] = git.PullRequest;
                message += $" from {git.Describe()}";
            }
        }

        if (context.State.Properties.ContainsKey(IncidentStrategies.InheritedProperty))
        {
            // A workflow used as an activity runs under its parent's strategy, whatever its own definition says.
            data ??= [];
            data["incidentStrategy"] = IncidentStrategies.TypeName(context.IncidentStrategy);
            message += $", under its parent's incident strategy ({IncidentStrategies.TypeName(context.IncidentStrategy)})";
        }

        context.JournalWorkflow(JournalEvents.WorkflowStarted, message, data, context.State.StartedBy);
        context.Schedule(context.Graph.Root, null, null);
        context.State.SubStatus = WorkflowSubStatus.Executing;
    }

    /// <summary>Queues the resumption of a bookmark (which is consumed). False when the bookmark is gone.</summary>
    public bool QueueResume(WorkflowExecutionContext context, string bookmarkId, JsonNode? payload, string? resumedBy)
    {
        var bookmark = context.State.Bookmarks.Find(b => b.Id == bookmarkId);
        if (bookmark is null)
            return false;
        context.State.Bookmarks.Remove(bookmark);
        context.State.Queue.Add(new WorkItem
        {
            Kind = WorkItemKind.Resume,
            ExecutionId = bookmark.ExecutionId,
            BookmarkId = bookmark.Id,
            Payload = new JsonObject { ["bookmark"] = Serialize(bookmark), ["payload"] = payload?.DeepClone() },
            ResumedBy = resumedBy,
        });
        if (context.State.Status == WorkflowStatus.Running && context.State.SubStatus == WorkflowSubStatus.Suspended)
            context.State.SubStatus = WorkflowSubStatus.Executing;
        return true;
    }

    /// <summary>
    /// Executes the next work item. <paramref name="commitBeforeUnsafe"/> is called before an activity that is
    /// not safe to re-run starts, so that a crash during it is detected on recovery (and raises an incident).
    /// Returns false when there was nothing to do.
    /// </summary>
    public async ValueTask<bool> StepAsync(WorkflowExecutionContext context, Func<ValueTask> commitBeforeUnsafe)
    {
        var state = context.State;
        if (!context.CanProceed || state.Queue.Count == 0)
            return false;
        var item = state.Queue[0];
        var activityContext = context.FindExecution(item.ExecutionId);
        if (activityContext is null)
        {
            state.Queue.RemoveAt(0);
            return true;
        }

        var descriptor = Registry.Describe(activityContext.Activity);
        if (item.Kind == WorkItemKind.Execute)
        {
            if (activityContext.Record.Status == ActivityStatus.Running)
            {
                // Committed as started and still queued: the process running this attempt stopped before it ended.
                JournalInterrupted(context, activityContext, descriptor);
                if (!descriptor.SafeToRerun)
                {
                    RaiseIncident(context, activityContext, IncidentKind.InterruptedUnsafeActivity,
                        $"The orchestrator stopped while '{activityContext.Activity.Name ?? activityContext.Activity.Id}' ({activityContext.Activity.Type}) was running. It is not safe to run it again automatically: check what it did, then retry, skip or fail it.", null);
                    return true;
                }

                activityContext.Record.Attempt++;
            }

            state.Queue.Remove(item);
            await ExecuteAttemptAsync(context, activityContext, descriptor, () => { state.Queue.Insert(0, item); return commitBeforeUnsafe(); }, () => state.Queue.Remove(item));
        }
        else
        {
            state.Queue.Remove(item);
            var bookmark = System.Text.Json.JsonSerializer.Deserialize<Bookmark>(item.Payload?["bookmark"] ?? JsonValue.Create(0), Serialization.Json.Options) ?? new Bookmark { Id = item.BookmarkId ?? string.Empty, ExecutionId = item.ExecutionId };
            var payload = item.Payload?["payload"];
            if (bookmark.Name == RetryPolicy.RetryBookmark)
            {
                // The backoff delay of a retry is over: run the next attempt.
                activityContext.Record.Attempt++;
                activityContext.Record.Properties = [];
                activityContext.Waiting = false;
                var marker = new WorkItem { Kind = WorkItemKind.Execute, ExecutionId = activityContext.ExecutionId };
                await ExecuteAttemptAsync(context, activityContext, descriptor, () => { state.Queue.Insert(0, marker); return commitBeforeUnsafe(); }, () => state.Queue.Remove(marker));
                UpdateSubStatus(context);
                return true;
            }

            var data = new JsonObject { ["bookmarkId"] = bookmark.Id, ["bookmark"] = bookmark.Name };
            if (payload is not null)
                data["payload"] = context.Redactor.Redact(payload.DeepClone());
            context.Journal(JournalEvents.Resumed, activityContext, data, actor: item.ResumedBy, message: ResumedMessage(item.ResumedBy));
            activityContext.Waiting = activityContext.Bookmarks.Any() || activityContext.Children.Any();
            await RunGuardedAsync(context, activityContext, descriptor, () => activityContext.Activity.ResumeAsync(activityContext, new BookmarkResumption(bookmark, payload?.DeepClone(), item.ResumedBy)));
        }

        UpdateSubStatus(context);
        return true;
    }

    /// <summary>"Resumed by alice (slack)": who resumed the wait and through which channel, for the journal (the wait's name is in its payload).</summary>
    internal static string ResumedMessage(string? resumedBy) => resumedBy switch
    {
        null or "" => "Resumed.",
        "timer" => "Resumed by the timer.",
        _ => $"Resumed by {resumedBy}.",
    };

    /// <summary>
    /// One attempt of an activity. An activity that does outside work (<see cref="CommitsBeforeStart"/>) is marked
    /// started and committed first (with its work item still queued), so that a crash during it is seen on recovery.
    /// </summary>
    private async ValueTask ExecuteAttemptAsync(WorkflowExecutionContext context, ActivityExecutionContext activityContext, ActivityDescriptor descriptor, Func<ValueTask> commitBeforeUnsafe, Action afterCommit)
    {
        activityContext.Record.Status = ActivityStatus.Running;
        activityContext.Record.StartedAt = context.Now;
        activityContext.Record.StartedOn = nodeId;
        context.Journal(JournalEvents.Started, activityContext, activityContext.ScheduledBy is { } scheduledBy ? new JsonObject { [ScheduledBy.JournalKey] = scheduledBy.ToJson() } : null);
        if (CommitsBeforeStart(descriptor))
        {
            await commitBeforeUnsafe();
            afterCommit();
        }

        await RunGuardedAsync(context, activityContext, descriptor, () => activityContext.Activity.ExecuteAsync(activityContext));
    }

    /// <summary>
    /// Whether an attempt is committed as started before it runs. Activities outside the runtime's own assembly (every
    /// DR activity, plugins) do outside work and can take long, and an unsafe one must never run twice: a crash during
    /// them is then seen on recovery (an <see cref="JournalEvents.Interrupted"/> entry, then a new attempt or an
    /// incident). The runtime's own safe activities (control flow, primitives, timers, child runs) do no outside work:
    /// committing before them would only double the writes.
    /// </summary>
    public static bool CommitsBeforeStart(ActivityDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        return !descriptor.SafeToRerun || descriptor.ClrType.Assembly != typeof(Abstractions.Activity).Assembly;
    }

    /// <summary>
    /// Journals the attempt that a crash (or a killed node, or a lost lease) cut short, at the time the restart
    /// found it, before what follows it: the next attempt, or the incident of an activity that is not safe to re-run.
    /// </summary>
    private void JournalInterrupted(WorkflowExecutionContext context, ActivityExecutionContext activityContext, ActivityDescriptor descriptor)
    {
        var record = activityContext.Record;
        var name = activityContext.Activity.Name ?? activityContext.Activity.Id;
        var started = record.StartedAt is { } at ? $", started {at:yyyy-MM-dd HH:mm:ss.fff} UTC on node {record.StartedOn ?? "?"}" : string.Empty;
        var next = descriptor.SafeToRerun
            ? $"it runs again as attempt {record.Attempt + 1}"
            : "it is not safe to run again automatically: an incident waits for an operator (retry, skip or fail)";
        var data = new JsonObject
        {
            ["interruptedAttempt"] = record.Attempt,
            ["startedAt"] = record.StartedAt?.ToString("O"),
            ["startedOn"] = record.StartedOn,
            ["detectedOn"] = nodeId,
            ["safeToRerun"] = descriptor.SafeToRerun,
            ["next"] = descriptor.SafeToRerun ? "retry" : "incident",
        };
        context.Journal(JournalEvents.Interrupted, activityContext, data,
            message: $"Attempt {record.Attempt} of '{name}' ({activityContext.Activity.Type}){started} was interrupted: the orchestrator stopped before it ended (crash, killed process or lost lease). Detected by node {nodeId}; {next}.");
    }

    private async ValueTask RunGuardedAsync(WorkflowExecutionContext context, ActivityExecutionContext activityContext, ActivityDescriptor descriptor, Func<ValueTask> action)
    {
        var policy = RetryPolicy.For(activityContext.Activity, descriptor);
        using var timeout = policy.Timeout is { } limit ? new CancellationTokenSource(limit, clock) : null;
        using var linked = timeout is null ? null : CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, timeout.Token);
        activityContext.AttemptToken = linked?.Token;
        using var attempt = ActivityAttempt.Enter(ActivityAttempt.Of(activityContext));
        try
        {
            await action();
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // Any failure of an activity becomes a retry or an incident on the run; it never escapes into the host.
        catch (Exception e)
#pragma warning restore CA1031
        {
            var timedOut = timeout?.IsCancellationRequested == true;
            var message = timedOut ? $"'{activityContext.Activity.Name ?? activityContext.Activity.Id}' did not finish within {policy.Timeout} (attempt {activityContext.Attempt})." : e.Message;
            var retryable = e switch
            {
                WorkflowDefinitionException => false,
                ActivityFailureException failure => failure.Retryable,
                _ => descriptor.SafeToRerun,
            };
            if (retryable && activityContext.Attempt < policy.MaxAttempts && !activityContext.HasEnded)
                ScheduleRetry(context, activityContext, policy, message, e);
            else
                RaiseIncident(context, activityContext, IncidentKind.Fault, message, e);
        }
        finally
        {
            activityContext.AttemptToken = null;
        }
    }

    private void ScheduleRetry(WorkflowExecutionContext context, ActivityExecutionContext activityContext, RetryPolicy policy, string message, Exception exception)
    {
        activityContext.CancelChildren();
        activityContext.RemoveBookmarks();
        var delay = policy.DelayBefore(activityContext.Attempt + 1);
        var due = context.Now + delay;
        context.Journal(JournalEvents.Retrying, activityContext, new JsonObject
        {
            ["error"] = context.Redactor.RedactText(message),
            ["exceptionType"] = exception.GetType().FullName,
            ["attempt"] = activityContext.Attempt,
            ["maxAttempts"] = policy.MaxAttempts,
            ["nextAttemptAt"] = due.ToString("O"),
        }, message: message);
        activityContext.CreateBookmark(RetryPolicy.RetryBookmark, resumeAt: due);
    }

    /// <summary>
    /// Records an incident on this activity and applies the run's incident strategy (<see cref="WorkflowExecutionContext.IncidentStrategy"/>):
    /// the hold stops the run here until an operator retries, skips or fails it; Elsa's Fault strategy ends the run
    /// <c>Finished</c>/<c>Faulted</c>; Elsa's Continue strategy leaves the activity faulted (it never completes, so what
    /// follows it does not run) and the rest of the run carries on. Under the last two the incident stays open, and
    /// so is alerted and counted, until on-call acknowledges it.
    /// </summary>
    public static void RaiseIncident(WorkflowExecutionContext context, ActivityExecutionContext activityContext, IncidentKind kind, string message, Exception? exception)
    {
        var strategy = context.IncidentStrategy;
        var incident = new Incident
        {
            Id = context.NewId(),
            ExecutionId = activityContext.ExecutionId,
            NodeId = activityContext.Activity.NodeId,
            ActivityId = activityContext.Activity.Id,
            ActivityType = activityContext.Activity.Type,
            Kind = kind,
            Message = context.Redactor.RedactText(message),
            ExceptionType = exception?.GetType().FullName,
            CreatedAt = context.Now,
            Strategy = strategy,
        };
        context.State.Incidents.Add(incident);
        activityContext.Record.Status = ActivityStatus.Faulted;
        var fault = new FaultInfo(incident.Message, incident.ExceptionType, incident.NodeId, incident.ActivityId);
        var data = new JsonObject { ["incidentId"] = incident.Id, ["kind"] = kind.ToString(), ["error"] = incident.Message };
        if (exception?.GetType().FullName is { } type)
            data["exceptionType"] = type;
        if (strategy != IncidentStrategy.OperatorHold)
            data["incidentStrategy"] = IncidentStrategies.TypeName(strategy);
        context.Journal(kind == IncidentKind.Fault ? JournalEvents.Faulted : JournalEvents.IncidentRaised, activityContext, data, message: incident.Message);
        switch (strategy)
        {
            case IncidentStrategy.Fault:
                context.Finish(WorkflowSubStatus.Faulted, fault);
                break;
            case IncidentStrategy.ContinueWithIncidents:
                // The faulted activity stays (faulted) under its parent, as in Elsa: its parent never sees it complete.
                activityContext.CancelChildren();
                activityContext.RemoveBookmarks();
                activityContext.Waiting = false;
                context.State.Queue.RemoveAll(w => w.ExecutionId == activityContext.ExecutionId);
                context.JournalWorkflow(JournalEvents.Note, $"'{activityContext.Activity.Name ?? activityContext.Activity.Id}' failed; the run carries on with the incident ({IncidentStrategies.ContinueWithIncidentsType}): what follows that activity does not run.", new JsonObject { ["incidentId"] = incident.Id, ["incidentStrategy"] = IncidentStrategies.ContinueWithIncidentsType });
                break;
            default:
                context.State.SubStatus = WorkflowSubStatus.Faulted;
                context.State.Fault = fault;
                break;
        }
    }

    /// <summary>Applies an operator's decision to an open incident.</summary>
    public async ValueTask ResolveIncidentAsync(WorkflowExecutionContext context, string incidentId, IncidentResolution resolution, string actor, string? outcome = null)
    {
        var incident = context.State.Incidents.Find(i => i.Id == incidentId && i.Resolution is null)
            ?? throw new InvalidOperationException($"Incident '{incidentId}' is not open on run '{context.State.Id}'.");
        if (!AllowedResolutions(incident).Contains(resolution))
            throw new InvalidOperationException($"Incident '{incidentId}' on run '{context.State.Id}' takes {string.Join(", ", AllowedResolutions(incident))}, not {resolution}.");
        incident.Resolution = resolution;
        incident.ResolvedBy = actor;
        incident.ResolvedAt = context.Now;
        if (resolution == IncidentResolution.Acknowledge)
        {
            // The strategy already ended the run or carried it on: only the record changes.
            context.JournalWorkflow(JournalEvents.IncidentResolved, $"Incident {incident.Id} on '{incident.ActivityId}' acknowledged by {actor}", new JsonObject { ["incidentId"] = incident.Id, ["resolution"] = resolution.ToString() }, actor);
            UpdateSubStatus(context);
            return;
        }

        context.State.Fault = null;
        var activityContext = context.FindExecution(incident.ExecutionId);
        var data = new JsonObject { ["incidentId"] = incident.Id, ["resolution"] = resolution.ToString() };
        if (activityContext is null)
        {
            context.JournalWorkflow(JournalEvents.IncidentResolved, $"Incident {incident.Id}: {resolution}", data, actor);
        }
        else
        {
            context.Journal(JournalEvents.IncidentResolved, activityContext, data, actor: actor, message: $"{resolution} by {actor}");
        }

        if (!context.State.Incidents.Any(i => i.HoldsRun) && context.State.Status == WorkflowStatus.Running)
            context.State.SubStatus = WorkflowSubStatus.Executing;

        switch (resolution)
        {
            case IncidentResolution.Retry when activityContext is not null:
                activityContext.Record.Status = ActivityStatus.Pending;
                activityContext.Record.Attempt++;
                context.State.Queue.RemoveAll(w => w.ExecutionId == activityContext.ExecutionId && w.Kind == WorkItemKind.Execute);
                context.State.Queue.Insert(0, new WorkItem { Kind = WorkItemKind.Execute, ExecutionId = activityContext.ExecutionId });
                break;
            case IncidentResolution.Skip when activityContext is not null:
                activityContext.Record.Status = ActivityStatus.Running;
                context.State.Queue.RemoveAll(w => w.ExecutionId == activityContext.ExecutionId);
                await context.CompleteAsync(activityContext, [outcome ?? Outcomes.Done], notifyParent: true);
                break;
            case IncidentResolution.Fail:
                context.Finish(WorkflowSubStatus.Faulted, new FaultInfo(incident.Message, incident.ExceptionType, incident.NodeId, incident.ActivityId));
                break;
        }

        UpdateSubStatus(context);
    }

    /// <summary>
    /// What an operator may do with an open incident: retry, skip or fail one that holds the run; acknowledge one that
    /// Elsa's Fault or Continue strategy already acted on.
    /// </summary>
    public static IReadOnlyList<IncidentResolution> AllowedResolutions(Incident incident)
    {
        ArgumentNullException.ThrowIfNull(incident);
        return incident.Strategy == IncidentStrategy.OperatorHold
            ? [IncidentResolution.Retry, IncidentResolution.Skip, IncidentResolution.Fail]
            : [IncidentResolution.Acknowledge];
    }

    /// <summary>Cancels the run: everything scheduled or waiting is dropped.</summary>
    public static void Cancel(WorkflowExecutionContext context, string actor)
    {
        if (context.State.Status == WorkflowStatus.Finished)
            return;
        context.JournalWorkflow(JournalEvents.Note, $"Cancellation requested by {actor}", null, actor);
        // An incident that held the run is answered by the cancel: left open, it would list retry/skip/fail on a finished run.
        foreach (var incident in context.State.Incidents.Where(i => i.HoldsRun))
        {
            incident.Resolution = IncidentResolution.RunCancelled;
            incident.ResolvedBy = actor;
            incident.ResolvedAt = context.Now;
            context.JournalWorkflow(JournalEvents.IncidentResolved, $"Incident {incident.Id} on '{incident.ActivityId}' closed: the run was cancelled by {actor}", new JsonObject { ["incidentId"] = incident.Id, ["resolution"] = incident.Resolution.ToString() }, actor);
        }

        context.Finish(WorkflowSubStatus.Cancelled);
    }

    public static void UpdateSubStatus(WorkflowExecutionContext context)
    {
        var state = context.State;
        state.UpdatedAt = context.Now;
        if (state.Status == WorkflowStatus.Finished)
            return;
        if (state.Incidents.Any(i => i.HoldsRun))
            state.SubStatus = WorkflowSubStatus.Faulted;
        else if (state.Queue.Count > 0)
            state.SubStatus = WorkflowSubStatus.Executing;
        else if (state.Executions.Count > 0)
            state.SubStatus = WorkflowSubStatus.Suspended;
        else
            context.Finish(WorkflowSubStatus.Finished);
    }

    private static JsonNode? Serialize(Bookmark bookmark) => System.Text.Json.JsonSerializer.SerializeToNode(bookmark, Serialization.Json.Options);

    private static JsonObject ToObject(IReadOnlyDictionary<string, JsonNode?> values)
    {
        var result = new JsonObject();
        foreach (var (key, value) in values)
            result[key] = value?.DeepClone();
        return result;
    }
}
