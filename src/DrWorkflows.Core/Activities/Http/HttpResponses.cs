using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace DrWorkflows.Core.Activities.Http;

/// <summary>What <see cref="WriteHttpResponse"/> wrote: the status, headers, content type and body to send.</summary>
public sealed record HttpResponseData(int StatusCode, IReadOnlyDictionary<string, string> Headers, string? ContentType, byte[] Body);

/// <summary>
/// The HTTP requests waiting for a run's response, by run id. The server registers one before it starts or resumes a
/// run for a request; <see cref="WriteHttpResponse"/> hands its response to it. A run with no request waiting (resumed
/// later by a timer, an operator, or after the caller gave up) has nobody to answer, and the activity fails.
/// </summary>
public sealed class HttpResponses
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<HttpResponseData>> waiting = new(StringComparer.Ordinal);

    /// <summary>Registers a request waiting for run <paramref name="instanceId"/>; null when one already waits for it.</summary>
    public Task<HttpResponseData>? Wait(string instanceId)
    {
        var source = new TaskCompletionSource<HttpResponseData>(TaskCreationOptions.RunContinuationsAsynchronously);
        return waiting.TryAdd(instanceId, source) ? source.Task : null;
    }

    /// <summary>The request no longer waits (answered, timed out, or the caller left).</summary>
    public void Stop(string instanceId, Task<HttpResponseData> task)
    {
        if (waiting.TryGetValue(instanceId, out var source) && source.Task == task)
            waiting.TryRemove(new KeyValuePair<string, TaskCompletionSource<HttpResponseData>>(instanceId, source));
    }

    /// <summary>Hands a response to the request waiting for the run; false when none waits.</summary>
    public bool TryAnswer(string instanceId, HttpResponseData response) =>
        waiting.TryRemove(instanceId, out var source) && source.TrySetResult(response);

    /// <summary>Masks header values that carry credentials before a request is kept in a run's state and journal.</summary>
    public static JsonObject MaskCredentials(JsonObject headers)
    {
        foreach (var name in headers.Select(h => h.Key).ToList())
        {
            if (name.Equals("Authorization", StringComparison.OrdinalIgnoreCase) || name.Equals("Cookie", StringComparison.OrdinalIgnoreCase)
                || name.Equals("Proxy-Authorization", StringComparison.OrdinalIgnoreCase) || name.Equals("X-Api-Key", StringComparison.OrdinalIgnoreCase))
                headers[name] = Execution.Redactor.Mask;
        }

        return headers;
    }
}
