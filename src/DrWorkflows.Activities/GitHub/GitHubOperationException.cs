using DrWorkflows.Core;

namespace DrWorkflows.Activities.GitHub;

/// <summary>A GitHub call failed. The message names the repository, the call, GitHub's answer and what to do.</summary>
public sealed class GitHubOperationException(string message, bool retryable, Exception? innerException = null)
    : ActivityFailureException(message, retryable, innerException)
{
    /// <summary>HTTP status of GitHub's answer, when there was one.</summary>
    public int? StatusCode { get; init; }

    /// <summary>Attempts made before giving up.</summary>
    public int Attempts { get; init; } = 1;
}
