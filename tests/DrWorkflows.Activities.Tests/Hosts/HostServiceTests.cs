using DrWorkflows.Activities.Hosts;
using DrWorkflows.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Tests.Hosts;

public sealed class HostServiceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Local_disk_space_agrees_with_df()
    {
        using var dir = new TempDirectory("disk");
        var service = Create();

        var space = await service.GetDiskSpaceAsync(dir.FullPath, Ct);

        var df = await new ProcessRunner(TimeProvider.System).RunAsync(new CommandLine("df", "-P", "-k", dir.FullPath), TimeSpan.FromSeconds(10), Ct);
        var expected = HostService.ParseDf("localhost", dir.FullPath, df.StandardOutput);
        Assert.Equal(expected.TotalBytes, space.TotalBytes);
        Assert.InRange(space.AvailableBytes, expected.AvailableBytes - (64L << 20), expected.AvailableBytes + (64L << 20));
        Assert.InRange(space.UsedPercent, 0, 100);
    }

    [Fact]
    public async Task Disk_space_of_a_missing_path_names_it()
    {
        var e = await Assert.ThrowsAsync<HostOperationException>(() => Create().GetDiskSpaceAsync("/nonexistent/drw/backups", Ct));
        Assert.Contains("/nonexistent/drw/backups", e.Message);
    }

    [Fact]
    public void Df_output_is_parsed_in_bytes()
    {
        const string output = "Filesystem     1024-blocks     Used Available Capacity Mounted on\n/dev/vda        51290592 20480000  28172000      43% /\n";
        var space = HostService.ParseDf("dr-server", "/var/lib/docker", output);
        Assert.Equal(51290592L * 1024, space.TotalBytes);
        Assert.Equal(28172000L * 1024, space.AvailableBytes);
        Assert.Throws<HostOperationException>(() => HostService.ParseDf("h", "/", "Filesystem\n"));
    }

    [Fact]
    public async Task Systemctl_without_systemd_is_a_clear_error()
    {
        if (Directory.Exists(HostService.SystemdMarker))
            Assert.Skip("systemd runs on this machine; the no-systemd error cannot be observed here.");
        var service = Create();

        var status = await Assert.ThrowsAsync<HostOperationException>(() => service.GetServiceStatusAsync(null, Ct));
        var restart = await Assert.ThrowsAsync<HostOperationException>(() => service.RestartServiceAsync(null, Ct));

        Assert.Equal(HostOperationException.NoSystemd, status.Code);
        Assert.Equal(HostOperationException.NoSystemd, restart.Code);
        Assert.Contains("systemd is not running on localhost", restart.Message);
        Assert.Contains("'docker' service", restart.Message);
    }

    [Fact]
    public void The_engine_restart_command_and_the_isolation_probe_settings_are_validated_at_start()
    {
        var options = new HostOptions { DockerRestartTimeout = TimeSpan.Zero };
        options.DockerRestartCommand.Add("/nonexistent/restart-dockerd");
        options.IsolationProbe.Network = "198.19.0.0/31";

        var result = new HostOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("Host:DockerRestartCommand: '/nonexistent/restart-dockerd' does not exist on this host.", result.Failures);
        Assert.Contains("Host:DockerRestartTimeout must be positive.", result.Failures);
        Assert.Contains(result.Failures, f => f.StartsWith("Host:IsolationProbe:Network '198.19.0.0/31'", StringComparison.Ordinal));

        var onPath = new HostOptions();
        onPath.DockerRestartCommand.Add("sh");
        Assert.True(new HostOptionsValidator().Validate(null, onPath).Succeeded);
        var notOnPath = new HostOptions();
        notOnPath.DockerRestartCommand.Add("no-such-restart-tool");
        Assert.Contains("Host:DockerRestartCommand: 'no-such-restart-tool' is not on the PATH of this host.", new HostOptionsValidator().Validate(null, notOnPath).Failures ?? []);
    }

    [Fact]
    public async Task The_configured_engine_restart_command_runs_on_the_host_and_a_failing_one_is_a_clear_error()
    {
        using var dir = new TempDirectory("restart");
        var marker = dir.Combine("restarted");
        var ok = new HostOptions();
        foreach (var part in new[] { "sh", "-c", $"echo restarted > '{marker}'" })
            ok.DockerRestartCommand.Add(part);
        var service = Create(ok);

        var command = await service.RestartDockerEngineAsync(null, Ct);

        Assert.True(File.Exists(marker));
        Assert.Equal(0, command.ExitCode);
        Assert.StartsWith("sh -c ", command.CommandLine, StringComparison.Ordinal);
        Assert.Null(await service.CheckDockerRestartAsync(Ct)); // a command is configured: no systemd needed

        var failing = new HostOptions();
        foreach (var part in new[] { "sh", "-c", "echo cannot start dockerd >&2; exit 3" })
            failing.DockerRestartCommand.Add(part);
        var e = await Assert.ThrowsAsync<HostOperationException>(() => Create(failing).RestartDockerEngineAsync(null, Ct));
        Assert.Equal(HostOperationException.CommandFailed, e.Code);
        Assert.Contains("(Host:DockerRestartCommand) failed on localhost (exit 3): cannot start dockerd", e.Message, StringComparison.Ordinal);

        if (!Directory.Exists(HostService.SystemdMarker))
            Assert.Contains("Host:DockerRestartCommand is not set and systemd does not run on localhost", await Create().CheckDockerRestartAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Process_runner_kills_the_process_tree_on_cancellation_and_on_timeout()
    {
        var runner = new ProcessRunner(TimeProvider.System);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var started = DateTime.UtcNow;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => runner.RunAsync(new CommandLine("sh", "-c", "sleep 30 & wait"), null, cts.Token));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10));

        var timeout = await Assert.ThrowsAsync<TimeoutException>(() => runner.RunAsync(new CommandLine("sh", "-c", "echo partial; sleep 30"), TimeSpan.FromMilliseconds(300), Ct));
        Assert.Contains("partial", timeout.Message);

        await Assert.ThrowsAsync<CommandNotFoundException>(() => runner.RunAsync(new CommandLine("/nonexistent/tool"), null, Ct));
        var args = await runner.RunAsync(new CommandLine("printf", "%s|", "a b", "$HOME", "'q'"), null, Ct);
        Assert.Equal("a b|$HOME|'q'|", args.StandardOutput); // arguments are passed verbatim, never through a shell
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("a b", "'a b'")]
    [InlineData("it's", "'it'\\''s'")]
    [InlineData("", "''")]
    public void Shell_quoting_round_trips_through_sh(string argument, string quoted) =>
        Assert.Equal(quoted, ShellQuoting.Quote(argument));

    private static HostService Create(HostOptions? settings = null)
    {
        var options = Options.Create(settings ?? new HostOptions());
        return new HostService(options, new HostShell(options, new ProcessRunner(TimeProvider.System)), NullLogger<HostService>.Instance);
    }
}
