using System.Text.Json.Nodes;
using DrWorkflows.Core;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.PgBackRest;

/// <summary>Inputs shared by the pgBackRest activities.</summary>
public abstract class PgBackRestActivity<TResult> : CodeActivity<TResult>
{
    [Input(Description = "PostgreSQL container running the database, e.g. ecommerce_postgres.", Required = true)]
    public Input<string>? Container { get; set; }

    [Input(Description = "pgBackRest stanza (one per PostgreSQL server), e.g. ecommerce.", DefaultValue = "main")]
    public Input<string>? Stanza { get; set; }

    /// <summary>Runs <paramref name="operation"/> and turns a refusal into a step failure with its reason (never retried by itself).</summary>
    internal static async ValueTask<T> RunAsync<T>(Func<Task<T>> operation)
    {
        try
        {
            return await operation();
        }
        catch (PgBackRestException ex)
        {
            throw new ActivityFailureException(ex.Message, retryable: false, ex) { Code = ex.Code };
        }
    }
}

// Idempotent: settings already right are left alone, the stanza is created once and checked again.
[Activity("DrWorkflows", "PostgreSQL", "Turns on continuous WAL archiving with pgBackRest in a PostgreSQL container (archive_mode, wal_level, archive_timeout, archive_command, stanza-create, check) and reports exactly what it changed.", SafeToRerun = true)]
public sealed class EnableWalArchiving : PgBackRestActivity<ArchivingEnabled>
{
    protected override async ValueTask<ArchivingEnabled> RunAsync(ActivityExecutionContext context)
    {
        var service = context.GetRequiredService<IPgBackRest>();
        var result = await RunAsync(() => service.EnableArchivingAsync(context.Get(Container)!, context.Get(Stanza) ?? "main", context.CancellationToken));
        context.AddJournalData("archiving", new JsonObject
        {
            ["container"] = result.Container,
            ["stanza"] = result.Stanza,
            ["changes"] = new JsonArray([.. result.Changes.Select(c => new JsonObject { ["setting"] = c.Name, ["before"] = c.Before, ["after"] = c.After })]),
            ["restarted"] = result.Restarted,
            ["repositories"] = new JsonArray([.. result.Repositories.Select(r => JsonValue.Create(r))]),
            ["check"] = result.CheckOutput,
        });
        return result;
    }
}

// A repeat takes another backup (harmless: retention expires the oldest).
[Activity("DrWorkflows", "PostgreSQL", "Takes a pgBackRest full or differential backup (--start-fast) into every repository, checks with info that each holds the new backup and that retention (repo-retention-full/diff) was applied, and reports what expired.", SafeToRerun = true)]
public sealed class TakePgBackRestBackup : PgBackRestActivity<PgBackRestBackupTaken>
{
    [Input(Description = "full or diff.", DefaultValue = "full", Options = ["full", "diff"])]
    public Input<string>? BackupType { get; set; }

    protected override async ValueTask<PgBackRestBackupTaken> RunAsync(ActivityExecutionContext context)
    {
        var service = context.GetRequiredService<IPgBackRest>();
        var type = context.Get(BackupType) is { Length: > 0 } t ? t : "full";
        if (type is not ("full" or "diff"))
            throw new ActivityFailureException($"Type must be full or diff, not '{type}'.");
        var result = await RunAsync(() => service.BackupAsync(context.Get(Container)!, context.Get(Stanza) ?? "main", type, context.CancellationToken));
        context.AddJournalData("backups", new JsonArray([.. result.Backups.Select(b => new JsonObject
        {
            ["repository"] = b.Repository, ["label"] = b.Label, ["type"] = b.Type, ["stoppedAt"] = b.StoppedAt, ["bytes"] = b.Bytes, ["repositoryBytes"] = b.RepositoryBytes,
        })]));
        context.AddJournalData("retention", new JsonObject
        {
            ["full"] = result.Retention.Full,
            ["diff"] = result.Retention.Diff,
            ["expired"] = new JsonArray([.. result.Expired.Select(e => JsonValue.Create(e))]),
            ["kept"] = new JsonArray([.. result.Kept.Select(k => new JsonObject { ["repository"] = k.Repository, ["full"] = k.Full, ["diff"] = k.Diff, ["labels"] = new JsonArray([.. k.Labels.Select(l => JsonValue.Create(l))]) })]),
        });
        return result;
    }
}

// Creates a new volume and container each time; never touches the old ones.
[Activity("DrWorkflows", "PostgreSQL", "Restores a PostgreSQL server with pgBackRest to a point in time (latest, a time, or the end of a named backup) into a fresh volume and container, waits until recovery ends, reads every table and reports the last commit replayed.", SafeToRerun = true)]
public sealed class RestoreToPointInTime : CodeActivity<PointInTimeRestoreResult>
{
    [Input(Description = "The PostgreSQL container whose backups to restore (read for its image and pgBackRest volume, never changed). May be gone when Image and RepositoryVolume are given.")]
    public Input<string>? SourceContainer { get; set; }

    [Input(Description = "Image of the restored server (default: the source container's).")]
    public Input<string>? Image { get; set; }

    [Input(Description = "Volume holding the pgBackRest configuration and local repository (default: the source container's).")]
    public Input<string>? RepositoryVolume { get; set; }

    [Input(Description = "pgBackRest stanza.", DefaultValue = "main")]
    public Input<string>? Stanza { get; set; }

    [Input(Description = "latest, time or backup.", DefaultValue = "latest", Options = ["latest", "time", "backup"])]
    public Input<string>? Target { get; set; }

    [Input(Description = "For Target=time: transactions committed after it are not replayed, e.g. CompromisedAt minus a margin.")]
    public Input<DateTimeOffset?>? TargetTime { get; set; }

    [Input(Description = "For Target=backup: the backup label, e.g. 20261205-141210F.")]
    public Input<string>? BackupLabel { get; set; }

    [Input(Description = "Repository: 1 (S3) or 2 (local). Default: the first readable one with a usable backup.")]
    public Input<int?>? Repository { get; set; }

    protected override async ValueTask<PointInTimeRestoreResult> RunAsync(ActivityExecutionContext context)
    {
        var target = (context.Get(Target) is { Length: > 0 } t ? t : "latest") switch
        {
            "latest" => RecoveryTargetKind.Latest,
            "time" => RecoveryTargetKind.Time,
            "backup" => RecoveryTargetKind.Backup,
            var other => throw new ActivityFailureException($"Target must be latest, time or backup, not '{other}'."),
        };
        var time = context.Get(TargetTime);
        if (target == RecoveryTargetKind.Time && time is null)
            throw new ActivityFailureException("Target=time needs TargetTime.");
        if (target == RecoveryTargetKind.Backup && string.IsNullOrWhiteSpace(context.Get(BackupLabel)))
            throw new ActivityFailureException("Target=backup needs BackupLabel.");
        var request = new PointInTimeRestoreRequest
        {
            Stanza = context.Get(Stanza) ?? "main",
            Target = target,
            TargetTime = time,
            BackupLabel = context.Get(BackupLabel),
            SourceContainer = context.Get(SourceContainer),
            Image = context.Get(Image) is { Length: > 0 } i ? i : null,
            RepositoryVolume = context.Get(RepositoryVolume) is { Length: > 0 } v ? v : null,
            Repository = context.Get(Repository),
        };
        var service = context.GetRequiredService<IPgBackRest>();
        var result = await PgBackRestActivity<PointInTimeRestoreResult>.RunAsync(() => service.RestoreAsync(request, context.CancellationToken));
        context.AddJournalData("restore", new JsonObject
        {
            ["container"] = result.Container,
            ["volume"] = result.Volume,
            ["port"] = result.Port,
            ["repository"] = result.Repository,
            ["backup"] = result.BackupLabel,
            ["target"] = result.Target,
            ["lastReplayedCommitAt"] = result.LastReplayedCommitAt,
            ["timeline"] = result.Timeline,
            ["databases"] = new JsonArray([.. result.Databases.Select(d => new JsonObject { ["name"] = d.Name, ["tables"] = d.Tables, ["rows"] = d.Rows })]),
            ["restoreSeconds"] = Math.Round(result.RestoreSeconds, 1),
            ["recoverySeconds"] = Math.Round(result.RecoverySeconds, 1),
        });
        return result;
    }
}

// Removes only what a restore created (its label checked); a repeat finds them gone.
[Activity("DrWorkflows", "PostgreSQL", "Removes the container and volume a RestoreToPointInTime created, once their data was switched into the platform's volume: only those carrying the restore's label, each recorded in the throwaway ledger first (a removal that fails is left to the janitor), then read back.", SafeToRerun = true)]
public sealed class RemoveRestoredCopy : CodeActivity<RestoredCopyRemoval>
{
    [Input(Description = "The restored server (RestoreToPointInTime's Result.container).", Required = true)]
    public Input<string>? Container { get; set; }

    [Input(Description = "The restored volume (RestoreToPointInTime's Result.volume).", Required = true)]
    public Input<string>? Volume { get; set; }

    protected override async ValueTask<RestoredCopyRemoval> RunAsync(ActivityExecutionContext context)
    {
        var service = context.GetRequiredService<IPgBackRest>();
        var result = await PgBackRestActivity<RestoredCopyRemoval>.RunAsync(() => service.RemoveRestoredCopyAsync(context.Get(Container)!, context.Get(Volume)!, context.CancellationToken));
        context.AddJournalData("removed", new JsonObject
        {
            ["container"] = result.Container,
            ["containerRemoved"] = result.ContainerRemoved,
            ["volume"] = result.Volume,
            ["volumeRemoved"] = result.VolumeRemoved,
            ["alreadyGone"] = result.AlreadyGone,
        });
        return result;
    }
}

// Restores into throwaways only (removed at the end) and overwrites the annotations of the backups it verified.
[Activity("DrWorkflows", "PostgreSQL", "Verifies pgBackRest backups: restores the newest base backup plus its WAL from each repository (S3 and local) into a throwaway volume and server, waits until recovery ends, reads every table, and records the outcome on the backup. Fails when a repository cannot be restored, with pgBackRest's first error lines.", SafeToRerun = true)]
public sealed class VerifyPgBackRestBackup : PgBackRestActivity<PgBackRestVerification>
{
    protected override async ValueTask<PgBackRestVerification> RunAsync(ActivityExecutionContext context)
    {
        var service = context.GetRequiredService<IPgBackRest>();
        var result = await RunAsync(() => service.VerifyAsync(context.Get(Container)!, context.Get(Stanza) ?? "main", context.CancellationToken));
        context.AddJournalData("verification", new JsonObject
        {
            ["stanza"] = result.Stanza,
            ["repositories"] = new JsonArray([.. result.Repositories.Select(r => new JsonObject
            {
                ["repository"] = r.Repository,
                ["backup"] = r.BackupLabel,
                ["succeeded"] = r.Succeeded,
                ["at"] = r.At,
                ["lastReplayedCommitAt"] = r.LastReplayedCommitAt,
                ["databases"] = new JsonArray([.. r.Databases.Select(d => new JsonObject { ["name"] = d.Name, ["tables"] = d.Tables, ["rows"] = d.Rows })]),
                ["seconds"] = Math.Round(r.Seconds, 1),
                ["error"] = r.Error,
                ["recorded"] = r.Recorded is null,
                ["notRecorded"] = r.Recorded,
            })]),
        });
        if (!result.Succeeded)
        {
            var failed = result.Repositories.Where(r => !r.Succeeded || r.Recorded is not null).Select(r => $"repository {r.Repository} (backup {r.BackupLabel ?? "none"}): {r.Error ?? r.Recorded}");
            throw new ActivityFailureException($"pgBackRest verification of stanza '{result.Stanza}' failed: {string.Join("; ", failed)}", retryable: false) { Code = PgBackRestErrorCodes.VerificationFailed };
        }

        return result;
    }
}

// Reads only (pgbackrest info and repo-ls in the database container).
[Activity("DrWorkflows", "PostgreSQL", "Works out whether a restore gate can offer a pgBackRest restore: to just before the compromise (the target, a time minus a margin, must lie between the end of the oldest base backup and the newest archived WAL of a readable repository) or, with Latest, to the latest archived transaction (a readable repository with a backup). Not offered when pgBackRest is not configured for the server or the target is outside that range, with the reason and the range.", SafeToRerun = true, Outcomes = [Offered, NotOffered])]
public sealed class OfferPointInTimeRestore : PgBackRestActivity<PointInTimeOffer>
{
    public const string Offered = "Offered";
    public const string NotOffered = "NotOffered";

    [Input(Description = "Offer the latest archived transaction instead of a time (Before and MarginSeconds are not used).", DefaultValue = false)]
    public Input<bool?>? Latest { get; set; }

    [Input(Description = "The suspected compromise (or failure) time; the target is this minus MarginSeconds. Required unless Latest.", UIHint = InputUIHints.DateTimePicker)]
    public Input<DateTimeOffset?>? Before { get; set; }

    [Input(Description = "Seconds before Before that the restore stops at (transactions committed after the target are not replayed).", DefaultValue = 60)]
    public Input<int?>? MarginSeconds { get; set; }

    [Input(Description = "Only this repository counts: 1 (S3) or 2 (local), e.g. 1 on a DR host where the local repository died with the primary. Default: any readable one.")]
    public Input<int?>? Repository { get; set; }

    protected override async ValueTask<PointInTimeOffer> RunAsync(ActivityExecutionContext context)
    {
        var latest = context.Get(Latest) ?? false;
        var only = context.Get(Repository);
        if (only is not (null or 1 or 2))
            throw new ActivityFailureException($"Repository must be 1 (S3) or 2 (local), not {only}.");
        var before = context.Get(Before) ?? (latest ? DateTimeOffset.UnixEpoch : throw new ActivityFailureException("Before (the compromise time) is required unless Latest."));
        var margin = context.Get(MarginSeconds) ?? 60;
        if (margin is < 0 or > 86400)
            throw new ActivityFailureException($"MarginSeconds must be 0 to 86400, not {margin}.");
        var container = context.Get(Container)!;
        var stanza = context.Get(Stanza) ?? "main";
        var target = before - TimeSpan.FromSeconds(margin);
        PointInTimeOffer offer;
        try
        {
            var service = context.Services.GetService(typeof(IPgBackRest)) as IPgBackRest
                ?? throw new PgBackRestException(PgBackRestErrorCodes.NotConfigured, "this server has no pgBackRest service (AddPgBackRest).");
            var check = await service.CheckTargetAsync(container, stanza, target, context.CancellationToken);
            if (only is { } repository && check.Ranges.All(r => r.Repository != repository))
                throw new PgBackRestException(PgBackRestErrorCodes.RepositoryUnreadable, $"repository {repository} holds no backup that can be restored ({(check.Ranges.Count == 0 ? check.Summary[(check.Summary.IndexOf("can reach: ", StringComparison.Ordinal) + 11)..] : "only " + string.Join("; ", check.Ranges) + " can be read")})");
            if (only is { } kept)
                check = check with { Ranges = [.. check.Ranges.Where(r => r.Repository == kept)], Repositories = [.. check.Repositories.Where(r => r == kept)], Reachable = check.Repositories.Contains(kept) };
            var newest = check.Ranges.Select(r => r.NewestWalStoredAt ?? r.OldestBackupEnd).DefaultIfEmpty().Max();
            offer = latest
                ? check.Ranges.Count > 0
                    ? new PointInTimeOffer(true, $"Latest with pgBackRest (every archived transaction; the archive reaches {newest.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z)", newest, $"pgBackRest can restore the latest archived transaction: {string.Join("; ", check.Ranges)}.", check.Ranges)
                    : new PointInTimeOffer(false, null, newest, $"pgBackRest restore not offered: {check.Summary[(check.Summary.IndexOf("is outside what the archive can reach: ", StringComparison.Ordinal) + 39)..]}.", check.Ranges)
                : check.Reachable
                ? new PointInTimeOffer(true, $"Point in time {target.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z with pgBackRest ({margin} s before the compromise)", target, check.Summary, check.Ranges)
                : new PointInTimeOffer(false, null, target, $"Point-in-time restore not offered: {check.Summary}.", check.Ranges);
        }
        catch (Exception ex) when (ex is PgBackRestException or DrWorkflows.Activities.Docker.DockerOperationException)
        {
            var configured = ex is not PgBackRestException { Code: PgBackRestErrorCodes.NotConfigured or PgBackRestErrorCodes.NotReady or PgBackRestErrorCodes.NoStanza };
            offer = new PointInTimeOffer(false, null, target, configured
                ? $"Point-in-time restore not offered: pgBackRest could not be read for container '{container}', stanza '{stanza}': {ex.Message}"
                : $"Point-in-time restore not offered: pgBackRest is not configured for container '{container}', stanza '{stanza}': {ex.Message}", []);
        }

        context.AddJournalData("pointInTime", new JsonObject
        {
            ["offered"] = offer.Offered,
            ["target"] = offer.TargetTime,
            ["reason"] = offer.Reason,
            ["ranges"] = new JsonArray([.. offer.Ranges.Select(r => new JsonObject { ["repository"] = r.Repository, ["from"] = r.OldestBackupEnd, ["to"] = r.NewestWalStoredAt })]),
        });
        context.Set(Result, offer);
        await context.CompleteAsync(offer.Offered ? Offered : NotOffered);
        return offer;
    }
}

// Reads the clock only.
[Activity("DrWorkflows", "PostgreSQL", "Measures the RPO exposure a restore implies: the time between the recovery point it reached (the last commit replayed) and the failure (at the latest when the run started), against the RPO target; the journal and the result say both.", SafeToRerun = true)]
public sealed class MeasureRpoExposure : CodeActivity<RpoExposure>
{
    [Input(Description = "The recovery point the restore reached, e.g. the last commit replayed (RestoreToPointInTime's lastReplayedCommitAt). Empty: no transaction was replayed after the backup.")]
    public Input<DateTimeOffset?>? RecoveryPoint { get; set; }

    [Input(Description = "What the recovery point is, for the summary, e.g. 'backup 20261205-141210F of repository 1' when no commit was replayed.")]
    public Input<string>? Source { get; set; }

    [Input(Description = "The failure, or a time at or after it; default the start of this run (the failure came before the run was started).", UIHint = InputUIHints.DateTimePicker)]
    public Input<DateTimeOffset?>? FailureAt { get; set; }

    [Input(Description = "RPO target in seconds; default 900 (the plan's 15 minutes).", DefaultValue = 900)]
    public Input<int?>? TargetSeconds { get; set; }

    protected override ValueTask<RpoExposure> RunAsync(ActivityExecutionContext context)
    {
        var target = context.Get(TargetSeconds) ?? 900;
        if (target is < 1 or > 604800)
            throw new ActivityFailureException($"TargetSeconds must be 1 to 604800, not {target}.");
        var failure = context.Get(FailureAt) ?? context.Workflow.State.CreatedAt;
        var point = context.Get(RecoveryPoint);
        var source = context.Get(Source) is { Length: > 0 } s ? s : "the restore";
        RpoExposure exposure;
        if (point is { } at)
        {
            var seconds = Math.Max(0, Math.Round((failure - at).TotalSeconds, 1));
            var within = seconds <= target;
            exposure = new RpoExposure(at, failure, seconds, target, within,
                $"Recovery point {at.UtcDateTime:yyyy-MM-dd HH:mm:ss.fff}Z (last commit replayed from {source}); the failure came no later than {failure.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z: at most {Describe(seconds)} of committed writes may be lost, {(within ? "within" : "OVER")} the RPO target of {Describe(target)}.");
        }
        else
        {
            exposure = new RpoExposure(null, failure, null, target, false,
                $"No transaction was replayed after the base backup ({source}): the recovery point is that backup's end, and the exposure cannot be measured from a commit.");
        }

        context.AddJournalData("rpoExposure", new JsonObject
        {
            ["recoveryPoint"] = exposure.RecoveryPoint,
            ["failureNoLaterThan"] = exposure.FailureNoLaterThan,
            ["exposureSeconds"] = exposure.ExposureSeconds,
            ["targetSeconds"] = exposure.TargetSeconds,
            ["withinTarget"] = exposure.WithinTarget,
        });
        return ValueTask.FromResult(exposure);
    }

    private static string Describe(double seconds) => seconds < 120
        ? $"{seconds.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture)} s"
        : seconds < 7200 ? $"{(seconds / 60).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture)} min" : $"{(seconds / 3600).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture)} h";
}
