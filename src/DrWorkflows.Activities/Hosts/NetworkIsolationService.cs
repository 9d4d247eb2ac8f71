using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Hosts;

/// <summary>What to isolate. Ports are <c>443</c> (TCP) or <c>53/udp</c>.</summary>
public sealed record IsolationRequest(string IsolationId)
{
    /// <summary>Sources that keep access (CIDRs or addresses), e.g. the admin network; checked before any drop.</summary>
    public IReadOnlyList<string> AllowedSources { get; init; } = [];

    /// <summary>Published container ports to block (as published on the host); all published ports when empty.</summary>
    public IReadOnlyList<string> PublishedPorts { get; init; } = [];

    /// <summary>
    /// The ports the engine reports as published by the platform's containers (<c>docker inspect</c>). Each one is
    /// probed after the isolation; when the engine has no <c>DOCKER-USER</c> chain and <see cref="PublishedPorts"/>
    /// is empty, these are the ports blocked in the <c>raw</c> table.
    /// </summary>
    public IReadOnlyList<Docker.PublishedPort> ProjectPorts { get; init; } = [];

    /// <summary>
    /// Host ports to block in INPUT: services with host networking, or ports served by docker-proxy when the engine
    /// does not manage iptables. Loopback keeps access.
    /// </summary>
    public IReadOnlyList<string> HostPorts { get; init; } = [];
}

/// <summary>
/// An isolation in place and checked: the rules (as <c>iptables -S</c> lines), how published ports were blocked,
/// and what the probe found before and after (every target unreachable after, or the step would have failed).
/// </summary>
public sealed record IsolationResult(
    string IsolationId,
    string Host,
    string Mode,
    IReadOnlyList<string> Rules,
    IReadOnlyList<string> Notes,
    string ProbeSource,
    IReadOnlyList<ProbeResult> Before,
    IReadOnlyList<ProbeResult> After)
{
    /// <summary>The targets that answered before the isolation: lifting it must make them answer again.</summary>
    public IReadOnlyList<IsolationTarget> ReachableBefore => [.. Before.Where(p => p.Reachable).Select(p => p.Target)];
}

/// <summary>An isolation lifted and checked: rules removed (none left with its tag), and the expected ports answering again.</summary>
public sealed record IsolationLift(string IsolationId, string Host, int RulesRemoved, string ProbeSource, IReadOnlyList<ProbeResult> After, IReadOnlyList<string> Notes);

/// <summary>Whether an isolation can be applied and checked on the host, and how published ports would be blocked.</summary>
public sealed record IsolationCapability(string Host, string Mode, IReadOnlyList<string> Problems)
{
    public bool Possible => Problems.Count == 0;
}

/// <summary>
/// Blocks access to the platform's published ports with iptables, checks the effect from a source that is not
/// allowed, and removes exactly those rules again (checking that too). With a <c>DOCKER-USER</c> chain (dockerd
/// managing iptables), published ports are DNAT-ed in PREROUTING and then forwarded, so they bypass INPUT: the rules
/// go into <c>DOCKER-USER</c>, which Docker jumps to first from FORWARD, and match <c>--ctstate DNAT</c> with the
/// original (published) port. Without it (<c>--iptables=false</c>: published ports are served by docker-proxy), they go
/// into the <c>raw</c> table's PREROUTING, before any NAT or proxy sees the packet. Loopback keeps access in both.
/// Every rule carries the comment <c>drworkflows-isolation:&lt;id&gt;</c> and lives in chains named after the id, so
/// removal is exact, idempotent and safe after a crash. Rules are not persisted: a reboot of the host lifts the isolation.
/// </summary>
public interface INetworkIsolationService
{
    /// <summary>
    /// Applies the isolation (again: re-running replaces the rules of this id, it never duplicates them), then probes
    /// every target. Throws <see cref="HostOperationException"/> with <c>host.isolation-not-effective</c> when a target
    /// still answers, or <c>host.isolation-unverified</c> when the effect cannot be measured; the rules stay in place.
    /// </summary>
    Task<IsolationResult> IsolateAsync(IsolationRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Removes every rule and chain of the isolation, checks none is left, and that each of <paramref name="expectReachable"/>
    /// answers again (<c>host.isolation-not-lifted</c> otherwise).
    /// </summary>
    Task<IsolationLift> RestoreAsync(string isolationId, IReadOnlyList<IsolationTarget> expectReachable, CancellationToken cancellationToken);

    /// <summary>Ids of the isolations currently in place.</summary>
    Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Whether isolation is possible on the host: iptables usable, a way to block published ports, the probe available.</summary>
    Task<IsolationCapability> CheckAsync(CancellationToken cancellationToken);
}

internal sealed partial class NetworkIsolationService(IOptions<HostOptions> options, IHostShell shell, ILogger<NetworkIsolationService> logger) : INetworkIsolationService
{
    internal const string TagPrefix = "drworkflows-isolation:";
    internal const string DockerUser = "DOCKER-USER";
    internal const string DockerUserMode = "DOCKER-USER (forwarded, DNAT-ed traffic)";
    internal const string RawMode = "raw PREROUTING (no DOCKER-USER chain: published ports served by docker-proxy)";
    private const string Raw = "raw";
    private readonly IReadOnlyList<string> iptables = options.Value.Iptables;
    private readonly IsolationProbe probe = new(options, shell, logger);

    public async Task<IsolationResult> IsolateAsync(IsolationRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var tag = Tag(request.IsolationId);
        var sources = request.AllowedSources.Select(ValidateSource).ToList();
        var published = request.PublishedPorts.Select(ParsePort).ToList();
        var hostPorts = request.HostPorts.Select(ParsePort).ToList();
        var notes = new List<string>();
        var (forwardChain, inputChain, rawChain) = Chains(request.IsolationId);
        var targets = await probe.ResolveHostPortsAsync(Targets(request, published, hostPorts, notes), notes, cancellationToken);
        var probed = targets.Where(t => t.Protocol == "tcp").ToList();

        // The state before, from the probe: a target that answered then and does not now was closed by these rules.
        var alreadyApplied = await ChainExistsAsync(null, forwardChain, cancellationToken) || await ChainExistsAsync(null, inputChain, cancellationToken)
            || await ChainExistsAsync(Raw, rawChain, cancellationToken);
        ProbeRound? before = null;
        if (alreadyApplied)
            notes.Add("The rules of this isolation were already in place (a re-run): there is no probe of the state before it.");
        else if (probed.Count > 0)
            before = await probe.ProbeAsync(request.IsolationId, probed, sources, cancellationToken);

        var rules = new List<string>();
        var hasDockerUser = await ChainExistsAsync(null, DockerUser, cancellationToken);
        var mode = hasDockerUser ? DockerUserMode : RawMode;
        if (hasDockerUser)
        {
            // --ctorigsrc: both directions of a connection an allowed source opened (replies come from the container's address).
            var forward = sources.Select(s => (IReadOnlyList<string>)["-m", "conntrack", "--ctorigsrc", s, .. Comment(tag), "-j", "RETURN"]).ToList();
            if (published.Count == 0)
                forward.Add(["-m", "conntrack", "--ctstate", "DNAT", .. Comment(tag), "-j", "DROP"]);
            foreach (var (port, protocol) in published)
                forward.Add(["-p", protocol, "-m", "conntrack", "--ctstate", "DNAT", "--ctorigdstport", port, .. Comment(tag), "-j", "DROP"]);
            rules.AddRange(await FillChainAsync(null, forwardChain, DockerUser, tag, forward, cancellationToken));
            await DropChainAsync(Raw, "PREROUTING", rawChain, tag, cancellationToken);
        }
        else
        {
            // No DOCKER-USER: dockerd does not manage iptables, docker-proxy serves the published ports on the host.
            // raw PREROUTING sees every packet first (before NAT, INPUT and the proxy), whatever the engine does.
            var ports = published.Count > 0
                ? published
                : [.. request.ProjectPorts.Where(p => !p.LoopbackOnly && !p.HostIp.Contains(':', StringComparison.Ordinal))
                    .Select(p => (p.HostPort.ToString(CultureInfo.InvariantCulture), p.Protocol)).Distinct()];
            if (ports.Count > 0)
            {
                var raw = new List<IReadOnlyList<string>> { (IReadOnlyList<string>)["-i", "lo", .. Comment(tag), "-j", "RETURN"] };
                raw.AddRange(sources.Select(s => (IReadOnlyList<string>)["-s", s, .. Comment(tag), "-j", "RETURN"]));
                foreach (var (port, protocol) in ports)
                    raw.Add(["-p", protocol, "--dport", port, .. Comment(tag), "-j", "DROP"]);
                rules.AddRange((await FillChainAsync(Raw, rawChain, "PREROUTING", tag, raw, cancellationToken)).Select(r => "-t raw " + r));
            }
            else
            {
                notes.Add($"{DockerUser} does not exist and no published port was found: nothing to block in the raw table.");
                await DropChainAsync(Raw, "PREROUTING", rawChain, tag, cancellationToken);
            }

            await DropChainAsync(null, DockerUser, forwardChain, tag, cancellationToken);
        }

        if (hostPorts.Count > 0)
        {
            var input = new List<IReadOnlyList<string>> { (IReadOnlyList<string>)["-i", "lo", .. Comment(tag), "-j", "RETURN"] };
            input.AddRange(sources.Select(s => (IReadOnlyList<string>)["-s", s, .. Comment(tag), "-j", "RETURN"]));
            foreach (var (port, protocol) in hostPorts)
                input.Add(["-p", protocol, "--dport", port, .. Comment(tag), "-j", "DROP"]);
            rules.AddRange(await FillChainAsync(null, inputChain, "INPUT", tag, input, cancellationToken));
        }
        else
        {
            // A previous run of this id blocked host ports that this one does not: take those rules away.
            await DropChainAsync(null, "INPUT", inputChain, tag, cancellationToken);
        }

        Log.Isolated(logger, request.IsolationId, shell.HostName, rules.Count);

        // Done means the effect was measured: every target unreachable from a source that is not allowed.
        var after = probed.Count > 0 ? await probe.ProbeAsync(request.IsolationId, probed, sources, cancellationToken) : null;
        if (targets.Count == 0)
            notes.Add("Nothing to check: the project publishes no port and no host port was given to block.");
        var result = new IsolationResult(request.IsolationId, shell.HostName, mode, rules, notes, after?.Source ?? before?.Source ?? string.Empty, before?.Results ?? [], after?.Results ?? []);
        Verify(request, result, targets, before, after);
        return result;
    }

    public async Task<IsolationLift> RestoreAsync(string isolationId, IReadOnlyList<IsolationTarget> expectReachable, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(expectReachable);
        var tag = Tag(isolationId);
        var (forwardChain, inputChain, rawChain) = Chains(isolationId);
        var removed = 0;
        foreach (var (table, chain) in new[] { ((string?)null, DockerUser), (null, "INPUT"), (null, "FORWARD"), (Raw, "PREROUTING") })
        {
            if (await ChainExistsAsync(table, chain, cancellationToken))
                removed += await RemoveJumpsAsync(table, chain, tag, cancellationToken);
        }

        foreach (var (table, chain) in new[] { ((string?)null, forwardChain), (null, inputChain), (Raw, rawChain) })
        {
            if (await ChainExistsAsync(table, chain, cancellationToken))
                removed += await DeleteChainAsync(table, chain, cancellationToken);
        }

        Log.IsolationRemoved(logger, isolationId, shell.HostName, removed);
        var left = (await ListingAsync(cancellationToken)).Where(l => l.Contains(tag, StringComparison.Ordinal)
            || l.Contains(forwardChain, StringComparison.Ordinal) || l.Contains(inputChain, StringComparison.Ordinal) || l.Contains(rawChain, StringComparison.Ordinal)).ToList();
        if (left.Count > 0)
        {
            throw new HostOperationException(
                $"Isolation {isolationId} is not fully lifted on {shell.HostName}: {left.Count} rule(s) of it remain ({string.Join(" | ", left)}). " +
                $"Remove them by hand (`{string.Join(' ', iptables)} [-t raw] -D ...`), then retry this step.",
                HostOperationException.IsolationNotLifted);
        }

        var notes = new List<string>();
        if (expectReachable.Count == 0)
        {
            notes.Add("No port was expected to answer again (none answered before the isolation, or it was re-applied): only the removal was checked.");
            return new IsolationLift(isolationId, shell.HostName, removed, string.Empty, [], notes);
        }

        var sources = new List<string>();
        var after = await probe.ProbeAsync(isolationId, expectReachable, sources, cancellationToken);
        var closed = after.Results.Where(r => !r.Reachable).ToList();
        if (closed.Count > 0)
        {
            var problem = $"Isolation {isolationId} was lifted on {shell.HostName} (its {removed} rules removed, none left), but {string.Join("; ", closed)} " +
                          $"still does not answer from {after.Source}, although it did before the isolation. Check the service behind it (docker ps, its logs) " +
                          "and other firewall rules on the host (iptables -S; iptables -t raw -S), then retry this step.";
            Log.IsolationNotConfirmed(logger, isolationId, shell.HostName, problem);
            throw new HostOperationException(problem, HostOperationException.IsolationNotLifted);
        }

        return new IsolationLift(isolationId, shell.HostName, removed, after.Source, after.Results, notes);
    }

    public async Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken) =>
        [.. TagRegex().Matches(string.Join('\n', await ListingAsync(cancellationToken))).Select(m => m.Groups[1].Value).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    public async Task<IsolationCapability> CheckAsync(CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        var mode = "unknown";
        var filter = await IptablesAsync(null, ["-S"], cancellationToken);
        if (!filter.Succeeded)
        {
            problems.Add($"`{string.Join(' ', iptables)} -w -S` failed on {shell.HostName} (exit {filter.ExitCode}): {filter.Summary}. Set Host:IptablesCommand (e.g. [\"sudo\", \"-n\", \"iptables\"]) or run as root.");
        }
        else if (filter.StandardOutput.Contains("-N " + DockerUser, StringComparison.Ordinal))
        {
            mode = DockerUserMode;
        }
        else
        {
            var raw = await IptablesAsync(Raw, ["-S"], cancellationToken);
            if (raw.Succeeded)
                mode = RawMode;
            else
                problems.Add($"There is no {DockerUser} chain on {shell.HostName} and its raw table cannot be used (`-t raw -S`: {raw.Summary}): published ports cannot be blocked (Host:IptablesCommand).");
        }

        if (await probe.CheckAsync(cancellationToken) is { } probeProblem)
            problems.Add(probeProblem);
        return new IsolationCapability(shell.HostName, mode, problems);
    }

    /// <summary>Validates the id (it becomes part of a comment and of chain names) and returns the rule tag.</summary>
    internal static string Tag(string isolationId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(isolationId);
        if (isolationId.Length > 200 || !IdRegex().IsMatch(isolationId))
            throw new ArgumentException($"Isolation id '{isolationId}' must be 1-200 characters of letters, digits, '.', '_' and '-'.", nameof(isolationId));
        return TagPrefix + isolationId;
    }

    /// <summary>
    /// Chain names: DRW-&lt;10 hex of SHA-256(id)&gt;-F (forwarded, from DOCKER-USER), -I (INPUT) and -R (raw
    /// PREROUTING); at most 28 characters.
    /// </summary>
    internal static (string Forward, string Input, string Raw) Chains(string isolationId)
    {
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(isolationId)))[..10];
        return ($"DRW-{hash}-F", $"DRW-{hash}-I", $"DRW-{hash}-R");
    }

    /// <summary>What the probe checks: each published port of the project (or each listed one) and each host port.</summary>
    private static List<IsolationTarget> Targets(IsolationRequest request, List<(string Port, string Protocol)> published, List<(string Port, string Protocol)> hostPorts, List<string> notes)
    {
        var targets = new List<IsolationTarget>();
        void Add(IsolationTarget target)
        {
            if (target.Protocol != "tcp")
            {
                notes.Add($"{target} cannot be probed (a connect probe tells nothing for {target.Protocol}).");
                targets.Add(target);
            }
            else if (!targets.Any(t => t.SameEndpoint(target)))
            {
                targets.Add(target);
            }
        }

        var wanted = published.Select(p => (Port: int.Parse(p.Port, CultureInfo.InvariantCulture), p.Protocol)).ToList();
        foreach (var port in request.ProjectPorts)
        {
            if (wanted.Count > 0 && !wanted.Contains((port.HostPort, port.Protocol)))
                continue;
            if (port.LoopbackOnly)
                notes.Add($"Published port {port} is bound to loopback: only processes on the host reach it, and isolation leaves loopback open.");
            else if (port.HostIp.Contains(':', StringComparison.Ordinal))
                notes.Add($"Published port {port} is IPv6: IPv6 is not isolated (ip6tables is not handled).");
            else
                Add(new IsolationTarget { Address = port.HostIp, Port = port.HostPort, Protocol = port.Protocol, What = "published port" });
        }

        foreach (var (port, protocol) in wanted.Where(w => !request.ProjectPorts.Any(p => p.HostPort == w.Port && p.Protocol == w.Protocol)))
            Add(new IsolationTarget { Address = "0.0.0.0", Port = port, Protocol = protocol, What = "published port (not found on the engine)" });
        foreach (var (port, protocol) in hostPorts)
            Add(new IsolationTarget { Address = "0.0.0.0", Port = int.Parse(port, CultureInfo.InvariantCulture), Protocol = protocol, What = IsolationTarget.HostPort });
        return targets;
    }

    /// <summary>Throws unless every target is measured unreachable from the probe after the isolation.</summary>
    private void Verify(IsolationRequest request, IsolationResult result, IReadOnlyList<IsolationTarget> targets, ProbeRound? before, ProbeRound? after)
    {
        var id = request.IsolationId;
        var manual = ManualSteps(request, targets);
        var unprobed = targets.Where(t => t.Protocol != "tcp").ToList();
        if (after is not null)
        {
            var open = after.Results.Where(r => r.Reachable).ToList();
            if (open.Count > 0)
            {
                var problem = $"Isolation {id} on {shell.HostName} does NOT hold: {string.Join("; ", open.Select(o => o.Target))} still answer(s) from {after.Source}, " +
                              $"a source that is not allowed, although the rules were written ({result.Mode}; {result.Rules.Count} rules, they stay in place). {manual}";
                Log.IsolationNotConfirmed(logger, id, shell.HostName, problem);
                throw new HostOperationException(problem, HostOperationException.IsolationNotEffective);
            }

            if (!after.HostAnswered && !(before?.HostAnswered ?? false))
            {
                var problem = $"Isolation {id} on {shell.HostName} cannot be confirmed: the probe from {after.Source} got no answer at all from the host " +
                              $"(not even a refusal on closed port {IsolationProbe.ControlPort}), so 'no answer' may be the probe's path, not the isolation " +
                              $"(after: {string.Join("; ", after.Results.Append(after.Control))}). The rules stay in place. {manual}";
                Log.IsolationNotConfirmed(logger, id, shell.HostName, problem);
                throw new HostOperationException(problem, HostOperationException.IsolationUnverified);
            }
        }

        if (unprobed.Count > 0)
        {
            var problem = $"Isolation {id} on {shell.HostName} cannot be confirmed for {string.Join("; ", unprobed)}: only TCP ports can be probed. The rules stay in place. {manual}";
            Log.IsolationNotConfirmed(logger, id, shell.HostName, problem);
            throw new HostOperationException(problem, HostOperationException.IsolationUnverified);
        }
    }

    private string ManualSteps(IsolationRequest request, IReadOnlyList<IsolationTarget> targets)
    {
        var ports = targets.Count == 0 ? "the platform's ports" : string.Join(", ", targets.Select(t => $"{t.Port}/{t.Protocol}").Distinct());
        return $"Do it by hand now: block {ports} at the edge (cloud security group or upstream firewall), or stop the services that publish them " +
               "(`docker compose stop <services>`); then check from a machine outside the allowed networks " +
               $"({(request.AllowedSources.Count == 0 ? "none allowed" : string.Join(", ", request.AllowedSources))}), e.g. `nc -vz -w 3 <host> <port>`. " +
               "Retry this step to measure again, or skip it with outcome Failed to stop the automated recovery.";
    }

    /// <summary>Creates or flushes <paramref name="chain"/>, appends the rules, and makes sure <paramref name="parent"/> jumps to it first.</summary>
    private async Task<IReadOnlyList<string>> FillChainAsync(string? table, string chain, string parent, string tag, IReadOnlyList<IReadOnlyList<string>> rules, CancellationToken cancellationToken)
    {
        if (await ChainExistsAsync(table, chain, cancellationToken))
            await RequireAsync(table, ["-F", chain], cancellationToken);
        else
            await RequireAsync(table, ["-N", chain], cancellationToken);
        foreach (var rule in rules)
            await RequireAsync(table, ["-A", chain, .. rule], cancellationToken);
        IReadOnlyList<string> jump = [.. Comment(tag), "-j", chain];
        if (!(await IptablesAsync(table, ["-C", parent, .. jump], cancellationToken)).Succeeded)
            await RequireAsync(table, ["-I", parent, "1", .. jump], cancellationToken);
        var listing = await RequireAsync(table, ["-S", chain], cancellationToken);
        return [.. listing.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l.StartsWith("-A ", StringComparison.Ordinal))];
    }

    /// <summary>Removes this isolation's jump from <paramref name="parent"/> and its <paramref name="chain"/>, when they exist.</summary>
    private async Task DropChainAsync(string? table, string parent, string chain, string tag, CancellationToken cancellationToken)
    {
        if (!await ChainExistsAsync(table, chain, cancellationToken))
            return;
        if (await ChainExistsAsync(table, parent, cancellationToken))
            await RemoveJumpsAsync(table, parent, tag, cancellationToken);
        await DeleteChainAsync(table, chain, cancellationToken);
    }

    /// <summary>Deletes every rule of <paramref name="chain"/> carrying exactly <paramref name="tag"/>.</summary>
    private async Task<int> RemoveJumpsAsync(string? table, string chain, string tag, CancellationToken cancellationToken)
    {
        var listing = await RequireAsync(table, ["-S", chain], cancellationToken);
        var removed = 0;
        foreach (var line in listing.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var tokens = Tokenize(line);
            var comment = tokens.IndexOf("--comment");
            if (tokens.Count < 2 || tokens[0] != "-A" || comment < 0 || comment + 1 >= tokens.Count || tokens[comment + 1] != tag)
                continue;
            await RequireAsync(table, ["-D", .. tokens.Skip(1)], cancellationToken);
            removed++;
        }

        return removed;
    }

    private async Task<int> DeleteChainAsync(string? table, string chain, CancellationToken cancellationToken)
    {
        var listing = await RequireAsync(table, ["-S", chain], cancellationToken);
        var rules = listing.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.StartsWith("-A ", StringComparison.Ordinal));
        await RequireAsync(table, ["-F", chain], cancellationToken);
        await RequireAsync(table, ["-X", chain], cancellationToken);
        return rules;
    }

    private async Task<bool> ChainExistsAsync(string? table, string chain, CancellationToken cancellationToken) =>
        (await IptablesAsync(table, ["-S", chain], cancellationToken)).Succeeded;

    /// <summary>Every rule line of the filter and raw tables (the raw table is skipped where it cannot be read).</summary>
    private async Task<IReadOnlyList<string>> ListingAsync(CancellationToken cancellationToken)
    {
        var lines = new List<string>();
        foreach (var table in new[] { null, Raw })
        {
            var listing = await IptablesAsync(table, ["-S"], cancellationToken);
            if (listing.Succeeded)
                lines.AddRange(listing.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(l => table is null ? l : $"-t {table} {l}"));
            else if (table is null)
                throw new HostOperationException($"`{string.Join(' ', iptables)} -w -S` failed on {shell.HostName} (exit {listing.ExitCode}): {listing.Summary}", HostOperationException.CommandFailed);
        }

        return lines;
    }

    private async Task<CommandResult> RequireAsync(string? table, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var result = await IptablesAsync(table, arguments, cancellationToken);
        if (!result.Succeeded)
        {
            throw new HostOperationException(
                $"`{string.Join(' ', iptables)}{(table is null ? string.Empty : $" -t {table}")} {string.Join(' ', arguments)}` failed on {shell.HostName} (exit {result.ExitCode}): {result.Summary}",
                HostOperationException.CommandFailed);
        }

        return result;
    }

    private async Task<CommandResult> IptablesAsync(string? table, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        try
        {
            // -w: wait for the xtables lock instead of failing when Docker changes rules at the same moment.
            IReadOnlyList<string> tableArguments = table is null ? [] : ["-t", table];
            return await shell.RunAsync(new CommandLine(iptables[0], [.. iptables.Skip(1), "-w", .. tableArguments, .. arguments]), true, cancellationToken);
        }
        catch (HostOperationException e) when (e.Code == HostOperationException.ToolMissing)
        {
            throw new HostOperationException($"iptables is not available on {shell.HostName} ({e.Message}): install iptables.", HostOperationException.ToolMissing, false, e);
        }
    }

    private static IReadOnlyList<string> Comment(string tag) => ["-m", "comment", "--comment", tag];

    private static (string Port, string Protocol) ParsePort(string value)
    {
        var parts = value.Trim().Split('/');
        var protocol = parts.Length > 1 ? parts[1].ToLowerInvariant() : "tcp";
        if (parts.Length > 2 || !ushort.TryParse(parts[0], out var port) || port == 0 || protocol is not ("tcp" or "udp"))
            throw new ArgumentException($"'{value}' is not a port: use e.g. 443 or 53/udp.", nameof(value));
        return (port.ToString(System.Globalization.CultureInfo.InvariantCulture), protocol);
    }

    private static string ValidateSource(string value)
    {
        var text = value.Trim();
        if (!System.Net.IPNetwork.TryParse(text, out _) && !System.Net.IPAddress.TryParse(text, out _))
            throw new ArgumentException($"'{value}' is not an address or CIDR, e.g. 10.0.0.0/24.", nameof(value));
        return text;
    }

    /// <summary>Splits an <c>iptables -S</c> line into arguments (double quotes group, as iptables prints comments).</summary>
    internal static List<string> Tokenize(string line)
    {
        var tokens = new List<string>();
        var current = new StringBuilder();
        var quoted = false;
        var any = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (c == '\\' && quoted && i + 1 < line.Length)
            {
                current.Append(line[++i]);
            }
            else if (c == '"')
            {
                quoted = !quoted;
                any = true;
            }
            else if (char.IsWhiteSpace(c) && !quoted)
            {
                if (any || current.Length > 0)
                    tokens.Add(current.ToString());
                current.Clear();
                any = false;
            }
            else
            {
                current.Append(c);
            }
        }

        if (any || current.Length > 0)
            tokens.Add(current.ToString());
        return tokens;
    }

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex IdRegex();

    [GeneratedRegex("--comment \"?drworkflows-isolation:([A-Za-z0-9._-]+)\"?")]
    private static partial Regex TagRegex();
}
