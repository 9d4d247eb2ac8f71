using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;
using static DrWorkflows.Testing.Behaviour.ElsaJson;

namespace DrWorkflows.Activities.Tests.Http;

/// <summary>SmokeTest and CheckDiskSpace run by the real runtime from Elsa JSON.</summary>
public sealed class SmokeTestActivityTests : IDisposable
{
    private readonly WireMockServer server = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false });

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        server.Stop();
        server.Dispose();
    }

    [Fact]
    public async Task SmokeTest_takes_the_Failed_port_and_lists_every_failure()
    {
        server.Given(Request.Create().WithPath("/health").UsingGet()).RespondWith(Response.Create().WithStatusCode(200).WithBody("ok"));
        server.Given(Request.Create().WithPath("/api").UsingGet()).RespondWith(Response.Create().WithStatusCode(500));
        await using var host = WorkflowTestHost.Create(configure: s => s.AddHttpSmokeTests());
        var checks = $$"""[{"url": "{{server.Urls[0]}}/health", "bodyContains": ["ok"]}, {"url": "{{server.Urls[0]}}/api"}, {"url": "{{server.Urls[0]}}/missing", "expectedStatus": [404]}]""";

        var state = await host.RunAsync(Definition("smoke", Flowchart("flow",
            [
                Start(),
                Activity("DrWorkflows.SmokeTest", "smoke", $"\"checks\": {Obj(checks)}, \"failures\": {Bind("v-failures")}"),
                WriteLine("passed", "passed"),
                WriteLine("failed", "failed"),
            ],
            [Connect("start", "smoke"), Connect("smoke", "passed", "Passed"), Connect("smoke", "failed", "Failed")]),
            variables: [Variable("v-failures", "Failures", "Object", null)]), cancellationToken: Ct);

        Assert.Equal(["failed"], host.Output.Lines);
        var failures = state.Variables["v-failures"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        Assert.Equal([$"GET {server.Urls[0]}/api: status 500 Internal Server Error, expected 200"], failures);
    }

    [Fact]
    public async Task CheckDiskSpace_takes_the_Low_port_when_the_threshold_is_not_met()
    {
        using var dir = new TempDirectory("disk-activity");
        await using var host = WorkflowTestHost.Create(configure: s => s.AddHostActivities());

        await host.RunAsync(Definition("disk", Flowchart("flow",
            [
                Start(),
                Activity("DrWorkflows.CheckDiskSpace", "enough", $"\"path\": {Lit(dir.FullPath)}, \"maximumUsedPercent\": {Lit("100", "Double")}"),
                Activity("DrWorkflows.CheckDiskSpace", "low", $"\"path\": {Lit(dir.FullPath)}, \"minimumFreeBytes\": {Lit(long.MaxValue.ToString(), "Int64")}"),
                WriteLine("ok", "enough"),
                WriteLine("full", "low"),
            ],
            [Connect("start", "enough"), Connect("enough", "low", "Enough"), Connect("low", "full", "Low"), Connect("low", "ok", "Enough")])), cancellationToken: Ct);

        Assert.Equal(["low"], host.Output.Lines);
    }
}
