using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Dns;

/// <summary>
/// Route 53 access (configuration section <c>Route53</c>; environment <c>Route53__AccessKeyId</c> and so on).
/// Route 53 is a global service: requests are signed for <c>us-east-1</c>.
/// </summary>
public sealed class Route53Options
{
    public const string SectionName = "Route53";

    public string AccessKeyId { get; set; } = string.Empty;

    /// <summary>Secret: from the environment or a secrets file, never logged.</summary>
    public string SecretAccessKey { get; set; } = string.Empty;

    /// <summary>Secret: for temporary (STS) credentials only.</summary>
    public string? SessionToken { get; set; }

    public string Region { get; set; } = "us-east-1";

    /// <summary>API endpoint; overridable for tests and stand-ins.</summary>
    public string Endpoint { get; set; } = "https://route53.amazonaws.com";

    /// <summary>Attempts per call, including the first, for throttling, 5xx and network errors.</summary>
    public int MaxAttempts { get; set; } = 4;

    /// <summary>First retry delay; doubled on each retry (with jitter).</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Time limit of one HTTP call.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    internal AwsCredentials Credentials => new(AccessKeyId, SecretAccessKey, string.IsNullOrEmpty(SessionToken) ? null : SessionToken);
}

internal sealed class Route53OptionsValidator : IValidateOptions<Route53Options>
{
    public ValidateOptionsResult Validate(string? name, Route53Options options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.AccessKeyId))
            failures.Add("Route53:AccessKeyId is required (environment Route53__AccessKeyId).");
        if (string.IsNullOrWhiteSpace(options.SecretAccessKey))
            failures.Add("Route53:SecretAccessKey is required (environment Route53__SecretAccessKey).");
        if (string.IsNullOrWhiteSpace(options.Region))
            failures.Add("Route53:Region is required (Route 53 signs with us-east-1).");
        if (!Uri.TryCreate(options.Endpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("https" or "http"))
            failures.Add($"Route53:Endpoint '{options.Endpoint}' is not an absolute http(s) URL.");
        if (options.MaxAttempts is < 1 or > 10)
            failures.Add("Route53:MaxAttempts must be between 1 and 10.");
        if (options.RetryDelay < TimeSpan.Zero || options.RequestTimeout <= TimeSpan.Zero)
            failures.Add("Route53:RetryDelay must not be negative and Route53:RequestTimeout must be positive.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
