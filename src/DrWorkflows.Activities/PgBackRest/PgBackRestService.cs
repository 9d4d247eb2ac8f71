using System.Globalization;
using System.Net;
using System.Text;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Activities.Throwaway;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.PgBackRest;

/// <summary>
/// Continuous WAL archiving, backups and point-in-time restores with pgBackRest, run inside PostgreSQL containers
/// (<c>docker exec</c> as the postgres user). Secrets (the repository key, the S3 secret) only ever travel in the
/// configuration file, written through standard input: never on a command line, in a log or a journal.
/// </summary>
public interface IPgBackRest
{
    /// <summary>
    /// Writes the pgBackRest configuration, sets <c>archive_mode</c>, <c>wal_level</c>, <c>archive_timeout</c> and
    /// <c>archive_command</c> where they differ (restarting the container when PostgreSQL needs it), creates the
    /// stanza and runs <c>pgbackrest check</c>. Returns exactly what it changed.
    /// </summary>
    Task<ArchivingEnabled> EnableArchivingAsync(string container, string stanza, CancellationToken cancellationToken);

    /// <summary>Takes a full or differential backup into every repository (<c>--start-fast</c>; retention expires older ones) and returns the new backups as <c>info</c> lists them.</summary>
    Task<PgBackRestBackupTaken> BackupAsync(string container, string stanza, string type, CancellationToken cancellationToken);

    /// <summary>The stanza's repositories, backups and archive, read in the container (or a helper container of the image with the repository volume).</summary>
    Task<PgBackRestStanzaInfo> InfoAsync(string container, string stanza, CancellationToken cancellationToken);

    /// <summary>
    /// What a restore of the stanza can reach, per readable repository (end of the oldest backup .. newest archived
    /// WAL), read in a helper container of its image on its pgBackRest volume (the database container may be stopped or
    /// compromised); and whether <paramref name="target"/> lies inside it. Changes nothing.
    /// </summary>
    Task<PointInTimeTargetCheck> CheckTargetAsync(string container, string stanza, DateTimeOffset target, CancellationToken cancellationToken);

    /// <summary>
    /// Restores into a new volume and a new container (never over the old ones) and waits until recovery ended.
    /// Before anything is created: the repository must be readable with the key, the target inside the range it
    /// holds, and the WAL chain from the backup on whole.
    /// </summary>
    Task<PointInTimeRestoreResult> RestoreAsync(PointInTimeRestoreRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Restores the newest base backup plus every archived WAL of each repository into a throwaway volume and server
    /// (recorded in the throwaway ledger before they exist, removed at the end), waits until recovery ended, reads
    /// every table, and records the outcome on the backup in that repository (pgBackRest annotations
    /// <c>drw-last-verify-at</c>, <c>drw-last-verify-result</c>, and <c>drw-verified-at</c> on success).
    /// </summary>
    Task<PgBackRestVerification> VerifyAsync(string container, string stanza, CancellationToken cancellationToken);

    /// <summary>The server's archiving as it reports it (<c>pg_stat_archiver</c>, settings, current WAL position), read in the container within 30 s.</summary>
    Task<ArchiverStatistics> ArchiverStatisticsAsync(string container, CancellationToken cancellationToken);

    /// <summary>
    /// Removes the container and volume a <see cref="RestoreAsync"/> created, once their data was switched in: only
    /// those carrying its label (<c>org.drworkflows.pitr-of</c>), refused otherwise. Each is recorded in the throwaway
    /// ledger first, so a removal that fails (or a crash) is left to the janitor; then read back: gone or not.
    /// </summary>
    Task<RestoredCopyRemoval> RemoveRestoredCopyAsync(string container, string volume, CancellationToken cancellationToken);
}

internal sealed class PgBackRestService(
    IDockerService docker, IOptions<DockerOptions> dockerOptions, IOptions<PgBackRestOptions> options, IThrowawayLedger ledger, TimeProvider clock, ILogger<PgBackRestService> logger) : IPgBackRest
{
    private const string Postgres = "postgres";
    private readonly Lazy<DockerClient> client = new(() => DockerClientFactory.Create(dockerOptions.Value));

    private PgBackRestOptions Options => options.Value;

    public async Task<ArchivingEnabled> EnableArchivingAsync(string container, string stanza, CancellationToken cancellationToken)
    {
        CheckStanzaName(stanza);
        var inspected = await InspectAsync(container, cancellationToken);
        RepositoryVolumeOf(inspected);
        var port = PortOf(inspected);
        await RequireSuccessAsync(container, ["pgbackrest", "version"], "pgbackrest version", TimeSpan.FromMinutes(1), cancellationToken,
            hint: $"the image {inspected.Config.Image} has no pgBackRest: install the pgbackrest package in it");
        await WriteConfigAsync(container, stanza, port, cancellationToken);

        var wanted = new (string Name, string Value, bool NeedsRestart)[]
        {
            ("archive_mode", "on", true),
            ("archive_timeout", Options.ArchiveTimeoutSeconds.ToString(CultureInfo.InvariantCulture), false),
            ("archive_command", ArchiveCommand(stanza), false),
        };
        var current = await SettingsAsync(container, port, ["archive_mode", "wal_level", "archive_timeout", "archive_command"], cancellationToken);
        var changes = new List<SettingChange>();
        var restart = false;
        foreach (var (name, value, needsRestart) in wanted)
        {
            if (current[name] == value)
                continue;
            await SqlAsync(container, port, "postgres", $"ALTER SYSTEM SET {name} = '{value.Replace("'", "''", StringComparison.Ordinal)}'", cancellationToken);
            changes.Add(new SettingChange(name, current[name], value));
            restart |= needsRestart;
        }

        if (current["wal_level"] == "minimal")
        {
            await SqlAsync(container, port, "postgres", "ALTER SYSTEM SET wal_level = 'replica'", cancellationToken);
            changes.Add(new SettingChange("wal_level", "minimal", "replica"));
            restart = true;
        }

        if (restart)
        {
            Log.Restarting(logger, container);
            await docker.RestartContainerAsync(container, TimeSpan.FromSeconds(60), cancellationToken);
            await WaitAcceptingAsync(container, port, TimeSpan.FromMinutes(5), cancellationToken);
        }
        else if (changes.Count > 0)
            await SqlAsync(container, port, "postgres", "SELECT pg_reload_conf()", cancellationToken);

        // Measured, not assumed: the server runs with the values now (a reload is applied asynchronously).
        await WaitForSettingsAsync(container, port, wanted.Select(w => (w.Name, w.Value)).ToList(), cancellationToken);

        var create = await PgBackRestAsync(container, stanza, ["stanza-create"], TimeSpan.FromMinutes(10), cancellationToken);
        if (create.ExitCode != 0)
            throw Failed("stanza-create", container, create);
        var check = await PgBackRestAsync(container, stanza, ["check"], TimeSpan.FromMinutes(10), cancellationToken);
        if (check.ExitCode != 0)
            throw Failed("check", container, check);
        var repositories = RepositoryKeys();
        Log.ArchivingEnabled(logger, container, stanza, changes.Count, restart);
        return new ArchivingEnabled(container, stanza, changes, restart, repositories,
            !create.StandardOutput.Contains("already exists", StringComparison.Ordinal), LastLines(check.StandardOutput + check.StandardError, 4));
    }

    public async Task<PgBackRestBackupTaken> BackupAsync(string container, string stanza, string type, CancellationToken cancellationToken)
    {
        CheckStanzaName(stanza);
        if (type is not ("full" or "diff"))
            throw new ArgumentException($"The backup type must be full or diff, not '{type}'.", nameof(type));
        var before = await InfoAsync(container, stanza, cancellationToken);
        var known = before.Repositories.SelectMany(r => r.Backups.Select(b => (r.Key, b.Label))).ToHashSet();
        foreach (var repo in RepositoryKeys())
        {
            Log.BackupStarting(logger, container, stanza, type, repo);
            var result = await PgBackRestAsync(container, stanza, [$"--repo={repo}", $"--type={type}", "backup"], Options.CommandTimeout, cancellationToken);
            if (result.ExitCode != 0)
                throw Failed($"backup --type={type} --repo={repo}", container, result);
        }

        // Measured from info, not from the command's log: what is new, what retention removed, what each repository holds.
        var after = await InfoAsync(container, stanza, cancellationToken);
        var taken = after.Repositories.SelectMany(r => r.Backups.Where(b => !known.Contains((r.Key, b.Label)))).ToList();
        var missing = RepositoryKeys().Where(k => !taken.Any(b => b.Repository == k)).ToList();
        if (missing.Count > 0)
            throw new PgBackRestException(PgBackRestErrorCodes.CommandFailed, $"pgbackrest backup ended without error, but info lists no new backup in repository {string.Join(", ", missing)} of stanza '{stanza}'.");
        var remaining = after.Repositories.SelectMany(r => r.Backups.Select(b => (r.Key, b.Label))).ToHashSet();
        var expired = before.Repositories.SelectMany(r => r.Backups.Where(b => !remaining.Contains((r.Key, b.Label))).Select(b => $"repo{r.Key} {b.Label}")).ToList();
        var retention = new PgBackRestRetention(Options.RetentionFull, Options.RetentionDiff);
        var kept = after.Repositories.Where(r => RepositoryKeys().Contains(r.Key)).Select(r => new PgBackRestRepositoryHolding(
            r.Key, r.Backups.Count(b => b.Type == "full"), r.Backups.Count(b => b.Type == "diff"), r.Backups.Count(b => b.Type == "incr"), [.. r.Backups.Select(b => b.Label)])).ToList();
        var over = kept.Where(k => k.Full > retention.Full || k.Diff > retention.Diff).ToList();
        if (over.Count > 0)
            throw new PgBackRestException(PgBackRestErrorCodes.CommandFailed,
                $"Retention was not applied to stanza '{stanza}': {string.Join("; ", over.Select(k => $"repository {k.Repository} holds {k.Full} full and {k.Diff} differential backups"))}, more than repo-retention-full={retention.Full} / repo-retention-diff={retention.Diff} (PgBackRest:RetentionFull/RetentionDiff; run EnableWalArchiving again to rewrite the configuration).");
        Log.BackupTaken(logger, container, stanza, type, taken.Count, expired.Count);
        return new PgBackRestBackupTaken(container, stanza, type, taken, expired, retention, kept);
    }

    public async Task<PgBackRestStanzaInfo> InfoAsync(string container, string stanza, CancellationToken cancellationToken)
    {
        CheckStanzaName(stanza);
        var result = await PgBackRestAsync(container, stanza, ["--output=json", "info"], TimeSpan.FromMinutes(5), cancellationToken);
        if (result.ExitCode != 0)
            throw Failed("info", container, result);
        return PgBackRestStanzaInfo.Parse(stanza, result.StandardOutput);
    }

    public async Task<PgBackRestVerification> VerifyAsync(string container, string stanza, CancellationToken cancellationToken)
    {
        CheckStanzaName(stanza);
        var info = await InfoAsync(container, stanza, cancellationToken);
        var results = new List<RepositoryVerification>();
        foreach (var repository in info.Repositories)
        {
            var newest = repository.Backups.Count > 0 ? repository.Backups[^1] : null;
            var started = clock.GetTimestamp();
            var at = clock.GetUtcNow();
            RepositoryVerification result;
            try
            {
                if (newest is null)
                    throw new PgBackRestException(PgBackRestErrorCodes.RepositoryUnreadable, repository.Ok ? $"repository {repository.Key} holds no backup" : $"repository {repository.Key} cannot be read: {repository.Status}");
                var restored = await RestoreAsync(new PointInTimeRestoreRequest { Stanza = stanza, SourceContainer = container, Repository = repository.Key, NameHint = $"{container}-verify", Throwaway = true }, cancellationToken);
                if (restored.BackupLabel != newest.Label)
                    throw new PgBackRestException(PgBackRestErrorCodes.CommandFailed, $"the restore used backup {restored.BackupLabel}, not the newest ({newest.Label})");
                result = new RepositoryVerification(repository.Key, newest.Label, true, at, restored.LastReplayedCommitAt, restored.Timeline, restored.Databases, clock.GetElapsedTime(started).TotalSeconds, null);
            }
            catch (PgBackRestException e)
            {
                result = new RepositoryVerification(repository.Key, newest?.Label, false, at, null, null, [], clock.GetElapsedTime(started).TotalSeconds, e.Message);
            }

            Log.Verified(logger, stanza, repository.Key, result.BackupLabel ?? "(none)", result.Succeeded, result.Error ?? "ok");
            if (result.BackupLabel is not null)
                result = result with { Recorded = await AnnotateAsync(container, stanza, result, cancellationToken) };
            results.Add(result);
        }

        return new PgBackRestVerification(container, stanza, results);
    }

    /// <summary>Records the outcome on the backup; returns null when recorded, else why not.</summary>
    private async Task<string?> AnnotateAsync(string container, string stanza, RepositoryVerification result, CancellationToken cancellationToken)
    {
        var at = result.At.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var outcome = result.Succeeded ? "ok" : "failed: " + new string([.. (result.Error ?? string.Empty).Take(300).Select(c => char.IsControl(c) ? ' ' : c)]);
        var arguments = new List<string> { $"--repo={result.Repository}", $"--set={result.BackupLabel}", $"--annotation=drw-last-verify-at={at}", $"--annotation=drw-last-verify-result={outcome}" };
        if (result.Succeeded)
            arguments.Add($"--annotation=drw-verified-at={at}");
        arguments.Add("annotate");
        var annotate = await PgBackRestAsync(container, stanza, arguments, TimeSpan.FromMinutes(5), cancellationToken);
        return annotate.ExitCode == 0 ? null : $"pgbackrest annotate failed (exit {annotate.ExitCode}): {LastLines(ErrorLines(annotate), 2)}";
    }

    public async Task<ArchiverStatistics> ArchiverStatisticsAsync(string container, CancellationToken cancellationToken)
    {
        var port = PortOf(await InspectAsync(container, cancellationToken));
        var result = await docker.ExecAsync(container, ["psql", "-h", Options.SocketDirectory, "-p", port.ToString(CultureInfo.InvariantCulture), "-U", Postgres, "-d", "postgres", "-XtAq", "-v", "ON_ERROR_STOP=1", "-c", ArchiverStatistics.Query],
            new ExecOptions { User = Postgres, Timeout = TimeSpan.FromSeconds(30) }, cancellationToken);
        if (result.ExitCode != 0)
            throw new PgBackRestException(PgBackRestErrorCodes.NotReady, $"pg_stat_archiver could not be read in container '{container}' (exit {result.ExitCode}): {LastLines(result.StandardError, 2)}");
        return ArchiverStatistics.Parse(result.StandardOutput);
    }

    public async Task<RestoredCopyRemoval> RemoveRestoredCopyAsync(string container, string volume, CancellationToken cancellationToken)
    {
        const string Label = "org.drworkflows.pitr-of";
        var volumeInfo = await docker.InspectVolumeAsync(volume, cancellationToken);
        if (volumeInfo is not null && !volumeInfo.Labels.ContainsKey(Label))
            throw new PgBackRestException(PgBackRestErrorCodes.NotReady, $"Refused to remove volume '{volume}': it is not a copy made by a pgBackRest restore (no label {Label}).");
        ContainerInspectResponse? inspected = null;
        try
        {
            inspected = await client.Value.Containers.InspectContainerAsync(container, cancellationToken);
        }
        catch (DockerContainerNotFoundException)
        {
        }

        if (inspected is not null && !(inspected.Config.Labels?.ContainsKey(Label) ?? false))
            throw new PgBackRestException(PgBackRestErrorCodes.NotReady, $"Refused to remove container '{container}': it is not a server made by a pgBackRest restore (no label {Label}).");

        // The server first (it holds the volume), then the volume; each in the ledger before it is touched.
        if (inspected is not null)
        {
            await using var lease = await ledger.RecordAsync(ThrowawaySpec.DockerContainer(docker.Endpoint, container, $"pgBackRest restored server {container}, switched in"), ct => ThrowawayPostgresContainer.RemoveByNameAsync(client.Value, container, ct), cancellationToken);
            await lease.RemoveAsync(cancellationToken);
        }

        if (volumeInfo is not null)
        {
            await using var lease = await ledger.RecordAsync(ThrowawaySpec.DockerVolume(docker.Endpoint, volume, $"pgBackRest restored volume {volume}, copied into the platform's volume"), ct => docker.RemoveVolumeAsync(volume, force: true, ct), cancellationToken);
            await lease.RemoveAsync(cancellationToken);
        }

        // Read back, not assumed.
        var containerGone = true;
        try
        {
            await client.Value.Containers.InspectContainerAsync(container, cancellationToken);
            containerGone = false;
        }
        catch (DockerContainerNotFoundException)
        {
        }

        var volumeGone = await docker.InspectVolumeAsync(volume, cancellationToken) is null;
        Log.RestoredCopyRemoved(logger, container, containerGone, volume, volumeGone);
        return new RestoredCopyRemoval(container, volume, containerGone, volumeGone, inspected is null && volumeInfo is null);
    }

    public async Task<PointInTimeTargetCheck> CheckTargetAsync(string container, string stanza, DateTimeOffset target, CancellationToken cancellationToken)
    {
        CheckStanzaName(stanza);
        if (string.IsNullOrEmpty(Options.CipherPass))
            throw new PgBackRestException(PgBackRestErrorCodes.NotConfigured, "PgBackRest:CipherPass is not set.");
        var (image, repositoryVolume, hint) = await ResolveSourceAsync(new PointInTimeRestoreRequest { Stanza = stanza, SourceContainer = container }, cancellationToken);
        return await WithCheckerAsync(image, repositoryVolume, hint, async (checker, config) =>
        {
            await WriteConfigAsync(checker, stanza, 5432, cancellationToken, config);
            var info = PgBackRestStanzaInfo.Parse(stanza, (await RequirePgBackRestAsync(checker, stanza, ["--output=json", "info"], config, cancellationToken)).StandardOutput);
            var ranges = new List<RecoverableRange>();
            var problems = new List<string>();
            foreach (var repository in info.Repositories)
            {
                if (!repository.Ok || repository.Backups.Count == 0)
                {
                    problems.Add($"repository {repository.Key}: {(repository.Ok ? "no backup" : repository.Status)}");
                    continue;
                }

                var listing = await ListArchiveAsync(checker, stanza, repository, config, cancellationToken);
                ranges.Add(new RecoverableRange(repository.Key, repository.Backups[0].StoppedAt, listing.NewestStoredAt(repository.Backups[0].ArchiveStart)));
            }

            var inside = ranges.Where(r => target >= r.OldestBackupEnd && target <= (r.NewestWalStoredAt ?? r.OldestBackupEnd)).Select(r => r.Repository).ToList();
            var text = ranges.Count == 0 ? $"no repository of stanza '{stanza}' holds a usable backup ({string.Join("; ", problems)})" : string.Join("; ", ranges.Select(r => r.ToString()));
            return new PointInTimeTargetCheck(stanza, target, inside.Count > 0, inside, ranges, inside.Count > 0
                ? $"{target.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z is inside {text}"
                : $"{target.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z is outside what the archive can reach: {text}");
        }, cancellationToken);
    }

    public async Task<PointInTimeRestoreResult> RestoreAsync(PointInTimeRestoreRequest request, CancellationToken cancellationToken)
    {
        CheckStanzaName(request.Stanza);
        var (image, repositoryVolume, hint) = await ResolveSourceAsync(request, cancellationToken);
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var name = $"{hint}-pitr-{suffix}";
        var volume = $"{hint}-pitr-data-{suffix}";

        // 1. Read and check the repository in a helper container that holds no data volume: nothing is created
        //    for the restore until the key, the target and the WAL chain are known to be good. The restore uses a
        //    configuration of its own, with the key and S3 settings of this server's configuration (not the file
        //    the source wrote), removed again when the restore ends.
        return await WithCheckerAsync(image, repositoryVolume, hint, (checker, config) =>
            RestoreCheckedAsync(request, image, repositoryVolume, hint, checker, config, $"{hint}-pitr-restore-{suffix}", name, volume, cancellationToken), cancellationToken, suffix);
    }

    /// <summary>
    /// Runs <paramref name="work"/> with a helper container of the image on the pgBackRest volume (no data volume, in
    /// the throwaway ledger) and the path of a configuration file of its own; removes both afterwards. Reads the
    /// repository without touching the database container, which may be stopped, damaged or compromised.
    /// </summary>
    private async Task<T> WithCheckerAsync<T>(string image, string repositoryVolume, string hint, Func<string, string, Task<T>> work, CancellationToken cancellationToken, string? suffix = null)
    {
        suffix ??= Guid.NewGuid().ToString("N")[..8];
        var checker = $"{hint}-pitr-check-{suffix}";
        var config = $"{Options.RepositoryMount.TrimEnd('/')}/restore-{suffix}.conf";
        var checkerLease = await StartHelperAsync(checker, image, repositoryVolume, null, cancellationToken);
        try
        {
            return await work(checker, config);
        }
        finally
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
                await docker.ExecAsync(checker, ["rm", "-f", config], new ExecOptions { User = Postgres, Timeout = TimeSpan.FromSeconds(50) }, timeout.Token);
            }
            catch (Exception ex) when (ex is DockerOperationException or OperationCanceledException)
            {
                Log.RemoveFailed(logger, config, ex.Message);
            }

            await checkerLease.DisposeAsync();
        }
    }

    private async Task<PointInTimeRestoreResult> RestoreCheckedAsync(
        PointInTimeRestoreRequest request, string image, string repositoryVolume, string hint, string checker, string config, string restorer, string name, string volume, CancellationToken cancellationToken)
    {
        await WriteConfigAsync(checker, request.Stanza, 5432, cancellationToken, config);
        var info = PgBackRestStanzaInfo.Parse(request.Stanza, (await RequirePgBackRestAsync(checker, request.Stanza, ["--output=json", "info"], config, cancellationToken)).StandardOutput);
        var (repository, backup, targetText) = await ChooseAsync(checker, info, request, config, cancellationToken);

        // 2. Restore into a fresh volume (a helper container running pgbackrest restore as postgres).
        var started = clock.GetTimestamp();
        var restoreArguments = new List<string> { $"--repo={repository.Key}", $"--pg1-path={Options.DataDirectory}", "--archive-mode=off", $"--set={backup.Label}" };
        switch (request.Target)
        {
            case RecoveryTargetKind.Time:
                restoreArguments.AddRange(["--type=time", $"--target={request.TargetTime!.Value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture)}+00", "--target-action=promote"]);
                break;
            case RecoveryTargetKind.Backup:
                restoreArguments.AddRange(["--type=immediate", "--target-action=promote"]);
                break;
            default:
                restoreArguments.Add("--type=default");
                break;
        }

        restoreArguments.Add("restore");
        var created = false;
        // A verification's volume and server are throwaways: in the ledger before they exist, removed when it ends.
        var leases = new List<ThrowawayLease>();
        try
        {
            if (request.Throwaway)
                leases.Add(await ledger.RecordAsync(ThrowawaySpec.DockerVolume(docker.Endpoint, volume, $"pgBackRest verification volume {volume} (backup {backup.Label}, repository {repository.Key})"), ct => docker.RemoveVolumeAsync(volume, force: true, ct), cancellationToken));
            await docker.CreateVolumeAsync(volume, new Dictionary<string, string> { ["org.drworkflows.pitr-of"] = hint, ["org.drworkflows.pitr-backup"] = backup.Label }, cancellationToken);
            created = true;
            var restorerLease = await StartHelperAsync(restorer, image, repositoryVolume, volume, cancellationToken);
            try
            {
                await RequireSuccessAsync(restorer, ["sh", "-c", $"chown postgres:postgres {Options.DataDirectory} && chmod 700 {Options.DataDirectory}"], "prepare the data directory", TimeSpan.FromMinutes(1), cancellationToken, user: "root");
                Log.Restoring(logger, request.Stanza, backup.Label, repository.Key, targetText, volume);
                var restore = await PgBackRestAsync(restorer, request.Stanza, restoreArguments, Options.CommandTimeout, cancellationToken, config);
                if (restore.ExitCode != 0)
                    throw Failed("restore", restorer, restore);
            }
            finally
            {
                await restorerLease.DisposeAsync();
            }

            var restoreSeconds = clock.GetElapsedTime(started).TotalSeconds;

            // 3. A new server on the restored volume, on a free loopback port, never archiving into the stanza.
            var port = FreeLoopbackPort();
            if (request.Throwaway)
                leases.Insert(0, await ledger.RecordAsync(ThrowawaySpec.DockerContainer(docker.Endpoint, name, $"pgBackRest verification server {name}"), ct => ThrowawayPostgresContainer.RemoveByNameAsync(client.Value, name, ct), cancellationToken));
            await CreateServerAsync(name, image, repositoryVolume, volume, port, hint, cancellationToken);
            var recoveryStarted = clock.GetTimestamp();
            await WaitForRecoveryEndAsync(name, port, cancellationToken);
            var recoverySeconds = clock.GetElapsedTime(recoveryStarted).TotalSeconds;

            // 4. What it really reached, and every table of every database read in full.
            var replayed = (await QueryAsync(name, port, "postgres", "SELECT coalesce(to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '') || '|' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)", cancellationToken)).Single().Split('|');
            DateTimeOffset? lastCommit = replayed[0].Length > 0 ? DateTimeOffset.Parse(replayed[0], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal) : null;
            var databases = await ReadEveryDatabaseAsync(name, port, cancellationToken);
            if (request.Probe is { } probe)
                await probe((database, sql, ct) => QueryAsync(name, port, database, sql, ct), cancellationToken);
            Log.Restored(logger, name, port, lastCommit, databases.Count);
            return new PointInTimeRestoreResult(name, volume, port, request.Stanza, repository.Key, backup.Label, targetText, lastCommit, replayed[1], databases, restoreSeconds, recoverySeconds);
        }
        catch
        {
            // Only what this restore created goes: the new container and volume (the source is never touched).
            await RemoveContainerAsync(name);
            if (created)
                await RemoveVolumeQuietlyAsync(volume);
            throw;
        }
        finally
        {
            // The server first, then its volume (a removal that fails is left to the janitor).
            foreach (var lease in leases)
                await lease.DisposeAsync();
        }
    }

    // --- choosing the backup and checking the range -------------------------------------------------------------

    private async Task<(PgBackRestRepository Repository, PgBackRestBackup Backup, string Target)> ChooseAsync(string helper, PgBackRestStanzaInfo info, PointInTimeRestoreRequest request, string config, CancellationToken cancellationToken)
    {
        var candidates = info.Repositories.Where(r => request.Repository is null || r.Key == request.Repository).ToList();
        if (candidates.Count == 0)
            throw new PgBackRestException(PgBackRestErrorCodes.RepositoryUnreadable, $"Stanza '{request.Stanza}' has no repository {request.Repository} (it has {string.Join(", ", info.Repositories.Select(r => r.Key))}).");
        var unreadable = candidates.Where(r => !r.Ok).ToList();
        var readable = candidates.Where(r => r.Ok && r.Backups.Count > 0).ToList();
        if (readable.Count == 0)
        {
            var reasons = string.Join("; ", candidates.Select(r => $"repository {r.Key}: {(r.Ok ? "no backup" : r.Status)}"));
            var key = unreadable.Any(r => r.Status.Contains("FormatError", StringComparison.Ordinal) || r.Status.Contains("Crypto", StringComparison.Ordinal))
                ? " The repository key (PgBackRest:CipherPass) does not decrypt it: is it the key the backups were made with?" : string.Empty;
            throw new PgBackRestException(PgBackRestErrorCodes.RepositoryUnreadable, $"No repository of stanza '{request.Stanza}' can be restored from: {reasons}.{key} Nothing was restored; no volume or container was created or changed.");
        }

        var problems = new List<string>();
        foreach (var repository in readable)
        {
            var listing = await ListArchiveAsync(helper, request.Stanza, repository, config, cancellationToken);
            var range = new RecoverableRange(repository.Key, repository.Backups[0].StoppedAt, listing.NewestStoredAt(repository.Backups[0].ArchiveStart));
            PgBackRestBackup backup;
            string target;
            switch (request.Target)
            {
                case RecoveryTargetKind.Backup:
                    backup = repository.Backups.FirstOrDefault(b => b.Label == request.BackupLabel)
                        ?? throw new PgBackRestException(PgBackRestErrorCodes.TargetOutOfRange, $"Repository {repository.Key} has no backup '{request.BackupLabel}'; it has {string.Join(", ", repository.Backups.Select(b => b.Label))}.");
                    target = $"end of backup {backup.Label}";
                    break;
                case RecoveryTargetKind.Time:
                    var time = request.TargetTime!.Value;
                    var newest = range.NewestWalStoredAt ?? repository.Backups[^1].StoppedAt;
                    if (time < range.OldestBackupEnd || time > newest)
                    {
                        problems.Add($"{time.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z is outside {range}");
                        continue;
                    }

                    backup = repository.Backups.Last(b => b.StoppedAt <= time);
                    target = $"time {time.UtcDateTime:yyyy-MM-dd HH:mm:ss.fff}Z";
                    break;
                default:
                    backup = repository.Backups[^1];
                    target = "latest";
                    break;
            }

            var gaps = listing.Gaps(backup.ArchiveStart, request.Target == RecoveryTargetKind.Backup ? backup.ArchiveStop : null);
            if (gaps.Count > 0)
            {
                problems.Add($"repository {repository.Key} lacks WAL segment{(gaps.Count > 1 ? "s" : string.Empty)} {string.Join(", ", gaps)} after backup {backup.Label} (replay would stop there, silently losing what came after)");
                continue;
            }

            return (repository, backup, target);
        }

        var code = problems.Any(p => p.Contains("lacks WAL", StringComparison.Ordinal)) ? PgBackRestErrorCodes.WalMissing : PgBackRestErrorCodes.TargetOutOfRange;
        throw new PgBackRestException(code, $"Refused to restore stanza '{request.Stanza}': {string.Join("; ", problems)}.{(unreadable.Count > 0 ? " Unreadable: " + string.Join("; ", unreadable.Select(r => $"repository {r.Key}: {r.Status}")) + "." : string.Empty)} Nothing was restored; no volume or container was created or changed.");
    }

    private async Task<WalArchiveListing> ListArchiveAsync(string helper, string stanza, PgBackRestRepository repository, string config, CancellationToken cancellationToken)
    {
        if (repository.ArchiveId is null)
            throw new PgBackRestException(PgBackRestErrorCodes.WalMissing, $"Repository {repository.Key} of stanza '{stanza}' holds no WAL archive.");
        var result = await RequirePgBackRestAsync(helper, stanza, [$"--repo={repository.Key}", "--recurse", "--output=json", "repo-ls", $"archive/{stanza}/{repository.ArchiveId}"], config, cancellationToken);
        return WalArchiveListing.Parse(result.StandardOutput);
    }

    private async Task<ExecResult> RequirePgBackRestAsync(string container, string stanza, IReadOnlyList<string> arguments, string config, CancellationToken cancellationToken)
    {
        var result = await PgBackRestAsync(container, stanza, arguments, TimeSpan.FromMinutes(5), cancellationToken, config);
        if (result.ExitCode != 0)
            throw Failed(arguments[^1] is { } last && !last.Contains('/', StringComparison.Ordinal) ? last : arguments[^2], container, result);
        return result;
    }

    // --- containers -------------------------------------------------------------------------------------------

    private async Task<(string Image, string RepositoryVolume, string Hint)> ResolveSourceAsync(PointInTimeRestoreRequest request, CancellationToken cancellationToken)
    {
        string? image = request.Image, volume = request.RepositoryVolume;
        if (request.SourceContainer is { Length: > 0 } source && (image is null || volume is null))
        {
            var inspected = await InspectAsync(source, cancellationToken);
            image ??= inspected.Config.Image;
            volume ??= RepositoryVolumeOf(inspected);
        }

        if (string.IsNullOrWhiteSpace(image) || string.IsNullOrWhiteSpace(volume))
            throw new PgBackRestException(PgBackRestErrorCodes.NotReady, "A restore needs the source container, or its image and the volume of its pgBackRest repository (Image and RepositoryVolume).");
        if (await docker.InspectVolumeAsync(volume, cancellationToken) is null)
            throw new PgBackRestException(PgBackRestErrorCodes.NotReady, $"The pgBackRest volume '{volume}' does not exist on {docker.Endpoint}.");
        var hint = new string((request.NameHint ?? request.SourceContainer ?? request.Stanza).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray());
        return (image, volume, hint);
    }

    /// <summary>
    /// Starts a helper container, recorded in the throwaway ledger before it exists: a crash from then on leaves a row
    /// naming it, and the janitor removes it. Disposing the lease removes it (a removal that fails is left to the janitor).
    /// </summary>
    private async Task<ThrowawayLease> StartHelperAsync(string name, string image, string repositoryVolume, string? dataVolume, CancellationToken cancellationToken)
    {
        var lease = await ledger.RecordAsync(ThrowawaySpec.DockerContainer(docker.Endpoint, name, $"pgBackRest helper container {name} ({image})"), ct => ThrowawayPostgresContainer.RemoveByNameAsync(client.Value, name, ct), cancellationToken);
        try
        {
            await CreateHelperAsync(name, image, repositoryVolume, dataVolume, cancellationToken);
        }
        catch
        {
            await lease.DisposeAsync();
            throw;
        }

        return lease;
    }

    private async Task CreateHelperAsync(string name, string image, string repositoryVolume, string? dataVolume, CancellationToken cancellationToken)
    {
        var binds = new List<string> { $"{repositoryVolume}:{Options.RepositoryMount}" };
        if (dataVolume is not null)
            binds.Add($"{dataVolume}:{Options.DataDirectory}");
        await CreateAndStartAsync(new CreateContainerParameters
        {
            Image = image,
            Name = name,
            Entrypoint = ["sh", "-c", "trap 'exit 0' TERM INT; sleep infinity & wait"],
            Labels = new Dictionary<string, string> { ["drworkflows.throwaway"] = "pitr-helper" },
            // It runs no server: the image's health check (pg_isready, every second in local/pg:15) would only cost an exec each time.
            Healthcheck = new HealthConfig { Test = ["NONE"] },
            HostConfig = new HostConfig { NetworkMode = "host", Binds = binds, Tmpfs = dataVolume is null ? new Dictionary<string, string> { [Options.DataDirectory] = string.Empty } : null },
        }, cancellationToken);
    }

    private async Task CreateServerAsync(string name, string image, string repositoryVolume, string dataVolume, int port, string hint, CancellationToken cancellationToken) =>
        await CreateAndStartAsync(new CreateContainerParameters
        {
            Image = image,
            Name = name,
            Env = [$"PGPORT={port}"],
            Cmd = ["-c", "listen_addresses=127.0.0.1", "-c", "archive_mode=off"],
            Labels = new Dictionary<string, string> { ["org.drworkflows.pitr-of"] = hint },
            HostConfig = new HostConfig
            {
                NetworkMode = "host",
                Init = true,
                Binds = [$"{dataVolume}:{Options.DataDirectory}", $"{repositoryVolume}:{Options.RepositoryMount}"],
            },
        }, cancellationToken);

    private async Task CreateAndStartAsync(CreateContainerParameters create, CancellationToken cancellationToken)
    {
        try
        {
            var id = (await client.Value.Containers.CreateContainerAsync(create, cancellationToken)).ID;
            await client.Value.Containers.StartContainerAsync(id, new ContainerStartParameters(), cancellationToken);
        }
        catch (DockerApiException ex)
        {
            await RemoveContainerAsync(create.Name);
            throw new PgBackRestException(PgBackRestErrorCodes.NotReady, $"Container {create.Name} ({create.Image}) could not be started on {docker.Endpoint}: {ex.Message}", ex);
        }
    }

    private async Task RemoveContainerAsync(string name)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await client.Value.Containers.RemoveContainerAsync(name, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, timeout.Token);
        }
        catch (DockerContainerNotFoundException)
        {
        }
        catch (Exception ex) when (ex is DockerApiException or HttpRequestException or IOException or OperationCanceledException)
        {
            Log.RemoveFailed(logger, name, ex.Message);
        }
    }

    private async Task RemoveVolumeQuietlyAsync(string volume)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await docker.RemoveVolumeAsync(volume, force: true, timeout.Token);
        }
        catch (Exception ex) when (ex is DockerOperationException or OperationCanceledException)
        {
            Log.RemoveFailed(logger, volume, ex.Message);
        }
    }

    private async Task<ContainerInspectResponse> InspectAsync(string container, CancellationToken cancellationToken)
    {
        try
        {
            return await client.Value.Containers.InspectContainerAsync(container, cancellationToken);
        }
        catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            throw new PgBackRestException(PgBackRestErrorCodes.NotReady, $"There is no container '{container}' on {docker.Endpoint}.", ex);
        }
    }

    private string RepositoryVolumeOf(ContainerInspectResponse container)
    {
        var mount = container.Mounts?.FirstOrDefault(m => m.Destination.TrimEnd('/') == Options.RepositoryMount.TrimEnd('/'));
        if (mount is null || mount.Type != "volume" || string.IsNullOrEmpty(mount.Name))
            throw new PgBackRestException(PgBackRestErrorCodes.NotReady,
                $"Container '{container.Name.TrimStart('/')}' has no named volume at {Options.RepositoryMount} (PgBackRest:RepositoryMount): add one in the Compose file (e.g. `pgbackrest:{Options.RepositoryMount}`), so that the configuration and the local repository survive the container and its data volume.");
        return mount.Name;
    }

    private static int PortOf(ContainerInspectResponse container)
    {
        var env = container.Config.Env?.LastOrDefault(e => e.StartsWith("PGPORT=", StringComparison.Ordinal));
        return env is not null && int.TryParse(env["PGPORT=".Length..], CultureInfo.InvariantCulture, out var port) ? port : 5432;
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    // --- configuration ----------------------------------------------------------------------------------------

    private IReadOnlyList<int> RepositoryKeys() => Options.S3.Enabled ? [1, 2] : [2];

    private string ArchiveCommand(string stanza) => $"pgbackrest --config={Options.ConfigPath} --stanza={stanza} archive-push %p";

    private async Task WriteConfigAsync(string container, string stanza, int port, CancellationToken cancellationToken, string? configPath = null)
    {
        var pass = Options.CipherPass;
        if (string.IsNullOrEmpty(pass))
            throw new PgBackRestException(PgBackRestErrorCodes.NotConfigured, "pgBackRest needs a repository key: set PgBackRest:CipherPass (environment PgBackRest__CipherPass), at least 16 characters.");
        var text = new StringBuilder();
        text.AppendLine("# Written by DrWorkflows (EnableArchiving); holds the repository key: mode 0600.").AppendLine("[global]");
        var s3 = Options.S3;
        if (s3.Enabled)
        {
            text.AppendLine("repo1-type=s3").AppendLine($"repo1-path={s3.Path}").AppendLine($"repo1-s3-bucket={s3.Bucket}")
                .AppendLine($"repo1-s3-endpoint={s3.Endpoint}").AppendLine($"repo1-storage-port={s3.Port}").AppendLine($"repo1-s3-region={s3.Region}")
                .AppendLine($"repo1-s3-key={s3.AccessKey}").AppendLine($"repo1-s3-key-secret={s3.SecretKey}").AppendLine($"repo1-s3-uri-style={s3.UriStyle}")
                .AppendLine($"repo1-storage-verify-tls={(s3.VerifyTls ? "y" : "n")}")
                .AppendLine("repo1-cipher-type=aes-256-cbc").AppendLine($"repo1-cipher-pass={pass}")
                .AppendLine($"repo1-retention-full={Options.RetentionFull}").AppendLine($"repo1-retention-diff={Options.RetentionDiff}")
                .AppendLine("repo1-bundle=y");
            if (s3.CaFile is { Length: > 0 } ca)
                text.AppendLine($"repo1-storage-ca-file={ca}");
        }

        text.AppendLine("repo2-type=posix").AppendLine($"repo2-path={Options.LocalRepositoryPath}")
            .AppendLine("repo2-cipher-type=aes-256-cbc").AppendLine($"repo2-cipher-pass={pass}")
            .AppendLine($"repo2-retention-full={Options.RetentionFull}").AppendLine($"repo2-retention-diff={Options.RetentionDiff}").AppendLine("repo2-bundle=y")
            .AppendLine("start-fast=y").AppendLine("compress-type=zst").AppendLine("log-level-console=info").AppendLine("log-level-file=off")
            .AppendLine($"[{stanza}]").AppendLine($"pg1-path={Options.DataDirectory}").AppendLine($"pg1-port={port}").AppendLine($"pg1-socket-path={Options.SocketDirectory}");
        // repoN-bundle: a cluster's many small files go into a few repository files, one S3 request each instead of one
        // per file (docs/activities/pgbackrest.md). Backups taken without it stay readable.
        // Through standard input only (the exec's command line is logged); written to a temporary name, then renamed.
        var path = configPath ?? Options.ConfigPath;
        var write = await docker.ExecAsync(container, ["sh", "-c", $"umask 077 && mkdir -p {Options.LocalRepositoryPath} && cat > {path}.tmp && mv {path}.tmp {path}"],
            new ExecOptions { User = Postgres, StandardInput = text.ToString(), Timeout = TimeSpan.FromMinutes(1) }, cancellationToken);
        if (write.ExitCode != 0)
            throw new PgBackRestException(PgBackRestErrorCodes.NotReady, $"Could not write {path} in container '{container}' as postgres (exit {write.ExitCode}): {LastLines(write.StandardError, 3)} (is {Options.RepositoryMount} a volume the postgres user can write?)");
    }

    // --- commands ---------------------------------------------------------------------------------------------

    private Task<ExecResult> PgBackRestAsync(string container, string stanza, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken, string? configPath = null) =>
        docker.ExecAsync(container, ["pgbackrest", $"--config={configPath ?? Options.ConfigPath}", $"--stanza={stanza}", .. arguments],
            new ExecOptions { User = Postgres, Timeout = timeout }, cancellationToken);

    private async Task RequireSuccessAsync(string container, IReadOnlyList<string> command, string what, TimeSpan timeout, CancellationToken cancellationToken, string? hint = null, string user = Postgres)
    {
        var result = await docker.ExecAsync(container, command, new ExecOptions { User = user, Timeout = timeout }, cancellationToken);
        if (result.ExitCode != 0)
            throw new PgBackRestException(PgBackRestErrorCodes.NotReady, $"{what} failed in container '{container}' (exit {result.ExitCode}): {LastLines(result.StandardError + result.StandardOutput, 3)}{(hint is null ? string.Empty : $" ({hint})")}");
    }

    private async Task<IReadOnlyList<string>> QueryAsync(string container, int port, string database, string sql, CancellationToken cancellationToken)
    {
        var result = await docker.ExecAsync(container, ["psql", "-h", Options.SocketDirectory, "-p", port.ToString(CultureInfo.InvariantCulture), "-U", Postgres, "-d", database, "-XtAq", "-v", "ON_ERROR_STOP=1", "-c", sql],
            new ExecOptions { User = Postgres, Timeout = TimeSpan.FromMinutes(30) }, cancellationToken);
        if (result.ExitCode != 0)
            throw new PgBackRestException(PgBackRestErrorCodes.CommandFailed, $"psql in container '{container}' failed (exit {result.ExitCode}): {LastLines(result.StandardError, 3)}");
        return result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    private Task SqlAsync(string container, int port, string database, string sql, CancellationToken cancellationToken) =>
        QueryAsync(container, port, database, sql, cancellationToken);

    private async Task<Dictionary<string, string>> SettingsAsync(string container, int port, IReadOnlyList<string> names, CancellationToken cancellationToken)
    {
        var list = string.Join(", ", names.Select(n => $"'{n}'"));
        var rows = await QueryAsync(container, port, "postgres", $"SELECT name || '=' || setting FROM pg_settings WHERE name IN ({list})", cancellationToken);
        return rows.Select(r => r.Split('=', 2)).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
    }

    private async Task WaitForSettingsAsync(string container, int port, IReadOnlyList<(string Name, string Value)> wanted, CancellationToken cancellationToken)
    {
        var deadline = clock.GetUtcNow() + TimeSpan.FromMinutes(2);
        while (true)
        {
            var now = await SettingsAsync(container, port, [.. wanted.Select(w => w.Name)], cancellationToken);
            var wrong = wanted.Where(w => now[w.Name] != w.Value).ToList();
            if (wrong.Count == 0)
                return;
            if (clock.GetUtcNow() > deadline)
                throw new PgBackRestException(PgBackRestErrorCodes.NotReady, $"Container '{container}' still runs with {string.Join(", ", wrong.Select(w => $"{w.Name}={now[w.Name]}"))} after the change (wanted {string.Join(", ", wrong.Select(w => $"{w.Name}={w.Value}"))}).");
            await Task.Delay(TimeSpan.FromMilliseconds(500), clock, cancellationToken);
        }
    }

    private async Task WaitAcceptingAsync(string container, int port, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = clock.GetUtcNow() + timeout;
        string last = string.Empty;
        while (clock.GetUtcNow() < deadline)
        {
            try
            {
                var ready = await docker.ExecAsync(container, ["pg_isready", "-q", "-h", Options.SocketDirectory, "-p", port.ToString(CultureInfo.InvariantCulture)],
                    new ExecOptions { User = Postgres, Timeout = TimeSpan.FromSeconds(30) }, cancellationToken);
                if (ready.ExitCode == 0)
                    return;
                last = $"pg_isready exit {ready.ExitCode}";
            }
            catch (DockerOperationException ex)
            {
                last = ex.Message;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), clock, cancellationToken);
        }

        throw new PgBackRestException(PgBackRestErrorCodes.NotReady, $"PostgreSQL in container '{container}' did not accept connections within {timeout.TotalSeconds:0} s ({last}).");
    }

    /// <summary>Until the server accepts connections and is out of recovery; a container that stops is a failed recovery, with its log.</summary>
    private async Task WaitForRecoveryEndAsync(string container, int port, CancellationToken cancellationToken)
    {
        var deadline = clock.GetUtcNow() + Options.RecoveryTimeout;
        var last = string.Empty;
        while (clock.GetUtcNow() < deadline)
        {
            var state = await client.Value.Containers.InspectContainerAsync(container, cancellationToken);
            if (!state.State.Running)
            {
                var log = await docker.CaptureLogsAsync(container, new LogCaptureRequest { Tail = 15 }, cancellationToken);
                throw new PgBackRestException(PgBackRestErrorCodes.RecoveryFailed, $"The restored server '{container}' stopped during recovery (exit {state.State.ExitCode}): {LastLines(log.Text ?? string.Empty, 6)}");
            }

            var probe = await docker.ExecAsync(container, ["psql", "-h", Options.SocketDirectory, "-p", port.ToString(CultureInfo.InvariantCulture), "-U", Postgres, "-XtAq", "-c", "SELECT pg_is_in_recovery()"],
                new ExecOptions { User = Postgres, Timeout = TimeSpan.FromSeconds(30) }, cancellationToken);
            if (probe.ExitCode == 0 && probe.StandardOutput.Trim() == "f")
                return;
            last = probe.ExitCode == 0 ? "still in recovery" : LastLines(probe.StandardError, 1);
            await Task.Delay(TimeSpan.FromSeconds(1), clock, cancellationToken);
        }

        throw new PgBackRestException(PgBackRestErrorCodes.RecoveryFailed, $"The restored server '{container}' did not finish recovery within {Options.RecoveryTimeout} (PgBackRest:RecoveryTimeout): {last}.");
    }

    private async Task<IReadOnlyList<RestoredDatabase>> ReadEveryDatabaseAsync(string container, int port, CancellationToken cancellationToken)
    {
        var databases = await QueryAsync(container, port, "postgres", "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1", cancellationToken);
        var result = new List<RestoredDatabase>();
        foreach (var database in databases)
        {
            // Every user table read in full (a damaged page or a missing file fails the read), and its rows counted.
            const string sql = """
                DO $$ DECLARE t record; n bigint; total bigint := 0; tables int := 0;
                BEGIN
                  FOR t IN SELECT c.oid::regclass AS rel FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
                            WHERE c.relkind IN ('r', 'm') AND s.nspname NOT IN ('pg_catalog', 'information_schema') AND s.nspname NOT LIKE 'pg_toast%' LOOP
                    EXECUTE format('SELECT count(*) FROM %s', t.rel) INTO n; total := total + n; tables := tables + 1;
                  END LOOP;
                  RAISE NOTICE 'drw-read % %', tables, total;
                END $$;
                """;
            var read = await docker.ExecAsync(container, ["psql", "-h", Options.SocketDirectory, "-p", port.ToString(CultureInfo.InvariantCulture), "-U", Postgres, "-d", database, "-XtAq", "-v", "ON_ERROR_STOP=1", "-c", sql],
                new ExecOptions { User = Postgres, Timeout = TimeSpan.FromHours(1) }, cancellationToken);
            var notice = read.StandardError.Split('\n').FirstOrDefault(l => l.Contains("drw-read ", StringComparison.Ordinal));
            if (read.ExitCode != 0 || notice is null)
                throw new PgBackRestException(PgBackRestErrorCodes.IntegrityFailed, $"Database '{database}' of the restored server '{container}' could not be read in full: {LastLines(read.StandardError, 3)}");
            var parts = notice[(notice.IndexOf("drw-read ", StringComparison.Ordinal) + 9)..].Split(' ');
            result.Add(new RestoredDatabase(database, int.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture)));
        }

        return result;
    }

    private static PgBackRestException Failed(string command, string container, ExecResult result) =>
        new(PgBackRestErrorCodes.CommandFailed, $"pgbackrest {command} failed in container '{container}' (exit {result.ExitCode}): {LastLines(ErrorLines(result), 4)}");

    private static string ErrorLines(ExecResult result)
    {
        var all = (result.StandardError + "\n" + result.StandardOutput).Split('\n');
        var errors = all.Where(l => l.Contains("ERROR", StringComparison.Ordinal) || l.Contains("HINT", StringComparison.Ordinal) || l.Contains("WARN", StringComparison.Ordinal)).ToList();
        return string.Join('\n', errors.Count > 0 ? errors : all);
    }

    private static string LastLines(string text, int count) =>
        string.Join(" | ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(count));

    private static void CheckStanzaName(string stanza)
    {
        if (string.IsNullOrEmpty(stanza) || stanza.Length > 64 || !stanza.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            throw new PgBackRestException(PgBackRestErrorCodes.NoStanza, $"'{stanza}' is not a stanza name (letters, digits, - and _).");
    }
}
