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

    /// <summary>Upper bound of one host command (systemctl restart waits for the engine).</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromMinutes(3);

    internal IReadOnlyList<string> Iptables => IptablesCommand.Count > 0 ? [.. IptablesCommand] : ["iptables"];
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
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
