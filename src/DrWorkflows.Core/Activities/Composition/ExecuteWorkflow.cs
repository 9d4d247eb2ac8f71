using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Core.Activities.Composition;

/// <summary>
/// Starts a child run of another (published) workflow, with input, and optionally waits for it to finish;
/// the child's output becomes this activity's result. The child's instance id is fixed when it is requested,
/// so a crash can never start it twice.
/// </summary>
[Activity("Elsa", "Composition", "Execute a workflow as a child of this one.", SafeToRerun = true, IsBlocking = true, DisplayName = "Execute Workflow")]
public sealed class ExecuteWorkflow : Activity
{
    /// <summary>Bookmark name for a parent waiting on a child.</summary>
    public const string BookmarkName = "Elsa.ExecuteWorkflow";

    [Input(Description = "The definition id of the workflow to run (its published version).")]
    public Input<string> WorkflowDefinitionId { get; set; } = new(string.Empty);

    [Input(Description = "The correlation id of the child run (default: this run's).")]
    public Input<string>? CorrelationId { get; set; }

    [Input(Description = "Input for the child workflow (a JSON object).", UIHint = Abstractions.InputUIHints.JsonEditor)]
    public Input<JsonObject>? Input { get; set; }

    [Input(Description = "Wait for the child to finish.")]
    public Input<bool> WaitForCompletion { get; set; } = new(true);

    [Output(Description = "The child's output (when waiting).")]
    public Output<JsonObject?> Result { get; set; } = new();

    [Output(Description = "The child's instance id.")]
    public Output<string> ChildInstanceId { get; set; } = new();

    public override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var definitionId = context.Get(WorkflowDefinitionId);
        if (string.IsNullOrWhiteSpace(definitionId))
            throw new ActivityFailureException($"ExecuteWorkflow '{Id}' has no workflow definition id.");
        var input = context.Get(Input) ?? [];
        return ChildRuns.StartAsync(context, definitionId, input.ToDictionary(p => p.Key, p => p.Value?.DeepClone()), context.Get(CorrelationId), context.Get(WaitForCompletion), ChildInstanceId, inheritIncidentStrategy: false);
    }

    public override ValueTask ResumeAsync(ActivityExecutionContext context, BookmarkResumption resumption) =>
        ChildRuns.CompleteAsync(context, resumption, output => context.Set(Result, output), withChildOutcomes: false);
}

/// <summary>Shared logic of activities that run a child workflow.</summary>
internal static class ChildRuns
{
    /// <summary>
    /// Asks for the child run (created once this state is committed). With <paramref name="inheritIncidentStrategy"/>
    /// (a workflow used as an activity, which Elsa runs inside its parent) the child runs under this run's incident
    /// strategy; else (Elsa's ExecuteWorkflow, a run of its own) under its definition's. <paramref name="definitionVersionId"/>
    /// names the exact version to run; without it the child runs the published version. <paramref name="bookmarkPayload"/>
    /// is kept on the wait's bookmark (and so in the journal's Suspended entry).
    /// </summary>
    public static ValueTask StartAsync(ActivityExecutionContext context, string definitionId, Dictionary<string, JsonNode?> input, string? correlationId, bool wait, Output<string> childIdOutput, bool inheritIncidentStrategy, string? definitionVersionId = null, JsonObject? bookmarkPayload = null)
    {
        var childId = $"{context.WorkflowInstanceId}-{context.ExecutionId}";
        context.Workflow.State.PendingChildRuns.Add(new ChildRunRequest
        {
            InstanceId = childId,
            DefinitionId = definitionId,
            DefinitionVersionId = definitionVersionId,
            CorrelationId = correlationId ?? context.Workflow.State.CorrelationId,
            Input = input,
            IncidentStrategy = inheritIncidentStrategy ? context.Workflow.IncidentStrategy : null,
        });
        context.Set(childIdOutput, childId);
        context.AddJournalData("childInstanceId", childId);
        if (!wait)
            return context.CompleteAsync();
        context.CreateBookmark(ExecuteWorkflow.BookmarkName, key: childId, payload: bookmarkPayload);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// The child ended: fails when it did not finish successfully, else sets the output and completes, with the
    /// child's own outcomes (those its <c>Complete</c> gave) when <paramref name="withChildOutcomes"/> is set.
    /// </summary>
    public static ValueTask CompleteAsync(ActivityExecutionContext context, BookmarkResumption resumption, Action<JsonObject?> setOutput, bool withChildOutcomes)
    {
        var payload = resumption.Payload as JsonObject;
        var status = payload?["subStatus"]?.GetValue<string>();
        if (status is not null && status != nameof(WorkflowSubStatus.Finished))
            throw new ActivityFailureException($"Child run '{resumption.Bookmark.Key}' ended as {status}: {payload?["message"]?.GetValue<string>() ?? "see its journal"}.");
        setOutput(payload?["output"] as JsonObject);
        var outcomes = withChildOutcomes && payload?["outcomes"] is JsonArray list
            ? [.. list.Select(o => o?.GetValue<string>()).OfType<string>()]
            : Array.Empty<string>();
        return context.CompleteAsync(outcomes);
    }
}
