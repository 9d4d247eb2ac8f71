using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using DrWorkflows.Activities.Notifications;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Approvals;

/// <summary>Members of Slack user groups (<c>usergroups.users.list</c>, scope <c>usergroups:read</c>).</summary>
public interface ISlackUserGroups
{
    Task<IReadOnlySet<string>> GetMembersAsync(string groupId, CancellationToken cancellationToken);
}

/// <summary>Looks groups up with the bot token, caching each for <see cref="ApprovalsOptions.SlackGroupCacheDuration"/>.</summary>
internal sealed class SlackUserGroups(HttpClient http, IOptions<NotificationsOptions> notifications, IOptions<ApprovalsOptions> options, TimeProvider clock) : ISlackUserGroups
{
    private readonly ConcurrentDictionary<string, (DateTimeOffset Until, IReadOnlySet<string> Members)> cache = new(StringComparer.Ordinal);

    public async Task<IReadOnlySet<string>> GetMembersAsync(string groupId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (cache.TryGetValue(groupId, out var cached) && cached.Until > now)
            return cached.Members;
        var slack = notifications.Value.Slack;
        if (!slack.IsConfigured)
            throw new ApprovalException("approval.slack-not-configured", $"Approver entry slack-group:{groupId} needs Slack: set Notifications:Slack:BotToken (with the usergroups:read scope).");
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(new Uri(slack.BaseUrl.TrimEnd('/') + "/"), "usergroups.users.list?usergroup=" + Uri.EscapeDataString(groupId)));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", slack.BotToken);
        using var response = await http.SendAsync(request, cancellationToken);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken)) as JsonObject;
        if (json?["ok"]?.GetValue<bool>() != true)
            throw new ApprovalException("approval.slack-group", $"Slack usergroups.users.list for {groupId} failed: {json?["error"]?.ToString() ?? "HTTP " + (int)response.StatusCode}. Check the group id and the usergroups:read scope.");
        var members = (json["users"] as JsonArray ?? []).Select(n => n?.GetValue<string>()).OfType<string>().ToHashSet(StringComparer.Ordinal);
        cache[groupId] = (now + options.Value.SlackGroupCacheDuration, members);
        return members;
    }
}
