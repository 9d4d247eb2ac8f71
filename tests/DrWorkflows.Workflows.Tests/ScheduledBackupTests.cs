using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Drills;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Workflows.Tests.Fakes;

namespace DrWorkflows.Workflows.Tests;

/// <summary>The scheduled backup and verification workflows (JSON) on the real runtime and the real backup catalog.</summary>
public sealed class ScheduledBackupTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 20, 5, 50, 0, TimeSpan.Zero);

    [Fact]
    public async Task The_postgres_backup_runs_every_6_hours_to_both_stores_and_applies_retention()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        var expired = await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "lastweek", "local", "ecommerce_db", DrTestHost.Ct, Now.AddDays(-8));

        await dr.AdvanceAsync(TimeSpan.FromMinutes(10)); // 06:00 UTC

        var run = Assert.Single(await RunsAsync(dr, "backup-postgres"));
        Assert.Equal(WorkflowSubStatus.Finished, run.SubStatus);
        Assert.Equal("schedule:0 */6 * * *", run.StartedBy);
        // One read of each database: the same set goes to both stores at once (3-2-1).
        Assert.Equal(
            ["postgres.backup main/ecommerce_db -> local,s3", "postgres.backup ai/ai_db -> local,s3", "postgres.backup-globals main -> local,s3"],
            dr.Calls.Of("postgres.backup"));
        foreach (var store in new[] { "local", "s3" })
        {
            Assert.Single(await dr.Catalog.ListAsync(store, BackupKinds.Postgres, "ai_db", DrTestHost.Ct));
            Assert.Single(await dr.Catalog.ListAsync(store, BackupKinds.Globals, "main", DrTestHost.Ct));
        }

        Assert.Equal(["local", "s3"], run.Output["StoredIn"]!["ecommerce_db"]!.AsArray().Select(s => s!.ToString()));
        Assert.Empty(run.Output["Problems"]!.AsArray());
        Assert.Empty(dr.Comms.Emails);

        // Retention removed the set older than the local store's 7 days, never the newest one.
        var main = await dr.Catalog.ListAsync("local", BackupKinds.Postgres, "ecommerce_db", DrTestHost.Ct);
        Assert.DoesNotContain(main, s => s.Id == expired.Id);
        Assert.Single(main);

        await dr.AdvanceAsync(TimeSpan.FromHours(6));
        Assert.Equal(2, (await RunsAsync(dr, "backup-postgres")).Count);
    }

    [Fact]
    public async Task The_new_sets_are_copied_to_the_offsite_store_and_an_unreachable_offsite_store_stops_the_run_at_an_incident()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        var offsite = ((MemoryBackupStores)dr.Get<DrWorkflows.Activities.Storage.IBackupStoreProvider>()).Add("offsite");

        var first = await dr.RunAsync("backup-postgres");
        Assert.Equal(WorkflowSubStatus.Finished, first.SubStatus);
        Assert.Equal(CopyToOffsite.Copied, await dr.OutcomeAsync(first.Id, "copyToOffsite"));
        Assert.Contains("retentionOffsite", await dr.CompletedAsync(first.Id));
        foreach (var (kind, source) in new[] { (BackupKinds.Postgres, "ecommerce_db"), (BackupKinds.Postgres, "ai_db"), (BackupKinds.Globals, "main") })
        {
            var local = Assert.Single(await dr.Catalog.ListAsync("local", kind, source, DrTestHost.Ct));
            var copy = Assert.Single(await dr.Catalog.ListAsync("offsite", kind, source, DrTestHost.Ct));
            Assert.Equal(local.Id, copy.Id);
            Assert.Equal(local.Manifest.Sha256, copy.Manifest.Sha256);
        }

        offsite.Unreachable = "connection refused";
        await dr.AdvanceAsync(TimeSpan.FromMinutes(10)); // the scheduled run at 06:00
        var second = (await RunsAsync(dr, "backup-postgres")).Single(r => r.Id != first.Id);
        for (var i = 0; i < 6 && second.Incidents.Count == 0; i++)
        {
            await dr.AdvanceAsync(TimeSpan.FromMinutes(30)); // the step's retries after 5 and 10 minutes
            second = await dr.StateAsync(second.Id);
        }

        var incident = Assert.Single(second.Incidents);
        Assert.Equal("copyToOffsite", incident.ActivityId);
        Assert.Contains("The offsite store (memory store 'offsite') could not be read, so no backup set was copied there", incident.Message, StringComparison.Ordinal);
        Assert.Contains("still count", incident.Message, StringComparison.Ordinal);
        // The primary backups of that run are complete.
        Assert.Equal(2, (await dr.Catalog.ListAsync("local", BackupKinds.Postgres, "ecommerce_db", DrTestHost.Ct)).Count);
        Assert.Equal(2, (await dr.Catalog.ListAsync("s3", BackupKinds.Postgres, "ecommerce_db", DrTestHost.Ct)).Count);
    }

    [Theory]
    [InlineData("backup-redis", BackupKinds.Redis, "redis", "local")]
    [InlineData("backup-media", BackupKinds.Media, "media", "s3")]
    public async Task The_redis_and_media_sets_are_copied_to_the_offsite_store_and_checked_there_then_its_retention_runs(string workflow, string kind, string source, string from)
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        ((MemoryBackupStores)dr.Get<DrWorkflows.Activities.Storage.IBackupStoreProvider>()).Add("offsite");
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "earlier", from, "ecommerce_db", DrTestHost.Ct, Now.AddHours(-1));

        var run = await dr.RunAsync(workflow);

        Assert.Equal(WorkflowSubStatus.Finished, run.SubStatus);
        Assert.Equal(CopyToOffsite.Copied, await dr.OutcomeAsync(run.Id, "copyToOffsite"));
        Assert.Contains("retentionOffsite", await dr.CompletedAsync(run.Id));
        var original = Assert.Single(await dr.Catalog.ListAsync(from, kind, source, DrTestHost.Ct));
        var copy = Assert.Single(await dr.Catalog.ListAsync("offsite", kind, source, DrTestHost.Ct));
        Assert.Equal(original.Id, copy.Id);
        Assert.Equal(original.Manifest.Sha256, copy.Manifest.Sha256);
        Assert.Equal(from, copy.Manifest.Properties["copiedFrom"]);
        // Only its own kind: backup-postgres copies the database sets.
        Assert.Empty(await dr.Catalog.ListAsync("offsite", BackupKinds.Postgres, null, DrTestHost.Ct));
        // The objectives report sees the copy: the component's newest set is offsite.
        var rpo = (await dr.Get<DrWorkflows.Activities.Drills.IRecoveryPromiseCheck>().CheckAsync(DrTestHost.Ct))
            .Single(p => p.Component == (kind == BackupKinds.Redis ? DrWorkflows.Activities.Drills.RecoveryComponents.Redis : DrWorkflows.Activities.Drills.RecoveryComponents.Media) && p.Objective == DrWorkflows.Activities.Drills.RecoveryObjectiveNames.Rpo);
        Assert.False(rpo.OffsiteCopyMissing, rpo.Reason);
        if (kind == BackupKinds.Media)
        {
            // Each media set is verified by restoring it, in S3 and in the offsite copy alike.
            Assert.Equal(DrWorkflows.Activities.Media.VerifyMediaBackups.Verified, await dr.OutcomeAsync(run.Id, "verify"));
            Assert.Contains("restored from store 'offsite' into a throwaway folder", copy.Manifest.Verification?.Method ?? "not verified", StringComparison.Ordinal);
            var verifiedOriginal = Assert.Single(await dr.Catalog.ListAsync(from, kind, source, DrTestHost.Ct));
            Assert.Contains($"restored from store '{from}' into a throwaway folder", verifiedOriginal.Manifest.Verification?.Method ?? "not verified", StringComparison.Ordinal);
        }

        if (kind == BackupKinds.Redis)
        {
            // The offsite copy is verified there too, like the local and S3 sets.
            Assert.True(copy.Manifest.Verification is { Succeeded: true }, "the offsite copy was not verified");
            Assert.Contains("read back from store 'offsite'", copy.Manifest.Verification!.Method, StringComparison.Ordinal);
            using var scratch = new DrWorkflows.Testing.TempDirectory("redis-offsite");
            var fetched = await dr.Get<DrWorkflows.Activities.Drills.IRedisStoreBackup>().FetchAsync("redis", null, "offsite", scratch.Combine("dump.rdb"), null, DrTestHost.Ct);
            Assert.Equal(Fakes.FakeRedis.Rdb, await File.ReadAllBytesAsync(fetched.Path, DrTestHost.Ct));
        }
    }

    [Fact]
    public async Task When_S3_fails_the_local_copies_are_kept_the_run_says_which_stores_hold_each_set_and_the_SEV2_contacts_are_paged()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        dr.Databases.FailingStores.Add("s3");

        var run = await dr.RunAsync("backup-postgres");

        Assert.Equal(WorkflowSubStatus.Finished, run.SubStatus);
        Assert.Equal(PostgresBackupActivity.Partial, await dr.OutcomeAsync(run.Id, "backupMain"));
        Assert.Equal(["local"], run.Output["StoredIn"]!["ecommerce_db"]!.AsArray().Select(s => s!.ToString()));
        Assert.Equal(["local"], run.Output["StoredIn"]!["globals of main"]!.AsArray().Select(s => s!.ToString()));
        var problems = run.Output["Problems"]!.AsArray().Select(p => p!.ToString()).ToList();
        Assert.Equal(3, problems.Count);
        Assert.StartsWith("ecommerce_db: the new set is NOT in s3 (Could not write postgres/ecommerce_db/", problems[0], StringComparison.Ordinal);
        Assert.EndsWith("; it is only in local", problems[0], StringComparison.Ordinal);
        Assert.Single(await dr.Catalog.ListAsync("local", BackupKinds.Postgres, "ecommerce_db", DrTestHost.Ct));
        Assert.Empty(await dr.Catalog.ListAsync("s3", BackupKinds.Postgres, "ecommerce_db", DrTestHost.Ct));
        var email = Assert.Single(dr.Comms.Emails);
        Assert.Equal("[SEV-2] Backup missing from a store", email.Subject);
        Assert.Contains("ai_db: the new set is NOT in s3", email.TextBody, StringComparison.Ordinal);
        Assert.Contains("retentionGlobalsS3", await dr.CompletedAsync(run.Id)); // retention still ran
    }

    [Fact]
    public async Task A_Redis_backup_that_redis_check_rdb_rejects_is_recorded_as_failed_in_each_store_and_pages_on_call()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        dr.Get<Fakes.FakeRedis>().CorruptNextSnapshots = true;

        var run = await dr.RunAsync("backup-redis");

        Assert.Equal(WorkflowSubStatus.Finished, run.SubStatus);
        Assert.Equal(VerifyRedisBackups.Failed, await dr.OutcomeAsync(run.Id, "verify"));
        foreach (var store in new[] { "local", "s3" })
        {
            var set = Assert.Single(await dr.Catalog.ListAsync(store, BackupKinds.Redis, "redis", DrTestHost.Ct));
            Assert.False(set.Manifest.Verification!.Succeeded);
            Assert.Contains("redis-check-rdb rejected it (exit 1): [offset 140] RDB CRC error", string.Join("; ", set.Manifest.Verification.Problems), StringComparison.Ordinal);
        }

        var email = Assert.Single(dr.Comms.Emails);
        Assert.Equal("[SEV-2] Redis backup verification failed", email.Subject);
        Assert.Contains("RDB CRC error", email.TextBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Redis_is_backed_up_daily_at_04_00_and_media_at_02_00()
    {
        await using var dr = await DrTestHost.StartAsync(new DateTimeOffset(2026, 11, 20, 1, 30, 0, TimeSpan.Zero));

        await dr.AdvanceAsync(TimeSpan.FromMinutes(30));
        Assert.Single(await RunsAsync(dr, "backup-media"));
        Assert.Equal(["media.backup /var/lib/docker/volumes/ecommerce_media/_data -> s3"], dr.Calls.Of("media.backup"));
        Assert.Empty(await RunsAsync(dr, "backup-redis"));

        await dr.AdvanceAsync(TimeSpan.FromHours(2));
        var redis = Assert.Single(await RunsAsync(dr, "backup-redis"));
        Assert.Equal(WorkflowSubStatus.Finished, redis.SubStatus);
        Assert.Equal(2, dr.Calls.Of("redis.snapshot").Count);
        foreach (var store in new[] { "local", "s3" })
        {
            var set = Assert.Single(await dr.Catalog.ListAsync(store, BackupKinds.Redis, "redis", DrTestHost.Ct));
            Assert.Equal("gzip", set.Manifest.Compression);
            Assert.Equal("2", set.Manifest.Properties["keys"]);
            // Verified where it is stored: read back, decoded, the RDB's SHA-256 as written, every key parsed by redis-check-rdb.
            Assert.True(set.Manifest.Verification is { Succeeded: true }, set.Manifest.Verification?.Problems is { } p ? string.Join("; ", p) : "not verified");
            Assert.Contains($"read back from store '{store}'", set.Manifest.Verification!.Method, StringComparison.Ordinal);
            Assert.Contains("the RDB's SHA-256 as written, redis-check-rdb: RDB looks OK, checksum OK, 2 keys read", set.Manifest.Verification.Method, StringComparison.Ordinal);
        }
        Assert.Equal(VerifyRedisBackups.Verified, await dr.OutcomeAsync(redis.Id, "verify"));
        Assert.DoesNotContain(dr.Comms.Emails, e => e.Subject.Contains("Redis", StringComparison.Ordinal));

        // What was stored comes back byte for byte (checksum verified, decompressed) for a restore.
        using var scratch = new DrWorkflows.Testing.TempDirectory("redis");
        var fetched = await dr.Get<DrWorkflows.Activities.Drills.IRedisStoreBackup>().FetchAsync("redis", null, "s3", scratch.Combine("dump.rdb"), null, DrTestHost.Ct);
        Assert.Equal(Fakes.FakeRedis.Rdb, await File.ReadAllBytesAsync(fetched.Path, DrTestHost.Ct));
    }

    [Fact]
    public async Task The_daily_verification_verifies_every_new_set_in_every_store_records_it_per_store_and_stays_quiet_when_everything_is_fresh()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        foreach (var (db, store) in new[] { ("ecommerce_db", "local"), ("ecommerce_db", "s3"), ("ai_db", "local"), ("ai_db", "s3") })
            await dr.Databases.WriteSetAsync(BackupKinds.Postgres, db, db + store, store, db, DrTestHost.Ct, Now.AddHours(-5));
        // An older set, already verified: not verified again.
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "yesterday", "local", "ecommerce_db", DrTestHost.Ct, Now.AddHours(-29), verified: true);

        var run = await dr.RunAsync("verify-backups");

        Assert.True(run.Output["Passed"]!.GetValue<bool>());
        Assert.Equal(
            ["postgres.verify ecommerce_db ecommerce_dblocal -> verified", "postgres.verify ecommerce_db ecommerce_dbs3 -> verified",
             "postgres.verify ai_db ai_dblocal -> verified", "postgres.verify ai_db ai_dbs3 -> verified"],
            dr.Calls.Of("postgres.verify"));
        foreach (var (db, store) in new[] { ("ecommerce_db", "local"), ("ecommerce_db", "s3"), ("ai_db", "s3") })
        {
            var verified = await dr.Catalog.FindAsync(store, BackupKinds.Postgres, db, db + store, DrTestHost.Ct);
            Assert.Equal(Now, verified!.Manifest.LastVerifiedAt);
        }

        Assert.Contains("ecommerce_db (s3): set ecommerce_dbs3 verified, restore into throwaway database (fake)", run.Output["Verified"]!.AsArray().Select(l => l!.ToString()));
        Assert.Empty(dr.Comms.Emails);
        Assert.Contains(dr.Calls.Calls, c => c.StartsWith("slack.post new :white_check_mark: Daily backup verification: 4 new backup set(s)", StringComparison.Ordinal));

        // The next day nothing is new: nothing is verified again.
        var again = await dr.RunAsync("verify-backups");
        Assert.Equal(4, dr.Calls.Of("postgres.verify").Count);
        Assert.Empty(again.Output["Verified"]!.AsArray());
    }

    [Fact]
    public async Task A_failed_verification_and_a_stale_or_missing_backup_page_the_SEV2_contacts()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "stale", "local", "ecommerce_db", DrTestHost.Ct, Now.AddHours(-13));
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "fresh3", "s3", "ecommerce_db", DrTestHost.Ct, Now.AddHours(-2));
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ai_db", "ai", "local", "ai_db", DrTestHost.Ct, Now.AddHours(-2));
        dr.Databases.VerificationProblems.Add("Table public.orders has 10 rows; the backup recorded 12.");

        var run = await dr.RunAsync("verify-backups");

        Assert.False(run.Output["Passed"]!.GetValue<bool>());
        var problems = run.Output["Problems"]!.AsArray().Select(p => p!.ToString()).ToList();
        Assert.Contains("ecommerce_db (local): backup set stale did not pass verification: Table public.orders has 10 rows; the backup recorded 12.", problems);
        Assert.Contains("ecommerce_db (s3): backup set fresh3 did not pass verification: Table public.orders has 10 rows; the backup recorded 12.", problems);
        Assert.Contains(problems, p => p.StartsWith("ecommerce_db (local): the newest backup is 12.92 h old", StringComparison.Ordinal));
        Assert.Contains("ai_db (s3): there is no backup at all", problems);
        var email = Assert.Single(dr.Comms.Emails);
        Assert.Equal("[SEV-2] Backup verification failed", email.Subject);
        Assert.Contains("ai_db (s3): there is no backup at all", email.TextBody, StringComparison.Ordinal);
        var failed = Assert.Single(await dr.Catalog.ListAsync("local", BackupKinds.Postgres, "ecommerce_db", DrTestHost.Ct));
        Assert.False(failed.Manifest.IsVerified);
        Assert.False(failed.Manifest.Verification!.Succeeded);
    }

    private static async Task<List<WorkflowState>> RunsAsync(DrTestHost dr, string definitionId)
    {
        var instances = dr.Get<IWorkflowInstanceStore>();
        var page = await instances.ListAsync(new InstanceQuery(DefinitionId: definitionId), DrTestHost.Ct);
        var runs = new List<WorkflowState>();
        foreach (var item in page.Items)
            runs.Add((await instances.GetAsync(item.Id, DrTestHost.Ct))!);
        return runs;
    }
}
