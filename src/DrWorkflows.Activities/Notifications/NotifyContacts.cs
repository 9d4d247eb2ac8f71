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
        var tree = context.GetRequiredService<IContactTree>();
        var severity = IncidentSeverities.Parse(context.Get(Severity) ?? "SEV-1");
        var plan = tree.GetNotificationPlan(severity);
        var tierNumber = context.Get(Tier, 0);
        IReadOnlyList<ContactRecipient> recipients = plan.Recipients;
        if (tierNumber > 0)
        {
            var tier = tree.GetTier(tierNumber)
                ?? throw new NotificationException($"The contact tree has no tier {tierNumber} (it has {tree.Tiers.Count}).", NotificationChannels.Contacts, retryable: false) { Code = "notifications.no-tier" };
            recipients = [.. tier.People.Select(p => new ContactRecipient(p, tier.Roles.FirstOrDefault(r => tree.GetPeople(r).Contains(p)) ?? tier.Name))];
        }

        if (recipients.Count == 0)
            throw new NotificationException($"Nobody to notify for {severity.ToLabel()}{(tierNumber > 0 ? $" tier {tierNumber}" : string.Empty)}: add people to Notifications:Contacts:Roles.", NotificationChannels.Contacts, retryable: false) { Code = "notifications.no-contacts" };

        var channels = (context.Get(Channels) ?? ["Slack", "Email"]).Select(c => c.Trim().ToLowerInvariant()).ToHashSet();
        var subject = $"[{severity.ToLabel()}] {Render(context, Subject)}";
        var failures = new List<string>();
        string? threadRoot = context.Get(ThreadTs);

        if (channels.Contains(NotificationChannels.Slack))
        {
            try
            {
                var text = SlackText(subject, Render(context, Message, TemplateEscaping.Slack), plan, recipients);
                var channel = context.Get(SlackChannel) ?? plan.SlackChannel ?? string.Empty;
                var message = await context.GetRequiredService<ISlackClient>().PostMessageAsync(channel, text, null, string.IsNullOrWhiteSpace(threadRoot) ? null : threadRoot, context.CancellationToken);
                threadRoot = message.ThreadRootTs;
                context.AddJournalData("slack", new JsonObject { ["channel"] = message.Channel, ["ts"] = message.Ts, ["threadTs"] = message.ThreadRootTs });
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
                    var text = Render(context, Message);
                    var receipt = await context.GetRequiredService<IEmailSender>().SendAsync(
                        new EmailMessage
                        {
                            To = to.Count > 0 ? to : plan.EmailCc,
                            Cc = to.Count > 0 ? plan.EmailCc : [],
                            Subject = subject,
                            TextBody = EmailText(text, plan, recipients),
                            HtmlBody = EmailHtml(Render(context, Message, TemplateEscaping.Html), plan, recipients),
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

        var names = recipients.Select(r => r.Person.Name).ToList();
        context.AddJournalData("contacts", new JsonObject
        {
            ["severity"] = severity.ToLabel(),
            ["tier"] = tierNumber > 0 ? tierNumber : null,
            ["people"] = new JsonArray([.. recipients.Select(r => (JsonNode?)new JsonObject { ["name"] = r.Person.Name, ["role"] = r.Role })]),
        });
        context.Set(Notified, names);
        context.Set(ThreadRootTs, threadRoot);
        if (failures.Count > 0)
            throw new NotificationException(string.Join(" | ", failures), NotificationChannels.Contacts, retryable: false) { Code = "notifications.partial" };
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
