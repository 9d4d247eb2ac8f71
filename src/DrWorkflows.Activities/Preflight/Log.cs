using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Preflight;

internal static partial class Log
{
    [LoggerMessage(EventId = 2700, Level = LogLevel.Information, Message = "{Scenario}: configuration checked ({Count} items), safe to start")]
    public static partial void PreflightPassed(ILogger logger, string scenario, int count);

    [LoggerMessage(EventId = 2701, Level = LogLevel.Error, Message = "{Scenario} cannot start safely: {Problems}")]
    public static partial void PreflightFailed(ILogger logger, string scenario, string problems);
}
