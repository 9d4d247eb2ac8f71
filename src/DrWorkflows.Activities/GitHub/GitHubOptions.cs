using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.GitHub;

/// <summary>
/// GitHub access for post-mortem issues (configuration section <c>GitHub</c>; environment <c>GitHub__Token</c>…).
/// The token needs read and write access to issues of <see cref="Owner"/>/<see cref="Repository"/>.
/// </summary>
public sealed class GitHubOptions
{
    public const string SectionName = "GitHub";

    /// <summary>Personal access token or app token. Secret: never logged.</summary>
    public string? Token { get; set; }

    public string? Owner { get; set; }

    public string? Repository { get; set; }

    /// <summary>GitHub Enterprise or a test stand-in (Octokit adds <c>api/v3/</c>); empty for github.com.</summary>
    public string? BaseUrl { get; set; }

    /// <summary>Labels put on every post-mortem issue.</summary>
    public List<string> Labels { get; set; } = ["post-mortem"];

    /// <summary>Labels added when the run was a drill.</summary>
    public List<string> DrillLabels { get; set; } = ["dr-drill"];

    /// <summary>GitHub logins assigned to every post-mortem issue (they must have access to the repository).</summary>
    public List<string> Assignees { get; set; } = [];

    /// <summary>Attempts, including the first, when GitHub answers 5xx or cannot be reached.</summary>
    public int MaxAttempts { get; set; } = 3;

    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public bool IsConfigured => !string.IsNullOrWhiteSpace(Token) && !string.IsNullOrWhiteSpace(Owner) && !string.IsNullOrWhiteSpace(Repository);
}

/// <summary>An unconfigured GitHub section is allowed (the activity then reports what to set); a partial one is not.</summary>
internal sealed class GitHubOptionsValidator : IValidateOptions<GitHubOptions>
{
    public ValidateOptionsResult Validate(string? name, GitHubOptions options)
    {
        var failures = new List<string>();
        var given = new[] { options.Token, options.Owner, options.Repository }.Count(v => !string.IsNullOrWhiteSpace(v));
        if (given is > 0 and < 3)
            failures.Add("GitHub needs Token, Owner and Repository together (environment GitHub__Token, GitHub__Owner, GitHub__Repository).");
        if (!string.IsNullOrWhiteSpace(options.BaseUrl) && (!Uri.TryCreate(options.BaseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http")))
            failures.Add($"GitHub:BaseUrl '{options.BaseUrl}' is not an absolute http(s) URL.");
        if (options.MaxAttempts is < 1 or > 10)
            failures.Add("GitHub:MaxAttempts must be between 1 and 10.");
        if (options.RetryDelay < TimeSpan.Zero || options.RequestTimeout <= TimeSpan.Zero)
            failures.Add("GitHub:RetryDelay must not be negative and GitHub:RequestTimeout must be positive.");
        if (options.Labels.Concat(options.DrillLabels).Any(string.IsNullOrWhiteSpace) || options.Assignees.Any(string.IsNullOrWhiteSpace))
            failures.Add("GitHub:Labels, GitHub:DrillLabels and GitHub:Assignees must not contain empty entries.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
