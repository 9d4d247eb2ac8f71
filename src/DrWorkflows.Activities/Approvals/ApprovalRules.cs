using System.Globalization;
using System.Text.Json.Nodes;

namespace DrWorkflows.Activities.Approvals;

/// <summary>What someone asks the gate to record.</summary>
public sealed record ApprovalRequest
{
    /// <summary><c>approve</c> or <c>reject</c>.</summary>
    public required string Vote { get; init; }

    /// <summary>The option chosen: its text, or its number from 1 (<c>2</c> or <c>#2</c>).</summary>
    public string? Option { get; init; }

    /// <summary>The free answer of a gate with an input schema.</summary>
    public JsonNode? Value { get; init; }

    public string? Comment { get; init; }

    /// <summary>The evidence hash the decider was shown, when the channel knows it: a mismatch is refused.</summary>
    public string? EvidenceSha256 { get; init; }

    /// <summary>The phrase typed to confirm an option that needs it (see <see cref="ApprovalRecord.ConfirmationPhrases"/>).</summary>
    public string? Confirmation { get; init; }

    /// <summary>Where the decision was made (the Slack message clicked, the issue commented on): it must be where the gate was posted.</summary>
    public ApprovalPlace? Place { get; init; }
}

/// <summary>
/// Where a decision was made: <c>slack</c> with <c>{channel id}/{message ts}</c>, or <c>github</c> with
/// <c>owner/repo#number</c>. A decision with a place counts only on a gate that was posted exactly there.
/// </summary>
public sealed record ApprovalPlace(string Channel, string Where)
{
    public static ApprovalPlace SlackMessage(string channelId, string messageTs) => new(ApprovalChannels.Slack, $"{channelId}/{messageTs}");

    public static ApprovalPlace GitHubIssue(string repository, int number) => new(ApprovalChannels.GitHub, new GitHubIssueRef(repository, number).ToString());

    /// <summary>Whether the gate was posted here.</summary>
    public bool Matches(ApprovalRecord record) => Channel switch
    {
        ApprovalChannels.Slack => record.SlackChannel is { Length: > 0 } channel && record.SlackTs is { Length: > 0 } ts && string.Equals(Where, $"{channel}/{ts}", StringComparison.Ordinal),
        ApprovalChannels.GitHub => GitHubIssueRef.TryParse(record.GitHubIssue, out var gate) && GitHubIssueRef.TryParse(Where, out var here) && gate.Is(here.Repository, here.Number),
        _ => false,
    };

    public JsonObject ToJson() => new() { ["channel"] = Channel, ["where"] = Where };

    public static ApprovalPlace? FromJson(JsonNode? node) =>
        node?["channel"]?.ToString() is { Length: > 0 } channel && node["where"]?.ToString() is { } where ? new ApprovalPlace(channel, where) : null;
}

/// <summary>How much a decision and a gate may carry (docs/approvals.md, Limits).</summary>
public static class ApprovalLimits
{
    /// <summary>Characters of a decision's comment.</summary>
    public const int Comment = 4000;

    /// <summary>Characters of the option (or typed answer) a decision names.</summary>
    public const int Option = 500;

    /// <summary>Characters of a free answer's JSON.</summary>
    public const int Value = 16 * 1024;

    /// <summary>Characters of a gate's title.</summary>
    public const int Title = 200;

    /// <summary>Characters of a gate's question.</summary>
    public const int Question = 4000;

    /// <summary>Characters of a gate's evidence text; longer text is cut, with a note saying so.</summary>
    public const int EvidenceText = 20_000;

    /// <summary>Characters of a gate's facts as JSON.</summary>
    public const int Facts = 64 * 1024;

    /// <summary>Options of a gate, and characters of each.</summary>
    public const int Options = 50;

    public const int OptionText = 200;
}

/// <summary>Why a decision was not recorded. <see cref="Code"/> is stable; <see cref="Message"/> says what to do.</summary>
public sealed record ApprovalRefusal(string Code, string Message)
{
    /// <summary>HTTP status for API answers.</summary>
    public int HttpStatus => Code switch
    {
        ApprovalCodes.NotFound => 404,
        ApprovalCodes.NotApprover or ApprovalCodes.SelfApproval or ApprovalCodes.WrongPlace => 403,
        ApprovalCodes.Decided or ApprovalCodes.TimedOut or ApprovalCodes.AlreadyVoted or ApprovalCodes.EvidenceChanged or ApprovalCodes.Busy => 409,
        _ => 400,
    };
}

/// <summary>Refusal codes.</summary>
public static class ApprovalCodes
{
    public const string NotFound = "approval.not-found";
    public const string Decided = "approval.decided";
    public const string TimedOut = "approval.timed-out";
    public const string NotApprover = "approval.not-approver";
    public const string SelfApproval = "approval.self-approval";
    public const string AlreadyVoted = "approval.already-voted";
    public const string BadVote = "approval.bad-vote";
    public const string OptionRequired = "approval.option-required";
    public const string OptionNotOffered = "approval.option-not-offered";
    public const string InvalidAnswer = "approval.invalid-answer";
    public const string EvidenceChanged = "approval.evidence-changed";
    public const string Unsealed = "approval.unsealed";
    public const string Busy = "approval.busy";
    public const string ConfirmationRequired = "approval.confirmation-required";
    public const string WrongPlace = "approval.wrong-place";
    public const string FieldNotTaken = "approval.field-not-taken";
    public const string TooLong = "approval.too-long";
}

/// <summary>The checked form of a request: the vote to append, or a refusal; <see cref="AlreadyRecorded"/> for a repeat of a recorded vote.</summary>
public sealed record ApprovalVerdict(ApprovalVote? Vote, ApprovalRefusal? Refusal, bool AlreadyRecorded)
{
    public static ApprovalVerdict Refuse(string code, string message) => new(null, new ApprovalRefusal(code, message), false);
}

/// <summary>
/// The rules of a gate, in one place: the approval service checks them before it resumes the gate (to refuse
/// without touching the run), and the gate checks them again on the state it is resumed with.
/// </summary>
public static class ApprovalRules
{
    public static ApprovalVerdict Check(ApprovalRecord record, ApprovalIdentity identity, string personKey, bool isAllowed, ApprovalRequest request, DateTimeOffset now)
    {
        if (request.Place is { } place && (place.Channel != identity.Channel || !place.Matches(record)))
            return ApprovalVerdict.Refuse(ApprovalCodes.WrongPlace, $"Approval '{record.Title}' was not asked there ({place.Channel} {place.Where}): decide it on {PostedAt(record, place.Channel)}, the approvals page, or the API.");
        var vote = request.Vote?.Trim().ToLowerInvariant();
        if (record.IsDecided)
        {
            var previous = record.Votes.Find(v => v.PersonKey == personKey);
            if (previous is not null && previous.Vote == vote && SameOption(record, previous, request))
                return new ApprovalVerdict(previous, null, AlreadyRecorded: true);
            return record.Status == ApprovalStatus.TimedOut
                ? ApprovalVerdict.Refuse(ApprovalCodes.TimedOut, $"Approval '{record.Title}' timed out at {record.DecidedAt:u} and took its safe default ({record.Outcome}); it cannot be decided any more.")
                : ApprovalVerdict.Refuse(ApprovalCodes.Decided, $"Approval '{record.Title}' was already {record.Status.ToString().ToLowerInvariant()}{DecidedBy(record)} at {record.DecidedAt:u}; nothing was changed.");
        }

        if (vote is not (ApprovalVotes.Approve or ApprovalVotes.Reject))
            return ApprovalVerdict.Refuse(ApprovalCodes.BadVote, $"'{Shorten(request.Vote)}' is not a decision: use approve or reject.");
        if (TooLong(request) is { } tooLong)
            return tooLong;
        if (NotTaken(record, vote, request) is { } notTaken)
            return notTaken;
        if (!string.IsNullOrWhiteSpace(request.EvidenceSha256) && !string.Equals(request.EvidenceSha256.Trim(), record.EvidenceSha256, StringComparison.OrdinalIgnoreCase))
            return ApprovalVerdict.Refuse(ApprovalCodes.EvidenceChanged, $"The evidence you saw (sha256 {request.EvidenceSha256}) is not this gate's evidence ({record.EvidenceSha256}); reload the approval and decide again.");
        if (!isAllowed)
            return ApprovalVerdict.Refuse(ApprovalCodes.NotApprover, $"{identity.DisplayName} ({identity.Channel}) is not an approver of '{record.Title}'. Approvers: {string.Join(", ", record.Approvers.Concat(record.Escalations.SelectMany(e => e.People)))}.");
        if (vote == ApprovalVotes.Approve && record.ForbidSelfApproval && record.InitiatorKey is not null && record.InitiatorKey == personKey)
            return ApprovalVerdict.Refuse(ApprovalCodes.SelfApproval, $"{identity.DisplayName} started this run ({record.Initiator}) and this gate forbids self-approval: another approver must approve.");

        string? option = null;
        JsonNode? value = null;
        if (vote == ApprovalVotes.Approve)
        {
            if (record.InputSchema is { } schema)
            {
                if (request.Value is null && request.Option is null)
                    return ApprovalVerdict.Refuse(ApprovalCodes.OptionRequired, $"'{record.Title}' needs an answer (JSON matching its schema) with the approval.");
                value = request.Value?.DeepClone() ?? ParseLoose(request.Option!);
                var errors = AnswerSchema.Validate(schema, value);
                if (errors.Count > 0 && request.Value is null && JsonValue.Create(request.Option!.Trim()) is var asText && AnswerSchema.Validate(schema, asText).Count == 0)
                {
                    // Typed text that happens to parse as JSON (42, true) but the schema wants a string.
                    value = asText;
                    errors = [];
                }
                if (errors.Count > 0)
                    return ApprovalVerdict.Refuse(ApprovalCodes.InvalidAnswer, $"The answer does not match the gate's schema: {string.Join(" ", errors)}");
                option = EvidenceHash.Canonical(value);
            }
            else if (record.Options.Count > 0)
            {
                if (string.IsNullOrWhiteSpace(request.Option) && record.DefaultOption is null)
                    return ApprovalVerdict.Refuse(ApprovalCodes.OptionRequired, $"Choose one of the options of '{record.Title}': {OptionList(record)}.");
                option = ChosenOption(record, request);
                if (option is null)
                    return ApprovalVerdict.Refuse(ApprovalCodes.OptionNotOffered, $"'{Shorten(request.Option)}' is not an option of '{record.Title}'. Options: {OptionList(record)}.");
                if (PhraseFor(record, option) is { } phrase && !Confirms(request.Confirmation, phrase))
                {
                    return ApprovalVerdict.Refuse(ApprovalCodes.ConfirmationRequired, string.IsNullOrWhiteSpace(request.Confirmation)
                        ? $"'{option}' needs a typed confirmation: type \"{phrase}\" with your approval. {HowToConfirm}"
                        : $"The confirmation typed for '{option}' is not \"{phrase}\"; nothing was recorded. {HowToConfirm}");
                }
            }
            else if (!string.IsNullOrWhiteSpace(request.Option) || request.Value is not null)
            {
                return ApprovalVerdict.Refuse(ApprovalCodes.OptionNotOffered, $"'{record.Title}' offers no options: approve or reject without one.");
            }
        }

        var existing = record.Votes.Find(v => v.PersonKey == personKey);
        if (existing is not null)
        {
            if (existing.Vote == vote && (existing.Option ?? string.Empty) == (option ?? string.Empty))
                return new ApprovalVerdict(existing, null, AlreadyRecorded: true);
            return ApprovalVerdict.Refuse(ApprovalCodes.AlreadyVoted, $"{identity.DisplayName} already voted {existing.Vote}{(existing.Choice is null ? string.Empty : $" ({existing.Choice})")} at {existing.At:u} through {existing.Channel}; a vote cannot be changed.");
        }

        return new ApprovalVerdict(
            new ApprovalVote
            {
                Vote = vote,
                // People known to the directory (the contact tree, Approvals:People) by their name, not a channel id.
                By = personKey.StartsWith("person:", StringComparison.Ordinal) ? personKey["person:".Length..] : identity.DisplayName,
                PersonKey = personKey,
                Channel = identity.Channel,
                Subject = identity.Subject,
                Option = option,
                Value = value,
                Comment = string.IsNullOrWhiteSpace(request.Comment) ? null : request.Comment.Trim(),
                Confirmation = option is not null && PhraseFor(record, option) is not null ? request.Confirmation!.Trim() : null,
                At = now,
                EvidenceSha256 = record.EvidenceSha256,
            },
            null,
            AlreadyRecorded: false);
    }

    /// <summary>Appends an accepted vote and decides the gate when it is final. Returns whether it is now decided.</summary>
    public static bool Apply(ApprovalRecord record, ApprovalVote vote, DateTimeOffset now)
    {
        record.Votes.Add(vote);
        if (vote.Vote == ApprovalVotes.Reject)
        {
            Decide(record, ApprovalStatus.Rejected, ApprovalOutcomes.Rejected, null, null, now);
            return true;
        }

        var approvals = record.Votes.Where(v => v.Vote == ApprovalVotes.Approve && (v.Option ?? string.Empty) == (vote.Option ?? string.Empty))
            .Select(v => v.PersonKey).Distinct(StringComparer.Ordinal).Count();
        if (approvals < record.RequiredApprovals)
            return false;
        Decide(record, ApprovalStatus.Approved, ApprovalOutcomes.Approved, vote.Option, vote.Value, now);
        return true;
    }

    public static void Decide(ApprovalRecord record, ApprovalStatus status, string outcome, string? option, JsonNode? value, DateTimeOffset now)
    {
        record.Status = status;
        record.Outcome = outcome;
        record.DecidedOption = option;
        record.DecidedValue = value?.DeepClone();
        record.DecidedAt = now;
    }

    private static ApprovalVerdict? TooLong(ApprovalRequest request)
    {
        if (request.Comment is { Length: > ApprovalLimits.Comment } comment)
            return ApprovalVerdict.Refuse(ApprovalCodes.TooLong, $"The comment is {comment.Length} characters long; the limit is {ApprovalLimits.Comment}.");
        if (request.Option is { Length: > ApprovalLimits.Option } option)
            return ApprovalVerdict.Refuse(ApprovalCodes.TooLong, $"The option is {option.Length} characters long; the limit is {ApprovalLimits.Option}.");
        if (request.Value?.ToJsonString() is { Length: > ApprovalLimits.Value } value)
            return ApprovalVerdict.Refuse(ApprovalCodes.TooLong, $"The value is {value.Length} characters of JSON; the limit is {ApprovalLimits.Value}.");
        return null;
    }

    /// <summary>Fields the gate type (or a rejection) does not take are refused rather than ignored.</summary>
    private static ApprovalVerdict? NotTaken(ApprovalRecord record, string vote, ApprovalRequest request)
    {
        if (vote == ApprovalVotes.Reject && (request.Value is not null || !string.IsNullOrWhiteSpace(request.Option)))
            return ApprovalVerdict.Refuse(ApprovalCodes.FieldNotTaken, $"A rejection takes only a comment: send no '{(request.Value is not null ? "value" : "option")}'.");
        if (record.InputSchema is null && record.Options.Count > 0 && request.Value is not null)
            return ApprovalVerdict.Refuse(ApprovalCodes.FieldNotTaken, $"'{record.Title}' has options and takes no 'value': send 'option' (one of {OptionList(record)}).");
        if (record.InputSchema is not null && request.Value is not null && !string.IsNullOrWhiteSpace(request.Option))
            return ApprovalVerdict.Refuse(ApprovalCodes.FieldNotTaken, $"'{record.Title}' takes a free answer: send it as 'value' or as 'option' text, not both.");
        return null;
    }

    private static string PostedAt(ApprovalRecord record, string channel) => channel switch
    {
        ApprovalChannels.Slack when record.SlackTs is not null => $"its Slack message ({record.SlackChannel}/{record.SlackTs})",
        ApprovalChannels.GitHub when record.GitHubIssue is not null => $"its incident issue ({record.GitHubIssue})",
        _ => "the channels it was posted to",
    };

    private static string Shorten(string? text) => text is { Length: > 40 } ? text[..40] + "…" : text ?? string.Empty;

    private static bool SameOption(ApprovalRecord record, ApprovalVote previous, ApprovalRequest request) =>
        previous.Vote == ApprovalVotes.Reject
        || (record.InputSchema is null
            ? (previous.Option ?? string.Empty) == (string.IsNullOrWhiteSpace(request.Option) ? record.DefaultOption ?? string.Empty : MatchOption(record, request.Option) ?? "\0")
            : previous.Option == EvidenceHash.Canonical(request.Value ?? (request.Option is null ? null : ParseLoose(request.Option))));

    /// <summary>The option a request chooses: the one it names, or the gate's default when it names none.</summary>
    private static string? ChosenOption(ApprovalRecord record, ApprovalRequest request) =>
        string.IsNullOrWhiteSpace(request.Option) ? record.DefaultOption : MatchOption(record, request.Option);

    /// <summary>The phrase an option needs typed, or null.</summary>
    public static string? PhraseFor(ApprovalRecord record, string option) =>
        record.ConfirmationPhrases is { } phrases && phrases.TryGetValue(option, out var phrase) && !string.IsNullOrWhiteSpace(phrase) ? phrase : null;

    /// <summary>The typed text is the phrase: case and runs of spaces do not matter, every word does.</summary>
    public static bool Confirms(string? typed, string phrase) =>
        typed is not null && string.Equals(Normalize(typed), Normalize(phrase), StringComparison.OrdinalIgnoreCase);

    private static string Normalize(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    private const string HowToConfirm =
        "Type it in the confirmation field of the approvals page, with `drw approvals approve <id> --option N --confirm \"<phrase>\"`, as \"confirmation\" in the body of POST /api/approvals/{id}/approve, or on a line `confirm: <phrase>` under `/approve N` on the incident issue. Slack buttons cannot carry it.";

    private static string DecidedBy(ApprovalRecord record)
    {
        var decision = ApprovalDecision.From(record);
        return decision.Approvers.Count == 0 ? string.Empty : " by " + string.Join(", ", decision.Approvers);
    }

    /// <summary>The offered option named by its text (case-insensitive) or its number from 1.</summary>
    public static string? MatchOption(ApprovalRecord record, string given)
    {
        var text = given.Trim();
        var exact = record.Options.Find(o => string.Equals(o, text, StringComparison.Ordinal))
            ?? record.Options.Find(o => string.Equals(o, text, StringComparison.OrdinalIgnoreCase));
        if (exact is not null)
            return exact;
        var number = text.TrimStart('#');
        return int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index >= 1 && index <= record.Options.Count
            ? record.Options[index - 1]
            : null;
    }

    private static string OptionList(ApprovalRecord record) =>
        string.Join(", ", record.Options.Select((o, i) => $"{i + 1}. {o}"));

    /// <summary>A free answer typed as text: JSON when it parses, else the text as a JSON string.</summary>
    public static JsonNode? ParseLoose(string text)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException)
        {
            return JsonValue.Create(text.Trim());
        }
    }
}
