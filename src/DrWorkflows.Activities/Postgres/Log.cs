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

    [LoggerMessage(EventId = 2110, Level = LogLevel.Information, Message = "Restoring into the new database {Database} while the backup downloads: {Section} done after {Seconds:0.0} s")]
    public static partial void RestoreSectionDone(ILogger logger, string database, string section, double seconds);

    [LoggerMessage(EventId = 2111, Level = LogLevel.Information, Message = "Loading {Items} data item(s) into {Database} with {Processes} pg_restore process(es)")]
    public static partial void RestoreDataStarted(ILogger logger, string database, int items, int processes);

    [LoggerMessage(EventId = 2112, Level = LogLevel.Warning, Message = "Dropping the partly restored new database {Database} on {Server} after the restore failed")]
    public static partial void DroppingFailedRestore(ILogger logger, string database, PostgresServer server);

    [LoggerMessage(EventId = 2113, Level = LogLevel.Information, Message = "Loading table {Table} into {Database} with {Sessions} sessions at once (it holds most of the data)")]
    public static partial void RestoreSplitTableStarted(ILogger logger, string database, string table, int sessions);

    [LoggerMessage(EventId = 2114, Level = LogLevel.Information, Message = "Loaded {Rows} rows of table {Table} into {Database} with {Sessions} sessions")]
    public static partial void RestoreSplitTableDone(ILogger logger, string database, string table, long rows, int sessions);

    [LoggerMessage(EventId = 2115, Level = LogLevel.Warning, Message = "Backup set {Set} was not verified (nothing recorded; the next run tries again): {Reason}")]
    public static partial void VerificationNotDone(ILogger logger, Backups.BackupSet set, string reason);

    [LoggerMessage(EventId = 2116, Level = LogLevel.Information, Message = "Started throwaway verification container {Container} ({Image}) on {Endpoint}, PostgreSQL on 127.0.0.1:{Port}")]
    public static partial void ContainerStarted(ILogger logger, string container, string image, string endpoint, int port);

    [LoggerMessage(EventId = 2117, Level = LogLevel.Information, Message = "Removed throwaway verification container {Container}")]
    public static partial void ContainerRemoved(ILogger logger, string container);

    [LoggerMessage(EventId = 2118, Level = LogLevel.Warning, Message = "Could not remove throwaway verification container {Container} on {Endpoint}: {Error}")]
    public static partial void ContainerRemoveFailed(ILogger logger, string container, string endpoint, string error);

    [LoggerMessage(EventId = 2130, Level = LogLevel.Information, Message = "Restore of {Server} planned: {Databases} database(s) to restore, {Lost} lost; databases listed from the {ListedFrom}")]
    public static partial void ServerRestorePlanned(ILogger logger, string server, int databases, int lost, string listedFrom);

    [LoggerMessage(EventId = 2131, Level = LogLevel.Warning, Message = "Restore of database {Database} into {Server} failed; the other databases go on: {Reason}")]
    public static partial void ServerRestoreDatabaseFailed(ILogger logger, string database, PostgresServer server, string reason);
}
