using DrWorkflows.Activities.Hosts;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

public static class HostServiceCollectionExtensions
{
    /// <summary>Registers <see cref="IHostService"/>, <see cref="INetworkIsolationService"/> and the host activities (this machine, or SSH when Host:Ssh is set).</summary>
    public static IServiceCollection AddHostActivities(this IServiceCollection services, Action<HostOptions>? configure = null)
    {
        services.AddOptions<HostOptions>().Configure(configure ?? (_ => { })).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HostOptions>, HostOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IProcessRunner>(sp => new ProcessRunner(sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<IHostShell>(sp => new HostShell(sp.GetRequiredService<IOptions<HostOptions>>(), sp.GetRequiredService<IProcessRunner>()));
        services.TryAddSingleton<IHostService>(sp => new HostService(
            sp.GetRequiredService<IOptions<HostOptions>>(), sp.GetRequiredService<IHostShell>(), sp.GetRequiredService<ILogger<HostService>>()));
        services.TryAddSingleton<INetworkIsolationService>(sp => new NetworkIsolationService(
            sp.GetRequiredService<IOptions<HostOptions>>(), sp.GetRequiredService<IHostShell>(), sp.GetRequiredService<ILogger<NetworkIsolationService>>()));
        return services.AddActivitiesOf(typeof(HostService));
    }
}
