using Microsoft.Extensions.Logging;

namespace DrWorkflows.Core.Expressions;

internal static partial class Log
{
    [LoggerMessage(EventId = 160, Level = LogLevel.Error, Message = "C# in activity {ActivityId} hit its time limit of {Limit}: the run stopped waiting; the code keeps its thread until it ends")]
    public static partial void CSharpAbandoned(ILogger logger, string activityId, TimeSpan limit);

    [LoggerMessage(EventId = 161, Level = LogLevel.Warning, Message = "C# in activity {ActivityId}, given up at its time limit earlier, has now ended ({Status})")]
    public static partial void CSharpAbandonedEnded(ILogger logger, string activityId, string status);
}
