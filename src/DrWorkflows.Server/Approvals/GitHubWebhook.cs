using System.Globalization;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using DrWorkflows.Activities.Approvals;
using DrWorkflows.Activities.Notifications;
using DrWorkflows.Server.Hosting;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Server.Approvals;

/// <summary>A <c>/approve</c> or <c>/reject</c> command from an issue comment.</summary>
public sealed record GitHubCommand(string Vote, string? ApprovalId, string? Option, string? Comment, string? Confirmation = null)
{
    /// <summary>
    /// The first line is the command: <c>/approve [id=&lt;approval id&gt;] [option]</c> or
    /// <c>/reject [id=&lt;approval id&gt;] [reason]</c>. A later line <c>confirm: &lt;phrase&gt;</c> is the typed
    /// confirmation of an option that needs one; the other later lines are the comment (for a reject, the reason
    /// on the first line comes first). Anything else is not a command.
    /// </summary>
    public static GitHubCommand? Parse(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
            return null;
        var lines = body.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var first = lines[0].Trim();
        string vote;
        if (first.StartsWith("/approve", StringComparison.OrdinalIgnoreCase))
            vote = ApprovalVotes.Approve;
        else if (first.StartsWith("/reject", StringComparison.OrdinalIgnoreCase))
            vote = ApprovalVotes.Reject;
        else
            return null;
        var rest = first[(vote == ApprovalVotes.Approve ? "/approve".Length : "/reject".Length)..];
        if (rest.Length > 0 && !char.IsWhiteSpace(rest[0]))
            return null;
        rest = rest.Trim();
        string? approvalId = null;
        if (rest.StartsWith("id=", StringComparison.OrdinalIgnoreCase))
        {
            var end = rest.IndexOf(' ', StringComparison.Ordinal);
            approvalId = end < 0 ? rest[3..] : rest[3..end];
            rest = end < 0 ? string.Empty : rest[(end + 1)..].Trim();
        }

        var later = lines.Skip(1).ToList();
        var confirmLine = later.FindIndex(l => l.TrimStart().StartsWith("confirm:", StringComparison.OrdinalIgnoreCase));
        string? confirmation = null;
        if (vote == ApprovalVotes.Approve && confirmLine >= 0)
        {
            confirmation = later[confirmLine].TrimStart()["confirm:".Length..].Trim();
            later.RemoveAt(confirmLine);
        }

        var more = string.Join("\n", later).Trim();
        return vote == ApprovalVotes.Approve
            ? new GitHubCommand(vote, approvalId, rest.Length == 0 ? null : rest, more.Length == 0 ? null : more, confirmation is { Length: > 0 } ? confirmation : null)
            : new GitHubCommand(vote, approvalId, null, string.Join("\n", new[] { rest, more }.Where(s => s.Length > 0)) is { Length: > 0 } c ? c : null);
    }
}

/// <summary>
/// <c>POST /github/webhook</c> (event <c>issue_comment</c>, action <c>created</c>): an approver answers a gate
/// by commenting on the run's incident issue. The <c>X-Hub-Signature-256</c> HMAC of the raw body is checked
/// first; a delivery or comment handled before changes nothing; bots are ignored; the comment author (a
/// GitHub login) must be an approver of the gate.
/// </summary>
internal static partial class GitHubWebhook
{
    public static async Task<IResult> HandleAsync(
        HttpContext http,
        IApprovalService approvals,
        IApprovalGitHubClient github,
        IOptions<ApprovalsOptions> options,
        ReplayGuard replays,
        ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger("DrWorkflows.Server.Approvals.GitHub");
        var body = await ApprovalsApi.ReadBodyAsync(http.Request, http.RequestAborted);
        if (body is null)
            return ApprovalsApi.Problem(413, "Too large", "The request body is larger than 1 MiB.", "github.too-large");
        if (GitHubSignature.Verify(options.Value.GitHub.WebhookSecret, http.Request.Headers["X-Hub-Signature-256"], body) is { } problem)
        {
            Log.Refused(logger, problem.Message);
            return ApprovalsApi.Problem(problem.Status, problem.Status == 503 ? "Not configured" : "Unauthorized", problem.Message, problem.Status == 503 ? "github.not-configured" : "github.bad-signature");
        }

        var eventName = http.Request.Headers["X-GitHub-Event"].ToString();
        if (eventName == "ping")
            return Results.Ok(new { ok = true, pong = true });
        if (GitOps.MergeWebhook.Handles(eventName))
            return await GitOps.MergeWebhook.HandleAsync(eventName, body, http.RequestServices, http.RequestAborted);
        if (eventName != "issue_comment")
            return Results.Ok(new { ok = true, ignored = $"event '{eventName}' is not handled" });

        var (payload, bad) = RequestJson.Read<GitHubCommentEvent>(body, WebhookJson.Options);
        if (bad is not null || payload is null)
        {
            var malformed = bad ?? new RequestProblem(string.Empty, "The webhook body is JSON null.");
            Log.Malformed(logger, malformed.Detail);
            return ApprovalsApi.Problem(400, "Bad request", "The issue_comment event is malformed: " + malformed.Detail, "github.bad-payload", malformed.Field);
        }

        if (payload.Action != "created")
            return Results.Ok(new { ok = true, ignored = "only new comments are commands (edits and deletions are not)" });
        var login = payload.Comment?.User?.Login;
        if (payload.Comment?.User?.Type == "Bot" || payload.Sender?.Type == "Bot")
            return Results.Ok(new { ok = true, ignored = "comments by bots are not commands" });
        var command = GitHubCommand.Parse(payload.Comment?.Body);
        if (command is null)
            return Results.Ok(new { ok = true, ignored = "the comment is not /approve or /reject" });
        var repository = payload.Repository?.FullName;
        var number = payload.Issue?.Number ?? 0;
        if (string.IsNullOrEmpty(login) || string.IsNullOrEmpty(repository) || number <= 0)
            return Malformed(logger, "The issue_comment event lacks the comment author, repository or issue number.");
        if (!LoginPattern().IsMatch(login) || !GitHubIssueRef.TryParse($"{repository}#{number.ToString(CultureInfo.InvariantCulture)}", out var issueRef))
            return Malformed(logger, "The comment author or the repository of the issue_comment event is not a GitHub name.");

        var delivery = http.Request.Headers["X-GitHub-Delivery"].ToString();
        var commentId = payload.Comment?.Id.ToString(CultureInfo.InvariantCulture);
        if (!replays.TryFirst("github-comment:" + (commentId ?? delivery)) || (delivery.Length > 0 && !replays.TryFirst("github-delivery:" + delivery)))
            return ApprovalsApi.Problem(409, "Replayed", "This comment (delivery) was already handled; nothing was done again.", "github.replayed");

        // Only a gate posted on this repository and issue can be decided here: the place goes with the decision and
        // the approval rules check it again against the gate's record.
        var issue = issueRef.ToString();
        var place = ApprovalPlace.GitHubIssue(issueRef.Repository, issueRef.Number);
        var pending = await approvals.FindPendingForIssueAsync(repository, number, http.RequestAborted);
        string? target;
        ApprovalResult? refusal = null;
        if (command.ApprovalId is { Length: > 0 } wanted)
        {
            var match = pending.Where(r => r.ApprovalId == wanted || r.ApprovalId.EndsWith("." + wanted, StringComparison.Ordinal)).ToList();
            target = match is [var one] ? one.ApprovalId
                : match.Count == 0 && await approvals.FindAsync(wanted, http.RequestAborted) is { } decided && place.Matches(decided) ? decided.ApprovalId
                : null;
            if (target is null)
                refusal = ApprovalResult.Refused(ApprovalCodes.NotFound, $"No approval '{wanted}' was asked on {issue}.");
        }
        else if (pending.Count == 1)
        {
            target = pending[0].ApprovalId;
        }
        else
        {
            target = null;
            refusal = pending.Count == 0
                ? ApprovalResult.Refused(ApprovalCodes.NotFound, $"No approval is pending on {issue}.")
                : ApprovalResult.Refused(ApprovalCodes.OptionRequired, $"{pending.Count} approvals are pending on {issue}; name one with /{command.Vote} id=<approval id>: {string.Join(", ", pending.Select(p => $"{p.ApprovalId[(p.ApprovalId.LastIndexOf('.') + 1)..]} ({p.Title})"))}.");
        }

        var result = target is null ? refusal! : await approvals.DecideAsync(target, ApprovalIdentity.GitHub(login), Request(command, place), http.RequestAborted);

        var reply = result.Kind switch
        {
            ApprovalResultKind.Refused => $"@{login} not recorded: {OutboundText.GitHubMarkdown(result.Refusal!.Message)}",
            ApprovalResultKind.AlreadyRecorded => $"@{login} your decision was already recorded; nothing changed.",
            ApprovalResultKind.Recorded => $"@{login} your {command.Vote} of '{OutboundText.GitHubInline(result.Record?.Title)}' was recorded ({result.Record?.Votes.Count(v => v.Vote == ApprovalVotes.Approve)} of {result.Record?.RequiredApprovals} approvals).",
            _ => null, // the gate posts the decision itself
        };
        if (reply is not null && options.Value.GitHub.CanPost)
        {
            try
            {
                await github.PostCommentAsync(issue, reply, http.RequestAborted);
            }
            catch (ApprovalException e)
            {
                Log.ReplyFailed(logger, e.Message);
            }
            catch (HttpRequestException e)
            {
                Log.ReplyFailed(logger, e.Message);
            }
        }

        return ApprovalsApi.ToResult(result);
    }

    private static ApprovalRequest Request(GitHubCommand command, ApprovalPlace place) =>
        new() { Vote = command.Vote, Option = command.Option, Comment = command.Comment, Confirmation = command.Confirmation, Place = place };

    private static IResult Malformed(ILogger logger, string message)
    {
        Log.Malformed(logger, message);
        return ApprovalsApi.Problem(400, "Bad request", message, "github.bad-payload");
    }

    [GeneratedRegex("^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")]
    private static partial Regex LoginPattern();

    private static partial class Log
    {
        [LoggerMessage(EventId = 3360, Level = LogLevel.Warning, Message = "GitHub webhook refused: {Reason}")]
        public static partial void Refused(ILogger logger, string reason);

        [LoggerMessage(EventId = 3361, Level = LogLevel.Warning, Message = "Answering a GitHub approval command failed: {Error}")]
        public static partial void ReplyFailed(ILogger logger, string error);

        [LoggerMessage(EventId = 3362, Level = LogLevel.Warning, Message = "A correctly signed GitHub webhook was malformed and refused: {Problem}")]
        public static partial void Malformed(ILogger logger, string problem);
    }
}

/// <summary>The fields of GitHub's <c>issue_comment</c> event that are used (read strictly: a wrong kind is a 400).</summary>
internal sealed record GitHubCommentEvent(string? Action, GitHubCommentEvent.IssueRef? Issue, GitHubCommentEvent.CommentRef? Comment, GitHubCommentEvent.RepositoryRef? Repository, GitHubCommentEvent.GitHubUser? Sender)
{
    public sealed record IssueRef(int Number);

    public sealed record CommentRef(long Id, string? Body, GitHubUser? User);

    public sealed record RepositoryRef([property: JsonPropertyName("full_name")] string? FullName);

    public sealed record GitHubUser(string? Login, string? Type);
}
