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

    /// <summary>
    /// No S3 repository: the local one (repo2, the platform's pgbackrest volume) only. For the tests whose point is not
    /// where the repository is: the s3rver (one Node process over TLS, shared by every test) made each backup and
    /// restore through repo1 take several times as long on the loaded CI machine.
    /// </summary>
    public static void LocalRepositoryOnly(PgBackRestOptions options) => options.S3.Bucket = string.Empty;

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

    /// <summary>
    /// Waits until every WAL record written so far is archived: the archiver's last segment is at or past the one
    /// holding the current WAL position. Rows committed before the call are then in the archive. (A time check, such as
    /// "archived after T", is not enough: under load the archiver works through a backlog, and a segment archived after
    /// T may be older than the rows of T.) With <paramref name="switchWal"/>, it switches segments instead of waiting for
    /// archive_timeout. Generous deadline: the machine is shared.
    /// </summary>
    public static async Task<TimeSpan> WaitForArchivedAsync(SamplePlatform platform, bool switchWal, CancellationToken cancellationToken)
    {
        var waited = Stopwatch.StartNew();
        var segment = await platform.ScalarAsync<string>("postgres", "SELECT pg_walfile_name(pg_current_wal_lsn())", cancellationToken);
        while (!await platform.ScalarAsync<bool>("postgres", $"SELECT coalesce(last_archived_wal ~ '^[0-9A-F]{{24}}$' AND last_archived_wal >= '{segment}', false) FROM pg_stat_archiver", cancellationToken))
        {
            Assert.True(waited.Elapsed < TimeSpan.FromMinutes(3), $"the archiver did not ship WAL segment {segment} within 3 minutes");
            if (switchWal)
                await platform.ExecuteAsync("postgres", "SELECT pg_switch_wal()", cancellationToken);
            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }

        return waited.Elapsed;
    }

    /// <summary>Every row written before <paramref name="at"/> archived (see <see cref="WaitForArchivedAsync"/>); switches segments to be quick.</summary>
    public Task WaitForArchiverPastAsync(DateTime at) => WaitForArchivedAsync(Platform, switchWal: true, Ct);

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
