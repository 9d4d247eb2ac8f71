namespace DrWorkflows.Core;

/// <summary>
/// A workflow definition cannot be loaded or run as written. The message names the file or definition,
/// the activity id and the problem, so that the author can fix it.
/// </summary>
public sealed class WorkflowDefinitionException : Exception
{
    public WorkflowDefinitionException(string message)
        : base(message)
    {
    }

    public WorkflowDefinitionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The activity the problem is in, when there is one.</summary>
    public string? ActivityId { get; init; }

    /// <summary>The file the definition came from, when it came from one.</summary>
    public string? FilePath { get; init; }
}

/// <summary>An activity failed. <see cref="Retryable"/> tells the runtime whether a retry may help.</summary>
public class ActivityFailureException : Exception
{
    public ActivityFailureException(string message, bool retryable = false, Exception? innerException = null)
        : base(message, innerException)
    {
        Retryable = retryable;
    }

    public bool Retryable { get; }

    /// <summary>A stable machine-readable code, e.g. <c>docker.container-not-found</c>.</summary>
    public string? Code { get; init; }
}
