using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Http;

/// <summary>One smoke check: a request and what the answer must look like.</summary>
public sealed record SmokeCheck
{
    public required string Url { get; init; }

    public string Method { get; init; } = "GET";

    /// <summary>Accepted status codes; 200 when empty.</summary>
    public IReadOnlyList<int> ExpectedStatus { get; init; } = [];

    /// <summary>Text fragments the body must contain (ordinal, case-sensitive).</summary>
    public IReadOnlyList<string> BodyContains { get; init; } = [];

    /// <summary>Request headers, e.g. <c>Host</c> to test a DR server by address before DNS moves.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>Per-request timeout; <see cref="SmokeTestOptions.DefaultTimeout"/> when <c>null</c>.</summary>
    public TimeSpan? Timeout { get; init; }
}

/// <summary>The result of one check; <see cref="Failures"/> lists every unmet expectation.</summary>
public sealed record SmokeCheckResult(string Method, string Url, int? Status, TimeSpan Elapsed, IReadOnlyList<string> Failures, int Attempts)
{
    public bool Passed => Failures.Count == 0;

    public override string ToString() => Passed
        ? $"{Method} {Url}: {Status} in {Elapsed.TotalMilliseconds:0} ms"
        : $"{Method} {Url}: {string.Join("; ", Failures)}";
}

/// <summary>All results (every check runs, whatever the others did).</summary>
public sealed record SmokeTestReport(IReadOnlyList<SmokeCheckResult> Results)
{
    public bool Passed => Results.All(r => r.Passed);

    public IReadOnlyList<SmokeCheckResult> Failed => [.. Results.Where(r => !r.Passed)];

    public string Summary => Passed
        ? $"all {Results.Count} checks passed"
        : $"{Failed.Count} of {Results.Count} checks failed: " + string.Join(" | ", Failed.Select(f => f.ToString()));

    public override string ToString() => Summary;
}

public sealed class SmokeTestOptions
{
    public const string SectionName = "SmokeTests";

    public TimeSpan DefaultTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Checks run at the same time.</summary>
    public int Concurrency { get; set; } = 8;

    /// <summary>Body bytes read for fragment matching.</summary>
    public int MaxBodyBytes { get; set; } = 1 << 20;

    /// <summary>Accept any TLS certificate (a DR server reached by address before DNS and certificates follow).</summary>
    public bool AllowInvalidCertificates { get; set; }
}

/// <summary>Runs HTTP smoke checks and reports every result, not just the first failure.</summary>
public interface ISmokeTester
{
    /// <summary>
    /// Runs every check; a failed check is retried up to <paramref name="attempts"/> times, <paramref name="retryDelay"/>
    /// apart (services still warming up). Never throws for a failed check.
    /// </summary>
    Task<SmokeTestReport> RunAsync(IReadOnlyList<SmokeCheck> checks, int attempts, TimeSpan retryDelay, CancellationToken cancellationToken);
}

internal sealed class SmokeTester(HttpClient http, IOptions<SmokeTestOptions> options, TimeProvider clock, ILogger<SmokeTester> logger) : ISmokeTester
{
    private readonly SmokeTestOptions options = options.Value;

    public async Task<SmokeTestReport> RunAsync(IReadOnlyList<SmokeCheck> checks, int attempts, TimeSpan retryDelay, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(checks);
        using var gate = new SemaphoreSlim(Math.Max(1, options.Concurrency));
        var results = await Task.WhenAll(checks.Select(async check =>
        {
            await gate.WaitAsync(cancellationToken);
            try
            {
                SmokeCheckResult result;
                var attempt = 0;
                while (true)
                {
                    attempt++;
                    result = await CheckAsync(check, attempt, cancellationToken);
                    if (result.Passed || attempt >= Math.Max(1, attempts))
                        break;
                    await Task.Delay(retryDelay, clock, cancellationToken);
                }

                return result;
            }
            finally
            {
                gate.Release();
            }
        }));
        var report = new SmokeTestReport(results);
        if (report.Passed)
            Log.SmokePassed(logger, results.Length);
        else
            Log.SmokeFailed(logger, report.Failed.Count, results.Length, report);
        return report;
    }

    private async Task<SmokeCheckResult> CheckAsync(SmokeCheck check, int attempt, CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        int? status = null;
        var start = clock.GetTimestamp();
        using var timeout = new CancellationTokenSource(check.Timeout ?? options.DefaultTimeout, clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            if (!Uri.TryCreate(check.Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                failures.Add($"'{check.Url}' is not an http(s) URL");
                return new SmokeCheckResult(check.Method, check.Url, null, TimeSpan.Zero, failures, attempt);
            }

            using var request = new HttpRequestMessage(new HttpMethod(check.Method), uri);
            foreach (var (name, value) in check.Headers)
            {
                if (string.Equals(name, "Host", StringComparison.OrdinalIgnoreCase))
                    request.Headers.Host = value;
                else
                    request.Headers.TryAddWithoutValidation(name, value);
            }

            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            status = (int)response.StatusCode;
            var expected = check.ExpectedStatus.Count == 0 ? [200] : check.ExpectedStatus;
            if (!expected.Contains(status.Value))
                failures.Add($"status {status} {response.ReasonPhrase}, expected {string.Join(" or ", expected)}");
            if (check.BodyContains.Count > 0)
            {
                var body = await ReadBodyAsync(response, linked.Token);
                foreach (var fragment in check.BodyContains.Where(f => !body.Contains(f, StringComparison.Ordinal)))
                    failures.Add($"body does not contain \"{fragment}\"");
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            failures.Add($"no answer within {(check.Timeout ?? options.DefaultTimeout).TotalSeconds:0.#} s");
        }
        catch (HttpRequestException e)
        {
            failures.Add($"request failed: {Innermost(e).Message}");
        }

        return new SmokeCheckResult(check.Method, check.Url, status, clock.GetElapsedTime(start), failures, attempt);
    }

    private async Task<string> ReadBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[options.MaxBodyBytes];
        var read = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
        return Encoding.UTF8.GetString(buffer, 0, read);
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
            e = e.InnerException;
        return e;
    }
}
