using System.Net;
using System.Text;
using DrWorkflows.Activities.Notifications;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Server.Operations;

/// <summary>What became of a page.</summary>
/// <param name="Sent">Channels that took it now (<c>slack</c>, <c>email</c>).</param>
/// <param name="AlreadySent">Channels that had taken it before (the page is sent once per key and channel).</param>
/// <param name="Failed">Channels that refused it, with why (tried again the next time the same page is asked for).</param>
public sealed record PageOutcome(IReadOnlyList<string> Sent, IReadOnlyList<string> AlreadySent, IReadOnlyList<string> Failed)
{
    /// <summary>On-call has it on at least one channel (now or earlier).</summary>
    public bool Delivered => Sent.Count > 0 || AlreadySent.Count > 0;

    /// <summary>For answers and logs: <c>sent by slack, email</c>, <c>already sent</c>, <c>not sent: …</c>.</summary>
    public string Describe() =>
        Sent.Count > 0 ? "sent by " + string.Join(", ", Sent)
        : AlreadySent.Count > 0 ? "already sent by " + string.Join(", ", AlreadySent)
        : Failed.Count > 0 ? "not sent: " + string.Join("; ", Failed)
        : "not sent: no channel is configured (Notifications:Slack or Notifications:Email)";
}

/// <summary>
/// Pages on-call (the first tier, on the channels of <see cref="OnCallChannels"/>) about something that happened
/// outside a run, once per key and channel: the key is recorded in the store's schedule table (shared by every node)
/// only after the channel took the page, so a page Slack refused is tried again the next time it is asked for.
/// </summary>
public sealed partial class OnCallPager(
    IScheduleStore sent,
    OnCallChannels onCall,
    IOptions<RuntimeOptions> runtime,
    ISlackClient slack,
    IEmailSender email,
    TimeProvider clock,
    ILogger<OnCallPager> logger)
{
    /// <summary>Sends <paramref name="subject"/> and <paramref name="text"/> (plain text) unless a page with <paramref name="key"/> went out before.</summary>
    public async Task<PageOutcome> PageOnceAsync(string key, string subject, string text, CancellationToken cancellationToken)
    {
        var done = new List<string>();
        var before = new List<string>();
        var failed = new List<string>();
        if (onCall.SlackConfigured)
            await SendOnceAsync("slack", key, ct => SendSlackAsync(subject, text, ct), done, before, failed, cancellationToken);
        if (onCall.EmailConfigured)
            await SendOnceAsync("email", key, ct => SendEmailAsync(key, subject, text, ct), done, before, failed, cancellationToken);
        var outcome = new PageOutcome(done, before, failed);
        if (!outcome.Delivered)
            Log.NotPaged(logger, subject, outcome.Describe());
        return outcome;
    }

    private async Task SendOnceAsync(string channel, string key, Func<CancellationToken, Task> send, List<string> done, List<string> before, List<string> failed, CancellationToken cancellationToken)
    {
        var mark = $"page:{channel}:{key}";
        if (await sent.GetLastSlotAsync(mark, cancellationToken) is not null)
        {
            before.Add(channel);
            return;
        }

        try
        {
            await send(cancellationToken);
        }
        catch (NotificationException e)
        {
            failed.Add($"{channel}: {e.Message}");
            return;
        }

        var now = clock.GetUtcNow();
        await sent.TryClaimSlotAsync(mark, now, runtime.Value.NodeId, now, cancellationToken);
        Log.Paged(logger, channel, key);
        done.Add(channel);
    }

    private async Task SendSlackAsync(string subject, string text, CancellationToken cancellationToken)
    {
        var message = new StringBuilder(":rotating_light: *").Append(Slack(subject)).Append("*\n").Append(Slack(text));
        if (onCall.SlackMentions is { Count: > 0 } mentions)
            message.Append("\nOn call: ").AppendJoin(", ", mentions);
        await slack.PostMessageAsync(onCall.SlackChannel!, message.ToString(), null, null, cancellationToken);
    }

    private Task SendEmailAsync(string key, string subject, string text, CancellationToken cancellationToken) =>
        email.SendAsync(new EmailMessage
        {
            To = onCall.EmailRecipients,
            Subject = $"[DrWorkflows] {subject}",
            TextBody = text + "\n",
            HtmlBody = "<pre>" + WebUtility.HtmlEncode(text) + "</pre>",
            MessageId = $"page.{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..24]}@drworkflows",
        }, cancellationToken);

    private static string Slack(string text) => NotificationTemplate.Escape(text, TemplateEscaping.Slack);

    private static partial class Log
    {
        [LoggerMessage(EventId = 36, Level = LogLevel.Information, Message = "On-call paged by {Channel} ({Key})")]
        public static partial void Paged(ILogger logger, string channel, string key);

        [LoggerMessage(EventId = 37, Level = LogLevel.Error, Message = "On-call could not be paged about \"{Subject}\": {Why}")]
        public static partial void NotPaged(ILogger logger, string subject, string why);
    }
}
