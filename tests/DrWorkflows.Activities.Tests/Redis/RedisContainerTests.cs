using System.Formats.Tar;
using System.Net.Sockets;
using System.Security.Cryptography;
using Docker.DotNet.Models;
using DrWorkflows.Activities.Hosts;
using DrWorkflows.Activities.Redis;
using DrWorkflows.Activities.Tests.Docker;
using DrWorkflows.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace DrWorkflows.Activities.Tests.Redis;

/// <summary>
/// Redis in a container, as on the platform: the dump is copied out of the container and restored into it through
/// the engine. The image is built on the fly from this machine's redis-server and its libraries (no registry).
/// </summary>
public sealed class RedisContainerTests : IAsyncLifetime
{
    private DockerScope docker = null!;
    private string container = null!;
    private int port;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Endpoint => $"127.0.0.1:{port}";

    public async ValueTask InitializeAsync()
    {
        docker = DockerScope.Create();
        if (!File.Exists("/usr/bin/redis-server"))
            Assert.Skip("redis-server not installed (apt-get install redis-server); needed to build the Redis test image.");
        var image = $"{docker.Prefix}-redis:7";
        await BuildImageAsync(image);
        port = FreePort.Get();
        container = await docker.RunAsync("redis", ["/usr/bin/redis-server", "--port", port.ToString(), "--bind", "127.0.0.1", "--dir", "/data",
            "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no"], configure: p =>
        {
            p.Image = image;
            p.HostConfig.NetworkMode = "host";
            p.HostConfig.Binds = [$"{docker.Name("redis-data")}:/data"];
        });
        await WaitForPortAsync();
    }

    public ValueTask DisposeAsync() => docker.DisposeAsync();

    [Fact]
    public async Task Snapshot_is_copied_out_of_the_container_and_restore_puts_it_back()
    {
        await using (var mux = await ConnectionMultiplexer.ConnectAsync(Endpoint))
        {
            for (var i = 0; i < 50; i++)
                await mux.GetDatabase().StringSetAsync($"session:{i}", i);
        }

        var service = new RedisService(
            Options.Create(new RedisOptions { ConnectionString = Endpoint, Container = container, PollInterval = TimeSpan.FromMilliseconds(100), OperationTimeout = TimeSpan.FromSeconds(60) }),
            new ProcessRunner(TimeProvider.System), TimeProvider.System, NullLogger<RedisService>.Instance, docker.Service);
        using var dir = new TempDirectory("redis-container");
        var dump = dir.Combine("dump.rdb");

        var snapshot = await service.SnapshotToFileAsync(dump, Ct);

        Assert.Equal(RedisDumpSource.Container, snapshot.Source);
        Assert.Equal(50, snapshot.Keys);
        var bytes = await File.ReadAllBytesAsync(dump, Ct);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), snapshot.Sha256);
        Assert.Equal("REDIS", System.Text.Encoding.ASCII.GetString(bytes, 0, 5));

        await using (var mux = await ConnectionMultiplexer.ConnectAsync(Endpoint))
        {
            var db = mux.GetDatabase();
            await db.KeyDeleteAsync([.. Enumerable.Range(0, 50).Select(i => (RedisKey)$"session:{i}")]);
            await db.StringSetAsync("ransom", "pay");
        }

        var restored = await service.RestoreAsync(dump, expectedMinimumKeys: 50, Ct);

        Assert.Equal(50, restored.Keys);
        Assert.Contains(container, restored.Target);
        await using (var mux = await ConnectionMultiplexer.ConnectAsync(Endpoint))
        {
            Assert.Equal(7, (int)await mux.GetDatabase().StringGetAsync("session:7"));
            Assert.False(await mux.GetDatabase().KeyExistsAsync("ransom"));
        }

        Assert.Equal("running", (await docker.Service.InspectContainerAsync(container, Ct)).State);
    }

    /// <summary>A rootfs with redis-server and the libraries ldd lists, imported as an image.</summary>
    private async Task BuildImageAsync(string image)
    {
        var ldd = await new ProcessRunner(TimeProvider.System).RunAsync(new CommandLine("ldd", "/usr/bin/redis-server"), TimeSpan.FromSeconds(10), Ct);
        var files = ldd.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split("=>") is [_, var right] ? right.Trim().Split(' ')[0] : l.Trim().Split(' ')[0])
            .Where(p => p.StartsWith('/'))
            .Append("/usr/bin/redis-server")
            .ToList();
        var tar = new MemoryStream();
        await using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var directory in new[] { "data/", "tmp/", "etc/" })
                await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, directory) { Mode = (UnixFileMode)Convert.ToInt32("1777", 8) }, Ct);
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "etc/passwd") { DataStream = new MemoryStream("root:x:0:0:root:/:/bin/sh\n"u8.ToArray()) }, Ct);
            foreach (var file in files)
            {
                await using var content = File.OpenRead(file); // follows symlinks: the soname path gets the real file
                await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, file.TrimStart('/'))
                {
                    DataStream = content,
                    Mode = (UnixFileMode)Convert.ToInt32("755", 8),
                }, Ct);
            }
        }

        tar.Position = 0;
        var (repository, tag) = DrWorkflows.Activities.Docker.DockerService.SplitReference(image);
        await docker.Client.Images.CreateImageAsync(new ImagesCreateParameters { FromSrc = "-", Repo = repository, Tag = tag }, tar, null, new Progress<JSONMessage>(), Ct);
    }

    private async Task WaitForPortAsync()
    {
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port, Ct);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50, Ct);
            }
        }

        var logs = await docker.Service.CaptureLogsAsync(container, new DrWorkflows.Activities.Docker.LogCaptureRequest { Tail = 20 }, Ct);
        throw new InvalidOperationException($"Redis in container {container} did not listen on {port}: {logs.Text}");
    }
}
