using DrWorkflows.Core.Building;
using DrWorkflows.Core.Activities.Primitives;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Core.Tests.Runtime;

/// <summary>One run per platform without a Docker integration, from C#, and on a schedule.</summary>
public class OneRunPerPlatformTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const string Waiting = """
    { "definitionId": "scenario", "name": "Scenario", "customProperties": { "oneRunPerPlatform": true },
      "root": { "type": "Elsa.Sequence", "version": 1, "id": "seq", "activities": [
        { "type": "Elsa.Delay", "version": 1, "id": "wait", "timeSpan": { "typeName": "TimeSpan", "expression": { "type": "Literal", "value": "01:00:00" } } } ] } }
    """;

    [Fact]
    public async Task WithoutAnIntegrationThatKnowsTheTarget_EveryRunIsOnThisOrchestratorsOnePlatform()
    {
        await using var host = WorkflowTestHost.Create();
        var first = await host.RunAsync(Waiting, cancellationToken: Ct);

        var refused = await Assert.ThrowsAsync<RunAlreadyRunningException>(() => host.StartAsync("scenario", new { Container = "other" }, Ct));

        Assert.Equal("this orchestrator's platform", (await host.GetAsync(first.Id))!.Platform);
        Assert.Equal(first.Id, refused.RunningInstanceId);
    }

    [Fact]
    public void ACodeWorkflow_DeclaresItAsACustomProperty_AndTheGraphCarriesIt()
    {
        var registry = new ActivityRegistry().RegisterAssembly(typeof(ActivityRegistry).Assembly);
        var builder = new WorkflowBuilder("code-scenario", "Code scenario")
            .WithCustomProperty(WorkflowDefinitionDocument.OneRunPerPlatformProperty, true)
            .WithRoot(new WriteLine { Text = new("hi") });

        var document = builder.Build(registry);
        var graph = new WorkflowMaterializer(registry).Materialize(document);
        var plain = new WorkflowMaterializer(registry).Materialize(new WorkflowBuilder("plain", "Plain").WithRoot(new WriteLine { Text = new("hi") }).Build(registry));

        Assert.True(document.Json["customProperties"]!["oneRunPerPlatform"]!.GetValue<bool>());
        Assert.True(graph.OneRunPerPlatform);
        Assert.False(plain.OneRunPerPlatform);
    }

    [Fact]
    public async Task AScheduledSlotWhileTheLastRunStillRuns_IsSkippedAndRecorded_NotRetriedForever()
    {
        const string Daily = """
        { "definitionId": "daily", "name": "Daily", "customProperties": { "oneRunPerPlatform": true },
          "root": { "type": "Elsa.Flowchart", "version": 1, "id": "flow",
            "activities": [
              { "type": "Elsa.Cron", "version": 1, "id": "cron", "customProperties": { "canStartWorkflow": true },
                "cronExpression": { "typeName": "String", "expression": { "type": "Literal", "value": "0 3 * * *" } } },
              { "type": "Elsa.Delay", "version": 1, "id": "long", "timeSpan": { "typeName": "TimeSpan", "expression": { "type": "Literal", "value": "2.00:00:00" } } }
            ],
            "connections": [ { "source": { "activity": "cron", "port": "Done" }, "target": { "activity": "long", "port": "In" } } ] } }
        """;
        var store = new InMemoryStore();
        await using var host = WorkflowTestHost.Create(addStore: s => s.AddSingleton<IWorkflowDefinitionStore>(store).AddSingleton<IWorkflowInstanceStore>(store).AddSingleton<IScheduleStore>(store));
        await host.PublishAsync(Daily, Ct);

        await host.AdvanceAsync(TimeSpan.FromDays(1) + TimeSpan.FromSeconds(1), Ct);
        await host.AdvanceAsync(TimeSpan.FromDays(1), Ct);
        await host.AdvanceAsync(TimeSpan.FromSeconds(5), Ct);

        var runs = (await host.Instances.ListAsync(new InstanceQuery(DefinitionId: "daily"), Ct)).Items;
        var run = Assert.Single(runs);
        Assert.Equal(WorkflowStatus.Running, run.Status);
        Assert.Equal(new DateTimeOffset(2026, 11, 3, 3, 0, 0, TimeSpan.Zero), await store.GetLastSlotAsync("daily:Workflow1:flow:cron", Ct));
    }
}
