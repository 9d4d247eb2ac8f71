using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Monitoring;

internal static partial class Log
{
    [LoggerMessage(EventId = 2800, Level = LogLevel.Information, Message = "Monitoring backup: stopped container {Container} for a consistent archive")]
    public static partial void Stopped(ILogger logger, string container);

    [LoggerMessage(EventId = 2801, Level = LogLevel.Information, Message = "Monitoring: started container {Container} again")]
    public static partial void Started(ILogger logger, string container);

    [LoggerMessage(EventId = 2802, Level = LogLevel.Error, Message = "Monitoring: container {Container} could not be started again: {Error}")]
    public static partial void StartFailed(ILogger logger, string container, string error);

    [LoggerMessage(EventId = 2803, Level = LogLevel.Information, Message = "Monitoring: volume {Volume} restored from set {Set} into {Target}")]
    public static partial void VolumeRestored(ILogger logger, string volume, string set, string target);
}
