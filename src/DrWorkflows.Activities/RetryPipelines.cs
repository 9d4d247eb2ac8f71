using DrWorkflows.Core;
using Polly;
using Polly.Retry;

namespace DrWorkflows.Activities;

/// <summary>
/// The retry pipeline the service clients share (Route 53, GitHub, the notification channels): retries their
/// own <see cref="ActivityFailureException"/> marked <see cref="ActivityFailureException.Retryable"/>, up to
/// <c>maxAttempts</c> attempts in all, with exponential backoff and jitter on the injected clock. One attempt
/// (retries off, which the clients' options allow) is a pipeline without retry: Polly refuses zero retries.
/// </summary>
internal static class RetryPipelines
{
    /// <typeparam name="TException">The error type of the client; other exceptions are not retried.</typeparam>
    /// <param name="clock">Clock the delays run on (a fake one in tests).</param>
    /// <param name="maxAttempts">Attempts in all, including the first.</param>
    /// <param name="delay">First delay; doubled on each retry, with jitter.</param>
    /// <param name="onRetry">Called before each retry with the number of the coming attempt, its delay and the reason.</param>
    /// <param name="retryIf">A further condition on the error, beyond being retryable.</param>
    /// <param name="requestedDelay">The wait the service asked for (Retry-After), used instead of the backoff when not null.</param>
    public static ResiliencePipeline Create<TException>(
        TimeProvider clock,
        int maxAttempts,
        TimeSpan delay,
        Action<int, TimeSpan, string?> onRetry,
        Func<TException, bool>? retryIf = null,
        Func<TException, TimeSpan?>? requestedDelay = null)
        where TException : ActivityFailureException
    {
        if (maxAttempts <= 1)
            return ResiliencePipeline.Empty;

        return new ResiliencePipelineBuilder { TimeProvider = clock }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = maxAttempts - 1,
                Delay = delay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = new PredicateBuilder().Handle<TException>(e => e.Retryable && (retryIf is null || retryIf(e))),
                DelayGenerator = requestedDelay is null
                    ? null
                    : args => ValueTask.FromResult(args.Outcome.Exception is TException e ? requestedDelay(e) : null),
                OnRetry = args =>
                {
                    onRetry(args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception?.Message);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }
}
