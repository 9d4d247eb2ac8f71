using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using DrWorkflows.Activities.Approvals;
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
        if (eventName != "issue_comment")
            return Results.Ok(new { ok = true, ignored = $"event '{eventName}' is not handled" });

        JsonObject? payload;
        try
        {
            payload = JsonNode.Parse(body) as JsonObject;
        }
        catch (JsonException)
        {
            payload = null;
        }

        if (payload is null)
            return ApprovalsApi.Problem(400, "Bad request", "The webhook body is not JSON.", "github.bad-payload");
        if (payload["action"]?.ToString() != "created")
            return Results.Ok(new { ok = true, ignored = "only new comments are commands (edits and deletions are not)" });
        var login = payload["comment"]?["user"]?["login"]?.ToString();
        if (payload["comment"]?["user"]?["type"]?.ToString() == "Bot" || payload["sender"]?["type"]?.ToString() == "Bot")
            return Results.Ok(new { ok = true, ignored = "comments by bots are not commands" });
        var command = GitHubCommand.Parse(payload["comment"]?["body"]?.ToString());
        if (command is null)
            return Results.Ok(new { ok = true, ignored = "the comment is not /approve or /reject" });
        var repository = payload["repository"]?["full_name"]?.ToString();
        var number = payload["issue"]?["number"]?.GetValue<int>() ?? 0;
        if (string.IsNullOrEmpty(login) || string.IsNullOrEmpty(repository) || number <= 0)
            return ApprovalsApi.Problem(400, "Bad request", "The issue_comment event lacks the comment author, repository or issue number.", "github.bad-payload");

        var delivery = http.Request.Headers["X-GitHub-Delivery"].ToString();
        var commentId = payload["comment"]?["id"]?.ToString();
        if (!replays.TryFirst("github-comment:" + (commentId ?? delivery)) || (delivery.Length > 0 && !replays.TryFirst("github-delivery:" + delivery)))
            return ApprovalsApi.Problem(409, "Replayed", "This comment (delivery) was already handled; nothing was done again.", "github.replayed");

        var issue = $"{repository}#{number.ToString(CultureInfo.InvariantCulture)}";
        var pending = await approvals.FindPendingForIssueAsync(repository, number, http.RequestAborted);
        ApprovalResult result;
        if (command.ApprovalId is { Length: > 0 } wanted)
        {
            var match = pending.Where(r => r.ApprovalId == wanted || r.ApprovalId.EndsWith("." + wanted, StringComparison.Ordinal)).ToList();
            result = match is [var one]
                ? await approvals.DecideAsync(one.ApprovalId, ApprovalIdentity.GitHub(login), Request(command), http.RequestAborted)
                : await approvals.DecideAsync(wanted, ApprovalIdentity.GitHub(login), Request(command), http.RequestAborted);
        }
        else if (pending.Count == 1)
        {
            result = await approvals.DecideAsync(pending[0].ApprovalId, ApprovalIdentity.GitHub(login), Request(command), http.RequestAborted);
        }
        else
        {
            result = pending.Count == 0
                ? ApprovalResult.Refused(ApprovalCodes.NotFound, $"No approval is pending on {issue}.")
                : ApprovalResult.Refused(ApprovalCodes.OptionRequired, $"{pending.Count} approvals are pending on {issue}; name one with /{command.Vote} id=<approval id>: {string.Join(", ", pending.Select(p => $"{p.ApprovalId[(p.ApprovalId.LastIndexOf('.') + 1)..]} ({p.Title})"))}.");
        }

        var reply = result.Kind switch
        {
            ApprovalResultKind.Refused => $"@{login} not recorded: {result.Refusal!.Message}",
            ApprovalResultKind.AlreadyRecorded => $"@{login} your decision was already recorded; nothing changed.",
            ApprovalResultKind.Recorded => $"@{login} your {command.Vote} of '{result.Record?.Title}' was recorded ({result.Record?.Votes.Count(v => v.Vote == ApprovalVotes.Approve)} of {result.Record?.RequiredApprovals} approvals).",
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

    private static ApprovalRequest Request(GitHubCommand command) =>
        new() { Vote = command.Vote, Option = command.Option, Comment = command.Comment, Confirmation = command.Confirmation };

    private static partial class Log
    {
        [LoggerMessage(EventId = 3360, Level = LogLevel.Warning, Message = "GitHub webhook refused: {Reason}")]
        public static partial void Refused(ILogger logger, string reason);

        [LoggerMessage(EventId = 3361, Level = LogLevel.Warning, Message = "Answering a GitHub approval command failed: {Error}")]
        public static partial void ReplyFailed(ILogger logger, string error);
    }
}
