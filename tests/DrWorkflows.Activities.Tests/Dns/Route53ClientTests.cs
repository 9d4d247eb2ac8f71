using System.Text;
using System.Xml.Linq;
using DrWorkflows.Activities.Dns;
using DrWorkflows.Activities.Tests.Notifications;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using WireMock;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace DrWorkflows.Activities.Tests.Dns;

/// <summary>The Route 53 client against an in-process stand-in, checking the exact requests it sends.</summary>
public sealed class Route53ClientTests : IDisposable
{
    private const string AccessKey = "AKIDEXAMPLE";
    private const string SecretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    private const string Zone = "Z1234567890ABC";
    private const string Xmlns = "https://route53.amazonaws.com/doc/2013-04-01/";
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 10, 0, 0, TimeSpan.Zero);

    private readonly HttpStandIn route53 = HttpStandIn.Start();
    private readonly SteppingClock clock = new(Now);
    private readonly CapturingLoggerProvider logs = new();
    private readonly ServiceProvider services;
    private readonly IDnsProvider dns;

    public Route53ClientTests()
    {
        services = BuildServices(maxAttempts: 3);
        dns = services.GetRequiredService<IDnsProvider>();
    }

    private ServiceProvider BuildServices(int maxAttempts) =>
        new ServiceCollection()
            .AddLogging(b => b.AddProvider(logs))
            .AddSingleton<TimeProvider>(clock)
            .AddRoute53(o =>
            {
                o.AccessKeyId = AccessKey;
                o.SecretAccessKey = SecretKey;
                o.Endpoint = route53.Url;
                o.MaxAttempts = maxAttempts;
                o.RetryDelay = TimeSpan.Zero;
            })
            .BuildServiceProvider();

    public void Dispose()
    {
        services.Dispose();
        route53.Dispose();
    }

    [Fact]
    public async Task Upsert_posts_a_signed_ChangeResourceRecordSets_document()
    {
        route53.Server.Given(Request.Create().WithPath($"/2013-04-01/hostedzone/{Zone}/rrset").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "text/xml").WithBody(ChangeInfo("ChangeResourceRecordSetsResponse", "PENDING")));

        var change = await dns.UpsertRecordAsync("/hostedzone/" + Zone, new DnsRecord("api.example.com", "a", 60, ["203.0.113.10"]), "Failover to DR", TestContext.Current.CancellationToken);

        Assert.Equal("C2682N5HXP0BZ4", change.Id);
        Assert.Equal("PENDING", change.Status);
        Assert.False(change.IsInSync);

        var request = Assert.Single(route53.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal($"/2013-04-01/hostedzone/{Zone}/rrset", request.AbsolutePath);
        Assert.Equal("application/xml", HttpStandIn.Header(request, "Content-Type"));
        Assert.Equal("20260301T100000Z", HttpStandIn.Header(request, "X-Amz-Date"));
        AssertSignedAsSent(request, "content-type;host;x-amz-date");

        var expected = XDocument.Parse($"""
            <ChangeResourceRecordSetsRequest xmlns="{Xmlns}">
              <ChangeBatch>
                <Comment>Failover to DR</Comment>
                <Changes>
                  <Change>
                    <Action>UPSERT</Action>
                    <ResourceRecordSet>
                      <Name>api.example.com.</Name>
                      <Type>A</Type>
                      <TTL>60</TTL>
                      <ResourceRecords>
                        <ResourceRecord><Value>203.0.113.10</Value></ResourceRecord>
                      </ResourceRecords>
                    </ResourceRecordSet>
                  </Change>
                </Changes>
              </ChangeBatch>
            </ChangeResourceRecordSetsRequest>
            """);
        var sent = XDocument.Parse(request.Body!);
        Assert.True(XNode.DeepEquals(Normalize(expected.Root!), Normalize(sent.Root!)), "Sent: " + request.Body);
        Assert.StartsWith("<?xml version=\"1.0\" encoding=\"utf-8\"?>", request.Body, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Upsert_of_a_CNAME_sends_its_single_value()
    {
        route53.Server.Given(Request.Create().WithPath($"/2013-04-01/hostedzone/{Zone}/rrset").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody(ChangeInfo("ChangeResourceRecordSetsResponse", "PENDING")));

        await dns.UpsertRecordAsync(Zone, new DnsRecord("www.example.com.", "CNAME", 300, ["dr.example.com"]), null, TestContext.Current.CancellationToken);

        var sent = XDocument.Parse(Assert.Single(route53.Requests).Body!);
        XNamespace ns = Xmlns;
        var set = sent.Descendants(ns + "ResourceRecordSet").Single();
        Assert.Equal("www.example.com.", set.Element(ns + "Name")!.Value);
        Assert.Equal("CNAME", set.Element(ns + "Type")!.Value);
        Assert.Equal("300", set.Element(ns + "TTL")!.Value);
        Assert.Equal(["dr.example.com"], set.Descendants(ns + "Value").Select(v => v.Value));
        Assert.Empty(sent.Descendants(ns + "Comment"));
    }

    [Fact]
    public async Task Invalid_records_are_refused_before_anything_is_sent()
    {
        var ct = TestContext.Current.CancellationToken;

        var cname = await Assert.ThrowsAsync<DnsOperationException>(() => dns.UpsertRecordAsync(Zone, new DnsRecord("www.example.com", "CNAME", 60, ["a.example.com", "b.example.com"]), null, ct));
        var type = await Assert.ThrowsAsync<DnsOperationException>(() => dns.UpsertRecordAsync(Zone, new DnsRecord("www.example.com", "MX", 60, ["10 mail.example.com"]), null, ct));
        var zone = await Assert.ThrowsAsync<DnsOperationException>(() => dns.UpsertRecordAsync("not a zone", new DnsRecord("www.example.com", "A", 60, ["192.0.2.1"]), null, ct));

        Assert.Contains("exactly one value", cname.Message, StringComparison.Ordinal);
        Assert.Contains("'MX' is not supported", type.Message, StringComparison.Ordinal);
        Assert.Contains("hosted zone id", zone.Message, StringComparison.Ordinal);
        Assert.Empty(route53.Requests);
    }

    [Fact]
    public async Task Get_record_lists_from_the_name_and_reads_the_current_values()
    {
        route53.Server.Given(Request.Create().WithPath($"/2013-04-01/hostedzone/{Zone}/rrset").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody($"""
                <?xml version="1.0" encoding="UTF-8"?>
                <ListResourceRecordSetsResponse xmlns="{Xmlns}">
                  <ResourceRecordSets>
                    <ResourceRecordSet>
                      <Name>api.example.com.</Name><Type>A</Type><TTL>300</TTL>
                      <ResourceRecords>
                        <ResourceRecord><Value>198.51.100.7</Value></ResourceRecord>
                        <ResourceRecord><Value>198.51.100.8</Value></ResourceRecord>
                      </ResourceRecords>
                    </ResourceRecordSet>
                  </ResourceRecordSets>
                  <IsTruncated>true</IsTruncated><NextRecordName>api.example.com.</NextRecordName><NextRecordType>AAAA</NextRecordType><MaxItems>1</MaxItems>
                </ListResourceRecordSetsResponse>
                """));

        var record = await dns.GetRecordAsync(Zone, "API.example.com", "A", TestContext.Current.CancellationToken);

        Assert.NotNull(record);
        Assert.Equal("api.example.com", record.Name);
        Assert.Equal(300, record.Ttl);
        Assert.Equal(["198.51.100.7", "198.51.100.8"], record.Values);
        var request = Assert.Single(route53.Requests);
        Assert.Equal("GET", request.Method);
        Assert.Equal("maxitems=1&name=API.example.com.&type=A", request.RawQuery?.TrimStart('?'));
        Assert.Null(request.Body);
        AssertSignedAsSent(request, "host;x-amz-date");
    }

    [Fact]
    public async Task Get_record_is_null_when_the_list_starts_at_another_record()
    {
        route53.Server.Given(Request.Create().WithPath($"/2013-04-01/hostedzone/{Zone}/rrset").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody($"""
                <ListResourceRecordSetsResponse xmlns="{Xmlns}"><ResourceRecordSets>
                  <ResourceRecordSet><Name>apix.example.com.</Name><Type>A</Type><TTL>60</TTL>
                    <ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord></ResourceRecords></ResourceRecordSet>
                </ResourceRecordSets><IsTruncated>false</IsTruncated><MaxItems>1</MaxItems></ListResourceRecordSetsResponse>
                """));

        Assert.Null(await dns.GetRecordAsync(Zone, "api.example.com", "A", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Waits_from_PENDING_to_INSYNC_polling_on_the_clock()
    {
        var path = "/2013-04-01/change/C2682N5HXP0BZ4";
        route53.Server.Given(Request.Create().WithPath(path).UsingGet()).InScenario("change").WillSetStateTo("polled-1")
            .RespondWith(Response.Create().WithStatusCode(200).WithBody(ChangeInfo("GetChangeResponse", "PENDING")));
        route53.Server.Given(Request.Create().WithPath(path).UsingGet()).InScenario("change").WhenStateIs("polled-1").WillSetStateTo("polled-2")
            .RespondWith(Response.Create().WithStatusCode(200).WithBody(ChangeInfo("GetChangeResponse", "PENDING")));
        route53.Server.Given(Request.Create().WithPath(path).UsingGet()).InScenario("change").WhenStateIs("polled-2")
            .RespondWith(Response.Create().WithStatusCode(200).WithBody(ChangeInfo("GetChangeResponse", "INSYNC")));

        var wait = dns.WaitForChangeAsync("/change/C2682N5HXP0BZ4", TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(10), clock, TestContext.Current.CancellationToken);
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(TimeSpan.FromSeconds(10), await clock.NextTimerAsync());
            clock.Advance(TimeSpan.FromSeconds(10));
        }

        var result = await wait;

        Assert.True(result.InSync);
        Assert.Equal("INSYNC", result.LastStatus.Status);
        Assert.Equal(3, result.Polls);
        Assert.Equal(TimeSpan.FromSeconds(20), result.Elapsed);
        Assert.Equal(3, route53.Requests.Count);
        Assert.All(route53.Requests, r => Assert.Equal(path, r.AbsolutePath));
        AssertSignedAsSent(route53.Requests[0], "host;x-amz-date");
    }

    [Fact]
    public async Task A_change_that_stays_PENDING_times_out_as_a_result_not_an_error()
    {
        route53.Server.Given(Request.Create().WithPath("/2013-04-01/change/CSLOW").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody(ChangeInfo("GetChangeResponse", "PENDING", "/change/CSLOW")));

        var wait = dns.WaitForChangeAsync("CSLOW", TimeSpan.FromSeconds(25), TimeSpan.FromSeconds(10), clock, TestContext.Current.CancellationToken);
        // Polls at 0, 10 and 20 s; the last wait is cut to the 5 s left, then one final poll.
        foreach (var due in new[] { 10, 10, 5 })
        {
            Assert.Equal(TimeSpan.FromSeconds(due), await clock.NextTimerAsync());
            clock.Advance(TimeSpan.FromSeconds(due));
        }

        var result = await wait;

        Assert.False(result.InSync);
        Assert.Equal("PENDING", result.LastStatus.Status);
        Assert.Equal(4, result.Polls);
        Assert.Equal(TimeSpan.FromSeconds(25), result.Elapsed);
        Assert.False(clock.HasPendingTimer);
    }

    [Fact]
    public async Task An_invalid_change_batch_fails_at_once_with_Route53s_reason()
    {
        route53.Server.Given(Request.Create().WithPath($"/2013-04-01/hostedzone/{Zone}/rrset").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(400).WithBody($"""
                <?xml version="1.0"?>
                <InvalidChangeBatch xmlns="{Xmlns}"><Messages><Message>RRSet with DNS name api.example.com. is not permitted in zone other.com.</Message></Messages><RequestId>b25f48e8-84fd-11e6-80d9-574e0c4664cb</RequestId></InvalidChangeBatch>
                """));

        var error = await Assert.ThrowsAsync<DnsOperationException>(() =>
            dns.UpsertRecordAsync(Zone, new DnsRecord("api.example.com", "A", 60, ["192.0.2.1"]), null, TestContext.Current.CancellationToken));

        Assert.False(error.Retryable);
        Assert.Equal("InvalidChangeBatch", error.ProviderCode);
        Assert.Equal(400, error.StatusCode);
        Assert.Contains("is not permitted in zone other.com.", error.Message, StringComparison.Ordinal);
        Assert.Contains($"UPSERT A api.example.com in zone {Zone}", error.Message, StringComparison.Ordinal);
        Assert.Single(route53.Requests);
    }

    [Fact]
    public async Task Throttling_is_retried_and_each_attempt_is_signed_afresh()
    {
        var path = $"/2013-04-01/hostedzone/{Zone}/rrset";
        route53.Server.Given(Request.Create().WithPath(path).UsingPost()).InScenario("throttle").WillSetStateTo("throttled")
            .RespondWith(Response.Create().WithStatusCode(400).WithBody(ErrorResponse("Throttling", "Rate exceeded")));
        route53.Server.Given(Request.Create().WithPath(path).UsingPost()).InScenario("throttle").WhenStateIs("throttled")
            .RespondWith(Response.Create().WithStatusCode(200).WithBody(ChangeInfo("ChangeResourceRecordSetsResponse", "PENDING")));

        var change = await dns.UpsertRecordAsync(Zone, new DnsRecord("api.example.com", "A", 60, ["192.0.2.1"]), null, TestContext.Current.CancellationToken);

        Assert.Equal("C2682N5HXP0BZ4", change.Id);
        Assert.Equal(2, route53.Requests.Count);
        Assert.Equal(route53.Requests[0].Body, route53.Requests[1].Body);
        Assert.All(route53.Requests, r => AssertSignedAsSent(r, "content-type;host;x-amz-date"));
        Assert.Contains(logs.Lines, l => l.Contains("Route 53 call failed on attempt 1, retrying", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Server_errors_are_retried_a_bounded_number_of_times_then_fail_clearly_without_leaking_the_key()
    {
        route53.Server.Given(Request.Create().WithPath("/2013-04-01/change/C1").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(503).WithBody(ErrorResponse("ServiceUnavailable", "Service is unavailable")));

        var error = await Assert.ThrowsAsync<DnsOperationException>(() => dns.GetChangeAsync("C1", TestContext.Current.CancellationToken));

        Assert.True(error.Retryable);
        Assert.Equal(503, error.StatusCode);
        Assert.Contains("HTTP 503 ServiceUnavailable", error.Message, StringComparison.Ordinal);
        Assert.Equal(3, route53.Requests.Count);
        Assert.DoesNotContain(SecretKey, logs.All, StringComparison.Ordinal);
        Assert.DoesNotContain(SecretKey, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_credentials_say_which_settings_to_check()
    {
        route53.Server.Given(Request.Create().WithPath("/2013-04-01/change/C1").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(403).WithBody(ErrorResponse("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")));

        var error = await Assert.ThrowsAsync<DnsOperationException>(() => dns.GetChangeAsync("C1", TestContext.Current.CancellationToken));

        Assert.False(error.Retryable);
        Assert.Contains("Route53:SecretAccessKey", error.Message, StringComparison.Ordinal);
        Assert.Single(route53.Requests);
    }

    [Fact]
    public void Options_are_validated_at_start()
    {
        using var provider = new ServiceCollection()
            .AddLogging()
            .AddRoute53(o => o.Endpoint = "not a url")
            .BuildServiceProvider();

        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<Route53Options>>().Value);

        Assert.Contains("Route53:AccessKeyId is required", error.Message, StringComparison.Ordinal);
        Assert.Contains("Route53:SecretAccessKey is required", error.Message, StringComparison.Ordinal);
        Assert.Contains("Route53:Endpoint 'not a url'", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Re-signs what the stand-in received (method, Host, path, query, signed headers, body) with the signer that
    /// the AWS test suite verifies, and compares with the Authorization header: the client signed exactly what it sent.
    /// </summary>
    // Route53:MaxAttempts = 1 (retries off) passes validation, so the client must work with it: the shared retry
    // pipeline used to ask Polly for zero retries, which Polly refuses, and every call faulted with "The
    // 'RetryStrategyOptions' are invalid" (found by the host failover's real-parts test).
    [Fact]
    public async Task One_attempt_sends_the_change_once()
    {
        using var single = BuildServices(maxAttempts: 1);
        route53.Server.Given(Request.Create().WithPath($"/2013-04-01/hostedzone/{Zone}/rrset").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody(ChangeInfo("ChangeResourceRecordSetsResponse", "PENDING", "/change/C1")));

        var change = await single.GetRequiredService<IDnsProvider>().UpsertRecordAsync(Zone, new DnsRecord("api.example.com", "A", 60, ["198.51.100.7"]), null, TestContext.Current.CancellationToken);

        Assert.Equal("C1", change.Id);
        Assert.Single(route53.Requests);
    }

    [Fact]
    public async Task One_attempt_does_not_retry_a_retryable_error()
    {
        using var single = BuildServices(maxAttempts: 1);
        route53.Server.Given(Request.Create().WithPath("/2013-04-01/change/C1").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(503).WithBody(ErrorResponse("ServiceUnavailable", "Service is unavailable")));

        var error = await Assert.ThrowsAsync<DnsOperationException>(() => single.GetRequiredService<IDnsProvider>().GetChangeAsync("C1", TestContext.Current.CancellationToken));

        Assert.True(error.Retryable);
        Assert.Single(route53.Requests);
    }

    private static void AssertSignedAsSent(IRequestMessage request, string signedHeaders)
    {
        var authorization = HttpStandIn.Header(request, "Authorization");
        Assert.NotNull(authorization);
        Assert.Matches(
            $"^AWS4-HMAC-SHA256 Credential={AccessKey}/20260301/us-east-1/route53/aws4_request, SignedHeaders={signedHeaders.Replace(";", "\\;", StringComparison.Ordinal)}, Signature=[0-9a-f]{{64}}$",
            authorization);

        var query = (request.RawQuery ?? string.Empty).TrimStart('?')
            .Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .Select(p => new KeyValuePair<string, string>(Uri.UnescapeDataString(p[0]), Uri.UnescapeDataString(p.Length > 1 ? p[1] : string.Empty)))
            .ToList();
        var headers = signedHeaders.Split(';')
            .Where(h => h is not ("host" or "x-amz-date"))
            .Select(h => new KeyValuePair<string, string>(h, HttpStandIn.Header(request, h)!))
            .ToList();
        var expected = AwsSigV4Signer.Sign(
            new SigV4Request
            {
                Method = request.Method,
                Host = HttpStandIn.Header(request, "Host")!,
                Path = request.AbsolutePath,
                Query = query,
                Headers = headers,
                PayloadHash = AwsSigV4Signer.HashPayload(Encoding.UTF8.GetBytes(request.Body ?? string.Empty)),
            },
            new AwsCredentials(AccessKey, SecretKey),
            "us-east-1",
            "route53",
            Now);
        Assert.Equal(expected.Authorization, authorization);
    }

    private static XElement Normalize(XElement element) =>
        new(element.Name, element.Attributes().Where(a => !a.IsNamespaceDeclaration), element.HasElements ? element.Elements().Select(Normalize) : (object)element.Value.Trim());

    private static string ChangeInfo(string root, string status, string id = "/change/C2682N5HXP0BZ4") => $"""
        <?xml version="1.0" encoding="UTF-8"?>
        <{root} xmlns="{Xmlns}"><ChangeInfo><Id>{id}</Id><Status>{status}</Status><SubmittedAt>2026-03-01T10:00:00.000Z</SubmittedAt></ChangeInfo></{root}>
        """;

    private static string ErrorResponse(string code, string message) => $"""
        <?xml version="1.0"?>
        <ErrorResponse xmlns="{Xmlns}"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>0e2f7d58-0000-0000-0000-000000000000</RequestId></ErrorResponse>
        """;
}
