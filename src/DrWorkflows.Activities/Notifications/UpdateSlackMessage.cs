using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.Notifications;

// SafeToRerun: replacing a message's content with the same content is idempotent.
[Activity("DrWorkflows", "Notifications", "Replaces the text and blocks of a Slack message posted earlier (e.g. a status line at the top of the incident thread).", SafeToRerun = true, Outcomes = [Outcomes.Done, FailedOutcome])]
public sealed class UpdateSlackMessage : NotificationActivity
{
    [Input(Description = "The channel id of the message (SendSlackMessage's ChannelId output).", Required = true)]
    public Input<string>? Channel { get; set; }

    [Input(Description = "ts of the message to update.", Required = true)]
    public Input<string>? MessageTs { get; set; }

    [Input(Description = "New text with {{name}} placeholders.", UIHint = InputUIHints.MultiLine, Required = true)]
    public Input<string>? Text { get; set; }

    [Input(Description = "New Block Kit blocks (a JSON array); none removes the blocks.", UIHint = InputUIHints.JsonEditor)]
    public Input<JsonArray>? Blocks { get; set; }

    protected override async ValueTask SendAsync(ActivityExecutionContext context)
    {
        var slack = context.GetRequiredService<ISlackClient>();
        var message = await slack.UpdateMessageAsync(
            context.Get(Channel) ?? string.Empty,
            context.Get(MessageTs) ?? string.Empty,
            Render(context, Text, TemplateEscaping.Slack),
            context.Get(Blocks),
            context.CancellationToken);
        context.AddJournalData("slack", new JsonObject { ["channel"] = message.Channel, ["ts"] = message.Ts, ["updated"] = true });
    }
}
