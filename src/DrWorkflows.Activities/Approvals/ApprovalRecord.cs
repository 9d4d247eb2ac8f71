using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace DrWorkflows.Activities.Approvals;

/// <summary>Where an approval gate stands.</summary>
public enum ApprovalStatus
{
    /// <summary>Waiting for decisions.</summary>
    Pending,

    /// <summary>An option (or the plain approval) reached the required number of approvals.</summary>
    Approved,

    /// <summary>An allowed approver rejected it.</summary>
    Rejected,

    /// <summary>Nobody decided before the last escalation tier ran out: the gate took its safe default.</summary>
    TimedOut,
}

/// <summary>The gate's outcome ports.</summary>
public static class ApprovalOutcomes
{
    public const string Approved = "Approved";
    public const string Rejected = "Rejected";
    public const string TimedOut = "TimedOut";
}

/// <summary>The channels a decision can come through.</summary>
public static class ApprovalChannels
{
    public const string Slack = "slack";
    public const string GitHub = "github";
    public const string Api = "api";
    public const string Web = "web";
    public const string Cli = "cli";
    public const string Timer = "timer";
}

/// <summary>One decision by one person, as recorded (append-only) on the gate.</summary>
public sealed record ApprovalVote
{
    /// <summary><c>approve</c> or <c>reject</c>.</summary>
    public required string Vote { get; init; }

    /// <summary>Display name of who decided (e.g. <c>Alice</c> or <c>U024BE7LH</c>).</summary>
    public required string By { get; init; }

    /// <summary>The person this identity belongs to (see <see cref="ApprovalsOptions.People"/>); counts distinct approvers.</summary>
    public required string PersonKey { get; init; }

    public required string Channel { get; init; }

    /// <summary>The channel's own id of the decider: Slack user id, GitHub login, API key or user name.</summary>
    public required string Subject { get; init; }

    public string? Option { get; init; }

    /// <summary>The free input, for gates with an input schema.</summary>
    public JsonNode? Value { get; init; }

    /// <summary>What was chosen, for people: the free input as written (a timestamp keeps its <c>+</c>), else the option.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string? Choice => Value is null ? Option : Notifications.NotificationTemplate.Format(Value);

    public string? Comment { get; init; }

    /// <summary>The confirmation phrase the decider typed, for an option that needs one (e.g. an unverified backup).</summary>
    public string? Confirmation { get; init; }

    public required DateTimeOffset At { get; init; }

    /// <summary>SHA-256 (hex) of the evidence snapshot the decider was shown.</summary>
    public required string EvidenceSha256 { get; init; }

    /// <summary>Id of the request that cast the vote (matches the caller's answer to the record).</summary>
    public string? RequestId { get; init; }
}

/// <summary>The gate's last refusal of a request that reached it (a stale or unsealed decision).</summary>
public sealed record ApprovalRefusalNote(string? RequestId, string Code, string Message);

/// <summary>People an escalation brought in.</summary>
public sealed record ApprovalEscalation
{
    public required int Tier { get; init; }

    public required string Name { get; init; }

    public required DateTimeOffset At { get; init; }

    /// <summary>Approver entries added (<c>slack:U…</c>, <c>person:Name</c>).</summary>
    public List<string> Approvers { get; init; } = [];

    /// <summary>Names of the people, for messages.</summary>
    public List<string> People { get; init; } = [];
}

/// <summary>
/// The full state of one approval gate. It lives in the run's state (the gate's execution properties, a copy
/// under the run property <c>approvals</c>) and in the payload of the gate's bookmark, so it is committed in
/// the same transaction as the run itself: there is no second store to drift from the truth.
/// </summary>
public sealed record ApprovalRecord
{
    /// <summary><c>{instanceId}.{executionId}</c> (plus <c>-{attempt}</c> after a retried incident).</summary>
    public required string ApprovalId { get; init; }

    public required string InstanceId { get; init; }

    public required string ExecutionId { get; init; }

    public string? DefinitionId { get; init; }

    public string? WorkflowName { get; init; }

    public required string Title { get; init; }

    public required string Question { get; init; }

    public string? EvidenceText { get; init; }

    /// <summary>The designer marked the evidence text as their own Markdown: posted unescaped on GitHub (never in Slack).</summary>
    public bool EvidenceIsMarkdown { get; init; }

    /// <summary>Key facts computed by the workflow (object or array), shown as given.</summary>
    public JsonNode? Facts { get; init; }

    public List<string> Options { get; init; } = [];

    /// <summary>The option an approval without one takes (e.g. the newest verified backup); null when an option must be named.</summary>
    public string? DefaultOption { get; init; }

    /// <summary>
    /// Options that need a typed confirmation, with the phrase to type (option text → phrase). Choosing one without
    /// the phrase is refused, whatever the channel.
    /// </summary>
    public Dictionary<string, string>? ConfirmationPhrases { get; init; }

    /// <summary>JSON schema of a free answer (instead of options).</summary>
    public JsonNode? InputSchema { get; init; }

    /// <summary>SHA-256 (hex) of the canonical evidence snapshot: title, question, evidence, facts, options, schema.</summary>
    public required string EvidenceSha256 { get; init; }

    /// <summary>Approver entries as declared (<c>slack:U…</c>, <c>slack-group:S…</c>, <c>github:login</c>, <c>user:name</c>, <c>role:approver</c>, <c>contact:Role</c>, <c>group:name</c>, <c>person:Name</c>).</summary>
    public List<string> Approvers { get; init; } = [];

    public int RequiredApprovals { get; init; } = 1;

    public bool ForbidSelfApproval { get; init; } = true;

    /// <summary>Who started the run (the run's StartedBy, following parent runs).</summary>
    public string? Initiator { get; init; }

    /// <summary>The person key of the initiator, compared with each decider's.</summary>
    public string? InitiatorKey { get; init; }

    public ApprovalStatus Status { get; set; } = ApprovalStatus.Pending;

    /// <summary>The outcome port taken (differs from the status on a timeout: the safe default).</summary>
    public string? Outcome { get; set; }

    public List<ApprovalVote> Votes { get; init; } = [];

    /// <summary>Contact-tree tier reached; 0 while the declared approvers are asked.</summary>
    public int Tier { get; set; }

    public List<ApprovalEscalation> Escalations { get; init; } = [];

    /// <summary>When the current tier's wait ends (escalation or safe default).</summary>
    public DateTimeOffset Deadline { get; set; }

    public required DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? DecidedAt { get; set; }

    /// <summary>The winning option (or answer, as canonical JSON text for schema gates).</summary>
    public string? DecidedOption { get; set; }

    public JsonNode? DecidedValue { get; set; }

    public required string SafeDefault { get; init; }

    public string? SafeDefaultOption { get; init; }

    /// <summary>Contact-tier numbers still to escalate to, in order.</summary>
    public List<int> PendingTiers { get; init; } = [];

    public TimeSpan? EscalationTimeout { get; init; }

    public string? SlackChannel { get; set; }

    /// <summary>ts of the gate's Slack message (for <c>chat.update</c>).</summary>
    public string? SlackTs { get; set; }

    /// <summary>The run's incident issue, <c>owner/repo#number</c>.</summary>
    public string? GitHubIssue { get; init; }

    public ApprovalRefusalNote? LastRefusal { get; set; }

    /// <summary>Delivery problems (Slack, GitHub) kept for the on-call page; they never block the gate.</summary>
    public List<string> DeliveryErrors { get; init; } = [];

    [JsonIgnore]
    public bool IsDecided => Status != ApprovalStatus.Pending;

    /// <summary>Approvals per option key (null key: plain approval), distinct people only.</summary>
    public IReadOnlyDictionary<string, List<ApprovalVote>> ApprovalsByOption() =>
        Votes.Where(v => v.Vote == ApprovalVotes.Approve)
            .GroupBy(v => v.Option ?? string.Empty, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);

    public JsonObject ToJson() => (JsonObject)JsonSerializer.SerializeToNode(this, ApprovalJson.Options)!;

    public static ApprovalRecord FromJson(JsonNode node) =>
        node.Deserialize<ApprovalRecord>(ApprovalJson.Options) ?? throw new JsonException("The approval record is empty.");
}

/// <summary>Vote kinds.</summary>
public static class ApprovalVotes
{
    public const string Approve = "approve";
    public const string Reject = "reject";
}

/// <summary>What the gate hands to the workflow (output <c>Decision</c>) and journals on completion.</summary>
public sealed record ApprovalDecision
{
    public required string ApprovalId { get; init; }

    /// <summary>Outcome port: Approved, Rejected or TimedOut.</summary>
    public required string Outcome { get; init; }

    public required ApprovalStatus Status { get; init; }

    /// <summary>The option chosen (null for a plain approval or a rejection).</summary>
    public string? Option { get; init; }

    /// <summary>The free answer for schema gates.</summary>
    public JsonNode? Value { get; init; }

    /// <summary>Comments of the deciding votes, joined.</summary>
    public string? Comment { get; init; }

    /// <summary>Who made the decision (the approvers of the winning option, or the rejecter; <c>timer</c> on a timeout).</summary>
    public List<string> Approvers { get; init; } = [];

    public List<ApprovalVote> Votes { get; init; } = [];

    public DateTimeOffset? DecidedAt { get; init; }

    public required string EvidenceSha256 { get; init; }

    public static ApprovalDecision From(ApprovalRecord record)
    {
        List<ApprovalVote> deciding = record.Status switch
        {
            ApprovalStatus.Approved => [.. record.Votes.Where(v => v.Vote == ApprovalVotes.Approve && (v.Option ?? string.Empty) == (record.DecidedOption ?? string.Empty))],
            ApprovalStatus.Rejected => [.. record.Votes.Where(v => v.Vote == ApprovalVotes.Reject).Take(1)],
            _ => [],
        };
        var comments = deciding.Select(v => v.Comment).Where(c => !string.IsNullOrWhiteSpace(c)).ToList();
        return new ApprovalDecision
        {
            ApprovalId = record.ApprovalId,
            Outcome = record.Outcome ?? record.Status.ToString(),
            Status = record.Status,
            Option = record.InputSchema is null ? record.DecidedOption : null,
            Value = record.DecidedValue?.DeepClone(),
            Comment = comments.Count == 0 ? null : string.Join(" | ", comments),
            Approvers = record.Status == ApprovalStatus.TimedOut ? [ApprovalChannels.Timer] : [.. deciding.Select(v => v.By)],
            Votes = [.. record.Votes],
            DecidedAt = record.DecidedAt,
            EvidenceSha256 = record.EvidenceSha256,
        };
    }
}

internal static class ApprovalJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        options.Converters.Add(new JsonStringEnumConverter());
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
