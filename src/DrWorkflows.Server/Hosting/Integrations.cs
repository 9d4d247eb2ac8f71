using System.Reflection;
using DrWorkflows.Activities.Dns;
using DrWorkflows.Activities.Redis;
using DrWorkflows.Core;

namespace DrWorkflows.Server.Hosting;

/// <summary>
/// Registers the DR activity areas with their settings from configuration (top-level sections <c>Docker</c>,
/// <c>Host</c>, <c>SmokeTests</c>, <c>Notifications</c>, <c>GitHub</c>, <c>Backups</c>, <c>Redis</c>, <c>Route53</c>),
/// and the janitor of throwaway resources (<c>Janitor</c>).
/// An integration that is not configured does not stop the server: its activities fail with one message that
/// names the settings to add (see docs/configuration.md).
/// </summary>
public static class Integrations
{
    private const string RedisSettings = "Redis:ConnectionString (environment Redis__ConnectionString, e.g. 127.0.0.1:6379)";
    private const string Route53Settings = "Route53:AccessKeyId and Route53:SecretAccessKey (environment Route53__AccessKeyId, Route53__SecretAccessKey)";

    public static IServiceCollection AddDrWorkflowsIntegrations(this IServiceCollection services, IConfiguration configuration, ServerOptions settings)
    {
        var root = configuration; // the sections the areas name in their messages and docs
        var unconfigured = new DrWorkflows.Activities.Preflight.UnconfiguredIntegrations(); // for the setup and preflight checks
        services.AddSingleton(unconfigured);
        services.AddDockerActivities(o => root.GetSection("Docker").Bind(o));
        services.AddHostActivities(o => root.GetSection("Host").Bind(o));
        services.AddRecoveryPreflight();
        services.AddHttpSmokeTests(o => root.GetSection("SmokeTests").Bind(o));
        services.AddNotifications(o => root.GetSection("Notifications").Bind(o));
        services.AddGitHubPostMortems(o => root.GetSection("GitHub").Bind(o));
        services.AddDrills(o => root.GetSection("Drills").Bind(o));
        services.AddThrowawayJanitor(o => root.GetSection("Janitor").Bind(o));
        services.AddBackupActivities(
            stores: o =>
            {
                o.Local.Directory = Path.Combine(settings.DataDirectory, "backups");
                root.GetSection("Backups:Stores").Bind(o);
            },
            postgres: o => root.GetSection("Postgres").Bind(o),
            compression: o => root.GetSection("Backups:Compression").Bind(o),
            encryption: o => root.GetSection("Backups:Encryption").Bind(o),
            media: o => root.GetSection("Backups:Media").Bind(o));
        services.AddPgBackRest(o => root.GetSection("PgBackRest").Bind(o));
        services.AddConfigurationBackups(o => root.GetSection("Backups:Monitoring").Bind(o), o => root.GetSection("Backups:DockerConfig").Bind(o));

        if (!string.IsNullOrWhiteSpace(root["Redis:ConnectionString"]))
            services.AddRedisActivities(o => root.GetSection("Redis").Bind(o));
        else
        {
            services.AddSingleton(NotConfigured.Create<IRedisService>("Redis", RedisSettings));
            unconfigured.Add(DrWorkflows.Activities.Preflight.Integrations.Redis, RedisSettings);
        }

        if (!string.IsNullOrWhiteSpace(root["Route53:AccessKeyId"]))
            services.AddRoute53(o => root.GetSection("Route53").Bind(o));
        else
        {
            services.AddSingleton(NotConfigured.Create<IDnsProvider>("Route 53 DNS", Route53Settings));
            unconfigured.Add(DrWorkflows.Activities.Preflight.Integrations.Route53, Route53Settings);
        }
        return services;
    }
}

/// <summary>Stands in for the service of an integration that has no settings: every call explains what to configure.</summary>
public class NotConfigured : DispatchProxy
{
    private string integration = string.Empty;
    private string settings = string.Empty;

    public static T Create<T>(string integration, string settings)
        where T : class
    {
        var proxy = Create<T, NotConfigured>();
        var self = (NotConfigured)(object)proxy;
        self.integration = integration;
        self.settings = settings;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
        throw new ActivityFailureException($"{integration} is not configured on this DrWorkflows server: set {settings} (see docs/configuration.md), then retry the step.", retryable: false)
        {
            Code = "integration.not-configured",
        };
}
