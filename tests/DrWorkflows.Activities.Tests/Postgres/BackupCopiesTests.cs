using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Activities.Tests.Backups;
using DrWorkflows.Activities.Tests.Storage;
using DrWorkflows.Testing;

namespace DrWorkflows.Activities.Tests.Postgres;

/// <summary>One read of production: the same encrypted set written to the local store and to S3 at once (3-2-1).</summary>
public sealed class BackupCopiesTests
{
    [Fact]
    public async Task One_dump_writes_the_same_encrypted_set_to_the_local_store_and_to_S3()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        await using var bucket = await S3TestBucket.CreateAsync(ct);
        using var keys = new TempDirectory("agekeys");
        var key = await AgeTestKey.CreateAsync(keys, "ops", ct);
        await using var source = await SampleDatabase.CreateAsync(300, ct);
        await using var host = BackupTestHost.Create(
            stores: s => bucket.Configure(s),
            encryption: e => { e.Method = EncryptionMethod.Age; e.AgeRecipients = [key.Recipient]; e.AgeIdentityFile = key.IdentityFile; });
        var server = BackupTestHost.TestServer(serverConnection);

        var copies = await host.Backup.BackupDatabaseToStoresAsync(new PostgresBackupRequest(server, source.Name, "exec-both"), ["local", "s3"], ct);

        Assert.True(copies.Complete);
        Assert.Equal(["local", "s3"], copies.Stores);
        Assert.All(copies.Sets, s => Assert.Equal("exec-both", s.Id));
        // age encrypts each stream with a fresh random file key: two dumps (or two encryptions) could never give the
        // same bytes. Equal size and SHA-256 in both stores prove that one encrypted stream fed both.
        var (local, s3) = (copies.Sets[0], copies.Sets[1]);
        Assert.Equal(local.Manifest.Sha256, s3.Manifest.Sha256);
        Assert.Equal(local.Manifest.Size, s3.Manifest.Size);
        Assert.Equal(local.Manifest.Tables!.Sum(t => t.RowCount), s3.Manifest.Tables!.Sum(t => t.RowCount));
        Assert.Contains(await bucket.ListAsync(ct), o => o.Key == s3.Manifest.MainFile.Key);
        Assert.True(File.Exists(Path.Combine(host.LocalStoreDirectory, local.Manifest.MainFile.Key)));

        // The S3 copy stands alone: restored from S3, it is the source again.
        var target = source.Name + "_from_s3";
        try
        {
            var stored = await host.Catalog.FindAsync("s3", BackupKinds.Postgres, source.Name, "exec-both", ct);
            await host.Restore.RestoreAsync(new PostgresRestoreRequest(stored!, server, target) { Mode = RestoreMode.CreateNew }, ct);
            Assert.Equal(await SampleDatabase.ContentDigestAsync(source.ConnectionString, ct), await SampleDatabase.ContentDigestAsync(SampleDatabase.WithDatabase(serverConnection, target), ct));
        }
        finally
        {
            await SampleDatabase.DropDatabaseAsync(serverConnection, target);
        }
    }

    [Fact]
    public async Task A_store_that_fails_mid_backup_does_not_cost_the_other_store_its_copy()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        using var temp = new TempDirectory("copies");
        using var tiny = await TinyFileSystem.MountAsync(temp.Combine("tiny"), "1m", ct);
        await using var bucket = await S3TestBucket.CreateAsync(ct);
        await using var source = await LargerThanOneMegabyteAsync(ct);
        await using var host = TinyLocalStoreAndS3(tiny, bucket);
        var server = BackupTestHost.TestServer(serverConnection);

        var copies = await host.Backup.BackupDatabaseToStoresAsync(new PostgresBackupRequest(server, source.Name, "exec-full"), ["local", "s3"], ct);

        Assert.False(copies.Complete);
        Assert.Equal(["s3"], copies.Stores);
        var failure = Assert.Single(copies.Failures);
        Assert.Equal(("local", BackupErrorCodes.StoreFull), (failure.Store, failure.Code));
        Assert.Contains("No space left on device", failure.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(tiny.Path, "*", SearchOption.AllDirectories)); // the partial local file was removed
        Assert.Empty(await host.Catalog.ListAsync("local", BackupKinds.Postgres, source.Name, ct));

        var s3 = Assert.Single(await host.Catalog.ListAsync("s3", BackupKinds.Postgres, source.Name, ct));
        Assert.Equal(50000, s3.Manifest.Tables!.Single(t => t.Name == "blobs").RowCount);
        await host.Catalog.VerifyChecksumsAsync(s3, ct);
    }

    [Fact]
    public async Task When_no_store_can_take_the_set_the_backup_fails_and_leaves_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        using var temp = new TempDirectory("copies");
        using var tiny = await TinyFileSystem.MountAsync(temp.Combine("tiny"), "1m", ct);
        await using var missing = await S3TestBucket.CreateAsync(ct, create: false);
        await using var source = await LargerThanOneMegabyteAsync(ct);
        await using var host = TinyLocalStoreAndS3(tiny, missing);

        var error = await Assert.ThrowsAsync<BackupException>(() => host.Backup.BackupDatabaseToStoresAsync(new PostgresBackupRequest(BackupTestHost.TestServer(serverConnection), source.Name, "exec-none"), ["local", "s3"], ct));

        Assert.Contains(missing.Name, error.Message, StringComparison.Ordinal); // the first store to fail: the bucket does not exist
        Assert.Empty(Directory.GetFiles(tiny.Path, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_store_named_twice_or_unknown_is_a_bad_request_before_anything_is_read()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = BackupTestHost.Create();
        var server = new PostgresServer("nowhere", "Host=127.0.0.1;Port=1;Username=x;Timeout=1");

        var twice = await Assert.ThrowsAsync<BackupException>(() => host.Backup.BackupDatabaseToStoresAsync(new PostgresBackupRequest(server, "db", "x"), ["local", "LOCAL"], ct));
        var unknown = await Assert.ThrowsAsync<BackupException>(() => host.Backup.BackupDatabaseToStoresAsync(new PostgresBackupRequest(server, "db", "x"), ["local", "s3"], ct));

        Assert.Equal(BackupErrorCodes.InvalidRequest, twice.Code);
        Assert.Equal(BackupErrorCodes.InvalidRequest, unknown.Code);
        Assert.Contains("Backup store 's3' is not configured", unknown.Message, StringComparison.Ordinal);
    }

    /// <summary>The sample database plus about 3 MB of random hex: more than a 1 MB store holds once compressed, so it fills up mid-way.</summary>
    private static async Task<PostgresTestDatabase> LargerThanOneMegabyteAsync(CancellationToken ct)
    {
        var source = await SampleDatabase.CreateAsync(50, ct);
        await SampleDatabase.ExecuteAsync(source.ConnectionString, "CREATE TABLE blobs (id int PRIMARY KEY, body text NOT NULL); INSERT INTO blobs SELECT g, md5(random()::text) || md5(random()::text) FROM generate_series(1, 50000) g", ct);
        return source;
    }

    /// <summary>The local store on the tiny file system, and the bucket.</summary>
    private static BackupTestHost TinyLocalStoreAndS3(TinyFileSystem tiny, S3TestBucket bucket) => BackupTestHost.Create(stores: s =>
    {
        s.Local.Directory = tiny.Path;
        bucket.Configure(s);
    });
}
