using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;
using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Dns;

// SafeToRerun: it only reads the change's status.
[Activity("DrWorkflows", "DNS", "Waits until a DNS change is in sync on all of the provider's name servers, or a timeout passes.", SafeToRerun = true, Outcomes = [InSyncOutcome, TimedOutOutcome])]
public sealed class WaitForDnsChange : CodeActivity
{
    public const string InSyncOutcome = "InSync";
    public const string TimedOutOutcome = "TimedOut";

    [Input(Description = "The change id UpsertDnsRecord returned.", Required = true)]
    public Input<string>? ChangeId { get; set; }

    [Input(Description = "How long to wait, e.g. 00:05:00.", DefaultValue = "00:05:00")]
    public Input<TimeSpan>? Timeout { get; set; }

    [Input(Description = "Time between two status reads.", DefaultValue = "00:00:10")]
    public Input<TimeSpan>? PollInterval { get; set; }

    [Output(Description = "The last status read (INSYNC or PENDING for Route 53).")]
    public Output<string> Status { get; set; } = new();

    protected override async ValueTask RunAsync(ActivityExecutionContext context)
    {
        var dns = context.GetRequiredService<IDnsProvider>();
        var changeId = context.Get(ChangeId) ?? string.Empty;
        var result = await dns.WaitForChangeAsync(
            changeId,
            context.Get(Timeout, TimeSpan.FromMinutes(5)),
            context.Get(PollInterval, TimeSpan.FromSeconds(10)),
            context.Clock,
            context.CancellationToken);
        var logger = context.GetRequiredService<ILogger<WaitForDnsChange>>();
        var status = result.LastStatus.Status;
        Log.DnsChangeWaited(logger, changeId, status, result.Polls, result.Elapsed);
        context.AddJournalData("dns", new JsonObject
        {
            ["changeId"] = changeId,
            ["status"] = status,
            ["polls"] = result.Polls,
            ["waitedSeconds"] = Math.Round(result.Elapsed.TotalSeconds, 1),
        });
        context.Set(Status, status);
        await context.CompleteAsync(result.InSync ? InSyncOutcome : TimedOutOutcome);
    }
}
