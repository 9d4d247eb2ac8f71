using System.Text.Json;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Serialization;

namespace DrWorkflows.Activities.Drills;

// Acts only on throwaway copies (a database or folder it creates and removes), so a repeat is harmless.
[Activity("DrWorkflows", "Drills", "Drill: restores the newest backup of a component into an isolated copy (a throwaway database or folder, never production), checks it, and measures when it was back.",
    SafeToRerun = true, Outcomes = [RecoveredOutcome, FailedOutcome])]
public sealed class RehearseRestore : Activity
{
    public const string RecoveredOutcome = "Recovered";
    public const string FailedOutcome = "Failed";

    [Input(Description = "Component key of the objectives table, e.g. postgres-main, postgres-ai, redis, media.", Required = true)]
    public Input<string>? Component { get; set; }

    [Input(Description = "Backup kind.", Options = [BackupKinds.Postgres, BackupKinds.Redis, BackupKinds.Media, BackupKinds.Globals], DefaultValue = BackupKinds.Postgres)]
    public Input<string>? Kind { get; set; }

    [Input(Description = "Source in the backup store: database name, Redis instance or media volume.", Required = true)]
    public Input<string>? Source { get; set; }

    [Input(Description = "Backup store (local or s3); default store when empty.")]
    public Input<string>? Store { get; set; }

    [Input(Description = "Start of the drill (RTO start, RPO reference); default: the start of this run.")]
    public Input<DateTimeOffset?>? StartedAt { get; set; }

    [Input(Description = "PostgreSQL server (a name of Postgres:Servers) that hosts the throwaway database; default Postgres:VerificationServer. Never the production server.")]
    public Input<string>? Server { get; set; }

    [Input(Description = "Directory under which media is restored into a throwaway folder (removed afterwards); default the temp directory.")]
    public Input<string>? ScratchDirectory { get; set; }

    [Output(Description = "What was restored from which backup, when it was back, and what the checks found (input of CheckRecoveryObjectives).")]
    public Output<RecoveryMeasurement> Measurement { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var request = new RehearsalRequest(context.Get(Component) ?? string.Empty, context.Get(Kind) is { Length: > 0 } kind ? kind : BackupKinds.Postgres, context.Get(Source) ?? string.Empty)
        {
            Store = Blank(context.Get(Store)),
            StartedAt = context.Get(StartedAt) ?? context.Workflow.State.CreatedAt,
            Server = Blank(context.Get(Server)),
            ScratchDirectory = Blank(context.Get(ScratchDirectory)),
        };
        var measurement = await context.GetRequiredService<IRestoreRehearsal>().RehearseAsync(request, context.CancellationToken);
        context.Set(Measurement, measurement);
        context.AddJournalData("rehearsal", JsonSerializer.SerializeToNode(measurement, Json.Options));
        await context.CompleteAsync(measurement.Succeeded ? RecoveredOutcome : FailedOutcome);
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
