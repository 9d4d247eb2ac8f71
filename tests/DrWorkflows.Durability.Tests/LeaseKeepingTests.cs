using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using static DrWorkflows.Testing.Behaviour.ElsaJson;

namespace DrWorkflows.Durability.Tests;

/// <summary>A node keeps the lease of a run while one of its activities runs longer than the lease itself.</summary>
public sealed class LeaseKeepingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Lease_is_renewed_during_an_activity_longer_than_the_lease_so_no_other_node_can_take_the_run()
    {
        await using var services = BuildServices("node-1");
        var store = services.GetRequiredService<IWorkflowInstanceStore>();
        await services.GetRequiredService<WorkflowDefinitionService>().SaveAsync(
            WorkflowDefinitionDocument.Parse(Definition("long-step", Sequence("seq", Activity("DurabilityTests.HeldStep", "held")))),
            publish: true, "test", isReadonly: false, Ct);
        using var gate = new HeldStep.Gate();

        var run = services.GetRequiredService<WorkflowRuntime>().StartAsync(new StartRunRequest("long-step") { InstanceId = gate.InstanceId }, Ct);
        await gate.Started.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        // More than three lease durations into the step, another node still cannot take the run.
        for (var i = 0; i < 35; i++)
        {
            await Task.Delay(200, Ct);
            var now = DateTimeOffset.UtcNow;
            Assert.False(await store.TryAcquireLeaseAsync(gate.InstanceId, "node-2", now, now.AddSeconds(2), Ct), $"node-2 took the lease {(i + 1) * 200} ms into a step (lease 2 s)");
        }

        gate.Release.SetResult();
        var state = await run.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.Equal(WorkflowSubStatus.Finished, state.SubStatus);
        var after = DateTimeOffset.UtcNow;
        Assert.True(await store.TryAcquireLeaseAsync(gate.InstanceId, "node-2", after, after.AddSeconds(1), Ct), "the lease was not released when the run suspended or ended");
    }

    private static ServiceProvider BuildServices(string nodeId)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["DrWorkflows:Runtime:NodeId"] = nodeId,
            ["DrWorkflows:Runtime:LeaseDuration"] = "00:00:02",
        }).Build());
        services.AddLogging();
        services.AddDrWorkflowsRuntime();
        services.AddActivities(typeof(HeldStep).Assembly);
        services.AddDrWorkflowsInMemoryStore();
        return services.BuildServiceProvider();
    }
}

/// <summary>A step that runs until the test lets it finish.</summary>
[Activity("DurabilityTests", "Testing", "Runs until the test releases it.", SafeToRerun = true)]
public sealed class HeldStep : CodeActivity
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Gate> Gates = new(StringComparer.Ordinal);

    protected override async ValueTask RunAsync(ActivityExecutionContext context)
    {
        var gate = Gates[context.WorkflowInstanceId];
        gate.Started.TrySetResult();
        await gate.Release.Task.WaitAsync(context.CancellationToken);
    }

    /// <summary>One run's gate.</summary>
    public sealed class Gate : IDisposable
    {
        public Gate() => Gates[InstanceId] = this;

        public string InstanceId { get; } = Guid.NewGuid().ToString("N");

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Dispose() => Gates.TryRemove(InstanceId, out _);
    }
}
