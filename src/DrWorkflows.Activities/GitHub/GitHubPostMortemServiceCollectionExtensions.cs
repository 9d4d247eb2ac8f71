using DrWorkflows.Activities.GitHub;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

public static class GitHubPostMortemServiceCollectionExtensions
{
    /// <summary>
    /// Registers the post-mortem publisher (it reads journals from the registered
    /// <see cref="DrWorkflows.Core.Persistence.IWorkflowInstanceStore"/>). Options come from the configuration
    /// section <c>GitHub</c> when an <see cref="IConfiguration"/> is registered, then from
    /// <paramref name="configure"/>; they are validated when the host starts.
    /// </summary>
    public static IServiceCollection AddGitHubPostMortems(this IServiceCollection services, Action<GitHubOptions>? configure = null)
    {
        var options = services.AddOptions<GitHubOptions>()
            .Configure<IServiceProvider>((o, sp) => sp.GetService<IConfiguration>()?.GetSection(GitHubOptions.SectionName).Bind(o));
        if (configure is not null)
            options.Configure(configure);
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GitHubOptions>, GitHubOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IPostMortemPublisher, PostMortemPublisher>();
        return services;
    }
}
