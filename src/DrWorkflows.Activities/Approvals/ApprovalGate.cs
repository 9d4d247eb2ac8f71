using System.Globalization;
using System.Text.Json.Nodes;
using DrWorkflows.Activities.Notifications;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Approvals;

/// <summary>
/// A human decision the workflow waits for: confirm the restore point after ransomware, approve the DNS
/// cutover, approve a destructive host action. Posts the question with its evidence to Slack (buttons), the
/// web page, the API/CLI and the run's GitHub incident issue; records every vote with who, channel, comment,
/// option and evidence hash; needs N approvals of the same option from N different people; can forbid the
/// run's starter from approving; escalates through the contact tree when nobody answers and finally takes the
/// declared safe default.
/// </summary>
/// <remarks>
/// Concurrency: the gate waits on one bookmark (<see cref="BookmarkName"/>, key = approval id, resumeAt = the
/// current tier's deadline). Every change (a vote, an escalation) consumes it and creates a new one, so a
/// bookmark id names exactly one version of the gate: a decision checked against an older version finds its
/// bookmark gone (<c>BookmarkNotFound</c>) and is checked again against the new one. With the runtime's
/// per-run lock this records each vote exactly once and lets exactly one decision end the gate.
/// Messages are sent from a second, due-now bookmark (<see cref="PublishBookmarkName"/>) after the state is
/// committed, so nobody can click a button of a gate that is not durably waiting, and a decision returns
/// to its caller before the workflow's next (possibly long) steps run.
/// </remarks>
[Activity("DrWorkflows", "Approvals", "Waits for a human decision with evidence, from Slack, the web page, the API/CLI or the GitHub incident issue; N-of-M approvers, no self-approval, escalation through the contact tree, then a safe default.",
    SafeToRerun = true, IsBlocking = true, Outcomes = [ApprovalOutcomes.Approved, ApprovalOutcomes.Rejected, ApprovalOutcomes.TimedOut])]
public sealed class ApprovalGate : Activity
{
    public const string BookmarkName = "DrWorkflows.ApprovalGate";
    public const string PublishBookmarkName = "DrWorkflows.ApprovalGate.Publish";

    /// <summary>Run property holding every approval record of the run, by approval id.</summary>
    public const string RunPropertyName = "approvals";

    /// <summary>Run property another step (e.g. the incident-issue step) may set to <c>owner/repo#number</c>.</summary>
    public const string IncidentIssueProperty = "github.incidentIssue";

    private const string RecordProperty = "approval";

    [Input(Description = "Short title, e.g. 'Confirm the restore point'.", Required = true)]
    public Input<string>? Title { get; set; }

    [Input(Description = "The question the approvers answer.", UIHint = InputUIHints.MultiLine, Required = true)]
    public Input<string>? Question { get; set; }

    [Input(Description = "Evidence shown to the approvers: text, or a JSON object {\"text\": \"...\", \"facts\": {...} or [...]} with the key facts the workflow computed (e.g. candidate restore points with age and verification status).", UIHint = InputUIHints.JsonEditor)]
    public Input<JsonNode?>? Evidence { get; set; }

    [Input(Description = "How the evidence text is shown. Text (default): escaped in every channel. TrustedMarkdown: the text is the designer's own Markdown and is posted on the GitHub issue as Markdown (HTML and mentions included); Slack and the web page still show it as text. Never mark evidence that carries data from outside the workflow.", Options = [EvidenceFormats.Text, EvidenceFormats.TrustedMarkdown], DefaultValue = EvidenceFormats.Text)]
    public Input<string>? EvidenceFormat { get; set; }

    [Input(Description = "Choices the approver picks from (e.g. the restore points); empty for a plain approve/reject.", UIHint = InputUIHints.MultiText)]
    public Input<List<string>>? Options { get; set; }

    [Input(Description = "The option an approval without one takes (e.g. the newest verified backup); empty: an approver must name an option. It must be one of Options and need no confirmation.")]
    public Input<string>? DefaultOption { get; set; }

    [Input(Description = "Options that need a typed confirmation: option text → the phrase the approver must type (e.g. an unverified backup). The approval service refuses such a choice without the phrase, from every channel.", UIHint = InputUIHints.JsonEditor)]
    public Input<Dictionary<string, string>>? ConfirmationPhrases { get; set; }

    [Input(Description = "Instead of options: a JSON schema the approver's free answer must match (subset: type, enum, const, required, properties, additionalProperties, items, min/max, lengths, pattern, format date-time).", UIHint = InputUIHints.JsonEditor)]
    public Input<JsonNode?>? InputSchema { get; set; }

    [Input(Description = "Who may decide: slack:U…, slack-group:S…, github:login, user:name, role:approver, person:Name, contact:Role, group:name.", UIHint = InputUIHints.MultiText, Required = true)]
    public Input<List<string>>? Approvers { get; set; }

    [Input(Description = "Approvals of the same option, from different people, needed to pass (N of M). One rejection rejects.", DefaultValue = 1)]
    public Input<int>? RequiredApprovals { get; set; }

    [Input(Description = "The person who started the run cannot approve it (they can still reject).", DefaultValue = true)]
    public Input<bool>? ForbidSelfApproval { get; set; }

    [Input(Description = "How long the declared approvers have before the gate escalates (e.g. 30m). Default: Approvals:DefaultTimeout.", Category = "Escalation")]
    public Input<TimeSpan?>? Timeout { get; set; }

    [Input(Description = "How long each escalation tier has before the next one (default: the tier's EscalateAfter in the contact tree, else Timeout).", Category = "Escalation")]
    public Input<TimeSpan?>? EscalationTimeout { get; set; }

    [Input(Description = "First contact-tree tier to escalate to.", DefaultValue = 1, Category = "Escalation")]
    public Input<int>? FirstEscalationTier { get; set; }

    [Input(Description = "How many contact-tree tiers to escalate through before the safe default (0: none; empty: every tier).", Category = "Escalation")]
    public Input<int?>? EscalationTiers { get; set; }

    [Input(Description = "Outcome taken when every tier timed out: TimedOut, Rejected or Approved.", Options = [ApprovalOutcomes.TimedOut, ApprovalOutcomes.Rejected, ApprovalOutcomes.Approved], DefaultValue = ApprovalOutcomes.TimedOut, Category = "Escalation")]
    public Input<string>? SafeDefault { get; set; }

    [Input(Description = "The option taken when SafeDefault is Approved and the gate has options.", Category = "Escalation")]
    public Input<string>? SafeDefaultOption { get; set; }

    [Input(Description = "Slack channel for the gate's message (default Approvals:SlackChannel, then Notifications:Slack:DefaultChannel).", Category = "Channels")]
    public Input<string>? SlackChannel { get; set; }

    [Input(Description = "The run's incident issue, owner/repo#number (default: the run property github.incidentIssue). Approvers may answer there with /approve or /reject.", Category = "Channels")]
    public Input<string>? GitHubIssue { get; set; }

    [Output(Description = "The decision: outcome, option (or value), comment, approvers, every vote, evidenceSha256.")]
    public Output<JsonObject>? Decision { get; set; } = new();

    [Output(Description = "The approval id (for the API, CLI and links).")]
    public Output<string>? ApprovalId { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var now = context.Clock.GetUtcNow();
        var settings = context.GetRequiredService<IOptions<ApprovalsOptions>>().Value;
        var directory = context.GetRequiredService<IApproverDirectory>();

        var title = Required(context.Get(Title), "Title");
        var question = Required(context.Get(Question), "Question");
        var (text, facts) = SplitEvidence(context.Get(Evidence));
        text = CutEvidence(text);
        var evidenceFormat = context.Get(EvidenceFormat) is { Length: > 0 } format ? format.Trim() : EvidenceFormats.Text;
        var options = (context.Get(Options) ?? []).Select(o => o.Trim()).Where(o => o.Length > 0).ToList();
        var schema = context.Get(InputSchema);
        if (schema is JsonValue schemaText && schemaText.TryGetValue<string>(out var schemaString))
            schema = string.IsNullOrWhiteSpace(schemaString) ? null : JsonNode.Parse(schemaString);
        var approvers = (context.Get(Approvers) ?? []).Select(a => a.Trim()).Where(a => a.Length > 0).ToList();
        var required = context.Get(RequiredApprovals, 1);
        var safeDefault = context.Get(SafeDefault) is { Length: > 0 } sd ? sd.Trim() : ApprovalOutcomes.TimedOut;
        var safeOption = context.Get(SafeDefaultOption);
        var defaultOption = context.Get(DefaultOption) is { Length: > 0 } given ? given.Trim() : null;
        var phrases = (context.Get(ConfirmationPhrases) ?? new Dictionary<string, string>()).Where(p => !string.IsNullOrWhiteSpace(p.Value))
            .ToDictionary(p => p.Key.Trim(), p => p.Value.Trim(), StringComparer.Ordinal);
        ValidateSizes(title, question, facts, options, evidenceFormat);
        Validate(title, options, schema, approvers, required, safeDefault, safeOption);
        ValidateChoices(title, options, defaultOption, phrases, safeDefault, safeOption);
        if (options.Count > 0 && !string.IsNullOrWhiteSpace(safeOption))
            safeOption = options.Find(o => string.Equals(o, safeOption.Trim(), StringComparison.OrdinalIgnoreCase));

        var initiator = await FindInitiatorAsync(context);
        var snapshot = EvidenceHash.Snapshot(title, question, text, facts, options, schema, defaultOption, phrases);
        var timeout = context.Get(Timeout) ?? settings.DefaultTimeout;
        var state = context.Workflow.State;
        var record = new ApprovalRecord
        {
            ApprovalId = state.Id + "." + context.ExecutionId + (context.Attempt > 1 ? "-" + context.Attempt : string.Empty),
            InstanceId = state.Id,
            ExecutionId = context.ExecutionId,
            DefinitionId = state.DefinitionId,
            WorkflowName = state.Name,
            Title = title,
            Question = question,
            EvidenceText = text,
            EvidenceIsMarkdown = evidenceFormat == EvidenceFormats.TrustedMarkdown,
            Facts = facts,
            Options = options,
            DefaultOption = defaultOption,
            ConfirmationPhrases = phrases.Count == 0 ? null : phrases,
            InputSchema = schema,
            EvidenceSha256 = EvidenceHash.Compute(snapshot),
            Approvers = approvers,
            RequiredApprovals = required,
            ForbidSelfApproval = context.Get(ForbidSelfApproval, true),
            Initiator = initiator,
            InitiatorKey = directory.PersonKeyOfStarter(initiator),
            Deadline = now + timeout,
            CreatedAt = now,
            SafeDefault = safeDefault,
            SafeDefaultOption = safeOption,
            PendingTiers = EscalationPlan(context),
            EscalationTimeout = context.Get(EscalationTimeout),
            SlackChannel = context.Get(SlackChannel) is { Length: > 0 } channel ? channel : settings.SlackChannel,
            GitHubIssue = context.Get(GitHubIssue) is { Length: > 0 } issue ? issue.Trim() : state.Properties.GetValueOrDefault(IncidentIssueProperty)?.ToString(),
        };
        context.Properties.Remove("slackTier");
        context.Properties.Remove("githubTier");
        context.Properties.Remove("githubDecided");
        Save(context, record);
        context.Set(ApprovalId, record.ApprovalId);
        var logger = Logger(context);
        Log.GateOpened(logger, record.ApprovalId, record.Title, record.RequiredApprovals, record.Deadline);
        Wait(context, record);
        Publish(context);
    }

    public override async ValueTask ResumeAsync(ActivityExecutionContext context, BookmarkResumption resumption)
    {
        var record = Load(context);
        if (resumption.Bookmark.Name == PublishBookmarkName)
        {
            await PublishAsync(context, record);
            Save(context, record);
            if (record.IsDecided)
                await FinishAsync(context, record);
            else
                Wait(context, record); // the journal then ends with the wait, who may decide, and until when
            return;
        }

        var now = context.Clock.GetUtcNow();
        if (record.IsDecided)
            return;

        if (resumption.ResumedBy == ApprovalChannels.Timer && resumption.Payload is null)
        {
            if (now < record.Deadline)
            {
                Wait(context, record);
                return;
            }

            Escalate(context, record, now);
            Save(context, record);
            if (!record.IsDecided)
                Wait(context, record);
            Publish(context);
            return;
        }

        var decision = resumption.Payload?["decision"];
        var requestId = decision?["requestId"]?.ToString();
        var seal = context.GetRequiredService<ApprovalSeal>();
        if (!seal.Verify(resumption.Bookmark.Id, decision, resumption.Payload?["seal"]?.ToString()))
        {
            var unsealedLogger = Logger(context);
            Log.UnsealedResume(unsealedLogger, record.ApprovalId, resumption.ResumedBy ?? "unknown");
            record.LastRefusal = new ApprovalRefusalNote(requestId, ApprovalCodes.Unsealed, $"Decisions on approval gates go through /api/approvals, Slack or GitHub; the resume by {resumption.ResumedBy} was ignored.");
            Save(context, record);
            Wait(context, record);
            return;
        }

        var identity = new ApprovalIdentity(
            decision!["channel"]!.ToString(),
            decision["subject"]!.ToString(),
            decision["by"]!.ToString(),
            (decision["roles"] as JsonArray ?? []).Select(r => r?.ToString()).OfType<string>().ToList());
        var request = new ApprovalRequest
        {
            Vote = decision["vote"]!.ToString(),
            Option = decision["option"]?.ToString(),
            Value = decision["value"]?.DeepClone(),
            Comment = decision["comment"]?.ToString(),
            EvidenceSha256 = decision["evidenceSha256"]?.ToString(),
            Confirmation = decision["confirmation"]?.ToString(),
            Place = ApprovalPlace.FromJson(decision["place"]),
        };
        var directory = context.GetRequiredService<IApproverDirectory>();
        var personKey = directory.PersonKey(identity);
        var allowed = await directory.IsAllowedAsync(record, identity, context.CancellationToken);
        var verdict = ApprovalRules.Check(record, identity, personKey, allowed, request, now);
        if (verdict.Refusal is { } refusal || verdict.AlreadyRecorded)
        {
            record.LastRefusal = verdict.Refusal is { } r ? new ApprovalRefusalNote(requestId, r.Code, r.Message) : null;
            Save(context, record);
            Wait(context, record);
            return;
        }

        var decided = ApprovalRules.Apply(record, verdict.Vote! with { RequestId = requestId }, now);
        record.LastRefusal = null;
        Save(context, record);
        var voteLogger = Logger(context);
        var vote = verdict.Vote!;
        Log.VoteRecorded(voteLogger, record.ApprovalId, vote.Vote, vote.By, vote.Channel);
        if (!decided)
            Wait(context, record);
        Publish(context);
    }

    private async Task FinishAsync(ActivityExecutionContext context, ApprovalRecord record)
    {
        var decision = ApprovalDecision.From(record);
        var json = (JsonObject)System.Text.Json.JsonSerializer.SerializeToNode(decision, ApprovalJson.Options)!;
        context.Set(Decision, json);
        context.Set(ApprovalId, record.ApprovalId);
        context.AddJournalData("decision", json.DeepClone());
        context.AddJournalData("evidence", EvidenceHash.Snapshot(record.Title, record.Question, record.EvidenceText, record.Facts, record.Options, record.InputSchema, record.DefaultOption, record.ConfirmationPhrases));
        var logger = Logger(context);
        var outcome = record.Outcome ?? record.Status.ToString();
        Log.GateDecided(logger, record.ApprovalId, record.Status, outcome);
        await context.CompleteAsync(record.Outcome ?? ApprovalOutcomes.TimedOut);
    }

    private void Escalate(ActivityExecutionContext context, ApprovalRecord record, DateTimeOffset now)
    {
        var tree = context.Services.GetService<IContactTree>();
        while (record.PendingTiers.Count > 0)
        {
            var number = record.PendingTiers[0];
            record.PendingTiers.RemoveAt(0);
            var tier = tree?.GetTier(number);
            if (tier is null)
                continue;
            if (tier.People.Count == 0)
            {
                record.DeliveryErrors.Add($"Escalation tier {number} ({tier.Name}) has nobody in the contact tree; skipped.");
                continue;
            }

            record.Tier = number;
            record.Escalations.Add(new ApprovalEscalation
            {
                Tier = number,
                Name = tier.Name,
                At = now,
                Approvers = [.. tier.People.Select(p => "person:" + p.Name)],
                People = [.. tier.People.Select(p => p.Name)],
            });
            record.Deadline = now + (record.EscalationTimeout ?? tier.EscalateAfter ?? context.GetRequiredService<IOptions<ApprovalsOptions>>().Value.DefaultTimeout);
            var logger = Logger(context);
            Log.GateEscalated(logger, record.ApprovalId, number, tier.Name, record.Deadline);
            return;
        }

        var outcome = record.SafeDefault;
        ApprovalRules.Decide(record, ApprovalStatus.TimedOut, outcome, outcome == ApprovalOutcomes.Approved ? record.SafeDefaultOption : null, null, now);
    }

    private static async Task PublishAsync(ActivityExecutionContext context, ApprovalRecord record)
    {
        var publisher = context.Services.GetService<IApprovalPublisher>();
        if (publisher is null)
            return;
        var published = new ApprovalPublication(
            context.GetProperty<int?>("slackTier"),
            context.GetProperty<int?>("githubTier"),
            context.GetProperty<bool?>("githubDecided") == true);
        var after = await publisher.PublishAsync(record, published, context.CancellationToken);
        context.SetProperty("slackTier", after.SlackTier);
        context.SetProperty("githubTier", after.GitHubTier);
        context.SetProperty("githubDecided", after.GitHubDecided);
    }

    private void Wait(ActivityExecutionContext context, ApprovalRecord record)
    {
        context.RemoveBookmarks(BookmarkName);
        context.CreateBookmark(BookmarkName, record.ApprovalId, record.Deadline, record.ToJson(), DescribeWait(record));
    }

    private static void Publish(ActivityExecutionContext context)
    {
        context.RemoveBookmarks(PublishBookmarkName);
        context.CreateBookmark(PublishBookmarkName, null, context.Clock.GetUtcNow(), description: "Posting the approval request to its channels (Slack, GitHub, e-mail) right after this step is saved.");
    }

    /// <summary>
    /// The journal's line for a waiting gate: what is asked, who may decide, how many approvals, until when, and
    /// what happens then (<c>Waiting for a decision on 'Fail over?': 1 approval from role:admin, person:Ana; until
    /// 2026-12-05 03:40 UTC, then escalates to contact tier 1.</c>).
    /// </summary>
    internal static string DescribeWait(ApprovalRecord record)
    {
        var who = record.Approvers.Concat(record.Escalations.SelectMany(e => e.Approvers)).Distinct(StringComparer.Ordinal).ToList();
        var votes = record.Votes.Count(v => v.Vote == ApprovalVotes.Approve);
        var needed = record.RequiredApprovals == 1 ? "1 approval" : $"{record.RequiredApprovals} approvals from different people";
        var sofar = votes > 0 ? $" ({votes} so far)" : string.Empty;
        var then = record.PendingTiers.Count > 0
            ? $"escalates to contact tier {record.PendingTiers[0].ToString(CultureInfo.InvariantCulture)}"
            : $"takes the safe default: {record.SafeDefault}";
        return $"Waiting for a decision on '{record.Title}': {needed}{sofar} from {string.Join(", ", who)}; until {record.Deadline.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC, then {then}.";
    }

    private static void Save(ActivityExecutionContext context, ApprovalRecord record)
    {
        var json = record.ToJson();
        context.SetProperty(RecordProperty, json);
        var properties = context.Workflow.State.Properties;
        if (properties.GetValueOrDefault(RunPropertyName) is not JsonObject all)
            properties[RunPropertyName] = all = [];
        all[record.ApprovalId] = json.DeepClone();
    }

    private static ApprovalRecord Load(ActivityExecutionContext context) =>
        context.Properties[RecordProperty] is { } node
            ? ApprovalRecord.FromJson(node)
            : throw new ApprovalException("approval.state-missing", "The approval gate lost its record; retry the step to open the gate again.");

    private static async Task<string?> FindInitiatorAsync(ActivityExecutionContext context)
    {
        var startedBy = context.Workflow.State.StartedBy;
        var store = context.Services.GetService<IWorkflowInstanceStore>();
        for (var depth = 0; depth < 10 && store is not null && startedBy is not null && startedBy.StartsWith("workflow:", StringComparison.Ordinal); depth++)
        {
            var parent = await store.GetAsync(startedBy["workflow:".Length..], context.CancellationToken);
            if (parent is null)
                break;
            startedBy = parent.StartedBy;
        }

        return startedBy;
    }

    private List<int> EscalationPlan(ActivityExecutionContext context)
    {
        var tree = context.Services.GetService<IContactTree>();
        if (tree is null)
            return [];
        var first = Math.Max(1, context.Get(FirstEscalationTier, 1));
        var count = context.Get(EscalationTiers) ?? int.MaxValue;
        return [.. Enumerable.Range(first, Math.Max(0, tree.Tiers.Count - first + 1)).Take(Math.Max(0, count))];
    }

    private static (string? Text, JsonNode? Facts) SplitEvidence(JsonNode? evidence) => evidence switch
    {
        null => (null, null),
        JsonValue v when v.TryGetValue<string>(out var s) => ParsedOrText(s),
        JsonObject o when o.ContainsKey("text") || o.ContainsKey("facts") => (o["text"]?.ToString(), o["facts"]?.DeepClone()),
        _ => (null, evidence.DeepClone()),
    };

    private static (string? Text, JsonNode? Facts) ParsedOrText(string text)
    {
        var trimmed = text.TrimStart();
        if (trimmed.StartsWith('{') || trimmed.StartsWith('['))
        {
            try
            {
                var parsed = JsonNode.Parse(text);
                if (parsed is not null and not JsonValue)
                    return SplitEvidence(parsed);
            }
            catch (System.Text.Json.JsonException)
            {
            }
        }

        return (text, null);
    }

    private static void Validate(string title, List<string> options, JsonNode? schema, List<string> approvers, int required, string safeDefault, string? safeOption)
    {
        var problems = new List<string>();
        if (approvers.Count == 0)
            problems.Add("Approvers is empty: name who may decide (slack:U…, github:login, user:name, role:approver, contact:Role, group:name).");
        foreach (var entry in approvers)
        {
            var (kind, value) = ApproverDirectory.Split(entry);
            if (!ApproverDirectory.Kinds.Contains(kind) || value.Length == 0)
                problems.Add($"Approver entry '{entry}' is not understood; use one of {string.Join(", ", ApproverDirectory.Kinds.Select(k => k + ":…"))}.");
        }

        if (required < 1)
            problems.Add($"RequiredApprovals is {required}; it must be at least 1.");
        if (options.Count > 0 && schema is not null)
            problems.Add("Give either Options or InputSchema, not both.");
        if (options.Distinct(StringComparer.OrdinalIgnoreCase).Count() != options.Count)
            problems.Add("Options has duplicates (compared ignoring case).");
        if (schema is not null)
            problems.AddRange(AnswerSchema.CheckSchema(schema).Select(p => "InputSchema " + p));
        if (safeDefault is not (ApprovalOutcomes.TimedOut or ApprovalOutcomes.Rejected or ApprovalOutcomes.Approved))
            problems.Add($"SafeDefault '{safeDefault}' is not an outcome: use TimedOut, Rejected or Approved.");
        if (safeDefault == ApprovalOutcomes.Approved && options.Count > 0 && (string.IsNullOrWhiteSpace(safeOption) || !options.Contains(safeOption.Trim(), StringComparer.OrdinalIgnoreCase)))
            problems.Add("SafeDefault Approved on a gate with options needs SafeDefaultOption set to one of the options.");
        if (safeDefault == ApprovalOutcomes.Approved && schema is not null)
            problems.Add("SafeDefault Approved is not possible on a gate with a free answer (InputSchema): nobody would have given the answer.");
        if (problems.Count > 0)
            throw new ApprovalException("approval.invalid-gate", $"Approval gate '{title}' is not set up correctly: {string.Join(" ", problems)}");
    }

    /// <summary>The default option and the options needing a typed confirmation must be offered options; the default needs none.</summary>
    private static void ValidateChoices(string title, List<string> options, string? defaultOption, Dictionary<string, string> phrases, string safeDefault, string? safeOption)
    {
        var problems = new List<string>();
        if (defaultOption is not null && !options.Contains(defaultOption, StringComparer.Ordinal))
            problems.Add($"DefaultOption '{defaultOption}' is not one of the Options.");
        foreach (var option in phrases.Keys.Where(o => !options.Contains(o, StringComparer.Ordinal)))
            problems.Add($"ConfirmationPhrases names '{option}', which is not one of the Options.");
        if (defaultOption is not null && phrases.ContainsKey(defaultOption))
            problems.Add($"DefaultOption '{defaultOption}' needs a typed confirmation; an option that does cannot be the default.");
        if (safeDefault == ApprovalOutcomes.Approved && safeOption is not null && phrases.Keys.Any(o => string.Equals(o, safeOption.Trim(), StringComparison.OrdinalIgnoreCase)))
            problems.Add($"SafeDefaultOption '{safeOption}' needs a typed confirmation; nobody would have typed it.");
        if (problems.Count > 0)
            throw new ApprovalException("approval.invalid-gate", $"Approval gate '{title}' is not set up correctly: {string.Join(" ", problems)}");
    }

    /// <summary>Evidence text over the limit is cut, visibly: the approvers see that there was more.</summary>
    private static string? CutEvidence(string? text) =>
        text is { Length: > ApprovalLimits.EvidenceText }
            ? text[..ApprovalLimits.EvidenceText] + $"\n… (evidence cut at {ApprovalLimits.EvidenceText} characters; {text.Length - ApprovalLimits.EvidenceText} more are in the workflow's data)"
            : text;

    private static void ValidateSizes(string title, string question, JsonNode? facts, List<string> options, string evidenceFormat)
    {
        var problems = new List<string>();
        if (title.Length > ApprovalLimits.Title)
            problems.Add($"Title is {title.Length} characters long; the limit is {ApprovalLimits.Title}.");
        if (question.Length > ApprovalLimits.Question)
            problems.Add($"Question is {question.Length} characters long; the limit is {ApprovalLimits.Question}.");
        if (facts?.ToJsonString() is { Length: > ApprovalLimits.Facts } json)
            problems.Add($"The evidence's facts are {json.Length} characters of JSON; the limit is {ApprovalLimits.Facts}.");
        if (options.Count > ApprovalLimits.Options)
            problems.Add($"Options has {options.Count} entries; the limit is {ApprovalLimits.Options}.");
        if (options.Find(o => o.Length > ApprovalLimits.OptionText) is { } longOption)
            problems.Add($"Option '{longOption[..40]}…' is {longOption.Length} characters long; the limit is {ApprovalLimits.OptionText}.");
        if (evidenceFormat is not (EvidenceFormats.Text or EvidenceFormats.TrustedMarkdown))
            problems.Add($"EvidenceFormat '{evidenceFormat}' is not a format: use {EvidenceFormats.Text} or {EvidenceFormats.TrustedMarkdown}.");
        if (problems.Count > 0)
            throw new ApprovalException("approval.invalid-gate", $"Approval gate '{(title.Length > 80 ? title[..80] + "…" : title)}' is not set up correctly: {string.Join(" ", problems)}");
    }

    private static string Required(string? value, string name) =>
        string.IsNullOrWhiteSpace(value) ? throw new ApprovalException("approval.invalid-gate", $"The approval gate needs {name}.") : value.Trim();

    private static ILogger Logger(ActivityExecutionContext context) => context.GetRequiredService<ILogger<ApprovalGate>>();
}

/// <summary>Values of <see cref="ApprovalGate.EvidenceFormat"/>.</summary>
public static class EvidenceFormats
{
    public const string Text = "Text";
    public const string TrustedMarkdown = "TrustedMarkdown";
}
