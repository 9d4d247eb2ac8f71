using System.Formats.Tar;
using System.Security.Cryptography;
using Docker.DotNet.Models;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Testing;

namespace DrWorkflows.Activities.Tests.Docker;

[TypicalDuration(63)]
public sealed class DockerContainerTests : IAsyncLifetime
{
    private DockerScope docker = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        docker = DockerScope.Create();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => docker.DisposeAsync();

    [Fact]
    public async Task Engine_version_is_read()
    {
        var version = await docker.Service.GetEngineVersionAsync(Ct);
        Assert.Matches(@"^\d+\.\d+", version);
    }

    [Fact]
    public async Task Unknown_container_gives_a_clear_error_naming_it_and_the_engine()
    {
        var name = docker.Name("does-not-exist");
        var inspect = await Assert.ThrowsAsync<DockerOperationException>(() => docker.Service.InspectContainerAsync(name, Ct));
        Assert.Equal(DockerOperationException.ContainerNotFound, inspect.Code);
        Assert.Contains(name, inspect.Message);
        Assert.Contains(docker.Options.Endpoint, inspect.Message);

        var restart = await Assert.ThrowsAsync<DockerOperationException>(() => docker.Service.RestartContainerAsync(name, TimeSpan.FromSeconds(1), Ct));
        Assert.Equal(DockerOperationException.ContainerNotFound, restart.Code);
        var stop = await Assert.ThrowsAsync<DockerOperationException>(() => docker.Service.StopContainerAsync(name, TimeSpan.FromSeconds(1), Ct));
        Assert.Equal(DockerOperationException.ContainerNotFound, stop.Code);
    }

    [Fact]
    public async Task Stop_start_and_restart_change_the_state_and_report_no_ops()
    {
        var name = await docker.RunAsync("life", DockerScope.Sh("sleep 3600 & wait"));

        Assert.False(await docker.Service.StartContainerAsync(name, Ct)); // already running
        Assert.True(await docker.Service.StopContainerAsync(name, TimeSpan.FromSeconds(5), Ct));
        Assert.Equal("exited", (await docker.Service.InspectContainerAsync(name, Ct)).State);
        Assert.False(await docker.Service.StopContainerAsync(name, TimeSpan.FromSeconds(5), Ct)); // already stopped

        Assert.True(await docker.Service.StartContainerAsync(name, Ct));
        var before = await docker.Client.Containers.InspectContainerAsync(name, Ct);
        var restarted = await docker.Service.RestartContainerAsync(name, TimeSpan.FromSeconds(5), Ct);
        Assert.Equal("running", restarted.State);
        var after = await docker.Client.Containers.InspectContainerAsync(name, Ct);
        Assert.NotEqual(before.State.StartedAt, after.State.StartedAt);
    }

    [Fact]
    public async Task Wait_for_healthy_returns_when_healthy_and_running_containers_are_ready()
    {
        var healthy = await docker.RunAsync("healthy", DockerScope.Sh("sleep 1; touch /tmp/ready; sleep 3600 & wait"), DockerScope.Health("test -f /tmp/ready"));
        var plain = await docker.RunAsync("plain", DockerScope.Sh("sleep 3600 & wait"));

        var result = await docker.Service.WaitForHealthyAsync(ContainerSelector.Named(healthy, plain), TimeSpan.FromSeconds(30), Ct);

        Assert.True(result.AllReady, result.Describe());
        var statuses = result.Containers.ToDictionary(c => c.Name);
        Assert.Equal("healthy", statuses[healthy].Health);
        Assert.Null(statuses[plain].Health);
        Assert.Equal("running", statuses[plain].State);
        Assert.Empty(result.NotReady);
    }

    [Fact]
    public async Task Wait_for_healthy_times_out_naming_each_container_that_is_not_ready_and_why()
    {
        var healthy = await docker.RunAsync("ok", DockerScope.Sh("sleep 3600 & wait"), DockerScope.Health("true"));
        var sick = await docker.RunAsync("sick", DockerScope.Sh("sleep 3600 & wait"), DockerScope.Health("echo database not accepting connections; exit 1"));
        var exited = await docker.RunAsync("exited", DockerScope.Sh("exit 3"));
        var missing = docker.Name("missing");

        var result = await docker.Service.WaitForHealthyAsync(ContainerSelector.Named(healthy, sick, exited, missing), TimeSpan.FromSeconds(4), Ct);

        Assert.False(result.AllReady);
        Assert.True(result.Elapsed >= TimeSpan.FromSeconds(4));
        Assert.Equal([exited, sick], result.NotReady.Select(c => c.Name).Order());
        Assert.Equal([missing], result.Missing);
        var description = result.Describe();
        Assert.Contains($"{sick}: unhealthy (last check: database not accepting connections)", description);
        Assert.Contains($"{exited}: exited with code 3", description);
        Assert.Contains($"{missing}: not found", description);
        Assert.DoesNotContain(healthy, description);
    }

    [Fact]
    public async Task Wait_for_a_compose_project_uses_the_compose_labels_and_reports_missing_services()
    {
        var project = docker.Name("proj");
        await docker.RunAsync("proj-db-1", DockerScope.Sh("sleep 3600 & wait"), DockerScope.Health("true"), p => ComposeLabels(p, project, "db"));
        await docker.RunAsync("proj-app-1", DockerScope.Sh("sleep 3600 & wait"), configure: p => ComposeLabels(p, project, "app"));
        await docker.RunAsync("other", DockerScope.Sh("sleep 3600 & wait"), DockerScope.Health("false"));

        var all = await docker.Service.WaitForHealthyAsync(ContainerSelector.Project(project), TimeSpan.FromSeconds(30), Ct);
        Assert.True(all.AllReady, all.Describe());
        Assert.Equal(["app", "db"], all.Containers.Select(c => c.ComposeService).Order());

        var withMissing = await docker.Service.WaitForHealthyAsync(ContainerSelector.Project(project, "db", "cache"), TimeSpan.FromSeconds(1), Ct);
        Assert.False(withMissing.AllReady);
        Assert.Equal([$"service cache of Compose project {project}"], withMissing.Missing);
        Assert.Equal(["db"], withMissing.Containers.Select(c => c.ComposeService));

        var empty = await docker.Service.WaitForHealthyAsync(ContainerSelector.Project(docker.Name("nothing")), TimeSpan.FromMilliseconds(500), Ct);
        Assert.False(empty.AllReady);
        Assert.Contains("no containers", empty.Describe());
    }

    [Fact]
    public async Task A_crash_looping_container_without_a_healthcheck_is_never_ready_and_an_excluded_service_is_not_waited_for()
    {
        var project = docker.Name("loop");
        await docker.RunAsync("loop-web-1", DockerScope.Sh("sleep 3600 & wait"), DockerScope.Health("true"), p => ComposeLabels(p, project, "web"));
        await docker.RunAsync("loop-worker-1", ["sh", "-c", "sleep 0.5; exit 1"], configure: p =>
        {
            ComposeLabels(p, project, "worker");
            p.HostConfig.RestartPolicy = new RestartPolicy { Name = RestartPolicyKind.Always };
        });

        var looping = await docker.Service.WaitForHealthyAsync(ContainerSelector.Project(project), TimeSpan.FromSeconds(8), Ct);

        Assert.False(looping.AllReady);
        var worker = Assert.Single(looping.NotReady);
        Assert.Equal("worker", worker.ComposeService);
        Assert.True(worker.RestartCount > 0, worker.ToString());
        Assert.Contains("restarted", worker.Reason, StringComparison.Ordinal);

        var excluded = await docker.Service.WaitForHealthyAsync(ContainerSelector.Project(project) with { ExcludedServices = ["worker"] }, TimeSpan.FromSeconds(30), Ct);
        Assert.True(excluded.AllReady, excluded.Describe());
        Assert.Equal(["web"], excluded.Containers.Select(c => c.ComposeService));
        Assert.Contains("(excluded: worker)", (ContainerSelector.Project(project) with { ExcludedServices = ["worker"] }).ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logs_are_captured_with_tail_to_a_string_and_to_a_file_with_its_checksum()
    {
        var name = await docker.RunAsync("logs", ["sh", "-c", "for i in 1 2 3 4 5; do echo out-$i; done; sleep 0.3; echo err-6 >&2"], start: true);
        await docker.Client.Containers.WaitContainerAsync(name, Ct);

        var tail = await docker.Service.CaptureLogsAsync(name, new LogCaptureRequest { Tail = 2 }, Ct);
        Assert.Equal("out-5\nerr-6\n", tail.Text);

        var all = await docker.Service.CaptureLogsAsync(name, new LogCaptureRequest(), Ct);
        Assert.Equal("out-1\nout-2\nout-3\nout-4\nout-5\nerr-6\n", all.Text);

        using var dir = new TempDirectory("docker-logs");
        var path = dir.Combine("forensics", "app.log");
        var file = await docker.Service.CaptureLogsAsync(name, new LogCaptureRequest { OutputPath = path }, Ct);
        var bytes = await File.ReadAllBytesAsync(path, Ct);
        Assert.Equal(all.Text, System.Text.Encoding.UTF8.GetString(bytes));
        Assert.Equal(bytes.Length, file.Bytes);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), file.Sha256);
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!)); // no temporary file left
        Assert.Equal(FileModes.PrivateFile, FileModes.Of(path)); // evidence: 0600 in a 0700 directory it created
        Assert.Equal(FileModes.PrivateDirectory, FileModes.Of(dir.Combine("forensics")));

        var none = await docker.Service.CaptureLogsAsync(name, new LogCaptureRequest { Since = DateTimeOffset.UtcNow.AddHours(1) }, Ct);
        Assert.Equal(string.Empty, none.Text);
    }

    [Fact]
    public async Task Forensic_snapshot_commits_and_saves_the_image_with_the_sha256_of_the_saved_bytes()
    {
        var name = await docker.RunAsync("victim", DockerScope.Sh("echo ransom > /tmp/NOTE.txt; sleep 3600 & wait"));
        await WaitForFileAsync(name, "/tmp/NOTE.txt");
        using var dir = new TempDirectory("docker-forensics");
        var path = dir.Combine("incident-1", "victim.tar");
        var reference = $"{docker.Prefix}-forensic-victim:incident-1";

        var snapshot = await docker.Service.SnapshotForForensicsAsync(name, reference, path, Ct);

        Assert.Equal(FileModes.PrivateFile, FileModes.Of(path));
        Assert.Equal(FileModes.PrivateDirectory, FileModes.Of(dir.Combine("incident-1")));
        var bytes = await File.ReadAllBytesAsync(path, Ct);
        Assert.Equal(bytes.Length, snapshot.Bytes);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), snapshot.Sha256);
        Assert.Equal(reference, snapshot.ImageReference);
        var image = await docker.Client.Images.InspectImageAsync(reference, Ct);
        Assert.Equal(snapshot.ImageId, image.ID);
        Assert.Equal(["sh", "-c", "trap 'exit 0' TERM; echo ransom > /tmp/NOTE.txt; sleep 3600 & wait"], image.Config.Cmd);

        // The saved tar is a loadable image archive whose top layer holds the file the container wrote.
        var names = new List<string>();
        await using (var reader = new TarReader(File.OpenRead(path)))
        {
            while (await reader.GetNextEntryAsync(cancellationToken: Ct) is { } entry)
                names.Add(entry.Name);
        }

        Assert.Contains("manifest.json", names);
        Assert.Contains(names, n => n.EndsWith("layer.tar", StringComparison.Ordinal));
        Assert.Equal("running", (await docker.Service.InspectContainerAsync(name, Ct)).State); // unpaused after the commit
    }

    [Fact]
    public async Task Exec_returns_exit_code_and_both_outputs_and_feeds_standard_input()
    {
        var name = await docker.RunAsync("exec", DockerScope.Sh("sleep 3600 & wait"));

        var result = await docker.Service.ExecAsync(name, ["sh", "-c", "echo to-out; echo to-err >&2; exit 3"], new ExecOptions(), Ct);
        Assert.Equal(3, result.ExitCode);
        Assert.Equal("to-out\n", result.StandardOutput);
        Assert.Equal("to-err\n", result.StandardError);

        var cat = await docker.Service.ExecAsync(name, ["cat"], new ExecOptions { StandardInput = "SELECT 1;\n" }, Ct);
        Assert.True(cat.Succeeded);
        Assert.Equal("SELECT 1;\n", cat.StandardOutput);

        var env = await docker.Service.ExecAsync(name, ["sh", "-c", "echo $DRW_X in $(pwd)"], new ExecOptions { Environment = ["DRW_X=42"], WorkingDirectory = "/tmp" }, Ct);
        Assert.Equal("42 in /tmp\n", env.StandardOutput);

        await docker.Service.StopContainerAsync(name, TimeSpan.FromSeconds(5), Ct);
        var stopped = await Assert.ThrowsAsync<DockerOperationException>(() => docker.Service.ExecAsync(name, ["true"], new ExecOptions(), Ct));
        Assert.Contains("is not running", stopped.Message);
        Assert.Contains(name, stopped.Message);
    }

    [Fact]
    public async Task Recreate_keeps_name_config_and_anonymous_volume_data()
    {
        var namedVolume = docker.Name("recreate-data");
        var name = await docker.RunAsync("recreate", DockerScope.Sh("sleep 3600 & wait"), DockerScope.Health("true"), p =>
        {
            p.Env = ["APP_MODE=production"];
            p.Labels["org.example.role"] = "backend";
            p.Volumes = new Dictionary<string, EmptyStruct> { ["/anon"] = default };
            p.HostConfig.Binds = [$"{namedVolume}:/named"];
            p.HostConfig.RestartPolicy = new RestartPolicy { Name = RestartPolicyKind.UnlessStopped };
        });
        await docker.Service.ExecAsync(name, ["sh", "-c", "echo kept > /anon/file; echo kept > /named/file"], new ExecOptions(), Ct);
        var old = await docker.Client.Containers.InspectContainerAsync(name, Ct);
        docker.TrackVolume(old.Mounts.Single(m => m.Destination == "/anon").Name);

        var result = await docker.Service.RecreateContainerAsync(name, TimeSpan.FromSeconds(5), Ct);

        Assert.Equal(name, result.Name);
        Assert.Equal(old.ID, result.OldId);
        Assert.NotEqual(old.ID, result.NewId);
        var created = await docker.Client.Containers.InspectContainerAsync(name, Ct);
        Assert.Equal(result.NewId, created.ID);
        Assert.True(created.State.Running);
        Assert.Contains("APP_MODE=production", created.Config.Env);
        Assert.Equal("backend", created.Config.Labels["org.example.role"]);
        Assert.Equal(RestartPolicyKind.UnlessStopped, created.HostConfig.RestartPolicy.Name);
        Assert.NotEqual(old.Config.Hostname, created.Config.Hostname);
        var files = await docker.Service.ExecAsync(name, ["cat", "/anon/file", "/named/file"], new ExecOptions(), Ct);
        Assert.Equal("kept\nkept\n", files.StandardOutput);
        var parked = await docker.Client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["name"] = new Dictionary<string, bool> { [$"{name}-drw-old"] = true } },
        }, Ct);
        Assert.Empty(parked);
        var health = await docker.Service.WaitForHealthyAsync(ContainerSelector.Named(name), TimeSpan.FromSeconds(20), Ct);
        Assert.True(health.AllReady, health.Describe());
    }

    [Fact]
    public async Task Files_are_copied_into_and_out_of_a_stopped_container_with_the_directory_owner()
    {
        var name = await docker.RunAsync("files", DockerScope.Sh("mkdir -p /data; chown 999:999 /data; sleep 3600 & wait"));
        await docker.Service.ExecAsync(name, ["sh", "-c", "until [ -d /data ]; do sleep 0.1; done"], new ExecOptions(), Ct);
        await docker.Service.StopContainerAsync(name, TimeSpan.FromSeconds(5), Ct);
        using var dir = new TempDirectory("docker-files");
        var local = dir.Combine("dump.rdb");
        var content = RandomNumberGenerator.GetBytes(300_000);
        await File.WriteAllBytesAsync(local, content, Ct);

        await docker.Service.WriteFileToContainerAsync(name, local, "/data/dump.rdb", null, null, Ct);

        var copy = new MemoryStream();
        var digest = await docker.Service.ReadFileFromContainerAsync(name, "/data/dump.rdb", (s, ct) => s.CopyToAsync(copy, ct), Ct);
        Assert.Equal(content, copy.ToArray());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(content)), digest.Sha256);
        await docker.Service.StartContainerAsync(name, Ct);
        var owner = await docker.Service.ExecAsync(name, ["stat", "-c", "%u:%g", "/data/dump.rdb"], new ExecOptions(), Ct);
        Assert.Equal("999:999\n", owner.StandardOutput);

        var missing = await Assert.ThrowsAsync<DockerOperationException>(() => docker.Service.ReadFileFromContainerAsync(name, "/data/nope.rdb", (s, ct) => Task.CompletedTask, Ct));
        Assert.Contains("/data/nope.rdb", missing.Message);
        Assert.NotEqual(DockerOperationException.ContainerNotFound, missing.Code);
    }

    private async Task WaitForFileAsync(string container, string path)
    {
        var result = await docker.Service.ExecAsync(container, ["sh", "-c", $"for i in $(seq 50); do [ -f {path} ] && exit 0; sleep 0.1; done; exit 1"], new ExecOptions(), Ct);
        Assert.True(result.Succeeded, $"{path} did not appear in {container}");
    }

    /// <summary>The labels Compose gives a service's container.</summary>
    private static void ComposeLabels(CreateContainerParameters parameters, string project, string service)
    {
        parameters.Labels[DockerService.ComposeProjectLabel] = project;
        parameters.Labels[DockerService.ComposeServiceLabel] = service;
    }
}
