using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Media;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Activities.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registration of the backup stores, PostgreSQL backup/restore/verification and media services.</summary>
public static class BackupServiceCollectionExtensions
{
    /// <summary>
    /// Registers the backup services used by the Postgres/, Backups/ and Media/ activities. Options can also be bound
    /// by the host (<c>services.Configure&lt;BackupStoreOptions&gt;(config.GetSection("Backups:Stores"))</c>, and
    /// <see cref="PostgresBackupOptions"/> from <c>Postgres</c>, <see cref="CompressionOptions"/> from
    /// <c>Backups:Compression</c>, <see cref="EncryptionOptions"/> from <c>Backups:Encryption</c>,
    /// <see cref="MediaBackupOptions"/> from <c>Backups:Media</c>); every one is validated at start.
    /// The host provides logging. Verification runs in throwaway containers of the backup's own PostgreSQL version
    /// when <c>Postgres:VerificationContainers:Images</c> is set (on the engine of <c>Docker:Endpoint</c>); register an
    /// <see cref="IThrowawayPostgresProvider"/> before this call to replace that choice.
    /// </summary>
    public static IServiceCollection AddBackupActivities(
        this IServiceCollection services,
        Action<BackupStoreOptions>? stores = null,
        Action<PostgresBackupOptions>? postgres = null,
        Action<CompressionOptions>? compression = null,
        Action<EncryptionOptions>? encryption = null,
        Action<MediaBackupOptions>? media = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        AddValidated<BackupStoreOptions, BackupStoreOptionsValidator>(services, stores);
        AddValidated<PostgresBackupOptions, PostgresBackupOptionsValidator>(services, postgres);
        AddValidated<CompressionOptions, CompressionOptionsValidator>(services, compression);
        AddValidated<EncryptionOptions, EncryptionOptionsValidator>(services, encryption);
        AddValidated<MediaBackupOptions, MediaBackupOptionsValidator>(services, media);

        services.TryAddSingleton(TimeProvider.System);
        services.AddThrowawayLedger();
        services.AddThrowawayRemover<PostgresDatabaseRemover>();
        services.TryAddSingleton<IBackupStoreProvider, BackupStoreProvider>();
        services.TryAddSingleton<IBackupCatalog, BackupCatalog>();
        services.TryAddSingleton<IBackupCodecs, BackupCodecs>();
        services.TryAddSingleton<IBackupRetentionService, BackupRetentionService>();
        services.TryAddSingleton<IOffsiteCopier, OffsiteCopier>();
        services.TryAddSingleton<ArchiveSetVerifier>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, ObjectLockStartupCheck>());
        services.TryAddSingleton<PostgresTools>();
        services.TryAddSingleton<IPostgresServerResolver, PostgresServerResolver>();
        services.TryAddSingleton<IPostgresReadiness, PostgresReadiness>();
        services.TryAddSingleton<IPostgresBackupService, PostgresBackupService>();
        services.TryAddSingleton<IPostgresRestoreService, PostgresRestoreService>();
        services.TryAddSingleton<IPostgresIntegrityChecker, PostgresIntegrityChecker>();
        services.TryAddSingleton<IPostgresInventory, PostgresInventory>();
        services.TryAddSingleton<IPostgresServerRestore, PostgresServerRestore>();
        services.TryAddSingleton<IThrowawayPostgresProvider, ThrowawayPostgresProvider>();
        services.TryAddSingleton<IBackupVerifier, BackupVerifier>();
        services.TryAddSingleton<NewBackupsVerifier>();
        services.TryAddSingleton<IMediaBackupService, MediaBackupService>();
        services.TryAddSingleton<MediaSetVerifier>();
        if (!services.Any(d => d.ServiceType == typeof(BackupActivitiesMarker)))
        {
            services.AddSingleton<BackupActivitiesMarker>();
            services.AddSingleton(new ActivityRegistration(registry =>
            {
                string?[] areas = [typeof(BackupDatabase).Namespace, typeof(FindRestorePoint).Namespace, typeof(BackupMedia).Namespace];
                foreach (var type in typeof(BackupDatabase).Assembly.GetTypes().Where(t => areas.Contains(t.Namespace) && t is { IsClass: true, IsAbstract: false }
                             && typeof(DrWorkflows.Core.Abstractions.Activity).IsAssignableFrom(t)))
                    registry.Register(type);
            }));
        }

        return services;
    }

    /// <summary>Marks that the backup activities were registered (the registration runs once).</summary>
    private sealed class BackupActivitiesMarker;

    private static void AddValidated<TOptions, TValidator>(IServiceCollection services, Action<TOptions>? configure)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        var builder = services.AddOptions<TOptions>();
        if (configure is not null)
            builder.Configure(configure);
        builder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
    }
}
