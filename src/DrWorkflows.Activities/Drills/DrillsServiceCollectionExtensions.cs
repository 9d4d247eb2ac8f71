using DrWorkflows.Activities.Drills;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

public static class DrillsServiceCollectionExtensions
{
    /// <summary>
    /// Registers the drill services: the recovery objectives (the plan's table by default, validated at start), the
    /// objectives report (<see cref="IRecoveryPromiseCheck"/>), the restore rehearsal behind <see cref="RehearseRestore"/>, and Redis backups as sets in the backup stores
    /// (<see cref="BackupRedis"/>, <see cref="FetchRedisBackup"/>). They use the backup services of
    /// <c>AddBackupActivities</c> and the Redis service of <c>AddRedisActivities</c>. Bind with e.g. <c>services.AddDrills(o =&gt; configuration.GetSection("Drills").Bind(o))</c>.
    /// </summary>
    public static IServiceCollection AddDrills(this IServiceCollection services, Action<RecoveryObjectivesOptions>? configure = null)
    {
        var options = services.AddOptions<RecoveryObjectivesOptions>();
        if (configure is not null)
            options.Configure(configure);
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RecoveryObjectivesOptions>, RecoveryObjectivesOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddThrowawayLedger();
        services.TryAddSingleton<IRestoreRehearsal, RestoreRehearsal>();
        services.TryAddSingleton<IRedisStoreBackup, RedisStoreBackup>();
        services.TryAddSingleton<RedisBackupVerifier>();
        // redis-check-rdb needs no Redis server: the Redis backups are verified even where Redis is not configured.
        services.AddOptions<DrWorkflows.Activities.Redis.RedisOptions>();
        services.TryAddSingleton<DrWorkflows.Activities.Redis.IRedisDumpChecker, DrWorkflows.Activities.Redis.RedisCheckRdb>();
        services.TryAddSingleton<IRecoveryPromiseCheck, RecoveryPromiseCheck>();
        services.TryAddSingleton<IDrillChecklist, DrillChecklist>();
        services.TryAddSingleton<IStagingTargetCheck, StagingTargetCheck>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RecoveryObjectivesOptions>, FailoverSimulationOptionsValidator>());
        services.TryAddSingleton<IFailoverSimulationSite, FailoverSimulationSite>();
        services.TryAddSingleton<IFailoverSimulationProbe, FailoverSimulationProbe>();
        return services;
    }
}
