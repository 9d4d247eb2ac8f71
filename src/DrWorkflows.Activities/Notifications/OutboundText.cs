using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace DrWorkflows.Activities.Notifications;

/// <summary>
/// Text that did not come from configuration (titles and questions computed by a run, evidence, option labels,
/// comments, error messages, names people chose), made inert for the medium it is posted to. Templates and
/// texts written in configuration or a workflow definition are the designer's and are not passed through here.
/// </summary>
public static partial class OutboundText
{
    /// <summary>
    /// Slack <c>text</c> and <c>mrkdwn</c>: <c>&amp;</c>, <c>&lt;</c> and <c>&gt;</c> escaped as Slack asks, so the
    /// text cannot form a mention (<c>&lt;!channel&gt;</c>, <c>&lt;@U…&gt;</c>), a link (<c>&lt;https://…|click&gt;</c>) or a date.
    /// </summary>
    public static string Slack(string? text) =>
        new StringBuilder(text ?? string.Empty).Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").ToString();

    /// <summary>HTML (the HTML part of an email, server-rendered pages): HTML-encoded.</summary>
    public static string Html(string? text) => WebUtility.HtmlEncode(text ?? string.Empty);

    /// <summary>
    /// GitHub Markdown: HTML is neutralised (<c>&amp;</c>, <c>&lt;</c>, <c>&gt;</c> as entities, shown as typed) and
    /// @mentions are broken with a zero-width space after the <c>@</c>, so nobody is notified or pulled in; other
    /// Markdown (emphasis, lists) is kept.
    /// </summary>
    public static string GitHubMarkdown(string? text) =>
        Mention().Replace(new StringBuilder(text ?? string.Empty).Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").ToString(), "@\u200B");

    /// <summary>One line of GitHub Markdown (a heading, a list item, a table cell): as <see cref="GitHubMarkdown"/>, on one line, <c>|</c> escaped.</summary>
    public static string GitHubInline(string? text) =>
        GitHubMarkdown((text ?? string.Empty).Replace("\r", string.Empty, StringComparison.Ordinal).Replace('\n', ' ').Replace("|", "\\|", StringComparison.Ordinal).Trim());

    /// <summary>Lines quoted in GitHub Markdown (<c>&gt; …</c> on each line), neutralised as <see cref="GitHubMarkdown"/>.</summary>
    public static string GitHubQuote(string? text) =>
        string.Join("\n", GitHubMarkdown(text).Replace("\r", string.Empty, StringComparison.Ordinal).Split('\n').Select(line => "> " + line));

    /// <summary>An inline code span the text cannot close (delimited by more backticks than any run in it).</summary>
    public static string GitHubCode(string? text)
    {
        var body = (text ?? string.Empty).Replace("\r", string.Empty, StringComparison.Ordinal).Replace('\n', ' ');
        var fence = new string('`', LongestBacktickRun(body) + 1);
        return $"{fence} {body} {fence}";
    }

    /// <summary>A fenced code block the text cannot close (its fence is longer than any run of backticks in it).</summary>
    public static string GitHubCodeBlock(string? text, string language = "")
    {
        var body = text ?? string.Empty;
        var fence = new string('`', Math.Max(3, LongestBacktickRun(body) + 1));
        return $"{fence}{language}\n{body}\n{fence}";
    }

    private static int LongestBacktickRun(string text)
    {
        int longest = 0, run = 0;
        foreach (var c in text)
        {
            run = c == '`' ? run + 1 : 0;
            longest = Math.Max(longest, run);
        }

        return longest;
    }

    // GitHub mentions users (@login) and teams (@org/team): a word character right after the @.
    [GeneratedRegex(@"@(?=[A-Za-z0-9_])", RegexOptions.CultureInvariant)]
    private static partial Regex Mention();
}
