using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Storage;

internal static partial class Log
{
    [LoggerMessage(EventId = 2200, Level = LogLevel.Information, Message = "Backup object {Key} aborted in the {Location}; nothing was left behind")]
    public static partial void WriteAborted(ILogger logger, string key, string location);

    [LoggerMessage(EventId = 2201, Level = LogLevel.Warning, Message = "Could not delete the partial file {Path}")]
    public static partial void PartialCleanupFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Debug, Message = "Multipart upload of {Key} completed: {Parts} parts, {Bytes} bytes")]
    public static partial void MultipartCompleted(ILogger logger, string key, int parts, long bytes);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Information, Message = "Multipart upload {UploadId} of {Key} aborted")]
    public static partial void MultipartAborted(ILogger logger, string key, string uploadId);

    [LoggerMessage(EventId = 2204, Level = LogLevel.Warning, Message = "Could not abort multipart upload {UploadId} of {Key}; a bucket lifecycle rule (AbortIncompleteMultipartUpload) must clean it up")]
    public static partial void MultipartAbortFailed(ILogger logger, string key, string uploadId, Exception exception);

    [LoggerMessage(EventId = 2205, Level = LogLevel.Warning, Message = "Could not remove {Key} after its upload was cancelled or failed; it may be left in the bucket (it belongs to no backup set: delete it by hand)")]
    public static partial void UnfinishedPutNotRemoved(ILogger logger, string key, Exception exception);

    [LoggerMessage(EventId = 2206, Level = LogLevel.Information, Message = "Backup store {Store}: Object Lock is enabled on the {Location}; sets are written locked ({Mode}) for {Days} days")]
    public static partial void ObjectLockConfirmed(ILogger logger, string store, string location, BackupObjectLockMode mode, int days);

    [LoggerMessage(EventId = 2207, Level = LogLevel.Warning, Message = "Backup store {Store}: the Object Lock configuration of the {Location} could not be read at start ({Error}); backups written there fail until the bucket answers")]
    public static partial void ObjectLockNotChecked(ILogger logger, string store, string location, string error);
}
