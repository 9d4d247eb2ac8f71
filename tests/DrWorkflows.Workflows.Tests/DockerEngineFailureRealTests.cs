using System.Diagnostics;
using System.Globalization;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Hosts;
using DrWorkflows.Activities.Http;
using DrWorkflows.Core.Execution;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using static DrWorkflows.Workflows.Tests.DatabaseContainerFailureRealTests;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// Scenario 4 (Docker engine failure) on real parts: a Docker engine of this test's own (never the shared one of the
/// test run) runs a small Compose project, a web service with a healthcheck and a worker without one; the engine is
/// stopped, and <c>dr-docker-engine-failure</c> runs with the real clock against the real host service (its restart
/// command is the script that starts that engine), Docker, Compose and smoke-test services. Only comms are stand-ins.
/// </summary>
[TypicalDuration(30)]
public sealed class DockerEngineFailureRealTests(ITestOutputHelper output)
{
    private const string Busybox = "local/busybox:1";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_stopped_engine_is_brought_back_by_the_configured_restart_command_and_the_run_ends_only_once_every_service_is_healthy()
    {
        var shared = TestServices.RequireDocker();
        TestServices.RequireDockerImage(Busybox);
        var clock = Stopwatch.StartNew();
        await using var engine = await PrivateDockerEngine.StartAsync(shared, [Busybox], Ct);
        using var project = new TempDirectory("engine-project");
        var name = $"drwe-{Guid.NewGuid():N}"[..13];
        var port = FreePort.Get();
        await WriteProjectAsync(project, port);
        await using var dr = await DrTestHost.StartAsync(configure: services =>
        {
            services.AddSingleton(TimeProvider.System);
            UseRealServices(services, engine, project, name);
        });
        var compose = dr.Get<IComposeService>();
        var docker = dr.Get<IDockerService>();
        await RequireComposeAsync(compose);
        Step("private engine up");

        await compose.RunAsync(new ComposeRequest(ComposeVerb.Up), Ct);
        var up = await docker.WaitForHealthyAsync(ContainerSelector.Project(name, "web", "worker"), TimeSpan.FromSeconds(90), Ct);
        Assert.True(up.AllReady, up.Describe());
        var firstPid = engine.Pid;
        Step("project up and healthy");

        // The fault: the engine is gone (its containers stop with it).
        await engine.StopAsync();
        Assert.Null(engine.Pid);
        var down = await Assert.ThrowsAsync<DockerOperationException>(() => docker.GetEngineVersionAsync(Ct));
        Assert.Equal(DockerOperationException.EngineUnreachable, down.Code);
        Step("engine stopped");

        var run = await dr.RunAsync("dr-docker-engine-failure", new
        {
            Reason = "DockerDown: the engine does not answer (real-parts test)",
            DockerPath = engine.DataRoot,
            MaximumUsedPercent = 99.5,
            ComposeProject = name,
            SmokeChecks = new[] { new { url = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/health", bodyContains = new[] { "ok" } } },
        });
        var done = await RunToEndAsync(dr, run.Id, TimeSpan.FromMinutes(4));
        Step("run ended");

        Assert.True(done.SubStatus == WorkflowSubStatus.Finished, $"{done.SubStatus}: {string.Join("; ", done.Incidents.Select(i => i.Message))} (engine log: {engine.Tail()})");
        Assert.Equal("Recovered", done.Output["Outcome"]!.ToString());
        AssertInOrder(await dr.CompletedAsync(run.Id), "checkConfiguration", "restartEngine", "checkDisk", "composeUp", "waitHealthy", "smoke", "closeRecovered");
        var journal = await dr.Host.JournalAsync(run.Id);
        var restart = Assert.Single(journal, e => e.EventName == JournalEvents.Completed && e.ActivityId == "restartEngine").Payload!["data"]!["engine"]!;
        output.WriteLine($"restart journal: {restart.ToJsonString()}");
        Assert.Equal(engine.StartScript, restart["command"]!.ToString());
        Assert.Equal(engine.Endpoint.ToString(), restart["endpoint"]!.ToString());
        Assert.False(string.IsNullOrEmpty(restart["version"]!.ToString()));
        var health = Assert.Single(journal, e => e.EventName == JournalEvents.Completed && e.ActivityId == "waitHealthy").Payload!["data"]!["health"]!;
        Assert.Equal(["web", "worker"], health["services"]!.AsArray().Select(s => s!["service"]!.ToString()).Order());
        Assert.All(health["services"]!.AsArray(), s => Assert.True(s!["ready"]!.GetValue<bool>()));

        // Measured by the test itself: a new dockerd answers, and every service of the project is healthy again.
        Assert.NotNull(engine.Pid);
        Assert.NotEqual(firstPid, engine.Pid);
        Assert.True(await engine.AnswersAsync(Ct));
        var after = await docker.WaitForHealthyAsync(ContainerSelector.Project(name, "web", "worker"), TimeSpan.FromSeconds(30), Ct);
        Assert.True(after.AllReady, after.Describe());
        Assert.Contains(dr.Comms.SlackPosts, p => p.Text.Contains("answers again", StringComparison.Ordinal));
        Assert.Contains("Recovered by DrWorkflows", Assert.Single(dr.PostMortems.Requests).Details.Summary, StringComparison.Ordinal);

        void Step(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.0} s  {what}");
    }

    /// <summary>A web service (busybox httpd on 127.0.0.1, with a healthcheck) and a worker without one, both restarting with the engine.</summary>
    private static async Task WriteProjectAsync(TempDirectory project, int port)
    {
        await File.WriteAllTextAsync(project.Combine(".env"), $"WEB_PORT={port.ToString(CultureInfo.InvariantCulture)}\n", Ct);
        await File.WriteAllTextAsync(project.Combine("docker-compose.yml"), """
            version: "2.4"
            services:
              web:
                image: local/busybox:1
                network_mode: host
                environment:
                  WEB_PORT: ${WEB_PORT:?set WEB_PORT}
                entrypoint: ["sh", "-c", "mkdir -p /www && echo ok > /www/health && trap 'exit 0' TERM INT; httpd -f -p \"127.0.0.1:$$WEB_PORT\" -h /www & wait"]
                healthcheck:
                  test: ["CMD-SHELL", "wget -q -O /dev/null \"http://127.0.0.1:$$WEB_PORT/health\""]
                  interval: 1s
                  timeout: 3s
                  retries: 3
                restart: unless-stopped
              worker:
                image: local/busybox:1
                network_mode: host
                entrypoint: ["sh", "-c", "trap 'exit 0' TERM INT; sleep 3600 & wait"]
                restart: unless-stopped

            """, Ct);
    }

    /// <summary>The real Docker, Compose and smoke-test services on the private engine, and the real host service whose restart command is its start script.</summary>
    private static void UseRealServices(IServiceCollection services, PrivateDockerEngine engine, TempDirectory project, string name)
    {
        void Docker(DockerOptions o)
        {
            o.Endpoint = engine.Endpoint.ToString();
            o.HelperImage = Busybox;
            o.PollInterval = TimeSpan.FromMilliseconds(250);
            o.RunningStableTime = TimeSpan.FromSeconds(3);
            o.ComposeProject = name;
            o.ComposeProjectDirectory = project.FullPath;
            o.ComposeFiles.Clear();
            o.ComposeFiles.Add(project.Combine("docker-compose.yml"));
        }

        void Host(HostOptions o)
        {
            o.DockerRestartCommand.Clear();
            o.DockerRestartCommand.Add(engine.StartScript);
            o.DockerRestartTimeout = TimeSpan.FromSeconds(90);
        }

        var real = new ServiceCollection();
        real.AddDockerActivities(Docker);
        real.AddHostActivities(Host);
        real.AddHttpSmokeTests();
        var replaced = new[] { typeof(IDockerService), typeof(IComposeService), typeof(ISmokeTester), typeof(IHostService), typeof(IHostShell), typeof(IProcessRunner) };
        foreach (var type in replaced)
            services.RemoveAll(type);
        foreach (var descriptor in real.Where(d => replaced.Contains(d.ServiceType)))
            services.Add(descriptor);
        services.AddOptions<SmokeTestOptions>();
        services.Configure<DockerOptions>(Docker);
        services.Configure<HostOptions>(Host);
    }
}
