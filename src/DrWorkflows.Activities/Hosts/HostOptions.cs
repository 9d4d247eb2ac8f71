using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Hosts;

/// <summary>
/// The Docker host the host activities act on: this machine (default) or a remote one over SSH. Bound from
/// configuration section <c>Host</c>.
/// </summary>
public sealed class HostOptions
{
    public const string SectionName = "Host";

    /// <summary>SSH target; <c>null</c> means this machine.</summary>
    public SshHostOptions? Ssh { get; set; }

    /// <summary>
    /// The iptables program and leading arguments, e.g. <c>["iptables"]</c>, <c>["sudo", "-n", "iptables"]</c>, or
    /// <c>["ip", "netns", "exec", "ns1", "iptables"]</c>.
    /// </summary>
    public IList<string> IptablesCommand { get; } = [];

    /// <summary>The systemd unit of the Docker engine.</summary>
    public string DockerServiceName { get; set; } = "docker";

    /// <summary>
    /// How scenario 4 restarts the Docker engine: a program and its arguments, run on the host (privileged over SSH),
    /// e.g. <c>["service", "docker", "restart"]</c> or <c>["/usr/local/sbin/restart-dockerd"]</c>. When empty,
    /// <c>systemctl restart &lt;DockerServiceName&gt;</c>. The restart counts as done only when the engine answers again.
    /// </summary>
    public IList<string> DockerRestartCommand { get; } = [];

    /// <summary>How long the engine may take to answer again after the restart command returned.</summary>
    public TimeSpan DockerRestartTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Upper bound of one host command (systemctl restart waits for the engine).</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>How an isolation's effect is checked (probes from a source that is not allowed).</summary>
    public IsolationProbeOptions IsolationProbe { get; set; } = new();

    internal IReadOnlyList<string> Iptables => IptablesCommand.Count > 0 ? [.. IptablesCommand] : ["iptables"];
}

/// <summary>
/// The probe that checks an isolation's effect: a throwaway network namespace on the protected host, joined to it by
/// a veth pair whose addresses come from <see cref="Network"/> (never an allowed source). From there each blocked port
/// is connected to, as a machine outside the allowed networks would (its packets arrive on a non-loopback interface
/// and pass the host's PREROUTING, INPUT and FORWARD rules). Needs <c>ip</c> and <c>ss</c> (iproute2), <c>bash</c> and
/// <c>sleep</c> on the host, and root (sudo over SSH).
/// </summary>
public sealed class IsolationProbeOptions
{
    /// <summary>Addresses for the probe's veth pair; each probe takes a random /30 in it. Must not overlap the allowed sources.</summary>
    public string Network { get; set; } = "198.19.0.0/16";

    /// <summary>
    /// How long one connection attempt may take before the port counts as blocked (dropped packets time out). Counted
    /// by the probe once it runs, so a loaded host waits longer, never shorter.
    /// </summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// The network namespace the platform's host side lives in, when it is not the host's own (tests, or a host that
    /// runs Docker in a namespace); the probe's veth peer is put there. Empty: the namespace of the host shell.
    /// </summary>
    public string? HostNetworkNamespace { get; set; }
}

/// <summary>An SSH target. The host key is pinned: the connection is refused when it does not match.</summary>
public sealed class SshHostOptions
{
    public string Host { get; set; } = string.Empty;

    public int Port { get; set; } = 22;

    public string User { get; set; } = "root";

    /// <summary>Private key file (OpenSSH or PEM format).</summary>
    public string? PrivateKeyPath { get; set; }

    /// <summary>Passphrase of the private key (secret).</summary>
    public string? PrivateKeyPassphrase { get; set; }

    /// <summary>Password (secret); prefer a key.</summary>
    public string? Password { get; set; }

    /// <summary>Expected host key fingerprint as printed by <c>ssh-keygen -lf</c>: <c>SHA256:base64</c>.</summary>
    public string HostKeySha256 { get; set; } = string.Empty;

    /// <summary>Prefix privileged commands (iptables, systemctl) with <c>sudo -n</c>.</summary>
    public bool UseSudo { get; set; }

    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(15);
}

internal sealed class HostOptionsValidator : IValidateOptions<HostOptions>
{
    public ValidateOptionsResult Validate(string? name, HostOptions options)
    {
        var failures = new List<string>();
        if (options.Ssh is { } ssh)
        {
            if (string.IsNullOrWhiteSpace(ssh.Host))
                failures.Add("Host:Ssh:Host is required for a remote host.");
            if (ssh.PrivateKeyPath is null && ssh.Password is null)
                failures.Add("Host:Ssh needs PrivateKeyPath or Password.");
            if (ssh.PrivateKeyPath is not null && !File.Exists(ssh.PrivateKeyPath))
                failures.Add($"Host:Ssh:PrivateKeyPath '{ssh.PrivateKeyPath}' does not exist.");
            if (!ssh.HostKeySha256.StartsWith("SHA256:", StringComparison.Ordinal))
                failures.Add("Host:Ssh:HostKeySha256 must pin the host key as 'SHA256:...' (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub).");
        }

        if (options.CommandTimeout <= TimeSpan.Zero)
            failures.Add("Host:CommandTimeout must be positive.");
        if (options.DockerRestartTimeout <= TimeSpan.Zero)
            failures.Add("Host:DockerRestartTimeout must be positive.");
        if (options.DockerRestartCommand.Count > 0)
        {
            var program = options.DockerRestartCommand[0];
            if (string.IsNullOrWhiteSpace(program))
                failures.Add("Host:DockerRestartCommand must start with a program, e.g. [\"service\", \"docker\", \"restart\"].");
            else if (options.Ssh is null && program.Contains('/', StringComparison.Ordinal) && !File.Exists(program))
                failures.Add($"Host:DockerRestartCommand: '{program}' does not exist on this host.");
            else if (options.Ssh is null && !program.Contains('/', StringComparison.Ordinal) && !OnPath(program))
                failures.Add($"Host:DockerRestartCommand: '{program}' is not on the PATH of this host.");
        }

        var probe = options.IsolationProbe;
        if (!System.Net.IPNetwork.TryParse(probe.Network, out var network) || network.BaseAddress.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork || network.PrefixLength > 30)
            failures.Add($"Host:IsolationProbe:Network '{probe.Network}' must be an IPv4 network of /30 or larger, e.g. 198.19.0.0/16.");
        if (probe.ConnectTimeout <= TimeSpan.Zero || probe.ConnectTimeout > TimeSpan.FromMinutes(1))
            failures.Add("Host:IsolationProbe:ConnectTimeout must be between 0 and 1 minute.");
        if (probe.HostNetworkNamespace is { Length: > 0 } ns && !System.Text.RegularExpressions.Regex.IsMatch(ns, "^[A-Za-z0-9._-]+$"))
            failures.Add($"Host:IsolationProbe:HostNetworkNamespace '{ns}' is not a namespace name.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Any(d => File.Exists(Path.Combine(d, program)));
}
