using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.Notifications;

/// <summary>
/// The opening of an incident run, as one step: the severity (given or the default, normalised), the announcement in
/// Slack that starts the incident thread, the status page incident, and the contact tree paged in that thread. Each post
/// is tried whatever happened to the others (a Slack outage does not keep the status page closed nor the people
/// unpaged); the step is best effort like the three it combines.
/// </summary>
// SafeToRerun: a repeat after a crash adopts the status page incident this run opened (CreateStatusPageIncident's
// rule: no second public incident); at worst it posts the announcement again (a second thread, which the variables
// then point to) and pages the same people twice. Holding recovery for an operator's decision would cost more than a
// duplicate message (as for the three steps it combines).
[Activity("DrWorkflows", "Notifications", "Opens an incident: sets its severity, announces it in Slack (the incident thread), opens the status page incident (not in a rehearsal) and pages the contact tree in the thread. Done when every post succeeded; Failed (naming each channel and why) when any failed, after trying all.", SafeToRerun = true, Outcomes = [Outcomes.Done, FailedOutcome])]
public sealed class OpenIncident : StatusPageActivity
{
    [Input(Description = "Severity as given (e.g. the run's input): SEV-1 or SEV-2, also sev1, 1, critical, 2, high. Empty: the default severity.")]
    public Input<string>? Severity { get; set; }

    [Input(Description = "Severity when none is given.", Options = ["SEV-1", "SEV-2"], DefaultValue = "SEV-1")]
    public Input<string>? DefaultSeverity { get; set; }

    [Input(Description = "Slack channel id (C0123456789) or #name of the incident thread; default Notifications:Slack:DefaultChannel.", Category = "Slack")]
    public Input<string>? Channel { get; set; }

    [Input(Description = "The announcement that starts the incident thread (Slack mrkdwn) with {{name}} placeholders; {{severity}} is the normalised severity.", UIHint = InputUIHints.MultiLine, Required = true, Category = "Slack")]
    public Input<string>? Text { get; set; }

    [Input(Description = "Name of the status page incident with {{name}} placeholders, e.g. 'Database Restoration in Progress'.", Required = true, Category = "Status page")]
    public Input<string>? StatusPageName { get; set; }

    [Input(Description = "What customers read on the status page (status investigating), with {{name}} placeholders.", UIHint = InputUIHints.MultiLine, Category = "Status page")]
    public Input<string>? Body { get; set; }

    [Input(Description = "Subject (email) and headline (Slack) of the page to the contact tree, with {{name}} placeholders.", Required = true, Category = "Paging")]
    public Input<string>? PageSubject { get; set; }

    [Input(Description = "Message of the page to the contact tree (Slack reply in the thread and email), with {{name}} placeholders.", UIHint = InputUIHints.MultiLine, Required = true, Category = "Paging")]
    public Input<string>? PageMessage { get; set; }

    [Output(Description = "The normalised severity (SEV-1, SEV-2): store it in a variable for the later steps.")]
    public Output<string> IncidentSeverity { get; set; } = new();

    [Output(Description = "ts of the incident thread (the announcement; the page's message when the announcement failed). Empty when Slack failed.")]
    public Output<string> ThreadRootTs { get; set; } = new();

    [Output(Description = "The channel id of the incident thread, as Slack answered.")]
    public Output<string> ChannelId { get; set; } = new();

    [Output(Description = "The status page incident id (empty in a rehearsal or when the status page failed): store it for the update and resolve steps.")]
    public Output<string> IncidentId { get; set; } = new();

    [Output(Description = "Names of the people paged.")]
    public Output<List<string>> Notified { get; set; } = new();

    /// <summary>Status given to the listed components (as <see cref="CreateStatusPageIncident"/> does by default).</summary>
    private const string ComponentStatus = "major_outage";

    protected override async ValueTask SendAsync(ActivityExecutionContext context)
    {
        var severity = SeverityOf(context);
        context.Set(IncidentSeverity, severity);
        var posts = new ChannelPosts(context);

        SlackMessage? announced = null;
        await posts.TryAsync(NotificationChannels.Slack, "slack", "Slack announcement", async () =>
        {
            announced = await SendSlackMessage.PostAsync(context, context.Get(Channel), Render(context, Text, TemplateEscaping.Slack), blocks: null, thread: null);
            context.Set(ThreadRootTs, announced.ThreadRootTs);
            context.Set(ChannelId, announced.Channel);
            return true;
        });

        await posts.TryAsync(NotificationChannels.StatusPage, "statusPage", "status page incident", async () =>
        {
            var incident = await CreateIncidentAsync(context, StatusPageName, StatusPageValues.Investigating, impact: null, Body, ComponentStatus);
            context.Set(IncidentId, incident?.Id ?? string.Empty);
            return incident is not null; // null: a rehearsal, journaled and not posted
        });

        await posts.TryAsync(NotificationChannels.Contacts, "page", "page to the contact tree", async () =>
        {
            var paged = await NotifyContacts.PageAsync(
                context,
                severity,
                tierNumber: 0,
                Render(context, PageSubject),
                escaping => Render(context, PageMessage, escaping),
                channelNames: null,
                announced?.Channel ?? context.Get(Channel) ?? string.Empty,
                announced?.ThreadRootTs,
                slackJournalKey: "pageSlack");
            context.Set(Notified, paged.Notified);
            if (announced is null && paged.ThreadRootTs is { Length: > 0 } thread)
            {
                // No announcement: the page's message is the incident thread the updates reply in.
                context.Set(ThreadRootTs, thread);
                context.Set(ChannelId, paged.SlackChannel ?? string.Empty);
            }

            paged.ThrowIfFailed();
            return true;
        });

        // The error names what failed and why, and what was posted all the same.
        posts.ThrowIfAnyFailed("notifications.open-failed");
    }

    private protected override void AddTemplateValues(ActivityExecutionContext context, JsonObject values) =>
        values["severity"] = SeverityOf(context);

    /// <summary>The given severity, or the default, as SEV-1/SEV-2; a text that is no severity is kept upper-cased (the page then fails naming it).</summary>
    private string SeverityOf(ActivityExecutionContext context)
    {
        var given = context.Get(Severity);
        var text = string.IsNullOrWhiteSpace(given) ? context.Get(DefaultSeverity) ?? "SEV-1" : given;
        return IncidentSeverities.TryParse(text, out var severity) ? severity.ToLabel() : text.Trim().ToUpperInvariant();
    }
}
