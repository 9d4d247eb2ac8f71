using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Core.Tests.Durability;

public class TriggerSchedulerTests
{
    // Published at 2026-11-01T03:00Z (the test clock's start); fires at 03:00 UTC on the 1st of every month.
    private const string MonthlyDrill = """
    { "definitionId": "monthly", "name": "Monthly drill",
      "root": { "type": "Elsa.Flowchart", "version": 1, "id": "flow",
        "activities": [
          { "type": "Elsa.Cron", "version": 1, "id": "cron", "customProperties": { "canStartWorkflow": true },
            "cronExpression": { "typeName": "String", "expression": { "type": "Literal", "value": "0 3 1 * *" } } },
          { "type": "Elsa.WriteLine", "version": 1, "id": "say",
            "text": { "typeName": "String", "expression": { "type": "JavaScript", "value": "'drill ' + getInput('ScheduledAt')" } } }
        ],
        "connections": [ { "source": { "activity": "cron", "port": "Done" }, "target": { "activity": "say", "port": "In" } } ] } }
    """;

    private static WorkflowTestHost Node(InMemoryStore store, MissedSlotPolicy policy = MissedSlotPolicy.RunOnce, string name = "node-a") =>
        WorkflowTestHost.Create(
            addStore: s => s.AddSingleton<IWorkflowDefinitionStore>(store).AddSingleton<IWorkflowInstanceStore>(store).AddSingleton<IScheduleStore>(store),
            configure: s => s.Configure<RuntimeOptions>(o =>
            {
                o.MissedSlots = policy;
                o.NodeId = name;
            }));

    private static async Task<IReadOnlyList<WorkflowInstanceSummary>> RunsAsync(WorkflowTestHost host) =>
        (await host.Instances.ListAsync(new InstanceQuery(DefinitionId: "monthly"), CancellationToken.None)).Items;

    [Fact]
    public async Task CronTrigger_FiresOncePerSlot_AndTheRunStartsAtTheTrigger()
    {
        var store = new InMemoryStore();
        await using var host = Node(store);
        var ct = TestContext.Current.CancellationToken;
        await host.PublishAsync(MonthlyDrill, ct);

        await host.AdvanceAsync(TimeSpan.FromDays(29), ct);
        Assert.Empty(await RunsAsync(host));

        await host.AdvanceAsync(TimeSpan.FromDays(1) + TimeSpan.FromSeconds(1), ct);
        await host.AdvanceAsync(TimeSpan.FromSeconds(5), ct);

        var run = Assert.Single(await RunsAsync(host));
        Assert.Equal(WorkflowSubStatus.Finished, run.SubStatus);
        Assert.Equal(TriggerScheduler.InstanceIdFor("monthly:Workflow1:flow:cron", new DateTimeOffset(2026, 12, 1, 3, 0, 0, TimeSpan.Zero)), run.Id);
        Assert.Equal(["drill 2026-12-01T03:00:00.0000000+00:00"], host.Output.Lines);
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 3, 0, 0, TimeSpan.Zero), await store.GetLastSlotAsync("monthly:Workflow1:flow:cron", ct));
    }

    [Fact]
    public async Task TwoNodes_SweepingTheSameSlotAtOnce_StartExactlyOneRun()
    {
        var store = new InMemoryStore();
        await using var a = Node(store, name: "node-a");
        await using var b = Node(store, name: "node-b");
        var ct = TestContext.Current.CancellationToken;
        await a.PublishAsync(MonthlyDrill, ct);
        a.Clock.Advance(TimeSpan.FromDays(30) + TimeSpan.FromSeconds(1));
        b.Clock.Advance(TimeSpan.FromDays(30) + TimeSpan.FromSeconds(1));

        var sa = a.Services.GetRequiredService<TriggerScheduler>();
        var sb = b.Services.GetRequiredService<TriggerScheduler>();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => (i % 2 == 0 ? sa : sb).SweepAsync(ct)));

        Assert.Single(await RunsAsync(a));
    }

    [Fact]
    public async Task Restart_DoesNotFireAClaimedSlotAgain()
    {
        var store = new InMemoryStore();
        var ct = TestContext.Current.CancellationToken;
        await using (var first = Node(store))
        {
            await first.PublishAsync(MonthlyDrill, ct);
            await first.AdvanceAsync(TimeSpan.FromDays(30) + TimeSpan.FromSeconds(1), ct);
        }

        await using var second = Node(store);
        second.Clock.Advance(TimeSpan.FromDays(30) + TimeSpan.FromMinutes(10));
        await second.DrainAsync(ct);

        Assert.Single(await RunsAsync(second));
    }

    [Theory]
    [InlineData(MissedSlotPolicy.RunOnce, 1)]
    [InlineData(MissedSlotPolicy.RunAll, 3)]
    [InlineData(MissedSlotPolicy.Skip, 0)]
    public async Task MissedSlots_FollowThePolicy_AndEverySlotIsRecorded(MissedSlotPolicy policy, int expectedRuns)
    {
        var store = new InMemoryStore();
        var ct = TestContext.Current.CancellationToken;
        await using (var before = Node(store, policy))
            await before.PublishAsync(MonthlyDrill, ct);

        // The orchestrator was down over three monthly slots (Dec, Jan, Feb); the window allows 100 days back.
        await using var after = WorkflowTestHost.Create(
            addStore: s => s.AddSingleton<IWorkflowDefinitionStore>(store).AddSingleton<IWorkflowInstanceStore>(store).AddSingleton<IScheduleStore>(store),
            configure: s => s.Configure<RuntimeOptions>(o =>
            {
                o.MissedSlots = policy;
                o.MissedSlotWindow = TimeSpan.FromDays(100);
            }));
        after.Clock.Advance(TimeSpan.FromDays(95));
        await after.DrainAsync(ct);

        Assert.Equal(expectedRuns, (await RunsAsync(after)).Count);
        Assert.Equal(new DateTimeOffset(2027, 2, 1, 3, 0, 0, TimeSpan.Zero), await store.GetLastSlotAsync("monthly:Workflow1:flow:cron", ct));
    }
}
