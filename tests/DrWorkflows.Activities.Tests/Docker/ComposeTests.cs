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

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Rm_stops_and_removes_some_services_in_compose_v1_and_v2_and_v1_refuses_down_of_some_services(bool v2)
    {
        // A stand-in CLI that records its arguments: `docker compose ...` (v2) or `docker-compose ...` (v1).
        using var dir = new TempDirectory("compose-args");
        var script = dir.Combine(v2 ? "docker" : "docker-compose");
        await File.WriteAllTextAsync(script, $"#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{dir.Combine("calls")}'\n", Ct);
        if (OperatingSystem.IsWindows())
            Assert.Skip("The stand-in CLI is a POSIX shell script.");
        else
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var options = new DockerOptions { Endpoint = "unix:///run/test.sock", ComposeProject = "platform", ComposeSearchPath = dir.FullPath };
        options.ComposeFiles.Add("/srv/platform/docker-compose.yml");
        using var compose = new ComposeService(Options.Create(options), new ProcessRunner(TimeProvider.System), NullLogger<ComposeService>.Instance);

        var rm = await compose.RunAsync(new ComposeRequest(ComposeVerb.Remove) { Services = ["postgres"], StopTimeout = TimeSpan.FromSeconds(5) }, Ct);
        var prefix = v2 ? "--host unix:///run/test.sock compose" : "--host unix:///run/test.sock";
        var expected = $"{prefix} --project-name platform --file /srv/platform/docker-compose.yml rm --stop --force postgres";
        Assert.EndsWith(expected, rm.CommandLine, StringComparison.Ordinal);

        if (v2)
        {
            var down = await compose.RunAsync(new ComposeRequest(ComposeVerb.Down) { Services = ["postgres"] }, Ct);
            Assert.EndsWith("down postgres", down.CommandLine, StringComparison.Ordinal);
        }
        else
        {
            var e = await Assert.ThrowsAsync<DockerOperationException>(() => compose.RunAsync(new ComposeRequest(ComposeVerb.Down) { Services = ["postgres"] }, Ct));
            Assert.Equal(DockerOperationException.ComposeFailed, e.Code);
            Assert.Contains("Use the `rm` command", e.Message, StringComparison.Ordinal);
        }

        var calls = await File.ReadAllLinesAsync(dir.Combine("calls"), Ct);
        Assert.Equal(v2 ? ["compose version", expected, $"{prefix} --project-name platform --file /srv/platform/docker-compose.yml down postgres"] : ["version", expected], calls);
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

            // rm of one running service (the volume swap of scenario 5): its container is gone, the other keeps running.
            await compose.RunAsync(new ComposeRequest(ComposeVerb.Remove) { Services = ["db"] }, Ct);
            states = await docker.Service.ListContainersAsync(ContainerSelector.Project(docker.Prefix), null, Ct);
            Assert.Equal(["app"], states.Select(c => c.ComposeService));

            // Every service the files declare: the one whose container is gone counts as not ready (its labels are gone with it).
            var declared = await compose.ListServicesAsync(null, Ct);
            Assert.Equal(["app", "db"], declared);
            var gone = await docker.Service.WaitForHealthyAsync(new ContainerSelector { ComposeProject = docker.Prefix, Services = declared }, TimeSpan.FromSeconds(1), Ct);
            Assert.False(gone.AllReady);
            Assert.Contains($"service db of Compose project {docker.Prefix}: not found", gone.Problems);
            Assert.Contains(gone.Problems, p => p.StartsWith($"app ({docker.Prefix}", StringComparison.Ordinal) && p.Contains("exited", StringComparison.Ordinal));
            await compose.RunAsync(new ComposeRequest(ComposeVerb.Up) { Services = ["db"] }, Ct);

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
