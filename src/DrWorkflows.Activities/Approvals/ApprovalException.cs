using DrWorkflows.Core;

namespace DrWorkflows.Activities.Approvals;

/// <summary>A gate that cannot be set up or a lookup that failed, with a code and what to do next.</summary>
public sealed class ApprovalException(string code, string message, Exception? innerException = null)
    : ActivityFailureException(message, retryable: false, innerException)
{
    public string ErrorCode { get; } = code;
}
