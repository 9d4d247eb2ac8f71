using System.Text;
using System.Text.Json.Nodes;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Drills;
using DrWorkflows.Activities.Notifications;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// The plan's drill checklist on the real runtime with fake IO: the day before (roles, the readiness check, the team
/// told on Slack and by email, a failed check paged at once), and during the drill (every channel tested with a marked
/// message, each result as the service answered, the roles and the channel tests in the report, the report archived
/// as a set that reads back).
/// </summary>
public sealed class DrillChecklistTests
{
    private static readonly DateTimeOffset DrillStart = new(2026, 12, 1, 6, 30, 0, TimeSpan.Zero);

    private static CancellationToken Ct => DrTestHost.Ct;

    /// <summary>The contact tree of the test host plus a communications lead, and an SMTP relay (the fake records what it was given).</summary>
    private static void Team(IServiceCollection services)
    {
        services.Configure<NotificationsOptions>(o =>
        {
            o.Contacts.Roles[ContactRoles.CommunicationsLead] = [new ContactPerson { Name = "Cora", Email = "cora@example.com" }];
            o.Email.Host = "smtp.example.com";
            o.Email.From = "drw@example.com";
        });
        services.Configure<PostgresBackupOptions>(o => o.VerificationServer = "drill");
        services.AddDrills(MonthlyDrillTests.ObjectivesTheSchedulesCanGive);
    }

    private static async Task SeedS3Async(DrTestHost dr, DateTimeOffset taken, params string[] sources)
    {
        foreach (var source in sources)
        {
            var kind = source switch { "redis" => BackupKinds.Redis, "media" => BackupKinds.Media, _ => BackupKinds.Postgres };
            await dr.Databases.WriteSetAsync(kind, source, source + "-set", "s3", kind == BackupKinds.Postgres ? source : null, Ct, taken, verified: kind == BackupKinds.Postgres);
        }
    }

    [Fact]
    public async Task The_day_before_a_drill_whose_backups_are_missing_the_check_pages_on_call_and_stops_on_an_incident()
    {
        await using var dr = await DrTestHost.StartAsync(DrillStart.AddDays(-1).AddMinutes(-30), Team);
        // Only the main database reached S3; the AI database, Redis and media backups never did.
        await SeedS3Async(dr, DrillStart.AddDays(-1).AddHours(-2), "ecommerce_db");

        await dr.AdvanceAsync(TimeSpan.FromMinutes(30)); // 06:30 on the eve

        var run = Assert.Single(await RunsAsync(dr));
        Assert.Equal(DrillStart.AddDays(-1), run.CreatedAt);
        Assert.Equal("schedule:" + DrillEve.Schedule, run.StartedBy);
        Assert.Equal(WorkflowSubStatus.Faulted, run.SubStatus);
        var incident = Assert.Single(run.Incidents);
        Assert.Equal("checkReadiness", incident.ActivityId);
        Assert.Contains("The DR drill of 2026-12-01 06:30 UTC is not ready, on-call paged (slack, email: Ines)", incident.Message, StringComparison.Ordinal);
        Assert.Contains("No postgres backup of ai_db in store 's3'", incident.Message, StringComparison.Ordinal);
        Assert.Contains("No redis backup of redis in store 's3'", incident.Message, StringComparison.Ordinal);
        Assert.Contains("No media backup of media in store 's3'", incident.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("ecommerce_db", incident.Message, StringComparison.Ordinal);

        // Paged now, on Slack (mentioning the incident commander) and by email, not announced as if all were well.
        var page = Assert.Single(dr.Comms.SlackPosts);
        Assert.StartsWith(":rotating_light: *DR drill of 2026-12-01 06:30 UTC is NOT ready*", page.Text, StringComparison.Ordinal);
        Assert.Contains("No media backup of media in store", page.Text, StringComparison.Ordinal);
        Assert.Contains("<@U0INES0001>", page.Text, StringComparison.Ordinal);
        var mail = Assert.Single(dr.Comms.Emails);
        Assert.Equal(["ines@example.com"], mail.To);
        Assert.Contains("No media backup of media in store 's3'", mail.TextBody, StringComparison.Ordinal);
        Assert.DoesNotContain(dr.Comms.SlackPosts, p => p.Text.Contains("DR drill tomorrow", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_day_before_a_ready_drill_the_team_is_told_on_Slack_and_by_email_with_the_roles_and_other_days_nothing_happens()
    {
        await using var dr = await DrTestHost.StartAsync(DrillStart.AddDays(-2).AddMinutes(-30), Team);
        await SeedS3Async(dr, DrillStart.AddDays(-1).AddHours(-6), "ecommerce_db", "ai_db", "redis", "media");

        await dr.AdvanceAsync(TimeSpan.FromMinutes(30)); // two days before: not the eve
        var first = Assert.Single(await RunsAsync(dr));
        Assert.Equal(WorkflowSubStatus.Finished, first.SubStatus);
        Assert.Empty(dr.Comms.SlackPosts);
        Assert.Equal(FindNextDrill.NotDueOutcome, await dr.OutcomeAsync(first.Id, "drillTomorrow"));

        await dr.AdvanceAsync(TimeSpan.FromDays(1)); // the eve
        var eve = Assert.Single(await RunsAsync(dr), r => r.Id != first.Id);
        Assert.True(eve.SubStatus == WorkflowSubStatus.Finished, string.Join("; ", eve.Incidents.Select(i => i.Message)));
        Assert.Equal("2026-12-01 06:30 UTC", eve.Output["NextDrillAt"]!.ToString());
        // (The day also ran the daily backup verification, which has its own messages.)
        var announcement = Assert.Single(dr.Comms.SlackPosts, p => p.Text.Contains("DR drill", StringComparison.Ordinal));
        Assert.Equal(":calendar: *DR drill tomorrow*, 2026-12-01 06:30 UTC. Roles: Incident commander: Ines, Operations lead: Omar, Communications lead: Cora. Day-before check passed: DR environment, newest backups in S3, credentials. Review the DR procedures (docs/drills.md).", announcement.Text);
        var mail = Assert.Single(dr.Comms.Emails, m => m.Subject.Contains("DR drill", StringComparison.Ordinal));
        Assert.Equal(["ines@example.com", "omar@example.com", "cora@example.com"], mail.To);
        Assert.Equal("DR drill tomorrow, 2026-12-01 06:30 UTC", mail.Subject);

        // What the check looked at is the run's output: the DR environment answered and each backup is in S3.
        // (The scheduled backups of that day ran too and wrote newer sets; the check looks at the newest.)
        var readiness = eve.Output["Readiness"]!;
        Assert.Empty(readiness["problems"]!.AsArray());
        var items = readiness["checked"]!.AsArray().Select(c => c!.ToString()).ToList();
        Assert.True(items.Any(c => c.StartsWith("DR environment: PostgreSQL server 'drill'", StringComparison.Ordinal)), string.Join("\n", items));
        Assert.True(items.Any(c => System.Text.RegularExpressions.Regex.IsMatch(c, @"^media media: newest set \w+ in store 's3', (\d+ h )?\d+ min old, (not )?verified")), string.Join("\n", items));
        Assert.Contains("postgres.wait drill -> ready", dr.Calls.Calls);
        Assert.Equal(["Ines", "Omar", "Cora"], eve.Output["Roles"]!.AsArray().Select(r => r!["person"]!.ToString()));
    }

    [Fact]
    public async Task A_DR_environment_that_does_not_answer_fails_the_check_of_a_drill_started_by_hand()
    {
        await using var dr = await DrTestHost.StartAsync(DrillStart.AddDays(-10), Team);
        await SeedS3Async(dr, DrillStart.AddDays(-10).AddHours(-1), "ecommerce_db", "ai_db", "redis", "media");
        dr.Databases.Ready = false;

        var run = await dr.RunAsync(DrillEve.Id);

        var incident = Assert.Single(run.Incidents);
        Assert.Contains("DR environment: PostgreSQL server 'drill'", incident.Message, StringComparison.Ordinal);
        Assert.Contains("did not answer within 30 s or refused the credentials", incident.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("backup", incident.Message.Split("DR environment")[1], StringComparison.OrdinalIgnoreCase);
        Assert.StartsWith(":rotating_light:", Assert.Single(dr.Comms.SlackPosts).Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_drill_tests_every_channel_names_the_roles_and_archives_its_report_as_a_set_that_reads_back()
    {
        await using var dr = await DrTestHost.StartAsync(DrillStart, Team);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "main", "local", "ecommerce_db", Ct, DrillStart.AddMinutes(-10), verified: true);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ai_db", "ai", "local", "ai_db", Ct, DrillStart.AddMinutes(-12), verified: true);
        await dr.Databases.WriteSetAsync(BackupKinds.Redis, "redis", "rdb", "local", null, Ct, DrillStart.AddMinutes(-40), content: Encoding.ASCII.GetBytes("REDIS0011 fake rdb body"));
        await dr.Databases.WriteSetAsync(BackupKinds.Media, "media", "uploads", "local", null, Ct, DrillStart.AddHours(-4));
        dr.Comms.FailEmail = true; // the relay refuses: the report must say so, not that email works

        var run = await dr.RunAsync(MonthlyDrDrill.Id, new { Store = "local" });

        Assert.True(run.SubStatus == WorkflowSubStatus.Finished, string.Join("; ", run.Incidents.Select(i => i.Message)));
        Assert.True(run.Output["Passed"]!.GetValue<bool>(), run.Output["Summary"]?.ToString());
        var report = run.Output["Report"]!.AsObject();
        Assert.Equal(4, report["components"]!.AsArray().Count);

        // Roles from the contact tree, named in the report.
        Assert.Equal(
            ["Incident commander: Ines", "Operations lead: Omar", "Communications lead: Cora"],
            report["roles"]!.AsArray().Select(r => r!["title"] + ": " + r["person"]));

        // Each channel as its service answered: Slack gave a ts, the relay refused, Statuspage has no settings.
        var channels = report["channelTests"]!.AsArray().ToDictionary(c => c!["channel"]!.ToString(), c => c!.AsObject());
        Assert.Equal(DrillChannelResults.Delivered, channels["slack"]["result"]!.ToString());
        Assert.Matches(@"^channel C0INCIDENTS, ts 1700000000\.\d{6}$", channels["slack"]["receipt"]!.ToString());
        Assert.Equal(DrillChannelResults.Failed, channels["email"]["result"]!.ToString());
        Assert.Contains("554 rejected", channels["email"]["error"]!.ToString(), StringComparison.Ordinal);
        Assert.Equal(DrillChannelResults.NotConfigured, channels["statuspage"]["result"]!.ToString());
        var test = Assert.Single(dr.Comms.SlackPosts, p => p.Text.Contains("[DR DRILL TEST, no action needed]", StringComparison.Ordinal));
        Assert.Equal("1700000000.000001", test.ThreadTs); // in the drill's thread
        var summary = run.Output["Summary"]!.ToString();
        Assert.Contains("**Communication channels tested**: 1 of 3 delivered", summary, StringComparison.Ordinal);
        Assert.Contains("- email: failed: SMTP relay refused", summary, StringComparison.Ordinal);
        Assert.Contains(dr.Comms.SlackPosts, p => p.ThreadTs is not null && p.Text.Contains("- Communications lead: Cora", StringComparison.Ordinal));

        // Archived as a set in the backup store: found by its manifest, every file checked, its JSON the run's report.
        var archive = report["archive"]!;
        Assert.Equal(run.Id, archive["setId"]!.ToString());
        var set = await dr.Catalog.FindAsync(archive["store"]!.ToString(), BackupKinds.DrillReport, MonthlyDrDrill.Id, run.Id, Ct);
        Assert.NotNull(set);
        await dr.Catalog.VerifyChecksumsAsync(set, Ct);
        Assert.Equal(["report.json", "report.md"], set.Manifest.Files.Select(f => f.Name).Order(StringComparer.Ordinal));
        var archived = JsonNode.Parse(await ReadAsync(dr, set, "report.json"))!.AsObject();
        var withoutArchive = report.DeepClone().AsObject();
        withoutArchive.Remove("archive");
        Assert.True(JsonNode.DeepEquals(withoutArchive, archived), archived.ToJsonString());
        Assert.Equal(summary, await ReadAsync(dr, set, "report.md"));
    }

    private static async Task<string> ReadAsync(DrTestHost dr, BackupSet set, string name)
    {
        await using var stream = await dr.Catalog.OpenReadAsync(set, set.Manifest.Files.Single(f => f.Name == name), Ct);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync(Ct);
    }

    private static async Task<List<WorkflowState>> RunsAsync(DrTestHost dr)
    {
        var instances = dr.Get<IWorkflowInstanceStore>();
        var page = await instances.ListAsync(new InstanceQuery(DefinitionId: DrillEve.Id), Ct);
        var runs = new List<WorkflowState>();
        foreach (var item in page.Items)
            runs.Add((await instances.GetAsync(item.Id, Ct))!);
        return runs;
    }
}
