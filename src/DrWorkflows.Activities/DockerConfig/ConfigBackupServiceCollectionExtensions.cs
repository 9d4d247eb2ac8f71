using DrWorkflows.Activities.DockerConfig;
using DrWorkflows.Activities.Monitoring;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registration of the monitoring-volume and Docker-configuration backups (sections <c>Backups:Monitoring</c>, <c>Backups:DockerConfig</c>).</summary>
public static class ConfigBackupServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IMonitoringBackupService"/>, <see cref="IDockerConfigBackupService"/> and their activities.
    /// Needs <c>AddBackupActivities</c> (stores, codecs) and <c>AddDockerActivities</c> (the engine). Options are validated at start.
    /// </summary>
    public static IServiceCollection AddConfigurationBackups(this IServiceCollection services, Action<MonitoringBackupOptions>? monitoring = null, Action<DockerConfigBackupOptions>? dockerConfig = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<MonitoringBackupOptions>().Configure(monitoring ?? (_ => { })).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MonitoringBackupOptions>, MonitoringBackupOptionsValidator>());
        services.AddOptions<DockerConfigBackupOptions>().Configure(dockerConfig ?? (_ => { })).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DockerConfigBackupOptions>, DockerConfigBackupOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IMonitoringBackupService, MonitoringBackupService>();
        services.TryAddSingleton<IDockerConfigBackupService, DockerConfigBackupService>();
        if (!services.Any(d => d.ServiceType == typeof(Marker)))
        {
            services.AddSingleton<Marker>();
            services.AddActivitiesOf(typeof(MonitoringBackupService));
            services.AddActivitiesOf(typeof(DockerConfigBackupService));
        }

        return services;
    }

    private sealed class Marker;
}
