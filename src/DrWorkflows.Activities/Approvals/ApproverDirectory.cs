using DrWorkflows.Activities.Notifications;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Approvals;

/// <summary>
/// Answers "who is this person" and "may they decide this gate". Approver entries:
/// <list type="bullet">
/// <item><c>slack:U…</c> (or a bare Slack member id <c>U…</c>/<c>W…</c>): that Slack user.</item>
/// <item><c>slack-group:S…</c>: members of a Slack user group (looked up with <c>usergroups.users.list</c>).</item>
/// <item><c>github:login</c>: that GitHub user.</item>
/// <item><c>user:name</c>: that API key or web user.</item>
/// <item><c>role:approver</c>: any API key or web user holding that server role.</item>
/// <item><c>person:Name</c>: that person, through any of their linked identities.</item>
/// <item><c>contact:Role</c>: the people of that contact-tree role.</item>
/// <item><c>group:name</c>: the entries of <see cref="ApprovalsOptions.Groups"/>.</item>
/// </list>
/// </summary>
public interface IApproverDirectory
{
    /// <summary>The person an identity belongs to: <c>person:Name</c> when linked, else <c>slack:U…</c>, <c>github:login</c>, <c>user:name</c>.</summary>
    string PersonKey(ApprovalIdentity identity);

    /// <summary>The person key of a run's <c>StartedBy</c> text (<c>name (channel)</c>).</summary>
    string? PersonKeyOfStarter(string? startedBy);

    Task<bool> IsAllowedAsync(ApprovalRecord record, ApprovalIdentity identity, CancellationToken cancellationToken);

    /// <summary>Slack user ids to mention for the approver entries (best effort, for messages).</summary>
    IReadOnlyList<string> SlackMentions(IEnumerable<string> entries);
}

internal sealed class ApproverDirectory : IApproverDirectory
{
    private readonly List<Person> people = [];
    private readonly ApprovalsOptions options;
    private readonly IContactTree? contacts;
    private readonly ISlackUserGroups? slackGroups;

    public ApproverDirectory(IOptions<ApprovalsOptions> options, IContactTree? contacts = null, ISlackUserGroups? slackGroups = null)
    {
        this.options = options.Value;
        this.contacts = contacts;
        this.slackGroups = slackGroups;
        foreach (var p in this.options.People)
        {
            var person = Find(p.Name) ?? Add(p.Name);
            AddIf(person.SlackUserIds, p.SlackUserId);
            AddIf(person.GitHubLogins, p.GitHubLogin);
            AddIf(person.Emails, p.Email);
            foreach (var name in p.UserNames)
                AddIf(person.UserNames, name);
        }

        if (contacts is not null)
        {
            foreach (var contact in contacts.Tiers.SelectMany(t => t.People).Concat(ContactRoles.All.SelectMany(contacts.GetPeople)))
            {
                if (string.IsNullOrWhiteSpace(contact.Name))
                    continue;
                var person = Find(contact.Name) ?? Add(contact.Name);
                AddIf(person.SlackUserIds, contact.SlackUserId);
                AddIf(person.Emails, contact.Email);
            }
        }
    }

    public string PersonKey(ApprovalIdentity identity) =>
        FindPerson(identity) is { } person ? "person:" + person.Name : RawKey(identity.Channel, identity.Subject);

    public string? PersonKeyOfStarter(string? startedBy)
    {
        if (string.IsNullOrWhiteSpace(startedBy))
            return null;
        var text = startedBy.Trim();
        var channel = ApprovalChannels.Api;
        var open = text.LastIndexOf(" (", StringComparison.Ordinal);
        if (open > 0 && text.EndsWith(')'))
        {
            channel = text[(open + 2)..^1].Trim().ToLowerInvariant();
            text = text[..open].Trim();
        }

        channel = channel switch
        {
            ApprovalChannels.Slack or ApprovalChannels.GitHub => channel,
            _ => ApprovalChannels.Api,
        };
        return PersonKey(new ApprovalIdentity(channel, text, text, []));
    }

    public async Task<bool> IsAllowedAsync(ApprovalRecord record, ApprovalIdentity identity, CancellationToken cancellationToken)
    {
        var entries = record.Approvers.Concat(record.Escalations.SelectMany(e => e.Approvers));
        foreach (var entry in entries)
        {
            if (await MatchesAsync(entry, identity, 0, cancellationToken))
                return true;
        }

        return false;
    }

    public IReadOnlyList<string> SlackMentions(IEnumerable<string> entries)
    {
        var result = new List<string>();
        foreach (var entry in entries)
            CollectMentions(entry, result, 0);
        return [.. result.Distinct(StringComparer.Ordinal)];
    }

    private void CollectMentions(string entry, List<string> result, int depth)
    {
        if (depth > 5)
            return;
        var (kind, value) = Split(entry);
        switch (kind)
        {
            case "slack":
                result.Add(value);
                break;
            case "person":
                if (Find(value) is { } person)
                    result.AddRange(person.SlackUserIds);
                break;
            case "contact":
                if (contacts is not null)
                    result.AddRange(contacts.GetPeople(value).Select(p => p.SlackUserId).OfType<string>().Where(s => s.Length > 0));
                break;
            case "group":
                if (options.Groups.TryGetValue(value, out var members))
                {
                    foreach (var member in members)
                        CollectMentions(member, result, depth + 1);
                }

                break;
        }
    }

    private async Task<bool> MatchesAsync(string entry, ApprovalIdentity identity, int depth, CancellationToken cancellationToken)
    {
        if (depth > 5)
            return false;
        var (kind, value) = Split(entry);
        var person = FindPerson(identity);
        switch (kind)
        {
            case "slack":
                return (identity.Channel == ApprovalChannels.Slack && identity.Subject == value) || person?.SlackUserIds.Contains(value) == true;
            case "github":
                return (identity.Channel == ApprovalChannels.GitHub && Same(identity.Subject, value)) || person?.GitHubLogins.Contains(value) == true;
            case "user":
                return (identity.IsUser && Same(identity.Subject, value)) || person?.UserNames.Contains(value) == true;
            case "role":
                return identity.IsUser && identity.Roles.Contains(value, StringComparer.OrdinalIgnoreCase);
            case "person":
                return person is not null && Same(person.Name, value);
            case "contact":
                return person is not null && contacts is not null && contacts.GetPeople(value).Any(c => Same(c.Name, person.Name));
            case "group":
                if (options.Groups.TryGetValue(value, out var members))
                {
                    foreach (var member in members)
                    {
                        if (await MatchesAsync(member, identity, depth + 1, cancellationToken))
                            return true;
                    }
                }

                return false;
            case "slack-group":
                if (slackGroups is null)
                    return false;
                var ids = identity.Channel == ApprovalChannels.Slack ? [identity.Subject] : person?.SlackUserIds.ToList() ?? [];
                if (ids.Count == 0)
                    return false;
                var groupMembers = await slackGroups.GetMembersAsync(value, cancellationToken);
                return ids.Any(groupMembers.Contains);
            default:
                return false;
        }
    }

    /// <summary>Splits <c>kind:value</c>; a bare Slack member id is <c>slack:</c>, any other bare word <c>user:</c>.</summary>
    internal static (string Kind, string Value) Split(string entry)
    {
        var text = entry.Trim();
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0)
            return (text[..colon].Trim().ToLowerInvariant(), text[(colon + 1)..].Trim());
        if (text.StartsWith('@'))
            return ("github", text[1..]);
        return IsSlackId(text) ? ("slack", text) : ("user", text);
    }

    /// <summary>Entry kinds a gate accepts.</summary>
    internal static readonly string[] Kinds = ["slack", "slack-group", "github", "user", "role", "person", "contact", "group"];

    internal static bool IsSlackId(string text) =>
        text.Length >= 9 && text[0] is 'U' or 'W' && text.All(c => char.IsAsciiLetterUpper(c) || char.IsAsciiDigit(c));

    private Person? FindPerson(ApprovalIdentity identity) => identity.Channel switch
    {
        ApprovalChannels.Slack => people.Find(p => p.SlackUserIds.Contains(identity.Subject)),
        ApprovalChannels.GitHub => people.Find(p => p.GitHubLogins.Contains(identity.Subject)),
        _ when identity.IsUser => people.Find(p => p.UserNames.Contains(identity.Subject) || p.Emails.Contains(identity.Subject)),
        _ => null,
    };

    private static string RawKey(string channel, string subject) => channel switch
    {
        ApprovalChannels.Slack => "slack:" + subject,
        ApprovalChannels.GitHub => "github:" + subject.ToLowerInvariant(),
        _ => "user:" + subject.ToLowerInvariant(),
    };

    private Person? Find(string name) => people.Find(p => Same(p.Name, name));

    private Person Add(string name)
    {
        var person = new Person(name.Trim());
        people.Add(person);
        return person;
    }

    private static void AddIf(HashSet<string> set, string? value)
    {
        if (!string.IsNullOrWhiteSpace(value))
            set.Add(value.Trim());
    }

    private static bool Same(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    private sealed record Person(string Name)
    {
        public HashSet<string> SlackUserIds { get; } = new(StringComparer.Ordinal);

        public HashSet<string> GitHubLogins { get; } = new(StringComparer.OrdinalIgnoreCase);

        public HashSet<string> UserNames { get; } = new(StringComparer.OrdinalIgnoreCase);

        public HashSet<string> Emails { get; } = new(StringComparer.OrdinalIgnoreCase);
    }
}
