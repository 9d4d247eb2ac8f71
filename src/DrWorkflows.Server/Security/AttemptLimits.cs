using System.Threading.RateLimiting;
using DrWorkflows.Server.Hosting;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Server.Security;

/// <summary>
/// Brute force on keys, throttled per source address with ASP.NET Core's rate limiters (System.Threading.RateLimiting):
/// <list type="bullet">
/// <item>API keys that are not valid: <see cref="RequestLimitOptions.FailedKeyAttemptsPerMinute"/> per source in a
///   fixed one-minute window. Once a source has used them up, every key it presents (a valid one too, so that the
///   answer tells nothing) gets 429 until the window ends.</item>
/// <item>The Studio sign-in form: <see cref="RequestLimitOptions.SignInAttemptsPerMinute"/> POSTs per source
///   (the endpoint policy <see cref="SignInPolicy"/>); a wrong key there also counts as a failed key.</item>
/// </list>
/// The source is the TCP peer's address. Each refusal is answered 429 with <c>Retry-After</c> and logged.
/// </summary>
public sealed partial class KeyAttemptLimiter : IDisposable
{
    public const string SignInPolicy = "drw-signin";

    private const string ThrottledItem = "drw:key-attempts-throttled";

    private readonly PartitionedRateLimiter<string> failures;
    private readonly ILogger<KeyAttemptLimiter> logger;

    public KeyAttemptLimiter(IOptions<RequestLimitOptions> options, ILogger<KeyAttemptLimiter> logger)
    {
        this.logger = logger;
        var limit = options.Value.FailedKeyAttemptsPerMinute;
        failures = PartitionedRateLimiter.Create<string, string>(source => RateLimitPartition.GetFixedWindowLimiter(source, _ => Window(limit)));
    }

    /// <summary>The caller's source address (the key of every per-source limit).</summary>
    public static string Source(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    /// <summary>True when the source has no failed attempts left in this window: its keys are not even checked.</summary>
    public bool IsBlocked(HttpContext context)
    {
        var source = Source(context);
        if (failures.GetStatistics(source)?.CurrentAvailablePermits is not 0)
            return false;
        Throttle(context, source, "API key");
        return true;
    }

    /// <summary>Counts a key that was not valid; false (and the request marked throttled) when that used up the source's attempts.</summary>
    public bool RecordFailure(HttpContext context)
    {
        var source = Source(context);
        using var lease = failures.AttemptAcquire(source);
        if (lease.IsAcquired)
            return true;
        Throttle(context, source, "API key");
        return false;
    }

    /// <summary>Whether this request was refused for too many attempts (answered 429 instead of 401).</summary>
    public static bool IsThrottled(HttpContext context) => context.Items.ContainsKey(ThrottledItem);

    /// <summary>Answers 429 with Retry-After and a problem body.</summary>
    public static Task WriteTooManyAsync(HttpContext context, string what) =>
        WriteAsync(context, $"Too many {what} attempts from this address; wait a minute and try again (see docs/api.md, Limits).");

    public void Dispose() => failures.Dispose();

    private void Throttle(HttpContext context, string source, string what)
    {
        context.Items[ThrottledItem] = true;
        Log.Throttled(logger, what, source, context.Request.Method, context.Request.Path);
    }

    private static Task WriteAsync(HttpContext context, string detail)
    {
        context.Response.Headers.RetryAfter = "60";
        return ErrorResponses.WriteAsync(context, StatusCodes.Status429TooManyRequests, "Too many requests", detail, null);
    }

    internal static FixedWindowRateLimiterOptions Window(int limit) => new()
    {
        PermitLimit = limit,
        Window = TimeSpan.FromMinutes(1),
        QueueLimit = 0,
        AutoReplenishment = true,
    };

    private static partial class Log
    {
        [LoggerMessage(EventId = 50, Level = LogLevel.Warning, Message = "Too many {What} attempts from {Source}: {Method} {Path} answered 429")]
        public static partial void Throttled(ILogger logger, string what, string source, string method, string path);
    }
}

public static class AttemptLimitServiceCollectionExtensions
{
    /// <summary>The failed-key limiter and the sign-in policy (<c>RequireRateLimiting(KeyAttemptLimiter.SignInPolicy)</c>).</summary>
    public static IServiceCollection AddKeyAttemptLimits(this IServiceCollection services)
    {
        services.AddOptions<RequestLimitOptions>().BindConfiguration(RequestLimitOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<KeyAttemptLimiter>();
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.AddPolicy(KeyAttemptLimiter.SignInPolicy, http =>
            {
                var limit = http.RequestServices.GetRequiredService<IOptions<RequestLimitOptions>>().Value.SignInAttemptsPerMinute;
                return RateLimitPartition.GetFixedWindowLimiter(KeyAttemptLimiter.Source(http), _ => KeyAttemptLimiter.Window(limit));
            });
            o.OnRejected = (rejected, _) =>
            {
                var http = rejected.HttpContext;
                var logger = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("DrWorkflows.Server.Security.SignIn");
                SignInLog.Throttled(logger, KeyAttemptLimiter.Source(http), http.Request.Method, http.Request.Path);
                return new ValueTask(KeyAttemptLimiter.WriteTooManyAsync(http, "sign-in"));
            };
        });
        return services;
    }
}

internal static partial class SignInLog
{
    [LoggerMessage(EventId = 51, Level = LogLevel.Warning, Message = "Too many sign-in attempts from {Source}: {Method} {Path} answered 429")]
    public static partial void Throttled(ILogger logger, string source, string method, string path);
}
