using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Approvals;

/// <summary>Approval log events (3300-3399). Secrets, tokens and signatures are never arguments.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3300, Level = LogLevel.Information, Message = "Approval {ApprovalId} '{Title}' opened: {Required} approval(s) needed, first deadline {Deadline:u}")]
    public static partial void GateOpened(ILogger logger, string approvalId, string title, int required, DateTimeOffset deadline);

    [LoggerMessage(EventId = 3301, Level = LogLevel.Information, Message = "Approval {ApprovalId}: {Vote} by {By} through {Channel} recorded")]
    public static partial void VoteRecorded(ILogger logger, string approvalId, string vote, string by, string channel);

    [LoggerMessage(EventId = 3302, Level = LogLevel.Information, Message = "Approval {ApprovalId} escalated to tier {Tier} ({TierName}) until {Deadline:u}")]
    public static partial void GateEscalated(ILogger logger, string approvalId, int tier, string tierName, DateTimeOffset deadline);

    [LoggerMessage(EventId = 3303, Level = LogLevel.Information, Message = "Approval {ApprovalId} ended {Status}, outcome {Outcome}")]
    public static partial void GateDecided(ILogger logger, string approvalId, ApprovalStatus status, string outcome);

    [LoggerMessage(EventId = 3304, Level = LogLevel.Warning, Message = "Approval {ApprovalId}: a resume by {ResumedBy} without the approval service's seal was ignored")]
    public static partial void UnsealedResume(ILogger logger, string approvalId, string resumedBy);

    [LoggerMessage(EventId = 3305, Level = LogLevel.Information, Message = "Approval {ApprovalId}: {Vote} by {By} through {Channel} refused: {Code}")]
    public static partial void DecisionRefused(ILogger logger, string approvalId, string vote, string by, string channel, string code);

    [LoggerMessage(EventId = 3310, Level = LogLevel.Warning, Message = "Approval {ApprovalId}: {Channel} delivery failed: {Error}")]
    public static partial void DeliveryFailed(ILogger logger, string approvalId, string channel, string error);
}
