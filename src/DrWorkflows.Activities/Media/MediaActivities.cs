using System.Text.Json.Nodes;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.Media;

// The set id is the execution id and content objects are addressed by checksum: a re-run uploads nothing twice.
[Activity("DrWorkflows", "Media", "Backs up a media directory (a mounted Docker volume) with per-file SHA-256, uploading only new or changed content.", SafeToRerun = true)]
public sealed class BackupMedia : CodeActivity<MediaBackupResult>
{
    [Input(Description = "Directory to back up, e.g. the volume's mount point.", Required = true)]
    public Input<string>? Directory { get; set; }

    [Input(Description = "Source name in the store (default: the directory's name).")]
    public Input<string>? SourceName { get; set; }

    [Input(Description = "Backup store (default: Backups:Stores:DefaultStore).", Options = ["", "local", "s3"])]
    public Input<string>? Store { get; set; }

    protected override async ValueTask<MediaBackupResult> RunAsync(ActivityExecutionContext context)
    {
        var directory = context.Get(Directory)!;
        var source = context.Get(SourceName) is { Length: > 0 } s ? s : Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)));
        var result = await context.GetRequiredService<IMediaBackupService>().BackupAsync(new MediaBackupRequest(directory, source, context.ExecutionId)
        {
            Store = context.Get(Store) is { Length: > 0 } store ? store : null,
            WorkflowInstanceId = context.WorkflowInstanceId,
        }, context.CancellationToken);
        context.AddJournalData("media", new JsonObject
        {
            ["store"] = result.Store,
            ["setId"] = result.SetId,
            ["files"] = result.Files,
            ["uploaded"] = result.Uploaded,
            ["uploadedBytes"] = result.UploadedBytes,
            ["skipped"] = result.Skipped.Count,
        });
        return result;
    }
}

// Converges: files already equal (by SHA-256) are skipped and each file is written to a temp name then renamed,
// so running it again after a crash finishes the job.
[Activity("DrWorkflows", "Media", "Restores a media backup set into a directory: files whose content differs are rewritten (SHA-256 verified), optionally extra files are deleted.", SafeToRerun = true)]
public sealed class RestoreMedia : CodeActivity<MediaRestoreResult>
{
    [Input(Description = "Source name of the media backups.", Required = true)]
    public Input<string>? Source { get; set; }

    [Input(Description = "Directory to restore into.", Required = true)]
    public Input<string>? Directory { get; set; }

    [Input(Description = "Backup set id (e.g. FindRestorePoint's SetId); empty for the newest set.")]
    public Input<string>? SetId { get; set; }

    [Input(Description = "Backup store (default: Backups:Stores:DefaultStore).", Options = ["", "local", "s3"])]
    public Input<string>? Store { get; set; }

    [Input(Description = "Delete files in the directory that the backup does not have (e.g. ransom notes).", DefaultValue = false)]
    public Input<bool>? DeleteExtraneous { get; set; }

    protected override async ValueTask<MediaRestoreResult> RunAsync(ActivityExecutionContext context)
    {
        var store = context.Get(Store) is { Length: > 0 } s ? s : null;
        var set = await BackupSetLookup.FindAsync(context.GetRequiredService<IBackupCatalog>(), store, BackupKinds.Media, context.Get(Source)!, context.Get(SetId), requireVerified: false, context.CancellationToken);
        var result = await context.GetRequiredService<IMediaBackupService>().RestoreAsync(new MediaRestoreRequest(set, context.Get(Directory)!)
        {
            DeleteExtraneous = context.Get(DeleteExtraneous, false),
        }, context.CancellationToken);
        context.AddJournalData("media", new JsonObject { ["setId"] = set.Id, ["written"] = result.Written, ["current"] = result.AlreadyCurrent, ["deleted"] = result.Deleted });
        return result;
    }
}

// Reads the stores and records the verification in each set's manifest; a repeat finds nothing new to verify.
[Activity("DrWorkflows", "Media", "Verifies the new media backup sets in every store (the offsite copy too) by restoring them: each set restored from that store into a throwaway folder, every file read back against the file map and the manifest (count, size, SHA-256), the folder removed; 'last verified' is recorded per set and store. Failed when a set does not pass or a store cannot be read.", SafeToRerun = true, Outcomes = [Verified, Failed])]
public sealed class VerifyMediaBackups : Activity
{
    public const string Verified = ArchiveVerification.VerifiedOutcome;
    public const string Failed = ArchiveVerification.FailedOutcome;

    [Input(Description = "Source name of the media volume in the stores.", DefaultValue = "media")]
    public Input<string>? SourceName { get; set; }

    [Input(Description = "Stores to verify in; empty for every configured store.", UIHint = InputUIHints.MultiText)]
    public Input<List<string>>? Stores { get; set; }

    [Output(Description = "The sets verified (one line each, with how) and the problems.")]
    public Output<ArchiveVerification?> Result { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var result = await context.GetRequiredService<MediaSetVerifier>().VerifyNewAsync(
            context.Get(SourceName) is { Length: > 0 } source ? source : "media", context.Get(Stores), context.CancellationToken);
        await result.CompleteStepAsync(context, Result);
    }
}
