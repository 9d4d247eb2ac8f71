using System.Collections.Concurrent;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Persistence.Tests;

/// <summary>The DI registrations: one singleton behind every store interface, options validated, logs without secrets.</summary>
public sealed class RegistrationTests(PostgresDatabaseFixture fixture) : IClassFixture<PostgresDatabaseFixture>, IDisposable
{
    private readonly TempDirectory directory = new("sqlite-di");
    private readonly LogCapture logs = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => directory.Dispose();

    private ServiceProvider Build(Action<IServiceCollection> register)
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        register(services);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    private static void AssertOneStoreBehindEveryInterface(IServiceProvider services)
    {
        var initializer = services.GetRequiredService<IStoreInitializer>();
        Assert.Same(initializer, services.GetRequiredService<IWorkflowDefinitionStore>());
        Assert.Same(initializer, services.GetRequiredService<IWorkflowInstanceStore>());
        Assert.Same(initializer, services.GetRequiredService<IScheduleStore>());
    }

    [Fact]
    public async Task AddDrWorkflowsSqlite_RegistersOneStore_ThatMigratesAndLogsIt()
    {
        await using var services = Build(s => s.AddDrWorkflowsSqlite(o => o.DataDirectory = directory.FullPath));

        AssertOneStoreBehindEveryInterface(services);
        await services.GetRequiredService<IStoreInitializer>().InitializeAsync(Ct);
        await services.GetRequiredService<IScheduleStore>().TryClaimSlotAsync("s", DateTimeOffset.UnixEpoch, "me", DateTimeOffset.UnixEpoch, Ct);

        Assert.Contains(logs.Entries, e => e.Id == 4000 && e.Message.StartsWith("Applied SQLite schema migration 1 (0001_initial)", StringComparison.Ordinal));
        Assert.Contains(logs.Entries, e => e.Id == 4001 && e.Message.Contains(Path.Combine(directory.FullPath, "drworkflows.db"), StringComparison.Ordinal));
    }

    [Fact]
    public async Task AddDrWorkflowsSqlite_WithoutADataDirectory_FailsValidationWithTheSetting()
    {
        await using var services = Build(s => s.AddDrWorkflowsSqlite());

        var error = Assert.Throws<OptionsValidationException>(services.GetRequiredService<IWorkflowInstanceStore>);

        Assert.Contains("set DataDirectory", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddDrWorkflowsPostgres_WithABadSchema_FailsValidation()
    {
        await using var services = Build(s => s.AddDrWorkflowsPostgres(o =>
        {
            o.ConnectionString = "Host=127.0.0.1;Database=drw";
            o.Schema = "Bad Schema";
        }));

        var error = Assert.Throws<OptionsValidationException>(services.GetRequiredService<IStoreInitializer>);

        Assert.Contains("Schema 'Bad Schema'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddDrWorkflowsPostgres_RegistersOneStore_AndItsLogsNeverShowThePassword()
    {
        var connectionString = fixture.Require().ConnectionString;
        var password = new Npgsql.NpgsqlConnectionStringBuilder(connectionString).Password;
        await using (var services = Build(s => s.AddDrWorkflowsPostgres(o =>
        {
            o.ConnectionString = connectionString;
            o.Schema = PostgresDatabaseFixture.NewSchema();
        })))
        {
            AssertOneStoreBehindEveryInterface(services);
            await services.GetRequiredService<IStoreInitializer>().InitializeAsync(Ct);
            Assert.Null(await services.GetRequiredService<IWorkflowInstanceStore>().GetAsync("none", Ct));
        }

        Assert.Contains(logs.Entries, e => e.Id == 4000);
        Assert.Contains(logs.Entries, e => e.Id == 4001);
        if (!string.IsNullOrEmpty(password))
            Assert.DoesNotContain(logs.Entries, e => e.Message.Contains(password, StringComparison.Ordinal));
    }

    private sealed class LogCapture : ILoggerProvider
    {
        public ConcurrentQueue<(int Id, string Message)> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(Entries);

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<(int Id, string Message)> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                entries.Enqueue((eventId.Id, formatter(state, exception)));
        }
    }
}
