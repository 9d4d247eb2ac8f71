using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Media;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Activities.Storage;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace DrWorkflows.Activities.Tests.Backups;

/// <summary>
/// The backup services wired by <c>AddBackupActivities</c> over a temporary local store (and optionally an S3
/// bucket), with the PostgreSQL tools from <c>DRW_TEST_PG_BIN</c> and an optional fake clock.
/// </summary>
internal sealed class BackupTestHost : IAsyncDisposable
{
    private BackupTestHost(ServiceProvider services, TempDirectory temp)
    {
        Services = services;
        Temp = temp;
    }

    public ServiceProvider Services { get; }

    public TempDirectory Temp { get; }

    public string LocalStoreDirectory => Temp.Combine("store");

    public IBackupCatalog Catalog => Get<IBackupCatalog>();

    public IBackupStoreProvider Stores => Get<IBackupStoreProvider>();

    public IPostgresBackupService Backup => Get<IPostgresBackupService>();

    public IPostgresRestoreService Restore => Get<IPostgresRestoreService>();

    public IPostgresIntegrityChecker Integrity => Get<IPostgresIntegrityChecker>();

    public IMediaBackupService Media => Get<IMediaBackupService>();

    public T Get<T>()
        where T : notnull => Services.GetRequiredService<T>();

    public static BackupTestHost Create(
        Action<BackupStoreOptions>? stores = null,
        Action<PostgresBackupOptions>? postgres = null,
        Action<CompressionOptions>? compression = null,
        Action<EncryptionOptions>? encryption = null,
        Action<MediaBackupOptions>? media = null,
        TimeProvider? clock = null,
        Action<IServiceCollection>? configure = null)
    {
        RequiredTools.Require("zstd", "zstd");
        var temp = new TempDirectory("backup");
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        if (clock is not null)
            services.AddSingleton(clock);
        configure?.Invoke(services);
        var pgBin = Environment.GetEnvironmentVariable(TestServices.PgBinVariable);
        services.AddBackupActivities(
            s =>
            {
                s.Local.Directory = temp.Combine("store");
                stores?.Invoke(s);
            },
            p =>
            {
                if (!string.IsNullOrWhiteSpace(pgBin))
                    p.Tools.BinDirectory = pgBin;
                postgres?.Invoke(p);
            },
            compression,
            encryption,
            media);
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        return new BackupTestHost(provider, temp);
    }

    /// <summary>Runs the start-up validation of every options class, as the host does.</summary>
    public void ValidateOptions()
    {
        _ = Get<IOptions<BackupStoreOptions>>().Value;
        _ = Get<IOptions<PostgresBackupOptions>>().Value;
        _ = Get<IOptions<CompressionOptions>>().Value;
        _ = Get<IOptions<EncryptionOptions>>().Value;
        _ = Get<IOptions<MediaBackupOptions>>().Value;
    }

    /// <summary>A server from <c>DRW_TEST_POSTGRES</c> (skips the test when unset).</summary>
    public static PostgresServer TestServer(string? connectionString = null) =>
        new("test", connectionString ?? TestServices.RequirePostgres());

    public static FakeTimeProvider FakeClock(DateTimeOffset? start = null) => new(start ?? new DateTimeOffset(2026, 11, 20, 6, 0, 0, TimeSpan.Zero));

    public async ValueTask DisposeAsync()
    {
        await Services.DisposeAsync();
        Temp.Dispose();
    }
}
