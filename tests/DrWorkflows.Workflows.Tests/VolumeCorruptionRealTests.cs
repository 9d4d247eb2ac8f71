using System.Diagnostics;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Core.Execution;
using DrWorkflows.Testing;
using static DrWorkflows.Workflows.Tests.DatabaseContainerFailureRealTests;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// Scenario 5 end to end on real parts: the sample Compose platform of <c>deploy/platform</c> with PostgreSQL's data
/// on its named volume (<c>&lt;project&gt;_postgres_data</c>), a real verified backup, a real corruption (the
/// cluster's <c>global/pg_control</c> overwritten through a helper container that mounts the volume, so PostgreSQL
/// cannot start), and the JSON workflow <c>dr-volume-corruption</c> run with the real clock against the real Docker,
/// Compose, PostgreSQL, backup and smoke-test services. Only comms are the recording stand-ins of <see cref="DrTestHost"/>.
/// </summary>
public sealed class VolumeCorruptionRealTests(ITestOutputHelper output)
{
    private const string Id = "dr-volume-corruption";
    private const string Damage = "corrupted-by-the-drw-volume-test";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_corrupted_data_volume_is_archived_with_its_checksum_then_after_approval_replaced_by_a_fresh_volume_and_the_verified_backup_restored()
    {
        await using var platform = SamplePlatform.Create();
        using var emergency = new TempDirectory("drw-emergency");
        await using var dr = await platform.StartDrHostAsync();
        var compose = dr.Get<IComposeService>();
        var docker = dr.Get<IDockerService>();
        await RequireComposeAsync(compose);
        using var client = new DockerClientConfiguration(platform.DockerEndpoint).CreateClient();
        var clock = Stopwatch.StartNew();

        try
        {
            // The platform with the shop's data, PostgreSQL's data on the project's named volume.
            await platform.UpAndSeedAsync(compose, docker, customers: 30, Ct);
            var mounts = (await client.Containers.InspectContainerAsync(platform.PostgresContainer, Ct)).Mounts;
            Assert.Contains(mounts, m => m.Type == "volume" && m.Name == platform.PostgresVolume && m.Destination == "/var/lib/postgresql/data");
            var original = await client.Volumes.InspectAsync(platform.PostgresVolume, Ct);
            Assert.Equal(platform.Project, original.Labels["com.docker.compose.project"]);
            Step("platform up and seeded");

            var setId = await BackUpAndVerifyAsync(dr);
            Assert.Equal(30, await platform.CountAsync("customers", Ct));
            Assert.Equal(60, await platform.CountAsync("orders", Ct));
            Step("backup verified");

            // The fault: the control file in the volume is overwritten, PostgreSQL refuses to start on it.
            await docker.StopContainerAsync(platform.PostgresContainer, TimeSpan.FromSeconds(10), Ct);
            await CorruptControlFileAsync(client, platform.PostgresVolume);
            await docker.StartContainerAsync(platform.PostgresContainer, Ct);
            await WaitForLogAsync(client, platform.PostgresContainer, "database files are incompatible with server", TimeSpan.FromSeconds(30));
            await Assert.ThrowsAnyAsync<Exception>(() => platform.CountAsync("orders", Ct));
            Step("volume corrupted, PostgreSQL cannot start");

            var run = await dr.RunAsync(Id, new
            {
                Reason = "PostgreSQL does not start: database files are incompatible with server (real-parts test)",
                Container = platform.PostgresContainer,
                PostgresService = "postgres",
                Volume = platform.PostgresVolume,
                EmergencyDirectory = emergency.FullPath,
                Server = "main",
                Database = SamplePlatform.Database,
                Store = "local",
                SmokeChecks = new[] { new { url = platform.GatewayHealth.ToString(), expectedStatus = new[] { 200 }, bodyContains = new[] { "ok" } } },
            });
            Step("waiting on the approval gate");

            // Stopped and archived before the question; nothing removed yet.
            Assert.True(run.SubStatus == WorkflowSubStatus.Suspended, $"{run.SubStatus}: {string.Join("; ", run.Incidents.Select(i => i.Message))}");
            AssertInOrder(await dr.CompletedAsync(run.Id), "stopPostgres", "archiveVolume", "findBackup");
            var archived = Assert.Single(await dr.Host.JournalAsync(run.Id), e => e.EventName == JournalEvents.Completed && e.ActivityId == "archiveVolume").Payload!["data"]!["archive"]!;
            output.WriteLine($"archive journal: {archived.ToJsonString()}");
            var archivePath = Path.Combine(emergency.FullPath, $"corrupted-{platform.PostgresVolume}-{run.Id}.tar");
            Assert.Equal(archivePath, archived["path"]!.ToString());
            Assert.Equal(platform.PostgresVolume, archived["volume"]!.ToString());
            Assert.True(File.Exists(archivePath), archivePath);
            Assert.Equal(new FileInfo(archivePath).Length, archived["bytes"]!.GetValue<long>());
            Assert.Equal(await SamplePlatform.Sha256Async(archivePath, Ct), archived["sha256"]!.ToString());
            Assert.Equal(Damage, Encoding.ASCII.GetString(await SamplePlatform.ArchivedFileAsync(archivePath, "global/pg_control", Damage.Length, Ct) ?? []));
            Assert.Equal("exited", (await docker.InspectContainerAsync(platform.PostgresContainer, Ct)).State);

            var gate = await dr.PendingGateAsync(run.Id);
            Assert.Equal("Replace the corrupted volume from backup?", gate.Title);
            Assert.Equal(setId, gate.Facts!["backupSet"]!.ToString());
            Assert.Equal(archived["sha256"]!.ToString(), gate.Facts["archive"]!["sha256"]!.ToString());
            Assert.Equal(Damage, await ControlFileStartAsync(client, platform.PostgresVolume));

            await dr.DecideAsync(run.Id, "approve", comment: "replace it, the archive is kept");
            var done = await RunToEndAsync(dr, run.Id, TimeSpan.FromSeconds(120));
            Step("run ended");

            Assert.True(done.SubStatus == WorkflowSubStatus.Finished, $"{done.SubStatus}: {string.Join("; ", done.Incidents.Select(i => i.Message))}");
            Assert.Equal("Recovered", done.Output["Outcome"]!.ToString());
            var completed = await dr.CompletedAsync(run.Id);
            output.WriteLine($"completed: {string.Join(", ", completed)}");
            AssertInOrder(completed, "stopPostgres", "archiveVolume", "findBackup", "approveReplace", "removeContainer", "removeVolume", "createVolume",
                "startPostgres", "waitServer", "restore", "waitHealthy", "smoke", "markRecovered", "postMortem");
            Assert.Equal("Approved", await dr.OutcomeAsync(run.Id, "approveReplace"));
            Assert.Equal(RemoveVolume.Removed, await dr.OutcomeAsync(run.Id, "removeVolume"));
            Assert.Equal(RestoreDatabase.Restored, await dr.OutcomeAsync(run.Id, "restore"));
            Assert.Equal(WaitForHealthy.Healthy, await dr.OutcomeAsync(run.Id, "waitHealthy"));
            var journal = await dr.Host.JournalAsync(run.Id);
            var removeCommand = journal.Single(e => e.EventName == JournalEvents.Completed && e.ActivityId == "removeContainer").Payload!["data"]!["compose"]!["command"]!.ToString();
            Assert.Contains($"rm --stop --force postgres", removeCommand, StringComparison.Ordinal);
            var restored = journal.Single(e => e.EventName == JournalEvents.Completed && e.ActivityId == "restore").Payload!["data"]!["restore"]!;
            Assert.Equal(setId, restored["setId"]!.ToString());
            Assert.Empty(restored["integrityProblems"]!.AsArray());

            // A fresh volume of the same name, with Compose's labels, under a new container; the data of the backup.
            var fresh = await client.Volumes.InspectAsync(platform.PostgresVolume, Ct);
            Assert.NotEqual(Damage, await ControlFileStartAsync(client, platform.PostgresVolume));
            Assert.Equal(original.Labels.OrderBy(l => l.Key), fresh.Labels.OrderBy(l => l.Key));
            Assert.Equal(30, await platform.CountAsync("customers", Ct));
            Assert.Equal(60, await platform.CountAsync("orders", Ct));
            var after = await docker.WaitForHealthyAsync(ContainerSelector.Project(platform.Project), TimeSpan.FromSeconds(30), Ct);
            Assert.True(after.AllReady, after.Describe());
            Assert.True(File.Exists(archivePath), "the archive of the corrupted volume is kept");
            Assert.Contains("Recovered by DrWorkflows", Assert.Single(dr.PostMortems.Requests).Details.Summary, StringComparison.Ordinal);
        }
        finally
        {
            await SamplePlatform.DownAsync(compose, output);
            Step("down");
        }

        // Nothing of the project is left once the platform is disposed: no container, no volume (found by label or name).
        Assert.Empty(await docker.ListContainersAsync(ContainerSelector.Project(platform.Project), null, Ct));
        await platform.DisposeAsync();
        Assert.Null(await docker.InspectVolumeAsync(platform.PostgresVolume, Ct));
        Assert.False(Directory.Exists(platform.ProjectDirectory));

        void Step(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.0} s  {what}");
    }

    /// <summary>Overwrites the start of <c>global/pg_control</c> in the (unused) volume through a helper container.</summary>
    private static Task CorruptControlFileAsync(DockerClient client, string volume) =>
        SamplePlatform.OnVolumeAsync(client, volume, $"printf '%s' '{Damage}' | dd of=/data/global/pg_control bs=1 conv=notrunc 2>/dev/null && sync", Ct);

    /// <summary>The first bytes of <c>global/pg_control</c> in the volume.</summary>
    private static Task<string> ControlFileStartAsync(DockerClient client, string volume) =>
        SamplePlatform.OnVolumeAsync(client, volume, $"head -c {Damage.Length} /data/global/pg_control", Ct);

    private static async Task WaitForLogAsync(DockerClient client, string container, string text, TimeSpan timeout)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            using var logs = await client.Containers.GetContainerLogsAsync(container, false, new ContainerLogsParameters { ShowStderr = true, ShowStdout = true, Tail = "50" }, Ct);
            var (stdout, stderr) = await logs.ReadOutputToEndAsync(Ct);
            if ((stdout + stderr).Contains(text, StringComparison.Ordinal))
                return;
            Assert.True(waited.Elapsed < timeout, $"'{text}' not in the log of {container} within {timeout}:\n{stdout}{stderr}");
            await Task.Delay(250, Ct);
        }
    }
}
