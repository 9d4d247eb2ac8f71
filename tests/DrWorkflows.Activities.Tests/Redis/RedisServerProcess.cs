using System.Diagnostics;
using System.Net.Sockets;
using DrWorkflows.Testing;

namespace DrWorkflows.Activities.Tests.Redis;

/// <summary>A private redis-server on a free loopback port in a temp directory, stopped by PID on dispose.</summary>
internal sealed class RedisServerProcess : IDisposable
{
    private RedisServerProcess(TempDirectory directory, int port)
    {
        Directory = directory;
        Port = port;
    }

    public TempDirectory Directory { get; }

    public int Port { get; }

    public string DataDirectory => Directory.Combine("data");

    public string PidFile => Directory.Combine("redis.pid");

    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>The command that starts this server again (daemonized), as a restore's start command.</summary>
    public IReadOnlyList<string> StartCommand =>
    [
        "redis-server", "--port", Port.ToString(), "--bind", "127.0.0.1", "--dir", DataDirectory, "--dbfilename", "dump.rdb",
        "--save", "", "--appendonly", "no", "--daemonize", "yes", "--pidfile", PidFile, "--logfile", Directory.Combine("redis.log"),
    ];

    public static async Task<RedisServerProcess> StartAsync()
    {
        var path = Environment.GetEnvironmentVariable("PATH")?.Split(':').Select(d => Path.Combine(d, "redis-server")).FirstOrDefault(File.Exists);
        if (path is null)
            Assert.Skip("redis-server not installed (apt-get install redis-server); needed to test restores without touching the shared Redis.");
        var server = new RedisServerProcess(new TempDirectory("redis"), FreePort.Get());
        System.IO.Directory.CreateDirectory(server.DataDirectory);
        await server.LaunchAsync();
        return server;
    }

    public async Task LaunchAsync()
    {
        var info = new ProcessStartInfo(StartCommand[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in StartCommand.Skip(1))
            info.ArgumentList.Add(argument);
        using (var process = Process.Start(info)!)
            await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", Port, TestContext.Current.CancellationToken);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50, TestContext.Current.CancellationToken);
            }
        }

        throw new InvalidOperationException($"redis-server did not listen on {Port}: {File.ReadAllText(Directory.Combine("redis.log"))}");
    }

    public void Dispose()
    {
        if (File.Exists(PidFile) && int.TryParse(File.ReadAllText(PidFile).Trim(), out var pid))
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
                process.WaitForExit(5000);
            }
            catch (ArgumentException)
            {
                // Already gone.
            }
        }

        Directory.Dispose();
    }
}
