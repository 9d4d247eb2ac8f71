using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Media;

internal static partial class Log
{
    [LoggerMessage(EventId = 2280, Level = LogLevel.Information, Message = "Media {Directory}: {Files} files, {Uploaded} uploaded ({Bytes} bytes) to the {Location}")]
    public static partial void MediaBackedUp(ILogger logger, string directory, int files, int uploaded, long bytes, string location);

    [LoggerMessage(EventId = 2281, Level = LogLevel.Warning, Message = "Media file skipped: {Reason}")]
    public static partial void FileSkipped(ILogger logger, string reason);

    [LoggerMessage(EventId = 2282, Level = LogLevel.Information, Message = "Media file {Path} changed while being backed up (attempt {Attempt}); retrying")]
    public static partial void FileChanged(ILogger logger, string path, int attempt);

    [LoggerMessage(EventId = 2283, Level = LogLevel.Information, Message = "Media restored into {Directory} from set {SetId}: {Written} written, {Current} already current, {Deleted} deleted")]
    public static partial void MediaRestored(ILogger logger, string directory, string setId, int written, int current, int deleted);

    [LoggerMessage(EventId = 2284, Level = LogLevel.Information, Message = "Media backups of {Source} verified by restoring them: {Verified} set(s) passed, {Problems} problem(s)")]
    public static partial void MediaBackupsVerified(ILogger logger, string source, int verified, int problems);

    [LoggerMessage(EventId = 2285, Level = LogLevel.Warning, Message = "Media backup set {Set} did not pass verification: {Problems}")]
    public static partial void MediaSetNotVerified(ILogger logger, string set, string problems);
}
