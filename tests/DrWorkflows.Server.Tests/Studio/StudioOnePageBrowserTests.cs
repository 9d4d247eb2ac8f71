using System.Net;
using System.Text.Json.Nodes;
using DrWorkflows.Server.Studio;
using DrWorkflows.Testing;
using Microsoft.Playwright;
using static DrWorkflows.Server.Tests.Studio.StudioBrowser;

namespace DrWorkflows.Server.Tests.Studio;

/// <summary>
/// The Studio is one page: after the first load, moving between the definition list, the editor, the instance list,
/// the instance viewer and the approvals page swaps elements in the same document (the WebAssembly runtime starts
/// once), the address follows, Back and Forward work, and a deep link or a reload renders the same page from the
/// server. A marker set on <c>window</c> after the first load survives every move; the runtime's script is fetched
/// once.
/// </summary>
[TypicalDuration(90)]
public sealed class StudioOnePageBrowserTests
{
    [Fact]
    public async Task Moving_between_the_pages_keeps_one_runtime_and_back_forward_and_deep_links_work()
    {
        var chromium = TestServices.RequireChromium();
        var bundle = RequireBundle();
        var shots = ScreenshotDirectory();
        await using var server = new ServerFactory(studioDirectory: bundle, kestrelPort: FreePort.Get());
        using var api = server.Client();
        var instanceId = await PublishAndRunAsync(api);
        await using var session = await BrowserSession.StartAsync(chromium, server.BaseAddress);
        var page = session.Page;
        var runtimeLoads = 0;
        page.Request += (_, request) =>
        {
            if (request.Url.EndsWith("/_framework/blazor.webassembly.js", StringComparison.Ordinal))
                runtimeLoads++;
        };

        try
        {
            var baseUrl = server.BaseAddress.ToString().TrimEnd('/');
            await SignInAsync(page, baseUrl, "/studio/definitions");
            var definitionRow = page.Locator("tr.mud-table-row").Filter(new LocatorFilterOptions { HasText = "One page flow" });
            await definitionRow.WaitForAsync(new LocatorWaitForOptions { Timeout = 120_000 });
            await page.EvaluateAsync("() => { window.drwMarker = 'first load'; }");

            // The runtime started with the page's options (the trace compiler off: benchmarks.md, "Runtime options").
            var runtimeOptions = await page.EvaluateAsync<string[]>("() => globalThis.getDotnetRuntime(0).getConfig().runtimeOptions || []");
            Assert.Equal(StudioPages.RuntimeOptions, runtimeOptions);

            // The navigation bar's Instances link, then a row of the list: the viewer of that run.
            await page.Locator(".drw-nav a", new PageLocatorOptions { HasText = "Instances" }).ClickAsync();
            await ExpectAddressAsync(page, "/studio/instances");
            var instanceRow = page.Locator("tr.mud-table-row").Filter(new LocatorFilterOptions { HasText = instanceId });
            await instanceRow.WaitForAsync(new LocatorWaitForOptions { Timeout = 120_000 });
            await instanceRow.ClickAsync();
            await ExpectAddressAsync(page, $"/studio/instances/{instanceId}");
            await page.Locator("g[data-cell-id=\"w\"]").WaitForAsync(new LocatorWaitForOptions { Timeout = 120_000 });

            // Back to the definitions, and a row opens the editor, with the id in the bar.
            await page.Locator(".drw-nav a", new PageLocatorOptions { HasText = "Definitions" }).ClickAsync();
            await ExpectAddressAsync(page, "/studio/definitions");
            await definitionRow.ClickAsync(new LocatorClickOptions { Timeout = 120_000 });
            await ExpectAddressAsync(page, "/studio/definitions/one-page-flow");
            await page.Locator("g[data-cell-id=\"w\"]").WaitForAsync(new LocatorWaitForOptions { Timeout = 120_000 });
            await Assertions.Expect(page.Locator(".drw-nav .drw-id")).ToContainTextAsync("one-page-flow");
            Assert.Equal("Workflow editor · DrWorkflows Studio", await page.TitleAsync());

            // The approvals page, in the same document (its own styles stay in a shadow root); the editor's id leaves the bar.
            await page.Locator(".drw-nav a", new PageLocatorOptions { HasText = "Approvals" }).ClickAsync();
            await ExpectAddressAsync(page, "/studio/approvals");
            await page.Locator(".drw-host .drw-page h1").WaitForAsync(new LocatorWaitForOptions { Timeout = 120_000 });
            Assert.Equal(0, await page.Locator(".drw-nav .drw-id").CountAsync());
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "30-one-page-approvals.png") });

            // Back: the editor, then the list; Forward: the editor again.
            await page.GoBackAsync();
            await ExpectAddressAsync(page, "/studio/definitions/one-page-flow");
            await page.Locator("g[data-cell-id=\"w\"]").WaitForAsync(new LocatorWaitForOptions { Timeout = 120_000 });
            await page.GoBackAsync();
            await ExpectAddressAsync(page, "/studio/definitions");
            await definitionRow.WaitForAsync(new LocatorWaitForOptions { Timeout = 120_000 });
            await page.GoForwardAsync();
            await ExpectAddressAsync(page, "/studio/definitions/one-page-flow");
            await page.Locator("g[data-cell-id=\"w\"]").WaitForAsync(new LocatorWaitForOptions { Timeout = 120_000 });

            // All of that in the first document: one runtime start, eight swaps.
            Assert.Equal("first load", await page.EvaluateAsync<string>("() => window.drwMarker"));
            Assert.Equal(8, await page.EvaluateAsync<int>("() => window.drwStudio.swaps"));
            Assert.Equal(1, runtimeLoads);
            Assert.Equal(1, await page.Locator(".drw-host > *").CountAsync());

            // A reload is a deep link: the server renders the editor page itself.
            await page.ReloadAsync();
            await page.Locator("g[data-cell-id=\"w\"]").WaitForAsync(new LocatorWaitForOptions { Timeout = 120_000 });
            Assert.Null(await page.EvaluateAsync<string?>("() => window.drwMarker ?? null"));
            Assert.Equal(2, runtimeLoads);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "31-one-page-deep-link.png") });

            await AssertNoProblemsAsync(session);
        }
        catch
        {
            await session.SaveFailureAsync("one-page");
            throw;
        }
    }

    /// <summary>Publishes Start → WriteLine as <c>one-page-flow</c> and runs it once; returns the run's id.</summary>
    internal static async Task<string> PublishAndRunAsync(HttpClient api)
    {
        var model = JsonNode.Parse("""
            {"definitionId":"one-page-flow","name":"One page flow",
             "root":{"type":"Elsa.Flowchart","version":1,"id":"flowchart1","activities":[
               {"id":"start1","type":"Elsa.Start","version":1,"name":"Start1","metadata":{"designer":{"position":{"x":0,"y":0}}}},
               {"id":"w","type":"Elsa.WriteLine","version":1,"name":"WriteLine1","metadata":{"designer":{"position":{"x":0,"y":150}}},
                "text":{"typeName":"String","expression":{"type":"Literal","value":"hello"}}}],
              "connections":[{"source":{"activity":"start1","port":"Done"},"target":{"activity":"w","port":"In"}}]} }
            """)!;
        var (status, _, _) = await api.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = model, ["publish"] = true });
        Assert.Equal(HttpStatusCode.Created, status);
        var (executed, _, response) = await api.PostJsonAsync("/elsa/api/workflow-definitions/one-page-flow/execute", "{}");
        Assert.Equal(HttpStatusCode.OK, executed);
        return response.Headers.GetValues("x-elsa-workflow-instance-id").Single();
    }
}
