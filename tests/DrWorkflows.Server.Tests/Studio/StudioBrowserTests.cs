using System.Net;
using System.Text.Json.Nodes;
using DrWorkflows.Testing;
using Microsoft.Playwright;

namespace DrWorkflows.Server.Tests.Studio;

/// <summary>
/// End to end in headless Chromium (Debian's <c>chromium</c>, driven by Playwright through ExecutablePath) against
/// the real server on a Kestrel port and the real Elsa Studio 3.8.2 bundle: sign in, open the editor, add an
/// Approval Gate from the picker, connect it, set its inputs, publish, run, and see the run suspended at the gate
/// in the instance viewer, with no error in the browser console. Screenshots go to
/// <c>tests/TestResults/studio-e2e/</c> (git-ignored).
/// </summary>
public sealed class StudioBrowserTests
{
    private const string DefinitionId = "e2e-approval-flow";

    private static readonly string[] ChromiumArgs =
        ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"];

    [Fact]
    public async Task Designer_adds_an_approval_gate_publishes_runs_and_sees_the_run_wait_at_the_gate()
    {
        var chromium = TestServices.RequireChromium();
        var bundle = RequireBundle();
        var shots = ScreenshotDirectory();
        await using var server = new ServerFactory(studioDirectory: bundle, kestrelPort: FreePort.Get());
        using var api = server.Client();
        await SeedAsync(api);
        await using var session = await BrowserSession.StartAsync(chromium);
        var page = session.Page;
        var problems = session.Problems;

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
            await page.GotoAsync($"{baseUrl}/studio/instances");
            var row = page.Locator("tr.mud-table-row").Filter(new LocatorFilterOptions { HasText = instanceId });
            await row.WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "04-instance-list.png") });
            await row.ClickAsync();
            await page.WaitForURLAsync($"**/studio/instances/{instanceId}");
            var viewerGate = page.Locator($"g[data-cell-id=\"{gateId}\"]");
            await viewerGate.WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
            await page.GetByText("Suspended", new PageGetByTextOptions { Exact = true }).First.WaitForAsync();
            await page.GetByText("Approval Gate - Suspended").First.WaitForAsync();
            await page.WaitForTimeoutAsync(3000);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "05-instance-viewer-suspended-at-gate.png") });

            Assert.Equal("none", await page.EvaluateAsync<string>("getComputedStyle(document.getElementById('blazor-error-ui')).display"));
            Assert.True(problems.Count == 0, "browser console/page errors:\n" + string.Join('\n', problems));
        }
        catch
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "failure.png") });
            // What the browser saw (console errors, failed requests) is the first thing to read when the page broke.
            await File.WriteAllLinesAsync(Path.Combine(shots, "failure-browser.txt"), session.Problems, CancellationToken.None);
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
        await using var session = await BrowserSession.StartAsync(chromium);
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
            await page.WaitForURLAsync(new System.Text.RegularExpressions.Regex("/studio/definitions/[0-9a-f]{32}$"), new PageWaitForURLOptions { Timeout = 60_000 });
            var createdId = page.Url[(page.Url.LastIndexOf('/') + 1)..];
            var (status, created, _) = await api.GetJsonAsync($"/elsa/api/workflow-definitions/by-definition-id/{createdId}");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("Workflow 1", created!["name"]!.GetValue<string>());
            Assert.StartsWith("Workflow1:", created["root"]!["nodeId"]!.GetValue<string>(), StringComparison.Ordinal);
            await page.Locator(".graph-container").First.WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "11-new-workflow-editor.png") });

            // A workflow from workflows/ opens read-only, with the reason in its description.
            await page.GotoAsync($"{baseUrl}/studio/definitions");
            await fileRow.ClickAsync(new LocatorClickOptions { Timeout = 90_000 });
            await page.WaitForURLAsync("**/studio/definitions/file-failover");
            await page.GetByText("Unable to make changes as the workflow or application is currently in read-only mode.").WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
            await Assertions.Expect(page.Locator(".mud-input-control:has(label:text-is(\"Description\")) textarea").First).ToHaveValueAsync(new System.Text.RegularExpressions.Regex("^Read-only: defined in the file .*failover\\.json"));
            await page.WaitForTimeoutAsync(2000);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "12-file-workflow-read-only.png") });

            Assert.Equal("none", await page.EvaluateAsync<string>("getComputedStyle(document.getElementById('blazor-error-ui')).display"));
            Assert.True(session.Problems.Count == 0, "browser console/page errors:\n" + string.Join('\n', session.Problems));
        }
        catch
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "failure-list.png") });
            // What the browser saw (console errors, failed requests) is the first thing to read when the page broke.
            await File.WriteAllLinesAsync(Path.Combine(shots, "failure-list-browser.txt"), session.Problems, CancellationToken.None);
            throw;
        }
    }

    private static async Task SignInAsync(IPage page, string baseUrl, string path)
    {
        await page.GotoAsync(baseUrl + path);
        Assert.Contains("/studio/signin", page.Url, StringComparison.Ordinal);
        await page.FillAsync("#apiKey", ServerFactory.AdminKey);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForURLAsync("**" + path);
    }

    /// <summary>Headless Chromium with one page that records console errors, page errors and failed requests.</summary>
    private sealed class BrowserSession : IAsyncDisposable
    {
        private readonly IPlaywright playwright;
        private readonly IBrowser browser;

        private BrowserSession(IPlaywright playwright, IBrowser browser, IPage page)
        {
            this.playwright = playwright;
            this.browser = browser;
            Page = page;
            page.Console += (_, message) =>
            {
                if (message.Type is "error" || message.Text.Contains("crit:", StringComparison.Ordinal))
                    Problems.Add($"console.{message.Type}: {message.Text}");
            };
            page.PageError += (_, error) => Problems.Add($"page error: {error}");
            page.Response += (_, response) =>
            {
                if (response.Status >= 400)
                    Problems.Add($"HTTP {response.Status} {response.Request.Method} {response.Url}");
            };
        }

        public IPage Page { get; }

        public List<string> Problems { get; } = [];

        public static async Task<BrowserSession> StartAsync(string chromium)
        {
            var playwright = await Playwright.CreateAsync();
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = chromium, Headless = true, Args = ChromiumArgs });
            var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1600, Height = 1000 } });
            // Nothing leaves the machine (the bundle references no remote resource, but be sure).
            await context.RouteAsync(new System.Text.RegularExpressions.Regex("^https?://(?!127\\.0\\.0\\.1)"), route => route.AbortAsync());
            var page = await context.NewPageAsync();
            page.SetDefaultTimeout(60_000);
            return new BrowserSession(playwright, browser, page);
        }

        public async ValueTask DisposeAsync()
        {
            await browser.DisposeAsync();
            playwright.Dispose();
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

    /// <summary>Polls (the Studio auto-saves about half a second after each change) until a value appears.</summary>
    private static async Task<string> WaitForAsync(Func<Task<string?>> probe, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (await probe() is { } value)
                return value;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Timed out after 60 s waiting for {what}.");
            await Task.Delay(250, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>The installed Studio bundle (DRW_TEST_STUDIO_DIR, set by tests/run.sh, or the project's install folder), or skips.</summary>
    private static string RequireBundle()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("DRW_TEST_STUDIO_DIR") is { Length: > 0 } configured)
            candidates.Add(configured);
        if (RepositoryRoot() is { } root)
            candidates.Add(Path.Combine(root, "src", "DrWorkflows.Server", "studio", "node_modules", "@elsa-workflows", "elsa-studio-wasm"));
        foreach (var candidate in candidates)
        {
            if (File.Exists(Path.Combine(candidate, "_framework", "blazor.webassembly.js")))
                return candidate;
        }

        var reason = "Elsa Studio bundle not installed: run src/DrWorkflows.Server/studio/install.sh (tests/run.sh does) or set DRW_TEST_STUDIO_DIR";
        if (TestServices.Strict)
            Assert.Fail(reason);
        Assert.Skip(reason);
        return string.Empty;
    }

    private static string ScreenshotDirectory()
    {
        var directory = Path.Combine(RepositoryRoot() ?? AppContext.BaseDirectory, "tests", "TestResults", "studio-e2e");
        Directory.CreateDirectory(directory);
        return directory;
    }

    private static string? RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "DrWorkflows.sln")))
                return directory.FullName;
        }

        // Built with --artifacts-path outside the repository: the source tree is where this file was compiled.
        return FindFromSource();
    }

    private static string? FindFromSource([System.Runtime.CompilerServices.CallerFilePath] string source = "")
    {
        for (var directory = new FileInfo(source).Directory; directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "DrWorkflows.sln")))
                return directory.FullName;
        }

        return null;
    }
}
