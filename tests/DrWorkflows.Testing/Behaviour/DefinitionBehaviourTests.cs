using System.Text.Json.Nodes;
using DrWorkflows.Core;
using DrWorkflows.Core.Activities.Flowchart;
using DrWorkflows.Core.Building;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Hosting;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Xunit;
using static DrWorkflows.Testing.Behaviour.ElsaJson;

namespace DrWorkflows.Testing.Behaviour;

/// <summary>
/// Definitions: Elsa's draft/publish versioning, clear errors for broken definitions, a lossless round trip of
/// the JSON, the workflows folder loader and workflows written in C#.
/// </summary>
public abstract class DefinitionBehaviourTests : BehaviourTestBase
{
    private static WorkflowDefinitionDocument Say(string definitionId, string text, string? name = null) =>
        WorkflowDefinitionDocument.Parse(Definition(definitionId, Sequence("seq", WriteLine("say", text), Activity("Tests.WaitForSignal", "gate")), name: name));

    private static Task<StoredWorkflowDefinition> SaveAsync(WorkflowTestHost host, WorkflowDefinitionDocument document, bool publish) =>
        host.Definitions.SaveAsync(document, publish, "api", isReadonly: false, Ct);

    [Fact]
    public async Task Versioning_FollowsElsa_DraftPublishThenANewDraftWhileTheOldVersionStaysPublished()
    {
        await using var host = CreateHost();

        var draft = await SaveAsync(host, Say("versioned", "v1 draft"), publish: false);
        Assert.Equal((1, true, false), (draft.Version, draft.IsLatest, draft.IsPublished));
        Assert.Null(await host.Definitions.FindAsync("versioned", VersionOptions.PublishedVersion, Ct));
        await Assert.ThrowsAsync<DefinitionNotFoundException>(() => StartAsync(host, "versioned"));

        var autoSaved = await SaveAsync(host, Say("versioned", "v1 text"), publish: false);
        Assert.Equal((draft.Id, 1), (autoSaved.Id, autoSaved.Version));
        Assert.Single(await host.Services.GetRequiredService<IWorkflowDefinitionStore>().ListVersionsAsync("versioned", Ct));

        var published = await host.Definitions.PublishAsync("versioned", Ct);
        Assert.Equal((draft.Id, 1, true, true), (published.Id, published.Version, published.IsLatest, published.IsPublished));
        var runOfV1 = await StartAsync(host, "versioned");
        Assert.Equal(1, runOfV1.DefinitionVersion);

        var v2 = await SaveAsync(host, Say("versioned", "v2 text"), publish: false);
        Assert.Equal((2, true, false), (v2.Version, v2.IsLatest, v2.IsPublished));
        var v1 = await host.Definitions.FindAsync("versioned", VersionOptions.SpecificVersion(1), Ct);
        Assert.Equal((false, true), (v1!.IsLatest, v1.IsPublished));
        AssertFlagsInJson(v1);
        AssertFlagsInJson(v2);
        Assert.Equal(1, (await StartAsync(host, "versioned")).DefinitionVersion);

        var v2Published = await host.Definitions.PublishAsync("versioned", Ct);
        Assert.Equal((2, true, true), (v2Published.Version, v2Published.IsLatest, v2Published.IsPublished));
        v1 = await host.Definitions.FindAsync("versioned", VersionOptions.SpecificVersion(1), Ct);
        Assert.Equal((false, false), (v1!.IsLatest, v1.IsPublished));
        AssertFlagsInJson(v1);
        Assert.Equal(2, (await StartAsync(host, "versioned")).DefinitionVersion);

        // A run keeps the version it started on.
        var bookmark = Assert.Single(await BookmarksAsync(host, runOfV1.Id));
        await host.Runtime.ResumeAsync(bookmark.Id, null, "test", Ct);
        AssertFinished(await ReloadAsync(host, runOfV1.Id));
        Assert.Equal(["v1 text", "v1 text", "v2 text"], host.Output.Lines);
    }

    private static void AssertFlagsInJson(StoredWorkflowDefinition stored)
    {
        var json = JsonNode.Parse(stored.Json)!;
        Assert.Equal(stored.Id, json["id"]!.GetValue<string>());
        Assert.Equal(stored.Version, json["version"]!.GetValue<int>());
        Assert.Equal(stored.IsLatest, json["isLatest"]!.GetValue<bool>());
        Assert.Equal(stored.IsPublished, json["isPublished"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Retract_LeavesNoPublishedVersionToStart()
    {
        await using var host = CreateHost();
        await SaveAsync(host, Say("retracted", "hello"), publish: true);

        var retracted = await host.Definitions.RetractAsync("retracted", Ct);

        Assert.False(retracted.IsPublished);
        Assert.Null(await host.Definitions.FindAsync("retracted", VersionOptions.PublishedVersion, Ct));
        Assert.NotNull(await host.Definitions.FindAsync("retracted", VersionOptions.LatestVersion, Ct));
        var error = await Assert.ThrowsAsync<DefinitionNotFoundException>(() => StartAsync(host, "retracted"));
        Assert.Contains("retracted", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delete_RemovesEveryVersion()
    {
        await using var host = CreateHost();
        await SaveAsync(host, Say("deleted", "one"), publish: true);
        await SaveAsync(host, Say("deleted", "two"), publish: false);

        var count = await host.Definitions.DeleteAsync("deleted", Ct);

        Assert.Equal(2, count);
        Assert.Null(await host.Definitions.FindAsync("deleted", VersionOptions.LatestVersion, Ct));
        Assert.Empty(await host.Services.GetRequiredService<IWorkflowDefinitionStore>().ListVersionsAsync("deleted", Ct));
    }

    [Fact]
    public async Task UnknownActivityType_IsRefusedWithTheActivityIdAndASuggestion()
    {
        await using var host = CreateHost();
        var json = Definition("unknown-type", Sequence("seq", WriteLine("step1", "ok"), Activity("WriteLine", "step2")));

        var error = await Assert.ThrowsAsync<WorkflowDefinitionException>(() => host.PublishAsync(json, Ct));

        Assert.Equal("step2", error.ActivityId);
        Assert.Contains("'step2'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'WriteLine'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'Elsa.WriteLine'", error.Message, StringComparison.Ordinal);
        Assert.Null(await host.Definitions.FindAsync("unknown-type", VersionOptions.LatestVersion, Ct));
    }

    [Fact]
    public async Task MisspelledActivityType_GetsTheClosestKnownTypeAsSuggestion()
    {
        await using var host = CreateHost();
        var json = Definition("misspelled", Activity("Elsa.WritLine", "step1"));

        var error = await Assert.ThrowsAsync<WorkflowDefinitionException>(() => host.PublishAsync(json, Ct));

        Assert.Equal("step1", error.ActivityId);
        Assert.Contains("'Elsa.WriteLine'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BrokenJson_IsRefusedWithTheLineNumber()
    {
        const string broken = """
            {
              "definitionId": "broken",
              "name": "Broken",
              "root": { "type": "Elsa.Sequence", "id": "seq" "activities": [] }
            }
            """;

        var error = Assert.Throws<WorkflowDefinitionException>(() => WorkflowDefinitionDocument.Parse(broken, "workflows/broken.json"));

        Assert.Contains("line 4", error.Message, StringComparison.Ordinal);
        Assert.Contains("workflows/broken.json", error.Message, StringComparison.Ordinal);
        Assert.Equal("workflows/broken.json", error.FilePath);
    }

    [Fact]
    public async Task ConnectionToAMissingActivity_IsRefusedNamingTheFlowchart()
    {
        await using var host = CreateHost();
        var json = Definition("bad-connection", Flowchart("flow1", [Start()], [Connect("start", "ghost")]));

        var error = await Assert.ThrowsAsync<WorkflowDefinitionException>(() => host.PublishAsync(json, Ct));

        Assert.Equal("flow1", error.ActivityId);
        Assert.Contains("'ghost'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DuplicateActivityIds_AreRefused()
    {
        await using var host = CreateHost();
        var json = Definition("duplicates", Sequence("seq", WriteLine("same", "a"), WriteLine("same", "b")));

        var error = await Assert.ThrowsAsync<WorkflowDefinitionException>(() => host.PublishAsync(json, Ct));

        Assert.Equal("same", error.ActivityId);
    }

    /// <summary>A definition as Elsa Studio 3.8 saves it, plus properties DrWorkflows does not know.</summary>
    private const string StudioDocument = """
        {
          "definitionId": "round-trip",
          "name": "Round trip",
          "description": "Everything the Studio writes, and more",
          "toolVersion": "3.8.0",
          "isReadonly": false,
          "isSystem": false,
          "materializerName": "Json",
          "x-team": { "owner": "platform", "tags": ["dr", "db"], "reviewed": true, "score": 4.5 },
          "variables": [
            { "id": "v1", "name": "Target", "typeName": "String", "isArray": false, "value": "db1", "storageDriverTypeName": "Elsa.Workflows.WorkflowInstanceStorageDriver, Elsa.Workflows.Core" }
          ],
          "inputs": [ { "type": "String", "name": "Region", "displayName": "Region", "description": "", "category": "Primitives", "uiHint": "singleline", "storageDriverType": null, "isArray": false } ],
          "outputs": [ { "type": "Object", "name": "Report", "displayName": "Report", "description": "", "category": "Primitives", "isArray": false } ],
          "outcomes": [ "Done", "Failed" ],
          "customProperties": {
            "VariableTestValues": { "v1": "db9" },
            "logPersistenceConfig": { "default": { "evaluationMode": "Strategy", "strategyType": "Elsa.Workflows.LogPersistence.Strategies.Include, Elsa.Workflows.Core", "expression": null } }
          },
          "options": { "activationStrategyType": "Elsa.Workflows.Activities.ActivationStrategies.AllowAlwaysStrategy, Elsa.Workflows.Core", "usableAsActivity": false, "autoUpdateConsumingWorkflows": false, "activityCategory": "Workflows", "incidentStrategyType": null, "commitStrategyName": null },
          "root": {
            "type": "Elsa.Flowchart", "version": 1, "id": "flow1", "nodeId": "Workflow1:flow1", "name": "Flowchart1",
            "metadata": { "designer": { "zoom": 0.85, "viewport": { "x": -120.5, "y": 40 } } },
            "customProperties": { "notFoundConnections": [], "source": "FlowchartJsonConverter.cs:45" },
            "futureFlowchartProperty": { "anything": [1, "two", null, false] },
            "activities": [
              { "type": "Elsa.Start", "version": 1, "id": "start", "nodeId": "Workflow1:flow1:start", "name": "Start1",
                "customProperties": { "canStartWorkflow": false, "runAsynchronously": false },
                "metadata": { "designer": { "position": { "x": -40.25, "y": 110 }, "size": { "width": 102.5, "height": 50 } }, "displayText": "Begin" } },
              { "type": "Elsa.WriteLine", "version": 1, "id": "announce", "name": "WriteLine1",
                "customProperties": { "mergeMode": "Stream", "myTeamFlag": true },
                "metadata": { "designer": { "position": { "x": 220, "y": 110 } }, "description": "Tell the world", "showDescription": true },
                "text": { "typeName": "String", "expression": { "type": "JavaScript", "value": "'restoring ' + getVariable('Target')" }, "memoryReference": null },
                "someFutureInput": { "typeName": "Int32", "expression": { "type": "Literal", "value": "5" } },
                "unknownActivityProperty": "kept as is" },
              { "type": "Elsa.FlowDecision", "version": 1, "id": "decide", "nodeId": "Workflow1:flow1:decide",
                "condition": { "typeName": null, "expression": { "type": "Literal", "value": "true" }, "memoryReference": null },
                "metadata": { "designer": { "position": { "x": 480, "y": 110 } } } }
            ],
            "connections": [
              { "source": { "activity": "start", "port": "Done" }, "target": { "activity": "announce", "port": "In" }, "vertices": [] },
              { "source": { "activity": "announce", "port": "Done" }, "target": { "activity": "decide", "port": "In" }, "vertices": [ { "x": 350, "y": 80 }, { "x": 400, "y": 95.5 } ] }
            ]
          }
        }
        """;

    private static readonly string[] ServerManaged = ["id", "version", "isLatest", "isPublished", "createdAt"];

    private static JsonObject WithoutServerFields(string json)
    {
        var node = JsonNode.Parse(json)!.AsObject();
        foreach (var field in ServerManaged)
            node.Remove(field);
        return node;
    }

    [Fact]
    public async Task RoundTrip_KeepsEveryPropertyItDoesNotUnderstand()
    {
        await using var host = CreateHost();

        await SaveAsync(host, WorkflowDefinitionDocument.Parse(StudioDocument), publish: false);
        var stored = await host.Definitions.FindAsync("round-trip", VersionOptions.LatestVersion, Ct);

        Assert.NotNull(stored);
        var returned = WithoutServerFields(stored.Json);
        var announce = returned["root"]!["activities"]![1]!.AsObject();
        Assert.Equal("Workflow1:flow1:announce", announce["nodeId"]!.GetValue<string>());
        announce.Remove("nodeId");
        var original = WithoutServerFields(StudioDocument);
        Assert.True(JsonNode.DeepEquals(original, returned), $"The stored definition differs from what was saved.\nSaved:    {original.ToJsonString()}\nReturned: {returned.ToJsonString()}");
    }

    [Fact]
    public async Task RoundTrip_SavingWhatWasReturned_ChangesNothingButTheServerFields()
    {
        await using var host = CreateHost();
        var first = await SaveAsync(host, WorkflowDefinitionDocument.Parse(StudioDocument), publish: true);

        var second = await SaveAsync(host, WorkflowDefinitionDocument.Parse(first.Json), publish: false);
        var third = await SaveAsync(host, WorkflowDefinitionDocument.Parse(second.Json), publish: false);

        Assert.Equal((1, 2, 2), (first.Version, second.Version, third.Version));
        Assert.True(JsonNode.DeepEquals(WithoutServerFields(first.Json), WithoutServerFields(third.Json)));
        var reloaded = await host.Definitions.FindByIdAsync(third.Id, Ct);
        Assert.True(JsonNode.DeepEquals(WithoutServerFields(first.Json), WithoutServerFields(reloaded!.Json)));
    }

    [Fact]
    public async Task RoundTrip_TheStoredDocumentStillRuns()
    {
        await using var host = CreateHost();
        await SaveAsync(host, WorkflowDefinitionDocument.Parse(StudioDocument), publish: true);

        var state = await StartAsync(host, "round-trip");

        AssertFinished(state);
        Assert.Equal(["restoring db1"], host.Output.Lines);
    }

    private WorkflowLoader Loader(WorkflowTestHost host, string directory, bool withCode = false)
    {
        var options = new WorkflowSourceOptions { Directory = directory };
        if (withCode)
            options.CodeAssemblies.Add(typeof(GreetingCodeWorkflow).Assembly);
        return new WorkflowLoader(host.Definitions, Options.Create(options), NullLogger<WorkflowLoader>.Instance);
    }

    [Fact]
    public async Task Loader_LoadsTheGoodFilesAndReportsTheBrokenOnesWithPathAndActivityId()
    {
        using var folder = new TempDirectory("workflows");
        Directory.CreateDirectory(folder.Combine("restore"));
        await File.WriteAllTextAsync(folder.Combine("good.json"), Definition("good", WriteLine("hello", "hello from a file")), Ct);
        await File.WriteAllTextAsync(folder.Combine("restore", "broken.json"), Definition("broken", Sequence("seq", WriteLine("fine", "x"), Activity("Elsa.NoSuchThing", "badStep"))), Ct);
        await File.WriteAllTextAsync(folder.Combine("syntax.json"), "{ \"definitionId\": \"syntax\",\n  \"root\": [ }", Ct);
        await using var host = CreateHost();
        var loader = Loader(host, folder.FullPath);

        var loaded = await loader.LoadAsync(Ct);

        Assert.Equal(1, loaded);
        Assert.Equal(2, loader.Errors.Count);
        var broken = Assert.Single(loader.Errors, e => e.Source == "workflows/restore/broken.json");
        Assert.Equal("badStep", broken.ActivityId);
        Assert.Contains("workflows/restore/broken.json", broken.Message, StringComparison.Ordinal);
        Assert.Contains("'badStep'", broken.Message, StringComparison.Ordinal);
        Assert.Contains("Elsa.NoSuchThing", broken.Message, StringComparison.Ordinal);
        var syntax = Assert.Single(loader.Errors, e => e.Source == "workflows/syntax.json");
        Assert.Contains("line 2", syntax.Message, StringComparison.Ordinal);
        var good = await host.Definitions.FindAsync("good", VersionOptions.PublishedVersion, Ct);
        Assert.NotNull(good);
        Assert.True(good.IsReadonly);
        Assert.Equal("file:workflows/good.json", good.Origin);
        Assert.Null(await host.Definitions.FindAsync("broken", VersionOptions.LatestVersion, Ct));
        AssertFinished(await StartAsync(host, "good"));
        Assert.Equal(["hello from a file"], host.Output.Lines);
    }

    [Theory]
    [InlineData("\"id\": 7, \"type\": \"Elsa.WriteLine\"", "7")]
    [InlineData("\"id\": \"say\", \"type\": \"Elsa.WriteLine\", \"version\": \"one\"", "say")]
    [InlineData("\"id\": \"say\", \"type\": [\"Elsa.WriteLine\"]", "say")]
    [InlineData("\"id\": \"say\", \"type\": \"Elsa.WriteLine\", \"text\": { \"expression\": { \"type\": 5, \"value\": \"x\" } }", "say")]
    public async Task Loader_MistypedPropertyInAFile_IsReportedAndTheOtherFilesLoad(string activity, string reportedId)
    {
        using var folder = new TempDirectory("workflows");
        await File.WriteAllTextAsync(folder.Combine("good.json"), Definition("good", WriteLine("hello", "hello")), Ct);
        await File.WriteAllTextAsync(folder.Combine("mistyped.json"), Definition("mistyped", Sequence("seq", "{ " + activity + " }")), Ct);
        await using var host = CreateHost();
        var loader = Loader(host, folder.FullPath);

        var loaded = await loader.LoadAsync(Ct);

        Assert.Equal(1, loaded);
        var error = Assert.Single(loader.Errors);
        Assert.Equal("workflows/mistyped.json", error.Source);
        Assert.Contains(reportedId, error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<WorkflowDefinitionException>(() => host.PublishAsync(Definition("mistyped-api", Sequence("seq", "{ " + activity + " }")), Ct));
    }

    [Fact]
    public async Task Loader_AFileUsingAWorkflowActivityLoadsWhateverTheFileOrder()
    {
        using var folder = new TempDirectory("workflows");
        var reusable = Definition("notify-team", WriteLineJs("say", "'notify ' + getInput('Team')"),
            inputs: [Argument("Team")], name: "Notify Team", options: """{ "usableAsActivity": true }""");
        var consumer = Definition("uses-notify", Activity("NotifyTeam", "notify", $"\"team\": {Lit("dba")}"));
        await File.WriteAllTextAsync(folder.Combine("a-uses-notify.json"), consumer, Ct);
        await File.WriteAllTextAsync(folder.Combine("b-notify-team.json"), reusable, Ct);

        await using (var first = CreateHost())
        {
            var loader = Loader(first, folder.FullPath);
            Assert.Equal(2, await loader.LoadAsync(Ct));
            Assert.Empty(loader.Errors);
        }

        // After a restart the stored workflow activity is known before the changed consumer is loaded.
        await File.WriteAllTextAsync(folder.Combine("a-uses-notify.json"), consumer.Replace("\"dba\"", "\"sre\"", StringComparison.Ordinal), Ct);
        await using var second = CreateHost();
        var again = Loader(second, folder.FullPath);
        Assert.Equal(1, await again.LoadAsync(Ct));
        Assert.Empty(again.Errors);
        var state = await StartAsync(second, "uses-notify");
        await second.DrainAsync(Ct);
        AssertFinished(await ReloadAsync(second, state.Id));
        Assert.Equal(["notify sre"], second.Output.Lines);
    }

    [Fact]
    public async Task Loader_ChangedFileBecomesANewVersionAndAnUnchangedFileDoesNot()
    {
        using var folder = new TempDirectory("workflows");
        var file = folder.Combine("greet.json");
        await File.WriteAllTextAsync(file, Definition("greet", WriteLine("hello", "first text")), Ct);
        await using var host = CreateHost();
        var loader = Loader(host, folder.FullPath);

        Assert.Equal(1, await loader.LoadAsync(Ct));
        Assert.Equal(0, await loader.LoadAsync(Ct));
        await File.WriteAllTextAsync(file, Definition("greet", WriteLine("hello", "second text")), Ct);
        Assert.Equal(1, await loader.LoadAsync(Ct));

        Assert.Empty(loader.Errors);
        var published = await host.Definitions.FindAsync("greet", VersionOptions.PublishedVersion, Ct);
        Assert.Equal(2, published!.Version);
        Assert.False((await host.Definitions.FindAsync("greet", VersionOptions.SpecificVersion(1), Ct))!.IsPublished);
        AssertFinished(await StartAsync(host, "greet"));
        Assert.Equal(["second text"], host.Output.Lines);
    }

    [Fact]
    public async Task Loader_FileDefinitionsAreReadOnlyForTheApi()
    {
        using var folder = new TempDirectory("workflows");
        await File.WriteAllTextAsync(folder.Combine("locked.json"), Definition("locked", WriteLine("hello", "x")), Ct);
        await using var host = CreateHost();
        await Loader(host, folder.FullPath).LoadAsync(Ct);

        var error = await Assert.ThrowsAsync<DefinitionReadOnlyException>(() => SaveAsync(host, Say("locked", "edited in the Studio"), publish: true));

        Assert.Contains("workflows/locked.json", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Loader_FileReusingTheIdOfAStudioDefinition_IsReportedAndNotLoaded()
    {
        using var folder = new TempDirectory("workflows");
        await File.WriteAllTextAsync(folder.Combine("clash.json"), Definition("clash", WriteLine("hello", "from file")), Ct);
        await using var host = CreateHost();
        await SaveAsync(host, Say("clash", "from the Studio"), publish: true);
        var loader = Loader(host, folder.FullPath);

        Assert.Equal(0, await loader.LoadAsync(Ct));

        var error = Assert.Single(loader.Errors);
        Assert.Equal("workflows/clash.json", error.Source);
        Assert.Contains("clash", error.Message, StringComparison.Ordinal);
        Assert.Equal("api", (await host.Definitions.FindAsync("clash", VersionOptions.LatestVersion, Ct))!.Origin);
    }

    [Fact]
    public async Task CodeWorkflow_BuiltWithTheBuilder_IsLoadedAndRuns()
    {
        using var folder = new TempDirectory("workflows");
        await using var host = CreateHost();
        var loader = Loader(host, folder.FullPath, withCode: true);

        Assert.Equal(1, await loader.LoadAsync(Ct));

        Assert.Empty(loader.Errors);
        var stored = await host.Definitions.FindAsync(GreetingCodeWorkflow.Id, VersionOptions.PublishedVersion, Ct);
        Assert.NotNull(stored);
        Assert.Equal($"code:{typeof(GreetingCodeWorkflow).FullName}", stored.Origin);
        Assert.True(stored.IsReadonly);
        var state = await StartAsync(host, GreetingCodeWorkflow.Id, new Dictionary<string, JsonNode?> { ["Greeting"] = "hi" });
        AssertFinished(state);
        Assert.Equal(["hi world", "the whole world"], host.Output.Lines);
        Assert.Equal(0, await loader.LoadAsync(Ct));
    }

    [Fact]
    public async Task CodeWorkflow_JsonRoundTripsThroughTheMaterializer()
    {
        await using var host = CreateHost();
        var builder = new WorkflowBuilder(GreetingCodeWorkflow.Id, "Code greeting");
        new GreetingCodeWorkflow().Build(builder);

        var document = builder.Build(host.Registry);
        var graph = host.Definitions.Materializer.Materialize(WorkflowDefinitionDocument.Parse(document.ToJsonString()));
        var written = new ActivitySerializer(host.Registry).Serialize(graph.Root);

        Assert.True(JsonNode.DeepEquals(document.Root, written), $"Built:      {document.Root?.ToJsonString()}\nRe-written: {written.ToJsonString()}");
        var flowchart = Assert.IsType<Flowchart>(graph.Root);
        Assert.Equal(5, flowchart.Activities.Count);
        Assert.Equal(4, flowchart.Connections.Count);
        Assert.All(flowchart.Activities, a => Assert.NotNull(a.Metadata["designer"]?["position"]));
        Assert.Equal("world", graph.FindVariable("Who")?.Value?.GetValue<string>());
    }

    [Fact]
    public async Task AnIncidentStrategyThatIsNoneOfTheThree_IsRefusedAtSave_NamingTheOptionTheChoicesAndTheDocEntry()
    {
        await using var host = CreateHost();
        const string strategy = "My.Company.RetryForeverStrategy, My.Company";
        var json = Definition("strategy-unknown", WriteLine("say", "hi"), options: $$"""{ "incidentStrategyType": "{{strategy}}" }""");

        var error = await Assert.ThrowsAsync<WorkflowDefinitionException>(() => host.Definitions.SaveAsync(WorkflowDefinitionDocument.Parse(json), publish: false, "api", isReadonly: false, Ct));

        Assert.Contains(strategy, error.Message, StringComparison.Ordinal);
        Assert.Contains("incidentStrategyType", error.Message, StringComparison.Ordinal);
        Assert.Contains(IncidentStrategies.FaultType, error.Message, StringComparison.Ordinal);
        Assert.Contains("elsa-compatibility.md", error.Message, StringComparison.Ordinal);
        Assert.Null(await host.Definitions.FindAsync("strategy-unknown", VersionOptions.LatestVersion, Ct));
    }

    [Theory]
    [InlineData("Elsa.Workflows.IncidentStrategies.FaultStrategy, Elsa.Workflows.Core", IncidentStrategy.Fault)]
    [InlineData("Elsa.Workflows.IncidentStrategies.FaultStrategy", IncidentStrategy.Fault)]
    [InlineData("Elsa.Workflows.IncidentStrategies.ContinueWithIncidentsStrategy, Elsa.Workflows.Core", IncidentStrategy.ContinueWithIncidents)]
    [InlineData(null, IncidentStrategy.OperatorHold)]
    public async Task ElsasIncidentStrategies_AreAccepted_AndTheHoldIsTheDefault(string? type, IncidentStrategy expected)
    {
        await using var host = CreateHost();
        var options = type is null ? """{ "incidentStrategyType": null }""" : $$"""{ "incidentStrategyType": "{{type}}" }""";

        var stored = await host.PublishAsync(Definition("strategy-" + expected, WriteLine("say", "hi"), options: options), Ct);

        Assert.Equal(expected, host.Definitions.GetGraph(stored).IncidentStrategy);
    }

    [Fact]
    public async Task TheOperatorHoldIncidentStrategy_IsAccepted()
    {
        await using var host = CreateHost();

        var stored = await host.PublishAsync(Definition("strategy-hold", WriteLine("say", "hi"), options: $$"""{ "incidentStrategyType": "{{WorkflowDefinitionService.OperatorHoldIncidentStrategy}}" }"""), Ct);

        Assert.True(stored.IsPublished);
    }
}
