using System.Threading.Channels;
using DrWorkflows.Core.Building;
using DrWorkflows.Core.Execution;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using WireMock;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;

namespace DrWorkflows.Activities.Tests.Notifications;

/// <summary>An in-process WireMock server on a free loopback port, with the requests it received in order.</summary>
internal sealed class HttpStandIn : IDisposable
{
    private HttpStandIn(WireMockServer server) => Server = server;

    public WireMockServer Server { get; }

    /// <summary>Base URL without a trailing slash, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public string Url => Server.Urls[0].TrimEnd('/');

    public static HttpStandIn Start() =>
        new(WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false }));

    public IReadOnlyList<IRequestMessage> Requests =>
        [.. Server.LogEntries.Select(e => e.RequestMessage).OfType<IRequestMessage>().OrderBy(r => r.DateTime)];

    /// <summary>A JSON answer with <paramref name="status"/>.</summary>
    public static IResponseBuilder Json(int status, string body) =>
        Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(body);

    public static string? Header(IRequestMessage request, string name) =>
        request.Headers?.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value?.FirstOrDefault();

    /// <summary>Waits (real time) until the stand-in has seen <paramref name="count"/> requests.</summary>
    public async Task WaitForRequestsAsync(int count, TimeSpan? timeout = null)
    {
        var deadline = Environment.TickCount64 + (long)(timeout ?? TimeSpan.FromSeconds(10)).TotalMilliseconds;
        while (Server.LogEntries.Count < count)
        {
            if (Environment.TickCount64 > deadline)
                throw new TimeoutException($"The stand-in saw {Server.LogEntries.Count} requests, expected {count}.");
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }

    public void Dispose()
    {
        Server.Stop();
        Server.Dispose();
    }
}

/// <summary>
/// A fake clock that reports each timer created on it (Task.Delay and Polly's waits create one), so a test can
/// advance time exactly when the code under test has started waiting, without races.
/// </summary>
internal sealed class SteppingClock(DateTimeOffset start) : FakeTimeProvider(start)
{
    private readonly Channel<TimeSpan> timers = Channel.CreateUnbounded<TimeSpan>();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        timers.Writer.TryWrite(dueTime);
        return timer;
    }

    /// <summary>Waits (real time, bounded) for the next timer and returns its due time.</summary>
    public async Task<TimeSpan> NextTimerAsync()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        return await timers.Reader.ReadAsync(timeout.Token);
    }

    /// <summary>Whether a timer was created and not yet taken by <see cref="NextTimerAsync"/>.</summary>
    public bool HasPendingTimer => timers.Reader.Count > 0;
}

internal static class WorkflowTestHostExtensions
{
    /// <summary>Publishes a workflow built in C#, starts it, and returns the run as stored when it stopped.</summary>
    public static async Task<WorkflowState> RunCodeAsync(this WorkflowTestHost host, WorkflowBuilder builder)
    {
        await host.Definitions.SaveAsync(builder.Build(host.Registry), publish: true, "code", isReadonly: true, TestContext.Current.CancellationToken);
        var started = await host.StartAsync(builder.DefinitionId, cancellationToken: TestContext.Current.CancellationToken);
        return await host.GetAsync(started.Id) ?? started;
    }
}

internal static class GitHubStandInExtensions
{
    /// <summary>Post-mortems go to the GitHub stand-in at <paramref name="url"/> (repository acme/platform, retries without delay).</summary>
    public static IServiceCollection AddGitHubStandIn(this IServiceCollection services, string url, int maxAttempts) =>
        services.AddGitHubPostMortems(o =>
        {
            o.Token = "ghp_activity";
            o.Owner = "acme";
            o.Repository = "platform";
            o.BaseUrl = url;
            o.MaxAttempts = maxAttempts;
            o.RetryDelay = TimeSpan.Zero;
        });
}
