using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Dns;

/// <summary>DNS log events (2300-2399). Credentials never appear in these messages.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2300, Level = LogLevel.Information, Message = "Route 53 change {ChangeId} submitted: UPSERT {Type} {Name} in zone {ZoneId} ({Status})")]
    public static partial void Route53ChangeSubmitted(ILogger logger, string changeId, string type, string name, string zoneId, string status);

    [LoggerMessage(EventId = 2301, Level = LogLevel.Warning, Message = "Route 53 call failed on attempt {Attempt}, retrying in {Delay}: {Reason}")]
    public static partial void Route53Retrying(ILogger logger, int attempt, TimeSpan delay, string? reason);

    [LoggerMessage(EventId = 2302, Level = LogLevel.Information, Message = "DNS change {ChangeId} is {Status} after {Polls} polls and {Elapsed}")]
    public static partial void DnsChangeWaited(ILogger logger, string changeId, string status, int polls, TimeSpan elapsed);
}
