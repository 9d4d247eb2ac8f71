using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Model;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Server.Tests.Studio;

/// <summary>
/// The descriptor routes the Studio needs to render (E2–E8 and the tab-triggered ones), the generated activity
/// descriptors (every registered activity, fitting editors, ports), features, and the 404 fallback.
/// </summary>
/// <remarks>
/// One server for the class (<see cref="SharedServerFactory"/>): the tests only read descriptors, except the one that
/// publishes a workflow usable as an activity, which starts a server of its own so that the others see the stock list.
/// </remarks>
public sealed class StudioDescriptorApiTests(SharedServerFactory shared) : IClassFixture<SharedServerFactory>, IDisposable
{
    private readonly ServerFactory server = shared.Factory;
    private readonly HttpClient viewer = shared.Factory.Client(ServerFactory.ViewerKey);

    public void Dispose() => viewer.Dispose();

    [Theory]
    [InlineData("/elsa/api/descriptors/activities?Refresh=True", true)]
    [InlineData("/elsa/api/descriptors/expression-descriptors", true)]
    [InlineData("/elsa/api/descriptors/workflow-activation-strategies", true)]
    [InlineData("/elsa/api/descriptors/log-persistence-strategies", true)]
    [InlineData("/elsa/api/descriptors/incident-strategies", true)]
    [InlineData("/elsa/api/descriptors/commit-strategies/workflows", true)]
    [InlineData("/elsa/api/descriptors/commit-strategies/activities", true)]
    [InlineData("/elsa/api/features/installed", true)]
    [InlineData("/elsa/api/descriptors/storage-drivers", false)]
    [InlineData("/elsa/api/descriptors/variables", false)]
    [InlineData("/elsa/api/descriptors/output-converters?sourceType=Object&destinationType=String", false)]
    public async Task Every_descriptor_list_the_studio_loads_answers_for_a_viewer(string path, bool hasCount)
    {
        var (status, body, _) = await viewer.GetJsonAsync(path);

        Assert.Equal(HttpStatusCode.OK, status);
        var items = body!["items"]!.AsArray();
        Assert.DoesNotContain(items, i => i is null);
        if (hasCount)
            Assert.Equal(items.Count, body["count"]!.GetValue<int>());
        if (!path.Contains("features", StringComparison.Ordinal) && !path.Contains("output-converters", StringComparison.Ordinal))
            Assert.NotEmpty(items);
    }

    [Fact]
    public async Task Incident_strategies_name_the_hold_first_then_Elsas_fault_and_continue()
    {
        var items = (await viewer.GetJsonAsync("/elsa/api/descriptors/incident-strategies")).Body!["items"]!.AsArray();

        Assert.Equal(
            [Core.Execution.IncidentStrategies.OperatorHoldType, Core.Execution.IncidentStrategies.FaultType, Core.Execution.IncidentStrategies.ContinueWithIncidentsType],
            items.Select(i => i!["typeName"]!.GetValue<string>()));
        Assert.Contains("DR default", items[0]!["displayName"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.All(items, i => Assert.False(string.IsNullOrWhiteSpace(i!["description"]?.GetValue<string>())));
    }

    [Fact]
    public async Task Expression_descriptors_have_string_properties_and_literal_first()
    {
        var items = (await viewer.GetJsonAsync("/elsa/api/descriptors/expression-descriptors")).Body!["items"]!.AsArray();
        Assert.Equal("Literal", items[0]!["type"]!.GetValue<string>());
        Assert.Contains(items, i => i!["type"]!.GetValue<string>() == "JavaScript" && i["properties"]!["MonacoLanguage"]!.GetValue<string>() == "javascript");
        Assert.All(items, i => Assert.All(i!["properties"]!.AsObject(), p => Assert.Equal(System.Text.Json.JsonValueKind.String, p.Value!.GetValueKind())));
    }

    [Fact]
    public async Task Every_registered_activity_is_described_once_with_what_the_studio_requires()
    {
        var registry = server.Services.GetRequiredService<ActivityRegistry>();
        var items = (await viewer.GetJsonAsync("/elsa/api/descriptors/activities?Refresh=True")).Body!["items"]!.AsArray().Select(i => i!.AsObject()).ToList();

        Assert.Equal(items.Count, items.Select(i => (i["typeName"]!.GetValue<string>(), i["version"]!.GetValue<int>())).Distinct().Count());
        foreach (var descriptor in registry.All)
            Assert.Contains(items, i => i["typeName"]!.GetValue<string>() == descriptor.TypeName);
        foreach (var item in items)
        {
            var type = item["typeName"]!.GetValue<string>();
            Assert.False(string.IsNullOrEmpty(item["name"]?.GetValue<string>()), type);
            Assert.False(string.IsNullOrEmpty(item["category"]?.GetValue<string>()), type);
            Assert.False(string.IsNullOrEmpty(item["displayName"]?.GetValue<string>()), type);
            Assert.Contains(item["kind"]!.GetValue<string>(), (string[])["Action", "Trigger", "Task", "Job"]);
            foreach (var input in item["inputs"]!.AsArray())
            {
                Assert.True(input!["isBrowsable"]!.GetValue<bool>(), $"{type}.{input["name"]}");
                Assert.False(string.IsNullOrEmpty(input["uiHint"]?.GetValue<string>()), $"{type}.{input["name"]}");
                Assert.False(string.IsNullOrEmpty(input["typeName"]?.GetValue<string>()), $"{type}.{input["name"]}");
            }

            Assert.All(item["ports"]!.AsArray(), p => Assert.Contains(p!["type"]!.GetValue<string>(), (string[])["Flow", "Embedded"]));
        }
    }

    [Fact]
    public async Task Descriptors_carry_editors_defaults_and_ports_generated_from_the_classes()
    {
        var items = (await viewer.GetJsonAsync("/elsa/api/descriptors/activities")).Body!["items"]!.AsArray()
            .ToDictionary(i => i!["typeName"]!.GetValue<string>(), i => i!.AsObject());

        Assert.True(items["Elsa.Start"]["isStart"]!.GetValue<bool>());
        Assert.True(items["Elsa.End"]["isTerminal"]!.GetValue<bool>());
        Assert.Empty(items["Elsa.End"]["ports"]!.AsArray());
        Assert.True(items["Elsa.Flowchart"]["isContainer"]!.GetValue<bool>());
        Assert.Equal(["True", "False"], FlowPorts(items["Elsa.FlowDecision"]));

        var text = Input(items["Elsa.WriteLine"], "Text");
        Assert.Equal("singleline", text["uiHint"]!.GetValue<string>());
        Assert.True(text["isWrapped"]!.GetValue<bool>());

        // Enum input: a dropdown with its values, defaulting to what the class initializes it with.
        var mode = Input(items["Elsa.FlowJoin"], "Mode");
        Assert.Equal("dropdown", mode["uiHint"]!.GetValue<string>());
        Assert.Equal(Enum.GetNames<DrWorkflows.Core.Activities.Flowchart.FlowJoinMode>(), mode["uiSpecifications"]!["SelectList"]!["items"]!.AsArray().Select(o => o!["value"]!.GetValue<string>()));
        Assert.Equal("WaitAny", mode["defaultValue"]!.GetValue<string>());

        // Outcomes from an input become ports through the Studio's dynamic-outcomes editor.
        Assert.Equal("dynamic-outcomes", Input(items["Elsa.FlowFork"], "Branches")["uiHint"]!.GetValue<string>());
        Assert.False(items["Elsa.FlowFork"]["isTerminal"]!.GetValue<bool>());
        Assert.Equal("flow-switch-editor", Input(items["Elsa.FlowSwitch"], "Cases")["uiHint"]!.GetValue<string>());
        Assert.False(Input(items["Elsa.FlowSwitch"], "Cases")["isWrapped"]!.GetValue<bool>());
        Assert.True(items["Elsa.Complete"]["isTerminal"]!.GetValue<bool>());

        // Child activities of If are embedded ports.
        var ifPorts = items["Elsa.If"]["ports"]!.AsArray().Where(p => p!["type"]!.GetValue<string>() == "Embedded").Select(p => p!["name"]!.GetValue<string>());
        Assert.Equal(["Then", "Else"], ifPorts);

        // Boolean inputs get a checkbox and object-typed ones a JSON editor, wherever they are declared.
        var allInputs = items.Values.SelectMany(i => i["inputs"]!.AsArray()).ToList();
        Assert.All(allInputs.Where(i => i!["typeName"]!.GetValue<string>() == "Boolean" && i["uiSpecifications"] is null && i["name"]!.GetValue<string>() != "Condition"),
            i => Assert.Equal("checkbox", i!["uiHint"]!.GetValue<string>()));
    }

    [Fact]
    public async Task The_approval_gate_appears_in_the_picker_with_its_outcomes_as_ports()
    {
        var items = (await viewer.GetJsonAsync("/elsa/api/descriptors/activities")).Body!["items"]!.AsArray();
        var gate = items.SingleOrDefault(i => i!["typeName"]!.GetValue<string>() == "DrWorkflows.ApprovalGate")?.AsObject();
        Assert.NotNull(gate);
        Assert.Equal("Task", gate["kind"]!.GetValue<string>());
        Assert.Equal("Approvals", gate["category"]!.GetValue<string>());
        Assert.True(gate["isBrowsable"]!.GetValue<bool>());
        Assert.Contains("Approved", FlowPorts(gate));
        Assert.Contains("Rejected", FlowPorts(gate));
        Assert.Equal("multiline", Input(gate, "Question")["uiHint"]!.GetValue<string>());
        Assert.Equal("json-editor", Input(gate, "Evidence")["uiHint"]!.GetValue<string>());

        // Durations and numbers, optional or not, get single-line editors with the format in the hint.
        foreach (var name in (string[])["Timeout", "EscalationTimeout", "EscalationTiers", "RequiredApprovals", "FirstEscalationTier"])
            Assert.Equal("singleline", Input(gate, name)["uiHint"]!.GetValue<string>());
        Assert.Contains("Duration: hh:mm:ss (00:30:00), ISO 8601 (PT30M) or 30s/30m/2h/1d. Empty: not set.", Input(gate, "Timeout")["description"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.EndsWith("A whole number. Empty: not set.", Input(gate, "EscalationTiers")["description"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("checkbox", Input(gate, "ForbidSelfApproval")["uiHint"]!.GetValue<string>());
        Assert.Equal("multitext", Input(gate, "Approvers")["uiHint"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_progress_report_appears_in_the_picker_as_one_notification_step_with_Done_and_Failed()
    {
        var items = (await viewer.GetJsonAsync("/elsa/api/descriptors/activities")).Body!["items"]!.AsArray();
        var report = items.SingleOrDefault(i => i!["typeName"]!.GetValue<string>() == "DrWorkflows.ReportIncidentProgress")?.AsObject();

        Assert.NotNull(report);
        Assert.Equal("Notifications", report["category"]!.GetValue<string>());
        Assert.True(report["isBrowsable"]!.GetValue<bool>());
        Assert.Equal(["Done", "Failed"], FlowPorts(report));
        Assert.Equal("multiline", Input(report, "Text")["uiHint"]!.GetValue<string>());
        Assert.Equal("dropdown", Input(report, "Status")["uiHint"]!.GetValue<string>());
        Assert.Equal("checkbox", Input(report, "Rehearsal")["uiHint"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_incident_opening_step_appears_in_the_picker_with_its_texts_and_the_outputs_the_variables_take()
    {
        var items = (await viewer.GetJsonAsync("/elsa/api/descriptors/activities")).Body!["items"]!.AsArray();
        var step = items.SingleOrDefault(i => i!["typeName"]!.GetValue<string>() == "DrWorkflows.OpenIncident")?.AsObject();

        Assert.NotNull(step);
        Assert.Equal("Notifications", step["category"]!.GetValue<string>());
        Assert.True(step["isBrowsable"]!.GetValue<bool>());
        Assert.Equal(["Done", "Failed"], FlowPorts(step));
        Assert.Equal("multiline", Input(step, "Text")["uiHint"]!.GetValue<string>());
        Assert.Equal("multiline", Input(step, "PageMessage")["uiHint"]!.GetValue<string>());
        Assert.Equal("dropdown", Input(step, "DefaultSeverity")["uiHint"]!.GetValue<string>());
        Assert.Equal("checkbox", Input(step, "Rehearsal")["uiHint"]!.GetValue<string>());
        Assert.Subset(
            step["outputs"]!.AsArray().Select(o => o!["name"]!.GetValue<string>()).ToHashSet(),
            new HashSet<string> { "IncidentSeverity", "ThreadRootTs", "ChannelId", "IncidentId", "Notified", "Error" });
    }

    [Fact]
    public async Task The_incident_closing_step_appears_in_the_picker_with_its_outcome_dropdown_and_its_texts()
    {
        var items = (await viewer.GetJsonAsync("/elsa/api/descriptors/activities")).Body!["items"]!.AsArray();
        var step = items.SingleOrDefault(i => i!["typeName"]!.GetValue<string>() == "DrWorkflows.CloseIncident")?.AsObject();

        Assert.NotNull(step);
        Assert.Equal("Notifications", step["category"]!.GetValue<string>());
        Assert.True(step["isBrowsable"]!.GetValue<bool>());
        Assert.Equal(["Done", "Failed"], FlowPorts(step));
        var outcome = Input(step, "Outcome");
        Assert.Equal("dropdown", outcome["uiHint"]!.GetValue<string>());
        // Empty until the designer chooses: the verdict is never a default.
        Assert.Equal(["", "Recovered", "Failed", "Partial"], outcome["uiSpecifications"]!["SelectList"]!["items"]!.AsArray().Select(o => o!["value"]!.GetValue<string>()));
        Assert.Null(outcome["defaultValue"]);
        Assert.Equal("multiline", Input(step, "RecoveredText")["uiHint"]!.GetValue<string>());
        Assert.Equal("multiline", Input(step, "EscalationMessage")["uiHint"]!.GetValue<string>());
        Assert.Equal("multiline", Input(step, "Summary")["uiHint"]!.GetValue<string>());
        Assert.Equal("dropdown", Input(step, "Severity")["uiHint"]!.GetValue<string>());
        Assert.Equal("checkbox", Input(step, "Rehearsal")["uiHint"]!.GetValue<string>());
        Assert.Equal("TimeSpan", Input(step, "RtoTarget")["typeName"]!.GetValue<string>());
        Assert.Subset(
            step["outputs"]!.AsArray().Select(o => o!["name"]!.GetValue<string>()).ToHashSet(),
            new HashSet<string> { "IssueNumber", "IssueUrl", "Error" });
    }

    [Fact]
    public async Task The_failure_reason_step_appears_in_the_picker_with_its_reasons_in_the_JSON_editor()
    {
        var items = (await viewer.GetJsonAsync("/elsa/api/descriptors/activities")).Body!["items"]!.AsArray();
        var step = items.SingleOrDefault(i => i!["typeName"]!.GetValue<string>() == "DrWorkflows.RecordFailureReason")?.AsObject();

        Assert.NotNull(step);
        Assert.Equal("Notifications", step["category"]!.GetValue<string>());
        Assert.True(step["isBrowsable"]!.GetValue<bool>());
        Assert.Equal(["Done"], FlowPorts(step));
        Assert.Equal("json-editor", Input(step, "Reasons")["uiHint"]!.GetValue<string>());
        Assert.Equal("String", Input(step, "Fallback")["typeName"]!.GetValue<string>());
        Assert.Equal(["Reason"], step["outputs"]!.AsArray().Select(o => o!["name"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Scalar_inputs_of_the_DR_activities_never_get_the_JSON_editor()
    {
        var items = (await viewer.GetJsonAsync("/elsa/api/descriptors/activities")).Body!["items"]!.AsArray();
        var scalar = new HashSet<string>(StringComparer.Ordinal) { "String", "Boolean", "Int32", "Int64", "Double", "Single", "Decimal", "TimeSpan", "DateTimeOffset", "DateTime", "String[]" };
        var offenders = items
            .Where(i => i!["typeName"]!.GetValue<string>().StartsWith("DrWorkflows.", StringComparison.Ordinal))
            .SelectMany(i => i!["inputs"]!.AsArray().Select(input => (Type: i["typeName"]!.GetValue<string>(), Input: input!)))
            .Where(p => scalar.Contains(p.Input["typeName"]!.GetValue<string>()) && p.Input["uiHint"]!.GetValue<string>() == "json-editor")
            .Select(p => $"{p.Type}.{p.Input["name"]} ({p.Input["typeName"]})")
            .ToList();
        Assert.True(offenders.Count == 0, "scalar inputs with the JSON editor: " + string.Join(", ", offenders));
    }

    [Fact]
    public async Task A_published_workflow_usable_as_activity_appears_in_the_picker()
    {
        await using var server = new ServerFactory();
        using var viewer = server.Client(ServerFactory.ViewerKey);
        using var designer = server.Client(ServerFactory.DesignerKey);
        var model = StudioDefinitionApiTests.StudioModel("Notify on call", "paging");
        model["options"]!["usableAsActivity"] = true;
        model["options"]!["activityCategory"] = "DR building blocks";
        model["inputs"] = JsonNode.Parse("""[{"type":"String","isArray":false,"name":"Message","displayName":"Message","description":"What to say","category":null,"uiHint":"multiline","storageDriverType":null}]""");
        var (status, _, _) = await designer.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = model, ["publish"] = true });
        Assert.Equal(HttpStatusCode.Created, status);

        var items = (await viewer.GetJsonAsync("/elsa/api/descriptors/activities")).Body!["items"]!.AsArray();
        var workflow = items.Single(i => i!["typeName"]!.GetValue<string>() == "NotifyOnCall")!;
        Assert.Equal("DR building blocks", workflow["category"]!.GetValue<string>());
        Assert.Equal("Notify on call", workflow["displayName"]!.GetValue<string>());
        Assert.Equal("multiline", Input(workflow.AsObject(), "Message")["uiHint"]!.GetValue<string>());
    }

    [Fact]
    public async Task Unknown_routes_answer_404_quickly_and_features_tolerate_missing_keys()
    {
        var watch = Stopwatch.StartNew();
        foreach (var (method, path) in ((HttpMethod, string)[])[
            (HttpMethod.Get, "/elsa/api/workflow-definitions/subgraph/abc?parentNodeId=x"),
            (HttpMethod.Get, "/elsa/api/resilience/strategies?category=Http"),
            (HttpMethod.Post, "/elsa/api/tests/activities"),
            (HttpMethod.Put, "/elsa/api/workflow-definitions"),
            (HttpMethod.Get, "/elsa/api/no/such/route")])
        {
            var (status, body, _) = await viewer.SendAsync(method, path, method == HttpMethod.Get ? null : "{}");
            Assert.True(status == HttpStatusCode.NotFound, $"{method} {path}: {(int)status}");
            Assert.False(string.IsNullOrWhiteSpace(body?["detail"]?.GetValue<string>()));
        }

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"404s took {watch.Elapsed}"); // none waits for a timeout; not a speed test
        using var anonymous = server.Client(key: null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetJsonAsync("/elsa/api/features/installed")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetJsonAsync("/elsa/api/no/such/route")).Status);
    }

    private static JsonObject Input(JsonObject descriptor, string name) =>
        descriptor["inputs"]!.AsArray().Single(i => i!["name"]!.GetValue<string>() == name)!.AsObject();

    private static List<string> FlowPorts(JsonObject descriptor) =>
        [.. descriptor["ports"]!.AsArray().Where(p => p!["type"]!.GetValue<string>() == "Flow").Select(p => p!["name"]!.GetValue<string>())];
}
