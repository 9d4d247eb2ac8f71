using System.Diagnostics;
using System.Globalization;
using Docker.DotNet;
using Docker.DotNet.Models;
using DrWorkflows.Testing;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// A dockerd of one test's own, never the shared engine of the test run (other tests use that one at the same time):
/// its socket, exec-root, data-root (vfs storage, small images only), pidfile and log are in a temp directory, and it
/// runs like the run's engine (<c>--iptables=false --bridge=none</c>: the machine's network is left alone). It is
/// started by a small script (<see cref="StartScript"/>), which is also the restart command a test gives
/// <c>Host:DockerRestartCommand</c>. The script backgrounds dockerd in the test's process group, so the harness's group
/// kill reaches it too. <see cref="DisposeAsync"/> stops it by PID (and its containerd), unmounts what it left under
/// the directory and deletes the directory, whatever state the test left it in.
/// </summary>
internal sealed class PrivateDockerEngine : IAsyncDisposable
{
    private readonly TempDirectory directory;
    private readonly List<int> pids = [];

    private PrivateDockerEngine(TempDirectory directory)
    {
        this.directory = directory;
    }

    public string Socket => directory.Combine("docker.sock");

    public Uri Endpoint => new($"unix://{Socket}");

    public string DataRoot => directory.Combine("data");

    public string ExecRoot => directory.Combine("exec");

    public string PidFile => directory.Combine("dockerd.pid");

    public string LogFile => directory.Combine("dockerd.log");

    /// <summary>Starts this engine in the background and returns at once (the engine answers a moment later).</summary>
    public string StartScript => directory.Combine("start-dockerd.sh");

    /// <summary>The PID of the running dockerd (from its pidfile, and only when that process is this engine's), or null.</summary>
    public int? Pid => File.Exists(PidFile) && int.TryParse(File.ReadAllText(PidFile).Trim(), CultureInfo.InvariantCulture, out var pid) && IsOurs(pid) ? pid : null;

    /// <summary>Starts the engine and copies <paramref name="images"/> into it from <paramref name="shared"/> (docker save | docker load).</summary>
    public static async Task<PrivateDockerEngine> StartAsync(Uri shared, IReadOnlyList<string> images, CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
            Assert.Skip("A private Docker engine needs root on Linux.");
        foreach (var tool in new[] { "dockerd", "docker", "containerd" })
        {
            if ((Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').All(d => !File.Exists(Path.Combine(d, tool))))
                Assert.Skip($"A private Docker engine needs '{tool}' (apt-get install docker.io).");
        }

        var engine = new PrivateDockerEngine(new TempDirectory("engine"));
        try
        {
            Directory.CreateDirectory(engine.ExecRoot);
            Directory.CreateDirectory(engine.DataRoot);
            await File.WriteAllTextAsync(engine.directory.Combine("daemon.json"), "{}", cancellationToken);
            await File.WriteAllTextAsync(engine.StartScript, $"""
                #!/bin/sh
                # Starts the private dockerd of a DrWorkflows test in the background and returns (its restart command).
                dockerd --config-file '{engine.directory.Combine("daemon.json")}' --data-root '{engine.DataRoot}' --exec-root '{engine.ExecRoot}' \
                  --pidfile '{engine.PidFile}' -H 'unix://{engine.Socket}' --iptables=false --ip6tables=false --ip-forward=false \
                  --bridge=none --storage-driver=vfs < /dev/null >> '{engine.LogFile}' 2>&1 &
                exit 0

                """, cancellationToken);
            if (OperatingSystem.IsLinux())
                File.SetUnixFileMode(engine.StartScript, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            await engine.RunStartScriptAsync(cancellationToken);
            await engine.WaitUntilAnsweringAsync(TimeSpan.FromSeconds(90), cancellationToken);
            foreach (var image in images)
            {
                var (exit, _, error) = await RunAsync(["sh", "-c", "docker -H \"$1\" save \"$3\" | docker -H \"$2\" load", "copy-image", shared.ToString(), engine.Endpoint.ToString(), image], cancellationToken);
                Assert.True(exit == 0, $"copying {image} into the private engine failed: {error}");
            }

            return engine;
        }
        catch
        {
            await engine.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs the start script (as the restart command does) and remembers the PID it started.</summary>
    public async Task RunStartScriptAsync(CancellationToken cancellationToken)
    {
        var (exit, _, error) = await RunAsync([StartScript], cancellationToken);
        Assert.True(exit == 0, $"{StartScript} failed: {error}");
    }

    public async Task WaitUntilAnsweringAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var waited = Stopwatch.StartNew();
        while (!await AnswersAsync(cancellationToken))
        {
            if (waited.Elapsed > timeout)
                Assert.Fail($"The private dockerd did not answer on {Socket} within {timeout}: {Tail()}");
            await Task.Delay(200, cancellationToken);
        }

        if (Pid is { } pid)
            pids.Add(pid);
    }

    public async Task<bool> AnswersAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(Socket))
            return false;
        try
        {
            using var client = new DockerClientConfiguration(Endpoint).CreateClient();
            await client.System.PingAsync(cancellationToken);
            return true;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or DockerApiException or TimeoutException or System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    /// <summary>Stops dockerd by its PID (SIGTERM, SIGKILL after 30 s) and waits until it is gone; its containers stop with it.</summary>
    public async Task StopAsync()
    {
        if (Pid is not { } pid)
            return;
        await StopPidAsync(pid, TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (await AnswersAsync(CancellationToken.None))
            {
                using var client = new DockerClientConfiguration(Endpoint).CreateClient();
                foreach (var container in await client.Containers.ListContainersAsync(new ContainersListParameters { All = true }))
                    await client.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true, RemoveVolumes = true });
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException or DockerApiException)
        {
            // Stopping the engine below stops whatever still runs.
        }

        // Every dockerd this engine ever had (the first and the restarted ones), then its containerd.
        if (Pid is { } current && !pids.Contains(current))
            pids.Add(current);
        foreach (var pid in pids)
            await StopPidAsync(pid, TimeSpan.FromSeconds(30));
        var containerd = Path.Combine(ExecRoot, "containerd", "containerd.pid");
        if (File.Exists(containerd) && int.TryParse(File.ReadAllText(containerd).Trim(), CultureInfo.InvariantCulture, out var containerdPid))
            await StopPidAsync(containerdPid, TimeSpan.FromSeconds(10));

        // dockerd leaves <exec-root>/netns/default (and, when killed, container mounts) mounted: never delete through a mount.
        var (_, mounts, _) = await RunAsync(["findmnt", "-rn", "-o", "TARGET"], CancellationToken.None);
        foreach (var target in mounts.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                     .Where(t => t.StartsWith(directory.FullPath + "/", StringComparison.Ordinal)).OrderByDescending(t => t.Length))
        {
            if ((await RunAsync(["umount", target], CancellationToken.None)).Exit != 0)
                await RunAsync(["umount", "-l", target], CancellationToken.None);
        }

        directory.Dispose();
    }

    /// <summary>The end of dockerd's log, for failure messages.</summary>
    public string Tail() =>
        File.Exists(LogFile) ? string.Join(" | ", File.ReadLines(LogFile).TakeLast(5)) : "(no log)";

    /// <summary>
    /// Stops a process of this engine: only while its command line names this engine's directory, so a PID the
    /// system gave to another process since (PIDs are reused quickly on a busy machine) is never signalled.
    /// </summary>
    private async Task StopPidAsync(int pid, TimeSpan grace)
    {
        if (!IsOurs(pid))
            return;
        Signal(pid, "TERM");
        var waited = Stopwatch.StartNew();
        while (IsOurs(pid) && waited.Elapsed < grace)
            await Task.Delay(100, CancellationToken.None);
        if (IsOurs(pid))
        {
            Signal(pid, "KILL");
            while (IsOurs(pid) && waited.Elapsed < grace + TimeSpan.FromSeconds(10))
                await Task.Delay(100, CancellationToken.None);
        }
    }

    /// <summary>Alive, and started with a command line naming this engine's directory (dockerd's flags, containerd's config).</summary>
    private bool IsOurs(int pid)
    {
        if (!IsAlive(pid))
            return false;
        try
        {
            var arguments = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cmdline").Split('\0');
            return arguments.Any(a => a.Contains(directory.FullPath, StringComparison.Ordinal));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Runs a program to its end (at most 5 minutes) and returns its exit code and output.</summary>
    private static async Task<(int Exit, string Output, string Error)> RunAsync(IReadOnlyList<string> command, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var argument in command.Skip(1))
            info.ArgumentList.Add(argument);
        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(5));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await output, await error);
    }

    private static void Signal(int pid, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, pid.ToString(CultureInfo.InvariantCulture)]) { RedirectStandardError = true });
        kill?.WaitForExit();
    }

    /// <summary>Alive and not a zombie (a reparented dockerd is reaped by whoever adopted it, maybe late).</summary>
    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            return state != "Z" && state != "X";
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            return false;
        }
    }
}
