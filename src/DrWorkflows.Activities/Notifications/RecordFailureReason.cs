using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.Notifications;

/// <summary>
/// Why an incident run stopped, as one step in front of its failure end: every step's failure port connects to it, and it
/// picks the reason of the connection that led to it (<see cref="ActivityExecutionContext.ScheduledBy"/>) from
/// <see cref="Reasons"/>, a JavaScript expression per source step and port evaluated in its own scope (variables,
/// <c>getOutputFrom</c>, inputs). A reason that cannot be computed never loses the failure: the step still completes
/// with the fallback text and the script's error, so the run goes on to the status page, the contact tree and the
/// post-mortem.
/// </summary>
/// <remarks>
/// It has many inbound connections from steps that may run in parallel branches: give it merge mode <c>Cascade</c>
/// (<c>customProperties.mergeMode</c>) so that it runs on each arrival instead of waiting for the other branches.
/// </remarks>
// SafeToRerun: it only computes a text and writes a variable.
[Activity("DrWorkflows", "Notifications", "Records why the run stopped: the reason given for the step and port that led here (Reasons, JavaScript per \"stepId:port\" or \"stepId\"), else the fallback text. A reason script that fails still completes the step, with the fallback and the script's error.", SafeToRerun = true)]
public sealed class RecordFailureReason : CodeActivity
{
    [Input(Description = "JSON object: keys \"<step id>:<port>\" (or \"<step id>\" for any port of that step), values JavaScript expressions that give the reason text, e.g. {\"restore:Failed\": \"'The restore failed: ' + getOutputFrom('restore', 'Error')\"}.", UIHint = InputUIHints.JsonEditor)]
    public Input<JsonObject>? Reasons { get; set; }

    [Input(Description = "Reason when no key matches the connection that led here. Default: Step '<display text or id>' ended <port>.")]
    public Input<string>? Fallback { get; set; }

    [Output(Description = "The reason (bind it to the variable the failure end reads, e.g. FailureReason).")]
    public Output<string> Reason { get; set; } = new();

    protected override ValueTask RunAsync(ActivityExecutionContext context)
    {
        var source = context.ScheduledBy;
        var fallback = context.Get(Fallback) is { Length: > 0 } given ? given : DefaultFallback(context, source);
        var (key, script) = Match(context.Get(Reasons), source);
        var reason = fallback;
        if (script is not null)
        {
            try
            {
                if (context.Evaluate(Core.Expressions.Expression.JavaScript(script), typeof(string)) is string { Length: > 0 } text)
                    reason = text;
            }
            catch (Exception e) when (!(e is OperationCanceledException && context.CancellationToken.IsCancellationRequested))
            {
                // The failure must not be lost for a broken reason: keep the fallback, say why the script failed.
                reason = $"{fallback} (the reason script '{key}' failed: {e.Message})";
                context.AddJournalData("reasonError", e.Message);
            }
        }

        context.Set(Reason, reason);
        context.AddJournalData("source", source?.ToJson());
        context.AddJournalData("reasonKey", key);
        return ValueTask.CompletedTask;
    }

    /// <summary>The expression for "<c>id:port</c>", else for "<c>id</c>"; (null, null) when neither is given.</summary>
    private static (string? Key, string? Script) Match(JsonObject? reasons, ScheduledBy? source)
    {
        if (reasons is null || source is null)
            return (null, null);
        foreach (var key in (string[])[$"{source.ActivityId}:{source.Port}", source.ActivityId])
        {
            var match = reasons.FirstOrDefault(p => string.Equals(p.Key, key, StringComparison.OrdinalIgnoreCase));
            if (match.Value is JsonValue value && value.TryGetValue<string>(out var script) && !string.IsNullOrWhiteSpace(script))
                return (match.Key, script);
        }

        return (null, null);
    }

    private static string DefaultFallback(ActivityExecutionContext context, ScheduledBy? source)
    {
        if (source is null)
            return "The run took its failure end (no step recorded as leading there)";
        var step = context.Workflow.Graph.FindActivity(source.ActivityId);
        // The text the designer shows on the node when one was given, else the id (the builder's Name is only the id capitalized).
        var name = step?.Metadata["displayText"] is JsonValue display && display.TryGetValue<string>(out var text) && text.Length > 0 ? text : source.ActivityId;
        return $"Step '{name}' ended {source.Port}";
    }
}
