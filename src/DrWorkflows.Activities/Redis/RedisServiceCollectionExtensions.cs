using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Hosts;
using DrWorkflows.Activities.Redis;
using DrWorkflows.Activities.Throwaway;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

public static class RedisServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IRedisService"/> and the Redis activities. A Redis in a container needs
    /// <c>AddDockerActivities</c> too (the dump is copied through the engine).
    /// </summary>
    public static IServiceCollection AddRedisActivities(this IServiceCollection services, Action<RedisOptions>? configure = null)
    {
        services.AddOptions<RedisOptions>().Configure(configure ?? (_ => { })).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisOptions>, RedisOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IProcessRunner>(sp => new ProcessRunner(sp.GetRequiredService<TimeProvider>()));
        services.AddThrowawayLedger();
        services.TryAddSingleton<IRedisService>(sp => new RedisService(
            sp.GetRequiredService<IOptions<RedisOptions>>(), sp.GetRequiredService<IProcessRunner>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<RedisService>>(), sp.GetService<IDockerService>(), sp.GetRequiredService<IThrowawayLedger>()));
        return services.AddActivitiesOf(typeof(RedisService));
    }
}
