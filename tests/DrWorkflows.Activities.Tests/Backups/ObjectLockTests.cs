using System.Text;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Activities.Storage;
using DrWorkflows.Activities.Tests.Postgres;
using DrWorkflows.Testing;

namespace DrWorkflows.Activities.Tests.Backups;

/// <summary>
/// Immutable backups on real parts: a store configured with Object Lock writing to s3rver (which accepts the lock
/// headers and checks each Content-MD5, but keeps no lock: what the bucket enforces is checked against a recorded
/// stand-in in S3ObjectLockRequestTests). Retention, verification and restore on locked sets.
/// </summary>
public sealed class ObjectLockTests
{
    private static void Locked(S3BackupStoreOptions s3, BackupObjectLockMode mode = BackupObjectLockMode.Compliance, int days = 30) =>
        s3.ObjectLock = new ObjectLockOptions { Mode = mode, RetainDays = days };

    [Fact]
    public async Task Retention_keeps_an_expired_set_while_it_is_locked_and_reports_what_it_kept_and_why()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = BackupTestHost.FakeClock();
        await using var bucket = await S3TestBucket.CreateAsync(ct);
        await using var host = BackupTestHost.Create(stores: s =>
        {
            bucket.Configure(s);
            Locked(s.S3);
            s.S3.RetentionDays["postgres"] = 1;
            s.S3.MinimumKeep = 0;
            s.S3.KeepNewestVerified = false;
        }, clock: clock);
        await using (var writer = await host.Catalog.BeginAsync(new BackupSetRequest(BackupKinds.Postgres, "main", "old") { Store = "s3" }, ct))
        {
            await using (var file = await writer.CreateFileAsync("main.dump", ct))
            {
                await file.WriteAsync(Encoding.UTF8.GetBytes("the dump"), ct);
                await file.CommitAsync(ct);
            }

            var set = await writer.CompleteAsync(clock, ct);
            Assert.Equal(new BackupObjectLock("COMPLIANCE", clock.GetUtcNow().AddDays(30)), set.Manifest.ObjectLock);
        }

        clock.Advance(TimeSpan.FromDays(5)); // four days past its retention, 25 days before its lock ends
        var result = await host.Get<IBackupRetentionService>().ApplyAsync(new RetentionRequest { Store = "s3" }, ct);

        Assert.Empty(result.Deleted);
        Assert.Equal(1, result.Kept);
        Assert.Equal(["postgres/main/old/ (expired, kept: S3 Object Lock COMPLIANCE until 2026-12-20 06:00:00Z, recorded in its manifest)"], result.Protected);
        Assert.Equal("old", Assert.Single(await host.Catalog.ListAsync("s3", BackupKinds.Postgres, "main", ct)).Id);
        Assert.Equal(2, (await bucket.ListAsync(ct)).Count); // the data file and the manifest, no delete attempted
    }

    [Fact]
    public async Task A_locked_set_is_backed_up_verified_by_a_restore_and_restored_like_any_other()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        await using var source = await SampleDatabase.CreateAsync(200, ct);
        await using var bucket = await S3TestBucket.CreateAsync(ct);
        await using var host = BackupTestHost.Create(stores: s =>
        {
            s.DefaultStore = "s3";
            bucket.Configure(s);
            Locked(s.S3, BackupObjectLockMode.Governance, 7);
        });
        var server = BackupTestHost.TestServer(serverConnection);

        var set = await host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(server, source.Name, "locked-1"), ct);
        Assert.Equal("GOVERNANCE", set.Manifest.ObjectLock?.Mode);

        var report = await host.Get<IBackupVerifier>().VerifyAsync(new VerifyBackupRequest(source.Name) { Server = server }, ct);
        Assert.True(report.Succeeded, string.Join("\n", report.Problems));
        var verified = await host.Catalog.FindAsync("s3", BackupKinds.Postgres, source.Name, "locked-1", ct);
        Assert.True(verified!.Manifest.IsVerified);
        Assert.NotNull(verified.Manifest.ObjectLock); // the rewritten manifest is locked again
        Assert.True(verified.Manifest.ObjectLock.RetainUntil >= set.Manifest.ObjectLock!.RetainUntil);

        var target = "drw_restore_" + Guid.NewGuid().ToString("N")[..10];
        try
        {
            await host.Restore.RestoreAsync(new PostgresRestoreRequest(verified, server, target) { Mode = RestoreMode.CreateNew }, ct);
            Assert.Equal(
                await SampleDatabase.ContentDigestAsync(source.ConnectionString, ct),
                await SampleDatabase.ContentDigestAsync(SampleDatabase.WithDatabase(serverConnection, target), ct));
        }
        finally
        {
            await SampleDatabase.DropDatabaseAsync(serverConnection, target);
        }
    }
}
