using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Http;

internal static partial class Log
{
    [LoggerMessage(EventId = 2500, Level = LogLevel.Information, Message = "Smoke tests: all {Count} checks passed")]
    public static partial void SmokePassed(ILogger logger, int count);

    [LoggerMessage(EventId = 2501, Level = LogLevel.Warning, Message = "Smoke tests: {FailedCount} of {Count} checks failed: {Report}")]
    public static partial void SmokeFailed(ILogger logger, int failedCount, int count, SmokeTestReport report);
}
