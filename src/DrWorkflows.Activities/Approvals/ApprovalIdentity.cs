namespace DrWorkflows.Activities.Approvals;

/// <summary>
/// Who is deciding, as established by the channel: a verified Slack user id, a GitHub login from a signed
/// webhook, or the API key / signed-in user name with its server roles.
/// </summary>
public sealed record ApprovalIdentity(string Channel, string Subject, string DisplayName, IReadOnlyList<string> Roles)
{
    public static ApprovalIdentity Slack(string userId, string? userName = null) =>
        new(ApprovalChannels.Slack, userId, string.IsNullOrWhiteSpace(userName) ? userId : $"{userName} ({userId})", []);

    public static ApprovalIdentity GitHub(string login) => new(ApprovalChannels.GitHub, login, "@" + login, []);

    public static ApprovalIdentity User(string channel, string name, IReadOnlyList<string> roles) => new(channel, name, name, roles);

    /// <summary>API keys (API and CLI) and web users share one name space (<c>user:</c>).</summary>
    public bool IsUser => Channel is ApprovalChannels.Api or ApprovalChannels.Web or ApprovalChannels.Cli;

    public override string ToString() => $"{DisplayName} ({Channel})";
}
