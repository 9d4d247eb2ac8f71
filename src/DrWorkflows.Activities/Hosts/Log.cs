using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Hosts;

internal static partial class Log
{
    [LoggerMessage(EventId = 2400, Level = LogLevel.Information, Message = "Disk {Path} on {Host}: {Available} of {Total} bytes free")]
    public static partial void DiskSpace(ILogger logger, string host, string path, long available, long total);

    [LoggerMessage(EventId = 2401, Level = LogLevel.Warning, Message = "Restarting service {Unit} on {Host}")]
    public static partial void RestartingService(ILogger logger, string unit, string host);

    [LoggerMessage(EventId = 2402, Level = LogLevel.Warning, Message = "Network isolation {IsolationId} applied on {Host}: {RuleCount} rules")]
    public static partial void Isolated(ILogger logger, string isolationId, string host, int ruleCount);

    [LoggerMessage(EventId = 2403, Level = LogLevel.Warning, Message = "Network isolation {IsolationId} removed on {Host}: {RuleCount} rules deleted")]
    public static partial void IsolationRemoved(ILogger logger, string isolationId, string host, int ruleCount);
}
