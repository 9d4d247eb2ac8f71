using System.Globalization;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;
using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Notifications;

/// <summary>
/// Base of steps that report rather than recover (notifications, the post-mortem issue). Such a step must
/// never lose the workflow's progress nor block recovery: when it still fails after its service's retries,
/// it completes with outcome <see cref="FailedOutcome"/>, the error in its <see cref="Error"/> output and in
/// the journal, and the workflow goes on. Only with <see cref="FailureIsFatal"/> set, or when the activity says a
/// failure must not pass quietly (<see cref="IsFatal"/>), does the failure fault the step (an incident for an operator).
/// </summary>
public abstract class BestEffortActivity : CodeActivity
{
    public const string FailedOutcome = "Failed";

    [Input(Description = "When true, a failure that remains after retries faults the step (an incident). When false (default) the step completes with outcome Failed and the workflow goes on.", DefaultValue = false, Category = "Failure")]
    public Input<bool>? FailureIsFatal { get; set; }

    [Output(Description = "Why the step failed (outcome Failed); null when it succeeded.")]
    public Output<string?> Error { get; set; } = new();

    protected sealed override async ValueTask RunAsync(ActivityExecutionContext context)
    {
        try
        {
            await SendAsync(context);
        }
        catch (Exception e) when (!(e is OperationCanceledException && context.CancellationToken.IsCancellationRequested))
        {
            if (context.Get(FailureIsFatal, false) || IsFatal(e))
                throw;
            var logger = context.GetRequiredService<ILogger<BestEffortActivity>>();
            var activity = GetType().Name;
            var message = e.Message;
            Log.NotificationFailedNonFatal(logger, activity, message);
            context.AddJournalData("failure", new JsonObject
            {
                ["channel"] = (e as NotificationException)?.Channel ?? ChannelName,
                ["code"] = (e as Core.ActivityFailureException)?.Code,
                ["attempts"] = (e as NotificationException)?.Attempts,
                ["message"] = message,
            });
            context.Set(Error, message);
            await context.CompleteAsync(FailedOutcome);
        }
    }

    /// <summary>A failure nobody would hear of if the step completed <c>Failed</c>: it faults the step instead.</summary>
    protected virtual bool IsFatal(Exception exception) => false;

    /// <summary>Channel name journaled with a failure that is not a <see cref="NotificationException"/>.</summary>
    protected virtual string ChannelName => GetType().Name;

    /// <summary>Does the work; throws when it cannot.</summary>
    protected abstract ValueTask SendAsync(ActivityExecutionContext context);
}

/// <summary>
/// Base of the notify activities: a <see cref="BestEffortActivity"/> whose texts are templates with
/// <c>{{name}}</c> placeholders over <see cref="Values"/> (see <see cref="NotificationTemplate"/>).
/// </summary>
public abstract class NotificationActivity : BestEffortActivity
{
    [Input(Description = "Values for the {{name}} placeholders of the texts, as a JSON object (or a JavaScript expression returning one). instanceId, workflowName, correlationId and now are always available.", Category = "Template")]
    public Input<JsonObject>? Values { get; set; }

    /// <summary>Renders a template input with the activity's values; placeholders without a value are logged and journaled.</summary>
    protected string Render(ActivityExecutionContext context, Input<string>? template, TemplateEscaping escaping = TemplateEscaping.None, string? fallback = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        var text = context.Get(template) ?? fallback ?? string.Empty;
        var result = NotificationTemplate.Render(text, TemplateValues(context), escaping);
        if (result.Missing.Count > 0)
        {
            var missing = string.Join(", ", result.Missing);
            var logger = context.GetRequiredService<ILogger<NotificationActivity>>();
            Log.TemplateMissingValues(logger, missing);
            context.AddJournalData("templateMissing", new JsonArray([.. result.Missing.Select(m => (JsonNode?)JsonValue.Create(m))]));
        }

        return result.Text;
    }

    private JsonObject TemplateValues(ActivityExecutionContext context)
    {
        var values = new JsonObject
        {
            ["instanceId"] = context.WorkflowInstanceId,
            ["workflowName"] = context.Workflow.State.Name,
            ["correlationId"] = context.Workflow.State.CorrelationId,
            ["now"] = context.Clock.GetUtcNow().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture),
        };
        AddTemplateValues(context, values);
        if (context.Get(Values) is { } given)
        {
            foreach (var (key, value) in given)
                values[key] = value?.DeepClone();
        }

        return values;
    }

    /// <summary>Placeholders an activity fills itself (after the built-in ones; <see cref="Values"/> can override them).</summary>
    private protected virtual void AddTemplateValues(ActivityExecutionContext context, JsonObject values)
    {
    }
}
