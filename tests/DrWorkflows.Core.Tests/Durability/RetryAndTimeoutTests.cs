using System.Collections.Concurrent;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Core.Tests.Durability;

public class RetryAndTimeoutTests
{
    /// <summary>Fails until it has been called <c>FailTimes</c> times (counted per execution id).</summary>
    [Activity("Tests", "Durability", "Fails a number of times, then succeeds.", SafeToRerun = true, MaxAttempts = 3)]
    public sealed class Flaky : CodeActivity
    {
        public static readonly ConcurrentDictionary<string, int> Calls = new();

        [Input]
        public Input<int> FailTimes { get; set; } = new(0);

        protected override ValueTask RunAsync(ActivityExecutionContext context)
        {
            var calls = Calls.AddOrUpdate(context.ExecutionId, 1, (_, n) => n + 1);
            if (calls <= context.Get(FailTimes))
                throw new IOException($"transient failure {calls}");
            context.AddJournalData("calls", calls);
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>Waits on the clock until cancelled.</summary>
    [Activity("Tests", "Durability", "Hangs until its time limit.", SafeToRerun = true, TimeoutSeconds = 30)]
    public sealed class Hang : CodeActivity
    {
        protected override async ValueTask RunAsync(ActivityExecutionContext context) =>
            await Task.Delay(TimeSpan.FromHours(1), context.Clock, context.CancellationToken);
    }

    private static string Definition(string id, string type, string extra = "") => $$"""
    { "definitionId": "{{id}}", "name": "{{id}}",
      "root": { "type": "Elsa.Sequence", "version": 1, "id": "seq",
        "activities": [ { "type": "{{type}}", "version": 1, "id": "step" {{extra}} },
                        { "type": "Elsa.WriteLine", "version": 1, "id": "after", "text": { "typeName": "String", "expression": { "type": "Literal", "value": "after" } } } ] } }
    """;

    private static WorkflowTestHost CreateHost() =>
        WorkflowTestHost.Create(configure: s => s.AddActivities(typeof(RetryAndTimeoutTests).Assembly));

    [Fact]
    public async Task FailingSafeActivity_IsRetriedWithBackoffOnDurableTimers_ThenSucceeds()
    {
        await using var host = CreateHost();
        var ct = TestContext.Current.CancellationToken;

        var state = await host.RunAsync(Definition("flaky2", "Tests.Flaky", """, "failTimes": { "typeName": "Int32", "expression": { "type": "Literal", "value": "2" } }"""), cancellationToken: ct);

        Assert.Equal(WorkflowSubStatus.Suspended, state.SubStatus);
        var retry = Assert.Single(state.Bookmarks);
        Assert.Equal(RetryPolicy.RetryBookmark, retry.Name);
        Assert.Equal(host.Clock.GetUtcNow() + TimeSpan.FromSeconds(5), retry.ResumeAt);

        await host.AdvanceAsync(TimeSpan.FromSeconds(5), ct);
        state = (await host.GetAsync(state.Id))!;
        Assert.Equal(host.Clock.GetUtcNow() + TimeSpan.FromSeconds(10), Assert.Single(state.Bookmarks).ResumeAt);

        await host.AdvanceAsync(TimeSpan.FromSeconds(10), ct);
        state = (await host.GetAsync(state.Id))!;
        Assert.Equal(WorkflowSubStatus.Finished, state.SubStatus);
        Assert.Equal(["after"], host.Output.Lines);
        var journal = await host.JournalAsync(state.Id);
        var retries = journal.Where(e => e.EventName == JournalEvents.Retrying).ToList();
        Assert.Equal(2, retries.Count);
        Assert.Equal("transient failure 1", retries[0].Message);
        Assert.Equal([1, 2], retries.Select(r => r.Attempt!.Value));
        Assert.Contains(journal, e => e.EventName == JournalEvents.Completed && e.ActivityId == "step" && e.Attempt == 3);
    }

    [Fact]
    public async Task RetriesExhausted_RaiseAnIncident_AndOperatorRetryCompletesTheRun()
    {
        await using var host = CreateHost();
        var ct = TestContext.Current.CancellationToken;
        var state = await host.RunAsync(Definition("flaky5", "Tests.Flaky", """, "failTimes": { "typeName": "Int32", "expression": { "type": "Literal", "value": "3" } }"""), cancellationToken: ct);
        await host.AdvanceAsync(TimeSpan.FromSeconds(5), ct);
        await host.AdvanceAsync(TimeSpan.FromSeconds(10), ct);

        state = (await host.GetAsync(state.Id))!;
        Assert.Equal(WorkflowSubStatus.Faulted, state.SubStatus);
        var incident = Assert.Single(state.Incidents);
        Assert.Equal("transient failure 3", incident.Message);

        state = (await host.Runtime.ResolveIncidentAsync(state.Id, incident.Id, IncidentResolution.Retry, "oncall (api)", null, ct))!;
        Assert.Equal(WorkflowSubStatus.Finished, state.SubStatus);
        var journal = await host.JournalAsync(state.Id);
        Assert.Contains(journal, e => e.EventName == JournalEvents.IncidentResolved && e.Actor == "oncall (api)");
    }

    [Fact]
    public async Task RetryPolicyFromCustomProperties_OverridesTheActivityDefault()
    {
        await using var host = CreateHost();
        var ct = TestContext.Current.CancellationToken;
        var state = await host.RunAsync(Definition("flaky-noretry", "Tests.Flaky", """, "customProperties": { "retry": { "maxAttempts": 1 } }, "failTimes": { "typeName": "Int32", "expression": { "type": "Literal", "value": "1" } }"""), cancellationToken: ct);

        Assert.Equal(WorkflowSubStatus.Faulted, state.SubStatus);
        Assert.Empty(state.Bookmarks);
    }

    [Fact]
    public async Task ActivityOverItsTimeLimit_IsStoppedAndRetried()
    {
        await using var host = CreateHost();
        var ct = TestContext.Current.CancellationToken;
        var publish = await host.PublishAsync(Definition("hang", "Tests.Hang", """, "customProperties": { "timeout": "00:00:30", "retry": { "maxAttempts": 2, "initialDelay": "00:00:01" } }"""), ct);

        var run = host.StartAsync(publish.DefinitionId, cancellationToken: ct);
        while (!run.IsCompleted)
        {
            host.Clock.Advance(TimeSpan.FromSeconds(10));
            await Task.Delay(20, ct);
        }

        var state = await run;
        Assert.Equal(WorkflowSubStatus.Suspended, state.SubStatus);
        var journal = await host.JournalAsync(state.Id);
        var retrying = Assert.Single(journal, e => e.EventName == JournalEvents.Retrying);
        Assert.Contains("did not finish within 00:00:30", retrying.Message, StringComparison.Ordinal);
    }
}
