using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using DrWorkflows.Activities.Notifications;
using DrWorkflows.Core;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Activities.Scheduling;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Serialization;

namespace DrWorkflows.Activities.Drills;

/// <summary>The drill is not ready: the day-before check found problems (on-call was paged with them).</summary>
public sealed class DrillNotReadyException(string message) : ActivityFailureException(message)
{
    public const string NotReady = "drill.not-ready";
}

// Reads the clock only.
[Activity("DrWorkflows", "Drills", "Drill checklist: finds the next run of a drill's cron schedule and answers Due when it falls within the coming window (the day before the drill).",
    SafeToRerun = true, Outcomes = [DueOutcome, NotDueOutcome])]
public sealed class FindNextDrill : Activity
{
    public const string DueOutcome = "Due";
    public const string NotDueOutcome = "NotDue";

    [Input(Description = "The drill's cron expression (UTC), e.g. '30 6 1 * *'.", Required = true)]
    public Input<string>? CronExpression { get; set; }

    [Input(Description = "How far ahead a drill counts as due; default one day.")]
    public Input<TimeSpan?>? Within { get; set; }

    [Output(Description = "When the drill runs next (UTC).")]
    public Output<DateTimeOffset> NextDrillAt { get; set; } = new();

    [Output(Description = "When the drill runs next, as people read it: yyyy-MM-dd HH:mm UTC.")]
    public Output<string> NextDrillText { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var schedule = CronSchedule.Parse(context.Get(CronExpression) ?? string.Empty);
        var now = context.Clock.GetUtcNow();
        var within = context.Get(Within) ?? TimeSpan.FromDays(1);
        var next = schedule.GetNextOccurrence(now)
            ?? throw new ActivityFailureException($"The drill schedule '{schedule.Text}' never runs again.") { Code = "drill.no-next-run" };
        context.Set(NextDrillAt, next);
        context.Set(NextDrillText, next.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture));
        context.AddJournalData("nextDrill", new JsonObject { ["cron"] = schedule.Text, ["at"] = next, ["due"] = next - now <= within });
        await context.CompleteAsync(next - now <= within ? DueOutcome : NotDueOutcome);
    }
}

// Reads only (store listings, one connection); a repeat after a crash can at worst page twice for the same problems.
[Activity("DrWorkflows", "Drills", "Drill checklist, the day before: checks the DR environment (the server of the throwaway databases answers with its credentials), that the newest backups are in the drill's store (listing it proves its credentials), and that every drill role has a person. Any problem pages on-call at once and stops the run on an incident.",
    SafeToRerun = true)]
public sealed class CheckDrillReadiness : CodeActivity<DrillReadinessReport>
{
    [Input(Description = "Store the drill restores from; default s3.")]
    public Input<string>? Store { get; set; }

    [Input(Description = "Server of the drill's throwaway databases (a name of Postgres:Servers); default Postgres:VerificationServer.")]
    public Input<string>? Server { get; set; }

    [Input(Description = "The backups the drill restores (kind and source each).", Required = true)]
    public Input<List<DrillBackupSource>>? Backups { get; set; }

    [Input(Description = "The newest set of each source must be younger than this; default 26 h (the daily schedules plus slack).")]
    public Input<TimeSpan?>? MaxBackupAge { get; set; }

    [Input(Description = "When the drill runs, for the page (e.g. FindNextDrill's NextDrillText).")]
    public Input<string>? DrillAt { get; set; }

    protected override async ValueTask<DrillReadinessReport> RunAsync(ActivityExecutionContext context)
    {
        var store = context.Get(Store) is { Length: > 0 } s ? s.Trim() : "s3";
        var report = await context.GetRequiredService<IDrillChecklist>().CheckReadinessAsync(new DrillReadinessRequest
        {
            Store = store,
            Server = context.Get(Server) is { Length: > 0 } server ? server : null,
            Backups = context.Get(Backups) ?? [],
            MaxBackupAge = context.Get(MaxBackupAge) ?? TimeSpan.FromHours(26),
        }, context.CancellationToken);
        context.AddJournalData("readiness", JsonSerializer.SerializeToNode(report, Json.Options));
        if (report.Ready)
            return report;

        // Reported now, not at the drill: a page to on-call, then an incident on this step.
        var at = context.Get(DrillAt) is { Length: > 0 } when ? when : "the next drill";
        var problems = string.Join("\n", report.Problems.Select((p, i) => $"({i + 1}) {p}"));
        string paged;
        try
        {
            var receipt = await context.GetRequiredService<IOnCallPager>().PageAsync(
                new OnCallPage($"DR drill of {at} is NOT ready", $"The day-before check of the DR drill ({at}) found:\n{problems}\nFix them before the drill; run {context.WorkflowInstanceId}.") { Key = context.ExecutionId },
                context.CancellationToken);
            paged = $"on-call paged ({string.Join(", ", receipt.Channels)}: {string.Join(", ", receipt.People)})";
        }
        catch (NotificationException e)
        {
            paged = $"on-call could NOT be paged: {e.Message}";
        }

        context.AddJournalData("paged", paged);
        throw new DrillNotReadyException($"The DR drill of {at} is not ready, {paged}: {problems.Replace('\n', ' ')} Fix them and retry this step.") { Code = DrillNotReadyException.NotReady };
    }
}

// Reads the contact tree only.
[Activity("DrWorkflows", "Drills", "Drill checklist: assigns the drill roles (incident commander, operations lead, communications lead) from the contact tree, the first person of each role.",
    SafeToRerun = true)]
public sealed class AssignDrillRoles : CodeActivity<List<DrillRole>>
{
    protected override ValueTask<List<DrillRole>> RunAsync(ActivityExecutionContext context)
    {
        List<DrillRole> roles = [.. context.GetRequiredService<IDrillChecklist>().AssignRoles()];
        context.AddJournalData("roles", JsonSerializer.SerializeToNode(roles, Json.Options));
        return ValueTask.FromResult(roles);
    }
}

// SafeToRerun: a repeat sends one more marked test message per channel.
[Activity("DrWorkflows", "Drills", "Drill checklist, during the drill: sends a marked test message on every communication channel (Slack, email, Statuspage) and records what each service answered; a channel that failed or has no settings is recorded as such, never as delivered.",
    SafeToRerun = true)]
public sealed class TestCommunicationChannels : CodeActivity<List<ChannelTestResult>>
{
    [Input(Description = "Slack channel of the test message; default Notifications:Slack:DefaultChannel.")]
    public Input<string>? SlackChannel { get; set; }

    [Input(Description = "Slack thread the test message is posted in (the drill's thread).")]
    public Input<string>? SlackThread { get; set; }

    [Output(Description = "True when every channel delivered its test message.")]
    public Output<bool> AllDelivered { get; set; } = new();

    protected override async ValueTask<List<ChannelTestResult>> RunAsync(ActivityExecutionContext context)
    {
        var marker = $"[DR DRILL TEST, no action needed] Channel test of run {context.WorkflowInstanceId} ({context.Workflow.State.Name}).";
        List<ChannelTestResult> results = [.. await context.GetRequiredService<IDrillChecklist>().TestChannelsAsync(marker, context.Get(SlackChannel), context.Get(SlackThread), context.CancellationToken)];
        context.AddJournalData("channels", JsonSerializer.SerializeToNode(results, Json.Options));
        context.Set(AllDelivered, results.All(r => r.Delivered));
        return results;
    }
}

// SafeToRerun: the set's id is the run's id, so a repeat replaces the same set.
[Activity("DrWorkflows", "Drills", "Drill checklist, afterwards: adds the roles and the channel tests to the drill's report and archives it (report.json, report.md) as a set of kind drill-report in the backup store, read back and checked against its manifest.",
    SafeToRerun = true)]
public sealed class ArchiveDrillReport : CodeActivity<JsonObject>
{
    [Input(Description = "The drill's report (e.g. CheckRecoveryObjectives' Report).", Required = true)]
    public Input<JsonObject>? Report { get; set; }

    [Input(Description = "The report as Markdown.", Required = true)]
    public Input<string>? Summary { get; set; }

    [Input(Description = "The drill roles (AssignDrillRoles).")]
    public Input<List<DrillRole>>? Roles { get; set; }

    [Input(Description = "The channel tests (TestCommunicationChannels).")]
    public Input<List<ChannelTestResult>>? Channels { get; set; }

    [Input(Description = "Backup store of the archive; default store when empty.")]
    public Input<string>? Store { get; set; }

    [Output(Description = "The report's Markdown with the checklist (roles, channel tests) appended.")]
    public Output<string> Markdown { get; set; } = new();

    [Output(Description = "Where the report was archived.")]
    public Output<ArchivedDrillReport> Archive { get; set; } = new();

    protected override async ValueTask<JsonObject> RunAsync(ActivityExecutionContext context)
    {
        var report = context.Get(Report)?.DeepClone().AsObject() ?? [];
        var roles = context.Get(Roles) ?? [];
        var channels = context.Get(Channels) ?? [];
        report["roles"] = JsonSerializer.SerializeToNode(roles, Json.Options);
        report["channelTests"] = JsonSerializer.SerializeToNode(channels, Json.Options);
        report["runId"] = context.WorkflowInstanceId;
        var markdown = (context.Get(Summary) ?? string.Empty).TrimEnd() + "\n\n" + Checklist(roles, channels);
        var store = context.Get(Store) is { Length: > 0 } s ? s.Trim() : null;
        var archive = await context.GetRequiredService<IDrillChecklist>().ArchiveAsync(store, context.Workflow.State.DefinitionId, context.WorkflowInstanceId, report, markdown, context.CancellationToken);
        context.AddJournalData("archive", JsonSerializer.SerializeToNode(archive, Json.Options));
        var answered = report.DeepClone().AsObject();
        answered["archive"] = JsonSerializer.SerializeToNode(archive, Json.Options);
        context.Set(Markdown, markdown);
        context.Set(Archive, archive);
        return answered;
    }

    /// <summary>The checklist section of the drill report.</summary>
    internal static string Checklist(IReadOnlyList<DrillRole> roles, IReadOnlyList<ChannelTestResult> channels)
    {
        var lines = new List<string> { "**Roles** (from the contact tree)" };
        lines.AddRange(roles.Select(r => $"- {r.Title}: {r.Person ?? "NOBODY (no person in the contact tree)"}"));
        lines.Add(string.Empty);
        lines.Add($"**Communication channels tested**: {channels.Count(c => c.Delivered)} of {channels.Count} delivered");
        lines.AddRange(channels.Select(c => $"- {c.Channel}: {c.Result}{(c.Receipt is null ? string.Empty : " (" + c.Receipt + ")")}{(c.Error is null ? string.Empty : ": " + c.Error)}"));
        return string.Join("\n", lines);
    }
}
