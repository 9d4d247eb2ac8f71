using DrWorkflows.Testing;
using Microsoft.Playwright;
using static DrWorkflows.Server.Tests.Studio.StudioBrowser;

namespace DrWorkflows.Server.Tests.Studio;

/// <summary>
/// Every shipped workflow (the C# scenarios and drill, the JSON files of <c>workflows/</c>) opens in the real Studio
/// on a 1600×1000 screen and, after zoom-to-fit, spans at most two widths of the designer's canvas, with no browser
/// error. A screenshot of each goes to <c>tests/TestResults/studio-e2e/workflows/</c>, or to the folder in
/// <c>DRW_WORKFLOW_SCREENSHOTS</c> (<c>docs/workflows/screenshots.sh</c> sets it to <c>docs/workflows/img</c>).
/// </summary>
public sealed class StudioShippedWorkflowsBrowserTests
{
    [Fact]
    public async Task Every_shipped_workflow_opens_fitted_within_two_canvas_widths()
    {
        var chromium = TestServices.RequireChromium();
        var bundle = RequireBundle();
        var shots = Environment.GetEnvironmentVariable("DRW_WORKFLOW_SCREENSHOTS") is { Length: > 0 } wanted ? wanted : Path.Combine(ScreenshotDirectory(), "workflows");
        Directory.CreateDirectory(shots);
        var files = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "repo-workflows"), "*.json").ToDictionary(p => Path.GetFileName(p), p => File.ReadAllText(p), StringComparer.Ordinal);
        await using var server = new ServerFactory(studioDirectory: bundle, kestrelPort: FreePort.Get(), workflowFiles: files);
        using var api = server.Client();
        var (_, list, _) = await api.GetJsonAsync("/elsa/api/workflow-definitions?versionOptions=Published&pageSize=100");
        var ids = list!["items"]!.AsArray().Select(i => i!["definitionId"]!.GetValue<string>()).Where(id => id != "gitops-break-glass").Order(StringComparer.Ordinal).ToList();
        Assert.True(ids.Count >= 11, $"expected the shipped workflows, found {string.Join(", ", ids)}");

        await using var session = await BrowserSession.StartAsync(chromium, server.BaseAddress);
        var page = session.Page;
        var baseUrl = server.BaseAddress.ToString().TrimEnd('/');
        var wide = new List<string>();
        try
        {
            await SignInAsync(page, baseUrl, "/studio/definitions");
            foreach (var id in ids)
            {
                var (_, definition, _) = await api.GetJsonAsync($"/elsa/api/workflow-definitions/by-definition-id/{id}?versionOptions=Published");
                if (definition!["root"]!["type"]!.GetValue<string>() != "Elsa.Flowchart")
                    continue;
                var first = definition["root"]!["activities"]![0]!["id"]!.GetValue<string>();
                await page.GotoAsync($"{baseUrl}/studio/definitions/{id}");
                await page.Locator($"g[data-cell-id=\"{first}\"]").WaitForAsync(new LocatorWaitForOptions { Timeout = 120_000 });
                // Zoom to fit: the first icon button of the designer's toolbar (the one that also holds Run), which has no label.
                await page.EvaluateAsync("""
                    () => {
                      let bar = document.querySelector('button[title="Run workflow"]');
                      while (bar && [...bar.querySelectorAll('button.mud-icon-button')].filter(b => !b.classList.contains('d-none')).length < 4) bar = bar.parentElement;
                      [...bar.querySelectorAll('button.mud-icon-button')].filter(b => !b.classList.contains('d-none'))[0].click();
                    }
                    """);
                await page.WaitForTimeoutAsync(1500);
                var spans = await page.EvaluateAsync<double[]>("""
                    () => {
                      const canvas = document.querySelector('.graph-container').getBoundingClientRect();
                      const nodes = [...document.querySelectorAll('g.x6-node')].map(n => n.getBoundingClientRect());
                      const left = Math.min(...nodes.map(r => r.left)), right = Math.max(...nodes.map(r => r.right));
                      return [canvas.width, right - left];
                    }
                    """);
                await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, $"{id}.png") });
                if (spans[1] > 2 * spans[0])
                    wide.Add($"{id}: {spans[1]:F0} px wide after zoom-to-fit, canvas {spans[0]:F0} px");
            }

            Assert.True(wide.Count == 0, "wider than two canvas widths:\n" + string.Join('\n', wide));
            await AssertNoProblemsAsync(session);
        }
        catch
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory(), "failure-shipped.png") });
            var buttons = await page.EvaluateAsync<string[]>("() => [...document.querySelectorAll('button')].map(b => (b.getAttribute('aria-label') || '') + '|' + (b.title || '') + '|' + b.className).slice(0, 40)");
            await File.WriteAllLinesAsync(Path.Combine(ScreenshotDirectory(), "failure-shipped-browser.txt"), [.. session.Problems, .. buttons], CancellationToken.None);
            throw;
        }
    }
}
