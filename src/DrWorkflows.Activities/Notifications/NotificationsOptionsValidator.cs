using Microsoft.Extensions.Options;
using MimeKit;

namespace DrWorkflows.Activities.Notifications;

/// <summary>Checks what is configured (unconfigured channels are allowed) and the contact tree's consistency.</summary>
internal sealed class NotificationsOptionsValidator : IValidateOptions<NotificationsOptions>
{
    public ValidateOptionsResult Validate(string? name, NotificationsOptions options)
    {
        var failures = new List<string>();
        ValidateSlack(options.Slack, failures);
        ValidateEmail(options.Email, failures);
        ValidateStatusPage(options.StatusPage, failures);
        ValidateContacts(options.Contacts, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateSlack(SlackOptions slack, List<string> failures)
    {
        ValidateHttp("Notifications:Slack", slack, slack.BaseUrl, failures);
        if (slack.IsConfigured && !slack.BotToken!.StartsWith("xox", StringComparison.Ordinal))
            failures.Add("Notifications:Slack:BotToken does not look like a Slack token (xoxb-…).");
    }

    private static void ValidateStatusPage(StatuspageOptions page, List<string> failures)
    {
        ValidateHttp("Notifications:StatusPage", page, page.BaseUrl, failures);
        if (string.IsNullOrWhiteSpace(page.ApiKey) != string.IsNullOrWhiteSpace(page.PageId))
            failures.Add("Notifications:StatusPage needs both ApiKey and PageId (or neither).");
    }

    private static void ValidateHttp(string section, NotificationChannelOptions options, string baseUrl, List<string> failures)
    {
        if (!Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http"))
            failures.Add($"{section}:BaseUrl '{baseUrl}' is not an absolute http(s) URL.");
        if (options.MaxAttempts is < 1 or > 10)
            failures.Add($"{section}:MaxAttempts must be between 1 and 10.");
        if (options.RetryDelay < TimeSpan.Zero || options.MaxRetryAfter < TimeSpan.Zero || options.RequestTimeout <= TimeSpan.Zero)
            failures.Add($"{section}: RetryDelay and MaxRetryAfter must not be negative, RequestTimeout must be positive.");
    }

    private static void ValidateEmail(EmailOptions email, List<string> failures)
    {
        if (!email.IsConfigured)
            return;
        if (!IsEmail(email.From))
            failures.Add("Notifications:Email:From must be a valid sender address when Notifications:Email:Host is set.");
        if (email.Port is < 1 or > 65535)
            failures.Add("Notifications:Email:Port must be between 1 and 65535.");
        var security = email.Security.Trim().ToUpperInvariant();
        if (security is not ("STARTTLS" or "SSLONCONNECT" or "TLS" or "AUTO" or "NONE"))
            failures.Add($"Notifications:Email:Security '{email.Security}' is not one of StartTls, SslOnConnect, Auto, None.");
        if (!string.IsNullOrEmpty(email.UserName) && string.IsNullOrEmpty(email.Password))
            failures.Add("Notifications:Email:Password is required when UserName is set (environment Notifications__Email__Password).");
        if (!string.IsNullOrEmpty(email.Password) && security is "NONE" or "AUTO")
            failures.Add("Notifications:Email:Security must be StartTls or SslOnConnect when a password is set: it would cross the network in clear text.");
        if (email.MaxAttempts is < 1 or > 10)
            failures.Add("Notifications:Email:MaxAttempts must be between 1 and 10.");
        if (email.Timeout <= TimeSpan.Zero || email.RetryDelay < TimeSpan.Zero)
            failures.Add("Notifications:Email:Timeout must be positive and RetryDelay not negative.");
        foreach (var recipient in email.DefaultRecipients.Where(r => !IsEmail(r)))
            failures.Add($"Notifications:Email:DefaultRecipients: '{recipient}' is not an email address.");
    }

    private static void ValidateContacts(ContactTreeOptions contacts, List<string> failures)
    {
        foreach (var (role, people) in contacts.Roles)
        {
            foreach (var person in people)
            {
                if (string.IsNullOrWhiteSpace(person.Name))
                    failures.Add($"Notifications:Contacts:Roles:{role}: every person needs a Name.");
                if (string.IsNullOrWhiteSpace(person.SlackUserId) && string.IsNullOrWhiteSpace(person.Email) && string.IsNullOrWhiteSpace(person.Phone))
                    failures.Add($"Notifications:Contacts:Roles:{role}: {person.Name} has no SlackUserId, Email or Phone.");
                if (!string.IsNullOrWhiteSpace(person.Email) && !IsEmail(person.Email))
                    failures.Add($"Notifications:Contacts:Roles:{role}: '{person.Email}' ({person.Name}) is not an email address.");
            }
        }

        bool Known(string role) => contacts.Roles.ContainsKey(role) || ContactRoles.All.Contains(role, StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < contacts.Tiers.Count; i++)
        {
            if (contacts.Tiers[i].Roles.Count == 0)
                failures.Add($"Notifications:Contacts:Tiers:{i}: a tier needs at least one role.");
            foreach (var role in contacts.Tiers[i].Roles.Where(r => !Known(r)))
                failures.Add($"Notifications:Contacts:Tiers:{i}: role '{role}' is not in Notifications:Contacts:Roles.");
        }

        foreach (var (severity, policy) in contacts.Severities)
        {
            if (!IncidentSeverities.TryParse(severity, out _))
                failures.Add($"Notifications:Contacts:Severities: '{severity}' is not a severity (SEV-1 or SEV-2).");
            foreach (var role in policy.Roles.Where(r => !Known(r)))
                failures.Add($"Notifications:Contacts:Severities:{severity}: role '{role}' is not in Notifications:Contacts:Roles.");
        }
    }

    private static bool IsEmail(string? text) =>
        MailboxAddress.TryParse(text, out var mailbox) && mailbox.Address.IndexOf('@', StringComparison.Ordinal) is > 0 and var at && at < mailbox.Address.Length - 1;
}
