using System.Text.Json;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Serialization;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Core.Execution;

/// <summary>
/// One execution of one activity within a run: the activity's window on the run (inputs, outputs,
/// variables, children, bookmarks, services). Its persisted part is <see cref="Record"/>.
/// </summary>
public sealed class ActivityExecutionContext
{
    private readonly Dictionary<string, JsonNode?> evaluatedInputs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, JsonNode?> outputs = new(StringComparer.Ordinal);
    private JsonObject? journalData;

    internal ActivityExecutionContext(WorkflowExecutionContext workflow, ActivityExecutionRecord record, Activity activity)
    {
        Workflow = workflow;
        Record = record;
        Activity = activity;
        // Inputs read and outputs set before the activity suspended (a gate's question, a child's instance id)
        // survive the reload, so that the journal entry of its completion still shows them.
        if (record.Inputs is { } read)
        {
            foreach (var (name, value) in read)
                evaluatedInputs[name] = value?.DeepClone();
        }

        if (record.Outputs is { } written)
        {
            foreach (var (name, value) in written)
                outputs[name] = value?.DeepClone();
        }
    }

    public WorkflowExecutionContext Workflow { get; }

    public Activity Activity { get; }

    /// <summary>The persisted part of this execution.</summary>
    public ActivityExecutionRecord Record { get; }

    /// <summary>Stable across crashes and re-runs: use it as the idempotency key for side effects.</summary>
    public string ExecutionId => Record.Id;

    public string WorkflowInstanceId => Workflow.State.Id;

    public int Attempt => Record.Attempt;

    /// <summary>Cancelled when the node shuts down or the attempt's time limit is reached.</summary>
    public CancellationToken CancellationToken => AttemptToken ?? Workflow.CancellationToken;

    internal CancellationToken? AttemptToken { get; set; }

    public TimeProvider Clock => Workflow.Clock;

    public IServiceProvider Services => Workflow.Services;

    /// <summary>The composite that scheduled this activity; <c>null</c> for the workflow's root.</summary>
    public ActivityExecutionContext? Parent => Record.ParentId is null ? null : Workflow.FindExecution(Record.ParentId);

    /// <summary>
    /// The flowchart connection that scheduled this execution (the step that completed, its port, its execution id);
    /// null for a flowchart's first step and for children of other composites. Persisted with the execution.
    /// </summary>
    public ScheduledBy? ScheduledBy => Record.ScheduledBy;

    /// <summary>Persisted state of this execution (loop counters, flowchart tokens...).</summary>
    public JsonObject Properties => Record.Properties;

    /// <summary>Neither completed nor waiting (no bookmark, no child scheduled during this step).</summary>
    public bool IsPending => Record.Status == ActivityStatus.Running && !Waiting;

    /// <summary>Whether the execution ended (completed, cancelled or faulted).</summary>
    public bool HasEnded => Record.Status is ActivityStatus.Completed or ActivityStatus.Canceled or ActivityStatus.Faulted;

    internal bool Waiting { get; set; }

    internal IReadOnlyDictionary<string, JsonNode?> EvaluatedInputs => evaluatedInputs;

    internal IReadOnlyDictionary<string, JsonNode?> Outputs => outputs;

    internal JsonObject? JournalData => journalData;

    public T GetRequiredService<T>()
        where T : notnull => Services.GetRequiredService<T>();

    /// <summary>Evaluates an input and converts it to <typeparamref name="T"/>; <c>default</c> when unset.</summary>
    public T? Get<T>(Input<T>? input)
    {
        var value = Workflow.EvaluateInput(this, input, typeof(T), out var provided);
        return provided ? (T?)value : default;
    }

    /// <summary>Evaluates an input and converts it to <typeparamref name="T"/>; <paramref name="defaultValue"/> when unset or null.</summary>
    public T Get<T>(Input<T>? input, T defaultValue)
    {
        var value = Workflow.EvaluateInput(this, input, typeof(T), out var provided);
        return provided && value is T typed ? typed : defaultValue;
    }

    /// <summary>Evaluates an untyped input (used by the runtime and generic activities).</summary>
    public object? Get(Input? input) => Workflow.EvaluateInput(this, input, input?.ValueType ?? typeof(object), out _);

    /// <summary>Evaluates an expression in this activity's scope.</summary>
    public object? Evaluate(Expressions.Expression expression, Type targetType) => Workflow.Evaluate(this, expression, targetType);

    /// <summary>Writes an output (and the variable it is bound to).</summary>
    public void Set<T>(Output<T>? output, T value)
    {
        if (output is null)
            return;
        var name = Workflow.Registry.GetOutputName(Activity, output);
        var node = value is null ? null : JsonSerializer.SerializeToNode(value, Json.Options);
        var secret = Workflow.Registry.IsSecretOutput(Activity, name);
        if (secret && value is not null)
            Workflow.Redactor.Add(value.ToString());
        var recorded = secret ? JsonValue.Create(Redactor.Mask) : node;
        if (output.MemoryReference is { } variableId)
            Workflow.SetVariableById(variableId, node);
        if (IsLogExcluded(LogPersistence.Outputs, name))
        {
            // Kept out of the run's state and records; readable (getOutputFrom, getLastResult) while this process drives the run, as in Elsa.
            outputs.Remove(name);
            Record.Outputs?.Remove(name);
            Workflow.State.ActivityOutputs.GetValueOrDefault(Activity.Id)?.Remove(name);
            Workflow.SetTransientOutput(Activity.Id, name, recorded?.DeepClone());
            MarkExcluded(LogPersistence.Outputs, name);
            if (name == "Result")
                Workflow.SetTransientLastResult(recorded?.DeepClone());
            return;
        }

        outputs[name] = recorded;
        (Record.Outputs ??= [])[name] = outputs[name]?.DeepClone();
        if (name == "Result")
        {
            Workflow.State.LastResult = recorded?.DeepClone();
            Workflow.SetTransientLastResult(null);
        }
    }

    internal void RecordInput(string name, JsonNode? value)
    {
        if (IsLogExcluded(LogPersistence.Inputs, name))
        {
            evaluatedInputs.Remove(name);
            Record.Inputs?.Remove(name);
            MarkExcluded(LogPersistence.Inputs, name);
            return;
        }

        evaluatedInputs[name] = value;
        (Record.Inputs ??= [])[name] = value?.DeepClone();
    }

    /// <summary>Whether this activity's <c>logPersistenceMode</c> keeps the value of that input or output out of the records.</summary>
    internal bool IsLogExcluded(string kind, string name) => LogPersistence.IsExcluded(Activity, kind, name, Workflow.Graph.LogPersistenceDefault);

    private void MarkExcluded(string kind, string name)
    {
        var names = (Record.Excluded ??= [])[kind] as JsonArray ?? (JsonArray)(Record.Excluded[kind] = new JsonArray());
        if (!names.Any(n => n?.GetValue<string>() == name))
            names.Add(name);
    }

    /// <summary>Adds a value to this execution's journal entry (e.g. the container id a restart acted on).</summary>
    public void AddJournalData(string key, JsonNode? value) => (journalData ??= [])[key] = value;

    public JsonNode? GetVariable(string name) => TryGetLocal(name, out var local) ? local : Workflow.GetVariable(name);

    public T? GetVariable<T>(string name) => ValueConverter.Convert<T>(GetVariable(name));

    public void SetVariable(string name, object? value) => Workflow.SetVariable(name, value);

    public T? GetProperty<T>(string key) => Properties.TryGetPropertyValue(key, out var node) ? ValueConverter.Convert<T>(node) : default;

    public void SetProperty(string key, object? value) =>
        Properties[key] = value is null ? null : value as JsonNode ?? JsonSerializer.SerializeToNode(value, Json.Options);

    /// <summary>
    /// Schedules a child activity; <see cref="Activity.OnChildCompletedAsync"/> is called when it ends.
    /// <paramref name="scheduledBy"/>: the connection that led to it (see <see cref="ScheduledBy"/>).
    /// </summary>
    public string ScheduleChild(Activity child, JsonNode? tag = null, IReadOnlyDictionary<string, object?>? locals = null, ScheduledBy? scheduledBy = null)
    {
        Waiting = true;
        var scheduled = Workflow.Schedule(child, this, tag);
        scheduled.Record.ScheduledBy = scheduledBy;
        if (locals is { Count: > 0 })
        {
            var json = new JsonObject();
            foreach (var (name, value) in locals)
                json[name] = ValueConverter.ToJsonNode(value);
            scheduled.Record.Locals = json;
        }

        return scheduled.ExecutionId;
    }

    /// <summary>A local variable of this execution or the nearest ancestor that declares it.</summary>
    public bool TryGetLocal(string name, out JsonNode? value)
    {
        for (var current = this; current is not null; current = current.Parent)
        {
            if (current.Record.Locals is { } locals && locals.TryGetPropertyValue(name, out value))
                return true;
        }

        value = null;
        return false;
    }

    /// <summary>Local variables visible here, nearest first.</summary>
    public IEnumerable<KeyValuePair<string, JsonNode?>> VisibleLocals
    {
        get
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var current = this; current is not null; current = current.Parent)
            {
                if (current.Record.Locals is not { } locals)
                    continue;
                foreach (var pair in locals)
                {
                    if (seen.Add(pair.Key))
                        yield return pair;
                }
            }
        }
    }

    /// <summary>Live child executions (scheduled or running).</summary>
    public IEnumerable<ActivityExecutionContext> Children => Workflow.ChildrenOf(ExecutionId);

    /// <summary>Suspends this activity on a persisted bookmark until it is resumed (or its timer is due).</summary>
    /// <param name="name">The bookmark's name (what the activity waits for).</param>
    /// <param name="key">Lookup key (e.g. an approval id), or null.</param>
    /// <param name="resumeAt">When the timer resumes it, or null.</param>
    /// <param name="payload">Data kept with the bookmark.</param>
    /// <param name="description">What the activity waits for, in words (who may answer, until when): the message of the journal's Suspended entry.</param>
    public Bookmark CreateBookmark(string name, string? key = null, DateTimeOffset? resumeAt = null, JsonNode? payload = null, string? description = null)
    {
        Waiting = true;
        return Workflow.CreateBookmark(this, name, key, resumeAt, payload, description);
    }

    /// <summary>Bookmarks this execution holds.</summary>
    public IEnumerable<Bookmark> Bookmarks => Workflow.State.Bookmarks.Where(b => b.ExecutionId == ExecutionId);

    /// <summary>Removes this execution's bookmarks (e.g. the timeout of a gate that was answered).</summary>
    public void RemoveBookmarks(string? name = null) =>
        Workflow.State.Bookmarks.RemoveAll(b => b.ExecutionId == ExecutionId && (name is null || b.Name == name));

    /// <summary>Completes the activity with the given outcomes (default <c>Done</c>) and notifies its parent.</summary>
    public ValueTask CompleteAsync(params string[] outcomes) => Workflow.CompleteAsync(this, outcomes, notifyParent: true);

    /// <summary>Cancels every live child (and their descendants).</summary>
    public void CancelChildren()
    {
        foreach (var child in Children.ToList())
            Workflow.Cancel(child);
    }

    /// <summary>Cancels one child execution (and its descendants).</summary>
    public void CancelChild(string executionId)
    {
        if (Workflow.FindExecution(executionId) is { } child)
            Workflow.Cancel(child);
    }
}
