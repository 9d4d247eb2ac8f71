using Microsoft.Extensions.Logging;
using Polly;

namespace DrWorkflows.Activities.Notifications;

/// <summary>
/// The retry pipeline of the notification channels: retries a <see cref="NotificationException"/> marked
/// retryable, waiting what the service asked for (Retry-After) or an exponential backoff, on the injected
/// clock. A Retry-After longer than the configured maximum is not waited for.
/// </summary>
internal static class NotificationRetry
{
    public static ResiliencePipeline Create(TimeProvider clock, int maxAttempts, TimeSpan delay, TimeSpan maxRetryAfter, ILogger logger, string channel) =>
        RetryPipelines.Create<NotificationException>(
            clock,
            maxAttempts,
            delay,
            (attempt, wait, reason) => Log.NotificationRetrying(logger, channel, attempt, wait, reason),
            retryIf: e => e.RetryAfter is null || e.RetryAfter <= maxRetryAfter,
            requestedDelay: e => e.RetryAfter);

    /// <summary>Runs <paramref name="action"/> with retries; the final error says how many attempts were made.</summary>
    public static async Task<T> ExecuteAsync<T>(this ResiliencePipeline pipeline, string what, Func<CancellationToken, Task<T>> action, CancellationToken cancellationToken)
    {
        var attempts = 0;
        try
        {
            return await pipeline.ExecuteAsync(
                async ct =>
                {
                    attempts++;
                    return await action(ct);
                },
                cancellationToken);
        }
        catch (NotificationException e) when (attempts > 1)
        {
            var wait = e.RetryAfter is { } retryAfter ? $" (the service last asked to wait {retryAfter.TotalSeconds:0} s)" : string.Empty;
            throw new NotificationException($"{what} failed after {attempts} attempts{wait}: {e.Message}", e.Channel, e.Retryable, e)
            {
                Code = e.Code,
                ServiceError = e.ServiceError,
                RetryAfter = e.RetryAfter,
                Attempts = attempts,
            };
        }
    }
}
