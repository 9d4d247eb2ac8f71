using DrWorkflows.Testing;
using Microsoft.Playwright;
using static DrWorkflows.Server.Tests.Studio.StudioBrowser;

namespace DrWorkflows.Server.Tests.Studio;

/// <summary>
/// Every shipped workflow (the C# scenarios and drill, the JSON files of <c>workflows/</c>) opens in the real Studio
/// on a 1600×1000 screen and, after zoom-to-fit, spans at most two widths of the designer's canvas, with no browser
/// error. A screenshot of each goes to <c>tests/TestResults/studio-e2e/workflows/</c>, or to the folder in
/// <c>DRW_WORKFLOW_SCREENSHOTS</c> (<c>docs/workflows/screenshots.sh</c> sets it to <c>docs/workflows/img</c>; there
/// each picture is the whole canvas, see <see cref="ShootWholeCanvasAsync"/>).
/// </summary>
[TypicalDuration(300)]
public sealed class StudioShippedWorkflowsBrowserTests
{
    [Fact]
    public async Task Every_shipped_workflow_opens_fitted_within_two_canvas_widths()
    {
        var chromium = TestServices.RequireChromium();
        var bundle = RequireBundle();
        var docsFolder = Environment.GetEnvironmentVariable("DRW_WORKFLOW_SCREENSHOTS");
        var forDocs = docsFolder is { Length: > 0 };
        var shots = forDocs ? docsFolder! : Path.Combine(ScreenshotDirectory(), "workflows");
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
            // Leave the list only once it shows its rows and its requests are over: disposed while one of its two API
            // answers is still being read, the Studio's list fails with an unhandled cancellation (crit:, the red error
            // bar). With the browser's cache on, the runtime starts soon enough for that to happen under load.
            await page.Locator("tr.mud-table-row").First.WaitForAsync(new LocatorWaitForOptions { Timeout = 120_000 });
            await page.WaitForLoadStateAsync(LoadState.NetworkIdle, new PageWaitForLoadStateOptions { Timeout = 120_000 });
            foreach (var id in ids)
            {
                var (_, definition, _) = await api.GetJsonAsync($"/elsa/api/workflow-definitions/by-definition-id/{id}?versionOptions=Published");
                if (definition!["root"]!["type"]!.GetValue<string>() != "Elsa.Flowchart")
                    continue;
                var first = definition["root"]!["activities"]![0]!["id"]!.GetValue<string>();
                // In the same page (the Studio is one page): the runtime starts once for all the workflows.
                Assert.True(await page.EvaluateAsync<bool>("url => window.drwStudio.navigate(url, true)", $"/studio/definitions/{id}"), $"the Studio did not swap to {id}");
                await page.Locator($"g[data-cell-id=\"{first}\"]").WaitForAsync(new LocatorWaitForOptions { Timeout = 120_000 });
                var spans = await ZoomToFitAsync(page);
                if (spans[1] > 2 * spans[0])
                    wide.Add($"{id}: {spans[1]:F0} px wide after zoom-to-fit, canvas {spans[0]:F0} px");
                if (forDocs)
                    await ShootWholeCanvasAsync(page, Path.Combine(shots, $"{id}.png"));
                else
                    await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, $"{id}.png") });
            }

            Assert.True(wide.Count == 0, "wider than two canvas widths:\n" + string.Join('\n', wide));
            await AssertNoProblemsAsync(session);
        }
        catch
        {
            var buttons = await page.EvaluateAsync<string[]>("() => [...document.querySelectorAll('button')].map(b => (b.getAttribute('aria-label') || '') + '|' + (b.title || '') + '|' + b.className).slice(0, 40)");
            await session.SaveFailureAsync("shipped", buttons);
            throw;
        }
    }

    private static readonly (int Width, int Height) Screen = (1600, 1000);

    /// <summary>The zoom of the pictures in the docs: near the Studio's own smallest fitted zoom (0.5), and readable.</summary>
    private const double DocsZoom = 0.7;

    /// <summary>
    /// For the docs: the designer's canvas alone, holding the whole workflow at <see cref="DocsZoom"/> or more. The
    /// window grows until the canvas is large enough for that (the panels around it take their share of each step),
    /// zoom-to-fit runs again, and the canvas element is captured; then the window is 1600×1000 again.
    /// </summary>
    private static async Task ShootWholeCanvasAsync(IPage page, string path)
    {
        for (var step = 0; step < 5; step++)
        {
            // Canvas width and height, the nodes' extent (screen pixels) and the zoom they are drawn at.
            var m = await page.EvaluateAsync<double[]>("""
                () => {
                  const canvas = document.querySelector('.graph-container').getBoundingClientRect();
                  const nodes = [...document.querySelectorAll('g.x6-node')].map(n => n.getBoundingClientRect());
                  const w = Math.max(...nodes.map(r => r.right)) - Math.min(...nodes.map(r => r.left));
                  const h = Math.max(...nodes.map(r => r.bottom)) - Math.min(...nodes.map(r => r.top));
                  const zoom = document.querySelector('g.x6-graph-svg-viewport').transform.baseVal.consolidate()?.matrix.a ?? 1;
                  return [canvas.width, canvas.height, w, h, zoom];
                }
                """);
            var needWidth = (m[2] / m[4] * DocsZoom) + 80;
            var needHeight = (m[3] / m[4] * DocsZoom) + 80;
            if (m[0] >= needWidth && m[1] >= needHeight)
                break;
            var size = page.ViewportSize!;
            var before = $"{m[0]}x{m[1]}";
            await page.SetViewportSizeAsync(
                size.Width + (int)Math.Ceiling(Math.Max(0, needWidth - m[0]) * 1.2),
                size.Height + (int)Math.Ceiling(Math.Max(0, needHeight - m[1]) * 1.6));
            // The canvas follows the window through a resize observer: wait until it has another size.
            await page.WaitForFunctionAsync("""
                before => { const r = document.querySelector('.graph-container').getBoundingClientRect(); return `${r.width}x${r.height}` !== before; }
                """, before, new PageWaitForFunctionOptions { Timeout = 30_000 });
        }

        await ZoomToFitAsync(page);
        await page.Locator(".graph-container").First.ScreenshotAsync(new LocatorScreenshotOptions { Path = path });
        await page.SetViewportSizeAsync(Screen.Width, Screen.Height);
    }

    /// <summary>
    /// Clicks zoom-to-fit (the first icon button of the designer's toolbar, the one that also holds Run, has no label),
    /// waits until the canvas has settled, and returns the canvas's width, the width the nodes span, the canvas's height
    /// and the height the nodes span (in screen pixels). Settled: the diagram's transform changed from what it was
    /// before the click (or did not within 5 s: it was fitted already) and then stayed the same for 10 frames.
    /// </summary>
    private static async Task<double[]> ZoomToFitAsync(IPage page)
    {
        await page.EvaluateAsync("""
            () => new Promise(resolve => {
              const transform = () => document.querySelector('g.x6-graph-svg-viewport')?.getAttribute('transform') ?? '';
              const before = transform();
              let bar = document.querySelector('button[title="Run workflow"]');
              while (bar && [...bar.querySelectorAll('button.mud-icon-button')].filter(b => !b.classList.contains('d-none')).length < 4) bar = bar.parentElement;
              [...bar.querySelectorAll('button.mud-icon-button')].filter(b => !b.classList.contains('d-none'))[0].click();
              const clicked = performance.now();
              let changed = false, last = before, same = 0;
              const tick = () => {
                const now = transform();
                changed ||= now !== before;
                same = now === last ? same + 1 : 0;
                last = now;
                if ((changed || performance.now() - clicked > 5000) && same >= 10) resolve();
                else requestAnimationFrame(tick);
              };
              requestAnimationFrame(tick);
            })
            """);
        return await page.EvaluateAsync<double[]>("""
            () => {
              const canvas = document.querySelector('.graph-container').getBoundingClientRect();
              const nodes = [...document.querySelectorAll('g.x6-node')].map(n => n.getBoundingClientRect());
              const left = Math.min(...nodes.map(r => r.left)), right = Math.max(...nodes.map(r => r.right));
              const top = Math.min(...nodes.map(r => r.top)), bottom = Math.max(...nodes.map(r => r.bottom));
              return [canvas.width, right - left, canvas.height, bottom - top];
            }
            """);
    }
}
