using DrWorkflows.Activities.Http;
using DrWorkflows.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;

namespace DrWorkflows.Activities.Tests.Http;

public sealed class SmokeTesterTests : IDisposable
{
    private readonly WireMockServer server = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false });
    private readonly HttpClient http = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Base => server.Urls[0];

    public void Dispose()
    {
        server.Stop();
        server.Dispose();
        http.Dispose();
    }

    [Fact]
    public async Task Every_check_is_reported_with_each_unmet_expectation()
    {
        server.Given(Request.Create().WithPath("/health").UsingGet()).RespondWith(Response.Create().WithStatusCode(200).WithBody("{\"status\":\"ok\",\"db\":\"up\"}"));
        server.Given(Request.Create().WithPath("/api/products").UsingGet()).RespondWith(Response.Create().WithStatusCode(503).WithBody("maintenance"));
        server.Given(Request.Create().WithPath("/slow").UsingGet()).RespondWith(Response.Create().WithStatusCode(200).WithDelay(TimeSpan.FromSeconds(3)));
        server.Given(Request.Create().WithPath("/login").UsingPost()).RespondWith(Response.Create().WithStatusCode(302));
        var closed = $"http://127.0.0.1:{FreePort.Get()}/";

        var report = await Create().RunAsync(
        [
            new SmokeCheck { Url = $"{Base}/health", BodyContains = ["\"status\":\"ok\"", "\"db\":\"up\""] },
            new SmokeCheck { Url = $"{Base}/api/products", BodyContains = ["products"] },
            new SmokeCheck { Url = $"{Base}/slow", Timeout = TimeSpan.FromMilliseconds(300) },
            new SmokeCheck { Url = $"{Base}/login", Method = "POST", ExpectedStatus = [301, 302] },
            new SmokeCheck { Url = closed },
            new SmokeCheck { Url = "ftp://example/" },
        ], attempts: 1, TimeSpan.Zero, Ct);

        Assert.False(report.Passed);
        Assert.Equal(6, report.Results.Count);
        Assert.True(report.Results[0].Passed, report.Results[0].ToString());
        Assert.True(report.Results[3].Passed, report.Results[3].ToString());
        Assert.Equal(["status 503 Service Unavailable, expected 200", "body does not contain \"products\""], report.Results[1].Failures);
        Assert.Equal(503, report.Results[1].Status);
        Assert.Equal(["no answer within 0.3 s"], report.Results[2].Failures);
        Assert.StartsWith("request failed:", Assert.Single(report.Results[4].Failures));
        Assert.Contains("not an http(s) URL", Assert.Single(report.Results[5].Failures));
        Assert.Contains("4 of 6 checks failed", report.Summary);
    }

    [Fact]
    public async Task A_failing_check_is_retried_until_it_passes()
    {
        server.Given(Request.Create().WithPath("/warmup").UsingGet()).InScenario("warm").WillSetStateTo("1")
            .RespondWith(Response.Create().WithStatusCode(502));
        server.Given(Request.Create().WithPath("/warmup").UsingGet()).InScenario("warm").WhenStateIs("1")
            .RespondWith(Response.Create().WithStatusCode(200).WithBody("ready"));

        var report = await Create().RunAsync([new SmokeCheck { Url = $"{Base}/warmup", BodyContains = ["ready"] }], attempts: 3, TimeSpan.FromMilliseconds(50), Ct);

        Assert.True(report.Passed, report.Summary);
        Assert.Equal(2, report.Results[0].Attempts);
    }

    [Fact]
    public async Task Host_header_and_custom_headers_are_sent()
    {
        server.Given(Request.Create().WithPath("/").WithHeader("Host", "api.example.com").WithHeader("X-Drill", "1").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(204));

        var report = await Create().RunAsync(
            [new SmokeCheck { Url = $"{Base}/", ExpectedStatus = [204], Headers = new Dictionary<string, string> { ["Host"] = "api.example.com", ["X-Drill"] = "1" } }],
            1, TimeSpan.Zero, Ct);

        Assert.True(report.Passed, report.Summary);
    }

    // A generous default per check: on a loaded machine the stand-in's first answer can take longer than the product's
    // 10 s (the CI run of eb53da4 saw it). The test of a check's own timeout sets a short one on that check.
    private SmokeTester Create() => new(http, Options.Create(new SmokeTestOptions { DefaultTimeout = TimeSpan.FromSeconds(90) }), TimeProvider.System, NullLogger<SmokeTester>.Instance);
}
