using System.Text.Json;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Approvals;

/// <summary>Which approvals to list.</summary>
public sealed record ApprovalQuery
{
    /// <summary><c>pending</c>, <c>decided</c>, <c>approved</c>, <c>rejected</c>, <c>timedout</c> or <c>all</c> (default).</summary>
    public string? Status { get; init; }

    public string? InstanceId { get; init; }

    public string? DefinitionId { get; init; }

    /// <summary>How many recent runs are read for decided approvals (pending ones come from the bookmark index).</summary>
    public int ScanRuns { get; init; } = 200;

    public int Take { get; init; } = 100;
}

public enum ApprovalResultKind
{
    /// <summary>The vote was recorded; the gate still waits for more approvals.</summary>
    Recorded,

    /// <summary>The vote was recorded and decided the gate.</summary>
    Decided,

    /// <summary>The same vote by the same person was recorded before (a retry); nothing changed.</summary>
    AlreadyRecorded,

    /// <summary>Nothing changed; see the refusal.</summary>
    Refused,
}

public sealed record ApprovalResult(ApprovalResultKind Kind, ApprovalRecord? Record, ApprovalRefusal? Refusal, ApprovalVote? Vote = null)
{
    public static ApprovalResult Refused(string code, string message, ApprovalRecord? record = null) =>
        new(ApprovalResultKind.Refused, record, new ApprovalRefusal(code, message));
}

/// <summary>Lists gates and records decisions on them, for every channel (Slack, web, API/CLI, GitHub).</summary>
public interface IApprovalService
{
    Task<IReadOnlyList<ApprovalRecord>> ListAsync(ApprovalQuery query, CancellationToken cancellationToken);

    Task<ApprovalRecord?> FindAsync(string approvalId, CancellationToken cancellationToken);

    /// <summary>Pending gates that name this incident issue.</summary>
    Task<IReadOnlyList<ApprovalRecord>> FindPendingForIssueAsync(string repository, int number, CancellationToken cancellationToken);

    /// <summary>
    /// Checks a decision by an identity the channel has established, and records it on the gate. Refusals
    /// change nothing. Safe to call concurrently: each vote is recorded at most once.
    /// </summary>
    Task<ApprovalResult> DecideAsync(string approvalId, ApprovalIdentity identity, ApprovalRequest request, CancellationToken cancellationToken);
}

internal sealed class ApprovalService(
    IWorkflowInstanceStore instances,
    WorkflowRuntime runtime,
    IApproverDirectory directory,
    ApprovalSeal seal,
    TimeProvider clock,
    ILogger<ApprovalService> logger) : IApprovalService
{
    private const int MaxAttempts = 8;

    public async Task<IReadOnlyList<ApprovalRecord>> ListAsync(ApprovalQuery query, CancellationToken cancellationToken)
    {
        var status = (query.Status ?? "all").Trim().ToLowerInvariant();
        var found = new Dictionary<string, ApprovalRecord>(StringComparer.Ordinal);
        if (status is "all" or "pending" or "")
        {
            foreach (var record in await PendingAsync(query.InstanceId, cancellationToken))
                found[record.ApprovalId] = record;
        }

        if (status != "pending")
        {
            IEnumerable<string> runIds = query.InstanceId is { Length: > 0 } id
                ? [id]
                : (await instances.ListAsync(new InstanceQuery(DefinitionId: query.DefinitionId, Take: Math.Clamp(query.ScanRuns, 1, 2000)), cancellationToken)).Items.Select(i => i.Id);
            foreach (var runId in runIds)
            {
                var state = await instances.GetAsync(runId, cancellationToken);
                foreach (var record in RecordsOf(state))
                    found.TryAdd(record.ApprovalId, record);
            }
        }

        return [.. found.Values
            .Where(r => query.InstanceId is not { Length: > 0 } || r.InstanceId == query.InstanceId)
            .Where(r => query.DefinitionId is not { Length: > 0 } || r.DefinitionId == query.DefinitionId)
            .Where(r => status switch
            {
                "pending" => r.Status == ApprovalStatus.Pending,
                "decided" => r.IsDecided,
                "approved" => r.Status == ApprovalStatus.Approved,
                "rejected" => r.Status == ApprovalStatus.Rejected,
                "timedout" or "timed-out" => r.Status == ApprovalStatus.TimedOut,
                _ => true,
            })
            .OrderBy(r => r.IsDecided)
            .ThenByDescending(r => r.CreatedAt)
            .Take(Math.Clamp(query.Take, 1, 1000))];
    }

    public async Task<ApprovalRecord?> FindAsync(string approvalId, CancellationToken cancellationToken)
    {
        var bookmarks = await instances.FindBookmarksAsync(new BookmarkQuery(Name: ApprovalGate.BookmarkName, Key: approvalId), cancellationToken);
        var pending = bookmarks is [var bookmark, ..] ? Parse(bookmark.PayloadJson) : null;
        return await FromStateAsync(approvalId, cancellationToken) ?? pending;
    }

    public async Task<IReadOnlyList<ApprovalRecord>> FindPendingForIssueAsync(string repository, int number, CancellationToken cancellationToken) =>
        [.. (await PendingAsync(null, cancellationToken)).Where(r => GitHubIssueRef.TryParse(r.GitHubIssue, out var issue) && issue.Is(repository, number))];

    public async Task<ApprovalResult> DecideAsync(string approvalId, ApprovalIdentity identity, ApprovalRequest request, CancellationToken cancellationToken)
    {
        var personKey = directory.PersonKey(identity);
        var requestId = Guid.NewGuid().ToString("N");
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var bookmarks = await instances.FindBookmarksAsync(new BookmarkQuery(Name: ApprovalGate.BookmarkName, Key: approvalId), cancellationToken);
            if (bookmarks is not [var bookmark, ..] || Parse(bookmark.PayloadJson) is not { } record)
                return await NotWaitingAsync(approvalId, identity, personKey, request, cancellationToken);

            // Where the gate was posted is learnt after its bookmark was made: the run's state has it.
            if (request.Place is not null && record.SlackTs is null && await FromStateAsync(approvalId, cancellationToken) is { } posted)
            {
                record.SlackChannel = posted.SlackChannel;
                record.SlackTs = posted.SlackTs;
            }

            var allowed = await directory.IsAllowedAsync(record, identity, cancellationToken);
            var verdict = ApprovalRules.Check(record, identity, personKey, allowed, request, clock.GetUtcNow());
            if (verdict.AlreadyRecorded)
                return new ApprovalResult(ApprovalResultKind.AlreadyRecorded, record, null, verdict.Vote);
            if (verdict.Refusal is { } refusal)
                return Refuse(record, identity, request, refusal);

            var decision = new JsonObject
            {
                ["requestId"] = requestId,
                ["approvalId"] = approvalId,
                ["vote"] = verdict.Vote!.Vote,
                ["by"] = identity.DisplayName,
                ["channel"] = identity.Channel,
                ["subject"] = identity.Subject,
                ["roles"] = new JsonArray([.. identity.Roles.Select(r => (JsonNode?)JsonValue.Create(r))]),
                ["option"] = request.Option,
                ["value"] = request.Value?.DeepClone(),
                ["comment"] = request.Comment,
                ["confirmation"] = request.Confirmation,
                ["evidenceSha256"] = record.EvidenceSha256,
                ["place"] = request.Place?.ToJson(),
                ["at"] = clock.GetUtcNow().ToString("O"),
            };
            var payload = new JsonObject { ["decision"] = decision, ["seal"] = seal.Sign(bookmark.Id, decision) };
            var (outcome, state) = await runtime.ResumeAsync(bookmark.Id, payload, $"{identity.DisplayName} ({identity.Channel})", cancellationToken);
            if (outcome == ResumeOutcome.BookmarkNotFound)
                continue;
            if (outcome == ResumeOutcome.InstanceNotFound || state is null)
                return ApprovalResult.Refused(ApprovalCodes.NotFound, $"The run of approval '{approvalId}' no longer exists.");

            var after = RecordsOf(state).FirstOrDefault(r => r.ApprovalId == approvalId) ?? record;
            var recorded = after.Votes.Find(v => v.RequestId == requestId);
            if (recorded is not null)
                return new ApprovalResult(after.IsDecided ? ApprovalResultKind.Decided : ApprovalResultKind.Recorded, after, null, recorded);
            if (after.LastRefusal is { } note && note.RequestId == requestId)
                return Refuse(after, identity, request, new ApprovalRefusal(note.Code, note.Message));
            return ApprovalResult.Refused(ApprovalCodes.Busy, $"Approval '{approvalId}' changed while your decision was checked; look at it again and retry.", after);
        }

        return ApprovalResult.Refused(ApprovalCodes.Busy, $"Approval '{approvalId}' is changing too quickly (other decisions or an escalation); retry in a moment.");
    }

    private async Task<ApprovalResult> NotWaitingAsync(string approvalId, ApprovalIdentity identity, string personKey, ApprovalRequest request, CancellationToken cancellationToken)
    {
        var record = await FromStateAsync(approvalId, cancellationToken);
        if (record is null)
            return ApprovalResult.Refused(ApprovalCodes.NotFound, $"There is no approval '{approvalId}'. List pending approvals with GET /api/approvals?status=pending.");
        if (!record.IsDecided)
            return ApprovalResult.Refused(ApprovalCodes.Busy, $"Approval '{approvalId}' is not accepting decisions right now (its run is not waiting on it); retry in a moment.", record);
        var verdict = ApprovalRules.Check(record, identity, personKey, isAllowed: false, request, clock.GetUtcNow());
        return verdict.AlreadyRecorded
            ? new ApprovalResult(ApprovalResultKind.AlreadyRecorded, record, null, verdict.Vote)
            : Refuse(record, identity, request, verdict.Refusal!);
    }

    private ApprovalResult Refuse(ApprovalRecord record, ApprovalIdentity identity, ApprovalRequest request, ApprovalRefusal refusal)
    {
        Log.DecisionRefused(logger, record.ApprovalId, request.Vote, identity.DisplayName, identity.Channel, refusal.Code);
        return new ApprovalResult(ApprovalResultKind.Refused, record, refusal);
    }

    /// <summary>
    /// Gates waiting for a decision (from the bookmark index), shown as their run's state has them: the state
    /// also has what was learnt after the bookmark was made (the Slack message, delivery problems).
    /// </summary>
    private async Task<IReadOnlyList<ApprovalRecord>> PendingAsync(string? instanceId, CancellationToken cancellationToken)
    {
        var bookmarks = await instances.FindBookmarksAsync(new BookmarkQuery(Name: ApprovalGate.BookmarkName, InstanceId: string.IsNullOrEmpty(instanceId) ? null : instanceId), cancellationToken);
        var result = new List<ApprovalRecord>();
        foreach (var run in bookmarks.GroupBy(b => b.InstanceId, StringComparer.Ordinal))
        {
            var current = RecordsOf(await instances.GetAsync(run.Key, cancellationToken)).ToDictionary(r => r.ApprovalId, StringComparer.Ordinal);
            foreach (var record in run.Select(b => Parse(b.PayloadJson)).OfType<ApprovalRecord>())
                result.Add(current.GetValueOrDefault(record.ApprovalId) is { Status: ApprovalStatus.Pending } fresh ? fresh : record);
        }

        return result;
    }

    private async Task<ApprovalRecord?> FromStateAsync(string approvalId, CancellationToken cancellationToken)
    {
        var dot = approvalId.LastIndexOf('.');
        if (dot <= 0)
            return null;
        var state = await instances.GetAsync(approvalId[..dot], cancellationToken);
        return RecordsOf(state).FirstOrDefault(r => r.ApprovalId == approvalId);
    }

    private static IEnumerable<ApprovalRecord> RecordsOf(WorkflowState? state)
    {
        if (state?.Properties.GetValueOrDefault(ApprovalGate.RunPropertyName) is not JsonObject all)
            yield break;
        foreach (var (_, node) in all)
        {
            if (node is not null)
                yield return ApprovalRecord.FromJson(node);
        }
    }

    private static ApprovalRecord? Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
            return null;
        try
        {
            return JsonNode.Parse(json) is { } node ? ApprovalRecord.FromJson(node) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
