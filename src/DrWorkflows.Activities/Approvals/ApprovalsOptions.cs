using System.ComponentModel.DataAnnotations;

namespace DrWorkflows.Activities.Approvals;

/// <summary>
/// Configuration section <c>Approvals</c>. Slack's bot token and signing secret are the notification
/// settings <c>Notifications:Slack:BotToken</c> and <c>Notifications:Slack:SigningSecret</c>; the GitHub
/// webhook secret and token are here. Secrets come from the environment (<c>Approvals__GitHub__WebhookSecret</c>).
/// </summary>
public sealed class ApprovalsOptions
{
    public const string SectionName = "Approvals";

    /// <summary>
    /// Links one person's identities across channels (Slack id, GitHub login, API key or user names), so that
    /// N-of-M counts people (not clicks) and self-approval is caught whichever channel the starter uses.
    /// People of the contact tree are linked by their Slack id and email automatically.
    /// </summary>
    public List<ApprovalPerson> People { get; set; } = [];

    /// <summary>Named approver groups: <c>group:dba</c> in a gate's approvers stands for these entries.</summary>
    public Dictionary<string, List<string>> Groups { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>How long a gate waits for its own approvers when it sets no <c>Timeout</c>.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan DefaultTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Slack channel for gates that name none; default <c>Notifications:Slack:DefaultChannel</c>.</summary>
    public string? SlackChannel { get; set; }

    /// <summary>Public address of this server (e.g. <c>https://drw.example.com</c>), for links to the approvals page in messages.</summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>
    /// Slack's interaction <c>response_url</c>s are only called when they start with this (Slack's own host);
    /// the refusal notes to a clicking user go there.
    /// </summary>
    public string SlackResponseUrlPrefix { get; set; } = "https://hooks.slack.com/";

    /// <summary>How long the members of a Slack user group are cached.</summary>
    public TimeSpan SlackGroupCacheDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a Slack click may take before the endpoint answers Slack (which gives up after 3 s) and finishes in the background.</summary>
    public TimeSpan SlackAnswerBudget { get; set; } = TimeSpan.FromSeconds(2);

    public ApprovalsGitHubOptions GitHub { get; set; } = new();
}

/// <summary>One person and their identities.</summary>
public sealed class ApprovalPerson
{
    [Required]
    public string Name { get; set; } = string.Empty;

    public string? SlackUserId { get; set; }

    public string? GitHubLogin { get; set; }

    /// <summary>API key names and web user names of this person.</summary>
    public List<string> UserNames { get; set; } = [];

    public string? Email { get; set; }
}

/// <summary>GitHub issue-comment approvals (section <c>Approvals:GitHub</c>).</summary>
public sealed class ApprovalsGitHubOptions
{
    /// <summary>Secret of the repository webhook (<c>X-Hub-Signature-256</c>). The webhook is refused while it is unset. Secret.</summary>
    public string? WebhookSecret { get; set; }

    /// <summary>Token used to post the gate and the answers to commands on the incident issue (optional). Secret.</summary>
    public string? Token { get; set; }

    /// <summary>REST API base; <c>https://api.github.com/</c>, or a GitHub Enterprise / stand-in address.</summary>
    public string ApiBaseUrl { get; set; } = "https://api.github.com/";

    public bool CanPost => !string.IsNullOrWhiteSpace(Token);
}
