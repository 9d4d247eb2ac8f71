using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Hosts;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

public static class DockerServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IDockerService"/>, <see cref="IComposeService"/>, the Docker activities and the platform
    /// resolver (a run's platform is this engine and Compose project). Options are
    /// validated when the host starts. Bind them with e.g.
    /// <c>services.AddDockerActivities(o =&gt; configuration.GetSection("Docker").Bind(o))</c>.
    /// </summary>
    public static IServiceCollection AddDockerActivities(this IServiceCollection services, Action<DockerOptions>? configure = null)
    {
        services.AddOptions<DockerOptions>().Configure(configure ?? (_ => { })).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DockerOptions>, DockerOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IProcessRunner>(sp => new ProcessRunner(sp.GetRequiredService<TimeProvider>()));
        services.AddThrowawayLedger();
        services.AddThrowawayRemover<DockerContainerRemover>();
        services.AddThrowawayRemover<DockerNetworkRemover>();
        services.AddThrowawayRemover<DockerVolumeRemover>();
        services.TryAddSingleton<IDockerService>(sp => new DockerService(
            sp.GetRequiredService<IOptions<DockerOptions>>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<DockerService>>(),
            sp.GetRequiredService<DrWorkflows.Activities.Throwaway.IThrowawayLedger>()));
        services.TryAddSingleton<IComposeService>(sp => new ComposeService(
            sp.GetRequiredService<IOptions<DockerOptions>>(), sp.GetRequiredService<IProcessRunner>(), sp.GetRequiredService<ILogger<ComposeService>>()));
        // The platform of a run (one run of a DR scenario per platform at a time) is this engine and Compose project.
        services.Replace(ServiceDescriptor.Singleton<DrWorkflows.Core.Runtime.IPlatformResolver, DockerPlatformResolver>());
        return services.AddActivitiesOf(typeof(DockerService));
    }

    /// <summary>Registers the activity classes of the namespace of <paramref name="marker"/> (one area folder).</summary>
    internal static IServiceCollection AddActivitiesOf(this IServiceCollection services, Type marker) =>
        services.AddSingleton(new ActivityRegistration(registry =>
        {
            foreach (var type in marker.Assembly.GetTypes().Where(t => t.Namespace == marker.Namespace && t is { IsClass: true, IsAbstract: false }
                         && typeof(DrWorkflows.Core.Abstractions.Activity).IsAssignableFrom(t)))
            {
                registry.Register(type);
            }
        }));
}
