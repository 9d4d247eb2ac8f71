using DrWorkflows.Persistence.Sqlite;
using DrWorkflows.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace DrWorkflows.Persistence.Tests;

/// <summary>The contract on the SQLite store: a new database file per test; other nodes open the same file.</summary>
public sealed class SqliteStoreContractTests : StoreContractTests
{
    private readonly TempDirectory directory = new("sqlite-contract");

    protected override async Task<StoreNode> OpenNodeAsync(bool first)
    {
        var store = new SqliteStore(new SqliteStoreOptions { DataDirectory = directory.FullPath }, NullLogger.Instance, TimeProvider.System);
        await store.InitializeAsync(Ct);
        return StoreNode.From(store, () =>
        {
            store.Dispose();
            return ValueTask.CompletedTask;
        });
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        directory.Dispose();
    }
}
