using DrWorkflows.Activities.Preflight;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

public static class PreflightServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IRecoveryPreflight"/>, the service behind <see cref="CheckRecoveryConfiguration"/>, and
    /// <see cref="IWorkflowPreflight"/> (a workflow's setup and its preflight on the real platform). They read the
    /// options and services of the other areas (Docker, Postgres, backup stores, hosts) and report those not registered.
    /// </summary>
    public static IServiceCollection AddRecoveryPreflight(this IServiceCollection services)
    {
        services.TryAddSingleton<IRecoveryPreflight, RecoveryPreflight>();
        services.TryAddSingleton<UnconfiguredIntegrations>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IWorkflowPreflight, WorkflowPreflight>();
        return services;
    }
}
