using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Notifications;

/// <summary>Something on-call must act on that no workflow step will carry any further (a report that could not be published).</summary>
public sealed record OnCallPage(string Subject, string Text)
{
    /// <summary>Identifies the page in the email's Message-ID (a repeat of the same page is recognisable).</summary>
    public string? Key { get; init; }
}

/// <summary>Who was reached, and through which channels.</summary>
public sealed record OnCallPageReceipt(IReadOnlyList<string> Channels, IReadOnlyList<string> People, IReadOnlyList<string> Failures);

/// <summary>
/// Pages the first tier of the contact tree (the incident commander by default), the way the server's incident
/// alerts do: a Slack message in <c>Notifications:Slack:DefaultChannel</c> mentioning them, and an email to them
/// (or to <c>Notifications:Email:DefaultRecipients</c> when tier 1 has no address).
/// </summary>
public interface IOnCallPager
{
    /// <summary>Sends the page on every configured channel; throws <see cref="NotificationException"/> when none delivered it.</summary>
    Task<OnCallPageReceipt> PageAsync(OnCallPage page, CancellationToken cancellationToken);
}

internal sealed class OnCallPager(
    IOptions<NotificationsOptions> options,
    IContactTree contacts,
    ISlackClient slack,
    IEmailSender email,
    ILogger<OnCallPager> logger) : IOnCallPager
{
    public async Task<OnCallPageReceipt> PageAsync(OnCallPage page, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(page);
        var settings = options.Value;
        var people = contacts.GetTier(1)?.People ?? [];
        var delivered = new List<string>();
        var failures = new List<string>();

        if (settings.Slack.IsConfigured && !string.IsNullOrWhiteSpace(settings.Slack.DefaultChannel))
        {
            var mentions = people.Select(p => string.IsNullOrWhiteSpace(p.SlackUserId) ? NotificationTemplate.Escape(p.Name, TemplateEscaping.Slack) : $"<@{p.SlackUserId}>").ToList();
            var text = $":rotating_light: *{NotificationTemplate.Escape(page.Subject, TemplateEscaping.Slack)}*\n{NotificationTemplate.Escape(page.Text, TemplateEscaping.Slack)}"
                + (mentions.Count > 0 ? "\nOn call: " + string.Join(", ", mentions) : string.Empty);
            try
            {
                await slack.PostMessageAsync(settings.Slack.DefaultChannel, text, null, null, cancellationToken);
                delivered.Add(NotificationChannels.Slack);
            }
            catch (NotificationException e)
            {
                failures.Add(e.Message);
            }
        }

        var to = people.Select(p => p.Email).OfType<string>().Where(e => e.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        if (to.Count == 0)
            to = settings.Email.DefaultRecipients;
        if (!string.IsNullOrWhiteSpace(settings.Email.Host) && to.Count > 0)
        {
            try
            {
                await email.SendAsync(new EmailMessage
                {
                    To = to,
                    Subject = $"[DrWorkflows] {page.Subject}",
                    TextBody = page.Text + "\n",
                    HtmlBody = "<pre>" + WebUtility.HtmlEncode(page.Text) + "</pre>",
                    MessageId = page.Key is null ? null : $"page.{page.Key}@drworkflows",
                }, cancellationToken);
                delivered.Add(NotificationChannels.Email);
            }
            catch (NotificationException e)
            {
                failures.Add(e.Message);
            }
        }

        if (delivered.Count == 0)
        {
            var reason = failures.Count > 0 ? string.Join(" | ", failures) : "neither Slack (Notifications:Slack:BotToken and DefaultChannel) nor email (Notifications:Email:Host and a recipient) is configured";
            Log.PageFailed(logger, page.Subject, reason);
            throw new NotificationException($"On-call could not be paged: {reason}.", NotificationChannels.Contacts, retryable: false) { Code = "notifications.page-failed" };
        }

        var names = people.Select(p => p.Name).ToList();
        Log.Paged(logger, page.Subject, string.Join(", ", delivered), string.Join(", ", names));
        return new OnCallPageReceipt(delivered, names, failures);
    }
}
