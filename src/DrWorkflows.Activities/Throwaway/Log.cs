using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Throwaway;

internal static partial class Log
{
    [LoggerMessage(EventId = 3500, Level = LogLevel.Debug, Message = "Recorded throwaway {Kind} {Name} ({Where}) for {Owner}")]
    public static partial void Recorded(ILogger logger, string kind, string name, string where, string owner);

    [LoggerMessage(EventId = 3501, Level = LogLevel.Debug, Message = "Released throwaway {Kind} {Name}")]
    public static partial void Released(ILogger logger, string kind, string name);

    [LoggerMessage(EventId = 3502, Level = LogLevel.Warning, Message = "Could not remove throwaway {Kind} {Name} ({Where}): {Error}. The janitor removes it once its step has ended")]
    public static partial void RemovalFailed(ILogger logger, string kind, string name, string where, string error);

    [LoggerMessage(EventId = 3503, Level = LogLevel.Warning, Message = "Could not record the end of throwaway {Kind} {Name} in the store ({Error}); the janitor closes it later")]
    public static partial void ReleaseNotRecorded(ILogger logger, string kind, string name, string error);

    [LoggerMessage(EventId = 3504, Level = LogLevel.Warning, Message = "Janitor removed throwaway {Kind} {Name} ({Where}) left by {Owner}: {Reason}")]
    public static partial void Removed(ILogger logger, string kind, string name, string where, string owner, string reason);

    [LoggerMessage(EventId = 3505, Level = LogLevel.Error, Message = "Janitor could not remove throwaway {Kind} {Name} ({Where}) left by {Owner} ({Reason}): {Error} (failed {Failures} time(s); it tries again next pass)")]
    public static partial void JanitorRemovalFailed(ILogger logger, string kind, string name, string where, string owner, string reason, string error, int failures);

    [LoggerMessage(EventId = 3506, Message = "Janitor pass: {Examined} live throwaway resource(s), {Removed} removed, {Failed} failed, {Owned} still owned, {Elsewhere} for other nodes")]
    public static partial void Pass(ILogger logger, LogLevel level, int examined, int removed, int failed, int owned, int elsewhere);

    [LoggerMessage(EventId = 3507, Level = LogLevel.Warning, Message = "Janitor could not write a removal into the journal of run {InstanceId}: {Error} (tried again next pass)")]
    public static partial void JournalFailed(ILogger logger, string instanceId, string error);

    [LoggerMessage(EventId = 3508, Level = LogLevel.Error, Message = "Janitor pass failed: {Error} (tried again soon)")]
    public static partial void PassFailed(ILogger logger, string error, Exception exception);
}
