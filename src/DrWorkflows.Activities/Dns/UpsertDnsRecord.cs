using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.Dns;

// SafeToRerun: an UPSERT of the same record set is idempotent; repeating it submits the same change again.
[Activity("DrWorkflows", "DNS", "Creates or replaces a DNS record (A, AAAA, CNAME, TXT) with a TTL and returns the change to wait for and the value it replaced.", SafeToRerun = true)]
public sealed class UpsertDnsRecord : CodeActivity
{
    [Input(Description = "Hosted zone id, e.g. Z1234567890ABC (or /hostedzone/Z1234567890ABC).", Required = true)]
    public Input<string>? ZoneId { get; set; }

    [Input(Description = "Record name, e.g. api.example.com.", Required = true)]
    public Input<string>? RecordName { get; set; }

    [Input(Description = "Record type.", Options = ["A", "AAAA", "CNAME", "TXT"], DefaultValue = "A")]
    public Input<string>? RecordType { get; set; }

    [Input(Description = "Value(s): IP addresses for A/AAAA, one host name for CNAME. Several values one per line or comma-separated.", Required = true)]
    public Input<List<string>>? Values { get; set; }

    [Input(Description = "TTL in seconds (the plan uses 60 for failover records).", DefaultValue = 60)]
    public Input<long>? Ttl { get; set; }

    [Input(Description = "Comment stored with the change (max 256 characters).")]
    public Input<string>? Comment { get; set; }

    [Output(Description = "Id of the submitted change, for WaitForDnsChange.")]
    public Output<string> ChangeId { get; set; } = new();

    [Output(Description = "The record's value(s) before the change, comma-separated; null when the record did not exist.")]
    public Output<string?> PreviousValue { get; set; } = new();

    [Output(Description = "The record's TTL before the change; null when the record did not exist.")]
    public Output<long?> PreviousTtl { get; set; } = new();

    protected override async ValueTask RunAsync(ActivityExecutionContext context)
    {
        var dns = context.GetRequiredService<IDnsProvider>();
        var zone = context.Get(ZoneId) ?? string.Empty;
        var name = context.Get(RecordName) ?? string.Empty;
        var type = DnsRecordTypes.Normalize(context.Get(RecordType, DnsRecordTypes.A));
        var values = context.Get(Values) ?? [];
        var ttl = context.Get(Ttl, 60L);

        var before = await dns.GetRecordAsync(zone, name, type, context.CancellationToken);
        var change = await dns.UpsertRecordAsync(zone, new DnsRecord(name, type, ttl, values), context.Get(Comment), context.CancellationToken);

        var previous = before is null ? null : string.Join(", ", before.AliasTarget is { } alias ? [alias] : before.Values);
        context.AddJournalData("dns", new JsonObject
        {
            ["provider"] = dns.Name,
            ["zone"] = zone,
            ["name"] = name,
            ["type"] = type,
            ["before"] = previous,
            ["beforeTtl"] = before?.Ttl,
            ["after"] = string.Join(", ", values),
            ["ttl"] = ttl,
            ["changeId"] = change.Id,
            ["status"] = change.Status,
        });
        context.Set(ChangeId, change.Id);
        context.Set(PreviousValue, previous);
        context.Set(PreviousTtl, before?.Ttl);
    }
}
