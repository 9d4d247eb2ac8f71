using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Drills;

internal static partial class Log
{
    [LoggerMessage(EventId = 3400, Level = LogLevel.Information, Message = "Recovery objectives checked for {Components} component(s): all met {AllMet}, {Missed} missed")]
    public static partial void ObjectivesChecked(ILogger logger, int components, bool allMet, int missed);

    [LoggerMessage(EventId = 3401, Level = LogLevel.Information, Message = "Restore rehearsal of {Component} ({Kind} {Source}) from set {SetId}: {Result}")]
    public static partial void Rehearsed(ILogger logger, string component, string kind, string source, string setId, string result);

    [LoggerMessage(EventId = 3402, Level = LogLevel.Warning, Message = "Restore rehearsal of {Component} ({Kind} {Source}) failed: {Reason}")]
    public static partial void RehearsalFailed(ILogger logger, string component, string kind, string source, string reason);

    [LoggerMessage(EventId = 3403, Level = LogLevel.Warning, Message = "Could not remove the drill directory {Directory}")]
    public static partial void CleanupFailed(ILogger logger, string directory, Exception exception);

    [LoggerMessage(EventId = 3404, Level = LogLevel.Warning, Message = "Objectives report: store {Store} could not list the {Kind} backups of {Source} ({Reason}); whether the RPO is held now is unknown")]
    public static partial void StoreUnreadable(ILogger logger, string store, string kind, string source, string reason);

    [LoggerMessage(EventId = 3405, Level = LogLevel.Information, Message = "Redis backups of {Source} verified: {Verified} set(s) passed, {Problems} problem(s)")]
    public static partial void RedisBackupsVerified(ILogger logger, string source, int verified, int problems);
}
