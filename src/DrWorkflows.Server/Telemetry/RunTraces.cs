using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Server.Telemetry;

/// <summary>
/// One trace per run (exported to OTLP when <c>DrWorkflows:Tracing:OtlpEndpoint</c> or OTEL_EXPORTER_OTLP_ENDPOINT is
/// set): the trace id is derived from the run id, so every node and every restart reports a run's steps into the same
/// trace. The run span starts at the run's creation and ends when it ends; each committed step is a child span with its
/// real start and end (from the journal), its outcome, attempt and error. A run that crosses a restart keeps its trace
/// id; the steps before the restart hang from a run span that was never ended (tracing backends show them under the
/// same trace).
/// </summary>
public sealed class RunTraces : IDisposable
{
    public const string SourceName = "DrWorkflows.Runs";

    private readonly ActivitySource source = new(SourceName);
    private readonly ConcurrentDictionary<string, Activity> runs = new(StringComparer.Ordinal);

    public void Committed(WorkflowState state, IReadOnlyList<JournalEntry> journal)
    {
        if (!source.HasListeners())
            return;
        var previous = Activity.Current;
        try
        {
            var run = RunSpan(state);
            if (run is null)
                return;
            foreach (var entry in journal)
            {
                switch (entry.EventName)
                {
                    case JournalEvents.Completed:
                    case JournalEvents.Faulted:
                    case JournalEvents.Interrupted:
                        Step(run, entry);
                        break;
                    case JournalEvents.IncidentRaised:
                        run.AddEvent(new ActivityEvent("incident", entry.Timestamp, new ActivityTagsCollection { ["drw.activity_id"] = entry.ActivityId, ["drw.message"] = entry.Message }));
                        break;
                    case JournalEvents.WorkflowFinished:
                    case JournalEvents.WorkflowFaulted:
                    case JournalEvents.WorkflowCancelled:
                        run.SetTag("drw.status", state.SubStatus.ToString());
                        if (entry.EventName != JournalEvents.WorkflowFinished)
                            run.SetStatus(ActivityStatusCode.Error, entry.Message ?? entry.EventName);
                        run.SetEndTime(entry.Timestamp.UtcDateTime);
                        run.Stop();
                        runs.TryRemove(state.Id, out _);
                        break;
                }
            }
        }
        finally
        {
            Activity.Current = previous;
        }
    }

    public void Dispose()
    {
        foreach (var run in runs.Values)
            run.Dispose();
        source.Dispose();
    }

    private Activity? RunSpan(WorkflowState state)
    {
        if (runs.TryGetValue(state.Id, out var known))
            return known;
        Activity.Current = null;

        // A parent with the run's trace id and no span: the run span is the trace's root, with a trace id every node derives alike.
        var parent = new ActivityContext(TraceId(state.Id), default, ActivityTraceFlags.Recorded);
        var run = source.StartActivity($"run {state.DefinitionId}", ActivityKind.Internal, parent, startTime: state.CreatedAt);
        if (run is null)
            return null;
        run.SetTag("drw.run_id", state.Id);
        run.SetTag("drw.definition", state.DefinitionId);
        run.SetTag("drw.definition_version", state.DefinitionVersion);
        if (state.CorrelationId is { } correlation)
            run.SetTag("drw.correlation_id", correlation);
        return runs.GetOrAdd(state.Id, run);
    }

    private void Step(Activity run, JournalEntry entry)
    {
        var duration = entry.Payload?["durationMs"]?.GetValue<long>() is { } ms ? TimeSpan.FromMilliseconds(ms) : TimeSpan.Zero;
        using var step = source.StartActivity($"{entry.ActivityType ?? "step"} {entry.ActivityId}", ActivityKind.Internal, run.Context, startTime: entry.Timestamp - duration);
        if (step is null)
            return;
        step.SetTag("drw.activity_id", entry.ActivityId);
        step.SetTag("drw.activity_type", entry.ActivityType);
        step.SetTag("drw.attempt", entry.Attempt);
        step.SetTag("drw.event", entry.EventName);
        if (entry.Outcomes is { Count: > 0 } outcomes)
            step.SetTag("drw.outcomes", string.Join(",", outcomes));
        if (entry.EventName != JournalEvents.Completed)
            step.SetStatus(ActivityStatusCode.Error, entry.Message ?? entry.EventName);
        step.SetEndTime(entry.Timestamp.UtcDateTime);
    }

    /// <summary>The run's trace id: the first 16 bytes of SHA-256 of its id.</summary>
    public static ActivityTraceId TraceId(string runId) => ActivityTraceId.CreateFromBytes(SHA256.HashData(Encoding.UTF8.GetBytes(runId)).AsSpan(0, 16));
}
