using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.Notifications;

// SafeToRerun: a repeat can at worst page the same people twice, which is better than holding recovery.
[Activity("DrWorkflows", "Notifications", "Notifies the contact tree for a severity (or one escalation tier): a Slack message mentioning each person, and an email to them.", SafeToRerun = true, Outcomes = [Outcomes.Done, FailedOutcome])]
public sealed class NotifyContacts : NotificationActivity
{
    [Input(Description = "Severity: SEV-1 (critical: everyone, war room) or SEV-2 (high: incident commander and operations lead).", Options = ["SEV-1", "SEV-2"], DefaultValue = "SEV-1", Required = true)]
    public Input<string>? Severity { get; set; }

    [Input(Description = "Notify only this escalation tier (1 = first) instead of the severity's roles; 0 or empty for the severity's roles.")]
    public Input<int>? Tier { get; set; }

    [Input(Description = "Subject (email) and headline (Slack) with {{name}} placeholders.", Required = true)]
    public Input<string>? Subject { get; set; }

    [Input(Description = "Message with {{name}} placeholders.", UIHint = InputUIHints.MultiLine, Required = true)]
    public Input<string>? Message { get; set; }

    [Input(Description = "Channels to use.", Options = ["Slack", "Email"], UIHint = InputUIHints.CheckList, DefaultValue = "Slack,Email")]
    public Input<List<string>>? Channels { get; set; }

    [Input(Description = "Slack channel; default the severity's channel, then Notifications:Slack:DefaultChannel.")]
    public Input<string>? SlackChannel { get; set; }

    [Input(Description = "ts of the incident thread to reply in; empty to start one.")]
    public Input<string>? ThreadTs { get; set; }

    [Output(Description = "Names of the people notified.")]
    public Output<List<string>> Notified { get; set; } = new();

    [Output(Description = "ts of the incident thread (the given ThreadTs or the new message's).")]
    public Output<string?> ThreadRootTs { get; set; } = new();

    protected override async ValueTask SendAsync(ActivityExecutionContext context)
    {
        var paged = await PageAsync(
            context,
            context.Get(Severity) ?? "SEV-1",
            context.Get(Tier, 0),
            Render(context, Subject),
            escaping => Render(context, Message, escaping),
            context.Get(Channels),
            context.Get(SlackChannel),
            context.Get(ThreadTs),
            slackJournalKey: "slack");
        context.Set(Notified, paged.Notified);
        context.Set(ThreadRootTs, paged.ThreadRootTs);
        paged.ThrowIfFailed();
    }

    /// <summary>What <see cref="PageAsync"/> did: who was paged, the thread and channel of its Slack message, and what failed (null when every channel worked).</summary>
    internal sealed record Paging(List<string> Notified, string? ThreadRootTs, string? SlackChannel, string? Failures)
    {
        public void ThrowIfFailed()
        {
            if (Failures is not null)
                throw new NotificationException(Failures, NotificationChannels.Contacts, retryable: false) { Code = "notifications.partial" };
        }
    }

    /// <summary>
    /// Pages the contact tree for <paramref name="severityText"/> (or one <paramref name="tierNumber"/>): a Slack message
    /// mentioning each person (as a reply in <paramref name="threadTs"/> when given, journaled under
    /// <paramref name="slackJournalKey"/>) and an email to them, each tried whatever happened to the other; journals who
    /// was paged (<c>contacts</c>). <paramref name="message"/> renders the message for an escaping. Throws only when
    /// nobody can be paged (an unknown severity or tier, an empty tree); a failed channel is in the result. Shared with
    /// <see cref="OpenIncident"/>.
    /// </summary>
    internal static async ValueTask<Paging> PageAsync(
        ActivityExecutionContext context,
        string severityText,
        int tierNumber,
        string renderedSubject,
        Func<TemplateEscaping, string> message,
        List<string>? channelNames,
        string? slackChannel,
        string? threadTs,
        string slackJournalKey)
    {
        var tree = context.GetRequiredService<IContactTree>();
        var severity = IncidentSeverities.Parse(severityText);
        var plan = tree.GetNotificationPlan(severity);
        IReadOnlyList<ContactRecipient> recipients = plan.Recipients;
        if (tierNumber > 0)
        {
            var tier = tree.GetTier(tierNumber)
                ?? throw new NotificationException($"The contact tree has no tier {tierNumber} (it has {tree.Tiers.Count}).", NotificationChannels.Contacts, retryable: false) { Code = "notifications.no-tier" };
            recipients = [.. tier.People.Select(p => new ContactRecipient(p, tier.Roles.FirstOrDefault(r => tree.GetPeople(r).Contains(p)) ?? tier.Name))];
        }

        if (recipients.Count == 0)
            throw new NotificationException($"Nobody to notify for {severity.ToLabel()}{(tierNumber > 0 ? $" tier {tierNumber}" : string.Empty)}: add people to Notifications:Contacts:Roles.", NotificationChannels.Contacts, retryable: false) { Code = "notifications.no-contacts" };

        var channels = (channelNames ?? ["Slack", "Email"]).Select(c => c.Trim().ToLowerInvariant()).ToHashSet();
        var subject = $"[{severity.ToLabel()}] {renderedSubject}";
        var failures = new List<string>();
        string? threadRoot = threadTs;
        string? postedChannel = null;

        if (channels.Contains(NotificationChannels.Slack))
        {
            try
            {
                var text = SlackText(subject, message(TemplateEscaping.Slack), plan, recipients);
                var channel = slackChannel ?? plan.SlackChannel ?? string.Empty;
                var posted = await context.GetRequiredService<ISlackClient>().PostMessageAsync(channel, text, null, string.IsNullOrWhiteSpace(threadRoot) ? null : threadRoot, context.CancellationToken);
                threadRoot = posted.ThreadRootTs;
                postedChannel = posted.Channel;
                context.AddJournalData(slackJournalKey, new JsonObject { ["channel"] = posted.Channel, ["ts"] = posted.Ts, ["threadTs"] = posted.ThreadRootTs });
            }
            catch (NotificationException e)
            {
                failures.Add(e.Message);
            }
        }

        if (channels.Contains(NotificationChannels.Email))
        {
            var to = recipients.Select(r => r.Person.Email).Where(e => !string.IsNullOrWhiteSpace(e)).Select(e => e!).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            if (to.Count > 0 || plan.EmailCc.Count > 0)
            {
                try
                {
                    var receipt = await context.GetRequiredService<IEmailSender>().SendAsync(
                        new EmailMessage
                        {
                            To = to.Count > 0 ? to : plan.EmailCc,
                            Cc = to.Count > 0 ? plan.EmailCc : [],
                            Subject = subject,
                            TextBody = EmailText(message(TemplateEscaping.None), plan, recipients),
                            HtmlBody = EmailHtml(message(TemplateEscaping.Html), plan, recipients),
                            MessageId = $"{context.ExecutionId}.{context.WorkflowInstanceId}@drworkflows",
                        },
                        context.CancellationToken);
                    context.AddJournalData("email", new JsonObject { ["messageId"] = receipt.MessageId, ["recipients"] = receipt.Recipients.Count });
                }
                catch (NotificationException e)
                {
                    failures.Add(e.Message);
                }
            }
        }

        context.AddJournalData("contacts", new JsonObject
        {
            ["severity"] = severity.ToLabel(),
            ["tier"] = tierNumber > 0 ? tierNumber : null,
            ["people"] = new JsonArray([.. recipients.Select(r => (JsonNode?)new JsonObject { ["name"] = r.Person.Name, ["role"] = r.Role })]),
        });
        return new Paging([.. recipients.Select(r => r.Person.Name)], threadRoot, postedChannel, failures.Count > 0 ? string.Join(" | ", failures) : null);
    }

    private static string SlackText(string subject, string message, SeverityNotificationPlan plan, IReadOnlyList<ContactRecipient> recipients)
    {
        var text = new StringBuilder().Append('*').Append(Slack(subject)).Append("*\n").Append(message).Append("\n\n");
        if (plan.Response is { Length: > 0 } response)
            text.Append('_').Append(Slack(response)).Append("_\n");
        text.Append("Paging: ");
        text.AppendJoin(", ", recipients.Select(r =>
            (string.IsNullOrWhiteSpace(r.Person.SlackUserId) ? Slack(r.Person.Name) : $"<@{r.Person.SlackUserId}>") + $" ({Words(r.Role)})"));
        return text.ToString();
    }

    private static string EmailText(string message, SeverityNotificationPlan plan, IReadOnlyList<ContactRecipient> recipients)
    {
        var text = new StringBuilder(message).Append("\n\n");
        if (plan.Response is { Length: > 0 } response)
            text.Append(response).Append('\n');
        text.Append("Notified:\n");
        foreach (var r in recipients)
            text.Append("- ").Append(r.Person.Name).Append(" (").Append(Words(r.Role)).Append(')').Append(r.Person.Phone is { Length: > 0 } phone ? ", " + phone : string.Empty).Append('\n');
        return text.ToString();
    }

    private static string EmailHtml(string message, SeverityNotificationPlan plan, IReadOnlyList<ContactRecipient> recipients)
    {
        var html = new StringBuilder("<p>").Append(message.Replace("\n", "<br>", StringComparison.Ordinal)).Append("</p>");
        if (plan.Response is { Length: > 0 } response)
            html.Append("<p><em>").Append(WebUtility.HtmlEncode(response)).Append("</em></p>");
        html.Append("<p>Notified:</p><ul>");
        foreach (var r in recipients)
            html.Append("<li>").Append(WebUtility.HtmlEncode($"{r.Person.Name} ({Words(r.Role)})")).Append(r.Person.Phone is { Length: > 0 } phone ? ", " + WebUtility.HtmlEncode(phone) : string.Empty).Append("</li>");
        return html.Append("</ul>").ToString();
    }

    private static string Slack(string text) => NotificationTemplate.Escape(text, TemplateEscaping.Slack);

    private static string Words(string role) => ContactRoles.DisplayName(role);
}
