using DrWorkflows.Activities.Dns;
using DrWorkflows.Activities.Tests.Notifications;
using Microsoft.Extensions.DependencyInjection;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace DrWorkflows.Activities.Tests.Dns;

/// <summary>
/// <c>Route53:MaxAttempts = 1</c> (retries off) passes validation, so the client must work with it: the shared
/// retry pipeline used to ask Polly for zero retries, which Polly refuses, and every call faulted with
/// "The 'RetryStrategyOptions' are invalid" (found by the host failover's real-parts test).
/// </summary>
public sealed class Route53SingleAttemptTests : IDisposable
{
    private const string Zone = "Z1234567890ABC";
    private const string Xmlns = "https://route53.amazonaws.com/doc/2013-04-01/";

    private readonly HttpStandIn route53 = HttpStandIn.Start();
    private readonly ServiceProvider services;
    private readonly IDnsProvider dns;

    public Route53SingleAttemptTests()
    {
        services = new ServiceCollection()
            .AddLogging()
            .AddRoute53(o =>
            {
                o.AccessKeyId = "AKIDEXAMPLE";
                o.SecretAccessKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
                o.Endpoint = route53.Url;
                o.MaxAttempts = 1;
                o.RetryDelay = TimeSpan.Zero;
            })
            .BuildServiceProvider();
        dns = services.GetRequiredService<IDnsProvider>();
    }

    public void Dispose()
    {
        services.Dispose();
        route53.Dispose();
    }

    [Fact]
    public async Task One_attempt_sends_the_change_once()
    {
        route53.Server.Given(Request.Create().WithPath($"/2013-04-01/hostedzone/{Zone}/rrset").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody($"""
                <ChangeResourceRecordSetsResponse xmlns="{Xmlns}"><ChangeInfo><Id>/change/C1</Id><Status>PENDING</Status><SubmittedAt>2026-03-01T10:00:00.000Z</SubmittedAt></ChangeInfo></ChangeResourceRecordSetsResponse>
                """));

        var change = await dns.UpsertRecordAsync(Zone, new DnsRecord("api.example.com", "A", 60, ["198.51.100.7"]), null, TestContext.Current.CancellationToken);

        Assert.Equal("C1", change.Id);
        Assert.Single(route53.Requests);
    }

    [Fact]
    public async Task One_attempt_does_not_retry_a_retryable_error()
    {
        route53.Server.Given(Request.Create().WithPath("/2013-04-01/change/C1").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(503).WithBody($"""
                <ErrorResponse xmlns="{Xmlns}"><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code><Message>Service is unavailable</Message></Error></ErrorResponse>
                """));

        var error = await Assert.ThrowsAsync<DnsOperationException>(() => dns.GetChangeAsync("C1", TestContext.Current.CancellationToken));

        Assert.True(error.Retryable);
        Assert.Single(route53.Requests);
    }
}
