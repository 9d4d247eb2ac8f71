using Microsoft.Extensions.Logging;

namespace DrWorkflows.Persistence;

/// <summary>Persistence log messages (event ids 4000-4099). Connection strings and passwords are never logged.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 4000, Level = LogLevel.Information, Message = "Applied {Store} schema migration {Version} ({Name}) in {ElapsedMs} ms")]
    public static partial void MigrationApplied(ILogger logger, string store, int version, string name, long elapsedMs);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "{Store} store ready at {Location}, schema version {Version}")]
    public static partial void StoreReady(ILogger logger, string store, string location, int version);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Waiting for another node to finish migrating PostgreSQL schema {Schema}")]
    public static partial void WaitingForMigrationLock(ILogger logger, string schema);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Debug, Message = "Commit of workflow instance {InstanceId} lost a race: expected revision {Revision}")]
    public static partial void CommitConflict(ILogger logger, string instanceId, long revision);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Error, Message = "{Message}")]
    public static partial void StoreUnavailable(ILogger logger, string message);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Debug, Message = "SQLite write batch of {Count} operations committed in {ElapsedMs} ms")]
    public static partial void WriteBatch(ILogger logger, int count, double elapsedMs);
}
