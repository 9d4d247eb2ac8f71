using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Drills;

// The failover simulation's messages (3470-3479), in a file of their own so that other work on Log.cs merges cleanly.
internal static partial class Log
{
    [LoggerMessage(EventId = 3470, Level = LogLevel.Information, Message = "Failover simulation planned: test record {TestRecord} (production record {ProductionRecord} is never touched), DR project {Project}")]
    public static partial void SimulationPlanned(ILogger logger, string testRecord, string productionRecord, string project);

    [LoggerMessage(EventId = 3471, Level = LogLevel.Information, Message = "Failover simulation measured: {Verdict}, {Reason}")]
    public static partial void SimulationMeasured(ILogger logger, string verdict, string reason);

    [LoggerMessage(EventId = 3472, Level = LogLevel.Information, Message = "Failover simulation cleaned up: test record {TestRecord} put back, DR project {Project} down")]
    public static partial void SimulationCleanedUp(ILogger logger, string testRecord, string project);

    [LoggerMessage(EventId = 3473, Level = LogLevel.Error, Message = "Failover simulation cleanup FAILED: {Problems}")]
    public static partial void SimulationCleanupFailed(ILogger logger, string problems);

    [LoggerMessage(EventId = 3474, Level = LogLevel.Warning, Message = "Failover simulation: compose down of {Project} failed, removing what is left one by one: {Reason}")]
    public static partial void SimulationComposeDownFailed(ILogger logger, string project, string reason);

    [LoggerMessage(EventId = 3475, Level = LogLevel.Information, Message = "Failover simulation: {Service} at {Endpoint} is {State} ({Detail})")]
    public static partial void SimulationProbed(ILogger logger, string service, string endpoint, FailoverServiceState state, string detail);
}
