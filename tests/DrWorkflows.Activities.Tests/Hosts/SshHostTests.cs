using DrWorkflows.Testing;
using DrWorkflows.Activities.Hosts;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Tests.Hosts;

/// <summary>The host services over SSH (SSH.NET) against a real sshd on loopback.</summary>
[TypicalDuration(131)]
public sealed class SshHostTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Disk_space_over_ssh_matches_the_local_reading_of_the_same_path()
    {
        await using var sshd = await SshServerProcess.StartAsync();
        var (remote, local) = (Services(sshd.Options()), Services(null));

        var viaSsh = await remote.Host.GetDiskSpaceAsync("/tmp", Ct);
        var direct = await local.Host.GetDiskSpaceAsync("/tmp", Ct);

        Assert.Equal($"{Environment.UserName}@127.0.0.1:{sshd.Port}", viaSsh.Host);
        Assert.Equal(direct.TotalBytes, viaSsh.TotalBytes);
        Assert.InRange(viaSsh.AvailableBytes, direct.AvailableBytes - (64L << 20), direct.AvailableBytes + (64L << 20));
    }

    [Fact]
    public async Task Arguments_reach_the_remote_program_verbatim_and_exit_codes_come_back()
    {
        await using var sshd = await SshServerProcess.StartAsync();
        var (_, shell) = Services(sshd.Options());

        var printed = await shell.RunAsync(new CommandLine("printf", "%s|", "a b", "$HOME", "it's", "`id`"), false, Ct);
        var failed = await shell.RunAsync(new CommandLine("sh", "-c", "echo oops >&2; exit 7"), false, Ct);
        var missing = await Assert.ThrowsAsync<HostOperationException>(() => shell.RunAsync(new CommandLine("drw-no-such-tool"), false, Ct));

        Assert.Equal("a b|$HOME|it's|`id`|", printed.StandardOutput);
        Assert.Equal(7, failed.ExitCode);
        Assert.Equal("oops", failed.Summary);
        Assert.Equal(HostOperationException.ToolMissing, missing.Code);
    }

    [Fact]
    public async Task Systemctl_over_ssh_reports_that_systemd_is_not_running_there()
    {
        if (Directory.Exists(HostService.SystemdMarker))
            Assert.Skip("systemd runs on this machine; the no-systemd error cannot be observed here.");
        await using var sshd = await SshServerProcess.StartAsync();
        var e = await Assert.ThrowsAsync<HostOperationException>(() => Services(sshd.Options()).Host.RestartServiceAsync(null, Ct));
        Assert.Equal(HostOperationException.NoSystemd, e.Code);
        Assert.Contains($"127.0.0.1:{sshd.Port}", e.Message);
    }

    [Fact]
    public async Task A_host_key_that_does_not_match_the_pin_is_refused()
    {
        await using var sshd = await SshServerProcess.StartAsync();
        const string pinned = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        var e = await Assert.ThrowsAsync<HostOperationException>(() => Services(sshd.Options(pinned)).Host.GetDiskSpaceAsync("/", Ct));
        Assert.Contains(sshd.HostKeySha256, e.Message);
        Assert.Contains(pinned, e.Message);
        Assert.False(e.Retryable);
    }

    [Fact]
    public async Task Network_isolation_works_over_ssh()
    {
        await using var sshd = await SshServerProcess.StartAsync();
        await using var lab = await NetnsLab.CreateAsync();
        var wrapped = Options.Create(lab.Options(sshd.Options()));
        var service = new NetworkIsolationService(wrapped, new HostShell(wrapped, new ProcessRunner(TimeProvider.System)), NullLogger<NetworkIsolationService>.Instance);

        var result = await service.IsolateAsync(new IsolationRequest("via-ssh") { ProjectPorts = [NetnsLab.Published] }, Ct);
        Assert.Null(await lab.FetchAsync(NetnsLab.PublishedPort));
        Assert.Equal(ProbeResult.TimedOut, Assert.Single(result.After).Verdict); // measured by the probe, run over SSH too
        Assert.True((await service.RestoreAsync("via-ssh", result.ReachableBefore, Ct)).RulesRemoved > 0);
        Assert.NotNull(await lab.FetchAsync(NetnsLab.PublishedPort));
    }

    private static (HostService Host, HostShell Shell) Services(SshHostOptions? ssh)
    {
        var options = Options.Create(new HostOptions { Ssh = ssh, CommandTimeout = TimeSpan.FromSeconds(30) });
        var shell = new HostShell(options, new ProcessRunner(TimeProvider.System));
        return (new HostService(options, shell, NullLogger<HostService>.Instance), shell);
    }
}
