using DrWorkflows.Core.Runtime;
using DrWorkflows.Persistence;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DrWorkflows.Benchmarks;

/// <summary>The runtime wired as the server wires it (same registrations), over SQLite or PostgreSQL, real clock.</summary>
internal sealed class BenchHost : IAsyncDisposable
{
    private readonly ServiceProvider services;
    private List<IHostedService> started = [];

    private BenchHost(ServiceProvider services) => this.services = services;

    public WorkflowRuntime Runtime => services.GetRequiredService<WorkflowRuntime>();

    public T Get<T>()
        where T : notnull => services.GetRequiredService<T>();

    public static BenchHost Create(Action<IServiceCollection> addStore, string nodeId, int maxConcurrentRuns = 8)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["DrWorkflows:Runtime:NodeId"] = nodeId,
            ["DrWorkflows:Runtime:PollInterval"] = "00:00:00.100",
            ["DrWorkflows:Runtime:MaxConcurrentRuns"] = maxConcurrentRuns.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        services.AddDrWorkflowsRuntime();
        services.AddActivities(typeof(BenchHost).Assembly);
        addStore(services);
        return new BenchHost(services.BuildServiceProvider());
    }

    /// <summary>Migrates the store and publishes the benchmark workflows.</summary>
    public async Task PrepareAsync(bool publish, CancellationToken cancellationToken)
    {
        await Get<IStoreInitializer>().InitializeAsync(cancellationToken);
        if (!publish)
            return;
        var definitions = Get<WorkflowDefinitionService>();
        foreach (var json in BenchWorkflows.All)
            await definitions.SaveAsync(DrWorkflows.Core.Model.WorkflowDefinitionDocument.Parse(json), publish: true, "bench", isReadonly: false, cancellationToken);
    }

    /// <summary>Starts the background service (sweeps, recovery, dispatched runs), as the server does at start.</summary>
    public async Task StartBackgroundAsync(CancellationToken cancellationToken)
    {
        started = [.. services.GetServices<IHostedService>()];
        foreach (var service in started)
            await service.StartAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var service in started)
            await service.StopAsync(CancellationToken.None);
        await services.DisposeAsync();
    }
}
