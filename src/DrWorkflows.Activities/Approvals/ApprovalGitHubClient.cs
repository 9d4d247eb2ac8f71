using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DrWorkflows.Core.Serialization;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Approvals;

/// <summary>An issue reference, parsed from <c>owner/repo#42</c> or an issue URL.</summary>
public sealed partial record GitHubIssueRef(string Repository, int Number)
{
    public static bool TryParse(string? text, out GitHubIssueRef issue)
    {
        issue = new GitHubIssueRef(string.Empty, 0);
        if (string.IsNullOrWhiteSpace(text))
            return false;
        var match = IssuePattern().Match(text.Trim());
        if (!match.Success)
            return false;
        issue = new GitHubIssueRef(match.Groups["repo"].Value, int.Parse(match.Groups["number"].Value, CultureInfo.InvariantCulture));
        return true;
    }

    public bool Is(string repository, int number) => number == Number && string.Equals(repository, Repository, StringComparison.OrdinalIgnoreCase);

    public override string ToString() => $"{Repository}#{Number.ToString(CultureInfo.InvariantCulture)}";

    [GeneratedRegex(@"^(?:https?://[^/]+/)?(?<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)(?:#|/issues/)(?<number>[0-9]{1,9})/?$")]
    private static partial Regex IssuePattern();
}

/// <summary>Posts comments on the incident issue (the gate, the decision, answers to commands).</summary>
public interface IApprovalGitHubClient
{
    Task PostCommentAsync(string issue, string body, CancellationToken cancellationToken);
}

/// <summary>
/// One REST call (<c>POST /repos/{owner}/{repo}/issues/{n}/comments</c>) over <see cref="HttpClient"/>: a
/// whole GitHub client library is not needed for it, and the call is easy to check against a stand-in.
/// </summary>
internal sealed class ApprovalGitHubClient(HttpClient http, IOptions<ApprovalsOptions> options) : IApprovalGitHubClient
{
    public async Task PostCommentAsync(string issue, string body, CancellationToken cancellationToken)
    {
        var settings = options.Value.GitHub;
        if (!settings.CanPost)
            throw new ApprovalException("approval.github-not-configured", "Set Approvals:GitHub:Token to post approvals on the incident issue.");
        if (!GitHubIssueRef.TryParse(issue, out var reference))
            throw new ApprovalException("approval.github-issue", $"'{issue}' is not an issue reference: use owner/repo#42.");
        var uri = new Uri(new Uri(settings.ApiBaseUrl.TrimEnd('/') + "/"), $"repos/{reference.Repository}/issues/{reference.Number.ToString(CultureInfo.InvariantCulture)}/comments");
        using var request = new HttpRequestMessage(HttpMethod.Post, uri);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", settings.Token);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/vnd.github+json"));
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("DrWorkflows", "1.0"));
        request.Headers.Add("X-GitHub-Api-Version", "2022-11-28");
        request.Content = new StringContent(new JsonObject { ["body"] = body }.ToJsonString(Json.Options), Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var detail = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new ApprovalException("approval.github-comment", $"GitHub refused the comment on {reference}: HTTP {(int)response.StatusCode} {(detail.Length > 200 ? detail[..200] : detail)}. Check Approvals:GitHub:Token (issues: write) and the issue.");
        }
    }
}
