using System.Net;
using System.Text.Json.Nodes;
using DrWorkflows.Activities.Approvals;
using DrWorkflows.Core.Execution;
using DrWorkflows.Server.Tests.Approvals;

namespace DrWorkflows.Server.Tests.Studio;

/// <summary>
/// The journal as the Studio reads it: every record has the shape of Elsa's <c>WorkflowExecutionLogRecord</c>
/// (an int <c>activityTypeVersion</c>, the run's own records typed <c>Elsa.Workflow</c> so the Studio's filter
/// leaves them out), and it reads like what happened: a waiting gate ends the journal as waiting, with who may
/// decide and until when; a resume says who resumed it and through which channel.
/// </summary>
public sealed class StudioJournalTests
{
    [Fact]
    public async Task A_waiting_gate_reads_as_waiting_with_who_may_decide_and_the_resume_names_who_and_the_channel()
    {
        await using var server = new ApprovalServerFactory();
        var (runId, gate) = await server.StartGateAsync();

        // While it waits, the gate's last entry is the wait itself (after the request was posted), naming the approvers.
        var waiting = (await server.JournalAsync(runId)).Where(e => e.ActivityId == "gate").ToList();
        var last = waiting[^1];
        Assert.Equal(JournalEvents.Suspended, last.EventName);
        Assert.Equal(ApprovalGate.BookmarkName, last.Payload!["bookmark"]!.ToString());
        Assert.StartsWith($"Waiting for a decision on '{gate.Title}': 1 approval from slack:U0ALICE001, github:carol, user:alice, user:starter; until ", last.Message, StringComparison.Ordinal);
        Assert.Matches(@" UTC, then (escalates to contact tier \d+|takes the safe default: TimedOut)\.$", last.Message);
        var posting = Assert.Single(waiting, e => e.EventName == JournalEvents.Resumed);
        Assert.Equal(ApprovalGate.PublishBookmarkName, posting.Payload!["bookmark"]!.ToString());
        Assert.Equal("Resumed by the timer.", posting.Message);

        var (status, _, _) = await server.Client(ApprovalServerFactory.AliceKey).PostJsonAsync($"/api/approvals/{gate.ApprovalId}/approve", new JsonObject { ["option"] = "dr-2", ["evidenceSha256"] = gate.EvidenceSha256 });
        Assert.Equal(HttpStatusCode.OK, status);
        await server.SweepAsync();
        var resumed = Assert.Single(await server.JournalAsync(runId), e => e.EventName == JournalEvents.Resumed && e.Payload?["bookmark"]?.ToString() == ApprovalGate.BookmarkName);
        Assert.Equal("Resumed by alice (api).", resumed.Message);

        // The Elsa journal route, asked as the Studio asks after a run ends (no node filter): Studio-readable records.
        using var admin = server.Client(ApprovalServerFactory.AdminKey);
        var (journalStatus, journal, _) = await admin.PostJsonAsync($"/elsa/api/workflow-instances/{runId}/journal?skip=0&take=100",
            """{"filter":{"activityIds":null,"activityNodeIds":null,"excludedActivityTypes":null,"eventNames":null}}""");
        Assert.Equal(HttpStatusCode.OK, journalStatus);
        var records = journal!["items"]!.AsArray();
        Assert.Contains(records, r => r!["eventName"]!.GetValue<string>() == JournalEvents.WorkflowStarted && r["activityType"]!.GetValue<string>() == "Elsa.Workflow");
        Assert.Contains(records, r => r!["eventName"]!.GetValue<string>() == JournalEvents.WorkflowFinished);
        foreach (var record in records)
        {
            Assert.Equal(System.Text.Json.JsonValueKind.Number, record!["activityTypeVersion"]!.GetValueKind());
            Assert.Equal(System.Text.Json.JsonValueKind.Number, record["sequence"]!.GetValueKind());
            Assert.Equal(System.Text.Json.JsonValueKind.String, record["timestamp"]!.GetValueKind());
            Assert.False(string.IsNullOrEmpty(record["activityType"]!.GetValue<string>()));
            Assert.True(record["activityState"] is null or JsonObject, "activityState must be an object or null");
        }

        // The Studio's own filter leaves out the run's records and the flowchart, as on an Elsa server.
        var (_, filtered, _) = await admin.PostJsonAsync($"/elsa/api/workflow-instances/{runId}/journal?skip=0&take=100",
            """{"filter":{"activityNodeIds":null,"excludedActivityTypes":["Elsa.Workflow","Elsa.Flowchart"]}}""");
        var shown = filtered!["items"]!.AsArray();
        Assert.NotEmpty(shown);
        Assert.DoesNotContain(shown, r => r!["activityType"]!.GetValue<string>() is "Elsa.Workflow" or "Elsa.Flowchart");
        Assert.Equal(shown.Count, filtered["totalCount"]!.GetValue<int>());
    }
}
