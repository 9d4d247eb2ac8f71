using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.Notifications;

/// <summary>
/// A progress report of an incident run, as one step: an update in the incident's Slack thread and, when a status is
/// given, an update of the status page incident. Each post is tried whatever happened to the other (a Slack outage does
/// not keep customers uninformed, nor the reverse); the step is best effort like the two it combines.
/// </summary>
// SafeToRerun: a repeat after a crash can at worst post the same thread update and the same status page update twice;
// holding recovery for an operator's decision would cost more than a duplicate message (as for the two steps it combines).
[Activity("DrWorkflows", "Notifications", "Reports progress of an incident: a reply in its Slack thread and, when a status is given, an update of its status page incident. Done when every post succeeded; Failed (naming the channel and why) when any failed, after trying both.", SafeToRerun = true, Outcomes = [Outcomes.Done, FailedOutcome])]
public sealed class ReportIncidentProgress : StatusPageActivity
{
    [Input(Description = "Slack channel id (C0123456789) or #name of the incident thread; default Notifications:Slack:DefaultChannel.")]
    public Input<string>? Channel { get; set; }

    [Input(Description = "ts of the incident thread's first message (the variable the announcing step filled): the update is a reply in that thread. Empty posts it on its own.")]
    public Input<string>? ThreadTs { get; set; }

    [Input(Description = "What the incident team reads in the thread (Slack mrkdwn) with {{name}} placeholders.", UIHint = InputUIHints.MultiLine, Required = true)]
    public Input<string>? Text { get; set; }

    [Input(Description = "New status of the status page incident. Empty: Slack only, the status page is not touched.", Options = ["", "investigating", "identified", "monitoring", "resolved"], Category = "Status page")]
    public Input<string>? Status { get; set; }

    [Input(Description = "What customers read on the status page, with {{name}} placeholders (used when a status is given).", UIHint = InputUIHints.MultiLine, Category = "Status page")]
    public Input<string>? Body { get; set; }

    [Input(Description = "The incident id CreateStatusPageIncident returned (used when a status is given).", Category = "Status page")]
    public Input<string>? IncidentId { get; set; }

    [Output(Description = "ts of the posted Slack update; empty when Slack failed.")]
    public Output<string> MessageTs { get; set; } = new();

    /// <summary>Status the listed components are given with an update (as <see cref="UpdateStatusPageIncident"/> does by default).</summary>
    private const string ComponentStatus = "major_outage";

    protected override async ValueTask SendAsync(ActivityExecutionContext context)
    {
        var posts = new ChannelPosts(context);
        await posts.TryAsync(NotificationChannels.Slack, "slack", "Slack update", async () =>
        {
            var message = await SendSlackMessage.PostAsync(context, context.Get(Channel), Render(context, Text, TemplateEscaping.Slack), blocks: null, context.Get(ThreadTs));
            context.Set(MessageTs, message.Ts);
            return true;
        });
        var status = context.Get(Status);
        if (!string.IsNullOrWhiteSpace(status))
            await posts.TryAsync(NotificationChannels.StatusPage, "statusPage", "status page update", () => PostUpdateAsync(context, context.Get(IncidentId), status, Body, ComponentStatus));

        // The error names what failed and why, and what was posted all the same.
        posts.ThrowIfAnyFailed("notifications.report-failed");
    }
}
