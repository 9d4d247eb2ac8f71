using DrWorkflows.Testing;
using Microsoft.Playwright;

namespace DrWorkflows.Server.Tests.Studio;

/// <summary>
/// What the Studio browser tests share: headless Chromium (Debian's <c>chromium</c>, driven by Playwright through
/// ExecutablePath) with a page that records every console error, page error and failed request; sign-in; the
/// installed Studio bundle; polling; the screenshot folder <c>tests/TestResults/studio-e2e/</c> (git-ignored).
/// </summary>
internal static class StudioBrowser
{
    /// <summary>
    /// Nothing leaves the machine: every request goes to a proxy on a closed local port (so it fails), except those to
    /// the loopback, which Chromium never sends to a proxy. Not a Playwright route: routing disables the browser's HTTP
    /// cache, and the Studio's second load would then fetch the whole bundle again (what people do not see).
    /// </summary>
    private static readonly string[] ChromiumArgs =
        ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         "--proxy-server=http://127.0.0.1:9"];

    public static async Task SignInAsync(IPage page, string baseUrl, string path)
    {
        await page.GotoAsync(baseUrl + path);
        Assert.Contains("/studio/signin", page.Url, StringComparison.Ordinal);
        await page.FillAsync("#apiKey", ServerFactory.AdminKey);
        await page.ClickAsync("button[type=submit]");
        await ExpectAddressAsync(page, path);
        // Signing in is a real navigation: the address changes when it commits, before the page's scripts have run
        // (window.drwStudio was undefined in a CI run). Its load event does come; the moves after it have none.
        await page.WaitForLoadStateAsync(LoadState.Load);
    }

    /// <summary>
    /// Waits until the address ends with <paramref name="path"/>. The Studio is one page: most moves swap elements and
    /// push the address without a load event, so Playwright's WaitForURL (which waits "until load" by default) can time
    /// out with the right page on screen. This polls the address only; callers then wait for what they need to see.
    /// </summary>
    public static Task ExpectAddressAsync(IPage page, string path) =>
        Assertions.Expect(page).ToHaveURLAsync(
            new System.Text.RegularExpressions.Regex(System.Text.RegularExpressions.Regex.Escape(path) + "([?#].*)?$"),
            new PageAssertionsToHaveURLOptions { Timeout = 120_000 });

    /// <summary>Fails when the Studio showed its red "An unhandled error has occurred" bar or the browser logged a problem.</summary>
    public static async Task AssertNoProblemsAsync(BrowserSession session)
    {
        Assert.Equal("none", await session.Page.EvaluateAsync<string>("getComputedStyle(document.getElementById('blazor-error-ui')).display"));
        Assert.True(session.Problems.Count == 0, "browser console/page errors:\n" + string.Join('\n', session.Problems));
    }

    /// <summary>Polls (the Studio auto-saves about half a second after each change) until a value appears.</summary>
    public static async Task<string> WaitForAsync(Func<Task<string?>> probe, string what)
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
    public static string RequireBundle()
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

    public static string ScreenshotDirectory()
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

    /// <summary>Headless Chromium with one page that records console errors, page errors and failed requests.</summary>
    internal sealed class BrowserSession : IAsyncDisposable
    {
        private readonly IPlaywright playwright;
        private readonly IBrowser browser;
        private readonly BrowserNetworkNamespace? network;

        private BrowserSession(IPlaywright playwright, IBrowser browser, IPage page, BrowserNetworkNamespace? network)
        {
            this.playwright = playwright;
            this.browser = browser;
            this.network = network;
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

        /// <summary>
        /// For a failed test: the screen as it was (<c>failure-{name}.png</c>) and what the browser saw, console errors and
        /// failed requests first, then <paramref name="extra"/> (<c>failure-{name}-browser.txt</c>), in the screenshot folder.
        /// </summary>
        public async Task SaveFailureAsync(string name, params IEnumerable<string> extra)
        {
            var shots = ScreenshotDirectory();
            await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, $"failure-{name}.png") });
            await File.WriteAllLinesAsync(Path.Combine(shots, $"failure-{name}-browser.txt"), [.. Problems, .. extra], CancellationToken.None);
        }

        /// <summary>
        /// Chromium in a network namespace of its own that reaches <paramref name="server"/> (see
        /// <see cref="BrowserNetworkNamespace"/>: Docker's interface changes would otherwise drop its downloads).
        /// </summary>
        public static async Task<BrowserSession> StartAsync(string chromium, Uri server)
        {
            var network = BrowserNetworkNamespace.TryCreate(chromium, server.Port, out var reason);
            if (network is null)
                TestContext.Current.SendDiagnosticMessage($"Chromium runs in the host's network namespace ({reason}); Docker's interface changes can drop its requests (net::ERR_NETWORK_CHANGED).");
            var playwright = await Playwright.CreateAsync();
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = network?.ChromiumWrapper ?? chromium, Headless = true, Args = ChromiumArgs });
            var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1600, Height = 1000 } });
            var page = await context.NewPageAsync();
            // Generous: on a loaded 2-core machine a move inside the Studio has taken more than 60 s (a WaitForURL in CI).
            page.SetDefaultTimeout(120_000);
            return new BrowserSession(playwright, browser, page, network);
        }

        public async ValueTask DisposeAsync()
        {
            await browser.DisposeAsync();
            playwright.Dispose();
            network?.Dispose();
        }
    }
}
