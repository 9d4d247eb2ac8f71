using System.Text.Json;
using DrWorkflows.Activities.PgBackRest;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Serialization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Drills;

// Pure computation over its inputs and the configured objectives.
[Activity("DrWorkflows", "Drills", "Judges measured recoveries against the plan's objectives: achieved RTO (start → healthy and checked) and RPO (start − newest recovered data) per component, and the whole against the drill target; an RPO that cannot hold by design (the objectives report) is missed.",
    SafeToRerun = true, Outcomes = [MetOutcome, MissedOutcome])]
public sealed class CheckRecoveryObjectives : Activity
{
    public const string MetOutcome = "Met";
    public const string MissedOutcome = "Missed";

    [Input(Description = "Measurements, a JSON array of {component, source, store, setId, backupTakenAt, startedAt, recoveredAt, succeeded, method, problems} (RehearseRestore's Measurement output).", UIHint = InputUIHints.JsonEditor, Required = true)]
    public Input<List<RecoveryMeasurement>>? Measurements { get; set; }

    [Input(Description = "RPOs measured with canaries (MeasureCanaryRpo's Result), a JSON array; for these components the RPO is the measured one (failure point − newest canary restored), not the age of the backup, and a restore without a canary misses it.", UIHint = InputUIHints.JsonEditor)]
    public Input<List<CanaryRpoMeasurement>>? CanaryRpo { get; set; }

    [Input(Description = "Start of the drill or incident (RTO start, RPO reference); default: the start of this run.")]
    public Input<DateTimeOffset?>? StartedAt { get; set; }

    [Input(Description = "Target of the whole recovery; default Drills:DrillRtoTarget (the plan: 01:00:00).")]
    public Input<TimeSpan?>? OverallRtoTarget { get; set; }

    [Input(Description = "Title of the report, e.g. 'Monthly DR drill 2026-12'.", DefaultValue = "Recovery objectives")]
    public Input<string>? Title { get; set; }

    [Output(Description = "Each component with achieved and target RTO/RPO, and what was missed.")]
    public Output<RecoveryObjectivesReport> Report { get; set; } = new();

    [Output(Description = "The report as Markdown (for Slack, the run's output and the drill issue).")]
    public Output<string> Summary { get; set; } = new();

    [Output(Description = "One line per objective missed; empty when all were met.")]
    public Output<List<string>> Missed { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var objectives = context.GetRequiredService<IOptions<RecoveryObjectivesOptions>>().Value;
        var measurements = context.Get(Measurements) ?? [];
        var started = context.Get(StartedAt) ?? context.Workflow.State.CreatedAt;
        // The promises by design: a drill never calls an RPO met that the schedules cannot give.
        var promises = context.Services.GetService(typeof(IRecoveryPromiseCheck)) is IRecoveryPromiseCheck check
            ? await check.CheckAsync(context.CancellationToken)
            : null;
        var report = RecoveryObjectivesCalculator.Evaluate(measurements, started, context.Clock.GetUtcNow(), objectives, context.Get(OverallRtoTarget), promises, context.Get(CanaryRpo));
        var summary = report.ToMarkdown(context.Get(Title) is { Length: > 0 } title ? title : "Recovery objectives");
        context.Set(Report, report);
        context.Set(Summary, summary);
        context.Set(Missed, [.. report.Missed]);
        context.AddJournalData("objectives", JsonSerializer.SerializeToNode(report, Json.Options));
        var logger = context.GetRequiredService<ILogger<CheckRecoveryObjectives>>();
        Log.ObjectivesChecked(logger, report.Components.Count, report.AllMet, report.Missed.Count);
        await context.CompleteAsync(report.AllMet ? MetOutcome : MissedOutcome);
    }
}
