namespace DrWorkflows.Activities.Notifications;

/// <summary>
/// The plan's contact tree (section <c>Notifications:Contacts</c>): people per role, escalation tiers, and which
/// roles each severity notifies. Tiers and severities have defaults taken from the plan, so a minimal
/// configuration lists only the people.
/// </summary>
public sealed class ContactTreeOptions
{
    /// <summary>Role → people, first one primary. Role names: see <see cref="ContactRoles"/> (other names are allowed).</summary>
    public Dictionary<string, List<ContactPerson>> Roles { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Escalation tiers in order (tier 1 first). Default: IC; then operations (ops lead, DBA, DevOps, network); then communications and the executive sponsor.</summary>
    public List<ContactTierOptions> Tiers { get; set; } = [];

    /// <summary>Severity (<c>SEV-1</c>, <c>SEV-2</c>) → who and where. Default: SEV-1 pages every role; SEV-2 the incident commander and the operations lead.</summary>
    public Dictionary<string, SeverityPolicyOptions> Severities { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

public sealed class ContactPerson
{
    public string Name { get; set; } = string.Empty;

    /// <summary>Slack member id (<c>U…</c>), used for mentions.</summary>
    public string? SlackUserId { get; set; }

    public string? Email { get; set; }

    /// <summary>For the people reading the page-out list; DrWorkflows does not place calls.</summary>
    public string? Phone { get; set; }

    public override string ToString() => Name;
}

public sealed class ContactTierOptions
{
    public string? Name { get; set; }

    public List<string> Roles { get; set; } = [];

    /// <summary>How long an unanswered request waits at this tier before escalating to the next (used by approvals).</summary>
    public TimeSpan? EscalateAfter { get; set; }
}

public sealed class SeverityPolicyOptions
{
    /// <summary>Roles notified at this severity.</summary>
    public List<string> Roles { get; set; } = [];

    /// <summary>Slack channel for this severity's notifications (e.g. the war room); defaults to <c>Notifications:Slack:DefaultChannel</c>.</summary>
    public string? SlackChannel { get; set; }

    /// <summary>Extra email addresses (e.g. a distribution list) notified at this severity.</summary>
    public List<string> EmailCc { get; set; } = [];

    /// <summary>Description shown in messages, e.g. "Immediate page-out, war room".</summary>
    public string? Response { get; set; }
}

/// <summary>The roles of the plan's contact tree.</summary>
public static class ContactRoles
{
    public const string IncidentCommander = "IncidentCommander";
    public const string OperationsLead = "OperationsLead";
    public const string DatabaseAdmin = "DatabaseAdmin";
    public const string DevOpsEngineer = "DevOpsEngineer";
    public const string NetworkEngineer = "NetworkEngineer";
    public const string CommunicationsLead = "CommunicationsLead";
    public const string ExecutiveSponsor = "ExecutiveSponsor";

    public static IReadOnlyList<string> All { get; } =
        [IncidentCommander, OperationsLead, DatabaseAdmin, DevOpsEngineer, NetworkEngineer, CommunicationsLead, ExecutiveSponsor];

    private static readonly Dictionary<string, string> DisplayNames = new(StringComparer.OrdinalIgnoreCase)
    {
        [IncidentCommander] = "Incident commander",
        [OperationsLead] = "Operations lead",
        [DatabaseAdmin] = "Database admin",
        [DevOpsEngineer] = "DevOps engineer",
        [NetworkEngineer] = "Network engineer",
        [CommunicationsLead] = "Communications lead",
        [ExecutiveSponsor] = "Executive sponsor",
    };

    /// <summary>The role as people read it (<c>DatabaseAdmin</c> → <c>Database admin</c>); other roles as written.</summary>
    public static string DisplayName(string role) => DisplayNames.GetValueOrDefault(role, role);
}
