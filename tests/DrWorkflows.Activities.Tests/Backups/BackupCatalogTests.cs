using System.Text;
using DrWorkflows.Activities.Backups;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Activities.Tests.Backups;

/// <summary>Backup sets on the local store: atomic sets, re-runs, restore points, checksums, retention.</summary>
public sealed class BackupCatalogTests
{
    private static async Task<BackupSet> WriteSetAsync(BackupTestHost host, string kind, string source, string id, string content, CancellationToken ct, string? store = null)
    {
        await using var set = await host.Catalog.BeginAsync(new BackupSetRequest(kind, source, id) { Store = store }, ct);
        await using (var file = await set.CreateFileAsync("data.bin", ct))
        {
            await file.WriteAsync(Encoding.UTF8.GetBytes(content), ct);
            await file.CommitAsync(ct);
        }

        return await set.CompleteAsync(host.Get<TimeProvider>(), ct);
    }

    [Fact]
    public async Task A_set_is_visible_only_once_its_manifest_is_written_and_a_failed_set_leaves_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = BackupTestHost.Create();
        await using (var set = await host.Catalog.BeginAsync(new BackupSetRequest(BackupKinds.Postgres, "main", "exec-1"), ct))
        {
            await using var file = await set.CreateFileAsync("main.dump", ct);
            await file.WriteAsync(new byte[1000], ct);
            await file.CommitAsync(ct);
            Assert.Empty(await host.Catalog.ListAsync(null, BackupKinds.Postgres, "main", ct));
            // Disposed without CompleteAsync: the backup failed.
        }

        Assert.Empty(await host.Catalog.ListAsync(null, null, null, ct));
        Assert.Empty(Directory.GetFiles(host.LocalStoreDirectory, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_rerun_with_the_same_execution_id_replaces_the_set_instead_of_duplicating_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = BackupTestHost.Create();
        await WriteSetAsync(host, BackupKinds.Postgres, "main", "exec-7", "first attempt", ct);
        var second = await WriteSetAsync(host, BackupKinds.Postgres, "main", "exec-7", "second attempt, longer", ct);

        var sets = await host.Catalog.ListAsync(null, BackupKinds.Postgres, "main", ct);
        var only = Assert.Single(sets);
        Assert.Equal("exec-7", only.Id);
        Assert.Equal(second.Manifest.Sha256, only.Manifest.Sha256);
        Assert.Equal("second attempt, longer".Length, only.Manifest.Size);
    }

    [Fact]
    public async Task Reading_checks_the_sha256_and_refuses_a_corrupt_or_truncated_file()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = BackupTestHost.Create();
        var set = await WriteSetAsync(host, BackupKinds.Postgres, "main", "e1", new string('x', 5000), ct);
        await host.Catalog.VerifyChecksumsAsync(set, ct);

        var path = Path.Combine(host.LocalStoreDirectory, set.Manifest.MainFile.Key);
        var bytes = await File.ReadAllBytesAsync(path, ct);
        bytes[2500] ^= 0x20;
        await File.WriteAllBytesAsync(path, bytes, ct);
        var corrupt = await Assert.ThrowsAsync<BackupException>(() => host.Catalog.VerifyChecksumsAsync(set, ct));
        Assert.Equal(BackupErrorCodes.ChecksumMismatch, corrupt.Code);
        Assert.Contains("SHA-256", corrupt.Message, StringComparison.Ordinal);
        Assert.Contains(set.Manifest.MainFile.Key, corrupt.Message, StringComparison.Ordinal);

        await File.WriteAllBytesAsync(path, bytes[..4000], ct);
        var truncated = await Assert.ThrowsAsync<BackupException>(() => host.Catalog.OpenReadAsync(set, set.Manifest.MainFile, ct));
        Assert.Equal(BackupErrorCodes.ChecksumMismatch, truncated.Code);
        Assert.Contains("4000 bytes stored instead of 5000", truncated.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_restore_point_is_the_newest_verified_set_completed_strictly_before_the_cutoff()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = BackupTestHost.FakeClock(new DateTimeOffset(2026, 11, 20, 0, 0, 0, TimeSpan.Zero));
        await using var host = BackupTestHost.Create(clock: clock);
        var verifiedAt = (BackupSet set) => host.Catalog.RecordVerificationAsync(set, new BackupVerificationRecord { At = clock.GetUtcNow(), Succeeded = true, Method = "test" }, ct);

        var at00 = await WriteSetAsync(host, BackupKinds.Postgres, "main", "s00", "a", ct);           // 00:00
        await verifiedAt(at00);
        clock.Advance(TimeSpan.FromHours(6));
        var at06 = await WriteSetAsync(host, BackupKinds.Postgres, "main", "s06", "b", ct);           // 06:00
        await verifiedAt(at06);
        clock.Advance(TimeSpan.FromHours(6));
        var at12 = await WriteSetAsync(host, BackupKinds.Postgres, "main", "s12", "c", ct);           // 12:00, never verified
        clock.Advance(TimeSpan.FromHours(6));
        var at18 = await WriteSetAsync(host, BackupKinds.Postgres, "main", "s18", "d", ct);           // 18:00, verification failed
        await host.Catalog.RecordVerificationAsync(at18, new BackupVerificationRecord { At = clock.GetUtcNow(), Succeeded = false, Method = "test", Problems = ["row counts differ"] }, ct);
        clock.Advance(TimeSpan.FromHours(2));

        // Compromise detected at 12:00 exactly: the 12:00 set is not strictly before it.
        var selection = await host.Catalog.FindRestorePointAsync(new RestorePointQuery(BackupKinds.Postgres, "main") { Before = at12.Manifest.CompletedAt }, ct);
        Assert.Equal("s06", selection.Selected!.SetId);
        Assert.Equal(at06.Manifest.CompletedAt, selection.Selected.CompletedAt);
        Assert.Equal(14, selection.Selected.AgeHours);
        Assert.Equal(["s18", "s12", "s06", "s00"], selection.Candidates.Select(c => c.SetId));
        Assert.False(selection.Candidates[1].BeforeCutoff);
        Assert.Contains("verification failed", selection.Candidates[0].Note, StringComparison.Ordinal);

        // Without a cutoff: the newest verified one (18:00 failed, 12:00 never verified).
        var latest = await host.Catalog.FindRestorePointAsync(new RestorePointQuery(BackupKinds.Postgres, "main"), ct);
        Assert.Equal("s06", latest.Selected!.SetId);

        // Accepting unverified sets gives the newest one before the cutoff.
        var any = await host.Catalog.FindRestorePointAsync(new RestorePointQuery(BackupKinds.Postgres, "main") { RequireVerified = false }, ct);
        Assert.Equal("s18", any.Selected!.SetId);

        var none = await host.Catalog.FindRestorePointAsync(new RestorePointQuery(BackupKinds.Postgres, "main") { Before = at00.Manifest.CompletedAt }, ct);
        Assert.Null(none.Selected);
        Assert.Equal(4, none.Candidates.Count);
    }

    [Fact]
    public async Task The_gate_is_offered_the_verified_sets_strictly_before_the_cutoff_newest_first_and_default_and_never_an_unverified_one_beside_them()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = BackupTestHost.FakeClock(new DateTimeOffset(2026, 11, 20, 0, 0, 0, TimeSpan.Zero));
        await using var host = BackupTestHost.Create(clock: clock);
        var s00 = await WriteSetAsync(host, BackupKinds.Postgres, "main", "s00", "a", ct);   // 00:00, verified
        await host.Catalog.RecordVerificationAsync(s00, new BackupVerificationRecord { At = clock.GetUtcNow(), Succeeded = true, Method = "test" }, ct);
        clock.Advance(TimeSpan.FromHours(6));
        var s06 = await WriteSetAsync(host, BackupKinds.Postgres, "main", "s06", "b", ct);   // 06:00, verified
        await host.Catalog.RecordVerificationAsync(s06, new BackupVerificationRecord { At = clock.GetUtcNow(), Succeeded = true, Method = "test" }, ct);
        clock.Advance(TimeSpan.FromHours(3));
        await WriteSetAsync(host, BackupKinds.Postgres, "main", "s09", "c", ct);             // 09:00, never verified
        clock.Advance(TimeSpan.FromHours(3));
        var s12 = await WriteSetAsync(host, BackupKinds.Postgres, "main", "s12", "d", ct);   // 12:00, verified, completed exactly at the cutoff
        await host.Catalog.RecordVerificationAsync(s12, new BackupVerificationRecord { At = clock.GetUtcNow(), Succeeded = true, Method = "test" }, ct);
        clock.Advance(TimeSpan.FromHours(1));

        var selection = await host.Catalog.FindRestorePointAsync(new RestorePointQuery(BackupKinds.Postgres, "main") { Before = s12.Manifest.CompletedAt, RequireVerified = false }, ct);
        var offer = RestoreOffer.From(selection.Candidates);

        // 12:00 completed exactly at the cutoff: excluded. 09:00 is not verified: not offered while verified ones exist.
        Assert.False(offer.OnlyUnverified);
        Assert.Equal(["s06", "s00"], offer.Items.Select(i => i.SetId));
        Assert.Equal(["2026-11-20 06:00 UTC, verified, set s06", "2026-11-20 00:00 UTC, verified, set s00"], offer.Options);
        Assert.Equal("2026-11-20 06:00 UTC, verified, set s06", offer.DefaultOption);
        Assert.Empty(offer.ConfirmationPhrases);
        Assert.Equal("s00", offer.SetIds["2026-11-20 00:00 UTC, verified, set s00"]);

        // One tick after the completion time, the 12:00 set qualifies and becomes the default.
        var later = RestoreOffer.From((await host.Catalog.FindRestorePointAsync(new RestorePointQuery(BackupKinds.Postgres, "main") { Before = s12.Manifest.CompletedAt.AddTicks(1), RequireVerified = false }, ct)).Candidates);
        Assert.Equal(["s12", "s06", "s00"], later.Items.Select(i => i.SetId));
        Assert.Equal("s12", later.SetIds[later.DefaultOption!]);
    }

    [Fact]
    public async Task Without_a_verified_set_the_unverified_ones_are_offered_marked_each_with_a_phrase_to_type_and_no_default()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = BackupTestHost.FakeClock(new DateTimeOffset(2026, 11, 20, 0, 0, 0, TimeSpan.Zero));
        await using var host = BackupTestHost.Create(clock: clock);
        await WriteSetAsync(host, BackupKinds.Postgres, "main", "s00", "a", ct);             // never verified
        clock.Advance(TimeSpan.FromHours(6));
        var s06 = await WriteSetAsync(host, BackupKinds.Postgres, "main", "s06", "b", ct);   // verification failed
        await host.Catalog.RecordVerificationAsync(s06, new BackupVerificationRecord { At = clock.GetUtcNow(), Succeeded = false, Method = "test", Problems = ["row counts differ"] }, ct);
        clock.Advance(TimeSpan.FromHours(6));
        var after = await WriteSetAsync(host, BackupKinds.Postgres, "main", "s12", "c", ct); // verified, but after the cutoff
        await host.Catalog.RecordVerificationAsync(after, new BackupVerificationRecord { At = clock.GetUtcNow(), Succeeded = true, Method = "test" }, ct);

        var offer = RestoreOffer.From((await host.Catalog.FindRestorePointAsync(new RestorePointQuery(BackupKinds.Postgres, "main") { Before = after.Manifest.StartedAt, RequireVerified = false }, ct)).Candidates);

        Assert.True(offer.OnlyUnverified);
        Assert.Null(offer.DefaultOption);
        Assert.Equal(["UNVERIFIED (its verification FAILED): 2026-11-20 06:00 UTC, set s06", "UNVERIFIED (never restore-tested): 2026-11-20 00:00 UTC, set s00"], offer.Options);
        Assert.Equal("restore unverified set s06", offer.ConfirmationPhrases[offer.Options[0]]);
        Assert.Equal("restore unverified set s00", offer.ConfirmationPhrases[offer.Options[1]]);
        Assert.All(offer.Items, i => Assert.False(i.Verified));

        var nothing = RestoreOffer.From((await host.Catalog.FindRestorePointAsync(new RestorePointQuery(BackupKinds.Postgres, "main") { Before = new DateTimeOffset(2026, 11, 19, 0, 0, 0, TimeSpan.Zero) }, ct)).Candidates);
        Assert.Empty(nothing.Options);
        Assert.Null(nothing.DefaultOption);
    }

    [Fact]
    public async Task Retention_deletes_expired_sets_per_kind_but_keeps_the_newest_and_the_newest_verified()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = BackupTestHost.FakeClock(new DateTimeOffset(2026, 10, 1, 0, 0, 0, TimeSpan.Zero));
        await using var host = BackupTestHost.Create(clock: clock);
        // Local defaults: 7 days for every kind.
        var verified = await WriteSetAsync(host, BackupKinds.Postgres, "main", "d00", "verified", ct);
        await host.Catalog.RecordVerificationAsync(verified, new BackupVerificationRecord { At = clock.GetUtcNow(), Succeeded = true }, ct);
        for (var day = 1; day <= 12; day++)
        {
            clock.Advance(TimeSpan.FromDays(1));
            await WriteSetAsync(host, BackupKinds.Postgres, "main", $"d{day:00}", $"day {day}", ct);
        }

        await WriteSetAsync(host, BackupKinds.Redis, "cache", "r12", "redis", ct);
        clock.Advance(TimeSpan.FromDays(20));
        // Everything is now older than 7 days: only protected sets survive.
        var dry = await host.Get<IBackupRetentionService>().ApplyAsync(new RetentionRequest { DryRun = true }, ct);
        Assert.True(dry.DryRun);
        Assert.Equal(11, dry.Deleted.Count);
        Assert.Equal(14, (await host.Catalog.ListAsync(null, null, null, ct)).Count);

        var result = await host.Get<IBackupRetentionService>().ApplyAsync(new RetentionRequest(), ct);
        Assert.Equal(11, result.Deleted.Count);
        var left = await host.Catalog.ListAsync(null, null, null, ct);
        Assert.Equal(["d00", "d12", "r12"], left.Select(s => s.Id).Order(StringComparer.Ordinal));
        Assert.Contains(result.Protected, p => p.Contains("newest verified", StringComparison.Ordinal));
    }

    [Fact]
    public async Task S3_retention_keeps_databases_30_days_and_redis_14_days()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = BackupTestHost.FakeClock();
        await using var bucket = await S3TestBucket.CreateAsync(ct);
        await using var host = BackupTestHost.Create(stores: s => bucket.Configure(s), clock: clock);
        await WriteSetAsync(host, BackupKinds.Postgres, "main", "p-old", "p", ct, store: "s3");
        await WriteSetAsync(host, BackupKinds.Redis, "cache", "r-old", "r", ct, store: "s3");
        clock.Advance(TimeSpan.FromDays(1));
        await WriteSetAsync(host, BackupKinds.Postgres, "main", "p-new", "p", ct, store: "s3");
        await WriteSetAsync(host, BackupKinds.Redis, "cache", "r-new", "r", ct, store: "s3");
        clock.Advance(TimeSpan.FromDays(20)); // old sets are 21 days old

        var result = await host.Get<IBackupRetentionService>().ApplyAsync(new RetentionRequest { Store = "s3" }, ct);
        Assert.Equal(["redis/cache/r-old/"], result.Deleted);
        var left = await host.Catalog.ListAsync("s3", null, null, ct);
        Assert.Equal(["p-new", "p-old", "r-new"], left.Select(s => s.Id).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(await bucket.ListAsync(ct), o => o.Key.Contains("r-old", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Retention_removes_files_of_crashed_sets_after_a_grace_period()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = BackupTestHost.FakeClock(DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()));
        await using var host = BackupTestHost.Create(clock: clock);
        var store = host.Stores.Get("local");
        await store.PutAsync("postgres/main/crashed/main.dump", new byte[10], ct); // a data file whose manifest never came

        var early = await host.Catalog.ApplyRetentionAsync(new RetentionRequest(), ct);
        Assert.Equal(0, early.IncompleteRemoved);
        clock.Advance(TimeSpan.FromDays(2));
        var late = await host.Catalog.ApplyRetentionAsync(new RetentionRequest(), ct);
        Assert.Equal(1, late.IncompleteRemoved);
        Assert.Null(await store.GetInfoAsync("postgres/main/crashed/main.dump", ct));
    }

    [Fact]
    public async Task Invalid_store_options_are_refused_at_start_with_the_setting_to_fix()
    {
        await using var host = BackupTestHost.Create(stores: s =>
        {
            s.DefaultStore = "s3";
            s.S3.BucketName = null;
        });
        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(host.ValidateOptions);
        Assert.Contains("Backups:Stores:S3:BucketName", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_store_names_list_the_configured_ones()
    {
        await using var host = BackupTestHost.Create();
        var error = Assert.Throws<BackupException>(() => host.Stores.Get("glacier"));
        Assert.Contains("'glacier' is not configured", error.Message, StringComparison.Ordinal);
        Assert.Contains("local", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Docker_configuration_keeps_the_last_10_sets_whatever_their_age_and_monitoring_30_days()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = BackupTestHost.FakeClock(new DateTimeOffset(2026, 10, 1, 0, 0, 0, TimeSpan.Zero));
        await using var host = BackupTestHost.Create(clock: clock);
        for (var deployment = 1; deployment <= 12; deployment++)
        {
            clock.Advance(TimeSpan.FromMinutes(5));
            await WriteSetAsync(host, BackupKinds.DockerConfig, "platform", $"deploy-{deployment:00}", $"config {deployment}", ct);
        }

        await WriteSetAsync(host, BackupKinds.Monitoring, "monitoring", "week-1", "tsdb", ct);
        clock.Advance(TimeSpan.FromDays(14));
        await WriteSetAsync(host, BackupKinds.Monitoring, "monitoring", "week-3", "tsdb", ct);

        var early = await host.Get<IBackupRetentionService>().ApplyAsync(new RetentionRequest(), ct);
        Assert.Equal(["docker-config/platform/deploy-01/", "docker-config/platform/deploy-02/"], early.Deleted.Order(StringComparer.Ordinal));
        Assert.Equal(10, (await host.Catalog.ListAsync(null, BackupKinds.DockerConfig, "platform", ct)).Count);

        clock.Advance(TimeSpan.FromDays(20)); // week-1 is 34 days old, week-3 20; the configuration sets are 34 days old
        var later = await host.Get<IBackupRetentionService>().ApplyAsync(new RetentionRequest(), ct);
        Assert.Equal(["monitoring/monitoring/week-1/"], later.Deleted);
        Assert.Equal(10, (await host.Catalog.ListAsync(null, BackupKinds.DockerConfig, "platform", ct)).Count);
    }

    [Fact]
    public void A_count_retention_for_an_unknown_kind_or_below_zero_is_refused_at_start()
    {
        using var services = new ServiceCollection().AddBackupActivities(stores: o =>
        {
            o.S3.KeepLast["docker-configs"] = 10;
            o.Local.KeepLast["docker-config"] = -1;
        }).BuildServiceProvider();

        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => services.GetRequiredService<Microsoft.Extensions.Options.IOptions<DrWorkflows.Activities.Storage.BackupStoreOptions>>().Value);
        Assert.Contains(error.Failures, f => f.Contains("Backups:Stores:S3:KeepLast names the unknown kind 'docker-configs'", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("Backups:Stores:Local:KeepLast:docker-config is -1", StringComparison.Ordinal));
    }
}
