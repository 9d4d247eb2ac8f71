using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Backups;

internal static partial class Log
{
    [LoggerMessage(EventId = 2240, Level = LogLevel.Information, Message = "Backup set {Kind}/{Source}/{SetId} completed in the {Location}: {Bytes} bytes")]
    public static partial void SetCompleted(ILogger logger, string kind, string source, string setId, string location, long bytes);

    [LoggerMessage(EventId = 2241, Level = LogLevel.Warning, Message = "Backup set {Kind}/{Source}/{SetId} was not completed; its files were removed from the {Location}")]
    public static partial void SetAbandoned(ILogger logger, string kind, string source, string setId, string location);

    [LoggerMessage(EventId = 2242, Level = LogLevel.Warning, Message = "Could not remove {Key} from the {Location}")]
    public static partial void CleanupFailed(ILogger logger, string key, string location, Exception exception);

    [LoggerMessage(EventId = 2243, Level = LogLevel.Warning, Message = "Skipping unreadable manifest {Key} in the {Location}: {Reason}")]
    public static partial void ManifestUnreadable(ILogger logger, string key, string location, string reason);

    [LoggerMessage(EventId = 2244, Level = LogLevel.Information, Message = "Retention in the {Location}: deleted backup set {Set} (completed {CompletedAt:o}, {Days} days kept for kind {Kind})")]
    public static partial void RetentionDeleted(ILogger logger, string location, string set, DateTimeOffset completedAt, int days, string kind);

    [LoggerMessage(EventId = 2245, Level = LogLevel.Information, Message = "Verification of backup set {Set} recorded: {Result}")]
    public static partial void VerificationRecorded(ILogger logger, BackupSet set, string result);

    [LoggerMessage(EventId = 2246, Level = LogLevel.Debug, Message = "Pipeline stage {Stage} started: {Command}")]
    public static partial void StageStarted(ILogger logger, string stage, string command);

    [LoggerMessage(EventId = 2247, Level = LogLevel.Warning, Message = "Pipeline stage {Stage} wrote to stderr: {Line}")]
    public static partial void StageStderr(ILogger logger, string stage, string line);

    [LoggerMessage(EventId = 2248, Level = LogLevel.Warning, Message = "Pipeline failed in stage {Stage}; other stages were stopped")]
    public static partial void PipelineFailed(ILogger logger, string stage, Exception exception);

    [LoggerMessage(EventId = 2249, Level = LogLevel.Warning, Message = "Backup set {Kind}/{Source}/{SetId}: store {Store} failed and was dropped, the other stores go on: {Error}")]
    public static partial void CopyFailed(ILogger logger, string kind, string source, string setId, string store, string error);

    [LoggerMessage(EventId = 2250, Level = LogLevel.Information, Message = "Backup set {Set} copied from store {From} to the offsite {Location} and read back there: {Bytes} bytes, every checksum matches")]
    public static partial void OffsiteCopied(ILogger logger, string set, string from, string location, long bytes);

    [LoggerMessage(EventId = 2251, Level = LogLevel.Error, Message = "Backup set {Set} could not be copied to the offsite {Location}: {Error}")]
    public static partial void OffsiteCopyFailed(ILogger logger, string set, string location, string error);

    [LoggerMessage(EventId = 2252, Level = LogLevel.Information, Message = "Retention in the {Location}: kept expired backup set {Set}: {Reason}")]
    public static partial void RetentionKeptLocked(ILogger logger, string location, string set, string reason);

    [LoggerMessage(EventId = 2253, Level = LogLevel.Information, Message = "Retention in the {Location}: deleted backup set {Set} (older than the newest {Count} sets kept for kind {Kind})")]
    public static partial void RetentionDeletedByCount(ILogger logger, string location, string set, int count, string kind);

    [LoggerMessage(EventId = 2254, Level = LogLevel.Warning, Message = "Backup set {Set} could not be verified: {Reason}")]
    public static partial void ArchiveSetNotVerified(ILogger logger, string set, string reason);
}
