using DrWorkflows.Activities.Dns;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

public static class Route53ServiceCollectionExtensions
{
    /// <summary>
    /// Registers Route 53 as the <see cref="IDnsProvider"/>. Options are validated when the host starts.
    /// Bind them from configuration with e.g. <c>services.AddRoute53(o =&gt; configuration.GetSection("Route53").Bind(o))</c>.
    /// </summary>
    public static IServiceCollection AddRoute53(this IServiceCollection services, Action<Route53Options> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<Route53Options>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<Route53Options>, Route53OptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IDnsProvider>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<Route53Options>>();
            var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            {
                Timeout = options.Value.RequestTimeout,
            };
            return new Route53Client(http, options, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<Route53Client>>());
        });
        return services;
    }
}
