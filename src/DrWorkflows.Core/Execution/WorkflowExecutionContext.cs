using System.Text.Json;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Expressions;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Serialization;

namespace DrWorkflows.Core.Execution;

/// <summary>
/// One run being executed: its materialized workflow, its state and the work queue. The executor
/// (<see cref="WorkflowExecutor"/>) takes one work item at a time and commits after each.
/// Not thread-safe: a run is executed by one caller at a time (the runtime holds a lease).
/// </summary>
public sealed class WorkflowExecutionContext
{
    private readonly Dictionary<string, ActivityExecutionContext> contexts = new(StringComparer.Ordinal);
    private readonly List<JournalEntry> journal = [];

    internal WorkflowExecutionContext(
        WorkflowGraph workflow,
        WorkflowState state,
        ActivityRegistry registry,
        ExpressionEvaluator evaluator,
        IServiceProvider services,
        TimeProvider clock,
        CancellationToken cancellationToken)
    {
        Graph = workflow;
        State = state;
        Registry = registry;
        Evaluator = evaluator;
        Services = services;
        Clock = clock;
        CancellationToken = cancellationToken;
        Redactor = new Redactor(state.Properties);
        Redactor.Recall([.. state.Variables.Values, .. state.Input.Values, .. state.Output.Values, .. state.ActivityOutputs.Values.SelectMany(o => o.Values)]);
    }

    /// <summary>Key in <see cref="WorkflowState.Properties"/> of the outcomes the root activity completed with.</summary>
    public const string OutcomesProperty = "outcomes";

    public WorkflowGraph Graph { get; }

    /// <summary>
    /// What a failed activity does to this run: the strategy inherited from its parent (a workflow used as an activity,
    /// <see cref="IncidentStrategies.InheritedProperty"/>), else the definition's (<see cref="WorkflowGraph.IncidentStrategy"/>).
    /// </summary>
    public IncidentStrategy IncidentStrategy =>
        State.Properties.GetValueOrDefault(IncidentStrategies.InheritedProperty) is JsonValue value && value.TryGetValue<string>(out var type) && IncidentStrategies.TryParse(type, out var inherited)
            ? inherited
            : Graph.IncidentStrategy;

    public WorkflowState State { get; }

    public IServiceProvider Services { get; }

    public TimeProvider Clock { get; }

    public CancellationToken CancellationToken { get; }

    public ActivityRegistry Registry { get; }

    internal ExpressionEvaluator Evaluator { get; }

    /// <summary>Secret values seen in this run, masked in everything it journals.</summary>
    public Redactor Redactor { get; }

    private readonly Dictionary<string, Dictionary<string, JsonNode?>> transientOutputs = new(StringComparer.Ordinal);

    /// <summary>Outputs whose <c>logPersistenceMode</c> is Exclude: readable while this context drives the run, never stored.</summary>
    internal JsonNode? FindTransientOutput(string activityId, string name) =>
        transientOutputs.TryGetValue(activityId, out var outputs) ? outputs.FirstOrDefault(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)).Value : null;

    internal void SetTransientOutput(string activityId, string name, JsonNode? value) =>
        (transientOutputs.TryGetValue(activityId, out var outputs) ? outputs : transientOutputs[activityId] = new(StringComparer.Ordinal))[name] = value;

    /// <summary>The last <c>Result</c> when its output is excluded from the records (<see cref="WorkflowState.LastResult"/> is then null).</summary>
    internal JsonNode? TransientLastResult { get; private set; }

    internal void SetTransientLastResult(JsonNode? value)
    {
        TransientLastResult = value;
        if (value is not null)
            State.LastResult = null;
    }

    /// <summary>Journal entries produced since the last commit.</summary>
    internal IReadOnlyList<JournalEntry> PendingJournal => journal;

    internal void ClearPendingJournal() => journal.Clear();

    /// <summary>The run can make progress: running, not cancelled, no incident holding it.</summary>
    public bool CanProceed => State.Status == WorkflowStatus.Running && !State.Incidents.Any(i => i.HoldsRun);

    /// <summary>The current time at millisecond precision (what the stores keep).</summary>
    public DateTimeOffset Now => Truncate(Clock.GetUtcNow());

    internal string NewId() => Guid.NewGuid().ToString("N")[..16];

    public ActivityExecutionContext? FindExecution(string executionId)
    {
        if (contexts.TryGetValue(executionId, out var context))
            return context;
        var record = State.Executions.Find(e => e.Id == executionId);
        if (record is null)
            return null;
        context = new ActivityExecutionContext(this, record, Graph.GetNode(record.NodeId));
        contexts[executionId] = context;
        return context;
    }

    internal IEnumerable<ActivityExecutionContext> ChildrenOf(string executionId) =>
        State.Executions.Where(e => e.ParentId == executionId).Select(e => FindExecution(e.Id)!);

    internal ActivityExecutionContext Schedule(Activity activity, ActivityExecutionContext? parent, JsonNode? tag)
    {
        var record = new ActivityExecutionRecord
        {
            Id = NewId(),
            NodeId = activity.NodeId,
            ParentId = parent?.ExecutionId,
            Status = ActivityStatus.Pending,
            ScheduledAt = Now,
            Tag = tag,
        };
        State.Executions.Add(record);
        State.Queue.Add(new WorkItem { Kind = WorkItemKind.Execute, ExecutionId = record.Id });
        return FindExecution(record.Id)!;
    }

    internal Bookmark CreateBookmark(ActivityExecutionContext context, string name, string? key, DateTimeOffset? resumeAt, JsonNode? payload, string? description = null)
    {
        var bookmark = new Bookmark
        {
            Id = NewId(),
            InstanceId = State.Id,
            ExecutionId = context.ExecutionId,
            NodeId = context.Activity.NodeId,
            ActivityType = context.Activity.Type,
            Name = name,
            Key = key,
            ResumeAt = resumeAt,
            Payload = payload,
            CreatedAt = Now,
        };
        State.Bookmarks.Add(bookmark);
        var data = new JsonObject { ["bookmarkId"] = bookmark.Id, ["bookmark"] = name };
        if (key is not null)
            data["key"] = key;
        if (resumeAt is not null)
            data["resumeAt"] = resumeAt.Value.ToString("O");
        if (payload is not null)
            data["payload"] = Redactor.Redact(payload.DeepClone());
        Journal(JournalEvents.Suspended, context, data, message: description);
        return bookmark;
    }

    internal async ValueTask CompleteAsync(ActivityExecutionContext context, IReadOnlyList<string> outcomes, bool notifyParent)
    {
        if (context.HasEnded)
            return;
        var effectiveOutcomes = outcomes.Count == 0 ? [Outcomes.Done] : outcomes;
        foreach (var child in context.Children.ToList())
            Cancel(child);
        context.Record.Status = ActivityStatus.Completed;
        context.Waiting = false;
        State.Executions.Remove(context.Record);
        State.Queue.RemoveAll(w => w.ExecutionId == context.ExecutionId);
        State.Bookmarks.RemoveAll(b => b.ExecutionId == context.ExecutionId);
        contexts.Remove(context.ExecutionId);

        if (context.Outputs.Count > 0)
        {
            var store = State.ActivityOutputs.TryGetValue(context.Activity.Id, out var existing) ? existing : State.ActivityOutputs[context.Activity.Id] = [];
            foreach (var (name, value) in context.Outputs)
                store[name] = value?.DeepClone();
        }

        Journal(JournalEvents.Completed, context, CompletionData(context), effectiveOutcomes);

        if (!notifyParent)
            return;
        if (context.Parent is { } parent)
        {
            if (!parent.HasEnded)
            {
                try
                {
                    await parent.Activity.OnChildCompletedAsync(parent, new ChildCompletion(context.Activity, context.ExecutionId, effectiveOutcomes, context.Record.Tag));
                }
                catch (OperationCanceledException) when (CancellationToken.IsCancellationRequested)
                {
                    throw;
                }
#pragma warning disable CA1031 // The composite failed deciding what comes next: the incident is the composite's, not the completed child's.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    WorkflowExecutor.RaiseIncident(this, parent, IncidentKind.Fault, e.Message, e);
                }
            }
        }
        else if (context.Record.ParentId is null)
        {
            // The outcomes the workflow ended with (Elsa's Complete): the ports of a workflow used as an activity.
            State.Properties[OutcomesProperty] = new JsonArray([.. effectiveOutcomes.Select(o => (JsonNode)JsonValue.Create(o))]);
            Finish(WorkflowSubStatus.Finished);
        }
    }

    private JsonObject CompletionData(ActivityExecutionContext context)
    {
        var data = new JsonObject();
        if (context.Record.StartedAt is { } started)
            data["durationMs"] = (long)(Now - started).TotalMilliseconds;
        if (context.EvaluatedInputs.Count > 0)
            data["inputs"] = Redactor.Redact(ToObject(context.EvaluatedInputs));
        if (context.Outputs.Count > 0)
            data["outputs"] = Redactor.Redact(ToObject(context.Outputs));
        if (context.JournalData is { } extra)
            data["data"] = Redactor.Redact(extra.DeepClone());
        if (context.Record.Excluded is { Count: > 0 } excluded)
            data["excluded"] = excluded.DeepClone();
        return data;
    }

    private static JsonObject ToObject(IReadOnlyDictionary<string, JsonNode?> values)
    {
        var result = new JsonObject();
        foreach (var (key, value) in values)
            result[key] = value?.DeepClone();
        return result;
    }

    /// <summary>
    /// Cancels an execution and its descendants: their queued work and bookmarks are dropped. A faulted one (left by
    /// Elsa's Continue strategy) is cancelled too, as in Elsa: its record goes with its container, its incident stays;
    /// unless <paramref name="keepFaulted"/> (the run ends faulted: the activity that faulted it stays faulted).
    /// </summary>
    internal void Cancel(ActivityExecutionContext context, bool keepFaulted = false)
    {
        if (context.Record.Status is ActivityStatus.Completed or ActivityStatus.Canceled
            || keepFaulted && context.Record.Status == ActivityStatus.Faulted)
            return;
        foreach (var child in context.Children.ToList())
            Cancel(child, keepFaulted);
        var wasStarted = context.Record.Status is ActivityStatus.Running or ActivityStatus.Faulted;
        context.Record.Status = ActivityStatus.Canceled;
        State.Executions.Remove(context.Record);
        State.Queue.RemoveAll(w => w.ExecutionId == context.ExecutionId);
        State.Bookmarks.RemoveAll(b => b.ExecutionId == context.ExecutionId);
        contexts.Remove(context.ExecutionId);
        if (wasStarted)
            Journal(JournalEvents.Cancelled, context, null);
    }

    /// <summary>Ends the run: everything still scheduled or waiting is cancelled.</summary>
    internal void Finish(WorkflowSubStatus subStatus, FaultInfo? fault = null)
    {
        foreach (var record in State.Executions.Where(e => e.ParentId is null).ToList())
        {
            if (FindExecution(record.Id) is { } context)
                Cancel(context, keepFaulted: subStatus == WorkflowSubStatus.Faulted);
        }

        State.Executions.Clear();
        State.Queue.Clear();
        State.Bookmarks.Clear();
        State.Status = WorkflowStatus.Finished;
        State.SubStatus = subStatus;
        State.FinishedAt = Now;
        if (fault is not null)
            State.Fault = fault;
        var eventName = subStatus switch
        {
            WorkflowSubStatus.Cancelled => JournalEvents.WorkflowCancelled,
            WorkflowSubStatus.Faulted => JournalEvents.WorkflowFaulted,
            _ => JournalEvents.WorkflowFinished,
        };
        JournalWorkflow(eventName, fault?.Message, State.Output.Count > 0 ? new JsonObject { ["output"] = Redactor.Redact(ToObject(State.Output)) } : null);
    }

    internal void Journal(string eventName, ActivityExecutionContext context, JsonObject? payload, IReadOnlyList<string>? outcomes = null, string? actor = null, string? message = null) =>
        journal.Add(new JournalEntry
        {
            Id = NewId(),
            InstanceId = State.Id,
            Sequence = State.JournalSequence++,
            Timestamp = Truncate(Now),
            EventName = eventName,
            ExecutionId = context.ExecutionId,
            ParentExecutionId = context.Record.ParentId,
            NodeId = context.Activity.NodeId,
            ActivityId = context.Activity.Id,
            ActivityType = context.Activity.Type,
            ActivityTypeVersion = context.Activity.Version,
            ActivityName = context.Activity.Name,
            Outcomes = outcomes,
            Attempt = context.Record.Attempt,
            Actor = actor,
            Message = message is null ? null : Redactor.RedactText(message),
            Payload = payload,
        });

    internal void JournalWorkflow(string eventName, string? message, JsonObject? payload, string? actor = null) =>
        journal.Add(new JournalEntry
        {
            Id = NewId(),
            InstanceId = State.Id,
            Sequence = State.JournalSequence++,
            Timestamp = Truncate(Now),
            EventName = eventName,
            Message = message is null ? null : Redactor.RedactText(message),
            Actor = actor,
            Payload = payload,
        });

    private static DateTimeOffset Truncate(DateTimeOffset value) =>
        new(value.UtcTicks - (value.UtcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);

    internal object? EvaluateInput(ActivityExecutionContext context, Input? input, Type targetType, out bool provided)
    {
        provided = false;
        if (input is null)
            return null;
        var name = Registry.GetInputName(context.Activity, input);
        object? value;
        if (input.Expression is { } expression)
        {
            value = Evaluate(context, expression, targetType);
        }
        else if (input.MemoryReference is { } variableId)
        {
            value = ValueConverter.Convert(GetVariableById(variableId), targetType);
        }
        else
        {
            return null;
        }

        provided = true;
        var secret = Registry.IsSecretInput(context.Activity, name);
        if (secret)
            Redactor.Add(value?.ToString());
        context.RecordInput(name, secret ? JsonValue.Create(Redactor.Mask) : ToNode(value));
        return value;
    }

    internal object? Evaluate(ActivityExecutionContext context, Expression expression, Type targetType) =>
        ValueConverter.Convert(Evaluator.Evaluate(expression, targetType, new ExpressionScope(context)), targetType);

    internal static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        JsonNode node => node.DeepClone(),
        JsonElement element => JsonNode.Parse(element.GetRawText()),
        _ => JsonSerializer.SerializeToNode(value, value.GetType(), Json.Options),
    };

    public JsonNode? GetVariable(string name)
    {
        var variable = Graph.FindVariable(name) ?? throw new WorkflowDefinitionException($"Variable '{name}' is not declared in workflow '{Graph.DefinitionId}'.");
        return State.Variables.GetValueOrDefault(variable.Id);
    }

    public void SetVariable(string name, object? value)
    {
        var variable = Graph.FindVariable(name) ?? throw new WorkflowDefinitionException($"Variable '{name}' is not declared in workflow '{Graph.DefinitionId}'.");
        State.Variables[variable.Id] = ToNode(value);
    }

    /// <summary>
    /// The memory a <c>memoryReference</c> names: a variable (by id or name), else, as in Elsa, a declared
    /// workflow output or input of that name (an activity output mapped straight onto the workflow's output).
    /// </summary>
    internal JsonNode? GetVariableById(string id)
    {
        if (Graph.FindVariable(id) is null && FindOutputName(id) is { } output)
            return State.Output.GetValueOrDefault(output);
        if (Graph.FindVariable(id) is null && Graph.Inputs.FirstOrDefault(i => i.Name == id) is { } input)
            return State.Input.FirstOrDefault(p => string.Equals(p.Key, input.Name, StringComparison.OrdinalIgnoreCase)).Value;
        return State.Variables.GetValueOrDefault(Graph.FindVariable(id)?.Id ?? id);
    }

    internal void SetVariableById(string id, JsonNode? value)
    {
        if (Graph.FindVariable(id) is null && FindOutputName(id) is { } output)
            State.Output[output] = value?.DeepClone();
        else
            State.Variables[Graph.FindVariable(id)?.Id ?? id] = value?.DeepClone();
    }

    private string? FindOutputName(string id) => Graph.Outputs.FirstOrDefault(o => o.Name == id)?.Name;
}
