using DrWorkflows.Activities.Notifications;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

public static class NotificationsServiceCollectionExtensions
{
    /// <summary>
    /// Registers the Slack client, the email sender, the Statuspage client, the contact tree and the on-call pager. Options come
    /// from the configuration section <c>Notifications</c> when an <see cref="IConfiguration"/> is registered
    /// (environment <c>Notifications__Slack__BotToken</c>…), then from <paramref name="configure"/>; they are
    /// validated when the host starts.
    /// </summary>
    public static IServiceCollection AddNotifications(this IServiceCollection services, Action<NotificationsOptions>? configure = null)
    {
        var options = services.AddOptions<NotificationsOptions>()
            .Configure<IServiceProvider>((o, sp) => sp.GetService<IConfiguration>()?.GetSection(NotificationsOptions.SectionName).Bind(o));
        if (configure is not null)
            options.Configure(configure);
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<NotificationsOptions>, NotificationsOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ISlackClient>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<NotificationsOptions>>();
            return new SlackClient(CreateHttpClient(options.Value.Slack.RequestTimeout), options, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<SlackClient>>());
        });
        services.TryAddSingleton<IStatusPageClient>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<NotificationsOptions>>();
            return new StatuspageClient(CreateHttpClient(options.Value.StatusPage.RequestTimeout), options, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<StatuspageClient>>());
        });
        services.TryAddSingleton<IEmailSender, SmtpEmailSender>();
        services.TryAddSingleton<IContactTree, ContactTree>();
        services.TryAddSingleton<IOnCallPager, OnCallPager>();
        return services;
    }

    private static HttpClient CreateHttpClient(TimeSpan timeout) =>
        new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = timeout };
}
