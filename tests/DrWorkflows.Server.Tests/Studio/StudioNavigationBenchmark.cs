using System.Diagnostics;
using System.Globalization;
using System.Text;
using DrWorkflows.Testing;
using Microsoft.Playwright;
using static DrWorkflows.Server.Tests.Studio.StudioBrowser;

namespace DrWorkflows.Server.Tests.Studio;

/// <summary>
/// The Studio navigation benchmark (issue 15), run by <c>tests/bench/studio-bench.sh</c> only (DRW_BENCH_STUDIO=1;
/// skipped in the suite). In headless Chromium at 1600×1000 against the real server and bundle, it measures "to
/// usable" (the list's row, the designer's node, the viewer's node on screen):
/// <list type="bullet">
/// <item>the first load of the definition list, with an empty cache (cold) and with the bundle cached (warm);</item>
/// <item>each move inside the one page (list → editor → instance list → viewer → list), against a full page load of
/// the same page (what every move cost before the Studio became one page).</item>
/// </list>
/// Targets: first load ≤ 4 s, each later move ≤ 1 s. Prints medians of DRW_BENCH_STUDIO_ROUNDS rounds (default 5)
/// and the ratios; the figures go to DRW_BENCH_STUDIO_OUT when set.
/// </summary>
public sealed class StudioNavigationBenchmark(ITestOutputHelper output)
{
    private static readonly TimeSpan FirstLoadTarget = TimeSpan.FromSeconds(4);
    private static readonly TimeSpan MoveTarget = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task First_load_and_each_move_to_usable_against_a_full_page_load()
    {
        if (Environment.GetEnvironmentVariable("DRW_BENCH_STUDIO") != "1")
            Assert.Skip("A benchmark: run tests/bench/studio-bench.sh [ROUNDS].");
        var rounds = int.Parse(Environment.GetEnvironmentVariable("DRW_BENCH_STUDIO_ROUNDS") ?? "5", CultureInfo.InvariantCulture);
        var chromium = TestServices.RequireChromium();
        var bundle = RequireBundle();
        await using var server = new ServerFactory(studioDirectory: bundle, kestrelPort: FreePort.Get());
        using var api = server.Client();
        var instanceId = await StudioOnePageBrowserTests.PublishAndRunAsync(api);
        var baseUrl = server.BaseAddress.ToString().TrimEnd('/');
        var pages = new (string Name, string Path, string Usable)[]
        {
            ("editor", "/studio/definitions/one-page-flow", "g[data-cell-id=\"w\"]"),
            ("instance list", "/studio/instances", $"tr.mud-table-row:has-text(\"{instanceId}\")"),
            ("instance viewer", $"/studio/instances/{instanceId}", "g[data-cell-id=\"w\"]"),
            ("definition list", "/studio/definitions", "tr.mud-table-row:has-text(\"One page flow\")"),
        };
        const string ListUsable = "tr.mud-table-row:has-text(\"One page flow\")";

        var cold = new List<double>();
        var warm = new List<double>();
        var moves = pages.ToDictionary(p => p.Name, _ => new List<double>());
        var loads = pages.ToDictionary(p => p.Name, _ => new List<double>());
        for (var round = 0; round < rounds; round++)
        {
            // A fresh browser each round: an empty cache for the cold load.
            await using var session = await BrowserSession.StartAsync(chromium, server.BaseAddress);
            var page = session.Page;
            await SignInAsync(page, baseUrl, "/studio/approvals");
            cold.Add(await TimeAsync(() => page.GotoAsync(baseUrl + "/studio/definitions"), page, ListUsable));
            warm.Add(await TimeAsync(() => page.GotoAsync(baseUrl + "/studio/definitions"), page, ListUsable));
            foreach (var (name, path, usable) in pages)
                moves[name].Add(await TimeAsync(() => page.EvaluateAsync<bool>("url => window.drwStudio.navigate(url, true)", path), page, usable));
            foreach (var (name, path, usable) in pages)
                loads[name].Add(await TimeAsync(() => page.GotoAsync(baseUrl + path), page, usable));
            await AssertNoProblemsAsync(session);
        }

        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"Studio navigation, {rounds} rounds, medians (to usable), headless Chromium 1600x1000, {Environment.ProcessorCount} cores");
        report.AppendLine(CultureInfo.InvariantCulture, $"  first load, empty cache   {Median(cold),6:0.00} s   target <= {FirstLoadTarget.TotalSeconds:0} s: {Verdict(Median(cold), FirstLoadTarget)}");
        report.AppendLine(CultureInfo.InvariantCulture, $"  first load, bundle cached {Median(warm),6:0.00} s   target <= {FirstLoadTarget.TotalSeconds:0} s: {Verdict(Median(warm), FirstLoadTarget)}");
        foreach (var (name, _, _) in pages)
        {
            var move = Median(moves[name]);
            var load = Median(loads[name]);
            report.AppendLine(CultureInfo.InvariantCulture, $"  move to {name,-16} {move,6:0.00} s   full page load {load,6:0.00} s   ratio {move / load:0.00}x   target <= {MoveTarget.TotalSeconds:0} s: {Verdict(move, MoveTarget)}");
        }

        output.WriteLine(report.ToString());
        if (Environment.GetEnvironmentVariable("DRW_BENCH_STUDIO_OUT") is { Length: > 0 } file)
            await File.WriteAllTextAsync(file, report.ToString(), TestContext.Current.CancellationToken);
    }

    private static async Task<double> TimeAsync(Func<Task> go, IPage page, string usable)
    {
        var clock = Stopwatch.StartNew();
        await go();
        await page.Locator(usable).First.WaitForAsync(new LocatorWaitForOptions { Timeout = 120_000 });
        return clock.Elapsed.TotalSeconds;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string Verdict(double seconds, TimeSpan target) => seconds <= target.TotalSeconds ? "met" : "MISSED";
}
