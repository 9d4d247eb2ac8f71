using DrWorkflows.Core.Persistence;
using DrWorkflows.Persistence;
using DrWorkflows.Persistence.Postgres;
using DrWorkflows.Persistence.Sqlite;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers DrWorkflows' durable stores.</summary>
public static class PersistenceServiceCollectionExtensions
{
    /// <summary>
    /// The embedded SQLite store (one file in the data directory). Registers <see cref="IWorkflowDefinitionStore"/>,
    /// <see cref="IWorkflowInstanceStore"/>, <see cref="IScheduleStore"/>, <see cref="IThrowawayResourceStore"/> and
    /// <see cref="IStoreInitializer"/> as one singleton.
    /// Call <see cref="IStoreInitializer.InitializeAsync"/> at start to migrate the schema before serving.
    /// </summary>
    public static IServiceCollection AddDrWorkflowsSqlite(this IServiceCollection services, Action<SqliteStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<SqliteStoreOptions>();
        if (configure is not null)
            options.Configure(configure);
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SqliteStoreOptions>, SqliteStoreOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new SqliteStore(
            sp.GetRequiredService<IOptions<SqliteStoreOptions>>().Value,
            Logger(sp),
            sp.GetRequiredService<TimeProvider>()));
        return AddStore<SqliteStore>(services);
    }

    /// <summary>
    /// The PostgreSQL store, for several nodes on one database. Registers the same services as
    /// <see cref="AddDrWorkflowsSqlite"/>; the schema (default <c>drworkflows</c>) is created and migrated at start.
    /// </summary>
    public static IServiceCollection AddDrWorkflowsPostgres(this IServiceCollection services, Action<PostgresStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<PostgresStoreOptions>();
        if (configure is not null)
            options.Configure(configure);
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgresStoreOptions>, PostgresStoreOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new PostgresStore(
            sp.GetRequiredService<IOptions<PostgresStoreOptions>>().Value,
            Logger(sp),
            sp.GetRequiredService<TimeProvider>()));
        return AddStore<PostgresStore>(services);
    }

    private static IServiceCollection AddStore<TStore>(IServiceCollection services)
        where TStore : class, IWorkflowDefinitionStore, IWorkflowInstanceStore, IScheduleStore, IThrowawayResourceStore, IStoreInitializer
    {
        services.AddSingleton<IWorkflowDefinitionStore>(sp => sp.GetRequiredService<TStore>());
        services.AddSingleton<IWorkflowInstanceStore>(sp => sp.GetRequiredService<TStore>());
        services.AddSingleton<IScheduleStore>(sp => sp.GetRequiredService<TStore>());
        services.AddSingleton<IThrowawayResourceStore>(sp => sp.GetRequiredService<TStore>());
        services.AddSingleton<IStoreInitializer>(sp => sp.GetRequiredService<TStore>());
        return services;
    }

    private static ILogger Logger(IServiceProvider services) =>
        services.GetService<ILoggerFactory>()?.CreateLogger("DrWorkflows.Persistence") ?? NullLogger.Instance;
}
