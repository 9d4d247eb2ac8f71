using System.Security.Cryptography;
using DrWorkflows.Core.Hosting;
using DrWorkflows.Server.Apis;
using DrWorkflows.Server.Operations;
using DrWorkflows.Server.Security;
using DrWorkflows.Server.Studio;
using DrWorkflows.Server.Telemetry;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;

namespace DrWorkflows.Server.Hosting;

/// <summary>Wires the server: settings, store, runtime, activities, authentication and the HTTP APIs.</summary>
public static class ServerSetup
{
    /// <summary>Address used when neither --urls nor ASPNETCORE_URLS is given.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    public static WebApplicationBuilder AddDrWorkflowsServer(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        // Secrets from files (Docker/Compose secrets): one file per setting, named like its environment variable
        // (DRW_API_KEY, Notifications__Slack__BotToken), in DRW_SECRETS_DIR (default /run/secrets); they win over the environment.
        if (configuration["DRW_SECRETS_DIR"] is { Length: > 0 } secrets && !Directory.Exists(secrets))
            throw new ServerConfigurationException($"DRW_SECRETS_DIR='{secrets}' is not a directory: point it at the folder of secret files, or unset it (default /run/secrets).");
        configuration.AddKeyPerFile(configuration["DRW_SECRETS_DIR"] is { Length: > 0 } dir ? Path.GetFullPath(dir) : "/run/secrets", optional: true);
        if (string.IsNullOrEmpty(configuration["urls"]) && string.IsNullOrEmpty(configuration["ASPNETCORE_URLS"]))
            builder.WebHost.UseUrls(DefaultUrl);

        var settings = ReadSettings(configuration);
        var services = builder.Services;
        services.AddSingleton(settings);
        services.AddProblemDetails();
        // Malformed request bodies throw, so ErrorResponses can answer 400 with the reason instead of an empty body.
        services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddDataProtection().PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(settings.DataDirectory, "keys")));
        services.ConfigureHttpJsonOptions(o =>
        {
            // Enum values by name only: a number would bind any value, defined or not.
            o.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter(namingPolicy: null, allowIntegerValues: false));
            o.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.Never;
            // Numbers only as JSON numbers ("7" is not 7), as the request guard reads them.
            o.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict;
            o.SerializerOptions.AllowDuplicateProperties = false;
        });

        services.AddKeyAttemptLimits();
        services.Configure<Microsoft.AspNetCore.Http.Features.FormOptions>(o =>
        {
            o.ValueCountLimit = 256;
            o.KeyLengthLimit = 1024;
            o.ValueLengthLimit = (int)BodyLimits.Default;
            o.MultipartBodyLengthLimit = BodyLimits.DefinitionFiles;
            o.MultipartHeadersLengthLimit = 16 * 1024;
        });

        // Start-up order matters: the store is migrated and workflows/ loaded before the runtime starts sweeping.
        services.AddHostedService<StartupTasks>();
        services.AddDrWorkflowsRuntime();
        services.AddActivities(typeof(DrWorkflows.Activities.ActivitiesAssembly).Assembly);
        services.AddDrWorkflowsIntegrations(configuration, settings);
        services.AddActivityPlugins(configuration);
        services.AddIncidentAlerts();
        services.AddAlertmanagerRoutes();
        services.AddObjectivesCheckAtStart();
        services.AddHostedService<WalArchiveMonitor>();
        services.AddAuditPack();
        services.AddSetupChecks();
        DrWorkflows.Server.GitOps.GitOpsApi.AddDrWorkflowsGitOps(services);
        services.PostConfigure<WorkflowSourceOptions>(o =>
        {
            o.CodeAssemblies.Add(typeof(DrWorkflows.Workflows.WorkflowsAssembly).Assembly);
            if (settings.WorkflowsDirectory is { Length: > 0 } dir)
                o.Directory = Path.GetFullPath(dir);
        });

        switch (settings.Store)
        {
            case StoreProvider.Postgres:
                services.AddDrWorkflowsPostgres(o =>
                {
                    o.ConnectionString = settings.PostgresConnectionString!;
                    if (settings.PostgresSchema is { Length: > 0 } schema)
                        o.Schema = schema;
                });
                break;
            default:
                services.AddDrWorkflowsSqlite(o => o.DataDirectory = settings.DataDirectory);
                break;
        }

        builder.AddDrWorkflowsTelemetry();
        services.AddSingleton<IApiKeyStore>(sp => new ConfiguredApiKeyStore(LoadKeys(configuration, settings, sp.GetRequiredService<ILoggerFactory>().CreateLogger("DrWorkflows.Server.Security"))));
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder().AddRolePolicies();
        builder.AddDrWorkflowsStudio();
        DrWorkflows.Server.Approvals.ApprovalsApi.AddDrWorkflowsApprovals(builder);
        return builder;
    }

    public static WebApplication MapDrWorkflowsServer(this WebApplication app)
    {
        app.UseMiddleware<ErrorResponses>();
        app.UseMiddleware<RequestBodyLimits>();
        app.UseRateLimiter();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseMiddleware<RequestGuard>();
        app.MapGet("/health", () => Results.Ok(new { status = "ok" })).AllowAnonymous();
        var elsa = app.MapGroup("/elsa/api").RequireAuthorization(Roles.Viewer);
        elsa.MapWorkflowInstancesApi();
        elsa.MapWorkflowDefinitionsApi();
        elsa.MapSubgraphApi();
        elsa.MapBookmarksApi();
        app.MapHttpWorkflows();
        app.MapOperationsApi();
        app.MapObjectivesApi();
        app.MapAuditApi();
        app.MapSetupApi();
        app.MapDrWorkflowsMetrics();
        app.MapBackupFreshnessApi();
        DrWorkflows.Server.GitOps.GitOpsApi.MapGitOpsApi(app);
        DrWorkflows.Server.Approvals.ApprovalsApi.MapDrWorkflowsApprovals(app);
        app.MapDrWorkflowsStudio();
        return app;
    }

    private static AuthorizationBuilder AddRolePolicies(this AuthorizationBuilder builder)
    {
        foreach (var role in Roles.All)
            builder.AddPolicy(role, p => p.RequireRole(Roles.Admitting(role)));
        return builder;
    }

    private static ServerOptions ReadSettings(IConfiguration configuration)
    {
        var settings = configuration.GetSection("DrWorkflows").Get<ServerOptions>() ?? new ServerOptions();
        settings.DataDirectory = configuration["DRW_DATA_DIR"] is { Length: > 0 } dataDir ? dataDir : settings.DataDirectory;
        settings.ApiKey = configuration["DRW_API_KEY"] is { Length: > 0 } key ? key : settings.ApiKey;
        settings.PostgresConnectionString = configuration["DRW_POSTGRES"] is { Length: > 0 } pg ? pg : settings.PostgresConnectionString;
        settings.WorkflowsDirectory = configuration["DRW_WORKFLOWS_DIR"] is { Length: > 0 } wf ? wf : settings.WorkflowsDirectory;
        if (configuration["DRW_STORE"] is { Length: > 0 } store)
        {
            settings.Store = Enum.TryParse<StoreProvider>(store, ignoreCase: true, out var provider)
                ? provider
                : throw new ServerConfigurationException($"DRW_STORE='{store}' is not a store: use 'sqlite' (default) or 'postgres'.");
        }

        if (settings.Store == StoreProvider.Postgres && string.IsNullOrWhiteSpace(settings.PostgresConnectionString))
            throw new ServerConfigurationException("DRW_STORE=postgres needs DRW_POSTGRES, an Npgsql connection string such as 'Host=db;Database=drworkflows;Username=drw;Password=...'.");
        settings.DataDirectory = Path.GetFullPath(settings.DataDirectory);
        return settings;
    }

    private static List<ApiKeyEntry> LoadKeys(IConfiguration configuration, ServerOptions settings, ILogger logger)
    {
        var keys = configuration.GetSection("DrWorkflows:Auth:Keys").Get<List<ApiKeyEntry>>() ?? [];
        var bootstrap = settings.ApiKey;
        if (string.IsNullOrEmpty(bootstrap))
        {
            var path = Path.Combine(settings.DataDirectory, "api-key");
            if (!File.Exists(path))
            {
                Directory.CreateDirectory(settings.DataDirectory);
                var generated = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
                File.WriteAllText(path, generated + "\n");
                if (!OperatingSystem.IsWindows())
                    File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                ServerLog.GeneratedApiKey(logger, path);
            }

            bootstrap = File.ReadAllText(path).Trim();
        }

        keys.Add(new ApiKeyEntry("admin", ConfiguredApiKeyStore.HashHex(bootstrap), [Roles.Admin]));
        return keys;
    }
}
