using System.Diagnostics;
using System.Text;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.DockerConfig;
using DrWorkflows.Activities.Monitoring;
using DrWorkflows.Activities.Storage;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// The monitoring-volume and Docker-configuration backups on real parts: the sample platform's project on the private
/// dockerd (only its monitoring stand-in runs: a busybox holding the two monitoring volumes), the real backup catalog
/// over a local store or the S3 stand-in, and a temporary bare git repository. Lean on purpose: the logic (refusals,
/// retention, secret stripping) is proven by the in-memory tests.
/// </summary>
public sealed class ConfigurationBackupsRealTests(ITestOutputHelper output)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Monitoring_volumes_are_backed_up_with_the_container_stopped_and_started_again_verified_and_restored_into_fresh_volumes_and_in_place()
    {
        var clock = Stopwatch.StartNew();
        await using var platform = SamplePlatform.Create();
        using var scratch = new TempDirectory("drw-monitoring");
        await using var services = Services(platform, scratch, s => { }, o =>
        {
            o.Containers.Add(platform.MonitoringContainer);
            o.Volumes.AddRange(platform.MonitoringVolumes);
            o.StopTimeout = TimeSpan.FromSeconds(2);
        });
        var docker = services.GetRequiredService<IDockerService>();
        var (prometheus, grafana) = (platform.MonitoringVolumes[0], platform.MonitoringVolumes[1]);
        await platform.StartMonitoringAsync(docker, new Dictionary<string, IReadOnlyDictionary<string, string>>
        {
            [prometheus] = new Dictionary<string, string> { ["wal/00000001"] = new string('w', 3000), ["chunks_head/000001"] = "head chunk" },
            [grafana] = new Dictionary<string, string> { ["grafana.db"] = "dashboards of the shop" },
        }, Ct);
        var before = await docker.InspectContainerAsync(platform.MonitoringContainer, Ct);
        Assert.Equal("running", before.State);

        var backup = await services.GetRequiredService<IMonitoringBackupService>().BackupAsync("weekly-1", "local", null, Ct);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s  backed up: {backup.ServiceCheck}");

        // The container was stopped for the archive (it started again afterwards, later than before) and is running.
        Assert.Equal([platform.MonitoringContainer], backup.ContainersStopped);
        var after = await docker.InspectContainerAsync(platform.MonitoringContainer, Ct);
        Assert.Equal("running", after.State);
        Assert.True(after.StartedAt > before.StartedAt, $"started at {after.StartedAt:o}, before the backup {before.StartedAt:o}");
        var set = Assert.Single(await services.GetRequiredService<IBackupCatalog>().ListAsync("local", BackupKinds.Monitoring, "monitoring", Ct));
        Assert.Equal(2, set.Manifest.Files.Count);
        Assert.Equal(string.Join(",", platform.MonitoringVolumes), set.Manifest.Properties["volumes"]);
        Assert.StartsWith($"containers {platform.MonitoringContainer} stopped", set.Manifest.Properties["consistency"], StringComparison.Ordinal);

        var verification = await services.GetRequiredService<ArchiveSetVerifier>().VerifyNewAsync(BackupKinds.Monitoring, "monitoring", ["local"], Ct);
        Assert.True(verification.Succeeded, string.Join("; ", verification.Problems));
        Assert.True((await services.GetRequiredService<IBackupCatalog>().FindAsync("local", BackupKinds.Monitoring, "monitoring", set.Id, Ct))!.Manifest.IsVerified);

        // Damage after the backup: grafana's database replaced by other content of another size.
        await SamplePlatform.WriteVolumeAsync(docker, grafana, new Dictionary<string, string> { ["grafana.db"] = "damaged" }, Ct);

        var restore = services.GetRequiredService<IMonitoringBackupService>();
        var fresh = await restore.RestoreAsync(new MonitoringRestoreRequest { Store = "local" }, Ct);
        Assert.False(fresh.InPlace);
        Assert.Equal(set.Id, fresh.SetId);
        Assert.All(fresh.Volumes, v => Assert.StartsWith(v.Volume + "-restored-", v.Target, StringComparison.Ordinal));
        Assert.Equal(3, fresh.Volumes.Sum(v => v.Files));
        Assert.Equal("damaged", await ReadFileAsync(docker, grafana, "grafana.db"));
        Assert.Equal("dashboards of the shop", await ReadFileAsync(docker, fresh.Volumes.Single(v => v.Volume == grafana).Target, "grafana.db"));
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s  restored into fresh volumes");

        var inPlace = await restore.RestoreAsync(new MonitoringRestoreRequest { Store = "local", SetId = set.Id, InPlace = true }, Ct);
        Assert.True(inPlace.InPlace);
        Assert.Equal("dashboards of the shop", await ReadFileAsync(docker, grafana, "grafana.db"));
        Assert.Equal("damaged", await ReadFileAsync(docker, inPlace.SafetyCopies.Single(c => c.StartsWith(grafana, StringComparison.Ordinal)), "grafana.db"));
        Assert.Equal("running", (await docker.InspectContainerAsync(platform.MonitoringContainer, Ct)).State);
        Assert.Contains("started again and checked", inPlace.ServiceCheck, StringComparison.Ordinal);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s  restored in place, {platform.MonitoringContainer} running again");
    }

    [Fact]
    public async Task The_Docker_configuration_goes_to_a_bare_git_repository_and_S3_without_its_secrets_and_a_chosen_version_is_restored_with_the_digests_to_pin()
    {
        var clock = Stopwatch.StartNew();
        var s3 = TestServices.RequireS3();
        await using var platform = SamplePlatform.Create();
        using var scratch = new TempDirectory("drw-docker-config");
        var bucket = await CreateBucketAsync(s3);
        var repository = scratch.Combine("config.git");
        Assert.Equal(0, ConfigurationBackupWorkflowTests.Git(scratch.FullPath, "init", "--bare", "--quiet", repository).ExitCode);
        const string ApiToken = "tok-7d1e0c55-do-not-store";
        File.AppendAllLines(Path.Combine(platform.ProjectDirectory, ".env"), [$"PAYMENT_API_TOKEN={ApiToken}", "LOG_LEVEL=info"]);
        var journal = new CapturingLoggerProvider();
        await using var services = Services(platform, scratch, o =>
        {
            o.S3.BucketName = bucket;
            o.S3.ServiceUrl = s3.ToString();
            o.S3.ForcePathStyle = true;
            o.S3.AccessKeyId = "S3RVER";
            o.S3.SecretAccessKey = "S3RVER";
        }, null, o => o.GitRepository = repository, journal);
        var docker = services.GetRequiredService<IDockerService>();
        await platform.StartMonitoringAsync(docker, new Dictionary<string, IReadOnlyDictionary<string, string>>
        {
            [platform.MonitoringVolumes[0]] = new Dictionary<string, string> { ["x"] = "x" },
            [platform.MonitoringVolumes[1]] = new Dictionary<string, string> { ["y"] = "y" },
        }, Ct);
        var backups = services.GetRequiredService<IDockerConfigBackupService>();

        var first = await backups.BackupAsync(new DockerConfigBackupRequest("deploy-1") { Store = "s3", Deployment = "v1.0.0" }, Ct);
        var unchanged = await backups.BackupAsync(new DockerConfigBackupRequest("check-1") { Store = "s3", OnlyWhenChanged = true }, Ct);
        File.AppendAllLines(Path.Combine(platform.ProjectDirectory, ".env"), ["FEATURE_CHECKOUT=on"]);
        var second = await backups.BackupAsync(new DockerConfigBackupRequest("deploy-2") { Store = "s3", Deployment = "v1.1.0" }, Ct);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s  two deployments backed up");

        Assert.True(first.Changed);
        Assert.False(unchanged.Changed);
        Assert.Equal("deploy-1", unchanged.UnchangedSince);
        Assert.True(second.Changed);
        Assert.Contains(".env:PLATFORM_PG_PASSWORD", first.RedactedKeys);
        Assert.Contains(".env:PAYMENT_API_TOKEN", first.RedactedKeys);
        var image = Assert.Single(first.Images);
        Assert.Equal("prometheus", image.Service);
        Assert.StartsWith("sha256:", image.Digest, StringComparison.Ordinal);

        // Git: one commit per deployment, the files without the secrets.
        var log = ConfigurationBackupWorkflowTests.Git(scratch.FullPath, "--git-dir", repository, "log", "--format=%H %s", "main");
        Assert.Equal([second.GitCommit, first.GitCommit], log.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]));
        var committedEnv = ConfigurationBackupWorkflowTests.Git(scratch.FullPath, "--git-dir", repository, "show", $"{first.GitCommit}:platform/.env").Output;
        Assert.Contains("LOG_LEVEL=info", committedEnv, StringComparison.Ordinal);
        Assert.Contains("PAYMENT_API_TOKEN=" + SecretStripper.Placeholder, committedEnv, StringComparison.Ordinal);
        var everything = ConfigurationBackupWorkflowTests.Git(scratch.FullPath, "--git-dir", repository, "log", "-p", "--all").Output;
        Assert.DoesNotContain(ApiToken, everything, StringComparison.Ordinal);
        Assert.DoesNotContain(platform.Password, everything, StringComparison.Ordinal);

        // The S3 set: verified, and no secret in any stored byte (gzip-compressed: decoded by the restore below).
        var verification = await services.GetRequiredService<ArchiveSetVerifier>().VerifyNewAsync(BackupKinds.DockerConfig, "platform", ["s3"], Ct);
        Assert.True(verification.Succeeded, string.Join("; ", verification.Problems));
        Assert.Equal(2, verification.Verified.Count);

        // A chosen (older) version restored into an empty directory; the live project is refused without approval.
        var target = scratch.Combine("restored-v1");
        var restored = await backups.RestoreAsync(new DockerConfigRestoreRequest(target) { Store = "s3", SetId = "deploy-1" }, Ct);
        Assert.Equal(first.GitCommit, restored.GitCommit);
        Assert.Equal(["prometheus: local/busybox:1@" + image.Digest], restored.PinnedImages);
        var restoredEnv = await File.ReadAllTextAsync(Path.Combine(target, ".env"), Ct);
        Assert.DoesNotContain("FEATURE_CHECKOUT", restoredEnv, StringComparison.Ordinal);
        Assert.Equal(
            (await File.ReadAllTextAsync(Path.Combine(platform.ProjectDirectory, "docker-compose.yml"), Ct)).Replace(platform.Password, SecretStripper.Placeholder, StringComparison.Ordinal),
            await File.ReadAllTextAsync(Path.Combine(target, "docker-compose.yml"), Ct));
        foreach (var file in Directory.GetFiles(target, "*", SearchOption.AllDirectories))
        {
            var text = await File.ReadAllTextAsync(file, Ct);
            Assert.DoesNotContain(ApiToken, text, StringComparison.Ordinal);
            Assert.DoesNotContain(platform.Password, text, StringComparison.Ordinal);
        }

        var refused = await Assert.ThrowsAsync<BackupException>(() => backups.RestoreAsync(new DockerConfigRestoreRequest(platform.ProjectDirectory) { Store = "s3" }, Ct));
        Assert.Contains("live Compose project directory", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(ApiToken, journal.All, StringComparison.Ordinal);
        Assert.DoesNotContain(platform.Password, journal.All, StringComparison.Ordinal);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s  version deploy-1 restored and checked");
    }

    private static ServiceProvider Services(SamplePlatform platform, TempDirectory scratch, Action<BackupStoreOptions> stores, Action<MonitoringBackupOptions>? monitoring,
        Action<DockerConfigBackupOptions>? dockerConfig = null, CapturingLoggerProvider? logs = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(b =>
        {
            b.SetMinimumLevel(LogLevel.Information);
            if (logs is not null)
                b.AddProvider(logs);
        });
        services.AddDockerActivities(platform.Configure);
        services.AddBackupActivities(
            stores: o =>
            {
                o.Local.Directory = scratch.Combine("store");
                stores(o);
            },
            compression: o => o.Method = CompressionMethod.Gzip);
        services.AddConfigurationBackups(monitoring, dockerConfig);
        return services.BuildServiceProvider();
    }

    private static async Task<string> ReadFileAsync(IDockerService docker, string volume, string path)
    {
        using var tar = new MemoryStream();
        await docker.ArchiveVolumeAsync(volume, tar, Ct);
        tar.Position = 0;
        await using var reader = new System.Formats.Tar.TarReader(tar);
        while (await reader.GetNextEntryAsync(copyData: true, Ct) is { } entry)
        {
            if (entry.Name.TrimStart('.', '/') == path && entry.DataStream is { } data)
                return await new StreamReader(data, Encoding.UTF8).ReadToEndAsync(Ct);
        }

        return $"(no {path} in {volume})";
    }

    private static async Task<string> CreateBucketAsync(Uri s3)
    {
        var name = "drw-config-" + Guid.NewGuid().ToString("N")[..12];
        using var client = new Amazon.S3.AmazonS3Client(new Amazon.Runtime.BasicAWSCredentials("S3RVER", "S3RVER"), new Amazon.S3.AmazonS3Config
        {
            ServiceURL = s3.ToString(),
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
        });
        await client.PutBucketAsync(new Amazon.S3.Model.PutBucketRequest { BucketName = name }, Ct);
        return name;
    }
}
