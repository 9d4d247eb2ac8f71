using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Serialization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Notifications;

/// <summary>A posted Slack message. <see cref="Channel"/> is the channel id Slack answered with (needed to update it).</summary>
public sealed record SlackMessage(string Channel, string Ts, string? ThreadTs)
{
    /// <summary>The ts of the thread's first message: the one to reply to for later updates of the same incident.</summary>
    public string ThreadRootTs => ThreadTs ?? Ts;
}

/// <summary>The Slack Web API calls DrWorkflows makes (bot token, <c>chat:write</c>).</summary>
public interface ISlackClient
{
    /// <summary>
    /// <c>chat.postMessage</c>: posts <paramref name="text"/> (the notification text and the fallback of
    /// <paramref name="blocks"/>) to <paramref name="channel"/>, as a reply in the thread of
    /// <paramref name="threadTs"/> when given.
    /// </summary>
    Task<SlackMessage> PostMessageAsync(string channel, string text, JsonArray? blocks, string? threadTs, CancellationToken cancellationToken);

    /// <summary><c>chat.update</c>: replaces the text and blocks of the message <paramref name="ts"/> (e.g. removes approval buttons).</summary>
    Task<SlackMessage> UpdateMessageAsync(string channel, string ts, string text, JsonArray? blocks, CancellationToken cancellationToken);
}

/// <summary>
/// Slack Web API over <see cref="HttpClient"/>. Slack reports errors as HTTP 200 with <c>{"ok":false,"error":"…"}</c>:
/// those are turned into <see cref="NotificationException"/>s naming Slack's code. HTTP 429 is retried after
/// the Retry-After Slack sends, 5xx and network errors with backoff, a bounded number of times.
/// </summary>
internal sealed class SlackClient : ISlackClient, IDisposable
{
    // Slack's transient error codes: the request was not processed and can be sent again.
    private static readonly HashSet<string> TransientErrors = new(StringComparer.Ordinal)
    {
        "internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited",
    };

    private readonly NotificationHttp http;
    private readonly SlackOptions options;
    private readonly ILogger<SlackClient> logger;

    public SlackClient(HttpClient http, IOptions<NotificationsOptions> options, TimeProvider clock, ILogger<SlackClient> logger)
    {
        this.options = options.Value.Slack;
        this.logger = logger;
        this.http = new NotificationHttp(http, this.options, NotificationChannels.Slack, clock, logger);
    }

    public void Dispose() => http.Dispose();

    public Task<SlackMessage> PostMessageAsync(string channel, string text, JsonArray? blocks, string? threadTs, CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            ["channel"] = RequireChannel(channel),
            ["text"] = text,
        };
        if (blocks is { Count: > 0 })
            body["blocks"] = blocks.DeepClone();
        if (!string.IsNullOrWhiteSpace(threadTs))
            body["thread_ts"] = threadTs;
        body["unfurl_links"] = false;
        return CallAsync("chat.postMessage", body, string.IsNullOrWhiteSpace(threadTs) ? null : threadTs, cancellationToken);
    }

    public Task<SlackMessage> UpdateMessageAsync(string channel, string ts, string text, JsonArray? blocks, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(ts))
            throw new NotificationException("Slack chat.update needs the ts of the message to update.", NotificationChannels.Slack, retryable: false) { Code = "slack.no-ts" };
        var body = new JsonObject
        {
            ["channel"] = RequireChannel(channel),
            ["ts"] = ts,
            ["text"] = text,
            ["blocks"] = blocks?.DeepClone() ?? new JsonArray(),
        };
        return CallAsync("chat.update", body, null, cancellationToken);
    }

    private string RequireChannel(string? channel)
    {
        var value = string.IsNullOrWhiteSpace(channel) ? options.DefaultChannel : channel;
        return string.IsNullOrWhiteSpace(value)
            ? throw new NotificationException("No Slack channel given and Notifications:Slack:DefaultChannel is not set.", NotificationChannels.Slack, retryable: false) { Code = "slack.no-channel" }
            : value.Trim();
    }

    /// <summary>Preflight (read-only): <c>auth.test</c>; returns the bot's user and team, or throws naming Slack's error.</summary>
    public async Task<string> AuthTestAsync(CancellationToken cancellationToken)
    {
        if (!options.IsConfigured)
            throw new NotificationException("Slack is not configured: set Notifications:Slack:BotToken (environment Notifications__Slack__BotToken).", NotificationChannels.Slack, retryable: false) { Code = "slack.not-configured" };
        using var response = await SendAsync("auth.test", "(auth.test)", "{}", cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        JsonNode? body = null;
        try
        {
            body = JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException)
        {
        }

        if (body?["ok"]?.GetValue<bool>() == true)
            return $"{body["user"]} in {body["team"]}";
        var error = body?["error"]?.ToString() ?? $"HTTP {(int)response.StatusCode}";
        throw new NotificationException($"Slack rejected the bot token (auth.test: {error}). Check Notifications:Slack:BotToken.", NotificationChannels.Slack, retryable: false) { Code = "slack." + error };
    }

    private async Task<SlackMessage> CallAsync(string method, JsonObject body, string? threadTs, CancellationToken cancellationToken)
    {
        if (!options.IsConfigured)
            throw new NotificationException("Slack is not configured: set Notifications:Slack:BotToken (environment Notifications__Slack__BotToken).", NotificationChannels.Slack, retryable: false) { Code = "slack.not-configured" };
        var channel = body["channel"]!.GetValue<string>();
        var payload = body.ToJsonString(Json.Options);
        var message = await http.WithRetriesAsync(
            $"Slack {method} to {channel}",
            async ct =>
            {
                using var response = await SendAsync(method, channel, payload, ct);
                var text = await response.Content.ReadAsStringAsync(ct);
                return Parse(method, channel, response.StatusCode, text, threadTs);
            },
            cancellationToken);
        Log.SlackPosted(logger, method, message.Channel, message.Ts);
        return message;
    }

    private async Task<HttpResponseMessage> SendAsync(string method, string channel, string payload, CancellationToken cancellationToken)
    {
        var response = await http.SendAsync(
            HttpMethod.Post, options.BaseUrl, method, new AuthenticationHeaderValue("Bearer", options.BotToken), payload, $"Slack {method} to {channel}", cancellationToken);
        if (response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            var wait = NotificationHttp.RetryAfter(response);
            response.Dispose();
            Log.SlackRateLimited(logger, method, wait);
            throw new NotificationException($"Slack {method} to {channel} was rate limited (HTTP 429, Retry-After {wait.TotalSeconds:0} s).", NotificationChannels.Slack, retryable: true)
            {
                Code = "slack.rate-limited",
                ServiceError = "ratelimited",
                RetryAfter = wait,
            };
        }

        if ((int)response.StatusCode >= 500)
        {
            var status = (int)response.StatusCode;
            response.Dispose();
            throw http.StatusError($"Slack {method} to {channel}: HTTP {status} from Slack.", status, retryable: true);
        }

        return response;
    }

    private static SlackMessage Parse(string method, string channel, HttpStatusCode status, string text, string? threadTs)
    {
        JsonNode? json;
        try
        {
            json = JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            json = null;
        }

        if (json is not JsonObject answer || answer["ok"] is not JsonValue okValue || okValue.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
        {
            var shown = text.Length > 200 ? text[..200] : text;
            throw new NotificationException($"Slack {method} to {channel}: HTTP {(int)status} with an answer that is not Slack's JSON: {shown}", NotificationChannels.Slack, retryable: false) { Code = "slack.bad-response" };
        }

        if (!okValue.GetValue<bool>())
        {
            var error = answer["error"]?.GetValue<string>() ?? "unknown_error";
            var detail = answer["response_metadata"]?["messages"] is JsonArray messages && messages.Count > 0
                ? " (" + string.Join("; ", messages.Select(m => m?.ToString())) + ")"
                : string.Empty;
            throw new NotificationException($"Slack {method} to {channel} failed: {error}{detail}. {Hint(error)}", NotificationChannels.Slack, TransientErrors.Contains(error))
            {
                Code = "slack." + error,
                ServiceError = error,
            };
        }

        var ts = answer["ts"]?.GetValue<string>()
            ?? throw new NotificationException($"Slack {method} to {channel}: the answer has no ts.", NotificationChannels.Slack, retryable: false) { Code = "slack.bad-response" };
        var answeredChannel = answer["channel"]?.GetValue<string>() ?? channel;
        return new SlackMessage(answeredChannel, ts, threadTs);
    }

    private static string Hint(string error) => error switch
    {
        "invalid_auth" or "not_authed" or "token_revoked" or "token_expired" or "account_inactive" =>
            "Check Notifications:Slack:BotToken (a bot token xoxb-… of an installed app).",
        "missing_scope" => "Add the chat:write scope to the Slack app and reinstall it.",
        "channel_not_found" => "Check the channel (an id like C0123456789 is safest) and that the bot can see it.",
        "not_in_channel" => "Invite the bot to the channel (/invite @bot) or give the app chat:write.public.",
        "is_archived" => "The channel is archived: use another channel.",
        "invalid_blocks" or "invalid_blocks_format" => "Fix the Block Kit JSON of the message.",
        "msg_too_long" => "Shorten the message (Slack's limit is 40,000 characters).",
        "message_not_found" or "cant_update_message" or "edit_window_closed" => "The message to update does not exist or was not posted by this bot.",
        "no_text" => "Give the message a text.",
        _ when TransientErrors.Contains(error) => "Slack had a temporary problem; the call was retried.",
        _ => "See Slack's Web API documentation for this error code.",
    };
}
