using DrWorkflows.Activities.Throwaway;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registration of the throwaway-resource ledger and its janitor (docs/durability.md#nothing-left-behind).</summary>
public static class ThrowawayServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IThrowawayLedger"/> over the store's <see cref="IThrowawayResourceStore"/> (an in-memory
    /// one when the host registers no store), with the directory and file removers. Every activity area that creates
    /// throwaway resources calls it; calling it again does nothing.
    /// </summary>
    public static IServiceCollection AddThrowawayLedger(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<RuntimeOptions>();
        services.TryAddSingleton<IThrowawayResourceStore>(_ => new InMemoryStore());
        services.TryAddSingleton<ThrowawayLedger>();
        services.TryAddSingleton<IThrowawayLedger>(sp => sp.GetRequiredService<ThrowawayLedger>());
        services.AddThrowawayRemover<DirectoryRemover>();
        services.AddThrowawayRemover<FileRemover>();
        return services;
    }

    /// <summary>Registers the remover of one kind of throwaway resource (once per type).</summary>
    public static IServiceCollection AddThrowawayRemover<TRemover>(this IServiceCollection services)
        where TRemover : class, IThrowawayRemover
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IThrowawayRemover, TRemover>());
        return services;
    }

    /// <summary>
    /// Adds the janitor: a pass at start and every <see cref="JanitorOptions.Interval"/>, and this process's heartbeat
    /// in the ledger. Bind with e.g. <c>services.AddThrowawayJanitor(o =&gt; configuration.GetSection("Janitor").Bind(o))</c>.
    /// </summary>
    public static IServiceCollection AddThrowawayJanitor(this IServiceCollection services, Action<JanitorOptions>? configure = null)
    {
        services.AddThrowawayLedger();
        var options = services.AddOptions<JanitorOptions>();
        if (configure is not null)
            options.Configure(configure);
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<JanitorOptions>, JanitorOptionsValidator>());
        services.TryAddSingleton(sp => new ThrowawayJanitor(
            sp.GetRequiredService<IThrowawayResourceStore>(),
            sp.GetRequiredService<IWorkflowInstanceStore>(),
            sp,
            sp.GetRequiredService<ThrowawayLedger>(),
            sp.GetServices<IThrowawayRemover>(),
            sp.GetRequiredService<IOptions<JanitorOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<ThrowawayJanitor>>()));
        if (!services.Any(d => d.ServiceType == typeof(Microsoft.Extensions.Hosting.IHostedService) && d.ImplementationType == typeof(ThrowawayJanitorService)))
            services.AddHostedService<ThrowawayJanitorService>();
        return services;
    }
}
