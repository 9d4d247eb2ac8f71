using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Logging;
using Polly;

namespace DrWorkflows.Activities.Notifications;

/// <summary>
/// What the HTTP channels (Slack, Statuspage) share: the channel's retry pipeline, sending a JSON call with
/// network failures mapped to retryable errors, Retry-After, and errors for HTTP statuses.
/// </summary>
internal sealed class NotificationHttp : IDisposable
{
    private readonly HttpClient http;
    private readonly string channel;
    private readonly ResiliencePipeline retry;

    public NotificationHttp(HttpClient http, NotificationChannelOptions options, string channel, TimeProvider clock, ILogger logger)
    {
        this.http = http;
        this.channel = channel;
        retry = NotificationRetry.Create(clock, options.MaxAttempts, options.RetryDelay, options.MaxRetryAfter, logger, channel);
    }

    public void Dispose() => http.Dispose();

    /// <summary>Runs <paramref name="action"/> with the channel's retries (see <see cref="NotificationRetry"/>).</summary>
    public Task<T> WithRetriesAsync<T>(string what, Func<CancellationToken, Task<T>> action, CancellationToken cancellationToken) =>
        retry.ExecuteAsync(what, action, cancellationToken);

    /// <summary>
    /// Sends <paramref name="method"/> <paramref name="path"/> (relative to <paramref name="baseUrl"/>) with
    /// <paramref name="authorization"/> and, when given, <paramref name="payload"/> as UTF-8 JSON. Network
    /// failures and time-outs become retryable <see cref="NotificationException"/>s naming <paramref name="what"/>.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(
        HttpMethod method, string baseUrl, string path, AuthenticationHeaderValue authorization, string? payload, string what, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(new Uri(baseUrl.TrimEnd('/') + "/"), path));
        request.Headers.Authorization = authorization;
        if (payload is not null)
            request.Content = new StringContent(payload, Encoding.UTF8, "application/json");
        try
        {
            return await http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new NotificationException($"{what}: could not reach {request.RequestUri?.GetLeftPart(UriPartial.Authority)} ({e.Message}).", channel, retryable: true, e) { Code = channel + ".unreachable" };
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new NotificationException($"{what}: no answer within {http.Timeout.TotalSeconds:0} s.", channel, retryable: true, e) { Code = channel + ".timeout" };
        }
    }

    /// <summary>An error for an HTTP status: code <c>&lt;channel&gt;.http-&lt;status&gt;</c>, the status as the service's error.</summary>
    public NotificationException StatusError(string message, int status, bool retryable, TimeSpan? retryAfter = null) =>
        new(message, channel, retryable)
        {
            Code = channel + ".http-" + status.ToString(CultureInfo.InvariantCulture),
            ServiceError = status.ToString(CultureInfo.InvariantCulture),
            RetryAfter = retryAfter,
        };

    /// <summary>The wait a rate-limited answer asks for (seconds or an HTTP date); one second when it gives none.</summary>
    public static TimeSpan RetryAfter(HttpResponseMessage response)
    {
        if (response.Headers.RetryAfter is { } header)
        {
            if (header.Delta is { } delta)
                return delta;
            if (header.Date is { } date)
                return date - (response.Headers.Date ?? date);
        }

        return response.Headers.TryGetValues("Retry-After", out var values)
            && int.TryParse(values.FirstOrDefault(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds)
                ? TimeSpan.FromSeconds(seconds)
                : TimeSpan.FromSeconds(1);
    }
}
