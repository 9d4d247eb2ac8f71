using DrWorkflows.Activities.Preflight;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

public static class PreflightServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IRecoveryPreflight"/>, the service behind <see cref="CheckRecoveryConfiguration"/>. It reads the
    /// options and services of the other areas (Docker, Postgres, backup stores, hosts) and reports those not registered.
    /// </summary>
    public static IServiceCollection AddRecoveryPreflight(this IServiceCollection services)
    {
        services.TryAddSingleton<IRecoveryPreflight, RecoveryPreflight>();
        return services;
    }
}
