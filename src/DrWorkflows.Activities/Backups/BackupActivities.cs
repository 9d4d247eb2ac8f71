using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.Backups;

// Only reads the store.
[Activity("DrWorkflows", "Backups", "Finds the newest (verified) backup completed strictly before a time, e.g. before a compromise, lists the candidates with their age and verification status, and what an approval gate should offer (verified ones first, unverified ones only with a typed confirmation).", SafeToRerun = true, Outcomes = [Found, NotFound])]
public sealed class FindRestorePoint : Activity
{
    public const string Found = "Found";
    public const string NotFound = "NotFound";

    [Input(Description = "Kind of backup.", Options = ["postgres", "globals", "redis", "media", "monitoring", "docker-config"], DefaultValue = "postgres")]
    public Input<string>? Kind { get; set; }

    [Input(Description = "Source name (database name, Redis instance, media volume).", Required = true)]
    public Input<string>? Source { get; set; }

    [Input(Description = "Backup store (default: Backups:Stores:DefaultStore).", Options = ["", "local", "s3", "offsite"])]
    public Input<string>? Store { get; set; }

    [Input(Description = "Only backups completed strictly before this time qualify (e.g. the time of compromise); empty for now.", UIHint = InputUIHints.DateTimePicker)]
    public Input<DateTimeOffset?>? Before { get; set; }

    [Input(Description = "Only verified backups qualify.", DefaultValue = true)]
    public Input<bool>? RequireVerified { get; set; }

    [Output(Description = "Id of the selected set (for RestoreDatabase's SetId), or null.")]
    public Output<string?> SetId { get; set; } = new();

    [Output(Description = "The selected candidate, or null.")]
    public Output<RestoreCandidate?> Selected { get; set; } = new();

    [Output(Description = "Every backup of the source, newest first, with age, verification status and why it does or does not qualify.")]
    public Output<IReadOnlyList<RestoreCandidate>> Candidates { get; set; } = new();

    [Output(Description = "What a restore-point gate offers: the verified backups completed strictly before the cutoff, newest first, the newest as the default; only when none is verified, the unverified ones, marked UNVERIFIED, each needing a typed confirmation (Options, DefaultOption, ConfirmationPhrases, SetIds, Items).")]
    public Output<RestoreOffer> Offer { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var selection = await context.GetRequiredService<IBackupCatalog>().FindRestorePointAsync(new RestorePointQuery(BackupKinds.Validate(context.Get(Kind, BackupKinds.Postgres)), context.Get(Source)!)
        {
            Store = context.Get(Store) is { Length: > 0 } s ? s : null,
            Before = context.Get(Before),
            RequireVerified = context.Get(RequireVerified, true),
        }, context.CancellationToken);
        context.Set(SetId, selection.Selected?.SetId);
        context.Set(Selected, selection.Selected);
        context.Set(Candidates, selection.Candidates);
        var offer = RestoreOffer.From(selection.Candidates);
        context.Set(Offer, offer);
        context.AddJournalData("restorePoint", new JsonObject
        {
            ["cutoff"] = selection.Cutoff,
            ["selected"] = selection.Selected?.SetId,
            ["selectedCompletedAt"] = selection.Selected?.CompletedAt,
            ["candidates"] = selection.Candidates.Count,
            ["offered"] = new JsonArray([.. offer.Items.Select(i => JsonValue.Create(i.SetId))]),
            ["onlyUnverifiedOffered"] = offer.OnlyUnverified,
        });
        await context.CompleteAsync(selection.Selected is null ? NotFound : Found);
    }
}

// Deletes only sets past their retention; a repeat finds nothing more to delete.
[Activity("DrWorkflows", "Backups", "Deletes backup sets older than the store's retention for their kind (never the newest, nor the newest verified), then unreferenced media content.", SafeToRerun = true)]
public sealed class ApplyRetention : CodeActivity<RetentionResult>
{
    [Input(Description = "Backup store (default: Backups:Stores:DefaultStore).", Options = ["", "local", "s3", "offsite"])]
    public Input<string>? Store { get; set; }

    [Input(Description = "Only this kind; empty for all.", Options = ["", "postgres", "globals", "redis", "media", "monitoring", "docker-config"])]
    public Input<string>? Kind { get; set; }

    [Input(Description = "Report what would be deleted without deleting.", DefaultValue = false)]
    public Input<bool>? DryRun { get; set; }

    protected override async ValueTask<RetentionResult> RunAsync(ActivityExecutionContext context)
    {
        var result = await context.GetRequiredService<IBackupRetentionService>().ApplyAsync(new RetentionRequest
        {
            Store = context.Get(Store) is { Length: > 0 } s ? s : null,
            Kind = context.Get(Kind) is { Length: > 0 } k ? BackupKinds.Validate(k) : null,
            DryRun = context.Get(DryRun, false),
        }, context.CancellationToken);
        context.AddJournalData("retention", new JsonObject
        {
            ["store"] = result.Store,
            ["dryRun"] = result.DryRun,
            ["deleted"] = new JsonArray([.. result.Deleted.Select(d => JsonValue.Create(d))]),
            ["kept"] = result.Kept,
            ["keptExpired"] = new JsonArray([.. result.Protected.Select(p => JsonValue.Create(p))]),
        });
        return result;
    }
}

// Copies only what the offsite store lacks; a repeat copies nothing twice.
[Activity("DrWorkflows", "Backups", "Copies every backup set the offsite store (Backups:Stores:Offsite, another region or endpoint) does not hold yet, then reads each copy back from there and checks it against its manifest. Fails (an incident) when the offsite store cannot be reached or a copy does not match; the primary backups still count.", SafeToRerun = true, Outcomes = [Copied, NotConfigured])]
public sealed class CopyToOffsite : Activity
{
    public const string Copied = "Copied";
    public const string NotConfigured = "NotConfigured";

    [Input(Description = "Store to copy from (default: Backups:Stores:DefaultStore).", Options = ["", "local", "s3"])]
    public Input<string>? From { get; set; }

    [Input(Description = "Only this kind; empty for every kind (a media set's content objects are copied with it).", Options = ["", "postgres", "globals", "redis", "media", "monitoring", "docker-config"])]
    public Input<string>? Kind { get; set; }

    [Output(Description = "The sets copied and checked in the offsite store (kind/source/setId), the ones already there, the ones older than the offsite retention, and the bytes copied.")]
    public Output<OffsiteCopyResult?> Result { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var copier = context.GetRequiredService<IOffsiteCopier>();
        if (!copier.Configured)
        {
            context.AddJournalData("offsiteCopy", new JsonObject { ["configured"] = false, ["note"] = "Backups:Stores:Offsite:BucketName is empty: no offsite copy is configured." });
            await context.CompleteAsync(NotConfigured);
            return;
        }

        var result = await copier.CopyAsync(new OffsiteCopyRequest
        {
            From = context.Get(From) is { Length: > 0 } f ? f : null,
            Kind = context.Get(Kind) is { Length: > 0 } k ? k : null,
        }, context.CancellationToken);
        context.Set(Result, result);
        context.AddJournalData("offsiteCopy", new JsonObject
        {
            ["from"] = result.From,
            ["to"] = result.Location,
            ["copied"] = new JsonArray([.. result.Copied.Select(c => JsonValue.Create(c))]),
            ["alreadyThere"] = result.AlreadyThere.Count,
            ["olderThanRetention"] = result.OlderThanRetention.Count,
            ["mediaObjectsCopied"] = result.MediaObjectsCopied,
            ["bytes"] = result.BytesCopied,
        });
        await context.CompleteAsync(Copied);
    }
}

// Only reads the stores.
[Activity("DrWorkflows", "Backups", "Chooses the store a restore reads from: the first of the candidates (e.g. s3, then offsite) that is configured, answers and holds a backup of the kind; a store that is down is passed over with its error.", SafeToRerun = true, Outcomes = [Chosen, NoneUsable])]
public sealed class ChooseRestoreStore : Activity
{
    public const string Chosen = "Chosen";
    public const string NoneUsable = "NoneUsable";

    [Input(Description = "Stores to try, in order; default [\"s3\", \"offsite\"].", UIHint = InputUIHints.MultiText)]
    public Input<List<string>>? Stores { get; set; }

    [Input(Description = "Kind of backup the store must hold.", Options = ["postgres", "globals", "redis", "media", "monitoring", "docker-config"], DefaultValue = "postgres")]
    public Input<string>? Kind { get; set; }

    [Output(Description = "The chosen store, or null.")]
    public Output<string?> Store { get; set; } = new();

    [Output(Description = "Each store passed over before it, with why (not configured, unreachable, no backup).")]
    public Output<IReadOnlyList<string>> PassedOver { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var candidates = context.Get(Stores) is { Count: > 0 } given ? given : [Storage.BackupStoreOptions.S3StoreName, Storage.BackupStoreOptions.OffsiteStoreName];
        var choice = await RestoreStoreChooser.ChooseAsync(context.GetRequiredService<IBackupCatalog>(), context.GetRequiredService<Storage.IBackupStoreProvider>(),
            candidates, BackupKinds.Validate(context.Get(Kind, BackupKinds.Postgres)), context.CancellationToken);
        context.Set(Store, choice.Store);
        context.Set(PassedOver, choice.PassedOver);
        context.AddJournalData("restoreStore", new JsonObject
        {
            ["chosen"] = choice.Store,
            ["passedOver"] = new JsonArray([.. choice.PassedOver.Select(p => JsonValue.Create(p))]),
        });
        await context.CompleteAsync(choice.Store is null ? NoneUsable : Chosen);
    }
}

// Only reads the store.
[Activity("DrWorkflows", "Backups", "Lists the complete backup sets of a store, newest first.", SafeToRerun = true)]
public sealed class ListBackups : CodeActivity<IReadOnlyList<BackupSetSummary>>
{
    [Input(Description = "Backup store (default: Backups:Stores:DefaultStore).", Options = ["", "local", "s3", "offsite"])]
    public Input<string>? Store { get; set; }

    [Input(Description = "Only this kind; empty for all.", Options = ["", "postgres", "globals", "redis", "media", "monitoring", "docker-config"])]
    public Input<string>? Kind { get; set; }

    [Input(Description = "Only this source (needs Kind).")]
    public Input<string>? Source { get; set; }

    protected override async ValueTask<IReadOnlyList<BackupSetSummary>> RunAsync(ActivityExecutionContext context)
    {
        var kind = context.Get(Kind) is { Length: > 0 } k ? k : null;
        var source = context.Get(Source) is { Length: > 0 } src ? src : null;
        if (source is not null && kind is null)
            throw new BackupException(BackupErrorCodes.InvalidRequest, "ListBackups: give Kind together with Source.");
        var sets = await context.GetRequiredService<IBackupCatalog>().ListAsync(context.Get(Store) is { Length: > 0 } s ? s : null, kind, source, context.CancellationToken);
        return [.. sets.Select(BackupSetSummary.From)];
    }
}

// Reads the stores and records the verification in each set's manifest; a repeat finds nothing new to verify.
[Activity("DrWorkflows", "Backups", "Verifies the new monitoring or Docker-configuration backup sets in every store (the offsite copy too): each archive read back from that store, checked against the manifest, decoded and parsed as a tar, its SHA-256 compared with the one recorded when it was written; 'last verified' is recorded per set and store. Failed when a set does not pass or a store cannot be read.", SafeToRerun = true, Outcomes = [Verified, Failed])]
public sealed class VerifyArchiveBackups : Activity
{
    public const string Verified = ArchiveVerification.VerifiedOutcome;
    public const string Failed = ArchiveVerification.FailedOutcome;

    [Input(Description = "Kind of backup.", Options = ["monitoring", "docker-config"], DefaultValue = "monitoring")]
    public Input<string>? Kind { get; set; }

    [Input(Description = "Source name (e.g. monitoring, platform).", Required = true)]
    public Input<string>? Source { get; set; }

    [Input(Description = "Stores to verify in; empty for every configured store.", UIHint = InputUIHints.MultiText)]
    public Input<List<string>>? Stores { get; set; }

    [Output(Description = "The sets verified (one line each) and the problems.")]
    public Output<ArchiveVerification?> Result { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var result = await context.GetRequiredService<ArchiveSetVerifier>().VerifyNewAsync(
            context.Get(Kind, BackupKinds.Monitoring), context.Get(Source)!, context.Get(Stores), context.CancellationToken);
        await result.CompleteStepAsync(context, Result);
    }
}
