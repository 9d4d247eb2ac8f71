using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.GitHub;

/// <summary>GitHub log events (3100-3199). The token never appears in these messages.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3100, Level = LogLevel.Information, Message = "Post-mortem issue #{Number} opened in {Repository} for run {InstanceId}")]
    public static partial void PostMortemOpened(ILogger logger, int number, string repository, string instanceId);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "Post-mortem issue #{Number} in {Repository} already exists for run {InstanceId}; not opening another")]
    public static partial void PostMortemExists(ILogger logger, int number, string repository, string instanceId);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "GitHub call failed on attempt {Attempt}, retrying in {Delay}: {Reason}")]
    public static partial void GitHubRetrying(ILogger logger, int attempt, TimeSpan delay, string? reason);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Warning, Message = "The definition of run {InstanceId} could not be read for its post-mortem ({Reason}); detection steps are listed with the problems")]
    public static partial void DefinitionUnreadable(ILogger logger, string instanceId, string reason);
}
