using System.Net;
using System.Text.Json.Nodes;
using DrWorkflows.Testing;
using Microsoft.Playwright;
using static DrWorkflows.Server.Tests.Studio.StudioBrowser;

namespace DrWorkflows.Server.Tests.Studio;

/// <summary>
/// End to end in headless Chromium (Debian's <c>chromium</c>, driven by Playwright through ExecutablePath) against
/// the real server on a Kestrel port and the real Elsa Studio 3.8.2 bundle: sign in, open the editor, add an
/// Approval Gate from the picker, connect it, set its inputs, publish, run, and see the run suspended at the gate
/// in the instance viewer, with no error in the browser console. Screenshots go to
/// <c>tests/TestResults/studio-e2e/</c> (git-ignored).
/// </summary>
[TypicalDuration(274)]
public sealed class StudioBrowserTests
{
    private const string DefinitionId = "e2e-approval-flow";

    [Fact]
    public async Task Designer_adds_an_approval_gate_publishes_runs_and_sees_the_run_wait_at_the_gate()
    {
        var chromium = TestServices.RequireChromium();
        var bundle = RequireBundle();
        var shots = ScreenshotDirectory();
        await using var server = new ServerFactory(studioDirectory: bundle, kestrelPort: FreePort.Get());
        using var api = server.Client();
        await SeedAsync(api);
        await using var session = await BrowserSession.StartAsync(chromium, server.BaseAddress);
        var page = session.Page;

        try
        {
            var baseUrl = server.BaseAddress.ToString().TrimEnd('/');

            // Sign in with the key; the page then hosts the editor with that key.
            await SignInAsync(page, baseUrl, $"/studio/definitions/{DefinitionId}");

            // The designer renders the seeded flowchart.
            var writeLine = page.Locator("g[data-cell-id=\"write1\"]");
            await writeLine.WaitForAsync(new LocatorWaitForOptions { Timeout = 90_000 });
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "01-editor-loaded.png") });

            // Add an Approval Gate from the picker.
            await page.Locator(".mud-expand-panel-header").Filter(new LocatorFilterOptions { HasTextRegex = new System.Text.RegularExpressions.Regex("^Approvals$") }).First.ClickAsync();
            var pickerItem = page.Locator(".mud-expand-panel-content, .mud-collapse-container").GetByText("Approval Gate", new LocatorGetByTextOptions { Exact = true }).First;
            await pickerItem.DragToAsync(page.Locator(".graph-container").First, new LocatorDragToOptions { TargetPosition = new TargetPosition { X = 650, Y = 480 } });
            var gate = page.Locator("g.x6-node:has(elsa-activity-wrapper[activity-json*=\"DrWorkflows.ApprovalGate\"])").First;
            await gate.WaitForAsync();
            var gateId = await WaitForAsync(async () => (await GateAsync(api))?["id"]?.GetValue<string>(), "the dropped gate to be auto-saved");

            // Connect WriteLine1's Done port to the gate's In port.
            var from = await writeLine.Locator("g[port=\"Done\"] circle.elsa-designer-port-hit-area").First.BoundingBoxAsync();
            var to = await gate.Locator("g[port=\"In\"] circle.elsa-designer-port-hit-area").First.BoundingBoxAsync();
            Assert.NotNull(from);
            Assert.NotNull(to);
            await page.Mouse.MoveAsync(from.X + (from.Width / 2), from.Y + (from.Height / 2));
            await page.Mouse.DownAsync();
            await page.Mouse.MoveAsync((from.X + to.X) / 2, (from.Y + to.Y) / 2, new MouseMoveOptions { Steps = 10 });
            await page.Mouse.MoveAsync(to.X + (to.Width / 2), to.Y + (to.Height / 2), new MouseMoveOptions { Steps = 10 });
            await page.Mouse.UpAsync();
            await WaitForAsync(async () => (await DefinitionAsync(api))["root"]!["connections"]!.AsArray()
                .Any(c => c!["source"]!["activity"]!.GetValue<string>() == "write1" && c["target"]!["activity"]!.GetValue<string>() == gateId) ? "yes" : null, "the connection to be auto-saved");

            // Select the gate and set its inputs.
            var box = await gate.BoundingBoxAsync();
            await page.Mouse.ClickAsync(box!.X + (box.Width / 2), box.Y + (box.Height / 2));
            await FillAsync(page, "Title", "input", "Approve the failover");
            await FillAsync(page, "Question", "textarea", "Fail over to the standby site?");
            var approvers = page.Locator(".mud-input-control:has(label:text-is(\"Approvers\")) input").First;
            await approvers.ScrollIntoViewIfNeededAsync();
            await approvers.ClickAsync();
            await approvers.FillAsync("role:admin");
            await approvers.PressAsync("Enter");
            await WaitForAsync(async () => await GateAsync(api) is { } g && g["title"] is not null && g["question"] is not null && g["approvers"] is not null ? "yes" : null, "the gate's inputs to be auto-saved");
            var saved = (await GateAsync(api))!;
            Assert.Equal("Approve the failover", saved["title"]!["expression"]!["value"]!.GetValue<string>());
            Assert.Equal(["role:admin"], JsonNode.Parse(saved["approvers"]!["expression"]!["value"]!.GetValue<string>())!.AsArray().Select(a => a!.GetValue<string>()));
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "02-gate-added-connected-configured.png") });

            // Publish (the toolbar's cloud button saves with publish: true).
            await page.Locator(".mud-button-group-root button.mud-primary-text").First.ClickAsync();
            await WaitForAsync(async () => (await DefinitionAsync(api))["isPublished"]!.GetValue<bool>() ? "yes" : null, "the definition to be published");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "03-published.png") });

            // Run (the toolbar's play button); the instance id comes back in a header.
            var execute = await page.RunAndWaitForResponseAsync(
                () => page.Locator("button.mud-success-text").First.ClickAsync(),
                r => r.Url.Contains($"/workflow-definitions/{DefinitionId}/execute", StringComparison.Ordinal));
            Assert.Equal(200, execute.Status);
            var instanceId = await execute.HeaderValueAsync("x-elsa-workflow-instance-id");
            Assert.False(string.IsNullOrEmpty(instanceId));

            var (_, instance, _) = await api.GetJsonAsync($"/elsa/api/workflow-instances/{instanceId}");
            Assert.Equal("Suspended", instance!["subStatus"]!.GetValue<string>());
            Assert.Contains(instance["workflowState"]!["bookmarks"]!.AsArray(), b => b!["activityNodeId"]!.GetValue<string>().EndsWith(":" + gateId, StringComparison.Ordinal));

            // The instance list links to the viewer, which shows the run waiting at the gate.
            await page.Locator(".drw-nav a", new PageLocatorOptions { HasText = "Instances" }).ClickAsync();
            var row = page.Locator("tr.mud-table-row").Filter(new LocatorFilterOptions { HasText = instanceId });
            await row.WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "04-instance-list.png") });
            await row.ClickAsync();
            // The viewer is swapped in inside the one page (no load event to wait for): wait for its node, then check the
            // address is the run's deep link. (WaitForURL "until Load" timed out twice in CI with the viewer on screen.)
            var viewerGate = page.Locator($"g[data-cell-id=\"{gateId}\"]");
            await viewerGate.WaitForAsync(new LocatorWaitForOptions { Timeout = 120_000 });
            Assert.EndsWith($"/studio/instances/{instanceId}", new Uri(page.Url).AbsolutePath, StringComparison.OrdinalIgnoreCase);
            await page.GetByText("Suspended", new PageGetByTextOptions { Exact = true }).First.WaitForAsync();
            await page.GetByText("Approval Gate - Suspended").First.WaitForAsync();
            await page.WaitForTimeoutAsync(3000);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "05-instance-viewer-suspended-at-gate.png") });

            await AssertNoProblemsAsync(session);
        }
        catch
        {
            await session.SaveFailureAsync("main");
            throw;
        }
    }

    [Fact]
    public async Task Definition_list_creates_a_workflow_and_opens_workflows_from_files_read_only_with_the_reason()
    {
        var chromium = TestServices.RequireChromium();
        var bundle = RequireBundle();
        var shots = ScreenshotDirectory();
        var file = """
            { "definitionId": "file-failover", "name": "File failover", "description": "Cut over to the standby.",
              "root": { "type": "Elsa.Flowchart", "id": "fc", "version": 1,
                "activities": [ { "id": "s", "type": "Elsa.Start", "version": 1 }, { "id": "w", "type": "Elsa.WriteLine", "version": 1,
                  "text": { "typeName": "String", "expression": { "type": "Literal", "value": "failing over" } },
                  "metadata": { "designer": { "position": { "x": 250, "y": 0 } } } } ],
                "connections": [ { "source": { "activity": "s", "port": "Done" }, "target": { "activity": "w", "port": "In" } } ] } }
            """;
        await using var server = new ServerFactory(studioDirectory: bundle, kestrelPort: FreePort.Get(), workflowFiles: new Dictionary<string, string> { ["failover.json"] = file });
        using var api = server.Client();
        await using var session = await BrowserSession.StartAsync(chromium, server.BaseAddress);
        var page = session.Page;
        try
        {
            var baseUrl = server.BaseAddress.ToString().TrimEnd('/');
            await SignInAsync(page, baseUrl, "/studio/definitions");

            // The list shows the file workflow with its read-only reason.
            var fileRow = page.Locator("tr.mud-table-row").Filter(new LocatorFilterOptions { HasText = "File failover" });
            await fileRow.WaitForAsync(new LocatorWaitForOptions { Timeout = 90_000 });
            await Assertions.Expect(fileRow).ToContainTextAsync("Read-only: defined in the file");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "10-definition-list.png") });

            // Create workflow: the Studio checks the name, saves a bare flowchart (no nodeIds) and opens the editor.
            await page.GetByText("Create workflow", new PageGetByTextOptions { Exact = true }).First.ClickAsync();
            await page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { NameRegex = new System.Text.RegularExpressions.Regex("^ok$", System.Text.RegularExpressions.RegexOptions.IgnoreCase) }).First.ClickAsync();
            // Its id is readable, from its name, and shown above the editor, where a designer may change it before the first publish.
            await ExpectAddressAsync(page, "/studio/definitions/workflow-1");
            var (status, created, _) = await api.GetJsonAsync("/elsa/api/workflow-definitions/by-definition-id/workflow-1");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("Workflow 1", created!["name"]!.GetValue<string>());
            Assert.StartsWith("Workflow1:", created["root"]!["nodeId"]!.GetValue<string>(), StringComparison.Ordinal);
            // The designer of an empty flowchart may lay out its canvas late (zero size, "hidden"): wait for it to be there.
            await page.Locator(".graph-container").First.WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached, Timeout = 60_000 });
            await page.GetByText("This activity does not have any input properties.").First.WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
            var idField = page.Locator("#drw-definition-id");
            await Assertions.Expect(idField).ToHaveValueAsync("workflow-1");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "11-new-workflow-editor.png") });
            await idField.FillAsync("failover-drill");
            await page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = "Change id" }).ClickAsync();
            await ExpectAddressAsync(page, "/studio/definitions/failover-drill");
            await page.Locator(".graph-container").First.WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached, Timeout = 60_000 });
            await page.GetByText("This activity does not have any input properties.").First.WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
            Assert.Equal(HttpStatusCode.OK, (await api.GetJsonAsync("/elsa/api/workflow-definitions/by-definition-id/failover-drill")).Status);
            Assert.Equal(HttpStatusCode.NotFound, (await api.GetJsonAsync("/elsa/api/workflow-definitions/by-definition-id/workflow-1")).Status);

            // A workflow from workflows/ opens read-only, with the reason in its description.
            await page.Locator(".drw-nav a", new PageLocatorOptions { HasText = "Definitions" }).ClickAsync();
            await fileRow.ClickAsync(new LocatorClickOptions { Timeout = 90_000 });
            await ExpectAddressAsync(page, "/studio/definitions/file-failover");
            await page.GetByText("Unable to make changes as the workflow or application is currently in read-only mode.").WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
            await Assertions.Expect(page.Locator(".mud-input-control:has(label:text-is(\"Description\")) textarea").First).ToHaveValueAsync(new System.Text.RegularExpressions.Regex("^Read-only: defined in the file .*failover\\.json"));
            await page.WaitForTimeoutAsync(2000);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "12-file-workflow-read-only.png") });

            await AssertNoProblemsAsync(session);
        }
        catch
        {
            await session.SaveFailureAsync("list");
            throw;
        }
    }

    /// <summary>A draft Start → WriteLine, as a designer would have left it.</summary>
    private static async Task SeedAsync(HttpClient api)
    {
        var model = JsonNode.Parse("""
            {"definitionId":"e2e-approval-flow","name":"E2E approval flow",
             "root":{"type":"Elsa.Flowchart","version":1,"id":"flowchart1","activities":[
               {"id":"start1","type":"Elsa.Start","version":1,"name":"Start1","metadata":{"designer":{"position":{"x":0,"y":0}}}},
               {"id":"write1","type":"Elsa.WriteLine","version":1,"name":"WriteLine1","metadata":{"designer":{"position":{"x":250,"y":0}}},
                "text":{"typeName":"String","expression":{"type":"Literal","value":"about to ask for approval"}}}],
              "connections":[{"source":{"activity":"start1","port":"Done"},"target":{"activity":"write1","port":"In"}}]} }
            """);
        var (status, _, _) = await api.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = model, ["publish"] = false });
        Assert.Equal(HttpStatusCode.Created, status);
    }

    private static async Task<JsonNode> DefinitionAsync(HttpClient api) =>
        (await api.GetJsonAsync($"/elsa/api/workflow-definitions/by-definition-id/{DefinitionId}?versionOptions=Latest")).Body!;

    private static async Task<JsonNode?> GateAsync(HttpClient api) =>
        (await DefinitionAsync(api))["root"]!["activities"]!.AsArray().FirstOrDefault(a => a!["type"]!.GetValue<string>() == "DrWorkflows.ApprovalGate");

    private static async Task FillAsync(IPage page, string label, string element, string value)
    {
        var field = page.Locator($".mud-input-control:has(label:text-is(\"{label}\")) {element}").First;
        await field.ScrollIntoViewIfNeededAsync();
        await field.ClickAsync();
        await field.FillAsync(value);
        await field.PressAsync("Tab");
    }
}
