using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Drills;
using DrWorkflows.Activities.GitHub;
using DrWorkflows.Activities.Notifications;
using DrWorkflows.Activities.PgBackRest;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Activities.Primitives;
using DrWorkflows.Core.Activities.Scheduling;
using DrWorkflows.Core.Building;
using DrWorkflows.Workflows.Shared;

namespace DrWorkflows.Workflows;

/// <summary>
/// The plan's monthly DR drill, on the first of every month (06:30 UTC): restores the newest backup of every
/// component into an isolated copy (a throwaway database on the verification server, a throwaway folder or file,
/// never production), measures the real RTO (drill start → restored and checked) and RPO (drill start − newest
/// backup; where pgBackRest archives a database's WAL, the RPO really achieved, measured with canaries: a row a second,
/// a failure point, a restore to latest into a throwaway, failure point − newest canary in it) per component, judges them against the plan's objectives, publishes the report (Slack thread, the
/// run's output, the journal) and opens a GitHub issue when the drill fails or misses an objective.
/// </summary>
public sealed class MonthlyDrDrill : ICodeWorkflow
{
    public const string Id = "dr-monthly-drill";

    /// <summary>First of the month, 06:30 UTC: half an hour after the 06:00 database backups, so it restores a fresh one.</summary>
    public const string Schedule = "30 6 1 * *";

    public string DefinitionId => Id;

    public string Name => "DR drill (monthly)";

    public void Build(WorkflowBuilder builder)
    {
        builder.WithDescription("Monthly DR drill (cron 30 6 1 * *, UTC): restores the newest backups of PostgreSQL main and AI, Redis and media into isolated throwaway copies, measures RTO and RPO per component against the plan's objectives, reports to Slack and as the run's output, and opens a GitHub issue when an objective is missed.")
            .WithInput<string>("Store", "Store the drill restores from; default s3 (the offsite copy, as in a real failover).")
            .WithInput<string>("Server", "Postgres:Servers name hosting the throwaway databases; default Postgres:VerificationServer. Never the production server.")
            .WithInput<string>("MainDatabase", "Source name of the main database backups; default ecommerce_db.")
            .WithInput<string>("AiDatabase", "Source name of the AI database backups; default ai_db.")
            .WithInput<string>("RedisSource", "Source name of the Redis backups; default redis.")
            .WithInput<string>("MediaSource", "Source name of the media backups; default media.")
            .WithInput<string>("MainContainer", "PostgreSQL container of the main database whose WAL pgBackRest archives; default PgBackRest:Archiving:postgres-main. With it, the RPO is measured with canaries.")
            .WithInput<string>("MainStanza", "pgBackRest stanza of the main database; default PgBackRest:Archiving:postgres-main.")
            .WithInput<string>("AiContainer", "PostgreSQL container of the AI database whose WAL pgBackRest archives; default PgBackRest:Archiving:postgres-ai.")
            .WithInput<string>("AiStanza", "pgBackRest stanza of the AI database; default PgBackRest:Archiving:postgres-ai.")
            .WithInput<int>("CanarySeconds", "How long the RPO canaries are written, one a second (10 to 600); default two archive_timeouts plus 5 s.")
            .WithInput<string>("ScratchDirectory", "Where throwaway folders and files are made (removed afterwards); default the temp directory.")
            .WithInput<string>("SlackChannel", "Slack channel of the drill report; default Notifications:Slack:DefaultChannel.")
            .WithInput<string>("ArchiveStore", "Backup store the drill report is archived in (a set of kind drill-report); default the default store.")
            .WithVariable<string>("SlackChannel")
            .WithVariable<string>("SlackThread")
            .WithOutput<bool>("Passed", "Every component recovered within its RTO and RPO, and the whole within the drill target.")
            .WithOutput<object>("Report", "Per component: achieved and target RTO and RPO, backup restored, how it was checked; the drill roles, each channel's test result, and where the report was archived.")
            .WithOutput<string>("Summary", "The report as Markdown.");

        var flow = builder.Flowchart();
        const string store = "getInput('Store') || 's3'";

        var cron = flow.Add(new Cron { Id = "firstOfTheMonth", CronExpression = new(Schedule) });
        cron.CustomProperties["canStartWorkflow"] = true;
        var announce = flow.Add(new SendSlackMessage
        {
            Id = "announce",
            Channel = Input<string>.FromJavaScript("getInput('SlackChannel') || ''"),
            Text = Input<string>.FromJavaScript("':test_tube: *Monthly DR drill started* (run ' + getWorkflowInstanceId() + '): restoring the newest backups into throwaway copies and timing each one.'"),
            ThreadRootTs = new("SlackThread"),
            ChannelId = new("SlackChannel"),
        });
        // Started by hand (API, CLI, Studio) the drill begins at Start; started by the schedule, at the cron trigger.
        var manual = flow.Add(new Core.Activities.Flowchart.Start { Id = "startedByHand" });
        flow.Connect(cron, announce);
        flow.Connect(manual, announce);

        // The checklist: the roles from the contact tree, and a marked test message on every channel (each result measured).
        var roles = flow.Add(new AssignDrillRoles { Id = "assignRoles" });
        Continue(flow, announce, roles);
        var channels = flow.Add(new TestCommunicationChannels
        {
            Id = "testChannels",
            SlackChannel = Input<string>.FromJavaScript("SlackChannel || getInput('SlackChannel') || ''"),
            SlackThread = Input<string>.FromJavaScript("SlackThread || ''"),
        });
        flow.Connect(roles, channels);

        Activity previous = channels;
        var components = new (string Id, string Component, string Kind, string Source, string? Archived)[]
        {
            ("rehearsePostgresMain", RecoveryComponents.PostgresMain, BackupKinds.Postgres, "getInput('MainDatabase') || 'ecommerce_db'", "Main"),
            ("rehearsePostgresAi", RecoveryComponents.PostgresAi, BackupKinds.Postgres, "getInput('AiDatabase') || 'ai_db'", "Ai"),
            ("rehearseRedis", RecoveryComponents.Redis, BackupKinds.Redis, "getInput('RedisSource') || 'redis'", null),
            ("rehearseMedia", RecoveryComponents.Media, BackupKinds.Media, "getInput('MediaSource') || 'media'", null),
        };
        var canaryMeasurements = new List<string>();
        foreach (var (id, component, kind, source, archived) in components)
        {
            var rehearse = flow.Add(new RehearseRestore
            {
                Id = id,
                Component = new(component),
                Kind = new(kind),
                Source = Input<string>.FromJavaScript(source),
                Store = Input<string>.FromJavaScript(store),
                Server = Input<string>.FromJavaScript("getInput('Server') || ''"),
                ScratchDirectory = Input<string>.FromJavaScript("getInput('ScratchDirectory') || ''"),
            });
            Continue(flow, previous, rehearse);
            previous = rehearse;
            if (archived is null)
                continue;

            // The RPO really achieved, where pgBackRest archives the WAL: a canary a second, a failure point, a restore
            // to latest into a throwaway, and the newest canary in it (skipped when the database is not archived).
            var write = flow.Add(new WriteRpoCanaries
            {
                Id = $"writeCanaries{archived}",
                Component = new(component),
                Container = Input<string>.FromJavaScript($"getInput('{archived}Container') || ''"),
                Stanza = Input<string>.FromJavaScript($"getInput('{archived}Stanza') || ''"),
                Seconds = Input<int?>.FromJavaScript("getInput('CanarySeconds') || null"),
            });
            Continue(flow, previous, write);
            var measure = flow.Add(new MeasureCanaryRpo { Id = $"measureCanaryRpo{archived}", Canaries = Input<CanaryRun>.FromJavaScript($"getOutputFrom('writeCanaries{archived}', 'Result')") });
            flow.Connect(write, measure, WriteRpoCanaries.WrittenOutcome);
            flow.Connect(write, measure, WriteRpoCanaries.FailedOutcome);
            canaryMeasurements.Add($"getOutputFrom('measureCanaryRpo{archived}', 'Result')");
            var next = flow.Add(new Core.Activities.Flowchart.FlowJoin { Id = $"afterCanaries{archived}" });
            flow.Connect(write, next, WriteRpoCanaries.NotArchivedOutcome);
            flow.Connect(measure, next);
            previous = next;
        }

        var check = flow.Add(new CheckRecoveryObjectives
        {
            Id = "checkObjectives",
            Measurements = Input<List<RecoveryMeasurement>>.FromJavaScript($"[{string.Join(", ", components.Select(c => $"getOutputFrom('{c.Id}', 'Measurement')"))}]"),
            CanaryRpo = Input<List<CanaryRpoMeasurement>>.FromJavaScript($"[{string.Join(", ", canaryMeasurements)}].filter(function (m) {{ return !!m; }})"),
            Title = Input<string>.FromJavaScript("'Monthly DR drill, run ' + getWorkflowInstanceId()"),
        });
        Continue(flow, previous, check);

        // The report with the checklist (roles, channel tests) is archived as a set in the backup store, read back and checked.
        var archive = flow.Add(new ArchiveDrillReport
        {
            Id = "archiveReport",
            Report = Input<System.Text.Json.Nodes.JsonObject>.FromJavaScript("getOutputFrom('checkObjectives', 'Report')"),
            Summary = Input<string>.FromJavaScript("getOutputFrom('checkObjectives', 'Summary')"),
            Roles = Input<List<DrillRole>>.FromJavaScript("getOutputFrom('assignRoles', 'Result')"),
            Channels = Input<List<ChannelTestResult>>.FromJavaScript("getOutputFrom('testChannels', 'Result')"),
            Store = Input<string>.FromJavaScript("getInput('ArchiveStore') || ''"),
        });
        var passed = flow.Add(new SetOutput { Id = "outputPassed", OutputName = new("Passed"), OutputValue = Input<object>.FromJavaScript("getOutputFrom('checkObjectives', 'Missed').length === 0") });
        var report = flow.Add(new SetOutput { Id = "outputReport", OutputName = new("Report"), OutputValue = Input<object>.FromJavaScript("getOutputFrom('archiveReport', 'Result')") });
        var summary = flow.Add(new SetOutput { Id = "outputSummary", OutputName = new("Summary"), OutputValue = Input<object>.FromJavaScript("getOutputFrom('archiveReport', 'Markdown')") });
        var publish = flow.Add(new SendSlackMessage
        {
            Id = "publishReport",
            Channel = Input<string>.FromJavaScript("SlackChannel || ''"),
            ThreadTs = Input<string>.FromJavaScript("SlackThread || ''"),
            Text = Input<string>.FromJavaScript("getOutputFrom('archiveReport', 'Markdown')"),
        });
        flow.Connect(check, archive, CheckRecoveryObjectives.MetOutcome);
        flow.Connect(check, archive, CheckRecoveryObjectives.MissedOutcome);
        flow.Chain(archive, passed, report, summary, publish);

        // A failed drill or a missed objective becomes a GitHub issue with the report and the run's timeline.
        var missed = flow.Add(new Core.Activities.Flowchart.FlowDecision { Id = "anythingMissed", Condition = Input<bool>.FromJavaScript("getOutputFrom('checkObjectives', 'Missed').length > 0") });
        Continue(flow, publish, missed);
        var issue = flow.Add(new OpenPostMortemIssue
        {
            Id = "drillIssue",
            IsDrill = new(true),
            Severity = new("SEV-2"),
            Title = Input<string>.FromJavaScript("'DR drill FAILED: missed its objectives (run ' + getWorkflowInstanceId() + ')'"),
            Summary = Input<string>.FromJavaScript("'The monthly DR drill FAILED. It missed: ' + getOutputFrom('checkObjectives', 'Missed').join('; ') + '\\n\\n' + getOutputFrom('checkObjectives', 'Summary')"),
            // The verdict comes from the drill: recovered only when every component was restored and checked.
            Outcome = Input<string>.FromJavaScript("getOutputFrom('checkObjectives', 'Report').components.every(function (c) { return c.succeeded; }) ? 'Recovered' : 'Failed'"),
            FailureReason = Input<string>.FromJavaScript("getOutputFrom('checkObjectives', 'Missed').join('; ')"),
            ServiceRestoredAt = Input<DateTimeOffset?>.FromJavaScript("getOutputFrom('checkObjectives', 'Report').recoveredAt || null"),
            RtoTarget = Input<TimeSpan?>.FromJavaScript("getOutputFrom('checkObjectives', 'Report').overallRtoTarget"),
            Labels = new(["dr-drill"]),
        });
        flow.Connect(missed, issue, "True");
        var link = flow.Add(IncidentComms.Thread("reportIssue", "':warning: Drill issue opened: ' + (getOutputFrom('drillIssue', 'IssueUrl') || 'GitHub is not reachable, see the run journal')"));
        Continue(flow, issue, link);
    }

    private static void Continue(FlowchartBuilder flow, Activity from, Activity to)
    {
        var ports = from switch
        {
            RehearseRestore => new[] { RehearseRestore.RecoveredOutcome, RehearseRestore.FailedOutcome },
            BestEffortActivity => new[] { "Done", BestEffortActivity.FailedOutcome },
            _ => new[] { "Done" },
        };
        foreach (var port in ports)
            flow.Connect(from, to, port);
    }
}
