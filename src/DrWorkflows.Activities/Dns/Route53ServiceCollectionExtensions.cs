using DrWorkflows.Activities.Dns;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

public static class Route53ServiceCollectionExtensions
{
    /// <summary>
    /// Registers Route 53 as the <see cref="IDnsProvider"/>. Options come from the configuration section
    /// <c>Route53</c> when an <see cref="IConfiguration"/> is registered (environment <c>Route53__SecretAccessKey</c>…),
    /// then from <paramref name="configure"/>; they are validated when the host starts.
    /// </summary>
    public static IServiceCollection AddRoute53(this IServiceCollection services, Action<Route53Options>? configure = null)
    {
        var options = services.AddOptions<Route53Options>()
            .Configure<IServiceProvider>((o, sp) => sp.GetService<IConfiguration>()?.GetSection(Route53Options.SectionName).Bind(o));
        if (configure is not null)
            options.Configure(configure);
        options.ValidateOnStart();
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
