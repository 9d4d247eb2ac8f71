using System.Text.Json.Nodes;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.Postgres;

/// <summary>Inputs shared by the PostgreSQL activities: which server, and the keys for encrypted sets.</summary>
public abstract class PostgresServerActivity : Activity
{
    [Input(Description = "Server name from Postgres:Servers (keeps the password out of the workflow), e.g. main.", Category = "Server")]
    public Input<string>? Server { get; set; }

    [Input(Description = "Npgsql connection string, instead of a named server (Host=...;Username=...;Password=...).", IsSecret = true, Category = "Server")]
    public Input<string>? ConnectionString { get; set; }

    internal PostgresServer ResolveServer(ActivityExecutionContext context) =>
        context.GetRequiredService<IPostgresServerResolver>().Resolve(context.Get(Server), context.Get(ConnectionString));

    internal PostgresServer? TryResolveServer(ActivityExecutionContext context) =>
        string.IsNullOrWhiteSpace(context.Get(Server)) && string.IsNullOrWhiteSpace(context.Get(ConnectionString)) ? null : ResolveServer(context);

    /// <summary>The value of an optional text input (store, source, set id…); <c>null</c> when it is not given or empty.</summary>
    internal static string? Optional(ActivityExecutionContext context, Input<string>? input) =>
        context.Get(input) is { Length: > 0 } value ? value : null;

    /// <summary>
    /// Outputs and journals where a backup activity stored its set (every store that holds it, every store that
    /// failed), and completes it: <c>Done</c> when each store asked for holds the set, <c>Partial</c> otherwise.
    /// </summary>
    internal static async ValueTask CompleteWithBackupAsync(ActivityExecutionContext context, PostgresBackupActivity activity, BackupCopies copies)
    {
        var summaries = copies.Sets.Select(BackupSetSummary.From).ToList();
        context.Set(activity.Backup, summaries[0]);
        context.Set(activity.Copies, summaries);
        context.Set(activity.StoredIn, [.. copies.Stores]);
        context.Set(activity.FailedStores, copies.Failures);
        var journal = summaries[0].ToJournal();
        journal["storedIn"] = new JsonArray([.. copies.Stores.Select(s => JsonValue.Create(s))]);
        if (copies.Failures.Count > 0)
            journal["failedStores"] = new JsonArray([.. copies.Failures.Select(f => new JsonObject { ["store"] = f.Store, ["code"] = f.Code, ["error"] = f.Message })]);
        context.AddJournalData("backup", journal);
        await context.CompleteAsync(copies.Complete ? PostgresBackupActivity.Done : PostgresBackupActivity.Partial);
    }
}

/// <summary>
/// A backup activity: one read of the source, written to one store or to several at once (<see cref="Stores"/>),
/// with the set's summary and where it is stored.
/// </summary>
public abstract class PostgresBackupActivity : PostgresServerActivity
{
    public const string Done = "Done";
    public const string Partial = "Partial";

    [Input(Description = "Backup store: local or s3 (default: Backups:Stores:DefaultStore). Ignored when Stores is given.", Options = ["", "local", "s3"])]
    public Input<string>? Store { get; set; }

    [Input(Description = "Stores to write the same set to at once, e.g. [\"local\", \"s3\"] for 3-2-1: the source is read once. A store that fails does not cost the others their copy (outcome Partial). Empty: Store alone.", UIHint = InputUIHints.MultiText)]
    public Input<List<string>>? Stores { get; set; }

    [Input(Description = "Name of the backup source in the store (default: the database name; for globals, the server name).")]
    public Input<string>? SourceName { get; set; }

    [Output(Description = "The stored backup set (the first store that holds it).")]
    public Output<BackupSetSummary> Backup { get; set; } = new();

    [Output(Description = "The set in each store that holds it.")]
    public Output<IReadOnlyList<BackupSetSummary>> Copies { get; set; } = new();

    [Output(Description = "Names of the stores that hold the set.")]
    public Output<List<string>> StoredIn { get; set; } = new();

    [Output(Description = "Stores that failed, with the error (empty when every store holds the set).")]
    public Output<IReadOnlyList<BackupCopyFailure>> FailedStores { get; set; } = new();

    /// <summary>The stores to write to: <see cref="Stores"/>, or <see cref="Store"/> alone.</summary>
    internal IReadOnlyList<string?> TargetStores(ActivityExecutionContext context) =>
        context.Get(Stores) is { Count: > 0 } many ? [.. many] : [Optional(context, Store)];
}

/// <summary>A PostgreSQL activity that reads encrypted backup sets.</summary>
public abstract class PostgresDecryptingActivity : PostgresServerActivity
{
    [Input(Description = "OpenPGP secret key file for this restore; default Backups:Encryption:GpgPrivateKeyFile.", Category = "Keys")]
    public Input<string>? GpgPrivateKeyFile { get; set; }

    [Input(Description = "File with the passphrase of the OpenPGP key; default Backups:Encryption:GpgPassphraseFile.", Category = "Keys")]
    public Input<string>? GpgPassphraseFile { get; set; }

    [Input(Description = "age identity file; default Backups:Encryption:AgeIdentityFile.", Category = "Keys")]
    public Input<string>? AgeIdentityFile { get; set; }

    /// <summary>A restore mode input (Clean, Recreate, CreateNew), or a clear error.</summary>
    internal static RestoreMode ParseMode(string text) =>
        Enum.TryParse<RestoreMode>(text, ignoreCase: true, out var mode)
            ? mode
            : throw new BackupException(BackupErrorCodes.InvalidRequest, $"Mode '{text}' is unknown; use Clean, Recreate or CreateNew.");

    internal DecryptionKeys Keys(ActivityExecutionContext context) => new()
    {
        GpgPrivateKeyFile = Blank(context.Get(GpgPrivateKeyFile)),
        GpgPassphraseFile = Blank(context.Get(GpgPassphraseFile)),
        AgeIdentityFile = Blank(context.Get(AgeIdentityFile)),
    };

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}

// Only reads: waiting again is harmless.
[Activity("DrWorkflows", "PostgreSQL", "Waits until a PostgreSQL server accepts connections (pg_isready semantics), up to a timeout.", SafeToRerun = true, Outcomes = [Ready, NotReady])]
public sealed class WaitForPostgres : PostgresServerActivity
{
    public const string Ready = "Ready";
    public const string NotReady = "NotReady";

    [Input(Description = "Database to connect to.", DefaultValue = "postgres")]
    public Input<string>? Database { get; set; }

    [Input(Description = "Seconds to wait before taking the NotReady port (the plan uses 30).", DefaultValue = 30)]
    public Input<int>? TimeoutSeconds { get; set; }

    [Output(Description = "Server version (e.g. 15.18) when ready.")]
    public Output<string?> ServerVersion { get; set; } = new();

    [Output(Description = "Why the server is not ready (last connection error).")]
    public Output<string?> Reason { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var server = ResolveServer(context);
        var timeout = TimeSpan.FromSeconds(Math.Max(1, context.Get(TimeoutSeconds, 30)));
        try
        {
            var ready = await context.GetRequiredService<IPostgresReadiness>().WaitAsync(server, context.Get(Database), timeout, context.CancellationToken);
            context.Set(ServerVersion, ready.ServerVersion);
            context.AddJournalData("postgres", new JsonObject { ["server"] = server.ToString(), ["version"] = ready.ServerVersion, ["attempts"] = ready.Attempts, ["waitedSeconds"] = ready.WaitedSeconds });
            await context.CompleteAsync(Ready);
        }
        catch (BackupException ex) when (ex.Code == BackupErrorCodes.DatabaseUnreachable)
        {
            context.Set(Reason, ex.Message);
            await context.CompleteAsync(NotReady);
        }
    }
}

// The set id is the execution id: a re-run overwrites the same set instead of adding another.
[Activity("DrWorkflows", "PostgreSQL", "Backs up one database with pg_dump -Fc, streamed through compression and encryption into one backup store or several at once (one read of the database), with a manifest (row counts, versions, SHA-256).", SafeToRerun = true, Outcomes = [Done, Partial])]
public sealed class BackupDatabase : PostgresBackupActivity
{
    [Input(Description = "Database to back up, e.g. ecommerce_db.", Required = true)]
    public Input<string>? Database { get; set; }

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var database = context.Get(Database)!;
        var copies = await context.GetRequiredService<IPostgresBackupService>().BackupDatabaseToStoresAsync(
            new PostgresBackupRequest(ResolveServer(context), database, context.ExecutionId)
            {
                Store = Optional(context, Store),
                Source = Optional(context, SourceName),
                WorkflowInstanceId = context.WorkflowInstanceId,
            }, TargetStores(context), context.CancellationToken);
        await CompleteWithBackupAsync(context, this, copies);
    }
}

// The set id is the execution id: a re-run overwrites the same set.
[Activity("DrWorkflows", "PostgreSQL", "Backs up the server's globals (roles with password hashes, tablespaces) with pg_dumpall --globals-only, compressed and encrypted, into one store or several at once.", SafeToRerun = true, Outcomes = [Done, Partial])]
public sealed class BackupGlobals : PostgresBackupActivity
{
    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var copies = await context.GetRequiredService<IPostgresBackupService>().BackupGlobalsToStoresAsync(
            new PostgresGlobalsRequest(ResolveServer(context), context.ExecutionId)
            {
                Store = Optional(context, Store),
                Source = Optional(context, SourceName),
                WorkflowInstanceId = context.WorkflowInstanceId,
            }, TargetStores(context), context.CancellationToken);
        await CompleteWithBackupAsync(context, this, copies);
    }
}

// Replaces a database's content: a crash mid-restore leaves it partly restored, so an operator decides.
[Activity("DrWorkflows", "PostgreSQL", "Restores a database backup set (checksum verified, decrypted, pg_restore -j) into a server, then checks integrity against the manifest.", Outcomes = [Restored, IntegrityFailed])]
public sealed class RestoreDatabase : PostgresDecryptingActivity
{
    public const string Restored = "Restored";
    public const string IntegrityFailed = "IntegrityFailed";

    [Input(Description = "Backup store to read from (default: Backups:Stores:DefaultStore).", Options = ["", "local", "s3"])]
    public Input<string>? Store { get; set; }

    [Input(Description = "Source name of the backups (the backed-up database name).", Required = true)]
    public Input<string>? Source { get; set; }

    [Input(Description = "Backup set id (e.g. FindRestorePoint's SetId); empty for the newest verified set.")]
    public Input<string>? SetId { get; set; }

    [Input(Description = "Database to restore into (default: the source name).")]
    public Input<string>? TargetDatabase { get; set; }

    [Input(Description = "Clean: restore over the database (--clean --if-exists); Recreate: drop and create it first; CreateNew: fail if it exists.", Options = ["Clean", "Recreate", "CreateNew"], DefaultValue = "Clean")]
    public Input<string>? Mode { get; set; }

    [Input(Description = "pg_restore parallel jobs (default Postgres:RestoreJobs).")]
    public Input<int?>? Jobs { get; set; }

    [Input(Description = "Skip ownership (--no-owner), for servers without the original roles.", DefaultValue = false)]
    public Input<bool>? NoOwner { get; set; }

    [Input(Description = "Check row counts, foreign keys and newest created_at against the manifest after the restore.", DefaultValue = true)]
    public Input<bool>? CheckIntegrity { get; set; }

    [Output(Description = "What was restored.")]
    public Output<PostgresRestoreResult> Restore { get; set; } = new();

    [Output(Description = "Integrity report (when checked).")]
    public Output<IntegrityReport?> Integrity { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var ct = context.CancellationToken;
        var catalog = context.GetRequiredService<IBackupCatalog>();
        var store = Optional(context, Store);
        var source = context.Get(Source)!;
        var set = await BackupSetLookup.FindAsync(catalog, store, BackupKinds.Postgres, source, context.Get(SetId), requireVerified: true, ct);
        var server = ResolveServer(context);
        var database = Optional(context, TargetDatabase) ?? set.Manifest.Database ?? source;
        var mode = ParseMode(context.Get(Mode, "Clean"));
        var result = await context.GetRequiredService<IPostgresRestoreService>().RestoreAsync(new PostgresRestoreRequest(set, server, database)
        {
            Mode = mode,
            Jobs = context.Get(Jobs),
            NoOwner = context.Get(NoOwner, false),
            Keys = Keys(context),
        }, ct);
        context.Set(Restore, result);
        var journal = new JsonObject { ["store"] = set.Store, ["setId"] = set.Id, ["source"] = set.Source, ["takenAt"] = set.Manifest.StartedAt, ["database"] = database, ["server"] = server.ToString(), ["mode"] = mode.ToString(), ["sha256"] = set.Manifest.Sha256 };
        var outcome = Restored;
        if (context.Get(CheckIntegrity, true))
        {
            var report = await context.GetRequiredService<IPostgresIntegrityChecker>().CheckAsync(server, database, set.Manifest, ct);
            context.Set(Integrity, report);
            journal["integrityProblems"] = new JsonArray([.. report.Problems.Select(p => JsonValue.Create(p))]);
            if (!report.Succeeded)
                outcome = IntegrityFailed;
        }

        context.AddJournalData("restore", journal);
        await context.CompleteAsync(outcome);
    }
}

// Only reads the database and the store.
[Activity("DrWorkflows", "PostgreSQL", "Checks a database: exact row counts, foreign keys (orphan rows), newest created_at, and optionally equality with a backup's manifest.", SafeToRerun = true, Outcomes = [Passed, Failed])]
public sealed class CheckDatabaseIntegrity : PostgresServerActivity
{
    public const string Passed = "Passed";
    public const string Failed = "Failed";

    [Input(Description = "Database to check.", Required = true)]
    public Input<string>? Database { get; set; }

    [Input(Description = "Compare with this backup set (id); empty to check foreign keys only, or 'latest' for the newest set of CompareSource.")]
    public Input<string>? CompareSetId { get; set; }

    [Input(Description = "Source name of the backup to compare with (default: the database name).")]
    public Input<string>? CompareSource { get; set; }

    [Input(Description = "Store of the backup to compare with.", Options = ["", "local", "s3"])]
    public Input<string>? Store { get; set; }

    [Output(Description = "The integrity report.")]
    public Output<IntegrityReport> Report { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var ct = context.CancellationToken;
        var database = context.Get(Database)!;
        BackupManifest? manifest = null;
        if (context.Get(CompareSetId) is { Length: > 0 } setId)
        {
            var store = Optional(context, Store);
            var source = Optional(context, CompareSource) ?? database;
            manifest = (await BackupSetLookup.FindAsync(context.GetRequiredService<IBackupCatalog>(), store, BackupKinds.Postgres, source,
                setId.Equals("latest", StringComparison.OrdinalIgnoreCase) ? null : setId, requireVerified: false, ct)).Manifest;
        }

        var report = await context.GetRequiredService<IPostgresIntegrityChecker>().CheckAsync(ResolveServer(context), database, manifest, ct);
        context.Set(Report, report);
        context.AddJournalData("integrity", new JsonObject
        {
            ["database"] = database,
            ["tables"] = report.Tables.Count,
            ["rows"] = report.TotalRows,
            ["foreignKeys"] = report.ForeignKeys.Count,
            ["comparedWith"] = manifest?.Id,
            ["problems"] = new JsonArray([.. report.Problems.Select(p => JsonValue.Create(p))]),
        });
        await context.CompleteAsync(report.Succeeded ? Passed : Failed);
    }
}

// Restores into a throwaway database that is always dropped; recording the result again is harmless.
[Activity("DrWorkflows", "PostgreSQL", "Proves the newest backup of a database restores: restore into a throwaway database, compare with the manifest, record 'last verified' on the set.", SafeToRerun = true, Outcomes = [Verified, Failed])]
public sealed class VerifyLatestBackup : PostgresDecryptingActivity
{
    public const string Verified = "Verified";
    public const string Failed = "Failed";

    [Input(Description = "Source name of the backups (the backed-up database name).", Required = true)]
    public Input<string>? Source { get; set; }

    [Input(Description = "Backup store (default: Backups:Stores:DefaultStore).", Options = ["", "local", "s3"])]
    public Input<string>? Store { get; set; }

    [Input(Description = "A specific set to verify; empty for the newest.")]
    public Input<string>? SetId { get; set; }

    [Output(Description = "The verification report.")]
    public Output<VerificationReport> Report { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var report = await context.GetRequiredService<IBackupVerifier>().VerifyAsync(new VerifyBackupRequest(context.Get(Source)!)
        {
            Store = Optional(context, Store),
            SetId = Optional(context, SetId),
            Server = TryResolveServer(context),
            Keys = Keys(context),
        }, context.CancellationToken);
        context.Set(Report, report);
        context.AddJournalData("verification", report.ToJournal());
        await context.CompleteAsync(report.Succeeded ? Verified : Failed);
    }
}

// Each set is restored into a throwaway database that is always removed; a set already verified is not verified again.
[Activity("DrWorkflows", "PostgreSQL", "Verifies every new backup of a database in every store it was written to: each copy is restored from its own store into a throwaway database (a container of the source's version when configured), compared with its manifest, and 'last verified' is recorded per set and per store.", SafeToRerun = true, Outcomes = [VerifyLatestBackup.Verified, VerifyLatestBackup.Failed])]
public sealed class VerifyNewBackups : PostgresDecryptingActivity
{
    [Input(Description = "Source name of the backups (the backed-up database name).", Required = true)]
    public Input<string>? Source { get; set; }

    [Input(Description = "Stores to verify in; empty for every configured store (local and s3).", UIHint = InputUIHints.MultiText)]
    public Input<List<string>>? Stores { get; set; }

    [Input(Description = "At most this many new sets per store, newest first; older ones wait for the next run.", DefaultValue = 8)]
    public Input<int>? MaxSetsPerStore { get; set; }

    [Output(Description = "One report per set and store, and the problems (failed verifications, refusals, store or server errors).")]
    public Output<NewBackupsVerification> Result { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var result = await context.GetRequiredService<NewBackupsVerifier>().VerifyAsync(new VerifyNewBackupsRequest(context.Get(Source)!)
        {
            Stores = context.Get(Stores) is { Count: > 0 } stores ? stores : null,
            MaxSetsPerStore = Math.Max(1, context.Get(MaxSetsPerStore, 8)),
            Server = TryResolveServer(context),
            Keys = Keys(context),
        }, context.CancellationToken);
        context.Set(Result, result);
        context.AddJournalData("verification", new JsonObject
        {
            ["source"] = result.Source,
            ["verified"] = new JsonArray([.. result.Reports.Select(r => r.ToJournal())]),
            ["problems"] = new JsonArray([.. result.Problems.Select(p => JsonValue.Create(p))]),
            ["warnings"] = new JsonArray([.. result.Warnings.Select(w => JsonValue.Create(w))]),
        });
        await context.CompleteAsync(result.Succeeded ? VerifyLatestBackup.Verified : VerifyLatestBackup.Failed);
    }
}

// Creates roles and tablespaces: repeated statements fail harmlessly, but it changes a server, so an operator decides.
[Activity("DrWorkflows", "PostgreSQL", "Restores a globals backup (roles, tablespaces) with psql; statements that fail because the object exists are listed, not fatal.")]
public sealed class RestoreGlobals : PostgresDecryptingActivity
{
    [Input(Description = "Backup store (default: Backups:Stores:DefaultStore).", Options = ["", "local", "s3"])]
    public Input<string>? Store { get; set; }

    [Input(Description = "Source name of the globals backups (the server name used by BackupGlobals).", Required = true)]
    public Input<string>? Source { get; set; }

    [Input(Description = "Backup set id; empty for the newest set.")]
    public Input<string>? SetId { get; set; }

    [Output(Description = "Statements that failed (typically roles that already exist).")]
    public Output<IReadOnlyList<string>> Errors { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var ct = context.CancellationToken;
        var store = Optional(context, Store);
        var set = await BackupSetLookup.FindAsync(context.GetRequiredService<IBackupCatalog>(), store, BackupKinds.Globals, context.Get(Source)!, context.Get(SetId), requireVerified: false, ct);
        var result = await context.GetRequiredService<IPostgresRestoreService>().RestoreGlobalsAsync(set, ResolveServer(context), Keys(context), ct);
        context.Set(Errors, result.Errors);
        context.AddJournalData("globals", new JsonObject { ["setId"] = set.Id, ["errors"] = result.Errors.Count });
        await context.CompleteAsync();
    }
}
