using DrWorkflows.Core;

namespace DrWorkflows.Activities.Notifications;

/// <summary>Channel names used in errors, logs and the journal.</summary>
public static class NotificationChannels
{
    public const string Slack = "slack";
    public const string Email = "email";
    public const string StatusPage = "statuspage";
    public const string Contacts = "contacts";
}

/// <summary>A notification could not be delivered. The message names the channel, the call, the reason and what to do.</summary>
public sealed class NotificationException(string message, string channel, bool retryable, Exception? innerException = null)
    : ActivityFailureException(message, retryable, innerException)
{
    /// <summary>See <see cref="NotificationChannels"/>.</summary>
    public string Channel { get; } = channel;

    /// <summary>The service's own error code (Slack's <c>error</c>, an SMTP status, an HTTP status).</summary>
    public string? ServiceError { get; init; }

    /// <summary>How long the service asked to wait (HTTP 429 Retry-After).</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>How many attempts were made before giving up (set on the final error).</summary>
    public int Attempts { get; init; } = 1;
}
