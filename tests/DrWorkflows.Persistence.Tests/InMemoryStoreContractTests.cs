using DrWorkflows.Core.Persistence;

namespace DrWorkflows.Persistence.Tests;

/// <summary>The reference: Core's in-memory store. Every other node of a test shares the one store object.</summary>
public sealed class InMemoryStoreContractTests : StoreContractTests
{
    private InMemoryStore? store;

    protected override Task<StoreNode> OpenNodeAsync(bool first)
    {
        store ??= new InMemoryStore();
        return Task.FromResult(StoreNode.From(store, () => ValueTask.CompletedTask));
    }
}
