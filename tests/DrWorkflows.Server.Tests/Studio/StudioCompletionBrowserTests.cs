using System.Net;
using System.Text.Json.Nodes;
using DrWorkflows.Testing;
using Microsoft.Playwright;
using static DrWorkflows.Server.Tests.Studio.StudioBrowser;

namespace DrWorkflows.Server.Tests.Studio;

/// <summary>
/// JavaScript completions in the real Studio: an input written in JavaScript opens in Monaco, which loads the
/// declarations of <c>/elsa/api/scripting/javascript/type-definitions/{id}</c>; typing the start of a workflow variable
/// and of an earlier activity's output accessor offers them in Monaco's suggestion list.
/// </summary>
[TypicalDuration(100)]
public sealed class StudioCompletionBrowserTests
{
    [Fact]
    public async Task Monaco_completes_the_workflow_variables_and_the_helpers_from_the_declarations()
    {
        var chromium = TestServices.RequireChromium();
        var bundle = RequireBundle();
        var shots = ScreenshotDirectory();
        await using var server = new ServerFactory(studioDirectory: bundle, kestrelPort: FreePort.Get());
        using var api = server.Client();
        var model = JsonNode.Parse("""
            {"definitionId":"js-completion","name":"JS completion",
             "variables":[{"id":"v1","name":"BackupSetId","typeName":"String","value":""}],
             "root":{"type":"Elsa.Flowchart","version":1,"id":"fc","activities":[
               {"id":"start","type":"Elsa.Start","version":1,"name":"Start1","metadata":{"designer":{"position":{"x":0,"y":0}}}},
               {"id":"say","type":"Elsa.WriteLine","version":1,"name":"Announce","metadata":{"designer":{"position":{"x":0,"y":150}}},
                "text":{"typeName":"String","expression":{"type":"JavaScript","value":"'restoring ' + "}}}],
              "connections":[{"source":{"activity":"start","port":"Done"},"target":{"activity":"say","port":"In"}}]}}
            """)!;
        Assert.Equal(HttpStatusCode.Created, (await api.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = model, ["publish"] = false })).Status);
        await using var session = await BrowserSession.StartAsync(chromium, server.BaseAddress);
        var page = session.Page;
        try
        {
            var baseUrl = server.BaseAddress.ToString().TrimEnd('/');
            var declarations = page.WaitForResponseAsync(r => r.Url.Contains("/scripting/javascript/type-definitions/js-completion", StringComparison.Ordinal), new PageWaitForResponseOptions { Timeout = 120_000 });
            await SignInAsync(page, baseUrl, "/studio/definitions/js-completion");
            var node = page.Locator("g[data-cell-id=\"say\"]");
            await node.WaitForAsync(new LocatorWaitForOptions { Timeout = 120_000 });
            var box = await node.BoundingBoxAsync();
            await page.Mouse.ClickAsync(box!.X + (box.Width / 2), box.Y + (box.Height / 2));

            // The Text input is JavaScript: a Monaco editor, which asks for the declarations.
            var editor = page.Locator(".monaco-editor").First;
            await editor.WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
            Assert.Equal(200, (await declarations).Status);
            await editor.Locator(".view-lines").ClickAsync();
            await page.Keyboard.PressAsync("Control+End");
            await page.Keyboard.TypeAsync("BackupS", new KeyboardTypeOptions { Delay = 50 });
            await page.Keyboard.PressAsync("Control+Space");
            var suggestion = page.Locator(".suggest-widget .monaco-list-row").Filter(new LocatorFilterOptions { HasText = "BackupSetId" }).First;
            await suggestion.WaitForAsync(new LocatorWaitForOptions { Timeout = 30_000 });
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "40-javascript-completion-variable.png") });

            // A helper of the engine, with its declared parameter names.
            await page.Keyboard.PressAsync("Escape");
            await page.Keyboard.TypeAsync(" + getVar", new KeyboardTypeOptions { Delay = 50 });
            await page.Keyboard.PressAsync("Control+Space");
            await page.Locator(".suggest-widget .monaco-list-row").Filter(new LocatorFilterOptions { HasText = "getVariable" }).First.WaitForAsync(new LocatorWaitForOptions { Timeout = 30_000 });
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "41-javascript-completion-helper.png") });

            await AssertNoProblemsAsync(session);
        }
        catch
        {
            await session.SaveFailureAsync("completion");
            throw;
        }
    }
}
