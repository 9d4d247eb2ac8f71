using System.Diagnostics;
using Docker.DotNet;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.PgBackRest;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// The sample platform with a DR host whose pgBackRest service is the real one (repo1 on the harness's HTTPS s3rver,
/// repo2 on the platform's pgbackrest volume, both encrypted), for the tests that run workflows restoring or backing
/// up with pgBackRest. Disposing removes what the restores created and brings the platform down.
/// </summary>
internal sealed class PgBackRestTestPlatform : IAsyncDisposable
{
    private readonly ITestOutputHelper output;

    private PgBackRestTestPlatform(SamplePlatform platform, ServiceProvider services, DrTestHost dr, ITestOutputHelper output)
    {
        Platform = platform;
        Services = services;
        Dr = dr;
        this.output = output;
        Client = new DockerClientConfiguration(platform.DockerEndpoint).CreateClient();
    }

    public SamplePlatform Platform { get; }

    public ServiceProvider Services { get; }

    public DrTestHost Dr { get; }

    public DockerClient Client { get; }

    public IPgBackRest PgBackRest => Services.GetRequiredService<IPgBackRest>();

    public IComposeService Compose => Dr.Get<IComposeService>();

    public IDockerService Docker => Dr.Get<IDockerService>();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Skips (or fails under CI) without the HTTPS s3rver or a Compose CLI; <paramref name="configure"/> may change pgBackRest's options.</summary>
    public static async Task<PgBackRestTestPlatform> StartAsync(ITestOutputHelper output, Action<PgBackRestOptions>? configure = null)
    {
        var s3 = TestServices.RequireS3Tls();
        var platform = SamplePlatform.Create();
        var services = PointInTimeRecoveryRealTests.Services(platform, s3, PointInTimeRecoveryRealTests.Key, configure);
        var pgbackrest = services.GetRequiredService<IPgBackRest>();
        var dr = await platform.StartDrHostAsync(s => s.AddSingleton(pgbackrest));
        var started = new PgBackRestTestPlatform(platform, services, dr, output);
        await DatabaseContainerFailureRealTests.RequireComposeAsync(started.Compose);
        return started;
    }

    /// <summary>The platform up and seeded, WAL archiving on (stanza <c>shop</c>) and a full backup in both repositories.</summary>
    public async Task UpArchivingAsync(int customers)
    {
        await Platform.UpAndSeedAsync(Compose, Docker, customers, Ct);
        await PgBackRest.EnableArchivingAsync(Platform.PostgresContainer, "shop", Ct);
        await Platform.WaitForServerAsync(TimeSpan.FromSeconds(240), Ct);
        await PgBackRest.BackupAsync(Platform.PostgresContainer, "shop", "full", Ct);
    }

    /// <summary>Switches WAL segments until the archiver shipped one after <paramref name="at"/> (generous deadline: the machine is shared).</summary>
    public async Task WaitForArchiverPastAsync(DateTime at)
    {
        var waited = Stopwatch.StartNew();
        while (!await Platform.ScalarAsync<bool>("postgres", $"SELECT coalesce(last_archived_time, '-infinity') > timestamptz '{at:yyyy-MM-dd HH:mm:ss.ffffff}+00' FROM pg_stat_archiver", Ct))
        {
            Assert.True(waited.Elapsed < TimeSpan.FromMinutes(3), $"the archiver shipped nothing after {at:O} within 3 minutes");
            await Platform.ExecuteAsync("postgres", "SELECT pg_switch_wal()", Ct);
            await Task.Delay(TimeSpan.FromMilliseconds(500), Ct);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await PointInTimeRecoveryRealTests.RemovePitrAsync(Client, Platform);
            await SamplePlatform.DownAsync(Compose, output);
        }
        finally
        {
            await Dr.DisposeAsync();
            await Services.DisposeAsync();
            await Platform.DisposeAsync();
            Client.Dispose();
        }
    }
}
