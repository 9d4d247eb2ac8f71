using DrWorkflows.Testing;
using DrWorkflows.Activities.Hosts;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Tests.Hosts;

[TypicalDuration(50)]
public sealed class NetworkIsolationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Published_and_host_ports_are_reachable_before_blocked_during_and_reachable_after_undo_each_measured_by_the_probe()
    {
        await using var lab = await NetnsLab.CreateAsync();
        var service = Create(lab);
        var request = new IsolationRequest("incident-42") { ProjectPorts = [NetnsLab.Published], HostPorts = [NetnsLab.HostNetworkPort.ToString()] };
        Assert.NotNull(await lab.FetchAsync(NetnsLab.PublishedPort));
        Assert.NotNull(await lab.FetchAsync(NetnsLab.HostNetworkPort));

        var result = await service.IsolateAsync(request, Ct);

        Assert.Null(await lab.FetchAsync(NetnsLab.PublishedPort));
        Assert.Null(await lab.FetchAsync(NetnsLab.HostNetworkPort));
        Assert.Equal(NetworkIsolationService.DockerUserMode, result.Mode);
        Assert.Contains(result.Rules, r => r.Contains("--ctstate DNAT", StringComparison.Ordinal) && r.EndsWith("-j DROP", StringComparison.Ordinal));
        Assert.Equal([NetnsLab.PublishedPort, NetnsLab.HostNetworkPort], result.Before.Select(p => p.Target.Port));
        Assert.All(result.Before, p => Assert.Equal(ProbeResult.Open, p.Verdict));
        Assert.All(result.After, p => Assert.Equal(ProbeResult.TimedOut, p.Verdict)); // dropped, not refused
        Assert.Equal([NetnsLab.PublishedPort, NetnsLab.HostNetworkPort], result.ReachableBefore.Select(t => t.Port));
        Assert.StartsWith("198.19.", result.ProbeSource, StringComparison.Ordinal);
        Assert.Equal(["incident-42"], await service.ListAsync(Ct));

        // Re-running (a retry after a crash) replaces the rules instead of stacking them, and measures again.
        var before = await lab.IptablesSaveAsync();
        var again = await service.IsolateAsync(request, Ct);
        Assert.Equal(before, await lab.IptablesSaveAsync());
        Assert.Empty(again.Before);
        Assert.Contains(again.Notes, n => n.Contains("already in place", StringComparison.Ordinal));
        Assert.All(again.After, p => Assert.False(p.Reachable));

        var lift = await service.RestoreAsync("incident-42", result.ReachableBefore, Ct);

        Assert.True(lift.RulesRemoved >= 4, $"removed {lift.RulesRemoved} rules");
        Assert.All(lift.After, p => Assert.Equal(ProbeResult.Open, p.Verdict));
        Assert.NotNull(await lab.FetchAsync(NetnsLab.PublishedPort));
        Assert.NotNull(await lab.FetchAsync(NetnsLab.HostNetworkPort));
        var after = await lab.IptablesSaveAsync();
        Assert.DoesNotContain("drworkflows-isolation", after);
        Assert.DoesNotContain("DRW-", after);
        Assert.Contains("-A FORWARD -j DOCKER-USER", after); // Docker's own rules untouched
        Assert.Contains("-A DOCKER-USER -j RETURN", after);
        Assert.Equal(0, (await service.RestoreAsync("incident-42", [], Ct)).RulesRemoved); // idempotent
        foreach (var source in new[] { result.ProbeSource, again.ProbeSource, lift.ProbeSource })
            Assert.False(await lab.NamespaceExistsAsync(System.Text.RegularExpressions.Regex.Match(source, "drw-probe-[0-9a-f]+").Value), $"probe namespace of {source} left behind");
    }

    [Fact]
    public async Task Allowed_sources_keep_access_and_other_isolations_are_left_alone()
    {
        await using var lab = await NetnsLab.CreateAsync();
        var service = Create(lab);

        await service.IsolateAsync(new IsolationRequest("admin-allowed") { AllowedSources = ["198.18.77.0/30"], ProjectPorts = [NetnsLab.Published] }, Ct);
        Assert.NotNull(await lab.FetchAsync(NetnsLab.PublishedPort)); // the client is in the allowed network; the probe is not

        await service.IsolateAsync(new IsolationRequest("port-only") { PublishedPorts = [NetnsLab.PublishedPort.ToString()], ProjectPorts = [NetnsLab.Published] }, Ct);
        Assert.Null(await lab.FetchAsync(NetnsLab.PublishedPort)); // the newest isolation is evaluated first and blocks

        await service.RestoreAsync("port-only", [], Ct);
        Assert.NotNull(await lab.FetchAsync(NetnsLab.PublishedPort));
        Assert.Equal(["admin-allowed"], await service.ListAsync(Ct));
        await service.RestoreAsync("admin-allowed", [], Ct);
        Assert.Empty(await service.ListAsync(Ct));
    }

    [Fact]
    public async Task Without_docker_user_published_ports_are_blocked_in_raw_prerouting_and_loopback_keeps_access()
    {
        await using var lab = await NetnsLab.CreateAsync();
        var service = Create(lab);
        await lab.RemoveDockerUserAsync();

        var result = await service.IsolateAsync(new IsolationRequest("x") { ProjectPorts = [NetnsLab.Published], HostPorts = [NetnsLab.HostNetworkPort.ToString()] }, Ct);

        Assert.Equal(NetworkIsolationService.RawMode, result.Mode);
        Assert.Contains(result.Rules, r => r.StartsWith("-t raw -A DRW-", StringComparison.Ordinal) && r.Contains($"--dport {NetnsLab.PublishedPort} ", StringComparison.Ordinal) && r.EndsWith("-j DROP", StringComparison.Ordinal));
        Assert.Contains(result.Rules, r => r.Contains("-i lo", StringComparison.Ordinal) && r.EndsWith("-j RETURN", StringComparison.Ordinal));
        Assert.Null(await lab.FetchAsync(NetnsLab.PublishedPort));
        Assert.Null(await lab.FetchAsync(NetnsLab.HostNetworkPort));
        Assert.NotNull(await lab.FetchFromHostItselfAsync(NetnsLab.HostNetworkPort)); // the host itself (over lo) keeps access, by design

        await service.RestoreAsync("x", result.ReachableBefore, Ct);
        Assert.NotNull(await lab.FetchAsync(NetnsLab.PublishedPort));
        Assert.NotNull(await lab.FetchAsync(NetnsLab.HostNetworkPort));
        Assert.DoesNotContain("drworkflows-isolation", await lab.IptablesSaveAsync("raw"));
    }

    [Fact]
    public async Task Rules_that_do_not_take_effect_fault_the_isolation_naming_the_open_port_and_the_manual_steps()
    {
        await using var lab = await NetnsLab.CreateAsync();
        var options = lab.Options();
        options.IptablesCommand.Clear();
        foreach (var part in new[] { "ip", "netns", "exec", lab.Host, "true" })
            options.IptablesCommand.Add(part); // every iptables call "succeeds" and changes nothing: rules written, no effect
        var service = Create(options);

        var e = await Assert.ThrowsAsync<HostOperationException>(() => service.IsolateAsync(new IsolationRequest("no-effect") { ProjectPorts = [NetnsLab.Published], AllowedSources = ["10.9.0.0/24"] }, Ct));

        Assert.Equal(HostOperationException.IsolationNotEffective, e.Code);
        Assert.Contains($"0.0.0.0:{NetnsLab.PublishedPort}/tcp (published port) still answer(s)", e.Message, StringComparison.Ordinal);
        Assert.Contains("does NOT hold", e.Message, StringComparison.Ordinal);
        Assert.Contains($"block {NetnsLab.PublishedPort}/tcp at the edge", e.Message, StringComparison.Ordinal);
        Assert.Contains("10.9.0.0/24", e.Message, StringComparison.Ordinal);
        Assert.NotNull(await lab.FetchAsync(NetnsLab.PublishedPort)); // indeed still open
    }

    [Fact]
    public async Task A_lift_that_leaves_a_port_closed_faults_instead_of_reporting_it_open()
    {
        await using var lab = await NetnsLab.CreateAsync();
        var service = Create(lab);
        var result = await service.IsolateAsync(new IsolationRequest("stuck") { ProjectPorts = [NetnsLab.Published] }, Ct);

        // Someone else's rule keeps the port closed after the isolation's own rules are gone.
        await lab.IptablesAsync("-I", "FORWARD", "1", "-p", "tcp", "--dport", "80", "-j", "DROP");
        var e = await Assert.ThrowsAsync<HostOperationException>(() => service.RestoreAsync("stuck", result.ReachableBefore, Ct));

        Assert.Equal(HostOperationException.IsolationNotLifted, e.Code);
        Assert.Contains($"0.0.0.0:{NetnsLab.PublishedPort}/tcp (published port): timed out", e.Message, StringComparison.Ordinal);
        Assert.Contains("none left", e.Message, StringComparison.Ordinal);
        Assert.Empty(await service.ListAsync(Ct));
    }

    [Theory]
    [InlineData("-A DOCKER-USER -m comment --comment \"drworkflows-isolation:a\" -j DRW-1", new[] { "-A", "DOCKER-USER", "-m", "comment", "--comment", "drworkflows-isolation:a", "-j", "DRW-1" })]
    [InlineData("-A X -m comment --comment \"two words\" -j DROP", new[] { "-A", "X", "-m", "comment", "--comment", "two words", "-j", "DROP" })]
    [InlineData("-A X -m comment --comment plain -j DROP", new[] { "-A", "X", "-m", "comment", "--comment", "plain", "-j", "DROP" })]
    public void Iptables_listing_lines_split_into_arguments(string line, string[] expected) =>
        Assert.Equal(expected, NetworkIsolationService.Tokenize(line));

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("semi;colon")]
    [InlineData("quote\"")]
    public void Isolation_ids_that_could_break_a_rule_are_refused(string id) =>
        Assert.ThrowsAny<ArgumentException>(() => NetworkIsolationService.Tag(id));

    [Fact]
    public void Chain_names_fit_iptables_limit_and_differ_per_id()
    {
        var (forward, input, raw) = NetworkIsolationService.Chains(new string('x', 200));
        Assert.True(forward.Length <= 28 && input.Length <= 28 && raw.Length <= 28);
        Assert.NotEqual(NetworkIsolationService.Chains("a").Forward, NetworkIsolationService.Chains("b").Forward);
    }

    private static NetworkIsolationService Create(NetnsLab lab) => Create(lab.Options());

    private static NetworkIsolationService Create(HostOptions options)
    {
        var wrapped = Options.Create(options);
        return new NetworkIsolationService(wrapped, new HostShell(wrapped, new ProcessRunner(TimeProvider.System)), NullLogger<NetworkIsolationService>.Instance);
    }
}
