using System.Text.Json.Nodes;

namespace DrWorkflows.Core.Execution;

/// <summary>
/// One line of a run's journal (Elsa's workflow execution log record): an activity started, completed,
/// faulted, was suspended or resumed, or the run itself changed state. Entries are append-only.
/// </summary>
public sealed class JournalEntry
{
    public string Id { get; set; } = string.Empty;

    public string InstanceId { get; set; } = string.Empty;

    /// <summary>Position in the run's journal, from 0, gap-free.</summary>
    public long Sequence { get; set; }

    /// <summary>UTC, millisecond precision.</summary>
    public DateTimeOffset Timestamp { get; set; }

    /// <summary>See <see cref="JournalEvents"/>.</summary>
    public string EventName { get; set; } = string.Empty;

    public string? ExecutionId { get; set; }

    public string? ParentExecutionId { get; set; }

    public string? NodeId { get; set; }

    public string? ActivityId { get; set; }

    public string? ActivityType { get; set; }

    public int? ActivityTypeVersion { get; set; }

    public string? ActivityName { get; set; }

    public string? Message { get; set; }

    public IReadOnlyList<string>? Outcomes { get; set; }

    public int? Attempt { get; set; }

    /// <summary>Who or what caused the event: the user/channel that resumed a bookmark, the timer, an operator.</summary>
    public string? Actor { get; set; }

    /// <summary>Inputs, outputs, error, bookmark and decision details. Secrets are redacted before storing.</summary>
    public JsonObject? Payload { get; set; }
}

/// <summary>Journal event names.</summary>
public static class JournalEvents
{
    public const string WorkflowStarted = "WorkflowStarted";
    public const string WorkflowFinished = "WorkflowFinished";
    public const string WorkflowFaulted = "WorkflowFaulted";
    public const string WorkflowCancelled = "WorkflowCancelled";
    public const string WorkflowResumed = "WorkflowResumed";
    public const string Started = "Started";
    public const string Completed = "Completed";
    public const string Faulted = "Faulted";
    public const string Suspended = "Suspended";
    public const string Resumed = "Resumed";
    public const string Cancelled = "Cancelled";
    public const string Retrying = "Retrying";

    /// <summary>
    /// An attempt of an activity that a crash (or a killed node) cut short: written when the restart detects it,
    /// with that time as its timestamp, before the retry or the incident that follows.
    /// </summary>
    public const string Interrupted = "Interrupted";
    public const string IncidentRaised = "IncidentRaised";
    public const string IncidentResolved = "IncidentResolved";
    public const string Note = "Note";
}
