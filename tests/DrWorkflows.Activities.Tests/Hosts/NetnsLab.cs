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

    /// <summary>What the engine would report for the published port.</summary>
    public static DrWorkflows.Activities.Docker.PublishedPort Published => new("0.0.0.0", PublishedPort, "tcp", 80);

    /// <summary>Host options for the isolation service in this lab: iptables and the probe's veth peer in the host namespace.</summary>
    public HostOptions Options(SshHostOptions? ssh = null)
    {
        var options = new HostOptions { Ssh = ssh };
        foreach (var part in IptablesCommand)
            options.IptablesCommand.Add(part);
        options.IsolationProbe.HostNetworkNamespace = Host;
        options.IsolationProbe.ConnectTimeout = TimeSpan.FromSeconds(2);
        return options;
    }

    /// <summary>Skips the test unless it runs as root on Linux with ip, iptables, busybox, bash and timeout.</summary>
    public static void RequireTools()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
            Assert.Skip("Network isolation tests need root on Linux (they create network namespaces).");
        foreach (var tool in new[] { "ip", "iptables", "busybox", "bash", "timeout" })
        {
            if (Environment.GetEnvironmentVariable("PATH")!.Split(':').All(d => !File.Exists(Path.Combine(d, tool))))
                Assert.Skip($"Network isolation tests need '{tool}' (apt-get install iproute2 iptables busybox-static bash coreutils).");
        }
    }

    public static async Task<NetnsLab> CreateAsync()
    {
        RequireTools();
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

    /// <summary>
    /// Fetches / from a process on the host itself (inside the host namespace), at the host's own address: the kernel
    /// sends it over <c>lo</c>, whatever the address.
    /// </summary>
    public async Task<string?> FetchFromHostItselfAsync(int port)
    {
        var result = await runner.RunAsync(
            new CommandLine("ip", "netns", "exec", Host, "busybox", "nc", "-w", "2", HostAddress, port.ToString()) { StandardInput = "GET / HTTP/1.0\r\n\r\n" },
            TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        return result.Succeeded && result.StandardOutput.Contains("200 OK", StringComparison.Ordinal) ? result.StandardOutput : null;
    }

    public async Task<string> IptablesSaveAsync(string table = "filter") =>
        (await RunAsync("ip", "netns", "exec", Host, "iptables", "-t", table, "-S")).StandardOutput;

    /// <summary>Runs iptables in the host namespace (a rule someone else added).</summary>
    public Task IptablesAsync(params string[] arguments) => RunAsync(["ip", "netns", "exec", Host, "iptables", "-w", .. arguments]);

    /// <summary>Makes the host namespace look like dockerd with <c>--iptables=false</c>: no DOCKER-USER chain (the DNAT stays).</summary>
    public async Task RemoveDockerUserAsync()
    {
        await IptablesAsync("-D", "FORWARD", "-j", "DOCKER-USER");
        await IptablesAsync("-F", "DOCKER-USER");
        await IptablesAsync("-X", "DOCKER-USER");
    }

    public async Task<bool> NamespaceExistsAsync(string name) =>
        (await RunAsync("ip", "netns", "list")).StandardOutput.Split('\n').Any(l => l.Split(' ')[0] == name);

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

/// <summary>
/// A client on another network: a namespace of its own joined to this machine's namespace by a veth pair, with a
/// random /30 of 198.18.128.0/17 (benchmarking addresses, veth only). Its packets reach this machine on a
/// non-loopback interface, as a remote client's would.
/// </summary>
internal sealed class OutsideClient : IAsyncDisposable
{
    private readonly ProcessRunner runner = new(TimeProvider.System);
    private readonly string id = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3));
    private bool namespaceAdded;
    private bool linkAdded;

    private OutsideClient()
    {
    }

    public string Namespace => $"drwt-{id}-out";

    /// <summary>This machine's end of the veth pair: the address the client connects to.</summary>
    public string HostAddress { get; private set; } = string.Empty;

    private string HostSide => $"dwo{id}h";

    public static async Task<OutsideClient> CreateAsync()
    {
        NetnsLab.RequireTools();
        var client = new OutsideClient();
        try
        {
            await client.BuildAsync();
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }

        return client;
    }

    /// <summary>GET /index.html on this machine's veth address; the body, or null when nothing answered in 2 s.</summary>
    public async Task<string?> GetAsync(int port)
    {
        var result = await runner.RunAsync(
            new CommandLine("ip", "netns", "exec", Namespace, "busybox", "nc", "-w", "2", HostAddress, port.ToString(System.Globalization.CultureInfo.InvariantCulture)) { StandardInput = "GET /index.html HTTP/1.0\r\n\r\n" },
            TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        var text = result.StandardOutput;
        return text.Contains("200 OK", StringComparison.Ordinal) ? text[(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..].Trim() : null;
    }

    public async ValueTask DisposeAsync()
    {
        if (namespaceAdded)
            await runner.RunAsync(new CommandLine("ip", "netns", "del", Namespace), TimeSpan.FromSeconds(20), CancellationToken.None);
        if (linkAdded)
            await runner.RunAsync(new CommandLine("ip", "link", "del", HostSide), TimeSpan.FromSeconds(20), CancellationToken.None); // gone with the namespace, normally
    }

    private async Task BuildAsync()
    {
        var used = (await RunAsync("ip", "-4", "-o", "addr", "show")).StandardOutput;
        int third, fourth;
        do
        {
            third = 128 + System.Security.Cryptography.RandomNumberGenerator.GetInt32(128);
            fourth = 4 * System.Security.Cryptography.RandomNumberGenerator.GetInt32(64);
        }
        while (used.Contains($"198.18.{third}.{fourth + 1}/", StringComparison.Ordinal) || used.Contains($"198.18.{third}.{fourth + 2}/", StringComparison.Ordinal));
        HostAddress = $"198.18.{third}.{fourth + 1}";
        await RunAsync("ip", "netns", "add", Namespace);
        namespaceAdded = true;
        await RunAsync("ip", "link", "add", HostSide, "type", "veth", "peer", "name", $"dwo{id}c", "netns", Namespace);
        linkAdded = true;
        await RunAsync("ip", "addr", "add", $"{HostAddress}/30", "dev", HostSide);
        await RunAsync("ip", "link", "set", HostSide, "up");
        await RunAsync("ip", "-n", Namespace, "addr", "add", $"198.18.{third}.{fourth + 2}/30", "dev", $"dwo{id}c");
        await RunAsync("ip", "-n", Namespace, "link", "set", $"dwo{id}c", "up");
        await RunAsync("ip", "-n", Namespace, "link", "set", "lo", "up");
        await RunAsync("ip", "-n", Namespace, "route", "add", "default", "via", HostAddress);
    }

    private async Task<CommandResult> RunAsync(params string[] command)
    {
        var result = await runner.RunAsync(new CommandLine(command[0], command[1..]), TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        if (!result.Succeeded)
            throw new InvalidOperationException($"`{string.Join(' ', command)}` failed: {result.Summary}");
        return result;
    }
}
