using System.Net;
using System.Text.Json.Nodes;
using DrWorkflows.Server.Tests.GitOps;
using DrWorkflows.Testing;
using Microsoft.Playwright;
using WireMock.Server;
using WireMock.Settings;
using static DrWorkflows.Server.Tests.Studio.StudioBrowser;

namespace DrWorkflows.Server.Tests.Studio;

/// <summary>
/// GitOps in the real Studio (headless Chromium, Elsa Studio 3.8.2 bundle): a draft whose publish opened a pull
/// request shows "Awaiting review: #42" in the definition list, and a committed file from <c>workflows/</c> imports
/// through the list's Import button and opens in the editor.
/// </summary>
[TypicalDuration(68)]
public sealed class StudioGitOpsBrowserTests : IDisposable
{
    private readonly WireMockServer github = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false });

    public void Dispose() => github.Dispose();

    [Fact]
    public async Task The_list_shows_a_draft_awaiting_review_and_Import_takes_a_committed_file()
    {
        var chromium = TestServices.RequireChromium();
        var bundle = RequireBundle();
        var shots = ScreenshotDirectory();
        var committed = Path.Combine(AppContext.BaseDirectory, "repo-workflows", "backup-redis.json");
        var importedId = JsonNode.Parse(await File.ReadAllTextAsync(committed, TestContext.Current.CancellationToken))!["definitionId"]!.GetValue<string>();
        PublishPullRequestTests.StubPullRequest(github, PublishPullRequestTests.FirstBranch);
        await using var server = new ServerFactory(studioDirectory: bundle, kestrelPort: FreePort.Get(), settings: PublishPullRequestTests.GitOpsSettings(github.Urls[0]));
        using var designer = server.Client(ServerFactory.DesignerKey);
        var (status, body, _) = await designer.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = JsonNode.Parse(PublishPullRequestTests.Definition), ["publish"] = true });
        Assert.True(status == HttpStatusCode.Accepted, $"{status}: {body}");

        await using var session = await BrowserSession.StartAsync(chromium, server.BaseAddress);
        var page = session.Page;
        try
        {
            var baseUrl = server.BaseAddress.ToString().TrimEnd('/');
            await SignInAsync(page, baseUrl, "/studio/definitions");

            var row = page.Locator("tr.mud-table-row").Filter(new LocatorFilterOptions { HasText = "DR 6: Redis failure" });
            await row.WaitForAsync(new LocatorWaitForOptions { Timeout = 90_000 });
            // The Studio cuts long descriptions: the number is what shows (the full note, with the link, is in the list answer of the API).
            await Assertions.Expect(row).ToContainTextAsync("Awaiting review: #42");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "20-awaiting-review.png") });

            // Import a committed file through the list's Import button (its file input).
            var imported = await page.RunAndWaitForResponseAsync(
                () => page.Locator("input[type=file]").First.SetInputFilesAsync(committed),
                r => r.Url.Contains("/workflow-definitions/import", StringComparison.Ordinal) && r.Request.Method == "POST");
            Assert.True(imported.Status == 200, $"import answered {imported.Status}: {await imported.TextAsync()}");
            var (found, definition, _) = await designer.GetJsonAsync($"/elsa/api/workflow-definitions/by-definition-id/{importedId}?versionOptions=Latest");
            Assert.Equal(HttpStatusCode.OK, found);
            Assert.Equal(importedId, definition!["definitionId"]!.GetValue<string>());

            var importedRow = page.Locator("tr.mud-table-row").Filter(new LocatorFilterOptions { HasText = definition["name"]!.GetValue<string>() });
            await importedRow.WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
            await importedRow.ClickAsync();
            await ExpectAddressAsync(page, $"/studio/definitions/{importedId}");
            var firstActivity = definition["root"]!["activities"]![0]!["id"]!.GetValue<string>();
            await page.Locator($"g[data-cell-id=\"{firstActivity}\"]").WaitForAsync(new LocatorWaitForOptions { Timeout = 90_000 });
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "21-imported-committed-file.png") });

            await AssertNoProblemsAsync(session);
        }
        catch
        {
            await session.SaveFailureAsync("gitops");
            throw;
        }
    }
}
