using System.Data.Common;
using DrWorkflows.Core.Persistence;

namespace DrWorkflows.Persistence.Internal;

/// <summary>Reads a time column: each dialect stores times its own way.</summary>
internal delegate DateTimeOffset TimeReader(DbDataReader reader, int ordinal);

/// <summary>Row mappers shared by the SQL stores; column order is given by the constants here.</summary>
internal static class RowReaders
{
    public const string DefinitionColumns =
        "id, definition_id, version, name, description, is_latest, is_published, is_readonly, usable_as_activity, origin, created_at, json, source_commit";

    public const string BookmarkColumns =
        "id, instance_id, execution_id, name, key, activity_type, node_id, resume_at, created_at, payload";

    public const string SummaryColumns =
        "id, definition_id, definition_version_id, version, name, correlation_id, status, sub_status, incident_count, created_at, updated_at, finished_at";

    public const string ThrowawayColumns =
        "id, kind, name, location, host, description, instance_id, execution_id, activity_id, activity_type, attempt, holder_id, node_id, "
        + "recorded_at, state, ended_at, ended_by, reason, last_error, failed_removals, claimed_by, claimed_until, journaled";

    public const string HolderColumns = "id, node_id, host, pid_namespace, pid, started_at, seen_at";

    public static StoredWorkflowDefinition Definition(DbDataReader r, TimeReader time) => new()
    {
        Id = r.GetString(0),
        DefinitionId = r.GetString(1),
        Version = r.GetInt32(2),
        Name = NullableString(r, 3),
        Description = NullableString(r, 4),
        IsLatest = r.GetBoolean(5),
        IsPublished = r.GetBoolean(6),
        IsReadonly = r.GetBoolean(7),
        UsableAsActivity = r.GetBoolean(8),
        Origin = r.GetString(9),
        CreatedAt = time(r, 10),
        Json = r.GetString(11),
        SourceCommit = NullableString(r, 12),
    };

    public static StoredBookmark Bookmark(DbDataReader r, TimeReader time) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), NullableString(r, 4), r.GetString(5), r.GetString(6),
        NullableTime(r, 7, time), time(r, 8), NullableString(r, 9));

    public static WorkflowInstanceSummary Summary(DbDataReader r, TimeReader time) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), NullableString(r, 4), NullableString(r, 5),
        Rows.ParseStatus(r.GetString(6)), Rows.ParseSubStatus(r.GetString(7)), r.GetInt32(8), time(r, 9), time(r, 10), NullableTime(r, 11, time));

    public static ThrowawayResource Throwaway(DbDataReader r, TimeReader time) => new()
    {
        Id = r.GetString(0),
        Kind = r.GetString(1),
        Name = r.GetString(2),
        Location = NullableString(r, 3),
        Host = NullableString(r, 4),
        Description = NullableString(r, 5),
        InstanceId = NullableString(r, 6),
        ExecutionId = NullableString(r, 7),
        ActivityId = NullableString(r, 8),
        ActivityType = NullableString(r, 9),
        Attempt = r.IsDBNull(10) ? null : r.GetInt32(10),
        HolderId = r.GetString(11),
        NodeId = r.GetString(12),
        RecordedAt = time(r, 13),
        State = Enum.Parse<ThrowawayState>(r.GetString(14)),
        EndedAt = NullableTime(r, 15, time),
        EndedBy = NullableString(r, 16),
        Reason = NullableString(r, 17),
        LastError = NullableString(r, 18),
        FailedRemovals = r.GetInt32(19),
        ClaimedBy = NullableString(r, 20),
        ClaimedUntil = NullableTime(r, 21, time),
        Journaled = r.GetBoolean(22),
    };

    public static ThrowawayHolder Holder(DbDataReader r, TimeReader time) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), NullableString(r, 3), r.GetInt32(4), time(r, 5), time(r, 6));

    public static string? NullableString(DbDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : r.GetString(ordinal);

    public static DateTimeOffset? NullableTime(DbDataReader r, int ordinal, TimeReader time) => r.IsDBNull(ordinal) ? null : time(r, ordinal);
}
