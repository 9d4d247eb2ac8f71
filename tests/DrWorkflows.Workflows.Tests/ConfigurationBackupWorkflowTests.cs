using System.Diagnostics;
using System.Text.Json;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.DockerConfig;
using DrWorkflows.Activities.Monitoring;
using DrWorkflows.Core.Execution;
using DrWorkflows.Testing;
using DrWorkflows.Workflows.Tests.Fakes;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Workflows.Tests;

/// <summary>The monitoring and Docker-configuration backup workflows (JSON) on the runtime with the recording Docker and memory stores.</summary>
public sealed class ConfigurationBackupWorkflowTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 20, 5, 50, 0, TimeSpan.Zero);
    private const string Prometheus = "ecommerce_prometheus";
    private const string Secret = "s3cr3t-db-password-value";

    [Fact]
    public async Task When_the_archive_fails_the_monitoring_container_is_started_and_checked_again_and_the_run_stops_at_an_incident()
    {
        await using var dr = await DrTestHost.StartAsync(Now, services => services.Configure<MonitoringBackupOptions>(o =>
        {
            o.Containers.Add(Prometheus);
            o.Volumes.Add("ecommerce_prometheus_data");
        }));

        var run = await dr.RunAsync("backup-monitoring"); // the recording Docker cannot stream a volume: the archive fails

        dr.Calls.AssertOrder($"docker.stop {Prometheus}", $"docker.start {Prometheus}", $"docker.wait-healthy {Prometheus}");
        Assert.Empty(await dr.Catalog.ListAsync("s3", BackupKinds.Monitoring, "monitoring", DrTestHost.Ct));
        for (var i = 0; i < 4 && run.Incidents.Count == 0; i++)
        {
            await dr.AdvanceAsync(TimeSpan.FromMinutes(30)); // the step's retry after 10 minutes
            run = await dr.StateAsync(run.Id);
        }

        var incident = Assert.Single(run.Incidents);
        Assert.Equal("backupMonitoring", incident.ActivityId);
        Assert.Equal(dr.Calls.Of($"docker.stop {Prometheus}").Count, dr.Calls.Of($"docker.start {Prometheus}").Count);
    }

    [Fact]
    public async Task A_monitoring_container_that_does_not_come_back_fails_the_backup_naming_it()
    {
        await using var dr = await DrTestHost.StartAsync(Now, services => services.Configure<MonitoringBackupOptions>(o =>
        {
            o.Containers.Add(Prometheus);
            o.Volumes.Add("ecommerce_prometheus_data");
        }));
        dr.Get<FakeDocker>().DefaultHealthy = false;

        var error = await Assert.ThrowsAsync<BackupException>(() => dr.Get<IMonitoringBackupService>().BackupAsync("s1", "s3", null, DrTestHost.Ct));

        Assert.StartsWith("The monitoring containers did not come back after the backup:", error.Message, StringComparison.Ordinal);
        Assert.Contains(Prometheus, error.Message, StringComparison.Ordinal);
        Assert.Contains("The backup itself failed too", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Monitoring_without_volumes_is_refused_before_anything_is_stopped()
    {
        await using var dr = await DrTestHost.StartAsync(Now, services => services.Configure<MonitoringBackupOptions>(o => o.Containers.Add(Prometheus)));

        var error = await Assert.ThrowsAsync<BackupException>(() => dr.Get<IMonitoringBackupService>().BackupAsync("s1", "s3", null, DrTestHost.Ct));

        Assert.Contains("Backups:Monitoring:Volumes is empty", error.Message, StringComparison.Ordinal);
        Assert.Empty(dr.Calls.Of("docker.stop"));
    }

    [Fact]
    public async Task Each_deployment_is_committed_and_stored_without_its_secrets_and_the_hourly_check_backs_up_only_a_change()
    {
        using var project = new TempDirectory("drw-config-project");
        File.WriteAllText(project.Combine("docker-compose.yml"), "services:\n  db:\n    image: postgres:15\n    environment:\n      POSTGRES_PASSWORD: ${DB_PASSWORD}\n      LITERAL_SECRET: \"inline-compose-secret\"\n");
        File.WriteAllText(project.Combine(".env"), $"DB_PASSWORD={Secret}\nDB_NAME=shop\n");
        var repository = project.Combine("config.git");
        Assert.Equal(0, Git(project.FullPath, "init", "--bare", "--quiet", repository).ExitCode);
        await using var dr = await DrTestHost.StartAsync(Now, services =>
        {
            services.Configure<DockerOptions>(o =>
            {
                o.ComposeProject = "ecommerce";
                o.ComposeProjectDirectory = project.FullPath;
                o.ComposeFiles.Add(project.Combine("docker-compose.yml"));
            });
            services.Configure<DockerConfigBackupOptions>(o => o.GitRepository = repository);
        });

        var deployed = await dr.RunAsync("backup-docker-config", new { Deployment = "v2.4.1" });

        Assert.Equal(WorkflowSubStatus.Finished, deployed.SubStatus);
        Assert.Equal(BackupDockerConfig.BackedUp, await dr.OutcomeAsync(deployed.Id, "backupOnDeployment"));
        Assert.Equal(VerifyArchiveBackups.Verified, await dr.OutcomeAsync(deployed.Id, "verify"));
        var set = Assert.Single(await dr.Catalog.ListAsync("s3", BackupKinds.DockerConfig, "platform", DrTestHost.Ct));
        Assert.True(set.Manifest.IsVerified);
        Assert.Equal("v2.4.1", set.Manifest.Properties["deployment"]);
        Assert.Equal(".env:DB_PASSWORD,docker-compose.yml:LITERAL_SECRET", set.Manifest.Properties["redactedKeys"]);
        var commit = set.Manifest.Properties["gitCommit"];
        Assert.Contains("Docker configuration of deployment v2.4.1", Git(project.FullPath, "--git-dir", repository, "log", "-1", "--format=%B", commit).Output, StringComparison.Ordinal);
        var journal = JsonSerializer.Serialize(await dr.Host.JournalAsync(deployed.Id));
        Assert.Contains("DB_PASSWORD", journal, StringComparison.Ordinal); // the key names are journaled,
        Assert.DoesNotContain(Secret, journal, StringComparison.Ordinal); // never the values
        Assert.DoesNotContain("inline-compose-secret", journal, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, JsonSerializer.Serialize(deployed.Output), StringComparison.Ordinal);
        var stored = Git(project.FullPath, "--git-dir", repository, "log", "-p", "--all").Output;
        Assert.DoesNotContain(Secret, stored, StringComparison.Ordinal);
        Assert.DoesNotContain("inline-compose-secret", stored, StringComparison.Ordinal);

        await dr.AdvanceAsync(TimeSpan.FromMinutes(30)); // the hourly check at 06:17: nothing changed
        File.AppendAllText(project.Combine(".env"), "FEATURE_X=on\n");
        await dr.AdvanceAsync(TimeSpan.FromHours(1)); // 07:17: the .env changed without a deployment call

        var instances = dr.Get<DrWorkflows.Core.Persistence.IWorkflowInstanceStore>();
        var checks = (await instances.ListAsync(new DrWorkflows.Core.Persistence.InstanceQuery(DefinitionId: "backup-docker-config"), DrTestHost.Ct)).Items
            .Where(r => r.Id != deployed.Id).OrderBy(r => r.CreatedAt).ToList();
        Assert.Equal(2, checks.Count);
        Assert.Equal(BackupDockerConfig.Unchanged, await dr.OutcomeAsync(checks[0].Id, "checkForChange"));
        Assert.Equal(BackupDockerConfig.BackedUp, await dr.OutcomeAsync(checks[1].Id, "checkForChange"));
        Assert.Equal(2, (await dr.Catalog.ListAsync("s3", BackupKinds.DockerConfig, "platform", DrTestHost.Ct)).Count);
        Assert.Equal("2", Git(project.FullPath, "--git-dir", repository, "rev-list", "--count", "main").Output.Trim()); // one commit per backup, none for the unchanged check
    }

    [Fact]
    public async Task A_Docker_configuration_restore_refuses_the_live_project_without_approval_and_a_directory_that_is_not_empty()
    {
        using var project = new TempDirectory("drw-config-live");
        File.WriteAllText(project.Combine("docker-compose.yml"), "services: {}\n");
        await using var dr = await DrTestHost.StartAsync(Now, services => services.Configure<DockerOptions>(o => o.ComposeProjectDirectory = project.FullPath));
        var service = dr.Get<IDockerConfigBackupService>();

        var live = await Assert.ThrowsAsync<BackupException>(() => service.RestoreAsync(new DockerConfigRestoreRequest(project.FullPath), DrTestHost.Ct));
        Assert.Contains("is the live Compose project directory: restoring into it needs IntoLiveProject", live.Message, StringComparison.Ordinal);
        using var busy = new TempDirectory("drw-config-busy");
        File.WriteAllText(busy.Combine("keep.txt"), "mine");
        var notEmpty = await Assert.ThrowsAsync<BackupException>(() => service.RestoreAsync(new DockerConfigRestoreRequest(busy.FullPath), DrTestHost.Ct));
        Assert.Contains("is not empty", notEmpty.Message, StringComparison.Ordinal);
        Assert.Equal("mine", File.ReadAllText(busy.Combine("keep.txt")));
        var noRepository = await Assert.ThrowsAsync<BackupException>(() => service.BackupAsync(new DockerConfigBackupRequest("x"), DrTestHost.Ct));
        Assert.Contains("Backups:DockerConfig:GitRepository is empty", noRepository.Message, StringComparison.Ordinal);
    }

    /// <summary>Runs git (the repositories of the tests are local and bare) and returns its exit code and output.</summary>
    internal static (int ExitCode, string Output) Git(string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo("git") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output);
    }
}
