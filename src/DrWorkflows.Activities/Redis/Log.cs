using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Redis;

internal static partial class Log
{
    [LoggerMessage(EventId = 2600, Level = LogLevel.Information, Message = "Redis {Server}: BGSAVE started")]
    public static partial void BackgroundSaveStarted(ILogger logger, string server);

    [LoggerMessage(EventId = 2601, Level = LogLevel.Information, Message = "Redis {Server}: BGSAVE finished in {Elapsed}")]
    public static partial void BackgroundSaveFinished(ILogger logger, string server, TimeSpan elapsed);

    [LoggerMessage(EventId = 2602, Level = LogLevel.Information, Message = "Redis {Server}: snapshot copied via {Source}, {Bytes} bytes, sha256 {Sha256}")]
    public static partial void SnapshotCopied(ILogger logger, string server, RedisDumpSource source, long bytes, string sha256);

    [LoggerMessage(EventId = 2603, Level = LogLevel.Warning, Message = "Redis {Server}: restoring {File} ({Bytes} bytes); the current data set is replaced")]
    public static partial void Restoring(ILogger logger, string server, string file, long bytes);

    [LoggerMessage(EventId = 2604, Level = LogLevel.Information, Message = "Redis {Server}: restore done, {Keys} keys loaded")]
    public static partial void Restored(ILogger logger, string server, long keys);

    [LoggerMessage(EventId = 2605, Level = LogLevel.Debug, Message = "Redis {Server} not ready yet: {Reason}")]
    public static partial void NotReadyYet(ILogger logger, string server, string reason);
}
