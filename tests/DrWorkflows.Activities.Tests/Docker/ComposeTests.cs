using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Hosts;
using DrWorkflows.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Tests.Docker;

public sealed class ComposeTests
{
    private const string ComposeFile = """
        version: "2.4"
        services:
          db:
            image: local/busybox:1
            command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
            network_mode: none
            healthcheck:
              test: ["CMD-SHELL", "true"]
              interval: 1s
          app:
            image: local/busybox:1
            command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
            network_mode: none
            depends_on:
              db:
                condition: service_healthy
        """;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Missing_compose_cli_gives_the_install_hint()
    {
        using var empty = new TempDirectory("compose-none");
        var options = new DockerOptions { ComposeSearchPath = empty.FullPath, ComposeProject = "platform" };
        using var compose = new ComposeService(Options.Create(options), new ProcessRunner(TimeProvider.System), NullLogger<ComposeService>.Instance);

        var detect = await Assert.ThrowsAsync<DockerOperationException>(() => compose.DetectCliAsync(Ct));
        var run = await Assert.ThrowsAsync<DockerOperationException>(() => compose.RunAsync(new ComposeRequest(ComposeVerb.Up), Ct));

        Assert.Equal(DockerOperationException.ComposeNotFound, run.Code);
        Assert.StartsWith(ComposeService.NotFoundMessage, detect.Message);
        Assert.Contains("neither `docker compose` nor `docker-compose` found: install docker-compose-plugin or docker-compose", run.Message);
    }

    [Fact]
    public async Task A_configured_compose_command_that_does_not_exist_is_reported()
    {
        var options = new DockerOptions { ComposeProject = "platform" };
        options.ComposeCommand.Add("/nonexistent/docker-compose");
        using var compose = new ComposeService(Options.Create(options), new ProcessRunner(TimeProvider.System), NullLogger<ComposeService>.Instance);

        var e = await Assert.ThrowsAsync<DockerOperationException>(() => compose.RunAsync(new ComposeRequest(ComposeVerb.Pull), Ct));
        Assert.Equal(DockerOperationException.ComposeNotFound, e.Code);
        Assert.Contains("/nonexistent/docker-compose", e.Message);
    }

    [Fact]
    public async Task Up_wait_restart_stop_and_down_a_real_compose_project()
    {
        await using var docker = DockerScope.Create();
        using var dir = new TempDirectory("compose");
        await File.WriteAllTextAsync(dir.Combine("docker-compose.yml"), ComposeFile, Ct);
        var options = new DockerOptions { Endpoint = docker.Options.Endpoint, ComposeProject = docker.Prefix, ComposeProjectDirectory = dir.FullPath };
        options.ComposeFiles.Add(dir.Combine("docker-compose.yml"));
        using var compose = new ComposeService(Options.Create(options), new ProcessRunner(TimeProvider.System), NullLogger<ComposeService>.Instance);
        try
        {
            await compose.DetectCliAsync(Ct);
        }
        catch (DockerOperationException e) when (e.Code == DockerOperationException.ComposeNotFound)
        {
            Assert.Skip($"No Compose CLI on this machine ({e.Message}); tests/run.sh installs docker-compose.");
        }

        try
        {
            var up = await compose.RunAsync(new ComposeRequest(ComposeVerb.Up), Ct);
            Assert.Contains("--project-name " + docker.Prefix, up.CommandLine);
            var healthy = await docker.Service.WaitForHealthyAsync(ContainerSelector.Project(docker.Prefix), TimeSpan.FromSeconds(60), Ct);
            Assert.True(healthy.AllReady, healthy.Describe());
            Assert.Equal(["app", "db"], healthy.Containers.Select(c => c.ComposeService).Order());

            var db = healthy.Containers.Single(c => c.ComposeService == "db");
            var before = await docker.Client.Containers.InspectContainerAsync(db.Id, Ct);
            await compose.RunAsync(new ComposeRequest(ComposeVerb.Restart) { Services = ["db"], StopTimeout = TimeSpan.FromSeconds(2) }, Ct);
            var after = await docker.Client.Containers.InspectContainerAsync(db.Id, Ct);
            Assert.NotEqual(before.State.StartedAt, after.State.StartedAt);

            await compose.RunAsync(new ComposeRequest(ComposeVerb.Stop) { Services = ["app"], StopTimeout = TimeSpan.FromSeconds(2) }, Ct);
            var states = await docker.Service.ListContainersAsync(ContainerSelector.Project(docker.Prefix), null, Ct);
            Assert.Equal("exited", states.Single(c => c.ComposeService == "app").State);
            Assert.Equal("running", states.Single(c => c.ComposeService == "db").State);

            var failing = await Assert.ThrowsAsync<DockerOperationException>(() => compose.RunAsync(new ComposeRequest(ComposeVerb.Restart) { Services = ["no-such-service"] }, Ct));
            Assert.Equal(DockerOperationException.ComposeFailed, failing.Code);
            Assert.Contains("no-such-service", failing.Message);
        }
        finally
        {
            await compose.RunAsync(new ComposeRequest(ComposeVerb.Down) { StopTimeout = TimeSpan.FromSeconds(1) }, CancellationToken.None);
        }

        Assert.Empty(await docker.Service.ListContainersAsync(ContainerSelector.Project(docker.Prefix), null, Ct));
    }
}
