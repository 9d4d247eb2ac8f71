using DrWorkflows.Activities.Approvals;
using DrWorkflows.Activities.Notifications;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

public static class ApprovalsServiceCollectionExtensions
{
    /// <summary>
    /// Registers what the approval gate and the approval endpoints need: the approver directory, the approval
    /// service, the Slack/GitHub publisher, Slack user-group lookups and the GitHub comment client. Slack itself
    /// (bot token, signing secret, default channel) and the contact tree come from <c>AddNotifications</c>; without
    /// it gates still work through the web page, the API and GitHub. Bind with e.g.
    /// <c>services.AddApprovals(o =&gt; configuration.GetSection("Approvals").Bind(o))</c>.
    /// </summary>
    public static IServiceCollection AddApprovals(this IServiceCollection services, Action<ApprovalsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<ApprovalsOptions>().Configure(configure).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ApprovalSeal>();
        services.TryAddSingleton<ISlackUserGroups>(sp => new SlackUserGroups(
            new HttpClient { Timeout = TimeSpan.FromSeconds(10) },
            sp.GetRequiredService<IOptions<NotificationsOptions>>(),
            sp.GetRequiredService<IOptions<ApprovalsOptions>>(),
            sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<IApproverDirectory>(sp => new ApproverDirectory(
            sp.GetRequiredService<IOptions<ApprovalsOptions>>(),
            sp.GetService<IContactTree>(),
            sp.GetService<ISlackUserGroups>()));
        services.TryAddSingleton<IApprovalGitHubClient>(sp => new ApprovalGitHubClient(new HttpClient { Timeout = TimeSpan.FromSeconds(30) }, sp.GetRequiredService<IOptions<ApprovalsOptions>>()));
        services.TryAddSingleton<IApprovalPublisher>(sp => new ApprovalPublisher(
            sp,
            sp.GetRequiredService<IApproverDirectory>(),
            sp.GetRequiredService<IOptions<ApprovalsOptions>>(),
            sp.GetRequiredService<ILogger<ApprovalPublisher>>()));
        services.TryAddSingleton<IApprovalService, ApprovalService>();
        return services;
    }
}
