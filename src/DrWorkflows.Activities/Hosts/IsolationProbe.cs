using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Hosts;

/// <summary>
/// A port an isolation blocks, as seen from outside: an IPv4 address of the host (<c>0.0.0.0</c> for "any address of
/// the host": the probe then uses the address it reaches the host on), a port and a protocol, and what serves it.
/// </summary>
public sealed record IsolationTarget
{
    public required string Address { get; init; }

    public required int Port { get; init; }

    public string Protocol { get; init; } = "tcp";

    /// <summary>What a port given to block in INPUT is called in <see cref="What"/>.</summary>
    public const string HostPort = "host port";

    /// <summary>What serves it, e.g. <c>published port</c> or <c>host port</c>.</summary>
    public string What { get; init; } = string.Empty;

    public override string ToString() => $"{Address}:{Port.ToString(CultureInfo.InvariantCulture)}/{Protocol}" + (What.Length > 0 ? $" ({What})" : string.Empty);

    internal bool SameEndpoint(IsolationTarget other) => Address == other.Address && Port == other.Port && Protocol == other.Protocol;
}

/// <summary>What one connection attempt from the probe found.</summary>
public sealed record ProbeResult(IsolationTarget Target, string Verdict, string Detail)
{
    public const string Open = "open";
    public const string Refused = "refused";
    public const string TimedOut = "timed out";
    public const string Unreachable = "unreachable";

    /// <summary>A connection was established: the port is reachable from the probe's source.</summary>
    public bool Reachable => Verdict == Open;

    public override string ToString() => $"{Target}: {Verdict}" + (Detail.Length > 0 ? $" ({Detail})" : string.Empty);
}

/// <summary>
/// One round of probes: the source they came from, the results, the control (a closed port, which a reachable host
/// refuses) and whether the path to the host was proven (the control refused, or a target answered).
/// </summary>
public sealed record ProbeRound(string Source, IReadOnlyList<ProbeResult> Results, ProbeResult Control)
{
    public bool HostAnswered => Control.Verdict is ProbeResult.Refused or ProbeResult.Open || Results.Any(r => r.Reachable);
}

/// <summary>
/// Connects to ports of the protected host from a source that is not allowed: a throwaway network namespace on the
/// host, joined to it by a veth pair with a random /30 of <see cref="IsolationProbeOptions.Network"/>. Its packets
/// enter the host on a non-loopback interface, as a client's would, so they meet the same PREROUTING, INPUT and
/// FORWARD rules. Every command goes through the host shell (this machine or SSH), privileged.
/// </summary>
internal sealed class IsolationProbe(IOptions<HostOptions> options, IHostShell shell, ILogger logger)
{
    /// <summary>TCPMUX: nothing listens there, so a reachable host answers with a refusal (proof the path works).</summary>
    internal const int ControlPort = 1;
    private const int MaxParallel = 8;

    private readonly IsolationProbeOptions settings = options.Value.IsolationProbe;

    /// <summary>
    /// Probes every TCP target (connect within <see cref="IsolationProbeOptions.ConnectTimeout"/>) plus the control port.
    /// Throws <see cref="HostOperationException"/> (<c>host.isolation-unverified</c>) when the probe cannot be set up
    /// or a connection attempt gives no verdict.
    /// </summary>
    public async Task<ProbeRound> ProbeAsync(string isolationId, IReadOnlyList<IsolationTarget> targets, IReadOnlyList<string> allowedSources, CancellationToken cancellationToken)
    {
        var suffix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        var ns = $"drw-probe-{suffix}";
        var hostSide = $"drwp{suffix}h";
        var probeSide = $"drwp{suffix}p";
        var (hostAddress, probeAddress) = await PickAddressesAsync(allowedSources, cancellationToken);
        try
        {
            await RequireAsync(["ip", "netns", "add", ns], cancellationToken);
            await RequireAsync([.. HostIp(), "link", "add", hostSide, "type", "veth", "peer", "name", probeSide, "netns", ns], cancellationToken);
            await RequireAsync([.. HostIp(), "addr", "add", $"{hostAddress}/30", "dev", hostSide], cancellationToken);
            await RequireAsync([.. HostIp(), "link", "set", hostSide, "up"], cancellationToken);
            await RequireAsync(["ip", "-n", ns, "addr", "add", $"{probeAddress}/30", "dev", probeSide], cancellationToken);
            await RequireAsync(["ip", "-n", ns, "link", "set", probeSide, "up"], cancellationToken);
            await RequireAsync(["ip", "-n", ns, "link", "set", "lo", "up"], cancellationToken);
            await RequireAsync(["ip", "-n", ns, "route", "add", "default", "via", hostAddress], cancellationToken);

            var control = new IsolationTarget { Address = "0.0.0.0", Port = ControlPort, What = "control: a closed port" };
            using var gate = new SemaphoreSlim(MaxParallel);
            var tasks = targets.Prepend(control).Select(async target =>
            {
                await gate.WaitAsync(cancellationToken);
                try
                {
                    return await ConnectAsync(ns, target, hostAddress, cancellationToken);
                }
                finally
                {
                    gate.Release();
                }
            }).ToList();
            var results = await Task.WhenAll(tasks);
            foreach (var result in results)
                Log.Probed(logger, isolationId, shell.HostName, result.Target, result.Verdict, result.Detail);
            return new ProbeRound($"{probeAddress} (network namespace {ns} on {shell.HostName})", [.. results.Skip(1)], results[0]);
        }
        finally
        {
            // Deleting the namespace destroys its end of the veth pair, and with it the host's end.
            var removed = await RunAsync(["ip", "netns", "del", ns], CancellationToken.None);
            if (!removed.Succeeded && !removed.StandardError.Contains("No such file", StringComparison.Ordinal))
                Log.ProbeCleanupFailed(logger, ns, shell.HostName, removed.Summary);
            await RunAsync([.. HostIp(), "link", "del", hostSide], CancellationToken.None);
        }
    }

    /// <summary>
    /// Where each host port listens (<c>ss -Hltn</c> on the host): all addresses (probed at the probe's own peer address),
    /// a specific IPv4 address (probed there), or loopback / IPv6 only (not probed: noted). A port nothing listens on
    /// stays "any address" (the probe then finds it refused). Other targets pass unchanged.
    /// </summary>
    public async Task<List<IsolationTarget>> ResolveHostPortsAsync(IReadOnlyList<IsolationTarget> targets, List<string> notes, CancellationToken cancellationToken)
    {
        var resolved = new List<IsolationTarget>();
        foreach (var target in targets)
        {
            if (target.What != IsolationTarget.HostPort || target.Protocol != "tcp")
            {
                resolved.Add(target);
                continue;
            }

            IReadOnlyList<string> command = settings.HostNetworkNamespace is { Length: > 0 } hostNs ? ["ip", "netns", "exec", hostNs, "ss", "-Hltn"] : ["ss", "-Hltn"];
            var listing = await RunAsync([.. command, $"sport = :{target.Port.ToString(CultureInfo.InvariantCulture)}"], cancellationToken);
            if (!listing.Succeeded)
            {
                notes.Add($"Where host port {target.Port} listens is unknown (`ss` failed: {listing.Summary}): probed at the host's address.");
                resolved.Add(target);
                continue;
            }

            var addresses = listing.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(f => f.Length >= 4)
                .Select(f => f[3][..f[3].LastIndexOf(':')].Trim('[', ']'))
                .Distinct(StringComparer.Ordinal)
                .ToList();
            var found = false;
            foreach (var address in addresses)
            {
                var any = address is "*" or "0.0.0.0" or "::";
                if (any || (IPAddress.TryParse(address, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !IPAddress.IsLoopback(ip)))
                {
                    var candidate = target with { Address = any ? "0.0.0.0" : address };
                    if (!resolved.Any(r => r.SameEndpoint(candidate)))
                        resolved.Add(candidate);
                    found = true;
                }
                else
                {
                    notes.Add($"Host port {target.Port} also listens on {address}: " + (IPAddress.TryParse(address, out var other) && IPAddress.IsLoopback(other)
                        ? "loopback, which only the host reaches and isolation leaves open."
                        : "IPv6, which is not isolated (ip6tables is not handled)."));
                }
            }

            if (!found)
                resolved.Add(target);
        }

        return resolved;
    }

    /// <summary>Why a probe cannot run on this host (naming what is missing), or <c>null</c>.</summary>
    public async Task<string?> CheckAsync(CancellationToken cancellationToken)
    {
        foreach (var command in new[] { new[] { "ip", "netns", "list" }, ["bash", "-c", "sleep 0.1"] })
        {
            var result = await RunAsync(command, cancellationToken);
            if (!result.Succeeded)
            {
                return $"the isolation probe cannot run on {shell.HostName}: `{string.Join(' ', command)}` failed ({result.Summary}). " +
                       "It needs iproute2 (ip netns, ss), bash and sleep, run as root (Host:Ssh:UseSudo over SSH); see Host:IsolationProbe.";
            }
        }

        return null;
    }

    /// <summary>
    /// Connects in the background and waits for it in steps of 0.1 s counted by bash itself: the time a loaded host
    /// takes to start the probe never counts against the connection, and a slow host only waits longer (a port is
    /// never called blocked because the probe was slow). Exit 0: connected; 124: no answer in time; else connect's error.
    /// </summary>
    internal const string ConnectScript =
        "( exec 3<>\"/dev/tcp/$0/$1\" ) & c=$!; n=$(( $2 * 10 )); " +
        "while [ $n -gt 0 ]; do if ! kill -0 $c 2>/dev/null; then wait $c; exit $?; fi; sleep 0.1; n=$(( n - 1 )); done; " +
        "kill $c 2>/dev/null; exit 124";

    private async Task<ProbeResult> ConnectAsync(string ns, IsolationTarget target, string hostAddress, CancellationToken cancellationToken)
    {
        var address = target.Address == "0.0.0.0" ? hostAddress : target.Address;
        var seconds = Math.Max(1, (int)Math.Ceiling(settings.ConnectTimeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        var result = await RunAsync(
            ["ip", "netns", "exec", ns, "bash", "-c", ConnectScript, address, target.Port.ToString(CultureInfo.InvariantCulture), seconds],
            cancellationToken);
        var detail = $"{address}:{target.Port.ToString(CultureInfo.InvariantCulture)}";
        if (result.ExitCode == 0)
            return new ProbeResult(target, ProbeResult.Open, detail + " accepted the connection");
        if (result.ExitCode == 124)
            return new ProbeResult(target, ProbeResult.TimedOut, detail + $" gave no answer within {seconds} s");
        var error = result.StandardError;
        if (result.ExitCode == 1 && error.Contains("refused", StringComparison.OrdinalIgnoreCase))
            return new ProbeResult(target, ProbeResult.Refused, detail + " refused the connection");
        if (result.ExitCode == 1 && (error.Contains("No route", StringComparison.OrdinalIgnoreCase) || error.Contains("unreachable", StringComparison.OrdinalIgnoreCase)))
            return new ProbeResult(target, ProbeResult.Unreachable, detail + ": " + result.Summary);
        throw new HostOperationException(
            $"The isolation probe gave no verdict for {target} on {shell.HostName}: a connect to {address}:{target.Port} (bash /dev/tcp) " +
            $"in namespace {ns} exited with {result.ExitCode}: {result.Summary}.",
            HostOperationException.IsolationUnverified);
    }

    /// <summary>A random /30 of the probe network: not used on the host yet, and neither address an allowed source.</summary>
    private async Task<(string Host, string Probe)> PickAddressesAsync(IReadOnlyList<string> allowedSources, CancellationToken cancellationToken)
    {
        var network = IPNetwork.Parse(settings.Network);
        var allowed = allowedSources.Select(s => s.Contains('/', StringComparison.Ordinal) ? IPNetwork.Parse(s) : new IPNetwork(IPAddress.Parse(s), 32)).ToList();
        var used = await RunAsync([.. HostIp(), "-4", "-o", "addr", "show"], cancellationToken);
        var inUse = used.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => System.Text.RegularExpressions.Regex.Match(l, @"inet (\d+\.\d+\.\d+\.\d+)/(\d+)"))
            .Where(m => m.Success)
            .Select(m => (Address: IPAddress.Parse(m.Groups[1].Value), Prefix: int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)))
            .ToList();
        var baseValue = ToUInt(network.BaseAddress);
        var blocks = 1u << (30 - network.PrefixLength);
        for (var attempt = 0; attempt < 64; attempt++)
        {
            var block = baseValue + ((uint)RandomNumberGenerator.GetInt32((int)Math.Min(blocks, int.MaxValue)) << 2);
            var hostAddress = ToAddress(block + 1);
            var probeAddress = ToAddress(block + 2);
            var subnet = new IPNetwork(ToAddress(block), 30);
            if (allowed.Any(a => a.Contains(probeAddress) || a.Contains(hostAddress))
                || inUse.Any(u => subnet.Contains(u.Address) || new IPNetwork(ToAddress(ToUInt(u.Address) & (u.Prefix == 0 ? 0 : uint.MaxValue << (32 - u.Prefix))), u.Prefix).Contains(hostAddress)))
                continue;
            return (hostAddress.ToString(), probeAddress.ToString());
        }

        throw new HostOperationException(
            $"No free /30 in Host:IsolationProbe:Network {settings.Network} outside the allowed sources ({string.Join(", ", allowedSources)}) on {shell.HostName}: " +
            "a probe from an allowed source would prove nothing. Choose a probe network that no allowed source covers.",
            HostOperationException.IsolationUnverified);
    }

    private IReadOnlyList<string> HostIp() =>
        settings.HostNetworkNamespace is { Length: > 0 } ns ? ["ip", "-n", ns] : ["ip"];

    private async Task RequireAsync(IReadOnlyList<string> command, CancellationToken cancellationToken)
    {
        var result = await RunAsync(command, cancellationToken);
        if (!result.Succeeded)
        {
            throw new HostOperationException(
                $"The isolation probe could not be set up on {shell.HostName}: `{string.Join(' ', command)}` failed (exit {result.ExitCode}): {result.Summary}.",
                HostOperationException.IsolationUnverified);
        }
    }

    private async Task<CommandResult> RunAsync(IReadOnlyList<string> command, CancellationToken cancellationToken)
    {
        try
        {
            return await shell.RunAsync(new CommandLine(command[0], [.. command.Skip(1)]), true, cancellationToken);
        }
        catch (HostOperationException e) when (e.Code == HostOperationException.ToolMissing)
        {
            return new CommandResult(127, string.Empty, e.Message, TimeSpan.Zero);
        }
    }

    private static uint ToUInt(IPAddress address)
    {
        var bytes = address.GetAddressBytes();
        return ((uint)bytes[0] << 24) | ((uint)bytes[1] << 16) | ((uint)bytes[2] << 8) | bytes[3];
    }

    private static IPAddress ToAddress(uint value) =>
        new([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);
}
