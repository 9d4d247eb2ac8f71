using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using DrWorkflows.Server.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace DrWorkflows.Server.Tests.Hardening;

/// <summary>
/// Body limits per route (413 past them, with or without a Content-Length), and brute force on keys throttled per
/// source address: the sign-in form and API keys that are not valid get 429 and a log line.
/// </summary>
public sealed partial class LimitTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("/elsa/api/workflow-definitions", BodyLimits.Definition)]
    [InlineData("/elsa/api/workflow-instances", BodyLimits.Small)]
    [InlineData("/elsa/api/bulk-actions/delete/workflow-instances/by-id", BodyLimits.Bulk)]
    [InlineData("/elsa/api/workflow-definitions/any/execute", BodyLimits.Default)]
    [InlineData("/api/approvals/x.y/approve", BodyLimits.Decision)]
    public async Task A_body_over_the_routes_limit_is_413_whether_its_length_is_declared_or_not(string path, long limit)
    {
        await using var server = new ServerFactory();
        var admin = server.Client();
        var json = "{\"pad\":\"" + new string('x', (int)limit) + "\"}";

        using var declared = new StringContent(json, Encoding.UTF8, "application/json");
        var withLength = await admin.PostAsync(path, declared, Ct);
        using var chunked = new StreamContent(new UnknownLengthStream(Encoding.UTF8.GetBytes(json)));
        chunked.Headers.ContentType = new("application/json");
        var withoutLength = await admin.PostAsync(path, chunked, Ct);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, withLength.StatusCode);
        Assert.Contains("limit", await withLength.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, withoutLength.StatusCode);
        Assert.Contains(server.Logs.Lines, l => l.Contains("over the route's limit", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_anonymous_sign_in_with_a_form_value_over_4_MiB_is_413_not_500()
    {
        await using var server = new ServerFactory();
        var client = server.Client(null);
        var form = "apiKey=" + new string('k', 5 * 1024 * 1024);

        using var declared = new StringContent(form, Encoding.UTF8, "application/x-www-form-urlencoded");
        var withLength = await client.PostAsync("/studio/signin", declared, Ct);
        using var chunked = new StreamContent(new UnknownLengthStream(Encoding.UTF8.GetBytes(form)));
        chunked.Headers.ContentType = new("application/x-www-form-urlencoded");
        var withoutLength = await client.PostAsync("/studio/signin", chunked, Ct);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, withLength.StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, withoutLength.StatusCode);
    }

    [Fact]
    public async Task Failed_API_keys_are_throttled_per_source_and_a_valid_key_from_that_source_waits_too()
    {
        await using var server = new ServerFactory(settings: new Dictionary<string, string> { ["DrWorkflows:Limits:FailedKeyAttemptsPerMinute"] = "5" });
        _ = server.Client();
        var attacker = IPAddress.Parse("203.0.113.7");
        var colleague = IPAddress.Parse("198.51.100.20");

        var statuses = new List<int>();
        for (var i = 0; i < 7; i++)
            statuses.Add(await GetAsync(server, attacker, "guess-" + i));
        var validFromAttacker = await GetAsync(server, attacker, ServerFactory.AdminKey);
        var validFromColleague = await GetAsync(server, colleague, ServerFactory.AdminKey);
        var wrongFromColleague = await GetAsync(server, colleague, "typo");

        Assert.Equal([401, 401, 401, 401, 401, 429, 429], statuses);
        Assert.Equal(429, validFromAttacker);
        Assert.Equal(200, validFromColleague);
        Assert.Equal(401, wrongFromColleague);
        Assert.Contains(server.Logs.Lines, l => l.Contains("Too many API key attempts from 203.0.113.7", StringComparison.Ordinal) && l.Contains("429", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Logs.Lines, l => l.Contains("198.51.100.20", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_sign_in_form_is_throttled_per_source_with_429_and_a_log_line()
    {
        await using var server = new ServerFactory(settings: new Dictionary<string, string> { ["DrWorkflows:Limits:SignInAttemptsPerMinute"] = "3" });
        using var browser = server.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        var page = await (await browser.GetAsync("/studio/signin", Ct)).Content.ReadAsStringAsync(Ct);
        var token = WebUtility.HtmlDecode(TokenPattern().Match(page).Groups[1].Value);

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["__antiforgery"] = token, ["apiKey"] = "guess-" + i, ["returnUrl"] = "/studio/" });
            var response = await browser.PostAsync("/studio/signin", form, Ct);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
                Assert.Equal("60", response.Headers.RetryAfter?.ToString());
        }

        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
        Assert.Contains(server.Logs.Lines, l => l.Contains("Too many sign-in attempts", StringComparison.Ordinal));
    }

    [Fact]
    public async Task On_Kestrel_a_NUL_in_the_path_and_a_body_over_the_limit_are_refused_before_the_handler()
    {
        await using var server = new ServerFactory(kestrelPort: DrWorkflows.Testing.FreePort.Get());
        using var admin = server.Client();

        var nul = await admin.GetAsync("/elsa/api/workflow-instances/%00", Ct);
        using var huge = new StringContent("{\"ids\":[\"" + new string('x', (int)BodyLimits.Bulk) + "\"]}", Encoding.UTF8, "application/json");
        var tooLarge = await admin.PostAsync("/elsa/api/bulk-actions/delete/workflow-instances/by-id", huge, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, nul.StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
    }

    private static async Task<int> GetAsync(ServerFactory server, IPAddress source, string key)
    {
        var context = await server.Server.SendAsync(http =>
        {
            http.Request.Method = "GET";
            http.Request.Path = "/elsa/api/workflow-definitions";
            http.Request.Headers.Authorization = "ApiKey " + key;
            http.Connection.RemoteIpAddress = source;
        }, Ct);
        return context.Response.StatusCode;
    }

    [GeneratedRegex("name=\"__antiforgery\" value=\"([^\"]+)\"")]
    private static partial Regex TokenPattern();

    /// <summary>A body sent without a Content-Length (as a chunked upload).</summary>
    private sealed class UnknownLengthStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
