using System.Net;
using System.Text.Json.Nodes;
using DrWorkflows.Testing;
using Microsoft.Playwright;
using static DrWorkflows.Server.Tests.Studio.StudioBrowser;

namespace DrWorkflows.Server.Tests.Studio;

/// <summary>
/// The instance viewer of the real Studio bundle in headless Chromium, on runs that have ended: a finished run and
/// a run stopped at an incident. Every toggle of the journal's toolbar is used twice (the second scope toggle
/// asks for the journal with <c>activityNodeIds: null</c>, which returns the run's own records too), a journal
/// entry and a node are selected, and the other left tab is opened; the page must show no red error bar and
/// the browser must log no error.
/// </summary>
[TypicalDuration(126)]
public sealed class StudioInstanceViewerBrowserTests
{
    [Fact]
    public async Task Journal_toggles_and_selections_on_finished_and_incident_runs_raise_no_error()
    {
        var chromium = TestServices.RequireChromium();
        var bundle = RequireBundle();
        var shots = ScreenshotDirectory();
        await using var server = new ServerFactory(studioDirectory: bundle, kestrelPort: FreePort.Get());
        using var api = server.Client();
        var finished = await RunAsync(api, "viewer-finished", """{ "id": "w", "type": "Elsa.WriteLine", "version": 1, "name": "SayDone", "text": { "typeName": "String", "expression": { "type": "Literal", "value": "done" } }, "metadata": { "designer": { "position": { "x": 250, "y": 0 } } } }""");
        var incident = await RunAsync(api, "viewer-incident", """{ "id": "js", "type": "Elsa.RunJavaScript", "version": 1, "name": "DumpDatabase", "script": { "typeName": "String", "expression": { "type": "Literal", "value": "throw new Error('disk full at /backups')" } }, "metadata": { "designer": { "position": { "x": 250, "y": 0 } } } }""");
        Assert.Equal("Finished", (await api.GetJsonAsync($"/elsa/api/workflow-instances/{finished}")).Body!["subStatus"]!.GetValue<string>());
        var stopped = (await api.GetJsonAsync($"/elsa/api/workflow-instances/{incident}")).Body!;
        Assert.Equal(1, stopped["incidentCount"]!.GetValue<int>());

        await using var session = await BrowserSession.StartAsync(chromium, server.BaseAddress);
        var page = session.Page;
        var baseUrl = server.BaseAddress.ToString().TrimEnd('/');
        try
        {
            await SignInAsync(page, baseUrl, $"/studio/instances/{finished}");
            await ExerciseViewerAsync(session, "w", "SayDone", Path.Combine(shots, "20-viewer-finished.png"));

            await page.GotoAsync($"{baseUrl}/studio/instances/{incident}");
            await ExerciseViewerAsync(session, "js", "DumpDatabase", Path.Combine(shots, "21-viewer-incident.png"));
        }
        catch
        {
            await session.SaveFailureAsync("viewer");
            throw;
        }
    }

    /// <summary>Toggles each journal button twice (waiting for the journal to answer each time), selects an entry and the node, opens the call stack tab.</summary>
    private static async Task ExerciseViewerAsync(BrowserSession session, string nodeId, string activityName, string screenshot)
    {
        var page = session.Page;
        await page.Locator($"g[data-cell-id=\"{nodeId}\"]").WaitForAsync(new LocatorWaitForOptions { Timeout = 90_000 });
        var entry = page.Locator(".mud-timeline-item").Filter(new LocatorFilterOptions { HasText = activityName }).First;
        await entry.WaitForAsync();

        // The journal's toolbar is the first on the page (left panel): time metric, scope, incidents.
        var toggles = page.Locator(".mud-toolbar").First.Locator("button");
        Assert.Equal(3, await toggles.CountAsync());
        for (var round = 0; round < 2; round++)
        {
            for (var i = 0; i < 3; i++)
            {
                var journal = await page.RunAndWaitForResponseAsync(
                    () => toggles.Nth(i).ClickAsync(),
                    r => r.Url.Contains("/journal", StringComparison.Ordinal) && r.Request.Method == "POST");
                Assert.Equal(200, journal.Status);
                // The Studio reads the answer right after it arrives; a reader failure shows as crit: and the red bar.
                await WatchForErrorBarAsync(page);
                Assert.True(session.Problems.Count == 0, $"after toggle {i + 1} (round {round + 1}):\n" + string.Join('\n', session.Problems));
            }
        }

        // Every toggle is back where it began: the activity's entries show again; select one.
        await entry.WaitForAsync();
        await entry.ClickAsync();

        // The designer's toolbar (zoom to fit, center, layout), each button once.
        var designerButtons = page.Locator(".mud-toolbar").Nth(1).Locator("button");
        for (var i = 0; i < await designerButtons.CountAsync(); i++)
        {
            await designerButtons.Nth(i).ClickAsync();
            await WatchForErrorBarAsync(page);
        }

        // Select the node on the canvas (activity details and executions load), then every tab and back.
        var box = await page.Locator($"g[data-cell-id=\"{nodeId}\"]").BoundingBoxAsync();
        await page.Mouse.ClickAsync(box!.X + (box.Width / 2), box.Y + (box.Height / 2));
        foreach (var tab in (string[])["Executions", "Activity", "Incidents", "Details", "Activity Call Stack", "Journal"])
        {
            await page.GetByRole(AriaRole.Tab, new PageGetByRoleOptions { Name = tab, Exact = true }).First.ClickAsync();
            await WatchForErrorBarAsync(page);
        }

        await entry.WaitForAsync();

        // Late failures (a rendering after the last answer) show up within a few seconds.
        await page.WaitForTimeoutAsync(3000);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot });
        await AssertNoProblemsAsync(session);
    }

    /// <summary>Waits a moment for the red error bar; returns as soon as it shows (the caller's checks then fail), or after 1.5 s.</summary>
    private static async Task WatchForErrorBarAsync(IPage page)
    {
        try
        {
            await page.WaitForFunctionAsync("() => getComputedStyle(document.getElementById('blazor-error-ui')).display !== 'none'", null, new PageWaitForFunctionOptions { Timeout = 1500 });
        }
        catch (TimeoutException)
        {
            // No error bar: what the test wants.
        }
    }

    /// <summary>Publishes Start → the given activity and runs it to its end; returns the instance id.</summary>
    private static async Task<string> RunAsync(HttpClient api, string definitionId, string activity)
    {
        var target = definitionId.EndsWith("incident", StringComparison.Ordinal) ? "js" : "w";
        var model = JsonNode.Parse("""
            {"root":{"type":"Elsa.Flowchart","version":1,"id":"flowchart1","activities":[
               {"id":"start1","type":"Elsa.Start","version":1,"name":"Start1","metadata":{"designer":{"position":{"x":0,"y":0}}}}],
              "connections":[{"source":{"activity":"start1","port":"Done"},"target":{"activity":"TARGET","port":"In"}}]} }
            """.Replace("TARGET", target, StringComparison.Ordinal))!;
        model["definitionId"] = definitionId;
        model["name"] = definitionId;
        model["root"]!["activities"]!.AsArray().Add(JsonNode.Parse(activity));
        var (status, _, _) = await api.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = model, ["publish"] = true });
        Assert.Equal(HttpStatusCode.Created, status);
        var (executed, _, response) = await api.PostJsonAsync($"/elsa/api/workflow-definitions/{definitionId}/execute", "{}");
        Assert.Equal(HttpStatusCode.OK, executed);
        return response.Headers.GetValues("x-elsa-workflow-instance-id").Single();
    }
}
