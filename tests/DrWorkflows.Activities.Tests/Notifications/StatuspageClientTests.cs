using DrWorkflows.Activities.Notifications;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace DrWorkflows.Activities.Tests.Notifications;

/// <summary>The Statuspage client against an in-process stand-in, checking the exact requests sent.</summary>
public sealed class StatuspageClientTests : IDisposable
{
    private const string ApiKey = "sp-key-0123456789abcdef";
    private const string Page = "kctbh9vrtdwd";
    private readonly HttpStandIn statuspage = HttpStandIn.Start();
    private readonly CapturingLoggerProvider logs = new();
    private readonly ServiceProvider services;
    private readonly IStatusPageClient client;

    public StatuspageClientTests()
    {
        services = new ServiceCollection()
            .AddLogging(b => b.AddProvider(logs))
            .AddNotifications(o =>
            {
                o.StatusPage.ApiKey = ApiKey;
                o.StatusPage.PageId = Page;
                o.StatusPage.BaseUrl = statuspage.Url + "/v1/";
                o.StatusPage.MaxAttempts = 3;
                o.StatusPage.RetryDelay = TimeSpan.Zero;
            })
            .BuildServiceProvider();
        client = services.GetRequiredService<IStatusPageClient>();
    }

    public void Dispose()
    {
        services.Dispose();
        statuspage.Dispose();
    }

    [Fact]
    public async Task Creates_an_incident_with_impact_and_component_statuses()
    {
        statuspage.Server.Given(Request.Create().WithPath($"/v1/pages/{Page}/incidents").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(201).WithBody(Incident("p31zjtct2jer", "Database Restoration in Progress", "investigating", "2026-03-01T14:05:00.000Z")));

        var incident = await client.CreateIncidentAsync(
            new NewStatusPageIncident
            {
                Name = "Database Restoration in Progress",
                Body = "We are experiencing database issues and are working to restore service.",
                Impact = "Major",
                Components = new Dictionary<string, string> { ["8kbf7d35c070"] = "major_outage" },
            },
            TestContext.Current.CancellationToken);

        Assert.Equal("p31zjtct2jer", incident.Id);
        Assert.Equal("https://stspg.io/p31zjtct2jer", incident.Shortlink);
        Assert.False(incident.Adopted);
        var request = Assert.Single(statuspage.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal($"/v1/pages/{Page}/incidents", request.AbsolutePath);
        Assert.Equal("OAuth " + ApiKey, HttpStandIn.Header(request, "Authorization"));
        SlackClientTests.AssertJson(
            """
            {"incident":{
              "name":"Database Restoration in Progress","status":"investigating","deliver_notifications":true,
              "body":"We are experiencing database issues and are working to restore service.",
              "impact_override":"major",
              "component_ids":["8kbf7d35c070"],"components":{"8kbf7d35c070":"major_outage"}}}
            """,
            request.Body);
    }

    [Fact]
    public async Task A_rerun_adopts_the_open_incident_this_run_created()
    {
        statuspage.Server.Given(Request.Create().WithPath($"/v1/pages/{Page}/incidents/unresolved").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody($"[{Incident("older1", "Database Restoration in Progress", "investigating", "2026-03-01T09:00:00Z")},{Incident("ours22", "Database Restoration in Progress", "identified", "2026-03-01T14:05:00Z")}]"));

        var incident = await client.CreateIncidentAsync(
            new NewStatusPageIncident { Name = "Database Restoration in Progress", AdoptOpenIncidentSince = new DateTimeOffset(2026, 3, 1, 14, 0, 0, TimeSpan.Zero) },
            TestContext.Current.CancellationToken);

        Assert.Equal("ours22", incident.Id);
        Assert.True(incident.Adopted);
        var request = Assert.Single(statuspage.Requests);
        Assert.Equal("GET", request.Method);
        Assert.Equal("OAuth " + ApiKey, HttpStandIn.Header(request, "Authorization"));
    }

    [Fact]
    public async Task An_older_open_incident_is_not_adopted()
    {
        statuspage.Server.Given(Request.Create().WithPath($"/v1/pages/{Page}/incidents/unresolved").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody($"[{Incident("older1", "Database Restoration in Progress", "investigating", "2026-03-01T09:00:00Z")}]"));
        statuspage.Server.Given(Request.Create().WithPath($"/v1/pages/{Page}/incidents").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(201).WithBody(Incident("new333", "Database Restoration in Progress", "investigating", "2026-03-01T14:05:00Z")));

        var incident = await client.CreateIncidentAsync(
            new NewStatusPageIncident { Name = "Database Restoration in Progress", AdoptOpenIncidentSince = new DateTimeOffset(2026, 3, 1, 14, 0, 0, TimeSpan.Zero) },
            TestContext.Current.CancellationToken);

        Assert.Equal("new333", incident.Id);
        Assert.Equal(["GET", "POST"], statuspage.Requests.Select(r => r.Method));
    }

    [Fact]
    public async Task Updates_and_resolves_the_same_incident()
    {
        statuspage.Server.Given(Request.Create().WithPath($"/v1/pages/{Page}/incidents/p31zjtct2jer").UsingPatch())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody(Incident("p31zjtct2jer", "Database Restoration in Progress", "resolved", "2026-03-01T14:05:00Z")));

        await client.UpdateIncidentAsync("p31zjtct2jer", new StatusPageIncidentUpdate { Status = "identified", Body = "Backup from 13:45 UTC is being restored." }, TestContext.Current.CancellationToken);
        var resolved = await client.UpdateIncidentAsync(
            "p31zjtct2jer",
            new StatusPageIncidentUpdate { Status = "resolved", Body = "Service restored.", Components = new Dictionary<string, string> { ["8kbf7d35c070"] = "operational" } },
            TestContext.Current.CancellationToken);

        Assert.Equal("resolved", resolved.Status);
        Assert.Equal(2, statuspage.Requests.Count);
        Assert.All(statuspage.Requests, r => Assert.Equal("PATCH", r.Method));
        SlackClientTests.AssertJson("""{"incident":{"deliver_notifications":true,"status":"identified","body":"Backup from 13:45 UTC is being restored."}}""", statuspage.Requests[0].Body);
        SlackClientTests.AssertJson(
            """{"incident":{"deliver_notifications":true,"status":"resolved","body":"Service restored.","component_ids":["8kbf7d35c070"],"components":{"8kbf7d35c070":"operational"}}}""",
            statuspage.Requests[1].Body);
    }

    [Fact]
    public async Task Sets_a_component_status()
    {
        statuspage.Server.Given(Request.Create().WithPath($"/v1/pages/{Page}/components/8kbf7d35c070").UsingPatch())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody("""{"id":"8kbf7d35c070","status":"degraded_performance"}"""));

        await client.SetComponentStatusAsync("8kbf7d35c070", "degraded performance", TestContext.Current.CancellationToken);

        var request = Assert.Single(statuspage.Requests);
        Assert.Equal("PATCH", request.Method);
        Assert.Equal("OAuth " + ApiKey, HttpStandIn.Header(request, "Authorization"));
        SlackClientTests.AssertJson("""{"component":{"status":"degraded_performance"}}""", request.Body);
    }

    [Fact]
    public async Task Server_errors_on_an_update_are_retried()
    {
        var path = $"/v1/pages/{Page}/incidents/p31zjtct2jer";
        statuspage.Server.Given(Request.Create().WithPath(path).UsingPatch()).InScenario("u").WillSetStateTo("failed")
            .RespondWith(Response.Create().WithStatusCode(502).WithBody("Bad gateway"));
        statuspage.Server.Given(Request.Create().WithPath(path).UsingPatch()).InScenario("u").WhenStateIs("failed")
            .RespondWith(Response.Create().WithStatusCode(200).WithBody(Incident("p31zjtct2jer", "x", "monitoring", "2026-03-01T14:05:00Z")));

        var incident = await client.UpdateIncidentAsync("p31zjtct2jer", new StatusPageIncidentUpdate { Status = "monitoring", Body = "Watching." }, TestContext.Current.CancellationToken);

        Assert.Equal("monitoring", incident.Status);
        Assert.Equal(2, statuspage.Requests.Count);
    }

    [Fact]
    public async Task A_server_error_on_create_without_adoption_is_not_retried()
    {
        statuspage.Server.Given(Request.Create().WithPath($"/v1/pages/{Page}/incidents").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(500).WithBody("""{"error":"Internal error"}"""));

        var error = await Assert.ThrowsAsync<NotificationException>(() =>
            client.CreateIncidentAsync(new NewStatusPageIncident { Name = "Outage" }, TestContext.Current.CancellationToken));

        Assert.False(error.Retryable);
        Assert.Contains("HTTP 500: Internal error", error.Message, StringComparison.Ordinal);
        Assert.Contains("may have been created", error.Message, StringComparison.Ordinal);
        Assert.Single(statuspage.Requests);
    }

    [Fact]
    public async Task Unauthorized_points_to_the_api_key_without_showing_it()
    {
        statuspage.Server.Given(Request.Create().WithPath($"/v1/pages/{Page}/components/c1").UsingPatch())
            .RespondWith(Response.Create().WithStatusCode(401).WithBody("""{"error":"Could not authenticate"}"""));

        var error = await Assert.ThrowsAsync<NotificationException>(() =>
            client.SetComponentStatusAsync("c1", "operational", TestContext.Current.CancellationToken));

        Assert.Contains("Notifications:StatusPage:ApiKey", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(ApiKey, error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(ApiKey, logs.All, StringComparison.Ordinal);
        Assert.Single(statuspage.Requests);
    }

    [Fact]
    public async Task Unknown_statuses_are_refused_before_sending()
    {
        var error = await Assert.ThrowsAsync<NotificationException>(() =>
            client.UpdateIncidentAsync("p31zjtct2jer", new StatusPageIncidentUpdate { Status = "fixed" }, TestContext.Current.CancellationToken));

        Assert.Contains("'fixed' is not a Statuspage incident status", error.Message, StringComparison.Ordinal);
        Assert.Empty(statuspage.Requests);
    }

    private static string Incident(string id, string name, string status, string createdAt) =>
        $$"""{"id":"{{id}}","name":"{{name}}","status":"{{status}}","impact":"major","shortlink":"https://stspg.io/{{id}}","created_at":"{{createdAt}}","page_id":"{{Page}}"}""";
}
