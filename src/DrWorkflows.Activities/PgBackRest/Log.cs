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

    [LoggerMessage(EventId = 2962, Level = LogLevel.Information, Message = "Writing RPO canaries into {Database} in container {Container}, one a second for {Seconds} s")]
    public static partial void CanariesWriting(ILogger logger, string container, string database, int seconds);

    [LoggerMessage(EventId = 2963, Level = LogLevel.Information, Message = "{Written} RPO canaries written in container {Container}; failure point {FailurePoint}, last archived WAL then {LastArchivedWal}")]
    public static partial void CanariesWritten(ILogger logger, string container, int written, DateTimeOffset? failurePoint, string lastArchivedWal);

    [LoggerMessage(EventId = 2964, Level = LogLevel.Information, Message = "RPO measured with canaries for container {Container}: {Seconds} s ({Counted} of {Written} canaries restored)")]
    public static partial void CanaryRpoMeasured(ILogger logger, string container, double seconds, int counted, int written);

    [LoggerMessage(EventId = 2965, Level = LogLevel.Information, Message = "Restored copy removed after the switch: container {Container} gone {ContainerGone}, volume {Volume} gone {VolumeGone}")]
    public static partial void RestoredCopyRemoved(ILogger logger, string container, bool containerGone, string volume, bool volumeGone);
}
