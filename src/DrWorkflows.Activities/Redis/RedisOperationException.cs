using DrWorkflows.Core;

namespace DrWorkflows.Activities.Redis;

/// <summary>A Redis snapshot or restore failed; the message names the server and what to do next.</summary>
public sealed class RedisOperationException : ActivityFailureException
{
    public const string Unreachable = "redis.unreachable";
    public const string SaveFailed = "redis.save-failed";
    public const string CopyFailed = "redis.copy-failed";
    public const string RestoreFailed = "redis.restore-failed";
    public const string InvalidDump = "redis.invalid-dump";

    public RedisOperationException(string message, string code, bool retryable = false, Exception? innerException = null)
        : base(message, retryable, innerException)
    {
        Code = code;
    }
}
