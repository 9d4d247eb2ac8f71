using DrWorkflows.Persistence.Postgres;
using Microsoft.Extensions.Logging.Abstractions;

namespace DrWorkflows.Persistence.Tests;

/// <summary>
/// The contract on the PostgreSQL store against a real server (<c>DRW_TEST_POSTGRES</c>): one database per class,
/// a new schema per test; other nodes are separate store objects (own connection pools) on the same schema.
/// </summary>
public sealed class PostgresStoreContractTests(PostgresDatabaseFixture fixture) : StoreContractTests, IClassFixture<PostgresDatabaseFixture>
{
    private readonly string schema = PostgresDatabaseFixture.NewSchema();

    protected override async Task<StoreNode> OpenNodeAsync(bool first)
    {
        var database = fixture.Require();
        var store = new PostgresStore(
            new PostgresStoreOptions { ConnectionString = database.ConnectionString, Schema = schema }, NullLogger.Instance, TimeProvider.System);
        await store.InitializeAsync(Ct);
        return StoreNode.From(store, store.DisposeAsync);
    }
}
