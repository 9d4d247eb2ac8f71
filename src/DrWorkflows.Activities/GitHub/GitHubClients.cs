using Octokit;

namespace DrWorkflows.Activities.GitHub;

/// <summary>The one way an Octokit client is made from the <c>GitHub</c> section (post-mortems, GitOps).</summary>
public static class GitHubClients
{
    /// <summary>A client for github.com, or for <see cref="GitHubOptions.BaseUrl"/> (Octokit adds <c>api/v3/</c>), with the token and time limit.</summary>
    public static GitHubClient Create(GitHubOptions options)
    {
        var product = new Octokit.ProductHeaderValue("DrWorkflows");
        var github = string.IsNullOrWhiteSpace(options.BaseUrl)
            ? new GitHubClient(product)
            : new GitHubClient(product, new Uri(options.BaseUrl.TrimEnd('/') + "/"));
        github.Credentials = new Credentials(options.Token);
        github.SetRequestTimeout(options.RequestTimeout);
        return github;
    }
}
