using System.Net.Sockets;
using System.Security.Cryptography;
using Docker.DotNet.Models;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Hosts;
using DrWorkflows.Activities.Tests.Docker;
using DrWorkflows.Core.Execution;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using static DrWorkflows.Testing.Behaviour.ElsaJson;

namespace DrWorkflows.Activities.Tests.Hosts;

/// <summary>
/// Isolation of a port published by a real container of the test run's dockerd. That engine runs with
/// <c>--iptables=false</c> (no <c>DOCKER-USER</c> chain; docker-proxy serves the port on the host), so the isolation
/// blocks it in the raw table. A client in a network namespace of its own, joined to this machine by a veth pair (a
/// source that is not allowed), connects before, during and after the isolation; the rules are always lifted again.
/// </summary>
public sealed class PublishedPortIsolationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_published_port_answers_another_network_before_is_blocked_while_isolated_and_answers_again_once_lifted()
    {
        await using var docker = DockerScope.Create();
        await RequireHostAsync();
        await using var web = await PublishedWeb.StartAsync(docker);
        await using var outside = await OutsideClient.CreateAsync();
        var published = Assert.Single((await docker.Service.InspectContainerAsync(web.Container, Ct)).PublishedPorts, p => !p.HostIp.Contains(':', StringComparison.Ordinal));
        Assert.Equal(("0.0.0.0", web.Port, "tcp", 80), (published.HostIp, published.HostPort, published.Protocol, published.ContainerPort));
        var service = Service(new HostOptions());
        var id = $"drwt-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";

        Assert.Equal("ok", await outside.GetAsync(web.Port)); // open before
        try
        {
            var result = await service.IsolateAsync(new IsolationRequest(id) { ProjectPorts = [published] }, Ct);

            Assert.Equal(NetworkIsolationService.RawMode, result.Mode);
            Assert.Equal(ProbeResult.Open, Assert.Single(result.Before).Verdict);
            Assert.Equal(ProbeResult.TimedOut, Assert.Single(result.After).Verdict);
            Assert.Null(await outside.GetAsync(web.Port)); // blocked for a source that is not allowed (no answer: dropped)
            Assert.Equal("ok", await LoopbackGetAsync(web.Port)); // loopback keeps access, by design
            Assert.Contains($"--dport {web.Port} ", await IptablesAsync("-t", "raw", "-S"), StringComparison.Ordinal);

            var lift = await service.RestoreAsync(id, result.ReachableBefore, Ct);

            Assert.True(lift.RulesRemoved >= 2, $"removed {lift.RulesRemoved}");
            Assert.Equal(ProbeResult.Open, Assert.Single(lift.After).Verdict);
            Assert.Equal("ok", await outside.GetAsync(web.Port)); // open again
            Assert.DoesNotContain(id, await IptablesAsync("-t", "raw", "-S"), StringComparison.Ordinal);
            Assert.DoesNotContain(id, await IptablesAsync("-S"), StringComparison.Ordinal);
        }
        finally
        {
            await service.RestoreAsync(id, [], CancellationToken.None); // never leave a rule on this machine
        }
    }

    [Fact]
    public async Task When_the_isolation_cannot_be_confirmed_the_step_faults_on_an_incident_naming_the_open_port_and_what_to_do()
    {
        await using var docker = DockerScope.Create();
        await RequireHostAsync();
        await using var web = await PublishedWeb.StartAsync(docker);
        await using var outside = await OutsideClient.CreateAsync();

        // An iptables that accepts every rule and changes nothing: "the rules were written" is all it can say.
        await using var host = WorkflowTestHost.Create(configure: services =>
        {
            services.AddDockerActivities(o =>
            {
                o.Endpoint = docker.Options.Endpoint;
                o.ComposeProject = web.Project;
            });
            services.AddHostActivities(o => o.IptablesCommand.Add("true"));
        });

        var state = await host.RunAsync(Definition("isolate", Flowchart("flow",
            [
                Start(),
                Activity("DrWorkflows.IsolateNetwork", "isolate", $"\"isolationId\": {Lit("drwt-no-effect")}, \"allowedSources\": {Obj("[\"10.9.0.0/24\"]")}"),
                WriteLine("done", "isolated"),
            ],
            [Connect("start", "isolate"), Connect("isolate", "done")])), cancellationToken: Ct);

        Assert.Equal(WorkflowSubStatus.Faulted, state.SubStatus);
        var incident = Assert.Single(state.Incidents);
        Assert.Equal("isolate", incident.ActivityId);
        Assert.Contains($"0.0.0.0:{web.Port}/tcp (published port) still answer(s)", incident.Message, StringComparison.Ordinal);
        Assert.Contains("does NOT hold", incident.Message, StringComparison.Ordinal);
        Assert.Contains($"block {web.Port}/tcp at the edge", incident.Message, StringComparison.Ordinal);
        Assert.Contains("docker compose stop", incident.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(await host.JournalAsync(state.Id), e => e.ActivityId == "done");
        Assert.Equal("ok", await outside.GetAsync(web.Port)); // and it is indeed open
    }

    private static NetworkIsolationService Service(HostOptions options)
    {
        var wrapped = Options.Create(options);
        return new NetworkIsolationService(wrapped, new HostShell(wrapped, new ProcessRunner(TimeProvider.System)), NullLogger<NetworkIsolationService>.Instance);
    }

    /// <summary>Skips unless this test can change the machine's firewall (root, tools) and the test engine really has no DOCKER-USER chain.</summary>
    private static async Task RequireHostAsync()
    {
        NetnsLab.RequireTools();
        if ((await IptablesAsync("-S")).Contains("-N DOCKER-USER", StringComparison.Ordinal))
            Assert.Skip("This machine has a DOCKER-USER chain (an engine managing iptables): the test is about an engine without one.");
    }

    private static async Task<string> IptablesAsync(params string[] arguments)
    {
        var result = await new ProcessRunner(TimeProvider.System).RunAsync(new CommandLine("iptables", ["-w", .. arguments]), TimeSpan.FromSeconds(30), Ct);
        Assert.True(result.Succeeded, result.Summary);
        return result.StandardOutput;
    }

    private static async Task<string?> LoopbackGetAsync(int port)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port, Ct);
        await using var stream = client.GetStream();
        await stream.WriteAsync("GET /index.html HTTP/1.0\r\n\r\n"u8.ToArray(), Ct);
        using var reader = new StreamReader(stream);
        var response = await reader.ReadToEndAsync(Ct);
        return response.Contains("200 OK", StringComparison.Ordinal) ? response[(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..].Trim() : null;
    }

    /// <summary>busybox httpd in a container on a bridge network, port 80 published on all addresses of the host at a free port.</summary>
    private sealed class PublishedWeb : IAsyncDisposable
    {
        private readonly DockerScope docker;
        private readonly string network;

        private PublishedWeb(DockerScope docker, string network, string container, int port)
        {
            this.docker = docker;
            this.network = network;
            Container = container;
            Port = port;
        }

        public string Container { get; }

        public int Port { get; }

        /// <summary>The Compose project label the container carries (the activity finds its published ports by it).</summary>
        public string Project => docker.Prefix;

        public static async Task<PublishedWeb> StartAsync(DockerScope docker)
        {
            var network = docker.Name("net");
            await docker.Client.Networks.CreateNetworkAsync(new NetworksCreateParameters { Name = network, Driver = "bridge" }, Ct);
            var port = FreePort.Get();
            string container;
            try
            {
                container = await docker.RunAsync("web", DockerScope.Sh("mkdir -p /www && echo ok > /www/index.html && httpd -f -p 80 -h /www & wait"), configure: p =>
                {
                    p.Labels[DockerService.ComposeProjectLabel] = docker.Prefix;
                    p.Labels[DockerService.ComposeServiceLabel] = "web";
                    p.ExposedPorts = new Dictionary<string, EmptyStruct> { ["80/tcp"] = default };
                    p.HostConfig.NetworkMode = network;
                    p.HostConfig.PortBindings = new Dictionary<string, IList<PortBinding>> { ["80/tcp"] = [new PortBinding { HostIP = "0.0.0.0", HostPort = port.ToString(System.Globalization.CultureInfo.InvariantCulture) }] };
                });
            }
            catch
            {
                await docker.Client.Networks.DeleteNetworkAsync(network, CancellationToken.None);
                throw;
            }

            var web = new PublishedWeb(docker, network, container, port);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (await TryGetAsync(port) != "ok")
            {
                if (DateTime.UtcNow > deadline)
                {
                    await web.DisposeAsync();
                    Assert.Fail($"The published port {port} of {container} did not serve /index.html within 60 s.");
                }

                await Task.Delay(200, Ct);
            }

            return web;
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await docker.Client.Containers.RemoveContainerAsync(Container, new ContainerRemoveParameters { Force = true }, CancellationToken.None);
            }
            finally
            {
                await docker.Client.Networks.DeleteNetworkAsync(network, CancellationToken.None);
            }
        }

        private static async Task<string?> TryGetAsync(int port)
        {
            try
            {
                return await LoopbackGetAsync(port);
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                return null;
            }
        }
    }
}
