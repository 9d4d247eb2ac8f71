using DrWorkflows.Testing;

namespace DrWorkflows.Persistence.Tests;

/// <summary>
/// One throwaway database per test class on the server named by <c>DRW_TEST_POSTGRES</c>, dropped at the end.
/// Tests isolate themselves further with a schema each. Without the variable, <see cref="Require"/> skips the test.
/// </summary>
public sealed class PostgresDatabaseFixture : IAsyncLifetime
{
    private PostgresTestDatabase? database;

    public async ValueTask InitializeAsync()
    {
        var server = Environment.GetEnvironmentVariable(TestServices.PostgresVariable);
        if (!string.IsNullOrWhiteSpace(server))
            database = await PostgresTestDatabase.CreateAsync(server, CancellationToken.None);
    }

    /// <summary>The database, or ends the calling test as skipped (failed with DRW_TEST_STRICT=1).</summary>
    public PostgresTestDatabase Require()
    {
        if (database is null)
            TestServices.RequirePostgres();
        return database ?? throw new InvalidOperationException("unreachable");
    }

    public async ValueTask DisposeAsync()
    {
        if (database is not null)
            await database.DisposeAsync();
    }

    /// <summary>A fresh schema name for one test.</summary>
    public static string NewSchema() => "t_" + Guid.NewGuid().ToString("N");
}
