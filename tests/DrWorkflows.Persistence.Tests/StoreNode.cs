using DrWorkflows.Core.Persistence;

namespace DrWorkflows.Persistence.Tests;

/// <summary>One store as a node sees it: the store interfaces, and what to dispose when the node stops.</summary>
public sealed class StoreNode(IWorkflowDefinitionStore definitions, IWorkflowInstanceStore instances, IScheduleStore schedules, IThrowawayResourceStore throwaways, Func<ValueTask> stop)
    : IAsyncDisposable
{
    public IWorkflowDefinitionStore Definitions { get; } = definitions;

    public IWorkflowInstanceStore Instances { get; } = instances;

    public IScheduleStore Schedules { get; } = schedules;

    public IThrowawayResourceStore Throwaways { get; } = throwaways;

    public static StoreNode From<TStore>(TStore store, Func<ValueTask> stop)
        where TStore : IWorkflowDefinitionStore, IWorkflowInstanceStore, IScheduleStore, IThrowawayResourceStore =>
        new(store, store, store, store, stop);

    public ValueTask DisposeAsync() => stop();
}
