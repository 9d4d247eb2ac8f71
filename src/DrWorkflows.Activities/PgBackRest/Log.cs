using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.PgBackRest;

internal static partial class Log
{
    [LoggerMessage(EventId = 2950, Level = LogLevel.Information, Message = "Restarting container {Container}: archive_mode or wal_level changed")]
    public static partial void Restarting(ILogger logger, string container);

    [LoggerMessage(EventId = 2951, Level = LogLevel.Information, Message = "WAL archiving on for container {Container}, stanza {Stanza}: {Changes} setting(s) changed, restarted: {Restarted}")]
    public static partial void ArchivingEnabled(ILogger logger, string container, string stanza, int changes, bool restarted);

    [LoggerMessage(EventId = 2952, Level = LogLevel.Information, Message = "pgBackRest {Type} backup of container {Container}, stanza {Stanza}, into repository {Repository}")]
    public static partial void BackupStarting(ILogger logger, string container, string stanza, string type, int repository);

    [LoggerMessage(EventId = 2953, Level = LogLevel.Information, Message = "Restoring stanza {Stanza} from backup {Backup} of repository {Repository} to {Target} into the new volume {Volume}")]
    public static partial void Restoring(ILogger logger, string stanza, string backup, int repository, string target, string volume);

    [LoggerMessage(EventId = 2954, Level = LogLevel.Information, Message = "Restored server {Container} on port {Port} out of recovery; last commit replayed {LastCommit}; {Databases} database(s) read in full")]
    public static partial void Restored(ILogger logger, string container, int port, DateTimeOffset? lastCommit, int databases);

    [LoggerMessage(EventId = 2955, Level = LogLevel.Warning, Message = "Could not remove {Name}: {Reason}")]
    public static partial void RemoveFailed(ILogger logger, string name, string reason);

    [LoggerMessage(EventId = 2956, Level = LogLevel.Warning, Message = "The WAL archiving of {Component} (container {Container}) could not be measured: {Reason}")]
    public static partial void ArchiveUnreadable(ILogger logger, string component, string container, string reason);

    [LoggerMessage(EventId = 2957, Level = LogLevel.Information, Message = "Verification of stanza {Stanza}, repository {Repository}, backup {Backup}: succeeded {Succeeded} ({Outcome})")]
    public static partial void Verified(ILogger logger, string stanza, int repository, string backup, bool succeeded, string outcome);

    [LoggerMessage(EventId = 2961, Level = LogLevel.Information, Message = "pgBackRest {Type} backup of container {Container}, stanza {Stanza}: {Taken} new backup(s) listed by info, {Expired} expired by retention")]
    public static partial void BackupTaken(ILogger logger, string container, string stanza, string type, int taken, int expired);
}
