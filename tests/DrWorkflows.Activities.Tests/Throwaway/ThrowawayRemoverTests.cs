using Docker.DotNet;
using Docker.DotNet.Models;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Activities.Tests.Docker;
using DrWorkflows.Activities.Tests.Postgres;
using DrWorkflows.Activities.Throwaway;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Tests.Throwaway;

/// <summary>The janitor's removers on the real parts: a PostgreSQL server, the test dockerd.</summary>
public sealed class ThrowawayRemoverTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_verification_database_left_by_a_crashed_attempt_is_dropped_by_the_janitor()
    {
        var serverConnection = TestServices.RequirePostgres();
        await using var host = WorkflowTestHost.Create(configure: services =>
        {
            services.AddBackupActivities(postgres: o => o.Servers["verify"] = serverConnection);
            services.AddThrowawayJanitor();
        });
        var server = host.Services.GetRequiredService<IPostgresServerResolver>().Resolve("verify", null);
        await CreateEndedRunAsync(host, "run-v");

        // The verification's own provider creates it (recorded first) under an attempt of a run that then ended without it.
        ThrowawayDatabase database;
        using (ActivityAttempt.Enter(ThrowawayLedgerTests.Attempt("run-v", "exec-1", 1)))
            database = await host.Services.GetRequiredService<IThrowawayPostgresProvider>().CreateAsync(new ThrowawayRequest("shop") { PreferredServer = server }, Ct);
        Assert.True(await SampleDatabase.DatabaseExistsAsync(serverConnection, database.Database, Ct));
        var row = Assert.Single(await host.Services.GetRequiredService<IThrowawayResourceStore>().ListAsync(new ThrowawayQuery(InstanceId: "run-v"), Ct));
        Assert.Equal((ThrowawayKinds.PostgresDatabase, database.Database, "verify"), (row.Kind, row.Name, row.Location));

        var report = await host.Services.GetRequiredService<ThrowawayJanitor>().RunOnceAsync(Ct);

        Assert.Equal(database.Database, Assert.Single(report.Removed).Name);
        Assert.False(await SampleDatabase.DatabaseExistsAsync(serverConnection, database.Database, Ct));
        await database.DisposeAsync(); // the step's own removal later finds it gone: nothing to do
    }

    [Fact]
    public async Task A_database_on_a_server_given_by_connection_string_is_found_by_host_and_port_and_an_unknown_server_is_reported()
    {
        var serverConnection = TestServices.RequirePostgres();
        await using var host = WorkflowTestHost.Create(configure: services =>
        {
            services.AddBackupActivities(postgres: o => o.Servers["main"] = serverConnection);
            services.AddThrowawayJanitor();
        });
        var endpoint = host.Services.GetRequiredService<IPostgresServerResolver>().Resolve(null, serverConnection).Endpoint;
        var name = $"drwt_left_{Guid.NewGuid():N}"[..24];
        await SampleDatabase.ExecuteAsync(SampleDatabase.WithDatabase(serverConnection, "postgres"), $"CREATE DATABASE {name}", Ct);
        try
        {
            var store = host.Services.GetRequiredService<IThrowawayResourceStore>();
            await store.RecordAsync(Orphan("by-endpoint", ThrowawayKinds.PostgresDatabase, name, endpoint), Ct);
            await store.RecordAsync(Orphan("unknown", ThrowawayKinds.PostgresDatabase, "drwt_nowhere", "nowhere"), Ct);

            var report = await host.Services.GetRequiredService<ThrowawayJanitor>().RunOnceAsync(Ct);

            Assert.Equal("by-endpoint", Assert.Single(report.Removed).Id);
            Assert.False(await SampleDatabase.DatabaseExistsAsync(serverConnection, name, Ct));
            var failure = Assert.Single(report.Failed);
            Assert.Contains("PostgreSQL server 'nowhere' is not configured on this node", failure.Error, StringComparison.Ordinal);
            Assert.Equal(ThrowawayState.Live, (await store.FindAsync("unknown", Ct))!.State);
        }
        finally
        {
            await SampleDatabase.DropDatabaseAsync(serverConnection, name);
        }
    }

    [Fact]
    public async Task A_container_its_volume_and_a_network_left_behind_are_removed_containers_first()
    {
        await using var docker = DockerScope.Create();
        await using var host = WorkflowTestHost.Create(configure: services =>
        {
            services.AddDockerActivities(o => o.Endpoint = docker.Options.Endpoint);
            services.AddThrowawayJanitor();
        });
        var endpoint = docker.Options.Endpoint;
        var volume = docker.Name("tw-vol");
        var network = docker.Name("tw-net");
        await docker.Client.Volumes.CreateAsync(new VolumesCreateParameters { Name = volume }, Ct);
        await docker.Client.Networks.CreateNetworkAsync(new NetworksCreateParameters { Name = network, Driver = "bridge", Internal = true }, Ct);
        var container = await docker.RunAsync("tw-pg", DockerScope.Sh("sleep 3600 & wait"), configure: p => p.HostConfig.Binds = [$"{volume}:/data"]);
        var store = host.Services.GetRequiredService<IThrowawayResourceStore>();
        // Recorded in the order they were made; the janitor still removes the (running) container before its volume.
        await store.RecordAsync(Orphan("v", ThrowawayKinds.DockerVolume, volume, endpoint, Environment.MachineName), Ct);
        await store.RecordAsync(Orphan("n", ThrowawayKinds.DockerNetwork, network, endpoint, Environment.MachineName), Ct);
        await store.RecordAsync(Orphan("c", ThrowawayKinds.DockerContainer, container, endpoint, Environment.MachineName), Ct);
        await store.RecordAsync(Orphan("other-engine", ThrowawayKinds.DockerContainer, container, "tcp://10.255.0.1:2376"), Ct);

        var report = await host.Services.GetRequiredService<ThrowawayJanitor>().RunOnceAsync(Ct);

        Assert.Empty(report.Failed);
        Assert.Equal(["c", "n", "v"], report.Removed.Select(r => r.Id).Order(StringComparer.Ordinal));
        Assert.Equal("c", report.Removed[0].Id);
        Assert.Equal(1, report.Elsewhere);
        await Assert.ThrowsAsync<DockerContainerNotFoundException>(() => docker.Client.Containers.InspectContainerAsync(container, Ct));
        await Assert.ThrowsAsync<DockerNetworkNotFoundException>(() => docker.Client.Networks.InspectNetworkAsync(network, Ct));
        await Assert.ThrowsAnyAsync<DockerApiException>(() => docker.Client.Volumes.InspectAsync(volume, Ct));
    }

    [Fact]
    public async Task A_volume_helper_container_and_the_partial_evidence_file_are_in_the_ledger_and_released()
    {
        await using var docker = DockerScope.Create();
        var store = new InMemoryStore();
        var ledger = new ThrowawayLedger(store, Options.Create(new RuntimeOptions { NodeId = "node-a" }), TimeProvider.System, NullLogger<ThrowawayLedger>.Instance);
        using var service = new DockerService(Options.Create(docker.Options), TimeProvider.System, NullLogger<DockerService>.Instance, ledger);
        var volume = docker.Name("tw-arch");
        await docker.Client.Volumes.CreateAsync(new VolumesCreateParameters { Name = volume }, Ct);
        using var dir = new TempDirectory("tw-evidence");
        var path = dir.Combine("incident-7", "volume.tar");

        using (ActivityAttempt.Enter(ThrowawayLedgerTests.Attempt("run-a", "exec-a", 1, "archiveVolume", "DrWorkflows.ArchiveVolume")))
            await service.ArchiveVolumeToFileAsync(volume, path, Ct);

        var rows = await store.ListAsync(new ThrowawayQuery(InstanceId: "run-a"), Ct);
        Assert.All(rows, r => Assert.Equal(ThrowawayState.Released, r.State));
        var helper = Assert.Single(rows, r => r.Kind == ThrowawayKinds.DockerContainer);
        Assert.StartsWith("drw-helper-", helper.Name, StringComparison.Ordinal);
        Assert.Equal(docker.Options.Endpoint, helper.Location);
        Assert.Contains(rows, r => r.Kind == ThrowawayKinds.File && r.Name.EndsWith(".partial", StringComparison.Ordinal));
        await Assert.ThrowsAsync<DockerContainerNotFoundException>(() => docker.Client.Containers.InspectContainerAsync(helper.Name, Ct));
        Assert.Equal(FileModes.PrivateFile, FileModes.Of(path));
        Assert.Equal(FileModes.PrivateDirectory, FileModes.Of(dir.Combine("incident-7")));
    }

    private static ThrowawayResource Orphan(string id, string kind, string name, string location, string? host = null) => new()
    {
        Id = id,
        Kind = kind,
        Name = name,
        Location = location,
        Host = host,
        HolderId = "a-process-that-is-gone",
        NodeId = "node-gone",
        RecordedAt = DateTimeOffset.UnixEpoch,
    };

    private static async Task CreateEndedRunAsync(WorkflowTestHost host, string id)
    {
        var now = host.Clock.GetUtcNow();
        await host.Instances.CreateAsync(new WorkflowState
        {
            Id = id,
            DefinitionId = "verify-backups",
            DefinitionVersionId = "verify-backups-1",
            Status = WorkflowStatus.Finished,
            SubStatus = WorkflowSubStatus.Faulted,
            CreatedAt = now,
            UpdatedAt = now,
        }, [], Ct);
    }
}
