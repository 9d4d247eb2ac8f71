using DrWorkflows.Core.Persistence;

namespace DrWorkflows.Persistence.Tests;

/// <summary>One store as a node sees it: the three store interfaces, and what to dispose when the node stops.</summary>
public sealed class StoreNode(IWorkflowDefinitionStore definitions, IWorkflowInstanceStore instances, IScheduleStore schedules, Func<ValueTask> stop)
    : IAsyncDisposable
{
    public IWorkflowDefinitionStore Definitions { get; } = definitions;

    public IWorkflowInstanceStore Instances { get; } = instances;

    public IScheduleStore Schedules { get; } = schedules;

    public static StoreNode From<TStore>(TStore store, Func<ValueTask> stop)
        where TStore : IWorkflowDefinitionStore, IWorkflowInstanceStore, IScheduleStore =>
        new(store, store, store, stop);

    public ValueTask DisposeAsync() => stop();
}
