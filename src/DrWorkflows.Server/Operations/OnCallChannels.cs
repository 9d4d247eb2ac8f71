using DrWorkflows.Activities.Notifications;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Server.Operations;

/// <summary>
/// Where on-call is reached outside a run (incident alerts, alerts that find a failed run): the Slack channel and the
/// email recipients of section <c>IncidentAlerts</c>, the first tier of the contact tree, and links to a run.
/// </summary>
public sealed class OnCallChannels(IOptions<IncidentAlertOptions> options, IOptions<NotificationsOptions> notifications, IContactTree contacts)
{
    private IncidentAlertOptions Settings => options.Value;

    public bool SlackConfigured => notifications.Value.Slack.IsConfigured && SlackChannel is not null;

    public bool EmailConfigured => !string.IsNullOrWhiteSpace(notifications.Value.Email.Host) && EmailRecipients.Count > 0;

    /// <summary><c>IncidentAlerts:SlackChannel</c>, else <c>Notifications:Slack:DefaultChannel</c>.</summary>
    public string? SlackChannel => Settings.SlackChannel is { Length: > 0 } channel ? channel : notifications.Value.Slack.DefaultChannel is { Length: > 0 } fallback ? fallback : null;

    /// <summary><c>IncidentAlerts:EmailTo</c>, else the first tier's addresses, else <c>Notifications:Email:DefaultRecipients</c>.</summary>
    public IReadOnlyList<string> EmailRecipients =>
        Settings.EmailTo.Count > 0 ? Settings.EmailTo
        : contacts.GetTier(1)?.People.Select(p => p.Email).OfType<string>().Where(e => e.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase).ToList() is { Count: > 0 } tier ? tier
        : notifications.Value.Email.DefaultRecipients;

    /// <summary>The first tier of the contact tree as Slack mentions (or names without a Slack user id).</summary>
    public IReadOnlyList<string> SlackMentions =>
        contacts.GetTier(1)?.People.Select(p => string.IsNullOrWhiteSpace(p.SlackUserId) ? p.Name : $"<@{p.SlackUserId}>").ToList() ?? [];

    /// <summary>The run's page in the Studio: absolute with <c>IncidentAlerts:ServerUrl</c>, else a path on this server.</summary>
    public string RunLink(string instanceId) =>
        $"{(Settings.ServerUrl is { Length: > 0 } url ? url.TrimEnd('/') : string.Empty)}/studio/instances/{Uri.EscapeDataString(instanceId)}";
}
