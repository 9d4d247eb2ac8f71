using DrWorkflows.Activities.Throwaway;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Server.Hosting;
using DrWorkflows.Server.Security;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace DrWorkflows.Server.Telemetry;

/// <summary><c>DrWorkflows:Metrics</c>: who may read <c>/metrics</c> and how often the platform state behind it is read.</summary>
public sealed class MetricsOptions
{
    /// <summary>Serve <c>/metrics</c> (default true).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Let anyone who reaches the port read <c>/metrics</c> without an API key (default false: the viewer role is needed,
    /// as for the rest of the API, since the labels name runs, workflows, components and stores).
    /// </summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>The platform state (runs, approvals, incidents, backups, objectives) is read again at most this often (default 15 s; 1 to 3600).</summary>
    public int MinRefreshSeconds { get; set; } = 15;
}

/// <summary>OpenTelemetry: <c>/metrics</c> in Prometheus format and, when an OTLP endpoint is set, one trace per run.</summary>
public static class TelemetrySetup
{
    /// <summary>Call after the store is registered: the instance store is wrapped to report what each commit wrote.</summary>
    public static WebApplicationBuilder AddDrWorkflowsTelemetry(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var services = builder.Services;
        var options = configuration.GetSection("DrWorkflows:Metrics").Get<MetricsOptions>() ?? new MetricsOptions();
        if (options.MinRefreshSeconds is < 1 or > 3600)
            throw new ServerConfigurationException($"DrWorkflows:Metrics:MinRefreshSeconds={options.MinRefreshSeconds} is out of range: use 1 to 3600 seconds.");
        var endpoint = configuration["DrWorkflows:Tracing:OtlpEndpoint"] is { Length: > 0 } configured ? configured : configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        Uri? otlp = null;
        if (!string.IsNullOrWhiteSpace(endpoint) && (!Uri.TryCreate(endpoint, UriKind.Absolute, out otlp) || otlp.Scheme is not ("http" or "https")))
            throw new ServerConfigurationException($"DrWorkflows:Tracing:OtlpEndpoint (or OTEL_EXPORTER_OTLP_ENDPOINT) '{endpoint}' is not an http(s) URL such as http://otel-collector:4317.");
        var protocol = (configuration["DrWorkflows:Tracing:Protocol"] ?? configuration["OTEL_EXPORTER_OTLP_PROTOCOL"] ?? "grpc").Trim().ToLowerInvariant() switch
        {
            "grpc" => OtlpExportProtocol.Grpc,
            "http/protobuf" or "http" => OtlpExportProtocol.HttpProtobuf,
            var other => throw new ServerConfigurationException($"DrWorkflows:Tracing:Protocol '{other}' is not an OTLP protocol: use grpc (default) or http/protobuf."),
        };

        // As with OTEL_EXPORTER_OTLP_ENDPOINT, the endpoint is the collector's base address; over HTTP the signal's path is added.
        if (otlp is not null && protocol == OtlpExportProtocol.HttpProtobuf && !otlp.AbsolutePath.EndsWith("/v1/traces", StringComparison.Ordinal))
            otlp = new Uri(otlp, otlp.AbsolutePath.TrimEnd('/') + "/v1/traces");

        // Created here so the meter's name is known to the MeterProvider; the container still disposes it (factory registration).
        var metrics = new DrwMetrics();
        services.AddSingleton(options);
        services.AddSingleton(_ => metrics);
        services.AddSingleton<RunTraces>();
        services.AddSingleton<BackupFreshness>();
        services.AddSingleton<PlatformSampler>();
        DecorateInstanceStore(services);

        var telemetry = services.AddOpenTelemetry().ConfigureResource(r => r.AddService("drworkflows", serviceVersion: typeof(TelemetrySetup).Assembly.GetName().Version?.ToString()));
        if (options.Enabled)
            telemetry.WithMetrics(m => m.AddMeter(metrics.Name).AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
        // After the OpenTelemetry providers (hosted services start in order): counters started at 0 before them would be lost.
        services.AddHostedService<CountersFromZero>();
        if (otlp is not null)
        {
            telemetry.WithTracing(t => t.AddSource(RunTraces.SourceName).AddOtlpExporter(o =>
            {
                o.Endpoint = otlp;
                o.Protocol = protocol;
            }));
            var protocolName = protocol == OtlpExportProtocol.Grpc ? "grpc" : "http/protobuf";
            services.AddHostedService(sp => new TracingNotice(sp.GetRequiredService<ILogger<RunTraces>>(), otlp.ToString(), protocolName));
        }

        return builder;
    }

    /// <summary><c>/metrics</c>: the viewer role unless <see cref="MetricsOptions.AllowAnonymous"/>; the platform state is read first when stale.</summary>
    public static WebApplication MapDrWorkflowsMetrics(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<MetricsOptions>();
        if (!options.Enabled)
            return app;
        var endpoint = app.MapPrometheusScrapingEndpoint("/metrics", meterProvider: null, configureBranchedPipeline: pipeline => pipeline.Use(async (context, next) =>
        {
            await context.RequestServices.GetRequiredService<PlatformSampler>().RefreshIfStaleAsync(context.RequestAborted);
            await next(context);
        }), optionsName: null);
        endpoint.WithMetadata(new HttpMethodMetadata([HttpMethods.Get, HttpMethods.Head]));
        if (options.AllowAnonymous)
            endpoint.AllowAnonymous();
        else
            endpoint.RequireAuthorization(Roles.Viewer);
        return app;
    }

    private static void DecorateInstanceStore(IServiceCollection services)
    {
        var original = services.LastOrDefault(d => d.ServiceType == typeof(IWorkflowInstanceStore))
            ?? throw new InvalidOperationException("AddDrWorkflowsTelemetry must be called after the store is registered.");
        services.Remove(original);
        services.AddSingleton<IWorkflowInstanceStore>(sp =>
        {
            var inner = original.ImplementationInstance as IWorkflowInstanceStore
                ?? (IWorkflowInstanceStore?)original.ImplementationFactory?.Invoke(sp)
                ?? (IWorkflowInstanceStore)ActivatorUtilities.CreateInstance(sp, original.ImplementationType!);
            return new ObservedInstanceStore(inner, sp.GetRequiredService<DrwMetrics>(), sp.GetRequiredService<RunTraces>());
        });
    }

    /// <summary>
    /// Starts the counters at 0 (the janitor's for every kind it can remove, the sampling errors for every part) so their
    /// series exist before the first event, and counts each janitor pass.
    /// </summary>
    private sealed class CountersFromZero(ThrowawayJanitor janitor, IEnumerable<IThrowawayRemover> removers, DrwMetrics metrics) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            metrics.StartCountersAtZero(removers.Select(r => r.Kind));
            janitor.PassCompleted += metrics.JanitorPass;
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            janitor.PassCompleted -= metrics.JanitorPass;
            return Task.CompletedTask;
        }
    }

    private sealed class TracingNotice(ILogger logger, string endpoint, string protocol) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            TelemetryLog.Tracing(logger, endpoint, protocol);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
