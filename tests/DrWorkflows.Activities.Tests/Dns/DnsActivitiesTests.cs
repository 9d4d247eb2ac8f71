using DrWorkflows.Activities.Dns;
using DrWorkflows.Activities.Tests.Notifications;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Activities.Primitives;
using DrWorkflows.Core.Building;
using DrWorkflows.Core.Execution;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace DrWorkflows.Activities.Tests.Dns;

/// <summary>The failover step of the plan (UPSERT the A record, wait for INSYNC) as a real run against the Route 53 stand-in.</summary>
public sealed class DnsActivitiesTests : IDisposable
{
    private const string Xmlns = "https://route53.amazonaws.com/doc/2013-04-01/";
    private readonly HttpStandIn route53 = HttpStandIn.Start();

    public void Dispose() => route53.Dispose();

    [Fact]
    public async Task Upserts_the_record_keeps_the_previous_value_and_waits_until_in_sync()
    {
        route53.Server.Given(Request.Create().WithPath("/2013-04-01/hostedzone/Z1234567890ABC/rrset").UsingGet()).RespondWith(Xml($"""
            <ListResourceRecordSetsResponse xmlns="{Xmlns}"><ResourceRecordSets><ResourceRecordSet><Name>api.example.com.</Name><Type>A</Type><TTL>300</TTL>
            <ResourceRecords><ResourceRecord><Value>198.51.100.7</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></ResourceRecordSets>
            <IsTruncated>false</IsTruncated><MaxItems>1</MaxItems></ListResourceRecordSetsResponse>
            """));
        route53.Server.Given(Request.Create().WithPath("/2013-04-01/hostedzone/Z1234567890ABC/rrset").UsingPost())
            .RespondWith(Xml($"""<ChangeResourceRecordSetsResponse xmlns="{Xmlns}"><ChangeInfo><Id>/change/C99</Id><Status>PENDING</Status><SubmittedAt>2026-11-01T03:00:00Z</SubmittedAt></ChangeInfo></ChangeResourceRecordSetsResponse>"""));
        route53.Server.Given(Request.Create().WithPath("/2013-04-01/change/C99").UsingGet())
            .RespondWith(Xml($"""<GetChangeResponse xmlns="{Xmlns}"><ChangeInfo><Id>/change/C99</Id><Status>INSYNC</Status><SubmittedAt>2026-11-01T03:00:00Z</SubmittedAt></ChangeInfo></GetChangeResponse>"""));
        await using var host = WorkflowTestHost.Create(configure: s => s
            .AddActivities(typeof(UpsertDnsRecord).Assembly)
            .AddRoute53(o =>
            {
                o.AccessKeyId = "AKIDEXAMPLE";
                o.SecretAccessKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
                o.Endpoint = route53.Url;
            }));
        var builder = new WorkflowBuilder("failover-dns", "Failover DNS").WithVariable<string>("Change");
        var flow = builder.Flowchart();
        var upsert = flow.Add(new UpsertDnsRecord
        {
            Id = "upsert",
            ZoneId = "Z1234567890ABC",
            RecordName = "api.example.com",
            RecordType = "A",
            Values = Input<List<string>>.FromJavaScript("['203.0.113.10']"),
            Ttl = 60L,
            ChangeId = new Output<string>("Change"),
        });
        var wait = flow.Add(new WaitForDnsChange { Id = "wait", ChangeId = Input<string>.FromVariable("Change"), Timeout = TimeSpan.FromMinutes(2) });
        flow.Chain(upsert, wait);
        flow.Connect(wait, flow.Add(new WriteLine { Text = "DNS in sync" }), WaitForDnsChange.InSyncOutcome);
        flow.Connect(wait, flow.Add(new WriteLine { Text = "DNS timed out" }), WaitForDnsChange.TimedOutOutcome);

        var state = await host.RunCodeAsync(builder);

        Assert.Equal(WorkflowSubStatus.Finished, state.SubStatus);
        Assert.Equal(["DNS in sync"], host.Output.Lines);
        Assert.Equal("C99", state.Variables["Change"]!.GetValue<string>());
        Assert.Equal("198.51.100.7", state.ActivityOutputs["upsert"]["PreviousValue"]!.GetValue<string>());
        Assert.Equal(300, state.ActivityOutputs["upsert"]["PreviousTtl"]!.GetValue<long>());
        Assert.Equal("INSYNC", state.ActivityOutputs["wait"]["Status"]!.GetValue<string>());
        Assert.Equal(["GET", "POST", "GET"], route53.Requests.Select(r => r.Method));
        Assert.Contains("<Value>203.0.113.10</Value>", route53.Requests[1].Body, StringComparison.Ordinal);
        var journal = await host.JournalAsync(state.Id);
        var dns = Assert.Single(journal, e => e.ActivityId == "upsert" && e.EventName == JournalEvents.Completed).Payload!["data"]!["dns"]!;
        Assert.Equal("198.51.100.7", dns["before"]!.GetValue<string>());
        Assert.Equal("203.0.113.10", dns["after"]!.GetValue<string>());
        Assert.DoesNotContain("EXAMPLEKEY", System.Text.Json.JsonSerializer.Serialize(journal), StringComparison.Ordinal);
    }

    private static IResponseBuilder Xml(string body) =>
        Response.Create().WithStatusCode(200).WithHeader("Content-Type", "text/xml").WithBody(body);
}
