using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.DockerConfig;

internal static partial class Log
{
    [LoggerMessage(EventId = 2850, Level = LogLevel.Information, Message = "Docker configuration of {Source} committed to git ({Commit}) with {Redacted} secret value(s) removed")]
    public static partial void Committed(ILogger logger, string source, string commit, int redacted);

    [LoggerMessage(EventId = 2851, Level = LogLevel.Information, Message = "Docker configuration of {Source} unchanged since set {SetId}: nothing backed up")]
    public static partial void Unchanged(ILogger logger, string source, string setId);

    [LoggerMessage(EventId = 2852, Level = LogLevel.Information, Message = "Docker configuration set {SetId} restored into {Directory}: {Files} file(s)")]
    public static partial void Restored(ILogger logger, string setId, string directory, int files);
}
