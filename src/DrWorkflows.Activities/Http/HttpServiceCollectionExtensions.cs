using DrWorkflows.Activities.Http;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

public static class HttpServiceCollectionExtensions
{
    /// <summary>Registers <see cref="ISmokeTester"/> and the SmokeTest activity.</summary>
    public static IServiceCollection AddHttpSmokeTests(this IServiceCollection services, Action<SmokeTestOptions>? configure = null)
    {
        services.AddOptions<SmokeTestOptions>().Configure(configure ?? (_ => { })).ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ISmokeTester>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<SmokeTestOptions>>();
            var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2), AllowAutoRedirect = false };
            if (options.Value.AllowInvalidCertificates)
            {
#pragma warning disable CA5359 // Explicit opt-in (SmokeTests:AllowInvalidCertificates) for a DR server reached by address before its certificate applies.
                handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
#pragma warning restore CA5359
            }

            // Per-check timeouts apply; the client's own is off so that they can be longer than 100 s.
            var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
            return new SmokeTester(http, options, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<SmokeTester>>());
        });
        return services.AddActivitiesOf(typeof(SmokeTester));
    }

    /// <summary>Docker, Redis, host and HTTP smoke-test activities at once.</summary>
    public static IServiceCollection AddInfrastructureActivities(
        this IServiceCollection services,
        Action<DrWorkflows.Activities.Docker.DockerOptions>? docker = null,
        Action<DrWorkflows.Activities.Redis.RedisOptions>? redis = null,
        Action<DrWorkflows.Activities.Hosts.HostOptions>? host = null,
        Action<SmokeTestOptions>? smoke = null) =>
        services.AddDockerActivities(docker).AddRedisActivities(redis).AddHostActivities(host).AddHttpSmokeTests(smoke);
}
