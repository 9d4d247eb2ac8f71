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
    /// Host ports to block in INPUT: services with host networking, or ports served by docker-proxy when the engine
    /// does not manage iptables. Loopback keeps access.
    /// </summary>
    public IReadOnlyList<string> HostPorts { get; init; } = [];
}

/// <summary>The rules an isolation put in place (as <c>iptables -S</c> lines).</summary>
public sealed record IsolationResult(string IsolationId, string Host, IReadOnlyList<string> Rules, IReadOnlyList<string> Notes);

/// <summary>
/// Blocks access to the platform's published ports with iptables and removes exactly those rules again. Docker's
/// published ports are DNAT-ed in PREROUTING and then forwarded, so they bypass INPUT: the rules go into the
/// <c>DOCKER-USER</c> chain, which Docker jumps to first from FORWARD, and match <c>--ctstate DNAT</c> with the
/// original (published) port. Every rule carries the comment <c>drworkflows-isolation:&lt;id&gt;</c> and lives in
/// chains named after the id, so removal is exact, idempotent and safe after a crash. Rules are not persisted:
/// a reboot of the host lifts the isolation.
/// </summary>
public interface INetworkIsolationService
{
    /// <summary>Applies the isolation (again): re-running replaces the rules of this id, it never duplicates them.</summary>
    Task<IsolationResult> IsolateAsync(IsolationRequest request, CancellationToken cancellationToken);

    /// <summary>Removes every rule and chain of the isolation; returns how many rules were deleted (0 when none were there).</summary>
    Task<int> RestoreAsync(string isolationId, CancellationToken cancellationToken);

    /// <summary>Ids of the isolations currently in place.</summary>
    Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken);
}

internal sealed partial class NetworkIsolationService(IOptions<HostOptions> options, IHostShell shell, ILogger<NetworkIsolationService> logger) : INetworkIsolationService
{
    internal const string TagPrefix = "drworkflows-isolation:";
    internal const string DockerUser = "DOCKER-USER";
    private readonly IReadOnlyList<string> iptables = options.Value.Iptables;

    public async Task<IsolationResult> IsolateAsync(IsolationRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var tag = Tag(request.IsolationId);
        var sources = request.AllowedSources.Select(ValidateSource).ToList();
        var published = request.PublishedPorts.Select(ParsePort).ToList();
        var hostPorts = request.HostPorts.Select(ParsePort).ToList();
        var notes = new List<string>();
        var (forwardChain, inputChain) = Chains(request.IsolationId);

        var hasDockerUser = await ChainExistsAsync(DockerUser, cancellationToken);
        if (!hasDockerUser && hostPorts.Count == 0)
        {
            throw new HostOperationException(
                $"Chain {DockerUser} does not exist on {shell.HostName}: the Docker engine there does not manage iptables (--iptables=false), " +
                "so published ports are served by docker-proxy through INPUT. List those ports as host ports to block them there.",
                HostOperationException.NoDockerUserChain);
        }

        var rules = new List<string>();
        if (hasDockerUser)
        {
            // --ctorigsrc: both directions of a connection an allowed source opened (replies come from the container's address).
            var forward = sources.Select(s => (IReadOnlyList<string>)["-m", "conntrack", "--ctorigsrc", s, .. Comment(tag), "-j", "RETURN"]).ToList();
            if (published.Count == 0)
                forward.Add(["-m", "conntrack", "--ctstate", "DNAT", .. Comment(tag), "-j", "DROP"]);
            foreach (var (port, protocol) in published)
                forward.Add(["-p", protocol, "-m", "conntrack", "--ctstate", "DNAT", "--ctorigdstport", port, .. Comment(tag), "-j", "DROP"]);
            rules.AddRange(await FillChainAsync(forwardChain, DockerUser, tag, forward, cancellationToken));
        }
        else
        {
            notes.Add($"{DockerUser} does not exist (the engine does not manage iptables): only the host ports were blocked, in INPUT.");
        }

        if (hostPorts.Count > 0)
        {
            var input = new List<IReadOnlyList<string>> { (IReadOnlyList<string>)["-i", "lo", .. Comment(tag), "-j", "RETURN"] };
            input.AddRange(sources.Select(s => (IReadOnlyList<string>)["-s", s, .. Comment(tag), "-j", "RETURN"]));
            foreach (var (port, protocol) in hostPorts)
                input.Add(["-p", protocol, "--dport", port, .. Comment(tag), "-j", "DROP"]);
            rules.AddRange(await FillChainAsync(inputChain, "INPUT", tag, input, cancellationToken));
        }
        else if (await ChainExistsAsync(inputChain, cancellationToken))
        {
            // A previous run of this id blocked host ports that this one does not: take those rules away.
            await RemoveJumpsAsync("INPUT", tag, cancellationToken);
            await DeleteChainAsync(inputChain, cancellationToken);
        }

        Log.Isolated(logger, request.IsolationId, shell.HostName, rules.Count);
        return new IsolationResult(request.IsolationId, shell.HostName, rules, notes);
    }

    public async Task<int> RestoreAsync(string isolationId, CancellationToken cancellationToken)
    {
        var tag = Tag(isolationId);
        var (forwardChain, inputChain) = Chains(isolationId);
        var removed = 0;
        foreach (var chain in new[] { DockerUser, "INPUT", "FORWARD" })
        {
            if (await ChainExistsAsync(chain, cancellationToken))
                removed += await RemoveJumpsAsync(chain, tag, cancellationToken);
        }

        foreach (var chain in new[] { forwardChain, inputChain })
        {
            if (await ChainExistsAsync(chain, cancellationToken))
                removed += await DeleteChainAsync(chain, cancellationToken);
        }

        Log.IsolationRemoved(logger, isolationId, shell.HostName, removed);
        return removed;
    }

    public async Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken)
    {
        var all = await IptablesAsync(["-S"], cancellationToken);
        return [.. TagRegex().Matches(all.StandardOutput).Select(m => m.Groups[1].Value).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    /// <summary>Validates the id (it becomes part of a comment and of chain names) and returns the rule tag.</summary>
    internal static string Tag(string isolationId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(isolationId);
        if (isolationId.Length > 200 || !IdRegex().IsMatch(isolationId))
            throw new ArgumentException($"Isolation id '{isolationId}' must be 1-200 characters of letters, digits, '.', '_' and '-'.", nameof(isolationId));
        return TagPrefix + isolationId;
    }

    /// <summary>Chain names: DRW-&lt;10 hex of SHA-256(id)&gt;-F (forwarded, from DOCKER-USER) and -I (INPUT); at most 28 characters.</summary>
    internal static (string Forward, string Input) Chains(string isolationId)
    {
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(isolationId)))[..10];
        return ($"DRW-{hash}-F", $"DRW-{hash}-I");
    }

    /// <summary>Creates or flushes <paramref name="chain"/>, appends the rules, and makes sure <paramref name="parent"/> jumps to it first.</summary>
    private async Task<IReadOnlyList<string>> FillChainAsync(string chain, string parent, string tag, IReadOnlyList<IReadOnlyList<string>> rules, CancellationToken cancellationToken)
    {
        if (await ChainExistsAsync(chain, cancellationToken))
            await RequireAsync(["-F", chain], cancellationToken);
        else
            await RequireAsync(["-N", chain], cancellationToken);
        foreach (var rule in rules)
            await RequireAsync(["-A", chain, .. rule], cancellationToken);
        IReadOnlyList<string> jump = [.. Comment(tag), "-j", chain];
        if (!(await IptablesAsync(["-C", parent, .. jump], cancellationToken)).Succeeded)
            await RequireAsync(["-I", parent, "1", .. jump], cancellationToken);
        var listing = await RequireAsync(["-S", chain], cancellationToken);
        return [.. listing.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l.StartsWith("-A ", StringComparison.Ordinal))];
    }

    /// <summary>Deletes every rule of <paramref name="chain"/> carrying exactly <paramref name="tag"/>.</summary>
    private async Task<int> RemoveJumpsAsync(string chain, string tag, CancellationToken cancellationToken)
    {
        var listing = await RequireAsync(["-S", chain], cancellationToken);
        var removed = 0;
        foreach (var line in listing.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var tokens = Tokenize(line);
            var comment = tokens.IndexOf("--comment");
            if (tokens.Count < 2 || tokens[0] != "-A" || comment < 0 || comment + 1 >= tokens.Count || tokens[comment + 1] != tag)
                continue;
            await RequireAsync(["-D", .. tokens.Skip(1)], cancellationToken);
            removed++;
        }

        return removed;
    }

    private async Task<int> DeleteChainAsync(string chain, CancellationToken cancellationToken)
    {
        var listing = await RequireAsync(["-S", chain], cancellationToken);
        var rules = listing.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.StartsWith("-A ", StringComparison.Ordinal));
        await RequireAsync(["-F", chain], cancellationToken);
        await RequireAsync(["-X", chain], cancellationToken);
        return rules;
    }

    private async Task<bool> ChainExistsAsync(string chain, CancellationToken cancellationToken) =>
        (await IptablesAsync(["-S", chain], cancellationToken)).Succeeded;

    private async Task<CommandResult> RequireAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var result = await IptablesAsync(arguments, cancellationToken);
        if (!result.Succeeded)
        {
            throw new HostOperationException(
                $"`{string.Join(' ', iptables)} {string.Join(' ', arguments)}` failed on {shell.HostName} (exit {result.ExitCode}): {result.Summary}",
                HostOperationException.CommandFailed);
        }

        return result;
    }

    private async Task<CommandResult> IptablesAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        try
        {
            // -w: wait for the xtables lock instead of failing when Docker changes rules at the same moment.
            return await shell.RunAsync(new CommandLine(iptables[0], [.. iptables.Skip(1), "-w", .. arguments]), true, cancellationToken);
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
