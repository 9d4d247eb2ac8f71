using DrWorkflows.Core.Persistence;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Testing.Behaviour;

/// <summary>
/// The store one behaviour test runs on. Every host it creates shares the same stored data, so creating a second
/// host after disposing the first is a restart of the orchestrator over the same database.
/// </summary>
public abstract class BehaviourStore : IAsyncDisposable
{
    private readonly List<WorkflowTestHost> hosts = [];

    /// <summary>Prepares the store (e.g. creates the database); skips the test when its server is not available.</summary>
    public virtual ValueTask InitializeAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>
    /// A new host (runtime, fake clock at <paramref name="start"/>) over this store, with the test activities; a run's
    /// platform is its input <c>Platform</c> (<see cref="InputPlatformResolver"/>).
    /// </summary>
    public WorkflowTestHost CreateHost(DateTimeOffset? start = null)
    {
        var host = WorkflowTestHost.Create(
            AddStore,
            services => services.AddActivities(typeof(BehaviourStore).Assembly).AddSingleton<DrWorkflows.Core.Runtime.IPlatformResolver, InputPlatformResolver>(),
            start);
        hosts.Add(host);
        return host;
    }

    protected abstract void AddStore(IServiceCollection services);

    /// <summary>Disposes every host, then the store's resources.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var host in hosts)
            await host.DisposeAsync();
        await DisposeStoreAsync();
        GC.SuppressFinalize(this);
    }

    protected virtual ValueTask DisposeStoreAsync() => ValueTask.CompletedTask;
}

/// <summary>One in-memory store shared by the hosts of a test (a "restart" keeps the data, as a database would).</summary>
public sealed class InMemoryBehaviourStore : BehaviourStore
{
    private readonly InMemoryStore store = new();

    protected override void AddStore(IServiceCollection services)
    {
        services.AddSingleton<IWorkflowDefinitionStore>(store);
        services.AddSingleton<IWorkflowInstanceStore>(store);
        services.AddSingleton<IScheduleStore>(store);
    }
}

/// <summary>A SQLite database file in a temporary directory, deleted at the end of the test.</summary>
public sealed class SqliteBehaviourStore : BehaviourStore
{
    private readonly TempDirectory directory = new("behaviour");

    public string DataDirectory => directory.FullPath;

    protected override void AddStore(IServiceCollection services) =>
        services.AddDrWorkflowsSqlite(options => options.DataDirectory = directory.FullPath);

    protected override ValueTask DisposeStoreAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        directory.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>A fresh PostgreSQL database on the test server (<c>DRW_TEST_POSTGRES</c>), dropped at the end of the test.</summary>
public sealed class PostgresBehaviourStore : BehaviourStore
{
    private PostgresTestDatabase? database;

    /// <summary>Creates the database, or skips the test when no PostgreSQL server is configured.</summary>
    public override async ValueTask InitializeAsync(CancellationToken cancellationToken) =>
        database = await PostgresTestDatabase.CreateAsync(cancellationToken);

    protected override void AddStore(IServiceCollection services)
    {
        var connectionString = database?.ConnectionString ?? throw new InvalidOperationException("Call InitializeAsync before creating a host.");
        services.AddDrWorkflowsPostgres(options => options.ConnectionString = connectionString);
    }

    protected override async ValueTask DisposeStoreAsync()
    {
        if (database is not null)
            await database.DisposeAsync();
    }
}
