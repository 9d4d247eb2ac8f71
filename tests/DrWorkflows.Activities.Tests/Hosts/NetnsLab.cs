using System.Diagnostics;
using DrWorkflows.Activities.Hosts;
using DrWorkflows.Testing;

namespace DrWorkflows.Activities.Tests.Hosts;

/// <summary>
/// A Docker-like host in network namespaces, nothing of it outside them: a client namespace, a "host" namespace with
/// the DOCKER-USER chain jumped to from FORWARD and a DNAT rule for a published port (as dockerd with iptables makes
/// them), and a "container" namespace with an HTTP listener. A second listener in the host namespace stands for a
/// service with host networking. Addresses are from 198.18.0.0/15 (benchmarking), on veth links only.
/// </summary>
internal sealed class NetnsLab : IAsyncDisposable
{
    public const string HostAddress = "198.18.77.2";
    public const string ContainerAddress = "198.18.78.2";
    public const int PublishedPort = 18080;
    public const int HostNetworkPort = 18081;

    private readonly string id = Guid.NewGuid().ToString("N")[..6];
    private readonly List<Process> listeners = [];
    private readonly TempDirectory www = new("netns-www");
    private readonly ProcessRunner runner = new(TimeProvider.System);
    private readonly List<string> namespaces = [];

    public string Client => $"drwt-{id}-cli";

    public string Host => $"drwt-{id}-host";

    public string Container => $"drwt-{id}-ctr";

    /// <summary>iptables inside the host namespace, as the isolation service runs it.</summary>
    public IReadOnlyList<string> IptablesCommand => ["ip", "netns", "exec", Host, "iptables"];

    public static async Task<NetnsLab> CreateAsync()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
            Assert.Skip("Network isolation tests need root on Linux (they create network namespaces).");
        foreach (var tool in new[] { "ip", "iptables", "busybox" })
        {
            if (Environment.GetEnvironmentVariable("PATH")!.Split(':').All(d => !File.Exists(Path.Combine(d, tool))))
                Assert.Skip($"Network isolation tests need '{tool}' (apt-get install iproute2 iptables busybox-static).");
        }

        var lab = new NetnsLab();
        try
        {
            await lab.BuildAsync();
        }
        catch
        {
            await lab.DisposeAsync();
            throw;
        }

        return lab;
    }

    /// <summary>Fetches / from the published port (through DNAT and FORWARD) or the host-network port; null when blocked.</summary>
    public async Task<string?> FetchAsync(int port)
    {
        var result = await runner.RunAsync(
            new CommandLine("ip", "netns", "exec", Client, "busybox", "nc", "-w", "2", HostAddress, port.ToString()) { StandardInput = "GET / HTTP/1.0\r\n\r\n" },
            TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        return result.Succeeded && result.StandardOutput.Contains("200 OK", StringComparison.Ordinal) ? result.StandardOutput : null;
    }

    public async Task<string> IptablesSaveAsync() =>
        (await RunAsync("ip", "netns", "exec", Host, "iptables", "-S")).StandardOutput;

    public async ValueTask DisposeAsync()
    {
        foreach (var listener in listeners)
        {
            try
            {
                listener.Kill(entireProcessTree: true);
                await listener.WaitForExitAsync(CancellationToken.None);
            }
            catch (InvalidOperationException)
            {
                // Already exited.
            }

            listener.Dispose();
        }

        foreach (var name in namespaces)
            await runner.RunAsync(new CommandLine("ip", "netns", "del", name), TimeSpan.FromSeconds(10), CancellationToken.None);
        www.Dispose();
    }

    private async Task BuildAsync()
    {
        foreach (var ns in new[] { Client, Host, Container })
        {
            await RunAsync("ip", "netns", "add", ns);
            namespaces.Add(ns);
            await RunAsync("ip", "-n", ns, "link", "set", "lo", "up");
        }

        await RunAsync("ip", "link", "add", $"dw{id}a", "type", "veth", "peer", "name", $"dw{id}b");
        await RunAsync("ip", "link", "set", $"dw{id}a", "netns", Client);
        await RunAsync("ip", "link", "set", $"dw{id}b", "netns", Host);
        await RunAsync("ip", "link", "add", $"dw{id}c", "type", "veth", "peer", "name", $"dw{id}d");
        await RunAsync("ip", "link", "set", $"dw{id}c", "netns", Host);
        await RunAsync("ip", "link", "set", $"dw{id}d", "netns", Container);
        await RunAsync("ip", "-n", Client, "addr", "add", "198.18.77.1/30", "dev", $"dw{id}a");
        await RunAsync("ip", "-n", Host, "addr", "add", $"{HostAddress}/30", "dev", $"dw{id}b");
        await RunAsync("ip", "-n", Host, "addr", "add", "198.18.78.1/30", "dev", $"dw{id}c");
        await RunAsync("ip", "-n", Container, "addr", "add", $"{ContainerAddress}/30", "dev", $"dw{id}d");
        await RunAsync("ip", "-n", Client, "link", "set", $"dw{id}a", "up");
        await RunAsync("ip", "-n", Host, "link", "set", $"dw{id}b", "up");
        await RunAsync("ip", "-n", Host, "link", "set", $"dw{id}c", "up");
        await RunAsync("ip", "-n", Container, "link", "set", $"dw{id}d", "up");
        await RunAsync("ip", "-n", Container, "route", "add", "default", "via", "198.18.78.1");
        await RunAsync("ip", "netns", "exec", Host, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");

        // What dockerd --iptables=true sets up for `-p 18080:80`.
        await RunAsync("ip", "netns", "exec", Host, "iptables", "-N", "DOCKER-USER");
        await RunAsync("ip", "netns", "exec", Host, "iptables", "-A", "DOCKER-USER", "-j", "RETURN");
        await RunAsync("ip", "netns", "exec", Host, "iptables", "-I", "FORWARD", "1", "-j", "DOCKER-USER");
        await RunAsync("ip", "netns", "exec", Host, "iptables", "-t", "nat", "-A", "PREROUTING", "-p", "tcp", "--dport", PublishedPort.ToString(),
            "-j", "DNAT", "--to-destination", $"{ContainerAddress}:80");

        await File.WriteAllTextAsync(Path.Combine(www.FullPath, "index.html"), "platform up\n");
        Listen(Container, $"{ContainerAddress}:80");
        Listen(Host, $"{HostAddress}:{HostNetworkPort}");
        for (var i = 0; i < 50 && (await FetchAsync(PublishedPort) is null || await FetchAsync(HostNetworkPort) is null); i++)
            await Task.Delay(100, TestContext.Current.CancellationToken);
    }

    private void Listen(string ns, string address)
    {
        var info = new ProcessStartInfo("ip") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[] { "netns", "exec", ns, "busybox", "httpd", "-f", "-p", address, "-h", www.FullPath })
            info.ArgumentList.Add(argument);
        listeners.Add(Process.Start(info)!);
    }

    private async Task<CommandResult> RunAsync(params string[] command)
    {
        var result = await runner.RunAsync(new CommandLine(command[0], command[1..]), TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        if (!result.Succeeded)
            throw new InvalidOperationException($"`{string.Join(' ', command)}` failed: {result.Summary}");
        return result;
    }
}
