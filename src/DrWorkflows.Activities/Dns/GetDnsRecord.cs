using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.Dns;

// SafeToRerun: read-only.
[Activity("DrWorkflows", "DNS", "Reads the current value(s) and TTL of a DNS record.", SafeToRerun = true, Outcomes = [FoundOutcome, NotFoundOutcome])]
public sealed class GetDnsRecord : CodeActivity
{
    public const string FoundOutcome = "Found";
    public const string NotFoundOutcome = "NotFound";

    [Input(Description = "Hosted zone id, e.g. Z1234567890ABC.", Required = true)]
    public Input<string>? ZoneId { get; set; }

    [Input(Description = "Record name, e.g. api.example.com.", Required = true)]
    public Input<string>? RecordName { get; set; }

    [Input(Description = "Record type.", Options = ["A", "AAAA", "CNAME", "TXT"], DefaultValue = "A")]
    public Input<string>? RecordType { get; set; }

    [Output(Description = "The record's values (the alias target for an alias record); empty when not found.")]
    public Output<List<string>> Values { get; set; } = new();

    [Output(Description = "The record's TTL in seconds; null when not found.")]
    public Output<long?> Ttl { get; set; } = new();

    protected override async ValueTask RunAsync(ActivityExecutionContext context)
    {
        var dns = context.GetRequiredService<IDnsProvider>();
        var record = await dns.GetRecordAsync(
            context.Get(ZoneId) ?? string.Empty,
            context.Get(RecordName) ?? string.Empty,
            context.Get(RecordType, DnsRecordTypes.A),
            context.CancellationToken);
        context.Set(Values, record is null ? [] : record.AliasTarget is { } alias ? [alias] : [.. record.Values]);
        context.Set(Ttl, record?.Ttl);
        await context.CompleteAsync(record is null ? NotFoundOutcome : FoundOutcome);
    }
}
