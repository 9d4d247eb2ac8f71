using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.DockerConfig;

// The set id is the execution id: a re-run replaces the same set; its git commit is made again (one more commit).
[Activity("DrWorkflows", "Backups", "Backs up the Docker configuration of a deployment: the Compose files, the env files with the values of secret-looking keys removed, and the running images' digests, committed to the git repository (Backups:DockerConfig:GitRepository, one commit per deployment) and stored as a backup set with a manifest. With OnlyWhenChanged it compares with the newest set first and does nothing when nothing changed (outcome Unchanged).", SafeToRerun = true, Outcomes = [BackedUp, Unchanged])]
public sealed class BackupDockerConfig : Activity
{
    public const string BackedUp = "BackedUp";
    public const string Unchanged = "Unchanged";

    [Input(Description = "Backup store: local or s3 (default: Backups:Stores:DefaultStore).", Options = ["", "local", "s3"])]
    public Input<string>? Store { get; set; }

    [Input(Description = "What was deployed (a version, a pipeline run), for the commit message and the manifest.")]
    public Input<string>? Deployment { get; set; }

    [Input(Description = "Back up only when the files or the image digests differ from the newest set.", DefaultValue = false)]
    public Input<bool>? OnlyWhenChanged { get; set; }

    [Output(Description = "The set and git commit written (or that nothing changed), the files, the running images and the keys whose values were removed.")]
    public Output<DockerConfigBackupResult> Result { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var result = await context.GetRequiredService<IDockerConfigBackupService>().BackupAsync(new DockerConfigBackupRequest(context.ExecutionId)
        {
            Store = context.Get(Store) is { Length: > 0 } store ? store : null,
            Deployment = context.Get(Deployment) is { Length: > 0 } deployment ? deployment : null,
            OnlyWhenChanged = context.Get(OnlyWhenChanged, false),
            WorkflowInstanceId = context.WorkflowInstanceId,
        }, context.CancellationToken);
        context.Set(Result, result);
        // Key names only: the values removed never reach the journal.
        var journal = result.Backup?.ToJournal() ?? new JsonObject();
        journal["changed"] = result.Changed;
        journal["unchangedSince"] = result.UnchangedSince;
        journal["gitCommit"] = result.GitCommit;
        journal["fingerprint"] = result.Fingerprint;
        journal["files"] = new JsonArray([.. result.Files.Select(f => JsonValue.Create(f))]);
        journal["images"] = new JsonArray([.. result.Images.Select(i => JsonValue.Create($"{i.Service}: {i.Pinned}"))]);
        journal["redactedKeys"] = new JsonArray([.. result.RedactedKeys.Select(k => JsonValue.Create(k))]);
        context.AddJournalData("dockerConfig", journal);
        await context.CompleteAsync(result.Changed ? BackedUp : Unchanged);
    }
}

// Writes files into a new or empty directory (a repeat is refused: it is not empty), or, approved, over the live project's Compose files.
[Activity("DrWorkflows", "Backups", "Restores a Docker configuration set (the newest when none is named) into a directory: the set is checked against its manifest, its files written there, and the image digests to pin reported. A non-empty directory is refused; the live project directory only with IntoLiveProject (after an approval), and then the env files (secrets removed) are written next to the live ones as .from-backup, never over them.")]
public sealed class RestoreDockerConfig : CodeActivity<DockerConfigRestoreResult>
{
    [Input(Description = "Backup store: local, s3 or offsite (default: Backups:Stores:DefaultStore).", Options = ["", "local", "s3", "offsite"])]
    public Input<string>? Store { get; set; }

    [Input(Description = "Set id; empty for the newest set.")]
    public Input<string>? SetId { get; set; }

    [Input(Description = "Directory to write the files into (new or empty).", Required = true)]
    public Input<string>? Directory { get; set; }

    [Input(Description = "Allow the live project directory (after an approval).", DefaultValue = false)]
    public Input<bool>? IntoLiveProject { get; set; }

    protected override async ValueTask<DockerConfigRestoreResult> RunAsync(ActivityExecutionContext context)
    {
        var result = await context.GetRequiredService<IDockerConfigBackupService>().RestoreAsync(new DockerConfigRestoreRequest(context.Get(Directory) ?? string.Empty)
        {
            Store = context.Get(Store) is { Length: > 0 } store ? store : null,
            SetId = context.Get(SetId) is { Length: > 0 } id ? id : null,
            IntoLiveProject = context.Get(IntoLiveProject, false),
        }, context.CancellationToken);
        context.AddJournalData("dockerConfigRestore", new JsonObject
        {
            ["store"] = result.Store,
            ["setId"] = result.SetId,
            ["takenAt"] = result.TakenAt,
            ["gitCommit"] = result.GitCommit,
            ["directory"] = result.Directory,
            ["files"] = new JsonArray([.. result.Files.Select(f => JsonValue.Create(f))]),
            ["pin"] = new JsonArray([.. result.PinnedImages.Select(p => JsonValue.Create(p))]),
        });
        return result;
    }
}
