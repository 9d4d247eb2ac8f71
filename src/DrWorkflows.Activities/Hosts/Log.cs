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

    [LoggerMessage(EventId = 2404, Level = LogLevel.Warning, Message = "Restarting the Docker engine on {Host}: {Command}")]
    public static partial void RestartingEngine(ILogger logger, string command, string host);

    [LoggerMessage(EventId = 2405, Level = LogLevel.Information, Message = "Docker engine {Endpoint} answers again (version {Version}) {Elapsed} after the restart command")]
    public static partial void EngineBack(ILogger logger, string endpoint, string version, TimeSpan elapsed);

    [LoggerMessage(EventId = 2406, Level = LogLevel.Information, Message = "Isolation {IsolationId} on {Host}: {Target} {Verdict} from the probe ({Detail})")]
    public static partial void Probed(ILogger logger, string isolationId, string host, IsolationTarget target, string verdict, string detail);

    [LoggerMessage(EventId = 2407, Level = LogLevel.Error, Message = "Isolation {IsolationId} on {Host} is not confirmed: {Problem}")]
    public static partial void IsolationNotConfirmed(ILogger logger, string isolationId, string host, string problem);

    [LoggerMessage(EventId = 2408, Level = LogLevel.Warning, Message = "Could not remove the probe namespace {Namespace} on {Host}: {Error}")]
    public static partial void ProbeCleanupFailed(ILogger logger, string @namespace, string host, string error);

    [LoggerMessage(EventId = 2403, Level = LogLevel.Warning, Message = "Network isolation {IsolationId} removed on {Host}: {RuleCount} rules deleted")]
    public static partial void IsolationRemoved(ILogger logger, string isolationId, string host, int ruleCount);
}
