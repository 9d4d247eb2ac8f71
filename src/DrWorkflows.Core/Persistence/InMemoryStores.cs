using System.Collections.Concurrent;
using System.Text.Json;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Serialization;

namespace DrWorkflows.Core.Persistence;

/// <summary>
/// Stores that keep everything in memory, for unit tests and throwaway runs. State is copied in and out as
/// JSON, so the runtime never shares objects with the store (as with a real database).
/// </summary>
public sealed partial class InMemoryStore : IWorkflowDefinitionStore, IWorkflowInstanceStore, IScheduleStore, IThrowawayResourceStore
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, StoredWorkflowDefinition> definitions = [];
    private readonly Dictionary<string, string> instances = [];
    private readonly Dictionary<string, List<JournalEntry>> journals = [];
    private readonly Dictionary<string, (string Owner, DateTimeOffset Until)> leases = [];
    private readonly ConcurrentDictionary<(string, DateTimeOffset), string?> slots = new();

    public Task SaveAsync(IReadOnlyCollection<StoredWorkflowDefinition> versions, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            foreach (var version in versions)
                definitions[version.Id] = version;
        }

        return Task.CompletedTask;
    }

    public Task<StoredWorkflowDefinition?> FindByIdAsync(string id, CancellationToken cancellationToken)
    {
        lock (gate)
            return Task.FromResult(definitions.GetValueOrDefault(id));
    }

    public Task<StoredWorkflowDefinition?> FindAsync(string definitionId, VersionOptions versions, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            var matches = definitions.Values.Where(d => d.DefinitionId == definitionId && Matches(d, versions));
            return Task.FromResult(matches.OrderByDescending(d => d.Version).FirstOrDefault());
        }
    }

    public Task<IReadOnlyList<StoredWorkflowDefinition>> ListVersionsAsync(string definitionId, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            IReadOnlyList<StoredWorkflowDefinition> list = [.. definitions.Values.Where(d => d.DefinitionId == definitionId).OrderBy(d => d.Version)];
            return Task.FromResult(list);
        }
    }

    public Task<PagedResult<StoredWorkflowDefinition>> ListAsync(DefinitionQuery query, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            var matches = definitions.Values
                .Where(d => Matches(d, query.Versions))
                .Where(d => query.DefinitionIds is null || query.DefinitionIds.Contains(d.DefinitionId))
                .Where(d => query.UsableAsActivity is null || d.UsableAsActivity == query.UsableAsActivity)
                .Where(d => string.IsNullOrEmpty(query.SearchTerm)
                    || (d.Name ?? string.Empty).Contains(query.SearchTerm, StringComparison.OrdinalIgnoreCase)
                    || d.DefinitionId.Contains(query.SearchTerm, StringComparison.OrdinalIgnoreCase))
                .OrderBy(d => d.Name, StringComparer.OrdinalIgnoreCase).ThenBy(d => d.DefinitionId, StringComparer.Ordinal).ThenBy(d => d.Version)
                .ToList();
            return Task.FromResult(new PagedResult<StoredWorkflowDefinition>([.. matches.Skip(query.Skip).Take(query.Take)], matches.Count));
        }
    }

    public Task<int> DeleteAsync(string definitionId, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            var ids = definitions.Values.Where(d => d.DefinitionId == definitionId).Select(d => d.Id).ToList();
            ids.ForEach(id => definitions.Remove(id));
            return Task.FromResult(ids.Count);
        }
    }

    public Task<bool> DeleteVersionAsync(string id, CancellationToken cancellationToken)
    {
        lock (gate)
            return Task.FromResult(definitions.Remove(id));
    }

    public Task CreateAsync(WorkflowState state, IReadOnlyList<JournalEntry> journal, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            if (instances.ContainsKey(state.Id))
                throw new InstanceExistsException(state.Id);
            if (state.Platform is { } platform
                && AllStates().FirstOrDefault(s => s.Status == WorkflowStatus.Running && s.DefinitionId == state.DefinitionId && s.Platform == platform) is { } running)
                throw new RunAlreadyRunningException(state.DefinitionId, platform, running.Id);
            state.Revision = 1;
            instances[state.Id] = JsonSerializer.Serialize(state, Json.Options);
            journals[state.Id] = [.. journal.Select(Copy)];
        }

        return Task.CompletedTask;
    }

    public Task CommitAsync(WorkflowState state, IReadOnlyList<JournalEntry> journal, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            if (!instances.TryGetValue(state.Id, out var stored))
                throw new ConcurrencyException(state.Id, state.Revision);
            var storedRevision = JsonSerializer.Deserialize<WorkflowState>(stored, Json.Options)!.Revision;
            if (storedRevision != state.Revision)
                throw new ConcurrencyException(state.Id, state.Revision);
            state.Revision++;
            instances[state.Id] = JsonSerializer.Serialize(state, Json.Options);
            journals[state.Id].AddRange(journal.Select(Copy));
        }

        return Task.CompletedTask;
    }

    public Task<WorkflowState?> GetAsync(string instanceId, CancellationToken cancellationToken)
    {
        lock (gate)
            return Task.FromResult(instances.TryGetValue(instanceId, out var json) ? JsonSerializer.Deserialize<WorkflowState>(json, Json.Options) : null);
    }

    public Task<PagedResult<WorkflowInstanceSummary>> ListAsync(InstanceQuery query, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            var matches = AllStates()
                .Where(s => query.DefinitionId is null || s.DefinitionId == query.DefinitionId)
                .Where(s => query.DefinitionIds is null || query.DefinitionIds.Contains(s.DefinitionId))
                .Where(s => query.CorrelationId is null || s.CorrelationId == query.CorrelationId)
                .Where(s => query.Status is null || s.Status == query.Status)
                .Where(s => query.SubStatuses is null || query.SubStatuses.Contains(s.SubStatus))
                .Where(s => query.ParentInstanceId is null || s.ParentInstanceId == query.ParentInstanceId)
                .Where(s => query.HasIncidents is null || OpenIncidents(s) > 0 == query.HasIncidents)
                .Where(s => query.HasParent is null || s.ParentInstanceId is not null == query.HasParent)
                .Where(s => query.Platform is null || s.Platform == query.Platform)
                .Where(s => string.IsNullOrEmpty(query.SearchTerm)
                    || s.Id.Contains(query.SearchTerm, StringComparison.OrdinalIgnoreCase)
                    || (s.Name ?? string.Empty).Contains(query.SearchTerm, StringComparison.OrdinalIgnoreCase)
                    || (s.CorrelationId ?? string.Empty).Contains(query.SearchTerm, StringComparison.OrdinalIgnoreCase))
                .OrderByDescending(s => s.CreatedAt).ThenByDescending(s => s.Id, StringComparer.Ordinal)
                .ToList();
            IReadOnlyList<WorkflowInstanceSummary> page = [.. matches.Skip(query.Skip).Take(query.Take).Select(WorkflowInstanceSummary.Of)];
            return Task.FromResult(new PagedResult<WorkflowInstanceSummary>(page, matches.Count));
        }
    }

    public Task<int> DeleteAsync(IReadOnlyCollection<string> instanceIds, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            var deleted = 0;
            foreach (var id in instanceIds)
            {
                if (instances.Remove(id))
                    deleted++;
                journals.Remove(id);
                leases.Remove(id);
            }

            return Task.FromResult(deleted);
        }
    }

    public Task<PagedResult<JournalEntry>> GetJournalAsync(string instanceId, int skip, int take, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            var all = journals.GetValueOrDefault(instanceId) ?? [];
            return Task.FromResult(new PagedResult<JournalEntry>([.. all.Skip(skip).Take(take).Select(Copy)], all.Count));
        }
    }

    public Task<IReadOnlyList<StoredBookmark>> FindBookmarksAsync(BookmarkQuery query, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            IReadOnlyList<StoredBookmark> list = [.. AllBookmarks()
                .Where(b => query.Name is null || b.Name == query.Name)
                .Where(b => query.Key is null || b.Key == query.Key)
                .Where(b => query.InstanceId is null || b.InstanceId == query.InstanceId)
                .Where(b => query.BookmarkId is null || b.Id == query.BookmarkId)];
            return Task.FromResult(list);
        }
    }

    public Task<IReadOnlyList<StoredBookmark>> GetDueTimersAsync(DateTimeOffset now, int max, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            IReadOnlyList<StoredBookmark> list = [.. AllBookmarks().Where(b => b.ResumeAt <= now).OrderBy(b => b.ResumeAt).Take(max)];
            return Task.FromResult(list);
        }
    }

    public Task<DateTimeOffset?> GetNextTimerAsync(CancellationToken cancellationToken)
    {
        lock (gate)
            return Task.FromResult(AllBookmarks().Where(b => b.ResumeAt is not null).Min(b => b.ResumeAt));
    }

    public Task<IReadOnlyList<string>> FindRunnableAsync(DateTimeOffset now, int max, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            IReadOnlyList<string> list = [.. AllStates()
                .Where(s => s.Status == WorkflowStatus.Running && s.SubStatus is WorkflowSubStatus.Pending or WorkflowSubStatus.Executing)
                .Where(s => !leases.TryGetValue(s.Id, out var lease) || lease.Until <= now)
                .OrderBy(s => s.UpdatedAt)
                .Take(max)
                .Select(s => s.Id)];
            return Task.FromResult(list);
        }
    }

    public Task<bool> TryAcquireLeaseAsync(string instanceId, string owner, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            if (leases.TryGetValue(instanceId, out var lease) && lease.Owner != owner && lease.Until > now)
                return Task.FromResult(false);
            leases[instanceId] = (owner, until);
            return Task.FromResult(true);
        }
    }

    public Task ReleaseLeaseAsync(string instanceId, string owner, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            if (leases.TryGetValue(instanceId, out var lease) && lease.Owner == owner)
                leases.Remove(instanceId);
        }

        return Task.CompletedTask;
    }

    public Task<bool> TryClaimSlotAsync(string scheduleId, DateTimeOffset slot, string owner, DateTimeOffset now, CancellationToken cancellationToken) =>
        Task.FromResult(slots.TryAdd((scheduleId, slot), null));

    public Task<DateTimeOffset?> GetLastSlotAsync(string scheduleId, CancellationToken cancellationToken)
    {
        var claimed = slots.Keys.Where(k => k.Item1 == scheduleId).Select(k => (DateTimeOffset?)k.Item2);
        return Task.FromResult(claimed.Max());
    }

    public Task SetSlotInstanceAsync(string scheduleId, DateTimeOffset slot, string instanceId, CancellationToken cancellationToken)
    {
        slots[(scheduleId, slot)] = instanceId;
        return Task.CompletedTask;
    }

    private static bool Matches(StoredWorkflowDefinition d, VersionOptions v) =>
        v.AllVersions
        || (v.Version is { } n ? d.Version == n
            : v.LatestOrPublished ? d.IsLatest || d.IsPublished
            : (!v.Latest || d.IsLatest) && (!v.Published || d.IsPublished));

    private static int OpenIncidents(WorkflowState s) => s.Incidents.Count(i => i.Resolution is null);

    private IEnumerable<WorkflowState> AllStates() =>
        instances.Values.Select(json => JsonSerializer.Deserialize<WorkflowState>(json, Json.Options)!);

    private IEnumerable<StoredBookmark> AllBookmarks() =>
        AllStates().SelectMany(s => s.Bookmarks.Select(b => new StoredBookmark(
            b.Id, s.Id, b.ExecutionId, b.Name, b.Key, b.ActivityType, b.NodeId, b.ResumeAt, b.CreatedAt, b.Payload?.ToJsonString())));

    private static JournalEntry Copy(JournalEntry entry) =>
        JsonSerializer.Deserialize<JournalEntry>(JsonSerializer.Serialize(entry, Json.Options), Json.Options)!;
}
