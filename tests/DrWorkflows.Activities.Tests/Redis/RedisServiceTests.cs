using System.Security.Cryptography;
using DrWorkflows.Activities.Hosts;
using DrWorkflows.Activities.Redis;
using DrWorkflows.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace DrWorkflows.Activities.Tests.Redis;

public sealed class RedisServiceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(RedisDumpSource.DataDirectory)]
    [InlineData(RedisDumpSource.RedisCli)]
    [InlineData(RedisDumpSource.Auto)]
    public async Task Snapshot_of_the_shared_redis_is_a_valid_rdb_with_its_checksum(RedisDumpSource source)
    {
        var endpoint = TestServices.RequireRedis();
        var marker = $"drwt:{Guid.NewGuid():N}";
        await using (var mux = await ConnectionMultiplexer.ConnectAsync(endpoint))
            await mux.GetDatabase().StringSetAsync(marker, "snapshot", TimeSpan.FromMinutes(5));
        using var dir = new TempDirectory("redis-snapshot");
        var path = dir.Combine("redis", "dump.rdb");

        var snapshot = await Create(endpoint, o => o.DumpSource = source).SnapshotToFileAsync(path, Ct);

        var bytes = await File.ReadAllBytesAsync(path, Ct);
        Assert.Equal("REDIS", System.Text.Encoding.ASCII.GetString(bytes, 0, 5));
        Assert.Equal(bytes.Length, snapshot.Bytes);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), snapshot.Sha256);
        Assert.Contains(marker, System.Text.Encoding.ASCII.GetString(bytes)); // RDB keeps short keys verbatim
        Assert.True(snapshot.Keys >= 1);
        Assert.Equal(source == RedisDumpSource.Auto ? RedisDumpSource.DataDirectory : source, snapshot.Source);
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public async Task Restore_replaces_the_data_set_and_checks_the_key_count()
    {
        using var redis = await RedisServerProcess.StartAsync();
        var service = Create(redis.Endpoint, o =>
        {
            foreach (var part in redis.StartCommand)
                o.LocalStartCommand.Add(part);
        });
        await using (var mux = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint))
        {
            var db = mux.GetDatabase();
            for (var i = 0; i < 100; i++)
                await db.StringSetAsync($"cart:{i}", $"items-{i}");
        }

        using var dir = new TempDirectory("redis-restore");
        var dump = dir.Combine("good.rdb");
        var snapshot = await service.SnapshotToFileAsync(dump, Ct);
        Assert.Equal(100, snapshot.Keys);

        // Damage after the snapshot: keys lost and one added.
        await using (var mux = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint))
        {
            var db = mux.GetDatabase();
            for (var i = 0; i < 60; i++)
                await db.KeyDeleteAsync($"cart:{i}");
            await db.StringSetAsync("ransom", "pay");
        }

        var result = await service.RestoreAsync(dump, expectedMinimumKeys: 100, Ct);

        Assert.Equal(100, result.Keys);
        await using (var mux = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint))
        {
            var db = mux.GetDatabase();
            Assert.Equal("items-0", await db.StringGetAsync("cart:0"));
            Assert.False(await db.KeyExistsAsync("ransom"));
        }

        var tooFew = await Assert.ThrowsAsync<RedisOperationException>(() => service.RestoreAsync(dump, expectedMinimumKeys: 1000, Ct));
        Assert.Contains("100 keys", tooFew.Message);
        Assert.Contains("1000", tooFew.Message);
    }

    [Fact]
    public async Task Restore_refuses_a_file_that_is_not_an_rdb_and_a_redis_with_append_only_on()
    {
        using var redis = await RedisServerProcess.StartAsync();
        var service = Create(redis.Endpoint, o => o.LocalStartCommand.Add("true"));
        using var dir = new TempDirectory("redis-bad");
        var bogus = dir.Combine("dump.rdb");
        await File.WriteAllTextAsync(bogus, "not a dump", Ct);

        var invalid = await Assert.ThrowsAsync<RedisOperationException>(() => service.RestoreAsync(bogus, null, Ct));
        Assert.Equal(RedisOperationException.InvalidDump, invalid.Code);

        var good = dir.Combine("good.rdb");
        await service.SnapshotToFileAsync(good, Ct);
        await using (var mux = await ConnectionMultiplexer.ConnectAsync($"{redis.Endpoint},allowAdmin=true"))
            await mux.GetServer(mux.GetEndPoints()[0]).ConfigSetAsync("appendonly", "yes");
        var aof = await Assert.ThrowsAsync<RedisOperationException>(() => service.RestoreAsync(good, null, Ct));
        Assert.Contains("appendonly yes", aof.Message);

        // Nothing was stopped: the server still answers.
        await using var check = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint);
        Assert.True(check.IsConnected);
    }

    [Fact]
    public async Task Unreachable_redis_is_a_clear_retryable_error_naming_the_server()
    {
        var endpoint = $"127.0.0.1:{FreePort.Get()}";
        var e = await Assert.ThrowsAsync<RedisOperationException>(() => Create(endpoint).SnapshotAsync((_, _) => Task.CompletedTask, Ct));
        Assert.Equal(RedisOperationException.Unreachable, e.Code);
        Assert.True(e.Retryable);
        Assert.Contains(endpoint, e.Message);
    }

    [Fact]
    public async Task Missing_redis_cli_is_reported_with_the_package_to_install()
    {
        var endpoint = TestServices.RequireRedis();
        var service = Create(endpoint, o =>
        {
            o.DumpSource = RedisDumpSource.RedisCli;
            o.RedisCliPath = "/nonexistent/redis-cli";
        });
        var e = await Assert.ThrowsAsync<RedisOperationException>(() => service.SnapshotAsync((_, _) => Task.CompletedTask, Ct));
        Assert.Contains("redis-tools", e.Message);
    }

    private static RedisService Create(string endpoint, Action<RedisOptions>? configure = null)
    {
        var options = new RedisOptions { ConnectionString = endpoint, PollInterval = TimeSpan.FromMilliseconds(100), ConnectTimeout = TimeSpan.FromSeconds(2), OperationTimeout = TimeSpan.FromSeconds(60) };
        configure?.Invoke(options);
        return new RedisService(Options.Create(options), new ProcessRunner(TimeProvider.System), TimeProvider.System, NullLogger<RedisService>.Instance);
    }
}
