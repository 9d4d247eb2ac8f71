using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;

namespace DrWorkflows.Server.Telemetry;

/// <summary>
/// The instance store, reporting each committed batch to <see cref="DrwMetrics"/> and <see cref="RunTraces"/> after the
/// write succeeded: a step counts in <c>/metrics</c> and traces once it is durable, never for a commit that failed.
/// </summary>
internal sealed class ObservedInstanceStore(IWorkflowInstanceStore inner, DrwMetrics metrics, RunTraces traces) : IWorkflowInstanceStore
{
    public async Task CreateAsync(WorkflowState state, IReadOnlyList<JournalEntry> journal, CancellationToken cancellationToken)
    {
        await inner.CreateAsync(state, journal, cancellationToken);
        Observe(state, journal);
    }

    public async Task CommitAsync(WorkflowState state, IReadOnlyList<JournalEntry> journal, CancellationToken cancellationToken)
    {
        await inner.CommitAsync(state, journal, cancellationToken);
        Observe(state, journal);
    }

    public Task<WorkflowState?> GetAsync(string instanceId, CancellationToken cancellationToken) => inner.GetAsync(instanceId, cancellationToken);

    public Task<PagedResult<WorkflowInstanceSummary>> ListAsync(InstanceQuery query, CancellationToken cancellationToken) => inner.ListAsync(query, cancellationToken);

    public Task<int> DeleteAsync(IReadOnlyCollection<string> instanceIds, CancellationToken cancellationToken) => inner.DeleteAsync(instanceIds, cancellationToken);

    public Task<PagedResult<JournalEntry>> GetJournalAsync(string instanceId, int skip, int take, CancellationToken cancellationToken) => inner.GetJournalAsync(instanceId, skip, take, cancellationToken);

    public Task<IReadOnlyList<StoredBookmark>> FindBookmarksAsync(BookmarkQuery query, CancellationToken cancellationToken) => inner.FindBookmarksAsync(query, cancellationToken);

    public Task<IReadOnlyList<StoredBookmark>> GetDueTimersAsync(DateTimeOffset now, int max, CancellationToken cancellationToken) => inner.GetDueTimersAsync(now, max, cancellationToken);

    public Task<DateTimeOffset?> GetNextTimerAsync(CancellationToken cancellationToken) => inner.GetNextTimerAsync(cancellationToken);

    public Task<IReadOnlyList<string>> FindRunnableAsync(DateTimeOffset now, int max, CancellationToken cancellationToken) => inner.FindRunnableAsync(now, max, cancellationToken);

    public Task<bool> TryAcquireLeaseAsync(string instanceId, string owner, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken) =>
        inner.TryAcquireLeaseAsync(instanceId, owner, now, until, cancellationToken);

    public Task ReleaseLeaseAsync(string instanceId, string owner, CancellationToken cancellationToken) => inner.ReleaseLeaseAsync(instanceId, owner, cancellationToken);

    private void Observe(WorkflowState state, IReadOnlyList<JournalEntry> journal)
    {
        if (journal.Count == 0)
            return;
        metrics.Committed(state, journal);
        traces.Committed(state, journal);
    }
}
