using DrWorkflows.Core;

namespace DrWorkflows.Activities.Dns;

/// <summary>A DNS operation failed. The message names the provider, the operation and what to do next.</summary>
public sealed class DnsOperationException(string message, bool retryable, Exception? innerException = null)
    : ActivityFailureException(message, retryable, innerException)
{
    /// <summary>The provider's error code (e.g. Route 53 <c>InvalidChangeBatch</c>), when it sent one.</summary>
    public string? ProviderCode { get; init; }

    /// <summary>HTTP status of the failed call, when there was a response.</summary>
    public int? StatusCode { get; init; }
}
