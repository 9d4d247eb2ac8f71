using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Notifications;

/// <summary>The plan's severity levels.</summary>
public enum IncidentSeverity
{
    /// <summary>Critical: complete outage, data loss risk, security breach. Immediate page-out, war room.</summary>
    Sev1 = 1,

    /// <summary>High: partial degradation, single region failure. On-call engineer + manager.</summary>
    Sev2 = 2,
}

public static class IncidentSeverities
{
    /// <summary>Accepts <c>SEV-1</c>, <c>sev1</c>, <c>1</c>, <c>Sev1</c>, <c>Critical</c>; <c>SEV-2</c>, <c>2</c>, <c>High</c>.</summary>
    public static bool TryParse(string? text, out IncidentSeverity severity)
    {
        var key = (text ?? string.Empty).Trim().Replace("-", string.Empty, StringComparison.Ordinal).Replace(" ", string.Empty, StringComparison.Ordinal).ToUpperInvariant();
        (var ok, severity) = key switch
        {
            "SEV1" or "1" or "CRITICAL" => (true, IncidentSeverity.Sev1),
            "SEV2" or "2" or "HIGH" => (true, IncidentSeverity.Sev2),
            _ => (false, default),
        };
        return ok;
    }

    public static IncidentSeverity Parse(string? text) =>
        TryParse(text, out var severity)
            ? severity
            : throw new NotificationException($"'{text}' is not a severity; use SEV-1 (critical) or SEV-2 (high).", NotificationChannels.Contacts, retryable: false) { Code = "notifications.severity" };

    /// <summary>The plan's spelling: <c>SEV-1</c>, <c>SEV-2</c>.</summary>
    public static string ToLabel(this IncidentSeverity severity) => $"SEV-{(int)severity}";
}

/// <summary>One escalation tier, numbered from 1.</summary>
public sealed record ContactTier(int Number, string Name, IReadOnlyList<string> Roles, IReadOnlyList<ContactPerson> People, TimeSpan? EscalateAfter);

/// <summary>A person to notify and the role they are notified for.</summary>
public sealed record ContactRecipient(ContactPerson Person, string Role);

/// <summary>Who and where to notify for one severity.</summary>
public sealed record SeverityNotificationPlan(
    IncidentSeverity Severity,
    IReadOnlyList<string> Roles,
    IReadOnlyList<ContactRecipient> Recipients,
    string? SlackChannel,
    IReadOnlyList<string> EmailCc,
    string? Response);

/// <summary>The contact tree: used by the notify activities and by approval escalations.</summary>
public interface IContactTree
{
    /// <summary>The people of a role, primary first (empty when the role has nobody).</summary>
    IReadOnlyList<ContactPerson> GetPeople(string role);

    /// <summary>Who to notify for a severity (people deduplicated, in role order) and where.</summary>
    SeverityNotificationPlan GetNotificationPlan(IncidentSeverity severity);

    /// <summary>All tiers, tier 1 first.</summary>
    IReadOnlyList<ContactTier> Tiers { get; }

    /// <summary>Tier <paramref name="number"/> (from 1), or <c>null</c>.</summary>
    ContactTier? GetTier(int number);

    /// <summary>The tier after tier <paramref name="number"/>; <c>null</c> when it is the last (nobody left to escalate to).</summary>
    ContactTier? GetNextTier(int number);
}

internal sealed class ContactTree : IContactTree
{
    internal static readonly IReadOnlyList<ContactTierOptions> DefaultTiers =
    [
        new() { Name = "Incident command", Roles = [ContactRoles.IncidentCommander], EscalateAfter = TimeSpan.FromMinutes(10) },
        new() { Name = "Operations", Roles = [ContactRoles.OperationsLead, ContactRoles.DatabaseAdmin, ContactRoles.DevOpsEngineer, ContactRoles.NetworkEngineer], EscalateAfter = TimeSpan.FromMinutes(15) },
        new() { Name = "Communications and executive", Roles = [ContactRoles.CommunicationsLead, ContactRoles.ExecutiveSponsor] },
    ];

    private readonly ContactTreeOptions options;

    public ContactTree(IOptions<NotificationsOptions> options)
    {
        this.options = options.Value.Contacts;
        var tiers = this.options.Tiers.Count > 0 ? this.options.Tiers : DefaultTiers;
        Tiers = [.. tiers.Select((t, i) => new ContactTier(
            i + 1,
            string.IsNullOrWhiteSpace(t.Name) ? $"Tier {i + 1}" : t.Name,
            [.. t.Roles],
            Distinct(t.Roles.SelectMany(GetPeople)),
            t.EscalateAfter))];
    }

    public IReadOnlyList<ContactTier> Tiers { get; }

    public IReadOnlyList<ContactPerson> GetPeople(string role) =>
        options.Roles.TryGetValue(role, out var people) ? people : [];

    public SeverityNotificationPlan GetNotificationPlan(IncidentSeverity severity)
    {
        var policy = FindPolicy(severity) ?? DefaultPolicy(severity);
        var recipients = new List<ContactRecipient>();
        foreach (var role in policy.Roles)
        {
            foreach (var person in GetPeople(role))
            {
                if (!recipients.Any(r => SamePerson(r.Person, person)))
                    recipients.Add(new ContactRecipient(person, role));
            }
        }

        return new SeverityNotificationPlan(severity, [.. policy.Roles], recipients, policy.SlackChannel, [.. policy.EmailCc], policy.Response ?? DefaultPolicy(severity).Response);
    }

    public ContactTier? GetTier(int number) => number >= 1 && number <= Tiers.Count ? Tiers[number - 1] : null;

    public ContactTier? GetNextTier(int number) => GetTier(Math.Max(number, 0) + 1);

    internal static SeverityPolicyOptions DefaultPolicy(IncidentSeverity severity) => severity switch
    {
        IncidentSeverity.Sev1 => new SeverityPolicyOptions { Roles = [.. ContactRoles.All], Response = "Immediate page-out, war room" },
        _ => new SeverityPolicyOptions { Roles = [ContactRoles.IncidentCommander, ContactRoles.OperationsLead], Response = "On-call engineer + manager" },
    };

    private SeverityPolicyOptions? FindPolicy(IncidentSeverity severity) =>
        options.Severities.FirstOrDefault(p => IncidentSeverities.TryParse(p.Key, out var s) && s == severity).Value;

    private static List<ContactPerson> Distinct(IEnumerable<ContactPerson> people)
    {
        var result = new List<ContactPerson>();
        foreach (var person in people)
        {
            if (!result.Any(p => SamePerson(p, person)))
                result.Add(person);
        }

        return result;
    }

    // One person can hold two roles (a small team): notify them once.
    private static bool SamePerson(ContactPerson a, ContactPerson b) =>
        ReferenceEquals(a, b)
        || (!string.IsNullOrEmpty(a.SlackUserId) && a.SlackUserId == b.SlackUserId)
        || (!string.IsNullOrEmpty(a.Email) && string.Equals(a.Email, b.Email, StringComparison.OrdinalIgnoreCase));
}
