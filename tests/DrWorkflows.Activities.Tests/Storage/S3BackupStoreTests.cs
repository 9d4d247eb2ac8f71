using System.Security.Cryptography;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Storage;
using DrWorkflows.Activities.Tests.Backups;
using Microsoft.Extensions.Logging.Abstractions;

namespace DrWorkflows.Activities.Tests.Storage;

/// <summary>The S3 store against the s3rver stand-in (<c>DRW_TEST_S3_URL</c>), one bucket per test.</summary>
public sealed class S3BackupStoreTests
{
    private static S3BackupStore CreateStore(S3TestBucket bucket, string prefix = "dr/")
    {
        var options = new BackupStoreOptions();
        bucket.Configure(options);
        options.S3.Prefix = prefix;
        return new S3BackupStore("s3", options.S3, NullLogger.Instance);
    }

    [Fact]
    public async Task Multipart_upload_streams_parts_and_stores_exactly_the_bytes_written()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var bucket = await S3TestBucket.CreateAsync(ct);
        using var store = CreateStore(bucket);
        var data = RandomNumberGenerator.GetBytes(12 * 1024 * 1024 + 333); // three parts of 5 MiB
        await using (var writer = await store.CreateWriterAsync("postgres/main/run/main.dump.zst", ct))
        {
            for (var offset = 0; offset < data.Length; offset += 700_000)
                await writer.WriteAsync(data.AsMemory(offset, Math.Min(700_000, data.Length - offset)), ct);
            Assert.Empty(await bucket.ListAsync(ct)); // nothing visible before the commit
            await writer.CommitAsync(ct);
        }

        var objects = await bucket.ListAsync(ct);
        Assert.Equal("dr/postgres/main/run/main.dump.zst", Assert.Single(objects).Key);
        Assert.Equal(data.Length, (await store.GetInfoAsync("postgres/main/run/main.dump.zst", ct))!.Size);
        await using var read = await store.OpenReadAsync("postgres/main/run/main.dump.zst", ct);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81920];
        int n;
        while ((n = await read.ReadAsync(buffer, ct)) > 0)
            hash.AppendData(buffer, 0, n);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(data)), Convert.ToHexString(hash.GetHashAndReset()));
    }

    [Fact]
    public async Task Small_objects_list_by_prefix_and_delete()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var bucket = await S3TestBucket.CreateAsync(ct);
        using var store = CreateStore(bucket);
        await store.PutAsync("postgres/a/1/manifest.json", "{}"u8.ToArray(), ct);
        await store.PutAsync("postgres/b/1/manifest.json", "{}"u8.ToArray(), ct);
        await using (var writer = await store.CreateWriterAsync("postgres/a/1/a.dump", ct))
        {
            await writer.WriteAsync("tiny"u8.ToArray(), ct);
            await writer.CommitAsync(ct);
        }

        var listed = new List<string>();
        await foreach (var item in store.ListAsync("postgres/a/", ct))
            listed.Add(item.Key);
        Assert.Equal(["postgres/a/1/a.dump", "postgres/a/1/manifest.json"], listed.Order(StringComparer.Ordinal));

        await store.DeleteAsync("postgres/a/1/a.dump", ct);
        await store.DeleteAsync("postgres/a/1/never-existed", ct);
        Assert.Null(await store.GetInfoAsync("postgres/a/1/a.dump", ct));
        var error = await Assert.ThrowsAsync<BackupException>(() => store.OpenReadAsync("postgres/a/1/a.dump", ct));
        Assert.Equal(BackupErrorCodes.NotFound, error.Code);
    }

    [Fact]
    public async Task Reads_return_every_byte_of_small_and_empty_objects()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var bucket = await S3TestBucket.CreateAsync(ct);
        using var store = CreateStore(bucket);
        await store.PutAsync("redis/x/1/empty.rdb", Array.Empty<byte>(), ct);
        await store.PutAsync("redis/x/1/small.rdb", "small"u8.ToArray(), ct);

        Assert.Empty(await ReadAllAsync(store, "redis/x/1/empty.rdb", ct)); // no range to ask for: read plainly
        Assert.Equal("small", System.Text.Encoding.ASCII.GetString(await ReadAllAsync(store, "redis/x/1/small.rdb", ct)));
    }

    private static async Task<byte[]> ReadAllAsync(S3BackupStore store, string key, CancellationToken cancellationToken)
    {
        await using var read = await store.OpenReadAsync(key, cancellationToken);
        using var copy = new MemoryStream();
        await read.CopyToAsync(copy, cancellationToken);
        return copy.ToArray();
    }

    [Fact]
    public async Task A_failure_after_parts_were_uploaded_leaves_no_object()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var bucket = await S3TestBucket.CreateAsync(ct);
        using var store = CreateStore(bucket);
        await Assert.ThrowsAsync<IOException>(async () =>
        {
            await using var writer = await store.CreateWriterAsync("postgres/main/run/main.dump", ct);
            await writer.WriteAsync(new byte[11 * 1024 * 1024], ct); // two parts uploaded
            throw new IOException("pg_dump died");
        });

        Assert.Empty(await bucket.ListAsync(ct));
        Assert.Null(await store.GetInfoAsync("postgres/main/run/main.dump", ct));
    }

    [Fact]
    public async Task A_missing_bucket_names_the_bucket_and_the_option_to_fix()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var bucket = await S3TestBucket.CreateAsync(ct, create: false);
        using var store = CreateStore(bucket);
        var error = await Assert.ThrowsAsync<BackupException>(async () =>
        {
            await using var writer = await store.CreateWriterAsync("postgres/main/run/main.dump", ct);
            await writer.WriteAsync(new byte[6 * 1024 * 1024], ct);
            await writer.CommitAsync(ct);
        });

        Assert.Equal(BackupErrorCodes.StoreError, error.Code);
        Assert.Contains($"bucket '{bucket.Name}' does not exist", error.Message, StringComparison.Ordinal);
        Assert.Contains("Backups:Stores:S3:BucketName", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_endpoint_is_reported_as_such()
    {
        var ct = TestContext.Current.CancellationToken;
        var options = new S3BackupStoreOptions
        {
            BucketName = "b",
            ServiceUrl = $"http://127.0.0.1:{DrWorkflows.Testing.FreePort.Get()}",
            ForcePathStyle = true,
            AccessKeyId = "x",
            SecretAccessKey = "y",
        };
        using var store = new S3BackupStore("s3", options, NullLogger.Instance);
        var error = await Assert.ThrowsAsync<BackupException>(() => store.PutAsync("k/a/b/c", new byte[10], ct));
        Assert.Equal(BackupErrorCodes.StoreError, error.Code);
        Assert.Contains("unreachable", error.Message, StringComparison.Ordinal);
        Assert.True(error.Retryable);
    }
}
