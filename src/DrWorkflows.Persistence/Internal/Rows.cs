using System.Text.Json;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Serialization;

namespace DrWorkflows.Persistence.Internal;

/// <summary>One bookmark row, derived from <see cref="WorkflowState.Bookmarks"/>.</summary>
internal sealed record BookmarkRow(
    int Position,
    string Id,
    string ExecutionId,
    string Name,
    string? Key,
    string ActivityType,
    string NodeId,
    DateTimeOffset? ResumeAt,
    DateTimeOffset CreatedAt,
    string? Payload);

/// <summary>One journal row: query columns plus the whole entry as JSON.</summary>
internal sealed record JournalRow(
    long Sequence,
    DateTimeOffset Timestamp,
    string EventName,
    string? ExecutionId,
    string? NodeId,
    string? ActivityType,
    string? Actor,
    string Entry);

/// <summary>
/// Everything one create or commit writes, computed on the caller's thread before the store takes its write lock
/// (serialization is the costly part of a commit).
/// </summary>
internal sealed class InstanceWrite
{
    private InstanceWrite(WorkflowState state, IReadOnlyList<JournalEntry> journal, long expectedRevision, long newRevision)
    {
        Id = state.Id;
        DefinitionId = state.DefinitionId;
        DefinitionVersionId = state.DefinitionVersionId;
        Version = state.DefinitionVersion;
        Name = state.Name;
        CorrelationId = state.CorrelationId;
        ParentInstanceId = state.ParentInstanceId;
        Platform = state.Platform;
        Status = state.Status.ToString();
        SubStatus = state.SubStatus.ToString();
        IncidentCount = Rows.OpenIncidents(state);
        CreatedAt = Times.Utc(state.CreatedAt);
        UpdatedAt = Times.Utc(state.UpdatedAt);
        FinishedAt = Times.Utc(state.FinishedAt);
        ExpectedRevision = expectedRevision;
        NewRevision = newRevision;
        StateJson = Rows.SerializeState(state, newRevision);

        var bookmarks = new BookmarkRow[state.Bookmarks.Count];
        for (var i = 0; i < bookmarks.Length; i++)
        {
            var b = state.Bookmarks[i];
            bookmarks[i] = new BookmarkRow(
                i, b.Id, b.ExecutionId, b.Name, b.Key, b.ActivityType, b.NodeId,
                Times.Utc(b.ResumeAt), Times.Utc(b.CreatedAt), b.Payload?.ToJsonString());
        }

        Bookmarks = bookmarks;

        var rows = new JournalRow[journal.Count];
        for (var i = 0; i < rows.Length; i++)
        {
            var e = journal[i];
            rows[i] = new JournalRow(
                e.Sequence, Times.Utc(e.Timestamp), e.EventName, e.ExecutionId, e.NodeId, e.ActivityType, e.Actor,
                JsonSerializer.Serialize(e, Json.Options));
        }

        Journal = rows;
    }

    public string Id { get; }

    public string DefinitionId { get; }

    public string DefinitionVersionId { get; }

    public int Version { get; }

    public string? Name { get; }

    public string? CorrelationId { get; }

    public string? ParentInstanceId { get; }

    /// <summary>Set for runs of definitions that run once per platform (column <c>platform</c>, written at create only).</summary>
    public string? Platform { get; }

    public string Status { get; }

    public string SubStatus { get; }

    public int IncidentCount { get; }

    public DateTimeOffset CreatedAt { get; }

    public DateTimeOffset UpdatedAt { get; }

    public DateTimeOffset? FinishedAt { get; }

    public long ExpectedRevision { get; }

    public long NewRevision { get; }

    public string StateJson { get; }

    public IReadOnlyList<BookmarkRow> Bookmarks { get; }

    public IReadOnlyList<JournalRow> Journal { get; }

    /// <summary>A new run: stored at revision 1.</summary>
    public static InstanceWrite ForCreate(WorkflowState state, IReadOnlyList<JournalEntry> journal) =>
        new(Validated(state), journal, 0, 1);

    /// <summary>A commit on top of <see cref="WorkflowState.Revision"/>.</summary>
    public static InstanceWrite ForCommit(WorkflowState state, IReadOnlyList<JournalEntry> journal) =>
        new(Validated(state), journal, state.Revision, state.Revision + 1);

    private static WorkflowState Validated(WorkflowState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (string.IsNullOrEmpty(state.Id))
            throw new ArgumentException("The workflow state has no instance id.", nameof(state));
        return state;
    }
}

internal static class Rows
{
    public static int OpenIncidents(WorkflowState state) => state.Incidents.Count(i => i.Resolution is null);

    /// <summary>Serializes the state as it will be stored, with <paramref name="revision"/> (the caller's object is left unchanged).</summary>
    public static string SerializeState(WorkflowState state, long revision)
    {
        var previous = state.Revision;
        state.Revision = revision;
        try
        {
            return JsonSerializer.Serialize(state, Json.Options);
        }
        finally
        {
            state.Revision = previous;
        }
    }

    /// <summary>The stored state; the revision column is authoritative.</summary>
    public static WorkflowState DeserializeState(string json, long revision)
    {
        var state = JsonSerializer.Deserialize<WorkflowState>(json, Json.Options)
            ?? throw new InvalidDataException("A stored workflow state is empty.");
        state.Revision = revision;
        return state;
    }

    public static JournalEntry DeserializeEntry(string json) =>
        JsonSerializer.Deserialize<JournalEntry>(json, Json.Options)
            ?? throw new InvalidDataException("A stored journal entry is empty.");

    public static WorkflowStatus ParseStatus(string value) => Enum.Parse<WorkflowStatus>(value);

    public static WorkflowSubStatus ParseSubStatus(string value) => Enum.Parse<WorkflowSubStatus>(value);

    /// <summary>Page bounds as LINQ's Skip/Take treat them (negative means none).</summary>
    public static (int Skip, int Take) Page(int skip, int take) => (Math.Max(0, skip), Math.Max(0, take));
}
