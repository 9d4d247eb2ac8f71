using DrWorkflows.Activities.Drills;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

public static class DrillsServiceCollectionExtensions
{
    /// <summary>
    /// Registers the drill services: the recovery objectives (the plan's table by default, validated at start) and
    /// the restore rehearsal behind <see cref="RehearseRestore"/>. The rehearsal uses the backup services of
    /// <c>AddBackupActivities</c>. Bind with e.g. <c>services.AddDrills(o =&gt; configuration.GetSection("DrWorkflows:Drills").Bind(o))</c>.
    /// </summary>
    public static IServiceCollection AddDrills(this IServiceCollection services, Action<RecoveryObjectivesOptions>? configure = null)
    {
        var options = services.AddOptions<RecoveryObjectivesOptions>();
        if (configure is not null)
            options.Configure(configure);
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RecoveryObjectivesOptions>, RecoveryObjectivesOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IRestoreRehearsal, RestoreRehearsal>();
        return services;
    }
}
