using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Notifications;

/// <summary>
/// Notification log events: 3000-3099 general, email and status page; 3200-3299 Slack. Tokens, passwords and
/// API keys are never arguments of these messages.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Warning, Message = "{Channel} call failed on attempt {Attempt}, retrying in {Delay}: {Reason}")]
    public static partial void NotificationRetrying(ILogger logger, string channel, int attempt, TimeSpan delay, string? reason);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Notification by {Activity} failed and the workflow goes on (FailureIsFatal is false): {Error}")]
    public static partial void NotificationFailedNonFatal(ILogger logger, string activity, string error);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Information, Message = "Email {MessageId} sent to {RecipientCount} recipients through {Host}:{Port}")]
    public static partial void EmailSent(ILogger logger, string messageId, int recipientCount, string host, int port);

    [LoggerMessage(EventId = 3020, Level = LogLevel.Information, Message = "Status page incident {IncidentId} {Action} (status {Status})")]
    public static partial void StatusPageIncident(ILogger logger, string incidentId, string action, string status);

    [LoggerMessage(EventId = 3021, Level = LogLevel.Information, Message = "Status page component {ComponentId} set to {Status}")]
    public static partial void StatusPageComponent(ILogger logger, string componentId, string status);

    [LoggerMessage(EventId = 3030, Level = LogLevel.Warning, Message = "Template placeholders without a value: {Placeholders}")]
    public static partial void TemplateMissingValues(ILogger logger, string placeholders);

    [LoggerMessage(EventId = 3200, Level = LogLevel.Information, Message = "Slack {Method} in {Channel}: ts {Ts}")]
    public static partial void SlackPosted(ILogger logger, string method, string channel, string ts);

    [LoggerMessage(EventId = 3201, Level = LogLevel.Warning, Message = "Slack {Method} rate limited; Slack asked to wait {RetryAfter}")]
    public static partial void SlackRateLimited(ILogger logger, string method, TimeSpan retryAfter);

    [LoggerMessage(EventId = 3040, Level = LogLevel.Warning, Message = "Paged on-call ({Channels}; {People}): {Subject}")]
    public static partial void Paged(ILogger logger, string subject, string channels, string people);

    [LoggerMessage(EventId = 3041, Level = LogLevel.Error, Message = "On-call could not be paged about '{Subject}': {Reason}")]
    public static partial void PageFailed(ILogger logger, string subject, string reason);
}
