using System.Globalization;

namespace DrWorkflows.Core.Runtime;

/// <summary>The commit a version was published from: the file, the commit SHA and, when it came through one, the pull request.</summary>
public sealed record GitSource(string Path, string Commit, int? PullRequest)
{
    /// <summary>For messages: <c>workflows/x.json at commit 1a2b3c4 (pull request #42)</c>.</summary>
    public string Describe() =>
        $"{Path} at commit {Commit[..Math.Min(7, Commit.Length)]}" + (PullRequest is { } n ? $" (pull request #{n.ToString(CultureInfo.InvariantCulture)})" : string.Empty);
}

/// <summary>
/// A stored version's origin for a version published from the workflows repository (a merged pull request or a
/// direct commit on the reviewed branch): <c>git:&lt;path&gt;@&lt;commit sha&gt;</c>, then <c>#&lt;pull request&gt;</c> when
/// one brought it. Kept in the origin so it needs no column of its own and goes with the version everywhere.
/// </summary>
public static class DefinitionOrigins
{
    public const string GitPrefix = "git:";

    /// <summary>
    /// The origin of a draft a GitOps publish put in a pull request: <c>review:&lt;number&gt;@&lt;url&gt;</c>. The draft stays
    /// not runnable; the Studio shows it "awaiting review". Saving the draft again gives it the editor's origin, since
    /// it is then no longer what the pull request carries; the merge publishes it with its <c>git:</c> origin.
    /// </summary>
    public const string ReviewPrefix = "review:";

    public static string Git(GitSource source) =>
        $"{GitPrefix}{source.Path}@{source.Commit}" + (source.PullRequest is { } n ? "#" + n.ToString(CultureInfo.InvariantCulture) : string.Empty);

    public static string Review(int pullRequest, string url) =>
        $"{ReviewPrefix}{pullRequest.ToString(CultureInfo.InvariantCulture)}@{url}";

    /// <summary>The pull request of a <c>review:</c> origin; null for any other origin.</summary>
    public static (int Number, string Url)? ParseReview(string? origin)
    {
        if (origin is null || !origin.StartsWith(ReviewPrefix, StringComparison.Ordinal))
            return null;
        var rest = origin[ReviewPrefix.Length..];
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        return at > 0 && int.TryParse(rest[..at], NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? (number, rest[(at + 1)..]) : null;
    }

    /// <summary>The commit of a <c>git:</c> origin; null for any other origin (a file deployed with the server, C#, the API).</summary>
    public static GitSource? ParseGit(string? origin)
    {
        if (origin is null || !origin.StartsWith(GitPrefix, StringComparison.Ordinal))
            return null;
        var rest = origin[GitPrefix.Length..];
        var at = rest.LastIndexOf('@');
        if (at <= 0)
            return null;
        var path = rest[..at];
        var commit = rest[(at + 1)..];
        int? pull = null;
        var hash = commit.IndexOf('#', StringComparison.Ordinal);
        if (hash >= 0)
        {
            pull = int.TryParse(commit[(hash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
            commit = commit[..hash];
        }

        return commit.Length == 0 ? null : new GitSource(path, commit, pull);
    }
}
