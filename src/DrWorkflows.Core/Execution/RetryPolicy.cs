using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Model;

namespace DrWorkflows.Core.Execution;

/// <summary>
/// Retries and time limit of an activity: from the activity class, overridden per activity in the definition:
/// <c>"customProperties": {"retry": {"maxAttempts": 3, "initialDelay": "00:00:05", "backoffFactor": 2, "maxDelay": "00:05:00"}, "timeout": "00:10:00"}</c>.
/// </summary>
public sealed record RetryPolicy(int MaxAttempts, TimeSpan InitialDelay, double BackoffFactor, TimeSpan MaxDelay, TimeSpan? Timeout)
{
    /// <summary>Bookmark name of a retry waiting for its backoff delay.</summary>
    public const string RetryBookmark = "DrWorkflows.Retry";

    public static RetryPolicy For(Activity activity, ActivityDescriptor descriptor)
    {
        var retry = activity.CustomProperties["retry"] as JsonObject;
        return new RetryPolicy(
            MaxAttempts: Math.Max(1, Int(retry?["maxAttempts"]) ?? descriptor.MaxAttempts),
            InitialDelay: Duration(retry?["initialDelay"]) ?? TimeSpan.FromSeconds(5),
            BackoffFactor: Math.Max(1, Double(retry?["backoffFactor"]) ?? 2),
            MaxDelay: Duration(retry?["maxDelay"]) ?? TimeSpan.FromMinutes(5),
            Timeout: Duration(activity.CustomProperties["timeout"]) ?? descriptor.Timeout);
    }

    /// <summary>The wait before attempt <paramref name="nextAttempt"/> (2, 3, ...).</summary>
    public TimeSpan DelayBefore(int nextAttempt)
    {
        var delay = InitialDelay.TotalMilliseconds * Math.Pow(BackoffFactor, Math.Max(0, nextAttempt - 2));
        return TimeSpan.FromMilliseconds(Math.Min(delay, MaxDelay.TotalMilliseconds));
    }

    private static int? Int(JsonNode? node) => node is JsonValue v ? (v.TryGetValue<int>(out var i) ? i : v.TryGetValue<string>(out var s) && int.TryParse(s, out var p) ? p : null) : null;

    private static double? Double(JsonNode? node) => node is JsonValue v ? (v.TryGetValue<double>(out var d) ? d : v.TryGetValue<string>(out var s) && double.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, out var p) ? p : null) : null;

    private static TimeSpan? Duration(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) && !string.IsNullOrWhiteSpace(s) ? ValueConverter.ParseTimeSpan(s) : null;
}
