namespace DrWorkflows.Server.Telemetry;

internal static partial class TelemetryLog
{
    [LoggerMessage(EventId = 60, Level = LogLevel.Warning, Message = "/metrics: the {Part} could not be read; their gauges are left out until they can be ({Reason})")]
    public static partial void SamplingFailed(ILogger logger, string part, string reason);

    [LoggerMessage(EventId = 61, Level = LogLevel.Warning, Message = "/metrics: backup store '{Store}' could not be listed for {Component}: {Reason}")]
    public static partial void StoreUnreadable(ILogger logger, string store, string component, string reason);

    [LoggerMessage(EventId = 62, Level = LogLevel.Information, Message = "Traces of runs go to the OTLP endpoint {Endpoint} ({Protocol})")]
    public static partial void Tracing(ILogger logger, string endpoint, string protocol);
}
