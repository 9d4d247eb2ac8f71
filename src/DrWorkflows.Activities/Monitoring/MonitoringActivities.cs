using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.Monitoring;

// The set id is the execution id: a re-run replaces the same set (and stops the containers for it again).
[Activity("DrWorkflows", "Monitoring", "Backs up the monitoring volumes (Backups:Monitoring:Volumes, e.g. Prometheus and Grafana) as a backup set with a manifest, one tar per volume through compression and encryption, with the monitoring containers (Backups:Monitoring:Containers) stopped during the archive for a consistent snapshot; they are started again and checked running or healthy afterwards, also when the archive failed.", SafeToRerun = true)]
public sealed class BackupMonitoring : Activity
{
    [Input(Description = "Backup store: local or s3 (default: Backups:Stores:DefaultStore).", Options = ["", "local", "s3"])]
    public Input<string>? Store { get; set; }

    [Output(Description = "The stored backup set, the volumes in it, the containers stopped for it and how they came back.")]
    public Output<MonitoringBackupResult> Result { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var result = await context.GetRequiredService<IMonitoringBackupService>().BackupAsync(
            context.ExecutionId, context.Get(Store) is { Length: > 0 } store ? store : null, context.WorkflowInstanceId, context.CancellationToken);
        context.Set(Result, result);
        var journal = result.Backup.ToJournal();
        journal["volumes"] = new JsonArray([.. result.Volumes.Select(v => JsonValue.Create(v))]);
        journal["containersStopped"] = new JsonArray([.. result.ContainersStopped.Select(c => JsonValue.Create(c))]);
        journal["serviceCheck"] = result.ServiceCheck;
        context.AddJournalData("backup", journal);
        await context.CompleteAsync();
    }
}

// Writes volumes: into fresh ones (a repeat is refused, they exist), or over the live ones after an approval.
[Activity("DrWorkflows", "Monitoring", "Restores a monitoring backup set (the newest verified when none is named): the set is read back and checked first, then each volume is written into a fresh volume {volume}-restored-{set}, or (InPlace, after an approval) over the live volume with the monitoring containers stopped, a copy of the volume as it was kept as {volume}-before-restore-{set}, and the containers started again and checked. Each written volume is read back and must hold every file of the backup with its size.")]
public sealed class RestoreMonitoring : CodeActivity<MonitoringRestoreResult>
{
    [Input(Description = "Backup store: local, s3 or offsite (default: Backups:Stores:DefaultStore).", Options = ["", "local", "s3", "offsite"])]
    public Input<string>? Store { get; set; }

    [Input(Description = "Set id; empty for the newest verified set.")]
    public Input<string>? SetId { get; set; }

    [Input(Description = "Write over the live volumes (containers stopped, a copy of each kept); false restores into fresh volumes.", DefaultValue = false)]
    public Input<bool>? InPlace { get; set; }

    protected override async ValueTask<MonitoringRestoreResult> RunAsync(ActivityExecutionContext context)
    {
        var result = await context.GetRequiredService<IMonitoringBackupService>().RestoreAsync(new MonitoringRestoreRequest
        {
            Store = context.Get(Store) is { Length: > 0 } store ? store : null,
            SetId = context.Get(SetId) is { Length: > 0 } id ? id : null,
            InPlace = context.Get(InPlace, false),
        }, context.CancellationToken);
        context.AddJournalData("monitoringRestore", new JsonObject
        {
            ["store"] = result.Store,
            ["setId"] = result.SetId,
            ["takenAt"] = result.TakenAt,
            ["inPlace"] = result.InPlace,
            ["volumes"] = new JsonArray([.. result.Volumes.Select(v => (JsonNode)new JsonObject { ["volume"] = v.Volume, ["target"] = v.Target, ["files"] = v.Files, ["bytes"] = v.Bytes })]),
            ["safetyCopies"] = new JsonArray([.. result.SafetyCopies.Select(c => JsonValue.Create(c))]),
            ["serviceCheck"] = result.ServiceCheck,
        });
        return result;
    }
}
