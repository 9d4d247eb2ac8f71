using System.Text.Json.Nodes;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using Xunit;

namespace DrWorkflows.Testing.Behaviour;

/// <summary>
/// Base of the runtime behaviour suites. Each suite is written once and derived for every store (in memory,
/// SQLite, PostgreSQL); a derivation only says how to create a host over its store.
/// </summary>
public abstract class BehaviourTestBase : IAsyncLifetime
{
    private BehaviourStore? store;

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The store this test runs on (one per test; a derivation per store kind says which).</summary>
    protected abstract BehaviourStore CreateStore();

    /// <summary>
    /// A host over this test's store, with the fake clock at <paramref name="start"/> (default 2026-11-01 03:00 UTC).
    /// Within one test every host shares the same stored data: disposing one and creating another is a restart.
    /// </summary>
    protected virtual WorkflowTestHost CreateHost(DateTimeOffset? start = null) =>
        (store ?? throw new InvalidOperationException("The store is created in InitializeAsync.")).CreateHost(start);

    public virtual async ValueTask InitializeAsync()
    {
        store = CreateStore();
        await store.InitializeAsync(Ct);
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (store is not null)
            await store.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    /// <summary>Starts a published definition with a correlation id and input.</summary>
    protected static Task<WorkflowState> StartAsync(WorkflowTestHost host, string definitionId, IDictionary<string, JsonNode?>? input = null, string? correlationId = null) =>
        host.Runtime.StartAsync(new StartRunRequest(definitionId) { Input = input, CorrelationId = correlationId, StartedBy = "test" }, Ct);

    /// <summary>The run as stored now (not the in-memory object a call returned).</summary>
    protected static async Task<WorkflowState> ReloadAsync(WorkflowTestHost host, string instanceId) =>
        await host.Instances.GetAsync(instanceId, Ct) ?? throw new InvalidOperationException($"Run {instanceId} is not in the store.");

    protected static void AssertFinished(WorkflowState state)
    {
        Assert.True(state.Status == WorkflowStatus.Finished && state.SubStatus == WorkflowSubStatus.Finished,
            $"Expected the run to be Finished/Finished but it is {state.Status}/{state.SubStatus}. Fault: {state.Fault?.Message ?? "none"}; incidents: {string.Join("; ", state.Incidents.Select(i => $"{i.ActivityId}: {i.Message}"))}");
    }

    protected static void AssertSuspended(WorkflowState state)
    {
        Assert.True(state.Status == WorkflowStatus.Running && state.SubStatus == WorkflowSubStatus.Suspended,
            $"Expected the run to be Running/Suspended but it is {state.Status}/{state.SubStatus}. Fault: {state.Fault?.Message ?? "none"}");
    }

    /// <summary>The single open incident of a run that stopped on a fault.</summary>
    protected static Incident AssertFaultedWithIncident(WorkflowState state)
    {
        Assert.Equal(WorkflowStatus.Running, state.Status);
        Assert.Equal(WorkflowSubStatus.Faulted, state.SubStatus);
        return Assert.Single(state.Incidents, i => i.Resolution is null);
    }

    /// <summary>The output of a completed activity (its <c>Result</c> by default).</summary>
    protected static JsonNode? OutputOf(WorkflowState state, string activityId, string output = "Result")
    {
        Assert.True(state.ActivityOutputs.TryGetValue(activityId, out var outputs), $"Activity '{activityId}' recorded no outputs. Known: {string.Join(", ", state.ActivityOutputs.Keys)}");
        Assert.True(outputs.TryGetValue(output, out var value), $"Activity '{activityId}' has no output '{output}'. Known: {string.Join(", ", outputs.Keys)}");
        return value;
    }

    protected static void AssertJson(string expectedJson, JsonNode? actual) =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expectedJson), actual), $"Expected {expectedJson} but got {actual?.ToJsonString() ?? "null"}");

    /// <summary>The bookmarks of a run as the store indexes them.</summary>
    protected static Task<IReadOnlyList<StoredBookmark>> BookmarksAsync(WorkflowTestHost host, string instanceId) =>
        host.Instances.FindBookmarksAsync(new BookmarkQuery(InstanceId: instanceId), Ct);
}
