using System.Text.Json.Nodes;
using DrWorkflows.Activities;
using DrWorkflows.Core.Building;
using DrWorkflows.Core.Hosting;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// The GitOps check that runs on every pull request touching <c>workflows/</c>: every JSON file and every C#
/// workflow loads through the server's <see cref="WorkflowLoader"/> with zero errors, uses only activity types the
/// server knows, connects only ports its activities have, sets every required input, and round-trips unchanged.
/// </summary>
public sealed class WorkflowDefinitionTests
{
    private static readonly string[] ServerFields = ["id", "version", "isLatest", "isPublished", "isReadonly", "createdAt", "links", "toolVersion", "isSystem"];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> JsonFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(WorkflowFiles.Directory, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            data.Add(Path.GetRelativePath(WorkflowFiles.Directory, file));
        return data;
    }

    public static TheoryData<string> CodeWorkflows()
    {
        var data = new TheoryData<string>();
        foreach (var type in CodeWorkflowTypes())
            data.Add(type.FullName!);
        return data;
    }

    [Fact]
    public async Task Every_file_and_class_in_workflows_loads_through_the_loader_with_zero_errors()
    {
        await using var host = CreateHost();
        var loader = new WorkflowLoader(host.Definitions, Options.Create(WorkflowFiles.Sources()), NullLogger<WorkflowLoader>.Instance);

        var loaded = await loader.LoadAsync(Ct);

        Assert.Empty(loader.Errors.Select(e => e.Message));
        var files = JsonFiles().Count;
        var classes = CodeWorkflowTypes().Count;
        Assert.True(files >= 5, $"expected the JSON workflows next to the tests, found {files} in {WorkflowFiles.Directory}");
        Assert.True(classes >= 3, $"expected the C# workflows, found {classes}");
        Assert.Equal(files + classes, loaded);

        var definitions = (await host.Services.GetRequiredService<IWorkflowDefinitionStore>().ListAsync(new DefinitionQuery(VersionOptions.PublishedVersion, Take: 1000), Ct)).Items;
        Assert.Equal(loaded, definitions.Count);
        foreach (var definition in definitions)
        {
            var document = WorkflowDefinitionDocument.Parse(definition.Json);
            Assert.False(string.IsNullOrWhiteSpace(document.Name), $"{definition.DefinitionId} has no name");
            Assert.False(string.IsNullOrWhiteSpace(document.Description), $"{definition.DefinitionId} has no description");
            Assert.True(definition.IsReadonly, $"{definition.DefinitionId} loaded from {definition.Origin} must be read-only in the Studio");
            Assert.Matches("^[a-z0-9]+(-[a-z0-9]+)*$", definition.DefinitionId);
        }

        Assert.Equal(definitions.Count, definitions.Select(d => d.DefinitionId).Distinct(StringComparer.Ordinal).Count());

        // Loading the same files again (the next server start) adds no version.
        Assert.Equal(0, await loader.LoadAsync(Ct));
    }

    [Fact]
    public async Task Every_DR_scenario_runs_once_per_platform_and_the_backups_verification_and_drill_do_not()
    {
        await using var host = CreateHost();
        var definitions = await LoadShippedAsync(host);
        var once = definitions.Where(d => host.Definitions.GetGraph(d).OneRunPerPlatform).Select(d => d.DefinitionId).Order(StringComparer.Ordinal);

        Assert.Equal(
            ["dr-database-container-failure", "dr-docker-engine-failure", "dr-host-failover", "dr-ransomware-recovery", "dr-volume-corruption"],
            once);
    }

    /// <summary>Loads every shipped workflow (files and C#) the way the server does; returns the published definitions.</summary>
    private static async Task<IReadOnlyList<StoredWorkflowDefinition>> LoadShippedAsync(WorkflowTestHost host)
    {
        await new WorkflowLoader(host.Definitions, Options.Create(WorkflowFiles.Sources()), NullLogger<WorkflowLoader>.Instance).LoadAsync(Ct);
        return (await host.Services.GetRequiredService<IWorkflowDefinitionStore>().ListAsync(new DefinitionQuery(VersionOptions.PublishedVersion, Take: 1000), Ct)).Items;
    }

    [Fact]
    public async Task Every_shipped_workflow_holds_a_failed_step_for_an_operator_rather_than_ending_or_carrying_on_unattended()
    {
        await using var host = CreateHost();
        var definitions = await LoadShippedAsync(host);

        Assert.True(definitions.Count >= 8, $"expected the shipped workflows, found {definitions.Count}");
        var notHeld = definitions.Where(d => host.Definitions.GetGraph(d).IncidentStrategy != Core.Execution.IncidentStrategy.OperatorHold).Select(d => $"{d.DefinitionId} ({d.Origin})");
        Assert.Empty(notHeld);
    }

    [Theory]
    [MemberData(nameof(JsonFiles))]
    public async Task A_json_workflow_uses_known_activities_and_ports_sets_required_inputs_and_round_trips(string file)
    {
        await using var host = CreateHost();
        var text = await File.ReadAllTextAsync(Path.Combine(WorkflowFiles.Directory, file), Ct);
        var document = WorkflowDefinitionDocument.Parse(text, file);

        Lint(host.Registry, document.Root!, file);
        var stored = await host.Definitions.SaveAsync(document.Clone(), publish: true, "file:workflows/" + file, isReadonly: true, Ct);

        // What the Studio gets back is what was committed (plus the fields the server manages or adds).
        var expected = Strip((JsonObject)WorkflowDefinitionDocument.Parse(text).Normalize().Json.DeepClone());
        var actual = Strip(JsonNode.Parse(stored.Json)!.AsObject());
        Assert.True(JsonNode.DeepEquals(expected, actual), $"{file} does not round-trip:\nexpected {expected.ToJsonString()}\nactual   {actual.ToJsonString()}");
        host.Definitions.GetGraph(stored);
    }

    [Theory]
    [MemberData(nameof(CodeWorkflows))]
    public async Task A_csharp_workflow_uses_known_activities_and_ports_sets_required_inputs_and_round_trips(string typeName)
    {
        await using var host = CreateHost();
        var type = CodeWorkflowTypes().Single(t => t.FullName == typeName);
        var workflow = (ICodeWorkflow)Activator.CreateInstance(type)!;
        var builder = new WorkflowBuilder(workflow.DefinitionId, workflow.Name);
        workflow.Build(builder);
        var document = builder.Build(host.Registry);

        Lint(host.Registry, document.Root!, typeName);
        var graph = host.Definitions.Materializer.Materialize(document);
        var again = new ActivitySerializer(host.Registry).Serialize(graph.Root);
        Assert.True(JsonNode.DeepEquals(document.Root, again), $"{typeName}: the materialized workflow does not serialize back to the same JSON");
    }

    /// <summary>
    /// Readable in the Studio on a 1600×1000 screen: its canvas there is about 880 px wide and zoom-to-fit stops at
    /// 0.5, so a flowchart at most 3,520 px wide fits in two screen widths. Cards do not overlap, and the runbook
    /// reads top to bottom: an activity nothing leads to is in the top row, and most connections go downwards
    /// (the others close a loop, e.g. a retry).
    /// </summary>
    [Fact]
    public async Task Every_shipped_workflow_is_laid_out_top_to_bottom_within_two_screen_widths_without_overlaps()
    {
        await using var host = CreateHost();
        var definitions = await LoadShippedAsync(host);
        Assert.True(definitions.Count >= 10, $"expected the shipped workflows, found {definitions.Count}");
        foreach (var definition in definitions)
        {
            var root = JsonNode.Parse(definition.Json)!["root"]!.AsObject();
            if (root["type"]!.GetValue<string>() != "Elsa.Flowchart")
                continue;
            var cards = root["activities"]!.AsArray().Select(a => (Id: a!["id"]!.GetValue<string>(), At: FlowchartLayout.Position(a.AsObject()))).ToList();
            Assert.All(cards, c => Assert.True(c.At is not null, $"{definition.DefinitionId}: activity {c.Id} has no position"));
            var width = cards.Max(c => c.At!.Value.X) - cards.Min(c => c.At!.Value.X) + FlowchartLayout.NodeWidth;
            var widest = cards.GroupBy(c => c.At!.Value.Y).OrderByDescending(g => g.Count()).First();
            Assert.True(width <= 3520, $"{definition.DefinitionId} is {width:F0} px wide: more than two screen widths at the Studio's smallest zoom; its widest row (y {widest.Key}) holds {string.Join(", ", widest.Select(c => c.Id))}");
            foreach (var (a, b) in cards.SelectMany((a, i) => cards.Skip(i + 1).Select(b => (a, b))))
            {
                var apart = Math.Abs(a.At!.Value.X - b.At!.Value.X) >= FlowchartLayout.NodeWidth - 40 || Math.Abs(a.At.Value.Y - b.At!.Value.Y) >= FlowchartLayout.NodeHeight;
                Assert.True(apart, $"{definition.DefinitionId}: {a.Id} at {a.At} and {b.Id} at {b.At} overlap");
            }

            var at = cards.ToDictionary(c => c.Id, c => c.At!.Value);
            var connections = root["connections"]!.AsArray().Select(c => (From: c!["source"]!["activity"]!.GetValue<string>(), To: c["target"]!["activity"]!.GetValue<string>())).ToList();
            var top = cards.Min(c => c.At!.Value.Y);
            foreach (var entry in cards.Where(c => connections.All(k => k.To != c.Id)))
                Assert.True(entry.At!.Value.Y == top, $"{definition.DefinitionId}: {entry.Id}, which nothing leads to, is not in the top row");
            var down = connections.Count(c => at[c.To].Y > at[c.From].Y);
            Assert.True(down >= connections.Count * 0.9, $"{definition.DefinitionId}: only {down} of {connections.Count} connections go downwards");
        }
    }

    /// <summary>
    /// The progress reports of the C# DR scenarios (Slack thread, then the status page) are one step each, so the top
    /// level reads as the runbook's steps: no separate status page update next to a report.
    /// </summary>
    [Fact]
    public async Task The_progress_reports_of_the_DR_scenarios_are_one_step_each()
    {
        await using var host = CreateHost();
        var definitions = await LoadShippedAsync(host);
        var scenarios = new[] { DatabaseContainerFailure.Id, HostFailover.Id, RansomwareRecovery.Id };
        var activities = definitions.Where(d => scenarios.Contains(d.DefinitionId))
            .SelectMany(d => JsonNode.Parse(d.Json)!["root"]!["activities"]!.AsArray().Select(a => (Definition: d.DefinitionId, Id: a!["id"]!.GetValue<string>(), Type: a["type"]!.GetValue<string>())))
            .ToList();

        Assert.Equal(scenarios.Order(StringComparer.Ordinal), activities.Select(a => a.Definition).Distinct().Order(StringComparer.Ordinal));
        var reports = activities.Where(a => a.Type == "DrWorkflows.ReportIncidentProgress").ToList();
        Assert.Equal(16, reports.Count);
        Assert.All(reports, r => Assert.StartsWith("report", r.Id, StringComparison.Ordinal));
        Assert.DoesNotContain(activities, a => a.Id.EndsWith("StatusPage", StringComparison.Ordinal));
        Assert.DoesNotContain(activities, a => a.Type == "DrWorkflows.UpdateStatusPageIncident" && a.Id.StartsWith("report", StringComparison.Ordinal));
    }

    private static WorkflowTestHost CreateHost() =>
        WorkflowTestHost.Create(configure: services => services.AddActivities(typeof(ActivitiesAssembly).Assembly));

    private static List<Type> CodeWorkflowTypes() =>
        [.. typeof(WorkflowsAssembly).Assembly.GetTypes().Where(t => t is { IsClass: true, IsAbstract: false } && typeof(ICodeWorkflow).IsAssignableFrom(t)).OrderBy(t => t.FullName, StringComparer.Ordinal)];

    /// <summary>Every activity type is known, every required input set, every connection's port one its source has.</summary>
    private static void Lint(ActivityRegistry registry, JsonObject activity, string where)
    {
        var type = activity["type"]?.GetValue<string>() ?? throw new Xunit.Sdk.XunitException($"{where}: an activity without a type");
        var id = activity["id"]?.GetValue<string>();
        var descriptor = registry.Find(type);
        Assert.True(descriptor is not null, $"{where}: activity '{id}' has type '{type}', which the server does not know");
        foreach (var input in descriptor!.Inputs.Where(i => i.Required))
            Assert.True(activity[input.JsonName] is JsonObject or JsonValue, $"{where}: activity '{id}' ({type}) does not set its required input '{input.JsonName}'");

        if (activity["activities"] is JsonArray children)
        {
            var byId = children.OfType<JsonObject>().ToDictionary(c => c["id"]!.GetValue<string>(), StringComparer.Ordinal);
            foreach (var connection in (activity["connections"] as JsonArray ?? []).OfType<JsonObject>())
            {
                var sourceId = connection["source"]!["activity"]!.GetValue<string>();
                var port = connection["source"]!["port"]?.GetValue<string>() ?? "Done";
                Assert.True(byId.TryGetValue(sourceId, out var source), $"{where}: a connection starts at unknown activity '{sourceId}'");
                Assert.True(byId.ContainsKey(connection["target"]!["activity"]!.GetValue<string>()), $"{where}: a connection from '{sourceId}' ends at an unknown activity");
                var sourceDescriptor = registry.Find(source!["type"]!.GetValue<string>())!;
                var ports = sourceDescriptor.Outcomes.Append("Done").Append("Failed");
                Assert.True(sourceDescriptor.DynamicOutcomesInput is not null || ports.Contains(port, StringComparer.Ordinal),
                    $"{where}: connection from '{sourceId}' uses port '{port}', which {source["type"]} does not have ({string.Join(", ", sourceDescriptor.Outcomes)}; 'Failed' is the abandon port)");
            }

            foreach (var child in children.OfType<JsonObject>())
                Lint(registry, child, where);
        }

        foreach (var (_, value) in activity)
        {
            if (value is JsonObject nested && nested["type"] is JsonValue && nested.ContainsKey("id"))
                Lint(registry, nested, where);
        }
    }

    private static JsonObject Strip(JsonObject json)
    {
        foreach (var field in ServerFields)
            json.Remove(field);
        return json;
    }
}
