using System.Globalization;
using System.Text;
using System.Text.Json;
using DrWorkflows.Testing;
using Microsoft.Playwright;
using static DrWorkflows.Server.Tests.Studio.StudioBrowser;

namespace DrWorkflows.Server.Tests.Studio;

/// <summary>
/// Where the Studio's time goes (issue 15), run by <c>tests/bench/studio-profile.sh</c> only (DRW_PROFILE_STUDIO=1;
/// skipped in the suite). In headless Chromium against the real server and bundle it records, for the first load of
/// the definition list (empty cache, then bundle cached) and for each move (list, editor, instance list, viewer, then the
/// editor and the viewer a second time):
/// every request (start, end, bytes over the wire, 0 when served from the cache), when each Studio element became
/// defined and usable, and a Chromium performance trace (script evaluation, compilation, WebAssembly). Raw data goes
/// to DRW_PROFILE_STUDIO_OUT (a folder); <c>tests/bench/studio-trace-summary.py</c> summarises the traces.
/// </summary>
public sealed class StudioStartupProfile(ITestOutputHelper output)
{
    /// <summary>Times (performance.now) when each Studio element is defined and when each usable selector first shows.</summary>
    private const string MarksScript = """
        (() => {
          const marks = window.__drwMarks = [];
          const mark = name => { if (!marks.some(m => m.name === name)) marks.push({ name, t: performance.now() }); };
          ['elsa-workflow-definition-list', 'elsa-workflow-definition-editor', 'elsa-workflow-instance-list', 'elsa-workflow-instance-viewer']
            .forEach(n => customElements.whenDefined(n).then(() => mark('defined ' + n)));
          document.addEventListener('DOMContentLoaded', () => mark('DOMContentLoaded'));
          window.addEventListener('load', () => mark('load'));
          const usable = { 'list row': 'tr.mud-table-row', 'designer node': 'g[data-cell-id="w"]', 'monaco': '.monaco-editor' };
          new MutationObserver(() => {
            for (const [name, selector] of Object.entries(usable)) if (document.querySelector(selector)) mark(name + ' ' + location.pathname);
          }).observe(document, { childList: true, subtree: true });
          window.__drwMark = mark;
        })();
        """;

    private const string CollectScript = """
        since => ({
          resources: performance.getEntriesByType('resource').filter(e => e.startTime >= since).map(e => ({
            name: e.name.replace(location.origin, ''), type: e.initiatorType, start: Math.round(e.startTime), end: Math.round(e.responseEnd),
            transfer: e.transferSize, body: e.encodedBodySize, status: e.responseStatus || 0 })),
          marks: (window.__drwMarks || []).filter(m => m.t >= since).map(m => ({ name: m.name, t: Math.round(m.t) })),
          navigationStart: 0, now: Math.round(performance.now())
        })
        """;

    [Fact]
    public async Task Where_the_first_load_and_the_moves_spend_their_time()
    {
        if (Environment.GetEnvironmentVariable("DRW_PROFILE_STUDIO") != "1")
            Assert.Skip("A profile: run tests/bench/studio-profile.sh.");
        var folder = Environment.GetEnvironmentVariable("DRW_PROFILE_STUDIO_OUT") is { Length: > 0 } configured ? configured : Path.Combine(Path.GetTempPath(), "drw-studio-profile");
        Directory.CreateDirectory(folder);
        var chromium = TestServices.RequireChromium();
        var bundle = RequireBundle();
        await using var server = new ServerFactory(studioDirectory: bundle, kestrelPort: FreePort.Get());
        using var api = server.Client();
        var instanceId = await StudioOnePageBrowserTests.PublishAndRunAsync(api);
        var baseUrl = server.BaseAddress.ToString().TrimEnd('/');
        await using var session = await BrowserSession.StartAsync(chromium, server.BaseAddress);
        var page = session.Page;
        await page.AddInitScriptAsync(MarksScript);
        await SignInAsync(page, baseUrl, "/studio/approvals");
        var cdp = await page.Context.NewCDPSessionAsync(page);
        var summary = new StringBuilder();

        async Task PhaseAsync(string name, Func<Task> go, string usable, bool newDocument)
        {
            var events = new List<JsonElement>();
            var done = new TaskCompletionSource();
            cdp.Event("Tracing.dataCollected").OnEvent += (_, e) =>
            {
                if (e is { } data && data.TryGetProperty("value", out var value))
                    events.AddRange(value.EnumerateArray().Select(v => v.Clone()));
            };
            cdp.Event("Tracing.tracingComplete").OnEvent += (_, _) => done.TrySetResult();
            var since = newDocument ? 0 : await page.EvaluateAsync<double>("() => performance.now()");
            await cdp.SendAsync("Tracing.start", new Dictionary<string, object>
            {
                ["transferMode"] = "ReportEvents",
                ["traceConfig"] = new Dictionary<string, object>
                {
                    ["includedCategories"] = new[] { "devtools.timeline", "disabled-by-default-devtools.timeline", "v8.execute", "v8", "blink.user_timing", "loading", "toplevel" },
                },
            });
            await go();
            await page.Locator(usable).First.WaitForAsync(new LocatorWaitForOptions { Timeout = 120_000 });
            await page.EvaluateAsync("name => window.__drwMark && window.__drwMark(name)", "usable (seen by the test) " + name);
            await cdp.SendAsync("Tracing.end");
            await done.Task.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
            var collected = await page.EvaluateAsync<JsonElement>(CollectScript, since);
            await File.WriteAllTextAsync(Path.Combine(folder, name + ".json"), JsonSerializer.Serialize(new { since, data = collected }), TestContext.Current.CancellationToken);
            await File.WriteAllTextAsync(Path.Combine(folder, name + ".trace.json"), JsonSerializer.Serialize(new { traceEvents = events }), TestContext.Current.CancellationToken);
            summary.AppendLine(CultureInfo.InvariantCulture, $"== {name} (times in ms since {(newDocument ? "navigation start" : since.ToString("0", CultureInfo.InvariantCulture))})");
            foreach (var m in collected.GetProperty("marks").EnumerateArray())
                summary.AppendLine(CultureInfo.InvariantCulture, $"  mark {m.GetProperty("t").GetDouble() - since,7:0} {m.GetProperty("name").GetString()}");
            foreach (var r in collected.GetProperty("resources").EnumerateArray())
                summary.AppendLine(CultureInfo.InvariantCulture, $"  req {r.GetProperty("start").GetDouble() - since,7:0} -> {r.GetProperty("end").GetDouble() - since,7:0}  {r.GetProperty("transfer").GetDouble(),9:0} B {r.GetProperty("status").GetDouble(),3:0} {r.GetProperty("type").GetString(),-6} {r.GetProperty("name").GetString()}");
        }

        await PhaseAsync("1-first-load-cold", () => page.GotoAsync(baseUrl + "/studio/definitions"), "tr.mud-table-row:has-text(\"One page flow\")", newDocument: true);
        await PhaseAsync("2-first-load-cached", () => page.GotoAsync(baseUrl + "/studio/definitions"), "tr.mud-table-row:has-text(\"One page flow\")", newDocument: true);
        await PhaseAsync("3-move-editor", () => page.EvaluateAsync<bool>("url => window.drwStudio.navigate(url, true)", "/studio/definitions/one-page-flow"), "g[data-cell-id=\"w\"]", newDocument: false);
        await PhaseAsync("4-move-instance-list", () => page.EvaluateAsync<bool>("url => window.drwStudio.navigate(url, true)", "/studio/instances"), $"tr.mud-table-row:has-text(\"{instanceId}\")", newDocument: false);
        await PhaseAsync("5-move-viewer", () => page.EvaluateAsync<bool>("url => window.drwStudio.navigate(url, true)", $"/studio/instances/{instanceId}"), "g[data-cell-id=\"w\"]", newDocument: false);
        await PhaseAsync("6-move-list", () => page.EvaluateAsync<bool>("url => window.drwStudio.navigate(url, true)", "/studio/definitions"), "tr.mud-table-row:has-text(\"One page flow\")", newDocument: false);
        // The same moves again: what the editor and the viewer cost once their code has run in this document.
        await PhaseAsync("7-move-editor-again", () => page.EvaluateAsync<bool>("url => window.drwStudio.navigate(url, true)", "/studio/definitions/one-page-flow"), "g[data-cell-id=\"w\"]", newDocument: false);
        await PhaseAsync("8-move-viewer-again", () => page.EvaluateAsync<bool>("url => window.drwStudio.navigate(url, true)", $"/studio/instances/{instanceId}"), "g[data-cell-id=\"w\"]", newDocument: false);
        output.WriteLine(summary.ToString());
        await File.WriteAllTextAsync(Path.Combine(folder, "summary.txt"), summary.ToString(), TestContext.Current.CancellationToken);
        await AssertNoProblemsAsync(session);
    }
}
