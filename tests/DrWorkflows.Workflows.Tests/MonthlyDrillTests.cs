using System.Text;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Drills;
using DrWorkflows.Activities.PgBackRest;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace DrWorkflows.Workflows.Tests;

/// <summary>The monthly drill on the real runtime with fake IO: schedule, report, objectives, issue on a miss.</summary>
public sealed class MonthlyDrillTests
{
    private static readonly DateTimeOffset DrillStart = new(2026, 12, 1, 6, 30, 0, TimeSpan.Zero);

    private static readonly object Input = new { Store = "local" };

    /// <summary>Newest backups of every component, each <paramref name="mainAge"/> (main) or comfortably within its RPO.</summary>
    private static async Task SeedAsync(DrTestHost dr, TimeSpan mainAge)
    {
        var ct = DrTestHost.Ct;
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "main", "local", "ecommerce_db", ct, DrillStart - mainAge, verified: true);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ai_db", "ai", "local", "ai_db", ct, DrillStart.AddMinutes(-12), verified: true);
        await dr.Databases.WriteSetAsync(BackupKinds.Redis, "redis", "rdb", "local", null, ct, DrillStart.AddMinutes(-40), content: Encoding.ASCII.GetBytes("REDIS0011 fake rdb body"));
        await dr.Databases.WriteSetAsync(BackupKinds.Media, "media", "uploads", "local", null, ct, DrillStart.AddHours(-4));
    }

    /// <summary>
    /// The plan's objectives widened where its schedules cannot give them (PostgreSQL every 6 h, Redis and media daily,
    /// each set taking 5 minutes), so that a drill can pass.
    /// </summary>
    internal static void ObjectivesTheSchedulesCanGive(RecoveryObjectivesOptions o)
    {
        o.Components[RecoveryComponents.PostgresMain].Rpo = TimeSpan.FromHours(7);
        o.Components[RecoveryComponents.PostgresAi].Rpo = TimeSpan.FromHours(7);
        o.Components[RecoveryComponents.Redis].Rpo = TimeSpan.FromHours(25);
        o.Components[RecoveryComponents.Media].Rpo = TimeSpan.FromHours(25);
    }

    [Fact]
    public async Task A_drill_within_every_objective_reports_to_Slack_and_the_output_and_opens_no_issue()
    {
        await using var dr = await DrTestHost.StartAsync(DrillStart, services => services.AddDrills(ObjectivesTheSchedulesCanGive));
        await SeedAsync(dr, TimeSpan.FromMinutes(10));

        var run = await dr.RunAsync(MonthlyDrDrill.Id, Input);

        Assert.Equal(WorkflowSubStatus.Finished, run.SubStatus);
        Assert.True(run.Output["Passed"]!.GetValue<bool>(), run.Output["Summary"]?.ToString());
        var components = run.Output["Report"]!["components"]!.AsArray();
        Assert.Equal(["postgres-main", "postgres-ai", "redis", "media"], components.Select(c => c!["component"]!.ToString()));
        Assert.All(components, c => Assert.True(c!["succeeded"]!.GetValue<bool>()));
        Assert.All(components, c => Assert.True(c!["rpoCanHold"]!.GetValue<bool>()));
        Assert.Equal("00:10:00", components[0]!["rpoAchieved"]!.ToString());
        Assert.Equal("07:00:00", components[0]!["rpoTarget"]!.ToString());
        Assert.Equal("04:00:00", components[3]!["rpoAchieved"]!.ToString());
        dr.Calls.AssertOrder(
            "slack.post new :test_tube: *Monthly DR drill started*",
            "postgres.verify ecommerce_db main -> verified",
            "postgres.verify ai_db ai -> verified",
            "media.restore uploads -> ",
            "slack.post thread:1700000000.000001 *Monthly DR drill, run " + run.Id + "*: PASSED");
        Assert.Empty(dr.PostMortems.Requests);
        var journal = await dr.Host.JournalAsync(run.Id);
        Assert.Contains(journal, e => e.ActivityId == "checkObjectives" && e.EventName == JournalEvents.Completed && e.Payload?["data"]?["objectives"]?["components"] is not null);
        Assert.Contains(journal, e => e.ActivityId == "rehearseRedis" && e.Payload?["data"]?["rehearsal"]?["method"]?.ToString().Contains("RDB of 23 bytes", StringComparison.Ordinal) == true);
        Assert.Contains("Promises checked by design: ", run.Output["Summary"]!.ToString(), StringComparison.Ordinal);

        // The drill's restores are the measured restore times of the objectives report.
        var promises = await dr.Get<IRecoveryPromiseCheck>().CheckAsync(DrTestHost.Ct);
        var redisRto = Assert.Single(promises, p => p.Component == RecoveryComponents.Redis && p.Objective == RecoveryObjectiveNames.Rto);
        Assert.True(redisRto.CanHold);
        Assert.StartsWith($"The last measured restore took 0 (drill run {run.Id}, 2026-12-01 06:30 UTC), within the RTO of 15 min 00 s.", redisRto.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task On_the_plans_objectives_a_fresh_backup_does_not_make_an_RPO_met_that_cannot_hold_by_design()
    {
        await using var dr = await DrTestHost.StartAsync(DrillStart);
        await SeedAsync(dr, TimeSpan.FromMinutes(10));

        var run = await dr.RunAsync(MonthlyDrDrill.Id, Input);

        Assert.False(run.Output["Passed"]!.GetValue<bool>());
        var main = run.Output["Report"]!["components"]![0]!;
        Assert.Equal("00:10:00", main["rpoAchieved"]!.ToString());
        Assert.False(main["rpoMet"]!.GetValue<bool>());
        Assert.False(main["rpoCanHold"]!.GetValue<bool>());
        var summary = run.Output["Summary"]!.ToString();
        Assert.Contains("| PostgreSQL (Main) | missed | ", summary, StringComparison.Ordinal);
        Assert.Contains("10 min 00 s / 15 min 00 s ✗ (cannot hold by design)", summary, StringComparison.Ordinal);
        Assert.Contains("- PostgreSQL (Main): the RPO of 15 min 00 s cannot hold by design (this backup was 10 min 00 s old by chance): Backups every 6 h 00 min (workflow backup-postgres, cron 0 */6 * * *) + 5 min 00 s to back up and transfer", summary, StringComparison.Ordinal);
        Assert.Contains("- Redis Cache RPO 1 h 00 min cannot hold: Backups every 1 d 0 h (workflow backup-redis, cron 0 4 * * *)", summary, StringComparison.Ordinal);
        Assert.DoesNotContain("PASSED", summary, StringComparison.Ordinal);

        // Every component came back, but the drill failed: its issue says so.
        var issue = Assert.Single(dr.PostMortems.Requests);
        Assert.Equal("Recovered", issue.Details.Outcome);
        Assert.Contains("PostgreSQL (Main): the RPO of 15 min 00 s cannot hold by design", issue.Details.FailureReason, StringComparison.Ordinal);
        Assert.StartsWith("DR drill FAILED", issue.Details.Title, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_backup_older_than_the_RPO_misses_the_objective_and_opens_a_drill_issue_with_the_report()
    {
        await using var dr = await DrTestHost.StartAsync(DrillStart);
        await SeedAsync(dr, TimeSpan.FromHours(6.5));

        var run = await dr.RunAsync(MonthlyDrDrill.Id, Input);

        Assert.False(run.Output["Passed"]!.GetValue<bool>());
        Assert.Contains("PostgreSQL (Main): RPO 6 h 30 min exceeds the target 15 min 00 s", run.Output["Summary"]!.ToString(), StringComparison.Ordinal);
        var issue = Assert.Single(dr.PostMortems.Requests);
        Assert.True(issue.Details.IsDrill);
        Assert.Equal(["dr-drill"], issue.Labels);
        Assert.Contains("| PostgreSQL (Main) | missed |", issue.Details.Summary, StringComparison.Ordinal);
        Assert.Contains(dr.Calls.Calls, c => c.StartsWith("slack.post thread:1700000000.000001 :warning: Drill issue opened: https://github.com/acme/platform/issues/1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_backup_that_does_not_restore_fails_the_drill_for_that_component_and_the_others_are_still_measured()
    {
        await using var dr = await DrTestHost.StartAsync(DrillStart);
        await SeedAsync(dr, TimeSpan.FromMinutes(10));
        dr.Databases.VerificationProblems.Add("Table public.orders has 10 rows; the backup recorded 12.");

        var run = await dr.RunAsync(MonthlyDrDrill.Id, Input);

        var components = run.Output["Report"]!["components"]!.AsArray();
        Assert.All(components.Take(2), c => Assert.False(c!["succeeded"]!.GetValue<bool>()));
        Assert.All(components.Skip(2), c => Assert.True(c!["succeeded"]!.GetValue<bool>()));
        Assert.Contains("not recovered: Table public.orders has 10 rows", run.Output["Summary"]!.ToString(), StringComparison.Ordinal);
        Assert.Single(dr.PostMortems.Requests);
    }

    [Fact]
    public async Task The_drill_starts_by_itself_on_the_first_of_the_month_at_0630_UTC_exactly_once()
    {
        await using var dr = await DrTestHost.StartAsync(new DateTimeOffset(2026, 11, 30, 23, 0, 0, TimeSpan.Zero));
        var instances = dr.Get<IWorkflowInstanceStore>();

        await dr.AdvanceAsync(TimeSpan.FromHours(7)); // 06:00 on the 1st: not yet
        Assert.Empty(await DrillRunsAsync(instances));
        await dr.AdvanceAsync(TimeSpan.FromMinutes(30));
        await dr.AdvanceAsync(TimeSpan.FromMinutes(30));

        var run = Assert.Single(await DrillRunsAsync(instances));
        Assert.Equal("schedule:" + MonthlyDrDrill.Schedule, run.StartedBy);
        Assert.Equal(DrillStart, run.CreatedAt);
    }

    /// <summary>Writes no row: hands back a failure point and the measurement the test chose, and remembers what it was asked.</summary>
    private sealed class FakeRpoCanary(Func<CanaryRun, CanaryRpoMeasurement>? measure = null, string? writeFails = null) : IRpoCanary
    {
        public List<(CanaryRun Run, TimeSpan Duration)> Written { get; } = [];

        public List<CanaryRun> Measured { get; } = [];

        public Task<CanaryRun> WriteAsync(CanaryRun request, TimeSpan duration, CancellationToken cancellationToken)
        {
            Written.Add((request, duration));
            if (writeFails is not null)
                throw new PgBackRestException(PgBackRestErrorCodes.CommandFailed, writeFails);
            var failure = DrillStart.AddMinutes(3);
            return Task.FromResult(request with { Written = (int)duration.TotalSeconds, FirstWrittenAt = failure - duration, LastWrittenAt = failure.AddMilliseconds(-40), FailurePoint = failure, LastArchivedWal = "000000010000000000000007", ArchivedThroughLsn = "0/8000000" });
        }

        public Task<CanaryRpoMeasurement> MeasureAsync(CanaryRun run, CancellationToken cancellationToken)
        {
            Measured.Add(run);
            return Task.FromResult(measure!(run));
        }
    }

    private static CanaryRpoMeasurement Restored(CanaryRun run, TimeSpan rpo) => new()
    {
        Component = run.Component, FailurePoint = run.FailurePoint, NewestCanaryAt = run.FailurePoint - rpo, Rpo = rpo, Written = run.Written, Counted = run.Written - (int)rpo.TotalSeconds, NotCounted = 3,
        Method = "canaries restored with pgBackRest to latest from repository 2",
    };

    /// <summary>The plan's 15-minute RPO for PostgreSQL main, the others widened; no promise by design in the way (the canary alone judges).</summary>
    private static Task<DrTestHost> StartWithCanaryAsync(FakeRpoCanary canary) => DrTestHost.StartAsync(DrillStart, services =>
    {
        services.AddDrills(o =>
        {
            ObjectivesTheSchedulesCanGive(o);
            o.Components[RecoveryComponents.PostgresMain].Rpo = TimeSpan.FromMinutes(15);
        });
        services.Replace(ServiceDescriptor.Singleton<IRecoveryPromiseCheck>(new NoPromises()));
        services.AddSingleton<IRpoCanary>(canary);
    });

    private sealed class NoPromises : IRecoveryPromiseCheck
    {
        public Task<IReadOnlyList<RecoveryPromise>> CheckAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<RecoveryPromise>>([]);
    }

    private static readonly object ArchivedMain = new { Store = "local", MainContainer = "ecommerce_postgres", MainStanza = "ecommerce" };

    [Fact]
    public async Task Where_pgBackRest_archives_the_main_database_its_RPO_is_the_one_measured_with_canaries_and_judges_the_drill()
    {
        var canary = new FakeRpoCanary(run => Restored(run, TimeSpan.FromSeconds(42)));
        await using var dr = await StartWithCanaryAsync(canary);
        await SeedAsync(dr, TimeSpan.FromHours(5)); // the dump alone would miss 15 min: the canary decides

        var run = await dr.RunAsync(MonthlyDrDrill.Id, ArchivedMain);

        Assert.True(run.Output["Passed"]!.GetValue<bool>(), run.Output["Summary"]?.ToString());
        var (written, duration) = Assert.Single(canary.Written);
        Assert.Equal(("postgres-main", "ecommerce_postgres", "ecommerce", "postgres"), (written.Component, written.Container, written.Stanza, written.Database));
        Assert.Equal(TimeSpan.FromSeconds(125), duration); // two archive_timeouts of 60 s + 5 s
        Assert.Equal(run.Id + "/writeCanariesMain", written.Run);
        Assert.Equal(DrillStart.AddMinutes(3), Assert.Single(canary.Measured).FailurePoint);
        var main = run.Output["Report"]!["components"]![0]!;
        Assert.Equal("00:00:42", main["rpoAchieved"]!.ToString());
        Assert.True(main["rpoMet"]!.GetValue<bool>());
        Assert.Equal("00:00:42", main["canary"]!["rpo"]!.ToString());
        // The AI database is not archived (no container, nothing in PgBackRest:Archiving): its RPO stays the backup's age.
        var ai = run.Output["Report"]!["components"]![1]!;
        Assert.Equal("00:12:00", ai["rpoAchieved"]!.ToString());
        Assert.Null(ai["canary"]);
        var summary = run.Output["Summary"]!.ToString();
        Assert.Contains("| PostgreSQL (Main) | met | ", summary, StringComparison.Ordinal);
        Assert.Contains("42 s / 15 min 00 s (canary)", summary, StringComparison.Ordinal);
        Assert.Contains("- PostgreSQL (Main): 42 s (target 15 min 00 s): failure point 2026-12-01 06:33:00.000 UTC, newest canary restored 06:32:18.000 UTC; 83 of 125 canaries restored and counted, 3 written or archived after the failure point not counted", summary, StringComparison.Ordinal);
        var journal = await dr.Host.JournalAsync(run.Id);
        Assert.Contains(journal, e => e.ActivityId == "measureCanaryRpoMain" && e.Payload?["data"]?["canaryRpo"]?["rpo"]?.ToString() == "00:00:42");
        Assert.DoesNotContain(journal, e => e.ActivityId == "measureCanaryRpoAi");
        Assert.Empty(dr.PostMortems.Requests);
    }

    [Fact]
    public async Task A_canary_RPO_beyond_the_target_misses_it_even_with_a_fresh_dump()
    {
        var canary = new FakeRpoCanary(run => Restored(run, TimeSpan.FromMinutes(20)));
        await using var dr = await StartWithCanaryAsync(canary);
        await SeedAsync(dr, TimeSpan.FromMinutes(2));

        var run = await dr.RunAsync(MonthlyDrDrill.Id, ArchivedMain);

        Assert.False(run.Output["Passed"]!.GetValue<bool>());
        var main = run.Output["Report"]!["components"]![0]!;
        Assert.Equal("00:20:00", main["rpoAchieved"]!.ToString());
        Assert.False(main["rpoMet"]!.GetValue<bool>());
        Assert.Contains("PostgreSQL (Main): RPO 20 min 00 s measured with canaries exceeds the target 15 min 00 s", run.Output["Summary"]!.ToString(), StringComparison.Ordinal);
        Assert.Contains("PostgreSQL (Main): RPO 20 min 00 s measured with canaries", Assert.Single(dr.PostMortems.Requests).Details.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_restore_without_any_canary_is_an_RPO_not_achieved_never_met()
    {
        var canary = new FakeRpoCanary(run => new CanaryRpoMeasurement { Component = run.Component, FailurePoint = run.FailurePoint, Written = run.Written, Problems = ["The restored copy holds none of the 125 canaries written before the failure point."] });
        await using var dr = await StartWithCanaryAsync(canary);
        await SeedAsync(dr, TimeSpan.FromMinutes(2));

        var run = await dr.RunAsync(MonthlyDrDrill.Id, ArchivedMain);

        Assert.False(run.Output["Passed"]!.GetValue<bool>());
        var main = run.Output["Report"]!["components"]![0]!;
        Assert.Null(main["rpoAchieved"]);
        Assert.False(main["rpoMet"]!.GetValue<bool>());
        var summary = run.Output["Summary"]!.ToString();
        Assert.Contains("| PostgreSQL (Main) | missed | ", summary, StringComparison.Ordinal);
        Assert.Contains("- / 15 min 00 s ✗ (canary)", summary, StringComparison.Ordinal);
        Assert.Contains("PostgreSQL (Main): the RPO measured with canaries was not achieved (target 15 min 00 s): The restored copy holds none of the 125 canaries", summary, StringComparison.Ordinal);
        Assert.Single(dr.PostMortems.Requests);
    }

    [Fact]
    public async Task Canaries_that_could_not_be_written_restore_nothing_and_miss_the_RPO()
    {
        var canary = new FakeRpoCanary(writeFails: "Writing RPO canaries into postgres in container 'ecommerce_postgres' failed (exit 2): could not connect to server");
        await using var dr = await StartWithCanaryAsync(canary);
        await SeedAsync(dr, TimeSpan.FromMinutes(2));

        var run = await dr.RunAsync(MonthlyDrDrill.Id, ArchivedMain);

        Assert.False(run.Output["Passed"]!.GetValue<bool>());
        Assert.Empty(canary.Measured);
        Assert.Contains("the RPO measured with canaries was not achieved (target 15 min 00 s): No canary was written into ecommerce_postgres, so nothing was restored and the RPO was not achieved: Writing RPO canaries into postgres in container 'ecommerce_postgres' failed (exit 2)", run.Output["Summary"]!.ToString(), StringComparison.Ordinal);
    }

    private static async Task<List<WorkflowState>> DrillRunsAsync(IWorkflowInstanceStore instances)
    {
        var page = await instances.ListAsync(new InstanceQuery(DefinitionId: MonthlyDrDrill.Id), DrTestHost.Ct);
        var runs = new List<WorkflowState>();
        foreach (var item in page.Items)
            runs.Add((await instances.GetAsync(item.Id, DrTestHost.Ct))!);
        return runs;
    }
}
