using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Drills;
using DrWorkflows.Activities.Notifications;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Activities.Primitives;
using DrWorkflows.Core.Activities.Scheduling;
using DrWorkflows.Core.Building;

namespace DrWorkflows.Workflows;

/// <summary>
/// The plan's drill checklist, the day before: every day at 06:30 UTC it looks at the monthly drill's own cron
/// schedule (<see cref="MonthlyDrDrill.Schedule"/>); when the drill runs within the next day, it assigns the drill
/// roles from the contact tree, checks that the drill can run (the DR environment answers with its credentials, the
/// newest backups are in S3, every role has a person) and tells the team on Slack and by email. A failed check pages
/// on-call at once and stops on an incident, a day before the drill rather than at it.
/// </summary>
public sealed class DrillEve : ICodeWorkflow
{
    public const string Id = "dr-drill-eve";

    /// <summary>Daily; the run goes on only when <see cref="MonthlyDrDrill.Schedule"/> fires within the next 24 hours.</summary>
    public const string Schedule = "30 6 * * *";

    public string DefinitionId => Id;

    public string Name => "DR drill checklist (the day before)";

    public void Build(WorkflowBuilder builder)
    {
        builder.WithDescription($"The day before the monthly DR drill (its cron {MonthlyDrDrill.Schedule}; checked daily at 06:30 UTC): assigns the roles (incident commander, operations lead, communications lead) from the contact tree, checks the DR environment, the newest backups in S3 and the credentials, and tells the team on Slack and by email. A failed check pages on-call and stops on an incident.")
            .WithInput<string>("Store", "Store the drill restores from; default s3.")
            .WithInput<string>("Server", "Postgres:Servers name of the drill's throwaway databases; default Postgres:VerificationServer.")
            .WithInput<string>("SlackChannel", "Slack channel of the announcement; default Notifications:Slack:DefaultChannel.")
            .WithVariable<string>("DrillAt")
            .WithOutput<string>("NextDrillAt", "When the drill runs (UTC).")
            .WithOutput<object>("Roles", "The drill roles and who holds them.")
            .WithOutput<object>("Readiness", "What the day-before check looked at (every item passed, else the run stops on an incident).");

        var flow = builder.Flowchart();

        // By the schedule the checklist runs only on the day before a drill; by hand, for the next drill whenever it is.
        var cron = flow.Add(new Cron { Id = "daily", CronExpression = new(Schedule) });
        cron.CustomProperties["canStartWorkflow"] = true;
        var scheduled = flow.Add(new FindNextDrill { Id = "drillTomorrow", CronExpression = new(MonthlyDrDrill.Schedule), Within = new(TimeSpan.FromDays(1)), NextDrillText = new("DrillAt") });
        flow.Connect(cron, scheduled);
        var manual = flow.Add(new Core.Activities.Flowchart.Start { Id = "startedByHand" });
        var byHand = flow.Add(new FindNextDrill { Id = "nextDrill", CronExpression = new(MonthlyDrDrill.Schedule), Within = new(TimeSpan.FromDays(366)), NextDrillText = new("DrillAt") });
        flow.Connect(manual, byHand);

        var roles = flow.Add(new AssignDrillRoles { Id = "assignRoles" });
        flow.Connect(scheduled, roles, FindNextDrill.DueOutcome);
        flow.Connect(byHand, roles, FindNextDrill.DueOutcome);

        var readiness = flow.Add(new CheckDrillReadiness
        {
            Id = "checkReadiness",
            Store = Input<string>.FromJavaScript("getInput('Store') || 's3'"),
            Server = Input<string>.FromJavaScript("getInput('Server') || ''"),
            Backups = new([
                new(BackupKinds.Postgres, "ecommerce_db"),
                new(BackupKinds.Postgres, "ai_db"),
                new(BackupKinds.Redis, "redis"),
                new(BackupKinds.Media, "media"),
            ]),
            DrillAt = Input<string>.FromJavaScript("DrillAt"),
        });
        flow.Connect(roles, readiness);

        const string roleList = "getOutputFrom('assignRoles', 'Result').map(function (r) { return r.title + ': ' + r.person; }).join(', ')";
        // The team must hear of the drill: a failed announcement stops on an incident instead of passing quietly.
        var slack = flow.Add(new SendSlackMessage
        {
            Id = "announceSlack",
            Channel = Input<string>.FromJavaScript("getInput('SlackChannel') || ''"),
            Text = Input<string>.FromJavaScript($"':calendar: *DR drill tomorrow*, ' + DrillAt + '. Roles: ' + {roleList} + '. Day-before check passed: DR environment, newest backups in S3, credentials. Review the DR procedures (docs/drills.md).'"),
            FailureIsFatal = new(true),
        });
        var email = flow.Add(new SendEmail
        {
            Id = "announceEmail",
            To = Input<List<string>>.FromJavaScript("getOutputFrom('assignRoles', 'Result').map(function (r) { return r.email; }).filter(function (e) { return !!e; })"),
            Subject = Input<string>.FromJavaScript("'DR drill tomorrow, ' + DrillAt"),
            TextBody = Input<string>.FromJavaScript($"'The monthly DR drill runs ' + DrillAt + '.\\n\\nRoles: ' + {roleList} + '.\\n\\nThe day-before check passed: the DR environment answers, the newest backups are in S3, the credentials work. Please review the DR procedures before the drill.\\n'"),
            FailureIsFatal = new(true),
        });
        flow.Chain(readiness, slack, email);

        var at = flow.Add(new SetOutput { Id = "outputNextDrillAt", OutputName = new("NextDrillAt"), OutputValue = Input<object>.FromJavaScript("DrillAt") });
        var rolesOut = flow.Add(new SetOutput { Id = "outputRoles", OutputName = new("Roles"), OutputValue = Input<object>.FromJavaScript("getOutputFrom('assignRoles', 'Result')") });
        var readinessOut = flow.Add(new SetOutput { Id = "outputReadiness", OutputName = new("Readiness"), OutputValue = Input<object>.FromJavaScript("getOutputFrom('checkReadiness', 'Result')") });
        flow.Chain(email, at, rolesOut, readinessOut);
    }
}
