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
}
