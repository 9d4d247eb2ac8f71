using System.Diagnostics;
using Docker.DotNet;
using Docker.DotNet.Models;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.PgBackRest;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using static DrWorkflows.Workflows.Tests.DatabaseContainerFailureRealTests;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// Point-in-time recovery with pgBackRest on real parts (issue 12): the sample platform's PostgreSQL (local/pg:15
/// carries pgbackrest) on the private dockerd, its repositories on the HTTPS s3rver (repo1, self-signed certificate)
/// and on the project's <c>pgbackrest</c> volume (repo2), both encrypted. A canary table gets a row every ~100 ms
/// while WAL is archived; the data volume is destroyed; restores go to fresh volumes and containers.
/// </summary>
/// <remarks>
/// Two platforms, not three: the refusals (wrong key, deleted WAL segment, target before the oldest backup) run on the
/// verification test's platform, whose local repository already lacks a segment. The archive-while-writing test keeps
/// repo2 only: backing up, archiving and restoring through the s3rver took most of its time, and restores from repo1
/// (S3) are proven by the verification here and by the scenario tests (to latest in
/// <c>HostFailoverPointInTimeRealTests</c>, to a time in <c>RansomwarePointInTimeRealTests</c>).
/// </remarks>
[TypicalDuration(740)]
public sealed class PointInTimeRecoveryRealTests(ITestOutputHelper output)
{
    internal const string Key = "test-repository-key-0123456789";
    private const int ArchiveTimeoutSeconds = 5;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Archived_while_writing_then_the_volume_destroyed_restores_to_latest_with_every_row_older_than_archive_timeout_and_to_a_time_without_the_rows_after_it()
    {
        var s3 = TestServices.RequireS3Tls();
        await using var platform = SamplePlatform.Create();
        // The local repository (repo2) only: see the remarks on the class.
        await using var services = Services(platform, s3, Key, PgBackRestTestPlatform.LocalRepositoryOnly);
        var compose = services.GetRequiredService<IComposeService>();
        var docker = services.GetRequiredService<IDockerService>();
        var pgbackrest = services.GetRequiredService<IPgBackRest>();
        await RequireComposeAsync(compose);
        using var client = new DockerClientConfiguration(platform.DockerEndpoint).CreateClient();
        var clock = Stopwatch.StartNew();
        try
        {
            await platform.UpAndSeedAsync(compose, docker, customers: 20, Ct);
            var enabled = await pgbackrest.EnableArchivingAsync(platform.PostgresContainer, "shop", Ct);
            output.WriteLine($"[{clock.Elapsed:mm\\:ss}] archiving on: {string.Join(", ", enabled.Changes.Select(c => $"{c.Name}: {c.Before} -> {c.After}"))}; restarted {enabled.Restarted}");
            Assert.Contains(enabled.Changes, c => c is { Name: "archive_mode", Before: "off", After: "on" });
            Assert.Contains(enabled.Changes, c => c.Name == "archive_command" && c.After.Contains("archive-push", StringComparison.Ordinal));
            Assert.True(enabled.Restarted);
            Assert.Equal([2], enabled.Repositories);
            await platform.WaitForServerAsync(TimeSpan.FromSeconds(240), Ct);
            Assert.Equal("on", await platform.ScalarAsync<string>("postgres", "SHOW archive_mode", Ct));
            Assert.Equal(ArchiveTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), await platform.ScalarAsync<string>("postgres", "SELECT setting FROM pg_settings WHERE name = 'archive_timeout'", Ct));

            // A second run changes nothing and needs no restart.
            var again = await pgbackrest.EnableArchivingAsync(platform.PostgresContainer, "shop", Ct);
            Assert.Empty(again.Changes);
            Assert.False(again.Restarted);

            var full = await pgbackrest.BackupAsync(platform.PostgresContainer, "shop", "full", Ct);
            Assert.Equal([2], full.Backups.Select(b => b.Repository));
            Assert.All(full.Backups, b => Assert.Equal("full", b.Type));
            var info = await pgbackrest.InfoAsync(platform.PostgresContainer, "shop", Ct);
            Assert.Equal("aes-256-cbc", Assert.Single(info.Repositories).Cipher);
            output.WriteLine($"[{clock.Elapsed:mm\\:ss}] full backup {string.Join(", ", full.Backups.Select(b => $"repo{b.Repository} {b.Label} {b.RepositoryBytes} B"))}");

            // Writing: a canary row every ~100 ms, with a 3 s pause in the middle where the time target T lies.
            await platform.ExecuteAsync(SamplePlatform.Database, "CREATE TABLE canary (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())", Ct);
            await WriteCanariesAsync(platform, 40);
            await Task.Delay(TimeSpan.FromSeconds(1.5), Ct);
            var target = await platform.ScalarAsync<DateTime>("postgres", "SELECT clock_timestamp()", Ct);
            await Task.Delay(TimeSpan.FromSeconds(1.5), Ct);
            await WriteCanariesAsync(platform, 40);
            var writeUntil = Stopwatch.StartNew();
            while (writeUntil.Elapsed < TimeSpan.FromSeconds(3 * ArchiveTimeoutSeconds))
                await WriteCanariesAsync(platform, 5);

            // The failure: every row committed more than archive_timeout before it must come back. Under load the
            // archiver may lag behind archive_timeout: wait (generously) until it shipped the WAL of those rows.
            var failedAt = await platform.ScalarAsync<DateTime>("postgres", "SELECT clock_timestamp()", Ct);
            var cutoff = failedAt - TimeSpan.FromSeconds(ArchiveTimeoutSeconds);
            var mustSurvive = await CanariesAsync(platform.ConnectionString(SamplePlatform.Database), cutoff);
            var allWritten = await CanariesAsync(platform.ConnectionString(SamplePlatform.Database), DateTime.MaxValue);
            Assert.True(mustSurvive.Count >= 80, $"only {mustSurvive.Count} canaries before the cutoff");
            // No switch: archive_timeout closes the segment; the wait is how long the archiver took to ship it.
            var lag = await PgBackRestTestPlatform.WaitForArchivedAsync(platform, switchWal: false, Ct);
            output.WriteLine($"[{clock.Elapsed:mm\\:ss}] {allWritten.Count} canaries written, {mustSurvive.Count} more than {ArchiveTimeoutSeconds} s before the failure; the archiver shipped all of their WAL {lag.TotalSeconds:0.0} s after the failure");

            // The data volume destroyed (the container killed and removed first).
            await client.Containers.RemoveContainerAsync(platform.PostgresContainer, new ContainerRemoveParameters { Force = true }, Ct);
            await client.Volumes.RemoveAsync(platform.PostgresVolume, true, Ct);
            Assert.Null(await docker.InspectVolumeAsync(platform.PostgresVolume, Ct));

            var latest = await pgbackrest.RestoreAsync(new PointInTimeRestoreRequest
            {
                Stanza = "shop", Image = SamplePlatform.PostgresImage, RepositoryVolume = $"{platform.Project}_pgbackrest", NameHint = platform.PostgresContainer,
            }, Ct);
            output.WriteLine($"[{clock.Elapsed:mm\\:ss}] latest: {latest.Container} on {latest.Port} from repo{latest.Repository} {latest.BackupLabel}, last commit replayed {latest.LastReplayedCommitAt:O}, restore {latest.RestoreSeconds:0.0} s, recovery {latest.RecoverySeconds:0.0} s");
            Assert.Equal(2, latest.Repository);
            var restored = await CanariesAsync(Restored(platform, latest.Port), DateTime.MaxValue);
            Assert.Empty(mustSurvive.Except(restored));
            Assert.Subset(allWritten.ToHashSet(), restored.ToHashSet());
            Assert.Equal(20, await CountAsync(Restored(platform, latest.Port), "SELECT count(*) FROM customers"));
            Assert.Equal(40, await CountAsync(Restored(platform, latest.Port), "SELECT count(*) FROM orders"));
            // The reported recovery point is measured: the newest canary restored was committed at or before it.
            var newestRestored = await HostFailoverRealTests.ScalarAsync<DateTime>(Restored(platform, latest.Port), "SELECT max(at) FROM canary");
            Assert.NotNull(latest.LastReplayedCommitAt);
            Assert.True(latest.LastReplayedCommitAt!.Value.UtcDateTime >= newestRestored, $"{latest.LastReplayedCommitAt:O} < {newestRestored:O}");
            Assert.Contains(latest.Databases, d => d.Name == SamplePlatform.Database && d.Tables == 3 && d.Rows == 20 + 40 + restored.Count);

            var atTime = await pgbackrest.RestoreAsync(new PointInTimeRestoreRequest
            {
                Stanza = "shop", Target = RecoveryTargetKind.Time, TargetTime = new DateTimeOffset(target, TimeSpan.Zero),
                Image = SamplePlatform.PostgresImage, RepositoryVolume = $"{platform.Project}_pgbackrest", NameHint = platform.PostgresContainer, Repository = 2,
            }, Ct);
            output.WriteLine($"[{clock.Elapsed:mm\\:ss}] time {target:O}: {atTime.Container}, last commit replayed {atTime.LastReplayedCommitAt:O}");
            var beforeTarget = allWritten.Where(c => c.At <= target).ToList();
            var afterTarget = allWritten.Where(c => c.At > target).ToList();
            Assert.Equal(40, beforeTarget.Count);
            var restoredAtTime = await CanariesAsync(Restored(platform, atTime.Port), DateTime.MaxValue);
            Assert.Equal(beforeTarget.Select(c => c.Id).Order(), restoredAtTime.Select(c => c.Id).Order());
            Assert.Empty(afterTarget.Intersect(restoredAtTime));
            Assert.True(atTime.LastReplayedCommitAt!.Value.UtcDateTime <= target, $"{atTime.LastReplayedCommitAt:O} > {target:O}");
            Assert.Equal(2, atTime.Repository);

            // Each restore's two helper containers (check, restore) were in the throwaway ledger before they existed, and
            // were removed and released: a crash mid-restore would have left rows naming them for the janitor.
            var ledger = await services.GetRequiredService<DrWorkflows.Core.Persistence.IThrowawayResourceStore>().ListAsync(new DrWorkflows.Core.Persistence.ThrowawayQuery(Take: 100), Ct);
            var helpers = ledger.Where(r => r.Name.Contains("-pitr-check-", StringComparison.Ordinal) || r.Name.Contains("-pitr-restore-", StringComparison.Ordinal)).ToList();
            Assert.Equal(4, helpers.Count);
            Assert.All(helpers, r => Assert.Equal(DrWorkflows.Core.Persistence.ThrowawayState.Released, r.State));
            Assert.Empty(await PitrHelpersAsync(client, platform));
        }
        finally
        {
            await RemovePitrAsync(client, platform);
            await SamplePlatform.DownAsync(compose, output);
        }
    }

    [Fact]
    public async Task Verification_restores_each_repository_into_throwaways_a_deleted_WAL_segment_fails_it_and_refuses_a_restore_as_do_a_wrong_key_and_a_target_before_the_oldest_backup_and_a_failing_archive_command_is_measured()
    {
        var s3 = TestServices.RequireS3Tls();
        await using var platform = SamplePlatform.Create();
        await using var services = Services(platform, s3, Key);
        await using var wrongKey = Services(platform, s3, "not-the-repository-key-9876543210");
        var compose = services.GetRequiredService<IComposeService>();
        var docker = services.GetRequiredService<IDockerService>();
        var pgbackrest = services.GetRequiredService<IPgBackRest>();
        var archiving = services.GetRequiredService<IWalArchiveStatus>();
        await RequireComposeAsync(compose);
        using var client = new DockerClientConfiguration(platform.DockerEndpoint).CreateClient();
        var prefix = $"{platform.PostgresContainer}-verify";
        try
        {
            await platform.UpAndSeedAsync(compose, docker, customers: 10, Ct);
            await pgbackrest.EnableArchivingAsync(platform.PostgresContainer, "shop", Ct);
            await platform.WaitForServerAsync(TimeSpan.FromSeconds(240), Ct);
            var full = await pgbackrest.BackupAsync(platform.PostgresContainer, "shop", "full", Ct);
            var start = full.Backups.Single(b => b.Repository == 2).ArchiveStart;
            await platform.ExecuteAsync(SamplePlatform.Database, "CREATE TABLE canary (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())", Ct);
            // Several segments archived after the backup, so that the one deleted below leaves a gap inside the chain.
            await ArchiveUntilAsync(platform, WalArchiveListing.Next(WalArchiveListing.Next(WalArchiveListing.Next(start))));

            // The archiver as the server reports it: working, with the archive_timeout it runs.
            var healthy = Assert.Single(await archiving.MeasureAsync(Ct));
            Assert.Null(healthy.Unreadable);
            Assert.False(healthy.Failing);
            Assert.Equal(TimeSpan.FromSeconds(ArchiveTimeoutSeconds), healthy.Statistics!.ArchiveTimeout);
            Assert.NotNull(healthy.Statistics.LastArchivedAt);
            Assert.NotNull(healthy.Exposure);
            output.WriteLine($"archiver: last {healthy.Statistics.LastArchivedWal} at {healthy.Statistics.LastArchivedAt:O}, exposure {healthy.Exposure}, unarchived {healthy.Statistics.UnarchivedBytes} B");

            // Both repositories verified: the newest backup plus WAL restored into throwaways, read in full, recorded on the backup.
            var verified = await pgbackrest.VerifyAsync(platform.PostgresContainer, "shop", Ct);
            foreach (var r in verified.Repositories)
                output.WriteLine($"repo{r.Repository} {r.BackupLabel}: {(r.Succeeded ? "ok" : r.Error)} in {r.Seconds:0.0} s, last commit {r.LastReplayedCommitAt:O}, recorded: {r.Recorded ?? "yes"}");
            Assert.True(verified.Succeeded);
            Assert.Equal([1, 2], verified.Repositories.Select(r => r.Repository));
            Assert.All(verified.Repositories, r => Assert.Contains(r.Databases, d => d.Name == SamplePlatform.Database && d.Rows >= 10 + 20));
            var info = await pgbackrest.InfoAsync(platform.PostgresContainer, "shop", Ct);
            Assert.All(info.Repositories, r => Assert.Equal("ok", r.Backups[^1].Annotations["drw-last-verify-result"]));
            var verifiedAt = info.Repositories.Single(r => r.Key == 2).Backups[^1].Annotations["drw-verified-at"];

            // The throwaways (per repository: check and restore helpers, the volume, the server) were in the ledger and are gone.
            var ledger = await services.GetRequiredService<DrWorkflows.Core.Persistence.IThrowawayResourceStore>().ListAsync(new DrWorkflows.Core.Persistence.ThrowawayQuery(Take: 100), Ct);
            var throwaways = ledger.Where(r => r.Name.StartsWith(prefix, StringComparison.Ordinal)).ToList();
            Assert.Equal(8, throwaways.Count);
            Assert.Equal(2, throwaways.Count(r => r.Kind == DrWorkflows.Activities.Throwaway.ThrowawayKinds.DockerVolume));
            Assert.All(throwaways, r => Assert.Equal(DrWorkflows.Core.Persistence.ThrowawayState.Released, r.State));
            Assert.Empty(await ContainersNamedAsync(client, prefix));
            Assert.DoesNotContain(await VolumeNamesAsync(client), v => v.StartsWith(prefix, StringComparison.Ordinal));

            // A WAL segment deleted from the local repository: its verification fails with the gap; the S3 one still passes.
            var gap = WalArchiveListing.Next(start);
            await SamplePlatform.OnVolumeAsync(client, $"{platform.Project}_pgbackrest", $"ls /data/repo/archive/shop/*/*/{gap}-* && rm /data/repo/archive/shop/*/*/{gap}-*", Ct);
            var broken = await pgbackrest.VerifyAsync(platform.PostgresContainer, "shop", Ct);
            output.WriteLine($"broken: {string.Join("; ", broken.Repositories.Select(r => $"repo{r.Repository}: {r.Error ?? "ok"}"))}");
            Assert.False(broken.Succeeded);
            Assert.True(broken.Repositories.Single(r => r.Repository == 1).Succeeded);
            var local = broken.Repositories.Single(r => r.Repository == 2);
            Assert.False(local.Succeeded);
            Assert.Contains(gap, local.Error, StringComparison.Ordinal);
            var localBackup = (await pgbackrest.InfoAsync(platform.PostgresContainer, "shop", Ct)).Repositories.Single(r => r.Key == 2).Backups[^1];
            Assert.StartsWith("failed: ", localBackup.Annotations["drw-last-verify-result"], StringComparison.Ordinal);
            Assert.Equal(verifiedAt, localBackup.Annotations["drw-verified-at"]); // the last success stays what it was
            Assert.Empty(await ContainersNamedAsync(client, prefix));

            // Restores refused before anything is created: the old volume and server stay as they are.
            var volumesBefore = await VolumeNamesAsync(client, platform);
            var data = await client.Volumes.InspectAsync(platform.PostgresVolume, Ct);
            var rows = await platform.CountAsync("canary", Ct);

            // The wrong key: info cannot decrypt any repository.
            var refused = await Assert.ThrowsAsync<PgBackRestException>(() => wrongKey.GetRequiredService<IPgBackRest>().RestoreAsync(new PointInTimeRestoreRequest
            {
                Stanza = "shop", SourceContainer = platform.PostgresContainer,
            }, Ct));
            output.WriteLine($"wrong key: {refused.Message}");
            Assert.Equal(PgBackRestErrorCodes.RepositoryUnreadable, refused.Code);
            Assert.Contains("PgBackRest:CipherPass", refused.Message, StringComparison.Ordinal);

            // The segment deleted from the local repository: the chain has a gap, the restore from it is refused.
            var missing = await Assert.ThrowsAsync<PgBackRestException>(() => pgbackrest.RestoreAsync(new PointInTimeRestoreRequest
            {
                Stanza = "shop", SourceContainer = platform.PostgresContainer, Repository = 2,
            }, Ct));
            output.WriteLine($"missing WAL: {missing.Message}");
            Assert.Equal(PgBackRestErrorCodes.WalMissing, missing.Code);
            Assert.Contains(gap, missing.Message, StringComparison.Ordinal);

            // A target before the oldest backup is refused with the range.
            var early = await Assert.ThrowsAsync<PgBackRestException>(() => pgbackrest.RestoreAsync(new PointInTimeRestoreRequest
            {
                Stanza = "shop", SourceContainer = platform.PostgresContainer, Repository = 1, Target = RecoveryTargetKind.Time, TargetTime = full.Backups[0].StartedAt.AddHours(-1),
            }, Ct));
            output.WriteLine($"too early: {early.Message}");
            Assert.Equal(PgBackRestErrorCodes.TargetOutOfRange, early.Code);
            Assert.Contains("end of the oldest backup", early.Message, StringComparison.Ordinal);

            // Nothing was created, and the old volume and server are as they were.
            Assert.Equal(volumesBefore, await VolumeNamesAsync(client, platform));
            Assert.Empty(await PitrContainersAsync(client, platform));
            var dataAfter = await client.Volumes.InspectAsync(platform.PostgresVolume, Ct);
            Assert.Equal(data.CreatedAt, dataAfter.CreatedAt);
            Assert.Equal(rows, await platform.CountAsync("canary", Ct));
            Assert.Equal("running", (await docker.InspectContainerAsync(platform.PostgresContainer, Ct)).State);

            // archive_command failing: measured as failing, with the reason, within a few archive intervals.
            await platform.ExecuteAsync("postgres", "ALTER SYSTEM SET archive_command = 'false'", Ct);
            await platform.ExecuteAsync("postgres", "SELECT pg_reload_conf()", Ct);
            var waited = Stopwatch.StartNew();
            WalArchiveState failing;
            while (true)
            {
                await platform.ExecuteAsync(SamplePlatform.Database, "INSERT INTO canary DEFAULT VALUES; SELECT pg_switch_wal();", Ct);
                failing = Assert.Single(await archiving.MeasureAsync(Ct));
                if (failing.Failing == true)
                    break;
                Assert.True(waited.Elapsed < TimeSpan.FromMinutes(3), "archive_command = false was not measured as failing within 3 minutes");
                await Task.Delay(TimeSpan.FromSeconds(1), Ct);
            }

            output.WriteLine($"failing after {waited.Elapsed.TotalSeconds:0} s: {failing.Problem(archiving.AllowedLag)}");
            Assert.Contains("archive_command fails on", failing.Problem(archiving.AllowedLag), StringComparison.Ordinal);
            Assert.True(failing.Statistics!.UnarchivedBytes > 0);
        }
        finally
        {
            foreach (var container in await ContainersNamedAsync(client, prefix))
                await client.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, CancellationToken.None);
            foreach (var volume in (await VolumeNamesAsync(client)).Where(v => v.StartsWith(prefix, StringComparison.Ordinal)))
                await client.Volumes.RemoveAsync(volume, true, CancellationToken.None);
            await RemovePitrAsync(client, platform);
            await SamplePlatform.DownAsync(compose, output);
        }
    }

    private static async Task ArchiveUntilAsync(SamplePlatform platform, string wanted)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            await platform.ExecuteAsync(SamplePlatform.Database, "INSERT INTO canary DEFAULT VALUES; SELECT pg_switch_wal();", Ct);
            var archived = await platform.ScalarAsync<string>("postgres", "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver", Ct);
            if (string.CompareOrdinal(archived, wanted) >= 0)
                return;
            Assert.True(waited.Elapsed < TimeSpan.FromMinutes(3), $"the archiver reached only {archived}, not {wanted}, in 3 minutes");
            await Task.Delay(TimeSpan.FromMilliseconds(500), Ct);
        }
    }

    private static async Task<IList<ContainerListResponse>> ContainersNamedAsync(DockerClient client, string prefix) =>
        await client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["name"] = new Dictionary<string, bool> { [prefix] = true } },
        }, Ct);

    /// <summary>The real pgBackRest service on the sample platform, repo1 on the harness's HTTPS s3rver; <paramref name="configure"/> may change more options.</summary>
    internal static ServiceProvider Services(SamplePlatform platform, Uri s3, string key, Action<PgBackRestOptions>? configure = null, int archiveTimeoutSeconds = ArchiveTimeoutSeconds) =>
        new ServiceCollection().AddLogging().AddDockerActivities(platform.Configure).AddPgBackRest(o =>
        {
            o.CipherPass = key;
            o.ArchiveTimeoutSeconds = archiveTimeoutSeconds;
            o.RecoveryTimeout = TimeSpan.FromMinutes(10);
            o.S3.Bucket = "pgbackrest";
            o.S3.Endpoint = s3.Host;
            o.S3.Port = s3.Port;
            o.S3.AccessKey = "S3RVER";
            o.S3.SecretKey = "S3RVER";
            o.S3.UriStyle = "path";
            o.S3.VerifyTls = false; // the harness's self-signed certificate
            o.S3.Path = "/" + platform.Project;
            o.Archiving["postgres-main"] = new ArchivedDatabase { Container = platform.PostgresContainer, Stanza = "shop" };
            configure?.Invoke(o);
        }).BuildServiceProvider();

    private sealed record Canary(int Id, DateTime At);

    private static async Task WriteCanariesAsync(SamplePlatform platform, int count)
    {
        for (var i = 0; i < count; i++)
        {
            await platform.ExecuteAsync(SamplePlatform.Database, "INSERT INTO canary DEFAULT VALUES", Ct);
            await Task.Delay(TimeSpan.FromMilliseconds(100), Ct);
        }
    }

    private static async Task<List<Canary>> CanariesAsync(string connectionString, DateTime before)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(before == DateTime.MaxValue ? "SELECT id, at FROM canary ORDER BY id" : "SELECT id, at FROM canary WHERE at < @before ORDER BY id", connection);
        if (before != DateTime.MaxValue)
            command.Parameters.AddWithValue("before", DateTime.SpecifyKind(before, DateTimeKind.Utc));
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var result = new List<Canary>();
        while (await reader.ReadAsync(Ct))
            result.Add(new Canary(reader.GetInt32(0), reader.GetDateTime(1)));
        return result;
    }

    private static string Restored(SamplePlatform platform, int port) =>
        new NpgsqlConnectionStringBuilder(platform.ConnectionString(SamplePlatform.Database)) { Port = port }.ConnectionString;

    private static Task<long> CountAsync(string connectionString, string sql) => HostFailoverRealTests.ScalarAsync<long>(connectionString, sql);

    private static async Task<List<string>> VolumeNamesAsync(DockerClient client) =>
        [.. ((await client.Volumes.ListAsync(Ct)).Volumes ?? []).Select(v => v.Name).Order(StringComparer.Ordinal)];

    /// <summary>
    /// The engine's volumes that carry this platform's project name: its own (<c>drwe-XXXXXXXX_…</c>) and every one a
    /// restore of it makes (named after its PostgreSQL container, <c>drwe-XXXXXXXX-postgres-1-pitr-…</c>) or keeps aside
    /// (<c>replaced-drwe-XXXXXXXX_…</c>). The real tests of other classes share the engine and run at the same time: a
    /// scenario 2 test brought its platforms up between two listings once, and kept a replaced volume aside once.
    /// </summary>
    private static async Task<List<string>> VolumeNamesAsync(DockerClient client, SamplePlatform platform) =>
        [.. (await VolumeNamesAsync(client)).Where(v => v.Contains(platform.Project, StringComparison.Ordinal))];

    internal static async Task<IList<ContainerListResponse>> PitrContainersAsync(DockerClient client, SamplePlatform platform) =>
        await client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["name"] = new Dictionary<string, bool> { [$"{platform.PostgresContainer}-pitr"] = true } },
        }, Ct);

    /// <summary>
    /// This platform's pgBackRest helper containers (named after its PostgreSQL container): other real tests share the
    /// dockerd and may have their own helpers running at the same moment.
    /// </summary>
    private static async Task<IList<ContainerListResponse>> PitrHelpersAsync(DockerClient client, SamplePlatform platform) =>
        (await client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { ["drworkflows.throwaway=pitr-helper"] = true } },
        }, Ct)).Where(c => c.Names.Any(n => n.TrimStart('/').StartsWith($"{platform.PostgresContainer}-pitr-", StringComparison.Ordinal))).ToList();

    /// <summary>Removes what the restores created: containers and volumes named after the source container.</summary>
    internal static async Task RemovePitrAsync(DockerClient client, SamplePlatform platform)
    {
        foreach (var container in await PitrContainersAsync(client, platform))
            await client.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, CancellationToken.None);
        foreach (var volume in ((await client.Volumes.ListAsync(CancellationToken.None)).Volumes ?? []).Where(v => v.Name.StartsWith($"{platform.PostgresContainer}-pitr", StringComparison.Ordinal)))
            await client.Volumes.RemoveAsync(volume.Name, true, CancellationToken.None);
    }
}
