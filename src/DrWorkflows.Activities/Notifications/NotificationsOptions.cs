namespace DrWorkflows.Activities.Notifications;

/// <summary>
/// Configuration section <c>Notifications</c>: one sub-section per channel plus the contact tree. A channel
/// without its credentials is simply not configured: its activities then complete with outcome
/// <c>Failed</c> (or fault when <c>FailureIsFatal</c> is set) and say which key to set.
/// Secrets come from the environment (e.g. <c>Notifications__Slack__BotToken</c>) or a secrets file.
/// </summary>
public sealed class NotificationsOptions
{
    public const string SectionName = "Notifications";

    public SlackOptions Slack { get; set; } = new();

    public EmailOptions Email { get; set; } = new();

    public StatuspageOptions StatusPage { get; set; } = new();

    public ContactTreeOptions Contacts { get; set; } = new();
}

/// <summary>Retry settings shared by the HTTP channels.</summary>
public abstract class NotificationChannelOptions
{
    /// <summary>Attempts per call, including the first, for rate limits, 5xx and network errors.</summary>
    public int MaxAttempts { get; set; } = 4;

    /// <summary>First retry delay when the service gave no Retry-After; doubled on each retry (with jitter).</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A Retry-After longer than this is not waited for: the call fails at once with a clear message.</summary>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Time limit of one HTTP call.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Slack Web API (section <c>Notifications:Slack</c>).</summary>
public sealed class SlackOptions : NotificationChannelOptions
{
    /// <summary>Bot token (<c>xoxb-…</c>) with the <c>chat:write</c> scope. Secret.</summary>
    public string? BotToken { get; set; }

    /// <summary>Signing secret of the Slack app, for verifying interactivity requests (approvals). Secret.</summary>
    public string? SigningSecret { get; set; }

    /// <summary>Channel used when an activity gives none (an id such as <c>C0123456789</c>, or <c>#name</c>).</summary>
    public string? DefaultChannel { get; set; }

    /// <summary>Web API base; overridable for tests.</summary>
    public string BaseUrl { get; set; } = "https://slack.com/api/";

    public bool IsConfigured => !string.IsNullOrWhiteSpace(BotToken);
}

/// <summary>SMTP with MailKit (section <c>Notifications:Email</c>).</summary>
public sealed class EmailOptions
{
    /// <summary>SMTP server host name. Email is not configured while this is empty.</summary>
    public string? Host { get; set; }

    public int Port { get; set; } = 587;

    /// <summary><c>StartTls</c> (default: plain connection upgraded, required), <c>SslOnConnect</c> (port 465), <c>Auto</c>, or <c>None</c>.</summary>
    public string Security { get; set; } = "StartTls";

    /// <summary>Login; no authentication when empty.</summary>
    public string? UserName { get; set; }

    /// <summary>Secret.</summary>
    public string? Password { get; set; }

    /// <summary>Sender address, e.g. <c>dr@example.com</c>.</summary>
    public string? From { get; set; }

    public string? FromName { get; set; } = "DrWorkflows";

    /// <summary>Recipients used when an activity gives none.</summary>
    public List<string> DefaultRecipients { get; set; } = [];

    /// <summary>
    /// SHA-256 (hex) of the server's certificate, to trust a relay with a self-signed certificate. When set, a
    /// certificate that fails normal validation is accepted only if it has this thumbprint.
    /// </summary>
    public string? ServerCertificateSha256 { get; set; }

    /// <summary>Attempts per message, including the first, for connection failures and 4xx (temporary) replies.</summary>
    public int MaxAttempts { get; set; } = 3;

    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Time limit of each SMTP command.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    public bool IsConfigured => !string.IsNullOrWhiteSpace(Host);
}

/// <summary>Atlassian Statuspage REST API v1 (section <c>Notifications:StatusPage</c>).</summary>
public sealed class StatuspageOptions : NotificationChannelOptions
{
    /// <summary>API key, sent as <c>Authorization: OAuth &lt;key&gt;</c>. Secret.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Page id (from the Statuspage API settings).</summary>
    public string? PageId { get; set; }

    /// <summary>API base; overridable for tests.</summary>
    public string BaseUrl { get; set; } = "https://api.statuspage.io/v1/";

    public bool IsConfigured => !string.IsNullOrWhiteSpace(ApiKey) && !string.IsNullOrWhiteSpace(PageId);
}
