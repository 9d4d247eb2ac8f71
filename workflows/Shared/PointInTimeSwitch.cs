using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.PgBackRest;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Activities.Primitives;
using DrWorkflows.Core.Building;

namespace DrWorkflows.Workflows.Shared;

/// <summary>
/// A pgBackRest restore of a whole PostgreSQL server, the same in every incident workflow that offers it: the restore
/// into a new volume and container (<see cref="RestoreToPointInTime"/>: the old volume and server untouched until it
/// ended and every table of the copy was read), then the switch: the restored server and the platform's PostgreSQL
/// stopped, its container removed, its volume copied to <c>Quarantine</c> and removed, a fresh volume with the old
/// one's labels filled with a copy of the restored data, PostgreSQL started by Compose on it, WAL archiving turned on
/// again (the restore wrote <c>archive_mode=off</c>), a full backup taken on the new timeline, the restored container and
/// volume removed (through the throwaway ledger), and <c>RestoreSetId</c>, <c>RecoveryReport</c> (the exact
/// recovery point reached: the last commit replayed) and <c>LastGoodDataAt</c> recorded.
/// </summary>
public static class PointInTimeSwitch
{
    /// <summary>Id of the restore step (its <c>Result</c> is <see cref="PointInTimeRestoreResult"/>).</summary>
    public const string RestoreId = "restorePointInTime";

    /// <summary>Id of the step that turns archiving on again: it completed only on this path.</summary>
    public const string ArchiveAgainId = "archiveAgain";

    /// <summary>Id of the full backup taken on the new timeline once archiving is on again.</summary>
    public const string BackupAfterSwitchId = "backupAfterSwitch";

    /// <summary>Id of the step that removes the restored container and volume once the switch is checked.</summary>
    public const string RemoveCopyId = "removeRestoredCopy";

    /// <summary>
    /// JavaScript expressions of the server to switch; <paramref name="ComposeProject"/> (default Docker:ComposeProject)
    /// and <paramref name="Repository"/> (the only pgBackRest repository to restore from, e.g. <c>1</c> for S3; default
    /// the first readable one) may be null.
    /// </summary>
    public sealed record Server(string Container, string ComposeService, string Volume, string Quarantine, string PostgresServer, string Stanza, string? ComposeProject = null, string? Repository = null);

    /// <summary>
    /// Adds the steps; <paramref name="target"/> is <c>latest</c> or <c>time</c> (then <paramref name="targetTime"/>, a
    /// JavaScript expression). Connect the step before to the first returned and go on from the last. A refused or
    /// failed restore (nothing replaced yet) ends the run when abandoned, unless <paramref name="restoreFailed"/> wires
    /// the restore step's <c>Failed</c> port itself (e.g. to fall back to the dumps).
    /// </summary>
    public static (Activity First, Activity Last) Add(FlowchartBuilder flow, IncidentComms comms, Server server, string target, string? targetTime = null, Action<Activity>? restoreFailed = null)
    {
        var restore = flow.Add(new RestoreToPointInTime
        {
            Id = RestoreId,
            SourceContainer = Input<string>.FromJavaScript(server.Container),
            Stanza = Input<string>.FromJavaScript(server.Stanza),
            Target = new(target),
            TargetTime = targetTime is null ? null : Input<DateTimeOffset?>.FromJavaScript(targetTime),
            Repository = server.Repository is null ? null : Input<int?>.FromJavaScript(server.Repository),
        });
        if (restoreFailed is null)
            comms.AbandonWith(restore, "The pgBackRest restore failed or was refused (nothing was replaced; the old volume is as it was)");
        else
            restoreFailed(restore);
        const string result = $"getOutputFrom('{RestoreId}', 'Result')";
        var recorded = flow.Add(new SetVariable
        {
            Id = "recordPointInTime",
            Variable = IncidentComms.Variable("RestoreSetId"),
            Value = Input<object>.FromJavaScript($"'pgBackRest ' + {result}.target + ' from backup ' + {result}.backupLabel"),
        });
        flow.Connect(restore, recorded);
        var stopRestored = flow.Add(new StopContainers { Id = "stopRestoredServer", Containers = Input<List<string>>.FromJavaScript($"[{result}.container]") });
        var stop = flow.Add(new StopContainers { Id = "stopPostgresForPointInTime", Containers = Input<List<string>>.FromJavaScript($"[{server.Container}]") });
        var remove = flow.Add(new ComposeCommand { Id = "removePostgresContainerForPointInTime", Command = new("rm"), Services = Input<List<string>>.FromJavaScript($"[{server.ComposeService}]"), Project = server.ComposeProject is null ? null : Input<string>.FromJavaScript(server.ComposeProject) });
        var quarantine = flow.Add(new CopyVolume
        {
            Id = "quarantineVolumeForPointInTime",
            Source = Input<string>.FromJavaScript(server.Volume),
            Destination = Input<string>.FromJavaScript(server.Quarantine),
            RemoveSource = new(true),
        });
        var fresh = flow.Add(new CreateVolume { Id = "freshVolumeForPointInTime", Volume = Input<string>.FromJavaScript(server.Volume), Labels = Input<Dictionary<string, string>>.FromJavaScript("getOutputFrom('quarantineVolumeForPointInTime', 'SourceLabels') || {}") });
        var copy = flow.Add(new CopyVolume { Id = "copyRestoredData", Source = Input<string>.FromJavaScript($"{result}.volume"), Destination = Input<string>.FromJavaScript(server.Volume) });
        var start = flow.Add(new ComposeUp { Id = "startPostgresOnPointInTime", Services = Input<List<string>>.FromJavaScript($"[{server.ComposeService}]"), Project = server.ComposeProject is null ? null : Input<string>.FromJavaScript(server.ComposeProject) });
        var wait = flow.Add(new WaitForPostgres { Id = "waitServerOnPointInTime", Server = Input<string>.FromJavaScript(server.PostgresServer), TimeoutSeconds = new(180) });
        var archive = flow.Add(new EnableWalArchiving { Id = ArchiveAgainId, Container = Input<string>.FromJavaScript(server.Container), Stanza = Input<string>.FromJavaScript(server.Stanza) });
        // The restored copy was promoted with archiving off: its new timeline's history file and first WAL never reached
        // the repository. A full backup on the new timeline makes the repository good for the next restore (without it,
        // a restore to latest from an older backup would follow the old timeline, the one with the fault in it).
        var backup = flow.Add(new TakePgBackRestBackup { Id = BackupAfterSwitchId, Container = Input<string>.FromJavaScript(server.Container), Stanza = Input<string>.FromJavaScript(server.Stanza), BackupType = new("full") });
        // The switch is checked (PostgreSQL ready on the copied data, archiving on, a backup on the new timeline): the
        // restored copy is not needed any more. Removed through the throwaway ledger; one that cannot be is left to the janitor.
        var removeCopy = flow.Add(new RemoveRestoredCopy { Id = RemoveCopyId, Container = Input<string>.FromJavaScript($"{result}.container"), Volume = Input<string>.FromJavaScript($"{result}.volume") });
        var report = flow.Add(new SetVariable
        {
            Id = "recordPointInTimeReport",
            Variable = IncidentComms.Variable("RecoveryReport"),
            Value = Input<object>.FromJavaScript($"(function (r) {{ return 'Restored with pgBackRest to ' + r.target + ': last commit replayed ' + (r.lastReplayedCommitAt || 'none (no transaction after the backup)') + ', from backup ' + r.backupLabel + ' of repository ' + r.repository + ', timeline ' + r.timeline + '; every table read in full: ' + r.databases.map(function (d) {{ return d.name + ' ' + d.tables + ' tables, ' + d.rows + ' rows'; }}).join('; ') + '. The old volume is kept as ' + ({server.Quarantine}) + '; the restored copy ' + r.container + ' (volume ' + r.volume + ') ' + (function (c) {{ return c && c.containerRemoved && c.volumeRemoved ? 'was removed' : 'could not be removed (left to the throwaway janitor)'; }})(getOutputFrom('{RemoveCopyId}', 'Result')) + '. Full backup on the new timeline: ' + (getOutputFrom('{BackupAfterSwitchId}', 'Result').backups || []).map(function (b) {{ return 'repo' + b.repository + ' ' + b.label; }}).join(', ') + '.'; }})({result})"),
        });
        var reached = flow.Add(new SetVariable { Id = "recordPointInTimeReached", Variable = IncidentComms.Variable("LastGoodDataAt"), Value = Input<object>.FromJavaScript($"{result}.lastReplayedCommitAt || null") });
        flow.Chain(recorded, stopRestored, stop, remove, quarantine, fresh, copy, start, wait);
        flow.Connect(wait, archive, WaitForPostgres.Ready);
        flow.Chain(archive, backup, removeCopy, report, reached);
        comms.AbandonWith(stopRestored, "Stopping the restored server failed");
        comms.AbandonWith(stop, "Stopping PostgreSQL failed");
        comms.AbandonWith(remove, "Removing the PostgreSQL container (compose rm --stop --force) failed");
        comms.AbandonWith(quarantine, "Copying the old volume aside failed");
        comms.AbandonWith(fresh, "Creating the fresh volume failed");
        comms.AbandonWith(copy, "Copying the restored data into the fresh volume failed");
        comms.AbandonWith(start, "Creating and starting PostgreSQL on the restored data failed");
        comms.FailWith(wait, WaitForPostgres.NotReady, "'PostgreSQL does not accept connections on the restored data: ' + (getOutputFrom('waitServerOnPointInTime', 'Reason') || '')");
        comms.AbandonWith(archive, "Turning WAL archiving on again after the pgBackRest restore failed");
        comms.AbandonWith(backup, "The full pgBackRest backup on the new timeline failed: take one (backup-pgbackrest-full) before relying on pgBackRest again");
        comms.AbandonWith(removeCopy, "Removing the restored copy failed: remove its container and volume by hand (the database runs on the platform's volume)");
        return (restore, reached);
    }
}
