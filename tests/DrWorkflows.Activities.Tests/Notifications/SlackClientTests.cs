using System.Text.Json.Nodes;
using DrWorkflows.Activities.Notifications;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace DrWorkflows.Activities.Tests.Notifications;

/// <summary>The Slack Web API client against an in-process stand-in, checking the exact requests sent.</summary>
public sealed class SlackClientTests : IDisposable
{
    private const string Token = "xoxb-1111-2222-test-token";
    private readonly HttpStandIn slack = HttpStandIn.Start();
    private readonly SteppingClock clock = new(new DateTimeOffset(2026, 3, 1, 14, 0, 0, TimeSpan.Zero));
    private readonly CapturingLoggerProvider logs = new();
    private readonly ServiceProvider services;
    private readonly ISlackClient client;

    public SlackClientTests()
    {
        services = new ServiceCollection()
            .AddLogging(b => b.AddProvider(logs))
            .AddSingleton<TimeProvider>(clock)
            .AddNotifications(o =>
            {
                o.Slack.BotToken = Token;
                o.Slack.BaseUrl = slack.Url + "/api/";
                o.Slack.DefaultChannel = "C0DEFAULT";
                o.Slack.MaxAttempts = 3;
                o.Slack.RetryDelay = TimeSpan.Zero;
            })
            .BuildServiceProvider();
        client = services.GetRequiredService<ISlackClient>();
    }

    public void Dispose()
    {
        services.Dispose();
        slack.Dispose();
    }

    [Fact]
    public async Task Posts_text_and_blocks_as_a_reply_in_the_incident_thread()
    {
        Reply("chat.postMessage", """{"ok":true,"channel":"C0INCIDENT","ts":"1772373600.000200","message":{"text":"x"}}""");
        var blocks = JsonNode.Parse("""[{"type":"section","text":{"type":"mrkdwn","text":"*Restore started*"}}]""")!.AsArray();

        var message = await client.PostMessageAsync("#incidents", "Restore started", blocks, "1772373000.000100", TestContext.Current.CancellationToken);

        Assert.Equal(new SlackMessage("C0INCIDENT", "1772373600.000200", "1772373000.000100"), message);
        Assert.Equal("1772373000.000100", message.ThreadRootTs);
        var request = Assert.Single(slack.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/api/chat.postMessage", request.AbsolutePath);
        Assert.Equal("Bearer " + Token, HttpStandIn.Header(request, "Authorization"));
        Assert.Equal("application/json; charset=utf-8", HttpStandIn.Header(request, "Content-Type"));
        AssertJson(
            """
            {"channel":"#incidents","text":"Restore started",
             "blocks":[{"type":"section","text":{"type":"mrkdwn","text":"*Restore started*"}}],
             "thread_ts":"1772373000.000100","unfurl_links":false}
            """,
            request.Body);
    }

    [Fact]
    public async Task A_message_without_thread_starts_one_in_the_default_channel()
    {
        Reply("chat.postMessage", """{"ok":true,"channel":"C0DEFAULT","ts":"1772373600.000300"}""");

        var message = await client.PostMessageAsync(string.Empty, "SEV-1 declared", null, null, TestContext.Current.CancellationToken);

        Assert.Null(message.ThreadTs);
        Assert.Equal("1772373600.000300", message.ThreadRootTs);
        AssertJson("""{"channel":"C0DEFAULT","text":"SEV-1 declared","unfurl_links":false}""", Assert.Single(slack.Requests).Body);
    }

    [Fact]
    public async Task Updates_a_message_replacing_its_blocks()
    {
        Reply("chat.update", """{"ok":true,"channel":"C0INCIDENT","ts":"1772373600.000200","text":"Approved by Jane"}""");

        var message = await client.UpdateMessageAsync("C0INCIDENT", "1772373600.000200", "Approved by Jane", null, TestContext.Current.CancellationToken);

        Assert.Equal("1772373600.000200", message.Ts);
        var request = Assert.Single(slack.Requests);
        Assert.Equal("/api/chat.update", request.AbsolutePath);
        Assert.Equal("Bearer " + Token, HttpStandIn.Header(request, "Authorization"));
        AssertJson("""{"channel":"C0INCIDENT","ts":"1772373600.000200","text":"Approved by Jane","blocks":[]}""", request.Body);
    }

    [Fact]
    public async Task Ok_false_with_HTTP_200_fails_at_once_naming_Slacks_error()
    {
        Reply("chat.postMessage", """{"ok":false,"error":"channel_not_found"}""");

        var error = await Assert.ThrowsAsync<NotificationException>(() =>
            client.PostMessageAsync("C0GONE", "hello", null, null, TestContext.Current.CancellationToken));

        Assert.Equal("channel_not_found", error.ServiceError);
        Assert.Equal("slack.channel_not_found", error.Code);
        Assert.False(error.Retryable);
        Assert.Contains("Slack chat.postMessage to C0GONE failed: channel_not_found", error.Message, StringComparison.Ordinal);
        Assert.Contains("the bot can see it", error.Message, StringComparison.Ordinal);
        Assert.Single(slack.Requests);
    }

    [Fact]
    public async Task Invalid_auth_points_to_the_token_setting_without_showing_the_token()
    {
        Reply("chat.postMessage", """{"ok":false,"error":"invalid_auth"}""");

        var error = await Assert.ThrowsAsync<NotificationException>(() =>
            client.PostMessageAsync("C1", "hello", null, null, TestContext.Current.CancellationToken));

        Assert.Contains("Notifications:Slack:BotToken", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Token, logs.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_transient_Slack_error_is_retried()
    {
        slack.Server.Given(Request.Create().WithPath("/api/chat.postMessage").UsingPost()).InScenario("s").WillSetStateTo("failed-once")
            .RespondWith(Response.Create().WithStatusCode(200).WithBody("""{"ok":false,"error":"internal_error"}"""));
        slack.Server.Given(Request.Create().WithPath("/api/chat.postMessage").UsingPost()).InScenario("s").WhenStateIs("failed-once")
            .RespondWith(Response.Create().WithStatusCode(200).WithBody("""{"ok":true,"channel":"C1","ts":"1.2"}"""));

        var message = await client.PostMessageAsync("C1", "hello", null, null, TestContext.Current.CancellationToken);

        Assert.Equal("1.2", message.Ts);
        Assert.Equal(2, slack.Requests.Count);
        Assert.Equal(slack.Requests[0].Body, slack.Requests[1].Body);
    }

    [Fact]
    public async Task Rate_limited_waits_the_Retry_After_on_the_clock_then_retries()
    {
        slack.Server.Given(Request.Create().WithPath("/api/chat.postMessage").UsingPost()).InScenario("rl").WillSetStateTo("limited")
            .RespondWith(Response.Create().WithStatusCode(429).WithHeader("Retry-After", "30").WithBody(string.Empty));
        slack.Server.Given(Request.Create().WithPath("/api/chat.postMessage").UsingPost()).InScenario("rl").WhenStateIs("limited")
            .RespondWith(Response.Create().WithStatusCode(200).WithBody("""{"ok":true,"channel":"C1","ts":"1772373630.000100"}"""));

        var post = client.PostMessageAsync("C1", "update", null, "1772373000.000100", TestContext.Current.CancellationToken);

        Assert.Equal(TimeSpan.FromSeconds(30), await clock.NextTimerAsync());
        clock.Advance(TimeSpan.FromSeconds(29));
        await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.Single(slack.Requests);
        Assert.False(post.IsCompleted);

        clock.Advance(TimeSpan.FromSeconds(1));
        var message = await post;

        Assert.Equal("1772373630.000100", message.Ts);
        Assert.Equal(2, slack.Requests.Count);
        Assert.Contains(logs.Lines, l => l.Contains("Slack chat.postMessage rate limited; Slack asked to wait 00:00:30", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Rate_limited_every_time_fails_clearly_after_the_bounded_attempts()
    {
        slack.Server.Given(Request.Create().WithPath("/api/chat.postMessage").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(429).WithHeader("Retry-After", "2").WithBody(string.Empty));

        var post = client.PostMessageAsync("C1", "update", null, null, TestContext.Current.CancellationToken);
        for (var retry = 0; retry < 2; retry++)
        {
            Assert.Equal(TimeSpan.FromSeconds(2), await clock.NextTimerAsync());
            clock.Advance(TimeSpan.FromSeconds(2));
        }

        var error = await Assert.ThrowsAsync<NotificationException>(() => post);

        Assert.Equal(3, error.Attempts);
        Assert.Equal(3, slack.Requests.Count);
        Assert.Equal("ratelimited", error.ServiceError);
        Assert.Contains("Slack chat.postMessage to C1 failed after 3 attempts (the service last asked to wait 2 s)", error.Message, StringComparison.Ordinal);
        Assert.False(clock.HasPendingTimer);
    }

    [Fact]
    public async Task A_Retry_After_longer_than_allowed_is_not_waited_for()
    {
        slack.Server.Given(Request.Create().WithPath("/api/chat.postMessage").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(429).WithHeader("Retry-After", "600").WithBody(string.Empty));

        var error = await Assert.ThrowsAsync<NotificationException>(() =>
            client.PostMessageAsync("C1", "update", null, null, TestContext.Current.CancellationToken));

        Assert.Equal(TimeSpan.FromSeconds(600), error.RetryAfter);
        Assert.Contains("rate limited (HTTP 429, Retry-After 600 s)", error.Message, StringComparison.Ordinal);
        Assert.Single(slack.Requests);
        Assert.False(clock.HasPendingTimer);
    }

    [Fact]
    public async Task Server_errors_are_retried_then_reported_with_the_status()
    {
        slack.Server.Given(Request.Create().WithPath("/api/chat.postMessage").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(503).WithBody("upstream unavailable"));

        var error = await Assert.ThrowsAsync<NotificationException>(() =>
            client.PostMessageAsync("C1", "update", null, null, TestContext.Current.CancellationToken));

        Assert.Equal(3, slack.Requests.Count);
        Assert.Contains("failed after 3 attempts", error.Message, StringComparison.Ordinal);
        Assert.Contains("HTTP 503 from Slack", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Not_configured_says_which_key_to_set_and_sends_nothing()
    {
        using var unconfigured = new ServiceCollection().AddLogging().AddNotifications(o => o.Slack.BaseUrl = slack.Url + "/api/").BuildServiceProvider();

        var error = await Assert.ThrowsAsync<NotificationException>(() =>
            unconfigured.GetRequiredService<ISlackClient>().PostMessageAsync("C1", "x", null, null, TestContext.Current.CancellationToken));

        Assert.Contains("Notifications__Slack__BotToken", error.Message, StringComparison.Ordinal);
        Assert.Empty(slack.Requests);
    }

    private void Reply(string method, string json) =>
        slack.Server.Given(Request.Create().WithPath("/api/" + method).UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(json));

    internal static void AssertJson(string expected, string? actual)
    {
        Assert.NotNull(actual);
        var expectedNode = JsonNode.Parse(expected);
        var actualNode = JsonNode.Parse(actual);
        Assert.True(JsonNode.DeepEquals(expectedNode, actualNode), $"Expected {expectedNode?.ToJsonString()}\nActual   {actualNode?.ToJsonString()}");
    }
}
