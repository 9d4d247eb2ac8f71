using System.Text.Json.Nodes;
using DrWorkflows.Activities.Notifications;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Activities.Flowchart;
using DrWorkflows.Core.Activities.Primitives;
using DrWorkflows.Core.Activities.Scheduling;
using DrWorkflows.Core.Building;
using DrWorkflows.Core.Execution;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Activities.Tests.Notifications;

/// <summary>RecordFailureReason: the one step in front of a failure end, which picks the reason of the connection that led to it.</summary>
public sealed class RecordFailureReasonTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("""{"decide:False": "'no ' + Subject", "decide": "'any port'"}""", "no database", "decide:False")]
    [InlineData("""{"decide:True": "'not this port'", "decide": "'any port of ' + Subject"}""", "any port of database", "decide")]
    [InlineData("""{"other:False": "'not this step'"}""", "Step 'decide' ended False", null)]
    public async Task The_reason_is_the_one_given_for_the_step_and_port_that_led_here_else_the_fallback(string reasons, string expected, string? key)
    {
        await using var host = Host();

        var (state, completed) = await RunAsync(host, Input<JsonObject>.FromObject(reasons));

        Assert.Equal(WorkflowSubStatus.Finished, state.SubStatus);
        Assert.Equal(expected, state.Variables["FailureReason"]?.GetValue<string>());
        Assert.Equal(["failure end"], host.Output.Lines);
        var data = completed.Payload!["data"]!;
        Assert.Equal(new ScheduledBy("decide", "False", Assert.Single(await host.JournalAsync(state.Id), e => e.ActivityId == "decide" && e.EventName == JournalEvents.Completed).ExecutionId!), ScheduledBy.FromJson(data["source"]));
        Assert.Equal(key, data["reasonKey"]?.GetValue<string>());
    }

    [Fact]
    public async Task A_given_fallback_is_used_when_no_reason_matches()
    {
        await using var host = Host();

        var (state, _) = await RunAsync(host, null, fallback: "Stopped at an unnamed step");

        Assert.Equal("Stopped at an unnamed step", state.Variables["FailureReason"]?.GetValue<string>());
    }

    [Fact]
    public async Task A_reason_script_that_throws_keeps_the_failure_with_the_fallback_and_the_error_and_goes_on_to_the_end()
    {
        await using var host = Host();

        var (state, completed) = await RunAsync(host, Input<JsonObject>.FromObject("""{"decide:False": "getOutputFrom('nowhere', 'X').problems.join('; ')"}"""));

        Assert.Equal(WorkflowSubStatus.Finished, state.SubStatus);
        Assert.Empty(state.Incidents);
        Assert.Equal(["failure end"], host.Output.Lines);
        var reason = state.Variables["FailureReason"]!.GetValue<string>();
        Assert.StartsWith("Step 'decide' ended False (the reason script 'decide:False' failed: ", reason, StringComparison.Ordinal);
        Assert.NotNull(completed.Payload!["data"]!["reasonError"]);
    }

    [Fact]
    public async Task In_Cascade_mode_a_failure_in_one_branch_reaches_the_failure_end_while_a_gate_waits_in_another()
    {
        await using var host = Host();

        var state = await RunBranchesAsync(host, cascade: true);

        // The other branch still waits (its delay is a gate nobody answered), but the failure end was reached.
        Assert.Equal(WorkflowSubStatus.Suspended, state.SubStatus);
        Assert.Single(state.Bookmarks, b => b.NodeId.EndsWith(":gate", StringComparison.Ordinal));
        Assert.Equal(["failure end"], host.Output.Lines);
        Assert.Equal("the check failed", state.Variables["FailureReason"]?.GetValue<string>());
    }

    [Fact]
    public async Task In_the_default_Stream_mode_the_same_failure_would_wait_for_the_gate_which_is_why_the_step_needs_Cascade()
    {
        await using var host = Host();

        var state = await RunBranchesAsync(host, cascade: false);

        Assert.Equal(WorkflowSubStatus.Suspended, state.SubStatus);
        Assert.Empty(host.Output.Lines);
        Assert.Null(state.Variables.GetValueOrDefault("FailureReason"));
    }

    /// <summary>begin → decide (false) → record → "failure end"; True leads to record as well.</summary>
    private static async Task<(WorkflowState State, JournalEntry Completed)> RunAsync(WorkflowTestHost host, Input<JsonObject>? reasons, string? fallback = null)
    {
        var builder = new WorkflowBuilder("reason", "Reason").WithVariable<string>("FailureReason").WithVariable("Subject", "database");
        var flow = builder.Flowchart();
        var begin = flow.Add(new Start { Id = "begin" });
        var decide = flow.Add(new FlowDecision { Id = "decide", Condition = new(false) });
        var record = flow.Add(new RecordFailureReason { Id = "record", Reasons = reasons, Fallback = fallback is null ? null : new(fallback), Reason = new("FailureReason") });
        var end = flow.Add(new WriteLine { Id = "end", Text = new("failure end") });
        flow.Connect(begin, decide).Connect(decide, record, "True").Connect(decide, record, "False").Connect(record, end);

        var state = await host.RunCodeAsync(builder);
        var completed = Assert.Single(await host.JournalAsync(state.Id), e => e.ActivityId == "record" && e.EventName == JournalEvents.Completed);
        return (state, completed);
    }

    /// <summary>begin → gate (an hour's delay) and begin → check (false): both lead to record, which leads to "failure end".</summary>
    private static async Task<WorkflowState> RunBranchesAsync(WorkflowTestHost host, bool cascade)
    {
        var builder = new WorkflowBuilder("branches", "Branches").WithVariable<string>("FailureReason");
        var flow = builder.Flowchart();
        var begin = flow.Add(new Start { Id = "begin" });
        var gate = flow.Add(new Delay { Id = "gate", TimeSpan = new(TimeSpan.FromHours(1)) });
        var check = flow.Add(new FlowDecision { Id = "check", Condition = new(false) });
        var record = flow.Add(new RecordFailureReason
        {
            Id = "record",
            Reasons = Input<JsonObject>.FromObject("""{"check:False": "'the check failed'", "gate": "'nobody answered'"}"""),
            Reason = new("FailureReason"),
        });
        if (cascade)
            record.CustomProperties["mergeMode"] = nameof(MergeMode.Cascade);
        var end = flow.Add(new WriteLine { Id = "end", Text = new("failure end") });
        flow.Connect(begin, gate).Connect(begin, check).Connect(gate, record).Connect(check, record, "False").Connect(record, end);
        return await host.RunCodeAsync(builder);
    }

    private static WorkflowTestHost Host() =>
        WorkflowTestHost.Create(configure: services => services.AddActivities(typeof(RecordFailureReason).Assembly));
}
