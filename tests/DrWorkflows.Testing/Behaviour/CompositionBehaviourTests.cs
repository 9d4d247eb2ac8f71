using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using static DrWorkflows.Testing.Behaviour.ElsaJson;

namespace DrWorkflows.Testing.Behaviour;

/// <summary>
/// Parent and child workflows: Elsa.ExecuteWorkflow (with input and output, waiting or fire-and-forget, a faulted
/// child) and published workflows marked "usable as activity" used as activity types of their own.
/// </summary>
public abstract class CompositionBehaviourTests : BehaviourTestBase
{
    /// <summary>A child that greets its input Name, sets the output Greeting and optionally waits first.</summary>
    private static string Child(string definitionId, string? delay = null)
    {
        var steps = new List<string>();
        if (delay is not null)
            steps.Add(Delay("childWait", delay));
        steps.Add(WriteLineJs("childSays", "'child got ' + getInput('Name')"));
        steps.Add(Activity("Elsa.SetOutput", "childOut", $"\"outputName\": {Lit("Greeting")}, \"outputValue\": {Js("'Hello ' + getInput('Name')")}"));
        return Definition(definitionId, Sequence("childSeq", [.. steps]), inputs: [Argument("Name")], outputs: [Argument("Greeting")]);
    }

    private static string Parent(string definitionId, string childId, string wait) => Definition(definitionId, Sequence("parentSeq",
            Activity("Elsa.ExecuteWorkflow", "exec", $"""
                "workflowDefinitionId": {Lit(childId)},
                "input": {Js("({ Name: getVariable('Who') })")},
                "waitForCompletion": {Lit(wait, "Boolean")}
                """),
            WriteLineJs("parentSays", "'parent: ' + JSON.stringify(getOutputFrom('exec'))")),
        variables: [Variable("v-who", "Who", "String", "Ada")]);

    [Fact]
    public async Task ExecuteWorkflow_Waiting_PassesInputAndReceivesTheChildOutput()
    {
        await using var host = CreateHost();
        await host.PublishAsync(Child("greeter"), Ct);

        var parent = await host.RunAsync(Parent("caller", "greeter", "true"), cancellationToken: Ct);

        AssertSuspended(parent);
        await host.DrainAsync(Ct);

        AssertFinished(await ReloadAsync(host, parent.Id));
        Assert.Equal(["child got Ada", "parent: {\"Greeting\":\"Hello Ada\"}"], host.Output.Lines);
        var children = await host.Instances.ListAsync(new InstanceQuery(ParentInstanceId: parent.Id), Ct);
        var child = Assert.Single(children.Items);
        Assert.Equal("greeter", child.DefinitionId);
        Assert.Equal(WorkflowSubStatus.Finished, child.SubStatus);
        AssertJson(Str(child.Id), OutputOf(await ReloadAsync(host, parent.Id), "exec", "ChildInstanceId"));
        var resumed = (await host.JournalAsync(parent.Id)).Single(e => e.ActivityId == "exec" && e.EventName == JournalEvents.Resumed);
        Assert.Equal($"child:{child.Id}", resumed.Actor);
    }

    [Fact]
    public async Task ExecuteWorkflow_Waiting_WaitsForAChildThatIsItselfWaiting()
    {
        await using var host = CreateHost();
        await host.PublishAsync(Child("slow-greeter", "00:30:00"), Ct);

        var parent = await host.RunAsync(Parent("slow-caller", "slow-greeter", "true"), cancellationToken: Ct);
        await host.DrainAsync(Ct);

        AssertSuspended(await ReloadAsync(host, parent.Id));
        Assert.Empty(host.Output.Lines);
        await host.AdvanceAsync(TimeSpan.FromMinutes(30), Ct);
        AssertFinished(await ReloadAsync(host, parent.Id));
        Assert.Equal(["child got Ada", "parent: {\"Greeting\":\"Hello Ada\"}"], host.Output.Lines);
    }

    [Fact]
    public async Task ExecuteWorkflow_FireAndForget_CompletesAtOnceAndTheChildRunsOnItsOwn()
    {
        await using var host = CreateHost();
        await host.PublishAsync(Child("detached", "00:05:00"), Ct);

        var parent = await host.RunAsync(Parent("fire-and-forget", "detached", "false"), cancellationToken: Ct);

        AssertFinished(parent);
        Assert.Equal(["parent: null"], host.Output.Lines);
        var childId = OutputOf(parent, "exec", "ChildInstanceId")!.GetValue<string>();
        await host.DrainAsync(Ct);
        var child = await ReloadAsync(host, childId);
        AssertSuspended(child);
        Assert.Equal(parent.Id, child.ParentInstanceId);
        await host.AdvanceAsync(TimeSpan.FromMinutes(5), Ct);
        AssertFinished(await ReloadAsync(host, childId));
        Assert.Equal(["parent: null", "child got Ada"], host.Output.Lines);
    }

    [Fact]
    public async Task Cancel_TheParent_CancelsItsRunningChildrenAndTheirChildren()
    {
        await using var host = CreateHost();
        await host.PublishAsync(Child("grandchild", "01:00:00"), Ct);
        await host.PublishAsync(Definition("middle", Sequence("middleSeq",
            Activity("Elsa.ExecuteWorkflow", "execGrandchild", $"\"workflowDefinitionId\": {Lit("grandchild")}, \"waitForCompletion\": {Lit("true", "Boolean")}"))), Ct);
        await host.PublishAsync(Child("finished-child"), Ct);
        var json = Definition("top", Sequence("topSeq",
            Activity("Elsa.ExecuteWorkflow", "execDone", $"\"workflowDefinitionId\": {Lit("finished-child")}, \"waitForCompletion\": {Lit("true", "Boolean")}"),
            Activity("Elsa.ExecuteWorkflow", "execMiddle", $"\"workflowDefinitionId\": {Lit("middle")}, \"waitForCompletion\": {Lit("true", "Boolean")}"),
            WriteLine("never", "parent went on")));
        var top = await host.RunAsync(json, cancellationToken: Ct);
        await host.DrainAsync(Ct);
        var children = (await host.Instances.ListAsync(new InstanceQuery(ParentInstanceId: top.Id), Ct)).Items;
        var done = Assert.Single(children, c => c.DefinitionId == "finished-child");
        var middle = Assert.Single(children, c => c.DefinitionId == "middle");
        var grandchild = Assert.Single((await host.Instances.ListAsync(new InstanceQuery(ParentInstanceId: middle.Id), Ct)).Items);
        AssertSuspended(await ReloadAsync(host, grandchild.Id));

        var cancelled = await host.Runtime.CancelAsync(top.Id, "operator", Ct);

        Assert.Equal(WorkflowSubStatus.Cancelled, cancelled!.SubStatus);
        Assert.Equal(WorkflowSubStatus.Cancelled, (await ReloadAsync(host, middle.Id)).SubStatus);
        Assert.Equal(WorkflowSubStatus.Cancelled, (await ReloadAsync(host, grandchild.Id)).SubStatus);
        Assert.Equal(WorkflowSubStatus.Finished, (await ReloadAsync(host, done.Id)).SubStatus);
        var note = (await host.JournalAsync(grandchild.Id)).Single(e => e.EventName == JournalEvents.Note);
        Assert.Contains($"parent run {middle.Id} cancelled", note.Message, StringComparison.Ordinal);
        await host.AdvanceAsync(TimeSpan.FromHours(1), Ct);
        Assert.DoesNotContain("parent went on", host.Output.Lines);
        Assert.Single(host.Output.Lines, l => l.StartsWith("child got", StringComparison.Ordinal)); // the finished child only
    }

    [Fact]
    public async Task Cancel_CutShortByACrash_TheChildrenAreCancelledAtTheNextStart()
    {
        await using var host = CreateHost();
        await host.PublishAsync(Child("orphan", "01:00:00"), Ct);
        var top = await host.RunAsync(Parent("orphan-parent", "orphan", "true"), cancellationToken: Ct);
        await host.DrainAsync(Ct);
        var child = Assert.Single((await host.Instances.ListAsync(new InstanceQuery(ParentInstanceId: top.Id), Ct)).Items);
        // The parent's cancellation was committed, then the orchestrator died before cancelling the child.
        var parent = await ReloadAsync(host, top.Id);
        parent.Status = WorkflowStatus.Finished;
        parent.SubStatus = WorkflowSubStatus.Cancelled;
        parent.Bookmarks.Clear();
        await host.Instances.CommitAsync(parent, [], Ct);
        var unrelated = await host.RunAsync(Child("standalone", "01:00:00"), cancellationToken: Ct);

        Assert.Equal(1, await host.Runtime.CancelChildrenOfCancelledRunsAsync(Ct));

        Assert.Equal(WorkflowSubStatus.Cancelled, (await ReloadAsync(host, child.Id)).SubStatus);
        AssertSuspended(await ReloadAsync(host, unrelated.Id));
        Assert.Equal(0, await host.Runtime.CancelChildrenOfCancelledRunsAsync(Ct));
    }

    [Fact]
    public async Task ExecuteWorkflow_InAParallelForEach_RunsOneChildPerItem()
    {
        await using var host = CreateHost();
        await host.PublishAsync(Child("fan-out-greeter", "00:01:00"), Ct);
        var json = Definition("fan-out", Sequence("seq",
            Activity("Elsa.ParallelForEach", "each", $"""
                "items": {Obj("[\"db1\", \"db2\", \"db3\"]")},
                "body": {Activity("Elsa.ExecuteWorkflow", "exec", $"\"workflowDefinitionId\": {Lit("fan-out-greeter")}, \"input\": {Js("({ Name: CurrentValue })")}")}
                """),
            WriteLine("after", "all restored")));

        var parent = await host.RunAsync(json, cancellationToken: Ct);
        await host.DrainAsync(Ct);
        var children = (await host.Instances.ListAsync(new InstanceQuery(ParentInstanceId: parent.Id), Ct)).Items;
        Assert.Equal(3, children.Count);
        AssertSuspended(await ReloadAsync(host, parent.Id));

        await host.AdvanceAsync(TimeSpan.FromMinutes(1), Ct);

        AssertFinished(await ReloadAsync(host, parent.Id));
        Assert.Equal(["child got db1", "child got db2", "child got db3"], host.Output.Lines.Take(3).Order(StringComparer.Ordinal));
        Assert.Equal("all restored", host.Output.Lines[^1]);
    }

    [Fact]
    public async Task ExecuteWorkflow_ChildFaulted_TheParentGetsAnIncidentOnceTheChildEndsFaulted()
    {
        await using var host = CreateHost();
        await host.PublishAsync(Definition("breaks", Activity("Elsa.Fault", "boom", $"\"message\": {Lit("replica is gone")}")), Ct);

        var parent = await host.RunAsync(Parent("caller-of-broken", "breaks", "true"), cancellationToken: Ct);
        await host.DrainAsync(Ct);

        var children = await host.Instances.ListAsync(new InstanceQuery(ParentInstanceId: parent.Id), Ct);
        var childId = Assert.Single(children.Items).Id;
        var childIncident = AssertFaultedWithIncident(await ReloadAsync(host, childId));
        AssertSuspended(await ReloadAsync(host, parent.Id));

        await host.Runtime.ResolveIncidentAsync(childId, childIncident.Id, IncidentResolution.Fail, "operator", null, Ct);
        await host.DrainAsync(Ct);

        var child = await ReloadAsync(host, childId);
        Assert.Equal(WorkflowStatus.Finished, child.Status);
        Assert.Equal(WorkflowSubStatus.Faulted, child.SubStatus);
        var incident = AssertFaultedWithIncident(await ReloadAsync(host, parent.Id));
        Assert.Equal("exec", incident.ActivityId);
        Assert.Contains(childId, incident.Message, StringComparison.Ordinal);
        Assert.Contains("replica is gone", incident.Message, StringComparison.Ordinal);
        Assert.Empty(host.Output.Lines);
    }

    [Fact]
    public async Task ExecuteWorkflow_UnknownWorkflow_RaisesAnIncidentNamingIt()
    {
        await using var host = CreateHost();

        var parent = await host.RunAsync(Parent("caller-of-nothing", "does-not-exist", "true"), cancellationToken: Ct);
        await host.DrainAsync(Ct);

        var incident = AssertFaultedWithIncident(await ReloadAsync(host, parent.Id));
        Assert.Equal("exec", incident.ActivityId);
        Assert.Contains("does-not-exist", incident.Message, StringComparison.Ordinal);
    }

    /// <summary>A reusable workflow: "Check Replica" with input Host, output Lag, outcomes Healthy/Lagging.</summary>
    private const string CheckReplica = """
        {
          "definitionId": "check-replica",
          "name": "Check Replica",
          "description": "Checks replication lag of one host.",
          "version": 1,
          "variables": [],
          "inputs": [
            { "type": "String", "name": "Host", "displayName": "Host", "description": "The replica", "category": "", "uiHint": "singleline", "isArray": false },
            { "type": "Int32", "name": "MaxLag", "displayName": "Max lag", "description": "", "category": "", "uiHint": "singleline", "isArray": false }
          ],
          "outputs": [ { "type": "Int32", "name": "Lag", "displayName": "Lag", "description": "", "category": "", "isArray": false } ],
          "outcomes": [ "Healthy", "Lagging" ],
          "customProperties": {},
          "options": { "usableAsActivity": true, "autoUpdateConsumingWorkflows": true, "activityCategory": "DR checks" },
          "root": {
            "type": "Elsa.Flowchart", "version": 1, "id": "checkFlow",
            "activities": [
              { "type": "Elsa.Start", "version": 1, "id": "checkStart" },
              { "type": "Elsa.WriteLine", "version": 1, "id": "checking",
                "text": { "typeName": "String", "expression": { "type": "JavaScript", "value": "'checking ' + getInput('Host')" } } },
              { "type": "Elsa.SetOutput", "version": 1, "id": "setLag",
                "outputName": { "typeName": "String", "expression": { "type": "Literal", "value": "Lag" } },
                "outputValue": { "typeName": "Object", "expression": { "type": "JavaScript", "value": "getInput('Host') === 'db2' ? 120 : 3" } } },
              { "type": "Elsa.FlowDecision", "version": 1, "id": "lagOk",
                "condition": { "typeName": "Boolean", "expression": { "type": "JavaScript", "value": "(getInput('Host') === 'db2' ? 120 : 3) <= getInput('MaxLag')" } } },
              { "type": "Elsa.Complete", "version": 1, "id": "healthy",
                "outcomes": { "typeName": "String[]", "expression": { "type": "Object", "value": "[\"Healthy\"]" } } },
              { "type": "Elsa.Complete", "version": 1, "id": "lagging",
                "outcomes": { "typeName": "String[]", "expression": { "type": "Object", "value": "[\"Lagging\"]" } } }
            ],
            "connections": [
              { "source": { "activity": "checkStart", "port": "Done" }, "target": { "activity": "checking", "port": "In" } },
              { "source": { "activity": "checking", "port": "Done" }, "target": { "activity": "setLag", "port": "In" } },
              { "source": { "activity": "setLag", "port": "Done" }, "target": { "activity": "lagOk", "port": "In" } },
              { "source": { "activity": "lagOk", "port": "True" }, "target": { "activity": "healthy", "port": "In" } },
              { "source": { "activity": "lagOk", "port": "False" }, "target": { "activity": "lagging", "port": "In" } }
            ]
          }
        }
        """;

    /// <summary>A parent using "Check Replica" as the activity type <c>CheckReplica</c>, as the Studio writes it.</summary>
    private static string Failover(string host) => $$"""
        {
          "definitionId": "failover-{{host}}",
          "name": "Failover",
          "variables": [ { "id": "v-host", "name": "Target", "typeName": "String", "isArray": false, "value": "{{host}}", "storageDriverTypeName": null } ],
          "inputs": [], "outputs": [], "outcomes": [], "customProperties": {},
          "options": { "autoUpdateConsumingWorkflows": false },
          "root": {
            "type": "Elsa.Flowchart", "version": 1, "id": "failFlow",
            "activities": [
              { "type": "Elsa.Start", "version": 1, "id": "start" },
              { "type": "CheckReplica", "version": 1, "id": "check", "name": "CheckReplica1",
                "workflowDefinitionId": "check-replica", "latestAvailablePublishedVersion": 1,
                "metadata": { "designer": { "position": { "x": 200, "y": 40 } } },
                "host": { "typeName": "String", "expression": { "type": "Variable", "value": "Target" } },
                "maxLag": { "typeName": "Int32", "expression": { "type": "Literal", "value": "10" } } },
              { "type": "Elsa.WriteLine", "version": 1, "id": "promote",
                "text": { "typeName": "String", "expression": { "type": "JavaScript", "value": "'promote ' + getVariable('Target') + ' (lag ' + getOutputFrom('check').Lag + ')'" } } },
              { "type": "Elsa.WriteLine", "version": 1, "id": "skip",
                "text": { "typeName": "String", "expression": { "type": "JavaScript", "value": "'skip ' + getVariable('Target') + ' (lag ' + getOutputFrom('CheckReplica1').Lag + ')'" } } }
            ],
            "connections": [
              { "source": { "activity": "start", "port": "Done" }, "target": { "activity": "check", "port": "In" } },
              { "source": { "activity": "check", "port": "Healthy" }, "target": { "activity": "promote", "port": "In" } },
              { "source": { "activity": "check", "port": "Lagging" }, "target": { "activity": "skip", "port": "In" } }
            ]
          }
        }
        """;

    [Theory]
    [InlineData("db1", "promote db1 (lag 3)")]
    [InlineData("db2", "skip db2 (lag 120)")]
    public async Task UsableAsActivity_RunsAsAnActivityTypeWithMappedInputsAndItsCompleteOutcomes(string target, string expected)
    {
        await using var host = CreateHost();
        await host.PublishAsync(CheckReplica, Ct);

        var descriptor = host.Registry.Find("CheckReplica");
        Assert.NotNull(descriptor);
        Assert.Equal("DR checks", descriptor.Category);
        Assert.Equal(["Host", "MaxLag"], descriptor.Inputs.Select(i => i.Name));

        var parent = await host.RunAsync(Failover(target), cancellationToken: Ct);
        await host.DrainAsync(Ct);

        AssertFinished(await ReloadAsync(host, parent.Id));
        Assert.Equal([$"checking {target}", expected], host.Output.Lines);
        var child = Assert.Single((await host.Instances.ListAsync(new InstanceQuery(ParentInstanceId: parent.Id), Ct)).Items);
        Assert.Equal("check-replica", child.DefinitionId);
        var childState = await ReloadAsync(host, child.Id);
        AssertJson(Str(target), childState.Input["Host"]);
        AssertJson("10", childState.Input["MaxLag"]);
    }

    [Fact]
    public async Task UsableAsActivity_IsKnownAfterRestart()
    {
        await using (var before = CreateHost())
            await before.PublishAsync(CheckReplica, Ct);

        await using var after = CreateHost();
        await after.Definitions.RegisterWorkflowActivitiesAsync(Ct);
        var parent = await after.RunAsync(Failover("db1"), cancellationToken: Ct);
        await after.DrainAsync(Ct);

        AssertFinished(await ReloadAsync(after, parent.Id));
        Assert.Equal(["checking db1", "promote db1 (lag 3)"], after.Output.Lines);
    }

    [Fact]
    public async Task UsableAsActivity_Retracted_IsNoLongerAnActivityType()
    {
        await using var host = CreateHost();
        await host.PublishAsync(CheckReplica, Ct);
        Assert.NotNull(host.Registry.Find("CheckReplica"));

        await host.Definitions.RetractAsync("check-replica", Ct);

        Assert.Null(host.Registry.Find("CheckReplica"));
        var error = await Assert.ThrowsAsync<Core.WorkflowDefinitionException>(() => host.PublishAsync(Failover("db1"), Ct));
        Assert.Equal("check", error.ActivityId);
    }

    [Fact]
    public async Task ExecuteWorkflow_ChildWaitingAcrossARestart_ResumesTheParentWhenItFinishes()
    {
        string parentId;
        DateTimeOffset stoppedAt;
        await using (var before = CreateHost())
        {
            await before.PublishAsync(Child("restart-greeter", "00:20:00"), Ct);
            var parent = await before.RunAsync(Parent("restart-caller", "restart-greeter", "true"), cancellationToken: Ct);
            await before.DrainAsync(Ct);
            parentId = parent.Id;
            stoppedAt = before.Clock.GetUtcNow();
        }

        await using var after = CreateHost(stoppedAt.AddMinutes(21));
        await after.DrainAsync(Ct);

        AssertFinished(await ReloadAsync(after, parentId));
        Assert.Equal(["child got Ada", "parent: {\"Greeting\":\"Hello Ada\"}"], after.Output.Lines);
    }

    /// <summary>
    /// "Sum numbers", marked usable as an activity the older way (top-level <c>usableAsActivity</c>): inputs A and B,
    /// output Sum mapped straight from a script's result (its memoryReference names the workflow output), output
    /// Note set by SetOutput, and an output named Name, which Elsa exposes as <c>_Name</c>.
    /// </summary>
    private static string SumNumbers(string sumScript = "getInput('A') + getInput('B')") => $$"""
        {
          "definitionId": "sum-numbers", "name": "Sum numbers", "version": 1, "toolVersion": "3.8.0",
          "usableAsActivity": true,
          "variables": [],
          "inputs": [ {{Argument("A", "Int32")}}, {{Argument("B", "Int32")}} ],
          "outputs": [ {{Argument("Sum", "Int32")}}, {{Argument("Note")}}, {{Argument("Name")}} ],
          "outcomes": [], "customProperties": {}, "options": { "autoUpdateConsumingWorkflows": false },
          "root": {{Flowchart("sumFlow", [
              Activity("Elsa.RunJavaScript", "add", $"\"script\": {Lit(sumScript)}, \"result\": {Bind("Sum")}"),
              Activity("Elsa.SetOutput", "note", $"\"outputName\": {Lit("Note")}, \"outputValue\": {Js("'sum of ' + getInput('A') + ' and ' + getInput('B')")}"),
              Activity("Elsa.SetOutput", "named", $"\"outputName\": {Lit("Name")}, \"outputValue\": {Lit("adder")}")],
              [Connect("add", "note"), Connect("note", "named")])}}
        }
        """;

    /// <summary>A parent using "Sum numbers" as <c>SumNumbers</c>: output Sum bound to the variable TheSum.</summary>
    private static string SumCaller(params string[] lines) => Definition("sum-caller", Sequence("callerSeq", [
            Activity("SumNumbers", "sum1", $$"""
                "name": "Sum1", "workflowDefinitionId": "sum-numbers",
                "a": {{Lit("4", "Int32")}}, "b": {{Js("2 + 3", "Int32")}}, "sum": {{Bind("v-sum", "Int32")}}
                """),
            .. lines.Select((script, i) => WriteLineJs($"line{i}", script))]),
        variables: [Variable("v-sum", "TheSum", "Int32", null)]);

    [Fact]
    public async Task UsableAsActivity_ExposesDeclaredOutputs_MapsThemToVariables_AndPascalizesTheTypeName()
    {
        await using var host = CreateHost();
        await host.PublishAsync(SumNumbers(), Ct);

        var descriptor = host.Registry.Find("SumNumbers");
        Assert.NotNull(descriptor);
        Assert.Equal(["A", "B"], descriptor.Inputs.Select(i => i.Name));
        Assert.Equal(["Sum", "Note", "_Name", "Result", "ChildInstanceId"], descriptor.Outputs.Select(o => o.Name));

        var parent = await host.RunAsync(SumCaller(
            "'Result: ' + getVariable('TheSum')",
            "getOutputFrom('sum1', 'Sum') + ' / ' + getOutputFrom('Sum1', 'Note') + ' / ' + getOutputFrom('sum1', '_Name')"), cancellationToken: Ct);
        await host.DrainAsync(Ct);

        var state = await ReloadAsync(host, parent.Id);
        AssertFinished(state);
        Assert.Equal(["Result: 9", "9 / sum of 4 and 5 / adder"], host.Output.Lines);
        AssertJson("9", OutputOf(state, "sum1", "Sum"));
        AssertJson("9", state.Variables["v-sum"]);
        var child = Assert.Single((await host.Instances.ListAsync(new InstanceQuery(ParentInstanceId: parent.Id), Ct)).Items);
        var childState = await ReloadAsync(host, child.Id);
        AssertJson("""{"Sum": 9, "Note": "sum of 4 and 5", "Name": "adder"}""", new System.Text.Json.Nodes.JsonObject(childState.Output.Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone()))));
    }

    [Fact]
    public async Task UsableAsActivity_ChildReadsItsInputsWithElsasAccessors()
    {
        await using var host = CreateHost();
        await host.PublishAsync(SumNumbers("getA() + getB()"), Ct);

        var parent = await host.RunAsync(SumCaller("`Result: ${getTheSum()} (${getSumFromSum1()})`"), cancellationToken: Ct);
        await host.DrainAsync(Ct);

        AssertFinished(await ReloadAsync(host, parent.Id));
        Assert.Equal(["Result: 9 (9)"], host.Output.Lines);
    }

    [Fact]
    public async Task UsableAsActivity_DeclaredResultOutput_ReplacesTheWholeOutputObject()
    {
        await using var host = CreateHost();
        await host.PublishAsync(Definition("doubler", Activity("Elsa.SetOutput", "set", $"\"outputName\": {Lit("Result")}, \"outputValue\": {Js("getInput('X') * 2")}"),
            inputs: [Argument("X", "Int32")], outputs: [Argument("Result", "Int32")], name: "Doubler", options: """{ "usableAsActivity": true }"""), Ct);

        var parent = await host.RunAsync(Definition("double-caller", Sequence("seq",
            Activity("Doubler", "twice", $"\"x\": {Lit("21", "Int32")}, \"result\": {Bind("v-r", "Int32")}"),
            WriteLineJs("say", "getOutputFrom('twice') + ' ' + getVariable('R')")),
            variables: [Variable("v-r", "R", "Int32", null)]), cancellationToken: Ct);
        await host.DrainAsync(Ct);

        AssertFinished(await ReloadAsync(host, parent.Id));
        Assert.Equal(["42 42"], host.Output.Lines);
    }

    /// <summary>"Greeter": a workflow used as an activity that says which version it is; <c>autoUpdateConsumingWorkflows</c> as given.</summary>
    private static string Greeter(string says, bool autoUpdate) => Definition("greeter-v", WriteLineJs("say", $"'{says} greets ' + getInput('Who')"),
        inputs: [Argument("Who")], name: "Greeter", options: $$"""{ "usableAsActivity": true, "autoUpdateConsumingWorkflows": {{(autoUpdate ? "true" : "false")}} }""");

    /// <summary>A parent using Greeter; <paramref name="pin"/> is the rest of the activity (<c>version</c>, <c>workflowDefinitionVersionId</c>), as the Studio or Elsa writes it.</summary>
    private static string GreeterCaller(string definitionId, string pin) => Definition(definitionId, Sequence("seq",
        $$"""{ "type": "Greeter", "id": "greet", "workflowDefinitionId": "greeter-v"{{pin}}, "who": {{Lit("Ada")}} }"""));

    private static Task<IReadOnlyList<StoredWorkflowDefinition>> VersionsAsync(WorkflowTestHost host, string definitionId) =>
        host.Services.GetRequiredService<IWorkflowDefinitionStore>().ListVersionsAsync(definitionId, Ct);

    /// <summary>Runs a caller to its end; returns it with the child version its journal says it chose (the Suspended entry's bookmark payload).</summary>
    private static async Task<(WorkflowState Parent, System.Text.Json.Nodes.JsonNode Choice)> RunCallerAsync(WorkflowTestHost host, string definitionId)
    {
        var parent = await host.StartAsync(definitionId, cancellationToken: Ct);
        await host.DrainAsync(Ct);
        var suspended = (await host.JournalAsync(parent.Id)).Single(e => e.ActivityId == "greet" && e.EventName == JournalEvents.Suspended);
        return (await ReloadAsync(host, parent.Id), suspended.Payload!["payload"]!);
    }

    [Fact]
    public async Task UsableAsActivity_WithoutAutoUpdate_TheParentKeepsRunningTheChildVersionItNames()
    {
        await using var host = CreateHost();
        var v1 = await host.PublishAsync(Greeter("v1", autoUpdate: false), Ct);
        await host.PublishAsync(GreeterCaller("pinned-by-id", $", \"version\": 1, \"workflowDefinitionVersionId\": \"{v1.Id}\""), Ct);
        await host.PublishAsync(GreeterCaller("pinned-by-number", ", \"version\": 1"), Ct);
        await host.PublishAsync(GreeterCaller("unpinned", string.Empty), Ct);
        await host.PublishAsync(GreeterCaller("pinned-to-a-missing-version", ", \"version\": 7"), Ct);
        var v2 = await host.PublishAsync(Greeter("v2", autoUpdate: false), Ct);
        Assert.Equal(2, v2.Version);

        var (byId, byIdChoice) = await RunCallerAsync(host, "pinned-by-id");
        var (byNumber, byNumberChoice) = await RunCallerAsync(host, "pinned-by-number");
        var (unpinned, unpinnedChoice) = await RunCallerAsync(host, "unpinned");
        var (missing, missingChoice) = await RunCallerAsync(host, "pinned-to-a-missing-version");

        foreach (var run in new[] { byId, byNumber, unpinned, missing })
            AssertFinished(run);
        Assert.Equal(["v1 greets Ada", "v1 greets Ada", "v2 greets Ada", "v2 greets Ada"], host.Output.Lines);
        AssertJson(Str(v1.Id), byIdChoice["childDefinitionVersionId"]);
        AssertJson("1", byNumberChoice["childVersion"]);
        AssertJson("2", unpinnedChoice["childVersion"]);
        Assert.Contains("version 7 does not exist", missingChoice["childVersionChosenBy"]!.GetValue<string>(), StringComparison.Ordinal);
        var child = Assert.Single((await host.Instances.ListAsync(new InstanceQuery(ParentInstanceId: byId.Id), Ct)).Items);
        Assert.Equal(v1.Id, (await ReloadAsync(host, child.Id)).DefinitionVersionId);
        Assert.Single(await VersionsAsync(host, "pinned-by-id"));
    }

    [Fact]
    public async Task UsableAsActivity_AutoUpdateConsumingWorkflows_PublishingV2GivesPublishedParentsANewVersionThatRunsIt()
    {
        await using var host = CreateHost();
        var v1 = await host.PublishAsync(Greeter("v1", autoUpdate: true), Ct);
        var pin = $", \"version\": 1, \"workflowDefinitionVersionId\": \"{v1.Id}\", \"latestAvailablePublishedVersion\": 1, \"latestAvailablePublishedVersionId\": \"{v1.Id}\"";
        await host.PublishAsync(GreeterCaller("published-caller", pin), Ct);
        await host.Definitions.SaveAsync(Core.Model.WorkflowDefinitionDocument.Parse(GreeterCaller("draft-caller", pin)), publish: false, "api", isReadonly: false, Ct);

        var updates = new List<ConsumerUpdate>();
        var v2 = await host.Definitions.SaveAsync(Core.Model.WorkflowDefinitionDocument.Parse(Greeter("v2", autoUpdate: true)), publish: true, "api", isReadonly: false, Ct, consumerUpdates: updates);

        Assert.Equal([new ConsumerUpdate("draft-caller", 1, false, null), new ConsumerUpdate("published-caller", 2, true, null)], updates);
        var published = (await host.Definitions.FindAsync("published-caller", VersionOptions.PublishedVersion, Ct))!;
        Assert.Equal(2, published.Version);
        Assert.Equal($"{WorkflowDefinitionService.AutoUpdatePrefix}{v2.Id}", published.Origin);
        var greet = System.Text.Json.Nodes.JsonNode.Parse(published.Json)!["root"]!["activities"]![0]!;
        AssertJson($$"""{"workflowDefinitionVersionId": "{{v2.Id}}", "latestAvailablePublishedVersion": 2, "latestAvailablePublishedVersionId": "{{v2.Id}}"}""",
            new System.Text.Json.Nodes.JsonObject { ["workflowDefinitionVersionId"] = greet["workflowDefinitionVersionId"]!.DeepClone(), ["latestAvailablePublishedVersion"] = greet["latestAvailablePublishedVersion"]!.DeepClone(), ["latestAvailablePublishedVersionId"] = greet["latestAvailablePublishedVersionId"]!.DeepClone() });
        var draft = Assert.Single(await VersionsAsync(host, "draft-caller"));
        Assert.False(draft.IsPublished);
        Assert.Contains(v2.Id, draft.Json, StringComparison.Ordinal);

        var (parent, choice) = await RunCallerAsync(host, "published-caller");

        AssertFinished(parent);
        Assert.Equal(["v2 greets Ada"], host.Output.Lines);
        AssertJson(Str(v2.Id), choice["childDefinitionVersionId"]);
        Assert.Equal(["draft-caller", "published-caller"], (await host.Definitions.FindConsumersAsync("greeter-v", Ct))!.Order(StringComparer.Ordinal));
        Assert.Equal(v2.Id, host.Registry.Find("Greeter")!.Properties["workflowDefinitionVersionId"] as string);
    }

    [Fact]
    public async Task UsableAsActivity_AutoUpdate_LeavesAFileDefinedConsumerAsItsFileSaysAndSaysWhy()
    {
        await using var host = CreateHost();
        var v1 = await host.PublishAsync(Greeter("v1", autoUpdate: true), Ct);
        await host.Definitions.SaveAsync(Core.Model.WorkflowDefinitionDocument.Parse(GreeterCaller("file-caller", $", \"version\": 1, \"workflowDefinitionVersionId\": \"{v1.Id}\"")),
            publish: true, "file:workflows/file-caller.json", isReadonly: true, Ct);

        var updates = new List<ConsumerUpdate>();
        await host.Definitions.SaveAsync(Core.Model.WorkflowDefinitionDocument.Parse(Greeter("v2", autoUpdate: true)), publish: true, "api", isReadonly: false, Ct, consumerUpdates: updates);

        var skipped = Assert.Single(updates);
        Assert.Equal("file-caller", skipped.DefinitionId);
        Assert.Null(skipped.Version);
        Assert.Contains("workflows/file-caller.json", skipped.SkippedBecause, StringComparison.Ordinal);
        Assert.Single(await VersionsAsync(host, "file-caller"));
        var (parent, _) = await RunCallerAsync(host, "file-caller");
        AssertFinished(parent);
        Assert.Equal(["v1 greets Ada"], host.Output.Lines);
    }

    [Fact]
    public async Task UsableAsActivity_ChildDeleted_RaisesAnIncidentNamingTheDefinitionAndTheVersion()
    {
        await using var host = CreateHost();
        var v1 = await host.PublishAsync(Greeter("v1", autoUpdate: false), Ct);
        await host.PublishAsync(GreeterCaller("orphan-caller", $", \"version\": 1, \"workflowDefinitionVersionId\": \"{v1.Id}\""), Ct);
        await host.Definitions.GetGraphAsync((await host.Definitions.FindAsync("orphan-caller", VersionOptions.PublishedVersion, Ct))!.Id, Ct);
        await host.Definitions.DeleteAsync("greeter-v", Ct);

        var parent = await host.StartAsync("orphan-caller", cancellationToken: Ct);
        await host.DrainAsync(Ct);

        var incident = AssertFaultedWithIncident(await ReloadAsync(host, parent.Id));
        Assert.Equal("greet", incident.ActivityId);
        Assert.Contains("'greeter-v'", incident.Message, StringComparison.Ordinal);
        Assert.Contains($"version id '{v1.Id}'", incident.Message, StringComparison.Ordinal);
        Assert.Empty(host.Output.Lines);
    }
}
