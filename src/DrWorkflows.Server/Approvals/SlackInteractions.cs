using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using DrWorkflows.Activities.Approvals;
using DrWorkflows.Activities.Notifications;
using DrWorkflows.Server.Hosting;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Server.Approvals;

/// <summary>
/// <c>POST /slack/interactions</c>: the buttons of a gate's Slack message. Order of checks: signing secret
/// configured, timestamp within 5 minutes, v0 signature over the raw body, then the payload; a trigger id
/// seen before is a Slack retry (<c>X-Slack-Retry-Num</c>: answered 200, nothing done again) or a replay
/// (409). The decision itself is checked by the approval service (approver, self-approval, option, state).
/// Slack gives up after 3 s, so the answer is sent after <see cref="ApprovalsOptions.SlackAnswerBudget"/> at
/// the latest; a decision still waiting for its run then finishes in the background and the clicking user
/// gets the result as an ephemeral message through the interaction's <c>response_url</c>.
/// </summary>
internal static partial class SlackInteractions
{
    public static async Task<IResult> HandleAsync(
        HttpContext http,
        IApprovalService approvals,
        IOptions<NotificationsOptions> notifications,
        IOptions<ApprovalsOptions> options,
        ReplayGuard replays,
        TimeProvider clock,
        IHostApplicationLifetime lifetime,
        SlackResponder responder,
        ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger("DrWorkflows.Server.Approvals.Slack");
        var body = await ApprovalsApi.ReadBodyAsync(http.Request, http.RequestAborted);
        if (body is null)
            return ApprovalsApi.Problem(413, "Too large", "The request body is larger than 1 MiB.", "slack.too-large");
        var headers = http.Request.Headers;
        if (SlackSignature.Verify(notifications.Value.Slack.SigningSecret, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"], body, clock.GetUtcNow()) is { } problem)
        {
            Log.SlackRefused(logger, problem.Message);
            return ApprovalsApi.Problem(problem.Status, problem.Status == 503 ? "Not configured" : "Unauthorized", problem.Message, problem.Status == 503 ? "slack.not-configured" : "slack.bad-signature");
        }

        var form = QueryHelpers.ParseQuery(Encoding.UTF8.GetString(body));
        if (!form.TryGetValue("payload", out var text) || text.Count != 1)
            return Malformed(logger, new RequestProblem("payload", "Expected one form field 'payload' with Slack's interaction JSON."));
        var (payload, bad) = RequestJson.Read<SlackInteraction>(Encoding.UTF8.GetBytes(text.ToString()), WebhookJson.Options);
        if (bad is not null || payload is null)
            return Malformed(logger, bad ?? new RequestProblem("payload", "is JSON null."));
        if (payload.Type != "block_actions")
            return Results.Ok(new { ok = true, ignored = $"interaction type '{Cut(payload.Type)}' is not handled" });

        var userId = payload.User?.Id;
        var action = payload.Actions?.FirstOrDefault();
        var actionId = action?.ActionId ?? string.Empty;
        var value = action?.Value ?? string.Empty;
        if (string.IsNullOrEmpty(userId) || action is null)
            return Malformed(logger, new RequestProblem(string.IsNullOrEmpty(userId) ? "user.id" : "actions", "The interaction has no user or no action."));

        var replayKey = "slack:" + (payload.TriggerId ?? $"{userId}:{action.ActionTs}:{actionId}:{value}");
        if (!replays.TryFirst(replayKey))
        {
            if (!string.IsNullOrEmpty(headers["X-Slack-Retry-Num"]))
                return Results.Ok(new { ok = true, duplicate = true, detail = "Slack retry of an interaction already handled; nothing done again." });
            return ApprovalsApi.Problem(409, "Replayed", "This interaction (trigger id) was already received; a replayed request changes nothing.", "slack.replayed");
        }

        string approvalId;
        ApprovalRequest request;
        if (actionId.StartsWith(SlackApprovalMessageIds.ApprovePrefix, StringComparison.Ordinal) && value.Split('|') is [var id, var number])
        {
            approvalId = id;
            request = new ApprovalRequest { Vote = ApprovalVotes.Approve, Option = number == "0" ? null : number };
        }
        else if (actionId == SlackApprovalMessageIds.Reject && value.Length > 0)
        {
            approvalId = value;
            request = new ApprovalRequest { Vote = ApprovalVotes.Reject };
        }
        else
        {
            return Results.Ok(new { ok = true, ignored = $"action '{Cut(actionId)}' is not an approval button" });
        }

        // The click counts only on the message the gate was posted as (its channel and ts): the rules check the place.
        var channelId = payload.Container?.ChannelId ?? payload.Channel?.Id;
        var messageTs = payload.Container?.MessageTs ?? payload.Message?.Ts;
        if (string.IsNullOrEmpty(channelId) || string.IsNullOrEmpty(messageTs))
            return Malformed(logger, new RequestProblem("container", "The click carries no channel and message (channel.id, container.message_ts)."));
        request = request with { Place = ApprovalPlace.SlackMessage(channelId, messageTs) };

        var identity = ApprovalIdentity.Slack(userId, payload.User?.Username ?? payload.User?.Name);
        var responseUrl = payload.ResponseUrl;
        var decision = approvals.DecideAsync(approvalId, identity, request, lifetime.ApplicationStopping);
        var budget = options.Value.SlackAnswerBudget;
        var finished = await Task.WhenAny(decision, Task.Delay(budget, TimeProvider.System, http.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default)) == decision;
        if (!finished)
        {
            _ = NotifyLaterAsync(decision, responseUrl, options.Value, responder, logger, lifetime.ApplicationStopping);
            return Results.Ok(new { ok = true, pending = true, detail = "The decision is being recorded; the result will follow in Slack." });
        }

        var result = await decision;
        await NotifyAsync(result, responseUrl, options.Value, responder, logger, http.RequestAborted);
        return result.Kind == ApprovalResultKind.Refused
            ? Results.Json(new { ok = false, code = result.Refusal!.Code, detail = result.Refusal.Message }, statusCode: 200)
            : Results.Ok(new { ok = true, result = ApprovalsApi.ResultName(result.Kind), approvalId, status = result.Record?.Status.ToString() });
    }

    private static IResult Malformed(ILogger logger, RequestProblem problem)
    {
        Log.SlackMalformed(logger, problem.Detail);
        return ApprovalsApi.Problem(400, "Bad request", "The interaction is malformed: " + problem.Detail, "slack.bad-payload", problem.Field);
    }

    private static string Cut(string? text) => text is { Length: > 64 } ? text[..64] + "…" : text ?? string.Empty;

    private static async Task NotifyLaterAsync(Task<ApprovalResult> decision, string? responseUrl, ApprovalsOptions options, SlackResponder responder, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            await NotifyAsync(await decision, responseUrl, options, responder, logger, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.SlackLateDecisionFailed(logger, e.Message);
        }
    }

    /// <summary>Tells the clicking user what happened, as an ephemeral message through Slack's response_url.</summary>
    private static async Task NotifyAsync(ApprovalResult result, string? responseUrl, ApprovalsOptions options, SlackResponder responder, ILogger logger, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(responseUrl) || !responseUrl.StartsWith(options.SlackResponseUrlPrefix, StringComparison.OrdinalIgnoreCase))
            return;
        var text = result.Kind switch
        {
            ApprovalResultKind.Refused => $":no_entry: Not recorded: {OutboundText.Slack(result.Refusal!.Message)}",
            ApprovalResultKind.AlreadyRecorded => "Your decision was already recorded; nothing changed.",
            ApprovalResultKind.Recorded => string.Create(CultureInfo.InvariantCulture, $":ballot_box_with_check: Your {result.Vote?.Vote} was recorded ({result.Record?.Votes.Count(v => v.Vote == ApprovalVotes.Approve)} of {result.Record?.RequiredApprovals} approvals)."),
            _ => $":white_check_mark: Your {result.Vote?.Vote} decided the gate ({result.Record?.Status}).",
        };
        try
        {
            using var content = new StringContent(new JsonObject { ["response_type"] = "ephemeral", ["replace_original"] = false, ["text"] = text }.ToJsonString(), Encoding.UTF8, "application/json");
            using var response = await responder.Http.PostAsync(new Uri(responseUrl), content, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            Log.SlackResponseFailed(logger, e.Message);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3350, Level = LogLevel.Warning, Message = "Slack interaction refused: {Reason}")]
        public static partial void SlackRefused(ILogger logger, string reason);

        [LoggerMessage(EventId = 3351, Level = LogLevel.Warning, Message = "Slack response_url call failed: {Error}")]
        public static partial void SlackResponseFailed(ILogger logger, string error);

        [LoggerMessage(EventId = 3352, Level = LogLevel.Error, Message = "A Slack decision finished in the background with an error: {Error}")]
        public static partial void SlackLateDecisionFailed(ILogger logger, string error);

        [LoggerMessage(EventId = 3353, Level = LogLevel.Warning, Message = "A correctly signed Slack interaction was malformed and refused: {Problem}")]
        public static partial void SlackMalformed(ILogger logger, string problem);
    }
}

/// <summary>The fields of Slack's <c>block_actions</c> interaction that are used (read strictly: a wrong kind is a 400).</summary>
internal sealed record SlackInteraction(
    string? Type,
    SlackInteraction.UserRef? User,
    List<SlackInteraction.ActionRef>? Actions,
    [property: JsonPropertyName("trigger_id")] string? TriggerId,
    [property: JsonPropertyName("response_url")] string? ResponseUrl,
    SlackInteraction.ChannelRef? Channel,
    SlackInteraction.ContainerRef? Container,
    SlackInteraction.MessageRef? Message)
{
    public sealed record UserRef(string? Id, string? Username, string? Name);

    public sealed record ActionRef([property: JsonPropertyName("action_id")] string? ActionId, string? Value, [property: JsonPropertyName("action_ts")] string? ActionTs);

    public sealed record ChannelRef(string? Id);

    public sealed record ContainerRef([property: JsonPropertyName("channel_id")] string? ChannelId, [property: JsonPropertyName("message_ts")] string? MessageTs);

    public sealed record MessageRef(string? Ts);
}

/// <summary>The HTTP client for Slack's response_url calls (short timeout).</summary>
public sealed class SlackResponder : IDisposable
{
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(5) };

    public void Dispose() => Http.Dispose();
}
