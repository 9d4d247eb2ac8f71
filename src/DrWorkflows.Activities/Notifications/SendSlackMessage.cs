using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.Notifications;

// SafeToRerun: a repeat after a crash can at worst post the same update twice in the incident thread;
// holding recovery for an operator's decision would cost more than a duplicate message.
[Activity("DrWorkflows", "Notifications", "Posts a Slack message (text and optional Block Kit blocks), optionally as a reply in an incident thread.", SafeToRerun = true, Outcomes = [Outcomes.Done, FailedOutcome])]
public sealed class SendSlackMessage : NotificationActivity
{
    [Input(Description = "Channel id (C0123456789) or #name; default Notifications:Slack:DefaultChannel.")]
    public Input<string>? Channel { get; set; }

    [Input(Description = "Message text (Slack mrkdwn) with {{name}} placeholders; also the fallback text of the blocks.", UIHint = InputUIHints.MultiLine, Required = true)]
    public Input<string>? Text { get; set; }

    [Input(Description = "Block Kit blocks (a JSON array), optional.", UIHint = InputUIHints.JsonEditor)]
    public Input<JsonArray>? Blocks { get; set; }

    [Input(Description = "ts of the incident thread's first message: the message is posted as a reply in that thread. Empty to start a new thread.")]
    public Input<string>? ThreadTs { get; set; }

    [Output(Description = "ts of the posted message.")]
    public Output<string> MessageTs { get; set; } = new();

    [Output(Description = "ts of the thread: the given ThreadTs, or this message's ts when it started the thread. Store it in a variable and pass it to later updates.")]
    public Output<string> ThreadRootTs { get; set; } = new();

    [Output(Description = "The channel id Slack answered with (needed by UpdateSlackMessage).")]
    public Output<string> ChannelId { get; set; } = new();

    protected override async ValueTask SendAsync(ActivityExecutionContext context)
    {
        var message = await PostAsync(context, context.Get(Channel), Render(context, Text, TemplateEscaping.Slack), context.Get(Blocks), context.Get(ThreadTs));
        context.Set(MessageTs, message.Ts);
        context.Set(ThreadRootTs, message.ThreadRootTs);
        context.Set(ChannelId, message.Channel);
    }

    /// <summary>
    /// Posts <paramref name="text"/> (already rendered) to <paramref name="channel"/>, as a reply in <paramref name="thread"/>
    /// when one is given, and journals where it went (<c>slack</c>). Shared with <see cref="ReportIncidentProgress"/>.
    /// </summary>
    internal static async ValueTask<SlackMessage> PostAsync(ActivityExecutionContext context, string? channel, string text, JsonArray? blocks, string? thread)
    {
        var slack = context.GetRequiredService<ISlackClient>();
        var message = await slack.PostMessageAsync(channel ?? string.Empty, text, blocks, string.IsNullOrWhiteSpace(thread) ? null : thread, context.CancellationToken);
        context.AddJournalData("slack", new JsonObject { ["channel"] = message.Channel, ["ts"] = message.Ts, ["threadTs"] = message.ThreadRootTs });
        return message;
    }
}
