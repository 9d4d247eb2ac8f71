using System.Text.Json.Nodes;
using DrWorkflows.Core;
using DrWorkflows.Core.Execution;
using Xunit;
using static DrWorkflows.Testing.Behaviour.ElsaJson;

namespace DrWorkflows.Testing.Behaviour;

/// <summary>
/// Elsa's <c>logPersistenceMode</c> of inputs and outputs: an excluded value is kept out of the journal, the run's
/// state and the activity execution records (its name is listed under <c>excluded</c>), with Elsa's precedence
/// (property, activity default, workflow default; Inherit passes up). The structures are those of Elsa's own tests
/// (four WriteLines, stored, not stored, stored, not stored).
/// </summary>
public abstract class LogPersistenceBehaviourTests : BehaviourTestBase
{
    private static string Legacy(string @default, string text) =>
        $$"""{ "logPersistenceMode": { "default": "{{@default}}", "inputs": { "text": "{{text}}" }, "outputs": {} } }""";

    private static string Strategy(string mode) =>
        $$"""{ "evaluationMode": "Strategy", "strategyType": "Elsa.Workflows.LogPersistence.Strategies.{{mode}}, Elsa.Workflows.Core", "expression": null }""";

    private static string Line(string id, string text, string? customProperties) => customProperties is null
        ? WriteLine(id, text)
        : Activity("Elsa.WriteLine", id, $"\"text\": {Lit(text)}, \"customProperties\": {customProperties}");

    private static async Task AssertTextRecordedAsync(WorkflowTestHost host, string instanceId, params (string Activity, bool Stored)[] expected)
    {
        var journal = await host.JournalAsync(instanceId);
        foreach (var (activity, stored) in expected)
        {
            var payload = Assert.Single(journal, e => e.EventName == JournalEvents.Completed && e.ActivityId == activity).Payload;
            var text = payload?["inputs"]?["Text"];
            if (stored)
            {
                Assert.NotNull(text);
                Assert.Null(payload?["excluded"]);
            }
            else
            {
                Assert.Null(text);
                Assert.Equal(["Text"], payload!["excluded"]!["inputs"]!.AsArray().Select(n => n!.GetValue<string>()));
                Assert.DoesNotContain("should not be stored", payload.ToJsonString(), StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task ActivityLevelModes_FollowElsasPrecedence_PropertyOverActivityDefault()
    {
        await using var host = CreateHost();
        var json = Definition("log-modes-1", Sequence("seq",
            Line("w1", "This input should be stored", null),
            Line("w2", "This input should not be stored", Legacy("Exclude", "Inherit")),
            Line("w3", "This input should be stored", Legacy("Exclude", "Include")),
            Line("w4", "This input should not be stored", Legacy("Include", "Exclude"))));

        var run = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(run);
        Assert.Equal(4, host.Output.Lines.Count); // the activities still read and use the value
        await AssertTextRecordedAsync(host, run.Id, ("w1", true), ("w2", false), ("w3", true), ("w4", false));
    }

    [Fact]
    public async Task TheWorkflowDefault_IsInheritedByActivities_AsTheStudioWritesIt()
    {
        await using var host = CreateHost();
        var json = Definition("log-modes-2", Sequence("seq",
                Line("w1", "This input should be stored", Legacy("Include", "Inherit")),
                Line("w2", "This input should not be stored", null),
                Line("w3", "This input should be stored", $$"""{ "logPersistenceConfig": { "default": {{Strategy("Inherit")}}, "inputs": { "text": {{Strategy("Include")}} } } }"""),
                Line("w4", "This input should not be stored", $$"""{ "logPersistenceConfig": { "inputs": { "text": {{Strategy("Exclude")}} } } }""")),
            customProperties: $$"""{ "logPersistenceConfig": { "default": {{Strategy("Exclude")}} } }""");

        var run = await host.RunAsync(json, cancellationToken: Ct);

        AssertFinished(run);
        await AssertTextRecordedAsync(host, run.Id, ("w1", true), ("w2", false), ("w3", true), ("w4", false));
    }

    [Fact]
    public async Task AnExcludedOutput_IsNotStoredInTheStateOrJournal_YetTheNextStepAndABoundVariableGetIt()
    {
        await using var host = CreateHost();
        var json = Definition("log-output", Sequence("seq",
                Activity("Elsa.RunJavaScript", "token", $$"""
                    "script": {{Lit("'tok-' + 'en-4711'")}},
                    "result": {{Bind("v-token")}},
                    "customProperties": { "logPersistenceMode": { "default": "Inherit", "inputs": { "script": "Exclude" }, "outputs": { "result": "Exclude" } } }
                    """),
                WriteLineJs("uses", "'next step got ' + getOutputFrom('token') + ' and ' + getLastResult()"),
                Delay("wait", "00:01:00"),
                WriteLineJs("later", "'variable ' + getVariable('Token')")),
            variables: [Variable("v-token", "Token", "String", null)]);

        var run = await host.RunAsync(json, cancellationToken: Ct);
        var waiting = await ReloadAsync(host, run.Id);
        Assert.DoesNotContain("tok-en-4711", Serialization(waiting.ActivityOutputs), StringComparison.Ordinal);
        Assert.Null(waiting.LastResult);
        await host.AdvanceAsync(TimeSpan.FromMinutes(2), Ct);

        var state = await ReloadAsync(host, run.Id);
        AssertFinished(state);
        Assert.Equal(["next step got tok-en-4711 and tok-en-4711", "variable tok-en-4711"], host.Output.Lines);
        Assert.False(state.ActivityOutputs.TryGetValue("token", out var outputs) && outputs.ContainsKey("Result"));
        var completed = Assert.Single(await host.JournalAsync(run.Id), e => e.EventName == JournalEvents.Completed && e.ActivityId == "token").Payload!;
        Assert.Null(completed["outputs"]?["Result"]);
        Assert.Null(completed["inputs"]?["Script"]);
        AssertJson("""{ "inputs": ["Script"], "outputs": ["Result"] }""", completed["excluded"]);
        // The value is in the variable the output is bound to (variables are not logs, in Elsa either), nowhere else.
        Assert.Equal("tok-en-4711", state.Variables["v-token"]?.GetValue<string>());
    }

    [Fact]
    public async Task AnExcludedInput_OfAWaitingActivity_IsNotInTheStoredStateWhileItWaits()
    {
        await using var host = CreateHost();
        var json = Definition("log-waiting", Sequence("seq",
            Activity("Elsa.Delay", "wait", $$"""
                "timeSpan": {{Lit("00:07:00", "TimeSpan")}},
                "customProperties": { "logPersistenceMode": { "default": "Exclude" } }
                """)));

        var run = await host.RunAsync(json, cancellationToken: Ct);

        var waiting = await ReloadAsync(host, run.Id);
        AssertSuspended(waiting);
        var record = Assert.Single(waiting.Executions, e => e.NodeId.EndsWith(":wait", StringComparison.Ordinal));
        Assert.Null(record.Inputs?["TimeSpan"]);
        AssertJson("""{ "inputs": ["TimeSpan"] }""", record.Excluded);
        await host.AdvanceAsync(TimeSpan.FromMinutes(8), Ct);
        AssertFinished(await ReloadAsync(host, run.Id));
        Assert.DoesNotContain("00:07:00", string.Join("\n", (await host.JournalAsync(run.Id)).Select(e => e.Payload?.ToJsonString())), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "logPersistenceConfig": { "default": { "evaluationMode": "Expression", "expression": { "type": "JavaScript", "value": "'Exclude'" } } } }""", "expression")]
    [InlineData("""{ "logPersistenceConfig": { "inputs": { "text": { "evaluationMode": "Strategy", "strategyType": "My.Company.MaskHalf, My.Company" } } } }""", "My.Company.MaskHalf")]
    [InlineData("""{ "logPersistenceMode": { "default": "Sometimes" } }""", "Sometimes")]
    public async Task AModeThatCannotBeHonoured_IsRefusedAtSave_NamingTheActivity(string customProperties, string named)
    {
        await using var host = CreateHost();
        var json = Definition("log-bad", Sequence("seq", Line("w1", "hello", customProperties)));

        var error = await Assert.ThrowsAsync<WorkflowDefinitionException>(() => host.PublishAsync(json, Ct));

        Assert.Contains("'w1'", error.Message, StringComparison.Ordinal);
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
        Assert.Contains("elsa-compatibility.md", error.Message, StringComparison.Ordinal);
    }

    private static string Serialization(Dictionary<string, Dictionary<string, JsonNode?>> outputs) =>
        string.Join(";", outputs.SelectMany(o => o.Value.Select(p => $"{o.Key}.{p.Key}={p.Value?.ToJsonString()}")));
}
