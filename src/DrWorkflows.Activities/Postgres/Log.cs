using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Postgres;

internal static partial class Log
{
    [LoggerMessage(EventId = 2100, Level = LogLevel.Information, Message = "{Server} is ready (version {Version}) after {Attempts} attempt(s)")]
    public static partial void Ready(ILogger logger, PostgresServer server, string version, int attempts);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Debug, Message = "{Server} not ready (attempt {Attempt}): {Reason}")]
    public static partial void NotReady(ILogger logger, PostgresServer server, int attempt, string reason);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "Backing up database {Database} on {Server} to the {Location} as set {SetId}")]
    public static partial void BackupStarting(ILogger logger, string database, PostgresServer server, string location, string setId);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Information, Message = "Backup of {Database} done: {Bytes} bytes stored in {Seconds:0.0} s")]
    public static partial void BackupDone(ILogger logger, string database, long bytes, double seconds);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Information, Message = "Restoring backup set {Set} into database {Database} on {Server} ({Mode}, {Jobs} jobs)")]
    public static partial void RestoreStarting(ILogger logger, Backups.BackupSet set, string database, PostgresServer server, RestoreMode mode, int jobs);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Information, Message = "Restore of {Database} done in {Seconds:0.0} s")]
    public static partial void RestoreDone(ILogger logger, string database, double seconds);

    [LoggerMessage(EventId = 2106, Level = LogLevel.Warning, Message = "Integrity problem in {Database}: {Problem}")]
    public static partial void IntegrityProblem(ILogger logger, string database, string problem);

    [LoggerMessage(EventId = 2107, Level = LogLevel.Information, Message = "Verification of backup set {Set}: {Result}")]
    public static partial void VerificationResult(ILogger logger, Backups.BackupSet set, string result);

    [LoggerMessage(EventId = 2108, Level = LogLevel.Warning, Message = "Could not drop throwaway database {Database} on {Server}")]
    public static partial void ThrowawayDropFailed(ILogger logger, string database, string server, Exception exception);

    [LoggerMessage(EventId = 2109, Level = LogLevel.Warning, Message = "Restore of globals into {Server}: {Count} statement(s) failed (for example existing roles): {First}")]
    public static partial void GlobalsErrors(ILogger logger, string server, int count, string first);
}
