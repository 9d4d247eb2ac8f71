using System.Globalization;

namespace DrWorkflows.Activities.Notifications;

/// <summary>What the HTTP channels (Slack, Statuspage) share: sending with network failures mapped to retryable errors, and Retry-After.</summary>
internal static class NotificationHttp
{
    public static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpRequestMessage request, string channel, string what, CancellationToken cancellationToken)
    {
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

    /// <summary>The wait a 429 answer asks for (seconds or an HTTP date); <c>null</c> when it gives none.</summary>
    public static TimeSpan? RetryAfter(HttpResponseMessage response)
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
                : null;
    }
}
