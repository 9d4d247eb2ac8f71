using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Drills;

// The drill checklist's messages (3420-3429), in a file of their own so that other work on Log.cs merges cleanly.
internal static partial class Log
{
    [LoggerMessage(EventId = 3420, Level = LogLevel.Information, Message = "Drill readiness: ready, {Checked} item(s) checked")]
    public static partial void DrillReady(ILogger logger, int @checked);

    [LoggerMessage(EventId = 3421, Level = LogLevel.Error, Message = "Drill readiness FAILED: {Problems}")]
    public static partial void DrillNotReady(ILogger logger, string problems);

    [LoggerMessage(EventId = 3422, Level = LogLevel.Information, Message = "Drill channel test: {Delivered} of {Channels} channel(s) delivered ({Results})")]
    public static partial void ChannelsTested(ILogger logger, int delivered, int channels, string results);

    [LoggerMessage(EventId = 3423, Level = LogLevel.Warning, Message = "Drill channel test on {Channel} failed: {Reason}")]
    public static partial void ChannelTestFailed(ILogger logger, string channel, string reason);

    [LoggerMessage(EventId = 3424, Level = LogLevel.Information, Message = "Drill report archived as set {Set} ({Files} file(s)), read back and checked")]
    public static partial void ReportArchived(ILogger logger, string set, int files);
}
