using DrWorkflows.Activities.Hosts;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Tests.Hosts;

public sealed class NetworkIsolationTests
{
    [Fact]
    public async Task Published_and_host_ports_are_reachable_before_blocked_during_and_reachable_after_undo()
    {
        await using var lab = await NetnsLab.CreateAsync();
        var service = Create(lab);
        var request = new IsolationRequest("incident-42") { HostPorts = [NetnsLab.HostNetworkPort.ToString()] };
        Assert.NotNull(await lab.FetchAsync(NetnsLab.PublishedPort));
        Assert.NotNull(await lab.FetchAsync(NetnsLab.HostNetworkPort));

        var result = await service.IsolateAsync(request, TestContext.Current.CancellationToken);

        Assert.Null(await lab.FetchAsync(NetnsLab.PublishedPort));
        Assert.Null(await lab.FetchAsync(NetnsLab.HostNetworkPort));
        Assert.Contains(result.Rules, r => r.Contains("--ctstate DNAT", StringComparison.Ordinal) && r.EndsWith("-j DROP", StringComparison.Ordinal));
        Assert.Equal(["incident-42"], await service.ListAsync(TestContext.Current.CancellationToken));

        // Re-running (a retry after a crash) replaces the rules instead of stacking them.
        var before = await lab.IptablesSaveAsync();
        await service.IsolateAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(before, await lab.IptablesSaveAsync());

        var removed = await service.RestoreAsync("incident-42", TestContext.Current.CancellationToken);

        Assert.True(removed >= 4, $"removed {removed} rules");
        Assert.NotNull(await lab.FetchAsync(NetnsLab.PublishedPort));
        Assert.NotNull(await lab.FetchAsync(NetnsLab.HostNetworkPort));
        var after = await lab.IptablesSaveAsync();
        Assert.DoesNotContain("drworkflows-isolation", after);
        Assert.DoesNotContain("DRW-", after);
        Assert.Contains("-A FORWARD -j DOCKER-USER", after); // Docker's own rules untouched
        Assert.Contains("-A DOCKER-USER -j RETURN", after);
        Assert.Equal(0, await service.RestoreAsync("incident-42", TestContext.Current.CancellationToken)); // idempotent
    }

    [Fact]
    public async Task Allowed_sources_keep_access_and_other_isolations_are_left_alone()
    {
        await using var lab = await NetnsLab.CreateAsync();
        var service = Create(lab);

        await service.IsolateAsync(new IsolationRequest("admin-allowed") { AllowedSources = ["198.18.77.0/30"] }, TestContext.Current.CancellationToken);
        Assert.NotNull(await lab.FetchAsync(NetnsLab.PublishedPort)); // the client is in the allowed network

        await service.IsolateAsync(new IsolationRequest("port-only") { PublishedPorts = [NetnsLab.PublishedPort.ToString()] }, TestContext.Current.CancellationToken);
        Assert.Null(await lab.FetchAsync(NetnsLab.PublishedPort)); // the newest isolation is evaluated first and blocks

        await service.RestoreAsync("port-only", TestContext.Current.CancellationToken);
        Assert.NotNull(await lab.FetchAsync(NetnsLab.PublishedPort));
        Assert.Equal(["admin-allowed"], await service.ListAsync(TestContext.Current.CancellationToken));
        await service.RestoreAsync("admin-allowed", TestContext.Current.CancellationToken);
        Assert.Empty(await service.ListAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Without_docker_user_only_host_ports_can_be_blocked()
    {
        await using var lab = await NetnsLab.CreateAsync();
        var service = Create(lab);
        var shell = new HostShell(Options.Create(new HostOptions()), new ProcessRunner(TimeProvider.System));
        foreach (var args in new[] { new[] { "-D", "FORWARD", "-j", "DOCKER-USER" }, ["-F", "DOCKER-USER"], ["-X", "DOCKER-USER"] })
            await shell.RunAsync(new CommandLine("ip", ["netns", "exec", lab.Host, "iptables", .. args]), false, TestContext.Current.CancellationToken);

        var refused = await Assert.ThrowsAsync<HostOperationException>(() => service.IsolateAsync(new IsolationRequest("x"), TestContext.Current.CancellationToken));
        Assert.Equal(HostOperationException.NoDockerUserChain, refused.Code);
        Assert.Contains("DOCKER-USER", refused.Message);

        var result = await service.IsolateAsync(new IsolationRequest("x") { HostPorts = [NetnsLab.HostNetworkPort.ToString()] }, TestContext.Current.CancellationToken);
        Assert.Single(result.Notes);
        Assert.Null(await lab.FetchAsync(NetnsLab.HostNetworkPort));
        await service.RestoreAsync("x", TestContext.Current.CancellationToken);
        Assert.NotNull(await lab.FetchAsync(NetnsLab.HostNetworkPort));
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
        var (forward, input) = NetworkIsolationService.Chains(new string('x', 200));
        Assert.True(forward.Length <= 28 && input.Length <= 28);
        Assert.NotEqual(NetworkIsolationService.Chains("a").Forward, NetworkIsolationService.Chains("b").Forward);
    }

    private static NetworkIsolationService Create(NetnsLab lab)
    {
        var options = new HostOptions();
        foreach (var part in lab.IptablesCommand)
            options.IptablesCommand.Add(part);
        var wrapped = Options.Create(options);
        return new NetworkIsolationService(wrapped, new HostShell(wrapped, new ProcessRunner(TimeProvider.System)), NullLogger<NetworkIsolationService>.Instance);
    }
}
