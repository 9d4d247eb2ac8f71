using DrWorkflows.Activities.PgBackRest;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registration of the pgBackRest service and activities (configuration section <c>PgBackRest</c>).</summary>
public static class PgBackRestServiceCollectionExtensions
{
    /// <summary>Registers <see cref="IPgBackRest"/> and its activities; needs <c>AddDockerActivities</c>. Options are validated at start.</summary>
    public static IServiceCollection AddPgBackRest(this IServiceCollection services, Action<PgBackRestOptions>? configure = null)
    {
        services.AddOptions<PgBackRestOptions>().Configure(configure ?? (_ => { })).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PgBackRestOptions>, PgBackRestOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IPgBackRest, PgBackRestService>();
        services.TryAddSingleton<IWalArchiveStatus, WalArchiveStatus>();
        services.TryAddSingleton<IRpoCanary, RpoCanary>();
        return services.AddActivitiesOf(typeof(PgBackRestService));
    }
}
