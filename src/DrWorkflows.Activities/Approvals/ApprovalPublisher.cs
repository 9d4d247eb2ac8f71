using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using DrWorkflows.Activities.Notifications;
using DrWorkflows.Core.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Approvals;

/// <summary>What has been announced so far (kept in the gate's execution properties).</summary>
public sealed record ApprovalPublication(int? SlackTier, int? GitHubTier, bool GitHubDecided);

/// <summary>Shows a gate where on-call works: the Slack message (posted, then updated) and the incident issue.</summary>
public interface IApprovalPublisher
{
    /// <summary>Brings the channels up to date with <paramref name="record"/>. Never throws for a delivery failure: it is noted on the record.</summary>
    Task<ApprovalPublication> PublishAsync(ApprovalRecord record, ApprovalPublication published, CancellationToken cancellationToken);
}

internal sealed class ApprovalPublisher(
    IServiceProvider services,
    IApproverDirectory directory,
    IOptions<ApprovalsOptions> options,
    ILogger<ApprovalPublisher> logger) : IApprovalPublisher
{
    private const int MaxDeliveryErrors = 20;

    public async Task<ApprovalPublication> PublishAsync(ApprovalRecord record, ApprovalPublication published, CancellationToken cancellationToken)
    {
        var slackTier = published.SlackTier;
        var githubTier = published.GitHubTier;
        var githubDecided = published.GitHubDecided;
        var slackOptions = services.GetService<IOptions<NotificationsOptions>>()?.Value.Slack;
        var channel = record.SlackChannel ?? slackOptions?.DefaultChannel;
        if (slackOptions?.IsConfigured == true && !string.IsNullOrWhiteSpace(channel))
        {
            await GuardAsync(record, ApprovalChannels.Slack, async () =>
            {
                var slack = services.GetService<ISlackClient>();
                if (slack is null)
                    return;
                var (text, blocks) = SlackApprovalMessage.Build(record, directory, options.Value.PublicBaseUrl);
                if (record.SlackTs is null)
                {
                    var message = await slack.PostMessageAsync(channel, text, blocks, null, cancellationToken);
                    record.SlackChannel = message.Channel;
                    record.SlackTs = message.Ts;
                    slackTier = record.Tier;
                }
                else
                {
                    await slack.UpdateMessageAsync(record.SlackChannel ?? channel, record.SlackTs, text, blocks, cancellationToken);
                }

                if (record.Tier > (slackTier ?? 0) && record.Escalations.LastOrDefault() is { } escalation)
                {
                    var mentions = directory.SlackMentions(escalation.Approvers).Select(id => $"<@{id}>").ToList();
                    var who = mentions.Count > 0 ? string.Join(" ", mentions) : string.Join(", ", escalation.People);
                    var note = $"Escalated to tier {escalation.Tier} ({SlackApprovalMessage.Escape(escalation.Name)}): {who}, nobody has decided *{SlackApprovalMessage.Escape(record.Title)}* yet. Please decide by {SlackApprovalMessage.Date(record.Deadline)} (buttons above).";
                    await slack.PostMessageAsync(record.SlackChannel ?? channel, note, null, record.SlackTs, cancellationToken);
                    slackTier = record.Tier;
                }
            });
        }

        var github = options.Value.GitHub.CanPost ? services.GetService<IApprovalGitHubClient>() : null;
        if (github is not null && !string.IsNullOrWhiteSpace(record.GitHubIssue))
        {
            if (githubTier is null && !record.IsDecided)
            {
                await GuardAsync(record, ApprovalChannels.GitHub, async () =>
                {
                    await github.PostCommentAsync(record.GitHubIssue, GitHubApprovalText.Request(record, options.Value.PublicBaseUrl), cancellationToken);
                    githubTier = record.Tier;
                });
            }

            if (record.IsDecided && !githubDecided)
            {
                await GuardAsync(record, ApprovalChannels.GitHub, async () =>
                {
                    await github.PostCommentAsync(record.GitHubIssue, GitHubApprovalText.Decided(record), cancellationToken);
                    githubDecided = true;
                });
            }
        }

        return new ApprovalPublication(slackTier, githubTier, githubDecided);
    }

    private async Task GuardAsync(ApprovalRecord record, string channel, Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.DeliveryFailed(logger, record.ApprovalId, channel, e.Message);
            if (record.DeliveryErrors.Count < MaxDeliveryErrors)
                record.DeliveryErrors.Add($"{channel}: {e.Message}");
        }
    }
}

/// <summary>Action ids of the gate's Slack buttons: <c>drw.approve.{n}</c> (value <c>{approvalId}|{n}</c>, n = option number, 0 = plain approval) and <c>drw.reject</c> (value = approval id).</summary>
public static class SlackApprovalMessageIds
{
    public const string ApprovePrefix = "drw.approve.";
    public const string Reject = "drw.reject";
}

/// <summary>The gate as a Slack Block Kit message.</summary>
internal static class SlackApprovalMessage
{
    private const string ApproveActionPrefix = SlackApprovalMessageIds.ApprovePrefix;
    private const string RejectAction = SlackApprovalMessageIds.Reject;
    private const int MaxButtons = 24;

    public static (string Text, JsonArray Blocks) Build(ApprovalRecord record, IApproverDirectory directory, string? publicBaseUrl)
    {
        var blocks = new JsonArray
        {
            new JsonObject { ["type"] = "header", ["text"] = Plain(Cut($"Approval: {record.Title}", 150)) },
            Section(record.Question),
        };
        if (!string.IsNullOrWhiteSpace(record.EvidenceText))
            blocks.Add(Section("*Evidence*\n" + record.EvidenceText));
        if (FactsText(record.Facts) is { Length: > 0 } facts)
            blocks.Add(Section("*Key facts*\n" + facts, escape: false));

        var mentions = directory.SlackMentions(record.Approvers.Concat(record.Escalations.SelectMany(e => e.Approvers))).Select(id => $"<@{id}>").ToList();
        var who = mentions.Count > 0 ? string.Join(" ", mentions) : Escape(string.Join(", ", record.Approvers));
        var context = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"Approvers: {who} · needs {record.RequiredApprovals} approval(s) of the same option")
            .Append(record.ForbidSelfApproval ? " · the run's starter cannot approve" : string.Empty)
            .Append(record.IsDecided ? string.Empty : $" · decide by {Date(record.Deadline)}")
            .Append(CultureInfo.InvariantCulture, $" · approval `{Escape(record.ApprovalId)}` · evidence sha256 `{record.EvidenceSha256[..16]}…`");
        if (!string.IsNullOrWhiteSpace(publicBaseUrl))
            context.Append(CultureInfo.InvariantCulture, $" · <{publicBaseUrl.TrimEnd('/')}/ui/approvals/{Uri.EscapeDataString(record.ApprovalId)}|open in DrWorkflows>");
        blocks.Add(new JsonObject { ["type"] = "context", ["elements"] = new JsonArray(Markdown(context.ToString())) });

        if (record.Votes.Count > 0)
        {
            var votes = string.Join("\n", record.Votes.Select(v =>
                $"{(v.Vote == ApprovalVotes.Approve ? ":white_check_mark:" : ":x:")} {Escape(v.By)} {v.Vote}d{(v.Choice is null ? string.Empty : $" *{Escape(v.Choice)}*")} via {v.Channel}, {Date(v.At)}{(v.Comment is null ? string.Empty : $": _{Escape(v.Comment)}_")}"));
            blocks.Add(new JsonObject { ["type"] = "context", ["elements"] = new JsonArray(Markdown(Cut(votes, 2900))) });
        }

        string text;
        if (record.IsDecided)
        {
            var decision = ApprovalDecision.From(record);
            var summary = record.Status switch
            {
                ApprovalStatus.Approved => $":white_check_mark: *Approved*{(decision.Option is null ? string.Empty : $" *{Escape(decision.Option)}*")}{(decision.Value is null ? string.Empty : $" `{Escape(decision.Value.ToJsonString(Json.Options))}`")} by {Escape(string.Join(", ", decision.Approvers))}",
                ApprovalStatus.Rejected => $":x: *Rejected* by {Escape(string.Join(", ", decision.Approvers))}",
                _ => $":hourglass: *Timed out*: nobody decided; the safe default *{Escape(record.Outcome ?? record.SafeDefault)}* was taken",
            };
            summary += $" at {Date(record.DecidedAt ?? record.CreatedAt)}" + (decision.Comment is null ? string.Empty : $"\n> {Escape(decision.Comment)}");
            blocks.Add(Section(summary, escape: false));
            text = $"Approval {record.Status.ToString().ToLowerInvariant()}: {Escape(record.Title)}";
        }
        else
        {
            var actions = new JsonArray();
            if (record.InputSchema is null)
            {
                if (record.Options.Count == 0)
                    actions.Add(Button("Approve", ApproveActionPrefix + "0", record.ApprovalId + "|0", "primary"));
                for (var i = 0; i < record.Options.Count && i < MaxButtons; i++)
                {
                    // An option that needs a typed confirmation gets no button: a click cannot carry the phrase.
                    if (ApprovalRules.PhraseFor(record, record.Options[i]) is not null)
                        continue;
                    var isDefault = record.Options[i] == record.DefaultOption;
                    actions.Add(Button(Cut((isDefault ? "Approve (default): " : "Approve: ") + record.Options[i], 75), ApproveActionPrefix + (i + 1).ToString(CultureInfo.InvariantCulture), $"{record.ApprovalId}|{i + 1}",
                        isDefault || record.DefaultOption is null ? "primary" : null));
                }
            }

            var reject = Button("Reject", RejectAction, record.ApprovalId, "danger");
            reject["confirm"] = new JsonObject
            {
                ["title"] = Plain("Reject?"),
                ["text"] = Plain(Cut($"Reject '{record.Title}'? One rejection ends the gate.", 300)),
                ["confirm"] = Plain("Reject"),
                ["deny"] = Plain("Cancel"),
            };
            actions.Add(reject);
            blocks.Add(new JsonObject { ["type"] = "actions", ["block_id"] = "drw.approval", ["elements"] = actions });
            if (record.InputSchema is not null || record.Options.Count > MaxButtons)
                blocks.Add(new JsonObject { ["type"] = "context", ["elements"] = new JsonArray(Markdown("Approving needs an answer: use the approvals page, `POST /api/approvals/{id}/approve`, or `/approve <answer>` on the incident issue.")) });
            if (record.ConfirmationPhrases is { Count: > 0 } phrases)
            {
                var lines = record.Options.Select((o, i) => (Option: o, Number: i + 1)).Where(o => phrases.ContainsKey(o.Option))
                    .Select(o => $"*{o.Number}. {Escape(o.Option)}*: type `{Escape(phrases[o.Option])}`");
                blocks.Add(new JsonObject { ["type"] = "context", ["elements"] = new JsonArray(Markdown(Cut(
                    ":warning: These options need a typed confirmation and have no button: " + string.Join(" · ", lines)
                    + ". Confirm on the approvals page, with `drw approvals approve " + record.ApprovalId + " --option N --confirm \"<phrase>\"`, or with `/approve N` and a line `confirm: <phrase>` on the incident issue.", 2900))) });
            }
            text = $"Approval needed: {Escape(record.Title)}: {Escape(record.Question)}";
        }

        return (text, blocks);
    }

    private static string? FactsText(JsonNode? facts)
    {
        switch (facts)
        {
            case null:
                return null;
            case JsonObject obj:
                return Cut(string.Join("\n", obj.Select(p => $"• *{Escape(p.Key)}*: {Escape(Show(p.Value))}")), 2900);
            case JsonArray array:
                var lines = array.Take(15).Select((item, i) => item is JsonObject o
                    ? $"{i + 1}. " + string.Join(" · ", o.Select(p => $"{Escape(p.Key)}: *{Escape(Show(p.Value))}*"))
                    : $"{i + 1}. {Escape(Show(item))}").ToList();
                if (array.Count > 15)
                    lines.Add($"… and {array.Count - 15} more (see the approvals page)");
                return Cut(string.Join("\n", lines), 2900);
            default:
                return Escape(Show(facts));
        }
    }

    private static string Show(JsonNode? value) => value is null ? "null" : NotificationTemplate.Format(value);

    public static string Date(DateTimeOffset at) =>
        $"<!date^{at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}^{{date_short_pretty}} {{time}}|{at.UtcDateTime:yyyy-MM-dd HH:mm} UTC>";

    /// <summary>Slack's three control characters.</summary>
    public static string Escape(string text) => OutboundText.Slack(text);

    private static JsonObject Section(string text, bool escape = true) =>
        new() { ["type"] = "section", ["text"] = Markdown(Cut(escape ? Escape(text) : text, 2900)) };

    private static JsonObject Markdown(string text) => new() { ["type"] = "mrkdwn", ["text"] = text };

    private static JsonObject Plain(string text) => new() { ["type"] = "plain_text", ["text"] = text, ["emoji"] = true };

    private static JsonObject Button(string label, string actionId, string value, string? style)
    {
        var button = new JsonObject
        {
            ["type"] = "button",
            ["text"] = Plain(label),
            ["action_id"] = actionId,
            ["value"] = value,
        };
        if (style is not null)
            button["style"] = style;
        return button;
    }

    private static string Cut(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";
}

/// <summary>
/// The gate as GitHub issue comments (Markdown). Everything the run computed is neutralised for Markdown (no HTML,
/// no mentions, no fence or table break-outs); only evidence the designer marked as trusted Markdown is posted as is.
/// </summary>
internal static partial class GitHubApprovalText
{
    public static string Request(ApprovalRecord record, string? publicBaseUrl)
    {
        var text = new StringBuilder()
            .Append("### Approval needed: ").Append(OutboundText.GitHubInline(record.Title)).Append("\n\n")
            .Append(OutboundText.GitHubMarkdown(record.Question)).Append("\n\n");
        if (!string.IsNullOrWhiteSpace(record.EvidenceText))
            text.Append("**Evidence**\n\n").Append(record.EvidenceIsMarkdown ? record.EvidenceText : OutboundText.GitHubMarkdown(record.EvidenceText)).Append("\n\n");
        if (record.Facts is not null)
            text.Append(OutboundText.GitHubCodeBlock(record.Facts.ToJsonString(Json.Indented), "json")).Append("\n\n");
        if (record.Options.Count > 0)
        {
            text.Append("**Options**\n\n");
            for (var i = 0; i < record.Options.Count; i++)
            {
                text.Append(CultureInfo.InvariantCulture, $"{i + 1}. {OutboundText.GitHubInline(record.Options[i])}");
                if (record.Options[i] == record.DefaultOption)
                    text.Append(" **(default: `/approve` alone takes it)**");
                if (ApprovalRules.PhraseFor(record, record.Options[i]) is { } phrase)
                    text.Append(" **(needs a typed confirmation: add a line ").Append(OutboundText.GitHubCode("confirm: " + phrase)).Append(")**");
                text.Append('\n');
            }

            text.Append('\n');
        }

        text.Append(CultureInfo.InvariantCulture, $"Answer with a comment whose first line is `/approve{(record.Options.Count > 0 ? " <option number or text>" : record.InputSchema is not null ? " <answer as JSON>" : string.Empty)}` or `/reject`; further lines are your comment. ")
            .Append(CultureInfo.InvariantCulture, $"Needs {record.RequiredApprovals} approval(s) of the same option{(record.ForbidSelfApproval ? "; the run's starter cannot approve" : string.Empty)}; decide by {record.Deadline.UtcDateTime:yyyy-MM-dd HH:mm} UTC.\n\n")
            .Append("<sub>approval ").Append(OutboundText.GitHubCode(record.ApprovalId)).Append(CultureInfo.InvariantCulture, $" · evidence sha256 `{record.EvidenceSha256}`");
        if (!string.IsNullOrWhiteSpace(publicBaseUrl))
            text.Append(CultureInfo.InvariantCulture, $" · [open in DrWorkflows]({publicBaseUrl.TrimEnd('/')}/ui/approvals/{Uri.EscapeDataString(record.ApprovalId)})");
        return text.Append("</sub>").ToString();
    }

    public static string Decided(ApprovalRecord record)
    {
        var decision = ApprovalDecision.From(record);
        var who = string.Join(", ", Deciders(record, decision));
        var what = record.Status switch
        {
            ApprovalStatus.Approved => $"**Approved**{(decision.Option is null ? string.Empty : $" option **{OutboundText.GitHubInline(decision.Option)}**")}{(decision.Value is null ? string.Empty : " " + OutboundText.GitHubCode(decision.Value.ToJsonString(Json.Options)))} by {who}",
            ApprovalStatus.Rejected => $"**Rejected** by {who}",
            _ => $"**Timed out**: nobody decided; the safe default **{OutboundText.GitHubInline(record.Outcome)}** was taken",
        };
        return $"Approval {OutboundText.GitHubCode(record.ApprovalId)} ({OutboundText.GitHubInline(record.Title)}): {what} at {record.DecidedAt?.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC."
            + (decision.Comment is null ? string.Empty : "\n\n" + OutboundText.GitHubQuote(decision.Comment));
    }

    /// <summary>
    /// Who decided: a GitHub approver (a login GitHub vouched for in the signed webhook) is mentioned as <c>@login</c>;
    /// every other name (Slack display names, key names) is neutralised, so a name cannot mention anyone.
    /// </summary>
    private static IEnumerable<string> Deciders(ApprovalRecord record, ApprovalDecision decision) =>
        decision.Votes.Count == 0 || decision.Approvers.Count == 0
            ? decision.Approvers.Select(OutboundText.GitHubInline)
            : decision.Approvers.Select(name =>
                record.Votes.Find(v => v.By == name) is { Channel: ApprovalChannels.GitHub } vote && GitHubLogin().IsMatch(vote.Subject)
                    ? "@" + vote.Subject
                    : OutboundText.GitHubInline(name));

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")]
    private static partial System.Text.RegularExpressions.Regex GitHubLogin();
}
