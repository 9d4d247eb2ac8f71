using DrWorkflows.Core.Execution;
using DrWorkflows.Testing;

namespace DrWorkflows.Core.Tests.Runtime;

public class FirstRunTests
{
    private const string Decision = """
    {
      "definitionId": "decision",
      "name": "Decision",
      "variables": [ { "id": "v1", "name": "Count", "typeName": "Int32", "value": "2" } ],
      "root": {
        "type": "Elsa.Flowchart", "version": 1, "id": "flow1",
        "activities": [
          { "type": "Elsa.Start", "version": 1, "id": "start1" },
          { "type": "Elsa.WriteLine", "version": 1, "id": "hello",
            "text": { "typeName": "String", "expression": { "type": "JavaScript", "value": "'count=' + getVariable('Count')" } } },
          { "type": "Elsa.FlowDecision", "version": 1, "id": "decide",
            "condition": { "typeName": "Boolean", "expression": { "type": "JavaScript", "value": "Count > 1" } } },
          { "type": "Elsa.WriteLine", "version": 1, "id": "yes", "text": { "typeName": "String", "expression": { "type": "Literal", "value": "big" } } },
          { "type": "Elsa.WriteLine", "version": 1, "id": "no", "text": { "typeName": "String", "expression": { "type": "Literal", "value": "small" } } }
        ],
        "connections": [
          { "source": { "activity": "start1", "port": "Done" }, "target": { "activity": "hello", "port": "In" } },
          { "source": { "activity": "hello", "port": "Done" }, "target": { "activity": "decide", "port": "In" } },
          { "source": { "activity": "decide", "port": "True" }, "target": { "activity": "yes", "port": "In" } },
          { "source": { "activity": "decide", "port": "False" }, "target": { "activity": "no", "port": "In" } }
        ]
      }
    }
    """;

    [Fact]
    public async Task Flowchart_WithDecision_TakesTheTruePathAndFinishes()
    {
        await using var host = WorkflowTestHost.Create();

        var state = await host.RunAsync(Decision, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(WorkflowStatus.Finished, state.Status);
        Assert.Equal(WorkflowSubStatus.Finished, state.SubStatus);
        Assert.Equal(["count=2", "big"], host.Output.Lines);
        var journal = await host.JournalAsync(state.Id);
        Assert.Equal(JournalEvents.WorkflowStarted, journal[0].EventName);
        Assert.Equal(JournalEvents.WorkflowFinished, journal[^1].EventName);
        Assert.Contains(journal, e => e.ActivityId == "decide" && e.EventName == JournalEvents.Completed && e.Outcomes!.SequenceEqual(["True"]));
        Assert.DoesNotContain(journal, e => e.ActivityId == "no");
    }

    [Fact]
    public async Task ToJson_writes_text_people_read_a_timestamp_keeps_its_plus_sign()
    {
        const string workflow = """
        { "definitionId": "to-json", "name": "toJson",
          "root": { "type": "Elsa.Sequence", "version": 1, "id": "seq", "activities": [
            { "type": "Elsa.WriteLine", "version": 1, "id": "line",
              "text": { "typeName": "String", "expression": { "type": "JavaScript", "value": "toJson({ at: '2026-11-01T02:09:00+00:00', server: \"'main' <dr>\" })" } } } ] } }
        """;
        await using var host = WorkflowTestHost.Create();

        await host.RunAsync(workflow, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(["""{"at":"2026-11-01T02:09:00+00:00","server":"'main' <dr>"}"""], host.Output.Lines);
    }
}
