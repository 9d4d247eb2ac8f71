using DrWorkflows.Activities.Drills;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Workflows.Tests.Drills;

/// <summary>The objectives table and the judgement of measured recoveries against it.</summary>
public sealed class RecoveryObjectivesTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 6, 30, 0, TimeSpan.Zero);

    private static RecoveryMeasurement Measured(string component, TimeSpan? rto, TimeSpan? dataAge, bool succeeded = true) => new()
    {
        Component = component,
        SetId = "set-" + component,
        Succeeded = succeeded,
        RecoveredAt = rto is { } r ? Start + r : null,
        BackupTakenAt = dataAge is { } a ? Start - a : null,
        Problems = succeeded ? [] : ["pg_restore: error: could not read input file"],
    };

    [Fact]
    public void The_defaults_are_the_plans_objectives_table()
    {
        var o = new RecoveryObjectivesOptions();

        Assert.Equal(10, o.Components.Count); // the plan's table and its Docker configuration backup
        Assert.Equal((TimeSpan.FromMinutes(30), TimeSpan.FromMinutes(15)), (o.Components["postgres-main"].Rto, o.Components["postgres-main"].Rpo));
        Assert.Equal((TimeSpan.FromMinutes(30), TimeSpan.FromMinutes(15)), (o.Components["postgres-ai"].Rto, o.Components["postgres-ai"].Rpo));
        Assert.Equal((TimeSpan.FromMinutes(15), TimeSpan.FromHours(1)), (o.Components["redis"].Rto, o.Components["redis"].Rpo));
        Assert.Equal((TimeSpan.FromHours(4), TimeSpan.FromHours(24)), (o.Components["media"].Rto, o.Components["media"].Rpo));
        Assert.Equal((TimeSpan.FromMinutes(10), TimeSpan.Zero), (o.Components["nginx"].Rto, o.Components["nginx"].Rpo));
        Assert.Equal((TimeSpan.FromMinutes(30), TimeSpan.FromHours(24)), (o.Components["monitoring"].Rto, o.Components["monitoring"].Rpo));
        Assert.Equal(("backup-monitoring", "monitoring", "monitoring"), (o.Components["monitoring"].BackupWorkflow, o.Components["monitoring"].BackupKind, o.Components["monitoring"].BackupSource));
        Assert.Equal(("backup-docker-config", "docker-config", "platform"), (o.Components["docker-config"].BackupWorkflow, o.Components["docker-config"].BackupKind, o.Components["docker-config"].BackupSource));
        Assert.Equal("P1 - High", o.Components["REDIS"].Priority);
        Assert.Equal(TimeSpan.FromMinutes(60), o.DrillRtoTarget);
    }

    [Fact]
    public void Configuration_changes_one_objective_and_adds_components_keeping_the_other_defaults()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Drills:Components:postgres-main:Rpo"] = "00:05:00",
            ["Drills:Components:search:DisplayName"] = "Search index",
            ["Drills:Components:search:Rto"] = "01:00:00",
            ["Drills:Components:search:Rpo"] = "12:00:00",
            ["Drills:DrillRtoTarget"] = "00:45:00",
        }).Build();
        using var services = new ServiceCollection().AddDrills(o => configuration.GetSection("Drills").Bind(o)).BuildServiceProvider();

        var o = services.GetRequiredService<IOptions<RecoveryObjectivesOptions>>().Value;

        Assert.Equal(TimeSpan.FromMinutes(5), o.Components["postgres-main"].Rpo);
        Assert.Equal(TimeSpan.FromMinutes(30), o.Components["postgres-main"].Rto);
        Assert.Equal("PostgreSQL (Main)", o.Components["postgres-main"].DisplayName);
        Assert.Equal("Search index", o.Components["search"].DisplayName);
        Assert.Equal(11, o.Components.Count);
        Assert.Equal(TimeSpan.FromMinutes(45), o.DrillRtoTarget);
    }

    [Fact]
    public void Invalid_objectives_are_refused_at_start_with_the_setting_named()
    {
        using var services = new ServiceCollection().AddDrills(o =>
        {
            o.Components["redis"].Rto = TimeSpan.Zero;
            o.Components["media"].Rpo = TimeSpan.FromMinutes(-1);
            o.DrillRtoTarget = TimeSpan.Zero;
        }).BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<RecoveryObjectivesOptions>>().Value);

        Assert.Contains("Drills:Components:redis:Rto must be positive", error.Message, StringComparison.Ordinal);
        Assert.Contains("Drills:Components:media:Rpo must be zero (stateless) or positive", error.Message, StringComparison.Ordinal);
        Assert.Contains("Drills:DrillRtoTarget must be positive", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Achieved_RTO_is_recovered_minus_start_and_RPO_is_start_minus_the_newest_recovered_data()
    {
        var report = RecoveryObjectivesCalculator.Evaluate(
            [Measured("postgres-main", TimeSpan.FromMinutes(12), TimeSpan.FromMinutes(9)), Measured("media", TimeSpan.FromMinutes(50), TimeSpan.FromHours(20))],
            Start, Start.AddHours(1), new RecoveryObjectivesOptions());

        Assert.True(report.AllMet);
        var main = report.Components[0];
        Assert.Equal((TimeSpan.FromMinutes(12), TimeSpan.FromMinutes(9)), (main.RtoAchieved, main.RpoAchieved));
        Assert.True(main.Met);
        Assert.Equal(TimeSpan.FromMinutes(50), report.OverallRto);
        Assert.True(report.OverallRtoMet);
        Assert.Contains("| PostgreSQL (Main) | met | 12 min 00 s / 30 min 00 s | 9 min 00 s / 15 min 00 s |", report.ToMarkdown("Drill"), StringComparison.Ordinal);
    }

    [Fact]
    public void Each_kind_of_miss_is_named_with_the_measured_value_and_the_target()
    {
        var report = RecoveryObjectivesCalculator.Evaluate(
            [
                Measured("postgres-main", TimeSpan.FromMinutes(41), TimeSpan.FromMinutes(5)),
                Measured("postgres-ai", TimeSpan.FromMinutes(3), TimeSpan.FromHours(6)),
                Measured("redis", null, TimeSpan.FromMinutes(30), succeeded: false),
                Measured("media", TimeSpan.FromMinutes(3), null),
                Measured("backend", TimeSpan.FromMinutes(2), null),
                Measured("search", TimeSpan.FromMinutes(1), null),
            ],
            Start, Start.AddHours(1), new RecoveryObjectivesOptions());

        Assert.False(report.AllMet);
        Assert.Equal(
            [
                "PostgreSQL (Main): RTO 41 min 00 s exceeds the target 30 min 00 s",
                "PostgreSQL (AI): RPO 6 h 00 min exceeds the target 15 min 00 s",
                "Redis Cache: not recovered: pg_restore: error: could not read input file",
                "Media Files (Volume): no backup found, the RPO target 1 d 0 h cannot be met",
                "search: no objective configured",
            ],
            report.Missed);
        Assert.True(report.Components.Single(c => c.Component == "backend").Met); // stateless: RPO 0 without a backup
        Assert.Null(report.OverallRto); // a component was not recovered: the whole was not
        Assert.False(report.OverallRtoMet);
        Assert.Contains("No recovery objective is configured for component 'search'", report.Components[^1].Problems[0], StringComparison.Ordinal);
    }

    [Fact]
    public void The_whole_drill_misses_when_it_takes_longer_than_the_drill_target_even_if_each_component_is_within_its_own()
    {
        var options = new RecoveryObjectivesOptions();
        var report = RecoveryObjectivesCalculator.Evaluate([Measured("media", TimeSpan.FromMinutes(75), TimeSpan.FromHours(1))], Start, Start.AddHours(2), options);

        Assert.True(report.Components[0].Met);
        Assert.Equal(["Whole recovery took 1 h 15 min, more than the target 1 h 00 min"], report.Missed);
        Assert.Equal("Nothing was measured: the drill restored no component.", Assert.Single(RecoveryObjectivesCalculator.Evaluate([], Start, Start, options).Missed));
    }

    [Theory]
    [InlineData("0 */6 * * *", 6 * 60)]
    [InlineData("0 4 * * *", 24 * 60)]
    [InlineData("0 3 * * 0", 7 * 24 * 60)]
    [InlineData("0 2,14 * * *", 12 * 60)]
    [InlineData("30 6 1 * *", 31 * 24 * 60)]
    [InlineData("0 1,3 * * *", 22 * 60)]
    public void The_backup_interval_of_a_schedule_is_its_longest_gap(string cron, int minutes) =>
        Assert.Equal(TimeSpan.FromMinutes(minutes), BackupIntervals.Longest(cron));

    [Fact]
    public void Two_triggers_of_one_backup_workflow_leave_the_gaps_between_their_runs()
    {
        var at = DateTimeOffset.UnixEpoch;
        var gap = BackupIntervals.Longest([new DrWorkflows.Core.Runtime.ScheduledTrigger("a", "backup", "n1", "Elsa.Cron", "0 0 * * *", at), new DrWorkflows.Core.Runtime.ScheduledTrigger("b", "backup", "n2", "Elsa.Cron", "0 6 * * *", at)]);

        Assert.Equal(TimeSpan.FromHours(18), gap);
    }

    [Fact]
    public void An_RPO_that_cannot_hold_by_design_is_missed_even_when_the_restored_backup_was_fresh()
    {
        var options = new RecoveryObjectivesOptions();
        RecoveryPromise[] promises = [new("postgres-main", RecoveryObjectiveNames.Rpo, TimeSpan.FromMinutes(15), false, true, "Backups every 6 h 00 min.")];

        var report = RecoveryObjectivesCalculator.Evaluate([Measured("postgres-main", TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(11))], Start, Start.AddMinutes(5), options, promises: promises);

        var main = Assert.Single(report.Components);
        Assert.False(main.RpoMet);
        Assert.False(main.RpoCanHold);
        Assert.Equal(TimeSpan.FromMinutes(11), main.RpoAchieved);
        Assert.Equal(["PostgreSQL (Main): the RPO of 15 min 00 s cannot hold by design (this backup was 11 min 00 s old by chance): Backups every 6 h 00 min."], report.Missed);
        Assert.DoesNotContain("PASSED", report.ToMarkdown("Drill"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, "0")]
    [InlineData(4.5, "4.5 s")]
    [InlineData(245, "4 min 05 s")]
    [InlineData(7800, "2 h 10 min")]
    [InlineData(277200, "3 d 5 h")]
    public void Durations_read_well(double seconds, string expected) =>
        Assert.Equal(expected, RecoveryObjectivesCalculator.Format(TimeSpan.FromSeconds(seconds)));
}
