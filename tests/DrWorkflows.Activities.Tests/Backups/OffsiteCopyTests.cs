using System.Security.Cryptography;
using Amazon.S3.Model;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Drills;
using DrWorkflows.Activities.Media;
using DrWorkflows.Activities.Storage;
using DrWorkflows.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Tests.Backups;

/// <summary>
/// The offsite copy on real parts: the primary S3 store on the harness's s3rver, the offsite store on the second
/// s3rver (<c>DRW_TEST_S3_OFFSITE_URL</c>), each with its own bucket.
/// </summary>
public sealed class OffsiteCopyTests
{
    private static async Task<BackupSet> WriteSetAsync(BackupTestHost host, string store, string source, string id, byte[] data, CancellationToken ct, string kind = BackupKinds.Postgres)
    {
        await using var set = await host.Catalog.BeginAsync(new BackupSetRequest(kind, source, id) { Store = store }, ct);
        await using (var file = await set.CreateFileAsync("main.dump", ct))
        {
            await file.WriteAsync(data, ct);
            await file.CommitAsync(ct);
        }

        return await set.CompleteAsync(host.Get<TimeProvider>(), ct);
    }

    private static byte[] Random(int size) => RandomNumberGenerator.GetBytes(size);

    [Fact]
    public async Task Every_new_set_is_copied_to_the_second_s3rver_and_read_back_there_against_its_manifest()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stores = await TwoS3Stores.CreateAsync(ct);
        var (primary, offsite, host) = (stores.Primary, stores.Offsite, stores.Host);
        Assert.NotEqual(primary.Endpoint, offsite.Endpoint);
        var small = Random(10_000);
        var large = Random((6 * 1024 * 1024) + 123); // multipart in both stores
        var first = await WriteSetAsync(host, "s3", "ecommerce_db", "run-1", small, ct);
        var second = await WriteSetAsync(host, "s3", "ecommerce_db", "run-2", large, ct);
        await host.Catalog.RecordVerificationAsync(first, new BackupVerificationRecord { At = DateTimeOffset.UnixEpoch, Succeeded = true, Method = "test" }, ct);

        var result = await host.Get<IOffsiteCopier>().CopyAsync(new OffsiteCopyRequest { From = "s3" }, ct);

        Assert.Equal(["postgres/ecommerce_db/run-1", "postgres/ecommerce_db/run-2"], result.Copied);
        Assert.Equal(small.Length + large.Length, result.BytesCopied);
        // What the second s3rver holds, read with a client of its own: the same bytes as the source.
        foreach (var (set, data) in new[] { (first, small), (second, large) })
        {
            using var response = await offsite.Client.GetObjectAsync(offsite.Name, set.Manifest.MainFile.Key, ct);
            using var buffer = new MemoryStream();
            await response.ResponseStream.CopyToAsync(buffer, ct);
            Assert.Equal(SHA256.HashData(data), SHA256.HashData(buffer.ToArray()));
        }

        var copies = await host.Catalog.ListAsync("offsite", BackupKinds.Postgres, "ecommerce_db", ct);
        Assert.Equal(["run-2", "run-1"], copies.Select(c => c.Id));
        Assert.All(copies, c => Assert.Equal("s3", c.Manifest.Properties["copiedFrom"]));
        // The copy is verified in its own store by the daily verification, not by the source's record.
        Assert.All(copies, c => Assert.Null(c.Manifest.Verification));
        Assert.Equal(second.Manifest.CompletedAt, copies[0].Manifest.CompletedAt);

        // A repeat copies nothing twice.
        var again = await host.Get<IOffsiteCopier>().CopyAsync(new OffsiteCopyRequest { From = "s3" }, ct);
        Assert.Empty(again.Copied);
        Assert.Equal(2, again.AlreadyThere.Count);
    }

    [Fact]
    public async Task A_source_file_that_no_longer_matches_its_manifest_is_not_copied_and_fails_the_step()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stores = await TwoS3Stores.CreateAsync(ct);
        var (primary, host) = (stores.Primary, stores.Host);
        var good = await WriteSetAsync(host, "s3", "ecommerce_db", "good", Random(5000), ct);
        var bad = await WriteSetAsync(host, "s3", "ecommerce_db", "bad", Random(5000), ct);
        // Same size, other bytes: only the SHA-256 can tell.
        await primary.Client.PutObjectAsync(new PutObjectRequest { BucketName = primary.Name, Key = bad.Manifest.MainFile.Key, InputStream = new MemoryStream(Random(5000)), UseChunkEncoding = false }, ct);

        var error = await Assert.ThrowsAsync<BackupException>(() => host.Get<IOffsiteCopier>().CopyAsync(new OffsiteCopyRequest { From = "s3" }, ct));

        Assert.Equal(BackupErrorCodes.StoreError, error.Code);
        Assert.Contains("postgres/ecommerce_db/bad", error.Message, StringComparison.Ordinal);
        Assert.Contains("1 copied", error.Message, StringComparison.Ordinal);
        Assert.Equal([good.Id], (await host.Catalog.ListAsync("offsite", null, null, ct)).Select(s => s.Id));
    }

    [Fact]
    public async Task A_copy_that_the_offsite_store_does_not_return_intact_is_caught_when_read_back_and_not_counted()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stores = await TwoS3Stores.CreateAsync(ct);
        var (primary, host) = (stores.Primary, stores.Host);
        var set = await WriteSetAsync(host, "s3", "ecommerce_db", "run-1", Random(20_000), ct);
        // The offsite store accepts every write and answers OK, but keeps one byte less of each data file.
        var lossy = new LossyOffsite(host.Stores);
        var catalog = new BackupCatalog(lossy, TimeProvider.System, NullLogger<BackupCatalog>.Instance);
        var copier = new OffsiteCopier(catalog, lossy, TimeProvider.System, NullLogger<OffsiteCopier>.Instance);

        var error = await Assert.ThrowsAsync<BackupException>(() => copier.CopyAsync(new OffsiteCopyRequest { From = "s3" }, ct));

        Assert.Contains("did not check out when read back from the offsite store", error.Message, StringComparison.Ordinal);
        Assert.Contains(set.Manifest.MainFile.Key, error.Message, StringComparison.Ordinal);
        Assert.Empty(await host.Catalog.ListAsync("offsite", null, null, ct));
    }

    [Fact]
    public async Task An_unreachable_offsite_store_fails_the_copy_and_the_objectives_report_shows_the_offsite_copy_missing()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var primary = await S3TestBucket.CreateAsync(ct);
        var closedPort = FreePort.Get();
        await using var host = BackupTestHost.Create(stores: s =>
        {
            primary.Configure(s.S3);
            s.Offsite.BucketName = "drw-offsite";
            s.Offsite.ServiceUrl = $"http://127.0.0.1:{closedPort}";
            s.Offsite.ForcePathStyle = true;
            s.Offsite.AccessKeyId = "S3RVER";
            s.Offsite.SecretAccessKey = "S3RVER";
        });
        // A fresh verified backup in both primary stores.
        foreach (var store in new[] { "local", "s3" })
        {
            var set = await WriteSetAsync(host, store, "ecommerce_db", "run-1", Random(1000), ct);
            await host.Catalog.RecordVerificationAsync(set, new BackupVerificationRecord { At = TimeProvider.System.GetUtcNow(), Succeeded = true, Method = "test", DurationSeconds = 3 }, ct);
        }

        var error = await Assert.ThrowsAsync<BackupException>(() => host.Get<IOffsiteCopier>().CopyAsync(new OffsiteCopyRequest { From = "s3" }, ct));
        Assert.Equal(BackupErrorCodes.StoreError, error.Code);
        Assert.True(error.Retryable);
        Assert.Contains("The offsite store (S3 bucket s3://drw-offsite/ at http://127.0.0.1:", error.Message, StringComparison.Ordinal);
        Assert.Contains("no backup set was copied there", error.Message, StringComparison.Ordinal);
        Assert.Contains("Backups:Stores:Offsite:ServiceUrl", error.Message, StringComparison.Ordinal);
        Assert.Contains("still count", error.Message, StringComparison.Ordinal);

        var check = new RecoveryPromiseCheck(Options.Create(new RecoveryObjectivesOptions()), host.Catalog, host.Stores, TimeProvider.System, NullLogger<RecoveryPromiseCheck>.Instance);
        var rpo = (await check.CheckAsync(ct)).Single(p => p.Component == RecoveryComponents.PostgresMain && p.Objective == RecoveryObjectiveNames.Rpo);
        Assert.True(rpo.OffsiteCopyMissing);
        Assert.True(rpo.IsHeldNow); // the primary backup still counts
        Assert.Contains("offsite: the offsite copy is MISSING as far as can be told, the offsite store could not be read", rpo.Reason, StringComparison.Ordinal);
        Assert.Contains("s3: the newest verified backup is", rpo.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_objectives_report_shows_an_offsite_store_without_the_newest_backup_as_missing_and_a_copied_one_as_present()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stores = await TwoS3Stores.CreateAsync(ct, s => s.DefaultStore = "s3");
        var host = stores.Host;
        foreach (var store in new[] { "local", "s3" })
        {
            var set = await WriteSetAsync(host, store, "ecommerce_db", "run-1", Random(1000), ct);
            await host.Catalog.RecordVerificationAsync(set, new BackupVerificationRecord { At = TimeProvider.System.GetUtcNow(), Succeeded = true, Method = "test", DurationSeconds = 3 }, ct);
        }

        var check = new RecoveryPromiseCheck(Options.Create(new RecoveryObjectivesOptions()), host.Catalog, host.Stores, TimeProvider.System, NullLogger<RecoveryPromiseCheck>.Instance);
        RecoveryPromise Rpo(IReadOnlyList<RecoveryPromise> all) => all.Single(p => p.Component == RecoveryComponents.PostgresMain && p.Objective == RecoveryObjectiveNames.Rpo);

        var before = Rpo(await check.CheckAsync(ct));
        Assert.True(before.OffsiteCopyMissing);
        Assert.True(before.IsHeldNow);
        Assert.Contains("offsite: the offsite copy of the newest backup (set run-1) is MISSING, the offsite store holds no copy", before.Reason, StringComparison.Ordinal);

        await host.Get<IOffsiteCopier>().CopyAsync(new OffsiteCopyRequest(), ct);
        var after = Rpo(await check.CheckAsync(ct));
        Assert.False(after.OffsiteCopyMissing);
        Assert.Contains("offsite: no verified backup", after.Reason, StringComparison.Ordinal); // until the daily verification restores it there
        Assert.True(after.IsHeldNow);
    }

    [Fact]
    public async Task A_restore_reads_from_the_offsite_store_when_the_first_store_is_unreachable()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stores = await TwoS3Stores.CreateAsync(ct);
        var data = Random(3000);
        await WriteSetAsync(stores.Host, "s3", "ecommerce_db", "run-1", data, ct);
        await stores.Host.Get<IOffsiteCopier>().CopyAsync(new OffsiteCopyRequest { From = "s3" }, ct);
        var both = await RestoreStoreChooser.ChooseAsync(stores.Host.Catalog, stores.Host.Stores, ["s3", "offsite"], BackupKinds.Postgres, ct);
        Assert.Equal("s3", both.Store);
        Assert.Empty(both.PassedOver);

        // The DR side: the first S3 store is down (nothing listens on its endpoint), the offsite store answers.
        await using var dr = BackupTestHost.Create(stores: s =>
        {
            stores.Primary.Configure(s.S3);
            s.S3.ServiceUrl = $"http://127.0.0.1:{FreePort.Get()}";
            stores.Offsite.Configure(s.Offsite);
        });
        var choice = await RestoreStoreChooser.ChooseAsync(dr.Catalog, dr.Stores, ["s3", "offsite"], BackupKinds.Postgres, ct);

        Assert.Equal("offsite", choice.Store);
        Assert.StartsWith("s3: unreachable (Could not list postgres/* in the S3 bucket", Assert.Single(choice.PassedOver), StringComparison.Ordinal);
        var set = (await dr.Catalog.FindRestorePointAsync(new RestorePointQuery(BackupKinds.Postgres, "ecommerce_db") { Store = choice.Store, RequireVerified = false }, ct)).SelectedSet!;
        await using var read = await dr.Catalog.OpenReadAsync(set, set.Manifest.MainFile, ct);
        using var copy = new MemoryStream();
        await read.CopyToAsync(copy, ct);
        Assert.Equal(data, copy.ToArray());

        var none = await RestoreStoreChooser.ChooseAsync(dr.Catalog, dr.Stores, ["s3", "local"], BackupKinds.Postgres, ct);
        Assert.Null(none.Store);
        Assert.Equal("local: holds no postgres backup", none.PassedOver[1]);
    }

    [Fact]
    public async Task A_media_set_is_copied_with_its_content_objects_each_read_back_offsite_and_restores_from_there_byte_for_byte()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stores = await TwoS3Stores.CreateAsync(ct);
        var host = stores.Host;
        var media = host.Get<IMediaBackupService>();
        using var volume = new TempDirectory("media");
        var photo = Random(300_000);
        await File.WriteAllBytesAsync(volume.Combine("photo.jpg"), photo, ct);
        Directory.CreateDirectory(volume.Combine("docs"));
        await File.WriteAllBytesAsync(volume.Combine("docs/a.pdf"), Random(5000), ct);
        await File.WriteAllBytesAsync(volume.Combine("docs/same-as-photo.jpg"), photo, ct); // one content object for two files
        var first = await media.BackupAsync(new MediaBackupRequest(volume.FullPath, "uploads", "media-1") { Store = "s3" }, ct);

        var result = await host.Get<IOffsiteCopier>().CopyAsync(new OffsiteCopyRequest { From = "s3", Kind = BackupKinds.Media }, ct);

        Assert.Equal(["media/uploads/media-1"], result.Copied);
        Assert.Equal(2, result.MediaObjectsCopied);
        var objects = (await stores.Offsite.ListAsync(ct)).Where(o => o.Key.StartsWith("media/uploads/_objects/", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, objects.Count);
        Assert.Contains(objects, o => o.Key.EndsWith(Convert.ToHexStringLower(SHA256.HashData(photo)), StringComparison.Ordinal));
        var copy = Assert.Single(await host.Catalog.ListAsync("offsite", BackupKinds.Media, "uploads", ct));
        Assert.Equal(first.SetId, copy.Id);
        Assert.Equal("s3", copy.Manifest.Properties["copiedFrom"]);

        // A second backup with one new file: only its content object is copied; the first set is already there.
        await File.WriteAllBytesAsync(volume.Combine("new.png"), Random(7000), ct);
        await media.BackupAsync(new MediaBackupRequest(volume.FullPath, "uploads", "media-2") { Store = "s3" }, ct);
        var again = await host.Get<IOffsiteCopier>().CopyAsync(new OffsiteCopyRequest { From = "s3", Kind = BackupKinds.Media }, ct);
        Assert.Equal(["media/uploads/media-2"], again.Copied);
        Assert.Equal(["media/uploads/media-1"], again.AlreadyThere);
        Assert.Equal(1, again.MediaObjectsCopied);

        // The offsite copy restores on its own: the first store's objects are gone.
        foreach (var item in await stores.Primary.ListAsync(ct))
            await stores.Primary.Client.DeleteObjectAsync(stores.Primary.Name, item.Key, ct);
        var newest = (await host.Catalog.ListAsync("offsite", BackupKinds.Media, "uploads", ct))[0];
        using var target = new TempDirectory("restored");
        var restored = await media.RestoreAsync(new MediaRestoreRequest(newest, target.FullPath), ct);
        Assert.Equal(4, restored.Written);
        foreach (var name in new[] { "photo.jpg", "docs/a.pdf", "docs/same-as-photo.jpg", "new.png" })
            Assert.Equal(await File.ReadAllBytesAsync(volume.Combine(name), ct), await File.ReadAllBytesAsync(target.Combine(name), ct));
    }

    [Fact]
    public async Task A_media_content_object_that_no_longer_matches_its_checksum_is_not_copied_and_the_set_is_not_counted_offsite()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stores = await TwoS3Stores.CreateAsync(ct);
        var host = stores.Host;
        using var volume = new TempDirectory("media");
        await File.WriteAllBytesAsync(volume.Combine("photo.jpg"), Random(4000), ct);
        await host.Get<IMediaBackupService>().BackupAsync(new MediaBackupRequest(volume.FullPath, "uploads", "media-1") { Store = "s3" }, ct);
        var key = Assert.Single(await stores.Primary.ListAsync(ct), o => o.Key.StartsWith("media/uploads/_objects/", StringComparison.Ordinal)).Key;
        // Same size, other bytes: only the SHA-256 can tell.
        await stores.Primary.Client.PutObjectAsync(new PutObjectRequest { BucketName = stores.Primary.Name, Key = key, InputStream = new MemoryStream(Random(4000)), UseChunkEncoding = false }, ct);

        var error = await Assert.ThrowsAsync<BackupException>(() => host.Get<IOffsiteCopier>().CopyAsync(new OffsiteCopyRequest { From = "s3" }, ct));

        Assert.Equal(BackupErrorCodes.StoreError, error.Code);
        Assert.Contains("media/uploads/media-1", error.Message, StringComparison.Ordinal);
        Assert.Empty(await host.Catalog.ListAsync("offsite", BackupKinds.Media, "uploads", ct));
        Assert.DoesNotContain(await stores.Offsite.ListAsync(ct), o => o.Key == key);
    }

    /// <summary>A bucket on each s3rver, configured as the <c>s3</c> and the <c>offsite</c> store (each with its own endpoint and bucket).</summary>
    private sealed class TwoS3Stores : IAsyncDisposable
    {
        private TwoS3Stores(S3TestBucket primary, S3TestBucket offsite, BackupTestHost host) => (Primary, Offsite, Host) = (primary, offsite, host);

        public S3TestBucket Primary { get; }

        public S3TestBucket Offsite { get; }

        public BackupTestHost Host { get; }

        public static async Task<TwoS3Stores> CreateAsync(CancellationToken ct, Action<BackupStoreOptions>? configure = null)
        {
            var offsiteEndpoint = TestServices.RequireS3Offsite();
            var primary = await S3TestBucket.CreateAsync(ct);
            var offsite = await S3TestBucket.CreateAsync(ct, endpoint: offsiteEndpoint);
            var host = BackupTestHost.Create(stores: s =>
            {
                primary.Configure(s.S3);
                offsite.Configure(s.Offsite);
                configure?.Invoke(s);
            });
            return new TwoS3Stores(primary, offsite, host);
        }

        public async ValueTask DisposeAsync()
        {
            await Host.DisposeAsync();
            await Primary.DisposeAsync();
            await Offsite.DisposeAsync();
        }
    }

    /// <summary>The real stores, except that the offsite store silently keeps one byte less of every data file it is sent.</summary>
    private sealed class LossyOffsite(IBackupStoreProvider inner) : IBackupStoreProvider
    {
        public string DefaultStoreName => inner.DefaultStoreName;

        public IReadOnlyCollection<string> StoreNames => inner.StoreNames;

        public IBackupStore Get(string? name = null)
        {
            var store = inner.Get(name);
            return store.Name == BackupStoreOptions.OffsiteStoreName ? new LossyStore(store) : store;
        }
    }

    private sealed class LossyStore(IBackupStore inner) : IBackupStore
    {
        public string Name => inner.Name;

        public string Location => inner.Location;

        public async Task<IBackupObjectWriter> CreateWriterAsync(string key, CancellationToken cancellationToken) =>
            new LossyWriter(await inner.CreateWriterAsync(key, cancellationToken));

        public Task PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) => inner.PutAsync(key, content, cancellationToken);

        public Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken) => inner.OpenReadAsync(key, cancellationToken);

        public Task<BackupObjectInfo?> GetInfoAsync(string key, CancellationToken cancellationToken) => inner.GetInfoAsync(key, cancellationToken);

        public IAsyncEnumerable<BackupObjectInfo> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);

        public Task DeleteAsync(string key, CancellationToken cancellationToken) => inner.DeleteAsync(key, cancellationToken);
    }

    private sealed class LossyWriter(IBackupObjectWriter inner) : IBackupObjectWriter
    {
        private byte[] held = [];

        public string Key => inner.Key;

        public long BytesWritten { get; private set; }

        public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            if (held.Length > 0)
                await inner.WriteAsync(held, cancellationToken);
            held = data.ToArray();
            BytesWritten += data.Length;
        }

        public async Task CommitAsync(CancellationToken cancellationToken)
        {
            if (held.Length > 1)
                await inner.WriteAsync(held.AsMemory(0, held.Length - 1), cancellationToken);
            await inner.CommitAsync(cancellationToken);
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
