using System.Net;
using System.Text.RegularExpressions;
using DrWorkflows.Testing;
using Microsoft.AspNetCore.Mvc.Testing;

namespace DrWorkflows.Server.Tests.Studio;

/// <summary>
/// The Studio's host pages and sign-in: nobody who is not signed in sees a key; signing in with a valid key sets
/// an HttpOnly, SameSite=Strict cookie (Secure on https) and the pages then hand that person's key to the Studio
/// elements; without the bundle the server still starts and says how to install it.
/// </summary>
public sealed partial class StudioPagesTests : IAsyncLifetime
{
    private readonly TempDirectory fakeBundle = new("fake-studio");
    private ServerFactory server = null!;

    public ValueTask InitializeAsync()
    {
        // A directory with the bundle's marker file: enough for the host pages (the browser tests use the real bundle).
        Directory.CreateDirectory(fakeBundle.Combine("_framework"));
        File.WriteAllText(fakeBundle.Combine("_framework", "blazor.webassembly.js"), "// marker");
        File.WriteAllText(fakeBundle.Combine("appsettings.json"), "{}");
        server = new ServerFactory(studioDirectory: fakeBundle.FullPath);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await server.DisposeAsync();
        fakeBundle.Dispose();
    }

    [Fact]
    public async Task Pages_need_sign_in_and_never_show_a_key_to_anyone_else()
    {
        using var browser = Browser();
        var landing = await browser.GetAsync("/studio/", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, landing.StatusCode);
        var html = await landing.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Contains("Sign in", html, StringComparison.Ordinal);
        Assert.DoesNotContain("api-key", html, StringComparison.Ordinal);
        Assert.DoesNotContain(ServerFactory.AdminKey, html, StringComparison.Ordinal);

        foreach (var page in (string[])["/studio/definitions", "/studio/definitions/x", "/studio/instances", "/studio/instances/y"])
        {
            var response = await browser.GetAsync(page, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.StartsWith("/studio/signin", response.Headers.Location!.PathAndQuery, StringComparison.Ordinal);
            Assert.DoesNotContain("api-key", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        }

        // An API key in the Authorization header does not open the pages: they need the sign-in cookie.
        using var withHeader = server.Client();
        Assert.Equal(HttpStatusCode.Redirect, (await withHeader.GetAsync("/studio/definitions", TestContext.Current.CancellationToken)).StatusCode);
    }

    [Fact]
    public async Task Signing_in_sets_a_protected_cookie_and_the_pages_embed_the_signed_in_key()
    {
        using var browser = Browser();
        var form = await SignInFormAsync(browser);
        var response = await browser.PostAsync("/studio/signin", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__antiforgery"] = form.Token, ["apiKey"] = ServerFactory.DesignerKey, ["returnUrl"] = "/studio/definitions/my-flow",
        }), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/studio/definitions/my-flow", response.Headers.Location!.OriginalString);
        var cookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("drw.studio=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/studio", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(ServerFactory.DesignerKey, cookie, StringComparison.Ordinal);

        var editor = await (await browser.GetAsync("/studio/definitions/my-flow", TestContext.Current.CancellationToken)).Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Contains("<elsa-workflow-definition-editor remote-endpoint=\"http://localhost/elsa/api\"", editor, StringComparison.Ordinal);
        Assert.Contains($"api-key=\"{ServerFactory.DesignerKey}\"", editor, StringComparison.Ordinal);
        Assert.Contains("definition-id=\"my-flow\"", editor, StringComparison.Ordinal);
        Assert.Contains("_framework/blazor.webassembly.js", editor, StringComparison.Ordinal);

        var pages = new Dictionary<string, string>
        {
            ["/studio/definitions"] = "<elsa-workflow-definition-list ",
            ["/studio/instances"] = "<elsa-workflow-instance-list ",
            ["/studio/instances/abc%22%3E"] = "instance-id=\"abc&quot;&gt;\"",
        };
        foreach (var (page, expected) in pages)
        {
            var pageResponse = await browser.GetAsync(page, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, pageResponse.StatusCode);
            Assert.Equal("no-store", pageResponse.Headers.CacheControl?.ToString());
            Assert.Contains(expected, await pageResponse.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        }

        // Signing out ends it.
        var signOut = await browser.PostAsync("/studio/signout", new FormUrlEncodedContent(new Dictionary<string, string> { ["__antiforgery"] = Token(editor) }), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Redirect, signOut.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync("/studio/definitions", TestContext.Current.CancellationToken)).StatusCode);
    }

    [Fact]
    public async Task Wrong_keys_forged_forms_and_foreign_return_urls_are_refused()
    {
        using var browser = Browser();
        var form = await SignInFormAsync(browser);
        var wrong = await browser.PostAsync("/studio/signin", Form(form.Token, "not-a-key", "/studio/"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Contains("not valid", await wrong.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.False(wrong.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith("drw.studio=", StringComparison.Ordinal)));

        var forged = await browser.PostAsync("/studio/signin", Form("forged", ServerFactory.AdminKey, "/studio/"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);

        form = await SignInFormAsync(browser);
        var foreign = await browser.PostAsync("/studio/signin", Form(form.Token, ServerFactory.AdminKey, "https://evil.example/"), TestContext.Current.CancellationToken);
        Assert.Equal("/studio/", foreign.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task The_cookie_is_secure_over_https()
    {
        using var browser = server.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true, BaseAddress = new Uri("https://localhost") });
        var form = await SignInFormAsync(browser);
        var response = await browser.PostAsync("/studio/signin", Form(form.Token, ServerFactory.AdminKey, "/studio/"), TestContext.Current.CancellationToken);
        var cookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("drw.studio=", StringComparison.Ordinal));
        Assert.Contains("secure", cookie, StringComparison.OrdinalIgnoreCase);
        var page = await (await browser.GetAsync("/studio/instances", TestContext.Current.CancellationToken)).Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Contains("remote-endpoint=\"https://localhost/elsa/api\"", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_the_bundle_the_server_runs_and_says_how_to_install_it()
    {
        await using var bare = new ServerFactory();
        using var browser = bare.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        var landing = await (await browser.GetAsync("/studio/", TestContext.Current.CancellationToken)).Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Contains("not installed", landing, StringComparison.Ordinal);
        Assert.Contains("src/DrWorkflows.Server/studio/install.sh", landing, StringComparison.Ordinal);

        var form = await SignInFormAsync(browser);
        await browser.PostAsync("/studio/signin", Form(form.Token, ServerFactory.AdminKey, "/studio/"), TestContext.Current.CancellationToken);
        var editor = await browser.GetAsync("/studio/definitions/x", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, editor.StatusCode);
        var text = await editor.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Contains("@elsa-workflows/elsa-studio-wasm@3.8.2", text, StringComparison.Ordinal);
        Assert.DoesNotContain(ServerFactory.AdminKey, text, StringComparison.Ordinal);

        using var api = bare.Client();
        Assert.Equal(HttpStatusCode.OK, (await api.GetJsonAsync("/elsa/api/descriptors/activities")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await browser.GetAsync("/studio/_framework/blazor.webassembly.js", TestContext.Current.CancellationToken)).StatusCode);
    }

    [Fact]
    public async Task Bundle_files_are_served_with_their_types_but_not_the_bundled_index_page()
    {
        using var browser = Browser();
        var script = await browser.GetAsync("/studio/_framework/blazor.webassembly.js", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/studio/appsettings.json", TestContext.Current.CancellationToken)).StatusCode);
        Assert.NotEqual(HttpStatusCode.OK, (await browser.GetAsync("/studio/index.html", TestContext.Current.CancellationToken)).StatusCode);
    }

    [Fact]
    public async Task Fingerprinted_bundle_files_are_immutable_the_others_revalidated_and_both_compressed()
    {
        File.WriteAllText(fakeBundle.Combine("_framework", "Elsa.Api.Client.mbze71icf3.wasm"), "wasm");
        File.WriteAllBytes(fakeBundle.Combine("_framework", "Elsa.Api.Client.mbze71icf3.wasm.br"), [1, 2, 3]);
        File.WriteAllBytes(fakeBundle.Combine("_framework", "blazor.webassembly.js.br"), [4, 5]);
        using var browser = Browser();

        using var wasm = await GetAsync(browser, "/studio/_framework/Elsa.Api.Client.mbze71icf3.wasm", "br");
        Assert.Equal(HttpStatusCode.OK, wasm.StatusCode);
        Assert.Equal("public, max-age=31536000, immutable", wasm.Headers.CacheControl?.ToString());
        Assert.Equal(["br"], wasm.Content.Headers.ContentEncoding);
        Assert.Equal("application/wasm", wasm.Content.Headers.ContentType?.MediaType);
        Assert.Equal([1, 2, 3], await wasm.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));

        using var script = await GetAsync(browser, "/studio/_framework/blazor.webassembly.js", "br");
        Assert.Equal("no-cache", script.Headers.CacheControl?.ToString());
        Assert.Equal(["br"], script.Content.Headers.ContentEncoding);
        var etag = script.Headers.ETag;
        Assert.NotNull(etag);
        using var again = new HttpRequestMessage(HttpMethod.Get, "/studio/_framework/blazor.webassembly.js");
        again.Headers.AcceptEncoding.ParseAdd("br");
        again.Headers.IfNoneMatch.Add(etag);
        using var revalidated = await browser.SendAsync(again, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotModified, revalidated.StatusCode);
    }

    private static async Task<HttpResponseMessage> GetAsync(HttpClient browser, string path, string acceptEncoding)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.AcceptEncoding.ParseAdd(acceptEncoding);
        return await browser.SendAsync(request, TestContext.Current.CancellationToken);
    }

    private HttpClient Browser() =>
        server.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });

    private static async Task<(string Html, string Token)> SignInFormAsync(HttpClient browser)
    {
        var html = await (await browser.GetAsync("/studio/signin", TestContext.Current.CancellationToken)).Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return (html, Token(html));
    }

    private static string Token(string html) => WebUtility.HtmlDecode(TokenPattern().Match(html).Groups[1].Value);

    private static FormUrlEncodedContent Form(string token, string key, string returnUrl) => new(new Dictionary<string, string>
    {
        ["__antiforgery"] = token, ["apiKey"] = key, ["returnUrl"] = returnUrl,
    });

    [GeneratedRegex("name=\"__antiforgery\" value=\"([^\"]+)\"")]
    private static partial Regex TokenPattern();
}
