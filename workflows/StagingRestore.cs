using DrWorkflows.Activities.Approvals;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Drills;
using DrWorkflows.Activities.Http;
using DrWorkflows.Activities.Notifications;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Activities.Primitives;
using DrWorkflows.Core.Activities.Scheduling;
using DrWorkflows.Core.Building;

namespace DrWorkflows.Workflows;

/// <summary>
/// The plan's weekly restore to staging: on Saturdays at 05:00 UTC (or by hand) it proves the staging target is not
/// production, asks for approval (staging data is replaced), restores the newest verified database backup into the
/// staging Compose project's database server, checks integrity against the manifest, waits until every service of
/// the staging project is healthy, runs the smoke checks, and reports. Every verdict comes from a check that ran.
/// </summary>
public sealed class StagingRestore : ICodeWorkflow
{
    public const string Id = "dr-weekly-staging-restore";

    /// <summary>Saturdays, 05:00 UTC: after the 00:00 database backup and its verification at 03:00.</summary>
    public const string Schedule = "0 5 * * 6";

    public string DefinitionId => Id;

    public string Name => "Restore to staging (weekly)";

    public void Build(WorkflowBuilder builder)
    {
        builder.WithDescription($"Weekly restore to staging (cron {Schedule}, UTC): refuses a production target, asks for approval, restores the newest verified database backup into the staging Compose project's database server, checks integrity against the manifest, waits for every staging service to be healthy, runs the smoke checks and reports.")
            .WithInput<string>("StagingProject", "The staging Compose project; default ecommerce-staging. Never Docker:ComposeProject (refused).")
            .WithInput<string>("StagingServer", "Postgres:Servers name of the staging database server; default staging. Never the server the backups come from (refused).")
            .WithInput<string>("Database", "Database restored (and its backup source); default ecommerce_db.")
            .WithInput<string>("Store", "Store the backups are restored from; default s3.")
            .WithInput<object>("SmokeChecks", "Smoke checks of the staging platform (url, expectedStatus, bodyContains). Required: without them the run reports Passed false.")
            .WithInput<object>("Approvers", "Who may approve (default contact:OperationsLead, contact:DevOpsEngineer, role:approver).")
            .WithInput<int>("PlatformTimeoutSeconds", "How long every staging service has to become healthy; default 300.")
            .WithVariable<object>("Offer")
            .WithVariable<object>("Decision")
            .WithVariable<string>("SetId")
            .WithOutput<bool>("Passed", "Restored, integrity checked, every staging service healthy and every smoke check passed.")
            .WithOutput<string>("Summary", "What was restored where, and each check's result.")
            .WithOutput<object>("Report", "Target, backup set, restore and integrity, health, smoke results.");

        var flow = builder.Flowchart();
        const string project = "getInput('StagingProject') || 'ecommerce-staging'";
        const string server = "getInput('StagingServer') || 'staging'";
        const string database = "getInput('Database') || 'ecommerce_db'";
        const string store = "getInput('Store') || 's3'";

        var cron = flow.Add(new Cron { Id = "weekly", CronExpression = new(Schedule) });
        cron.CustomProperties["canStartWorkflow"] = true;
        var manual = flow.Add(new Core.Activities.Flowchart.Start { Id = "startedByHand" });

        // 1. Never production: the project and the server are compared with production's before anything else.
        var target = flow.Add(new CheckStagingTarget
        {
            Id = "checkTarget",
            Project = Input<string>.FromJavaScript(project),
            Server = Input<string>.FromJavaScript(server),
            Source = Input<string>.FromJavaScript(database),
            Store = Input<string>.FromJavaScript(store),
        });
        flow.Connect(cron, target);
        flow.Connect(manual, target);

        // 2. The newest verified backup.
        var find = flow.Add(new FindRestorePoint
        {
            Id = "findBackup",
            Kind = new(BackupKinds.Postgres),
            Source = Input<string>.FromJavaScript(database),
            Store = Input<string>.FromJavaScript(store),
            RequireVerified = new(true),
            Offer = new("Offer"),
        });
        flow.Connect(target, find);
        End("noBackup", find, FindRestorePoint.NotFound, "'No verified backup of ' + (" + database + ") + ' in store ' + (" + store + ") + ': nothing was restored.'");

        // 3. Staging data is replaced: ask.
        var gate = flow.Add(new ApprovalGate
        {
            Id = "approveStaging",
            Title = new("Replace the staging data with the newest verified backup?"),
            Question = Input<string>.FromJavaScript($"'Weekly restore to staging: replace database ' + ({database}) + ' on staging server ' + ({server}) + ' (Compose project ' + ({project}) + ') with backup set ' + Offer.items[0].setId + ' (completed ' + Offer.items[0].completedAt + ', verified)? The staging data is lost; production is not touched.'"),
            Options = Input<List<string>>.FromJavaScript("Offer.options"),
            DefaultOption = Input<string>.FromJavaScript("Offer.defaultOption || ''"),
            ConfirmationPhrases = Input<Dictionary<string, string>>.FromJavaScript("Offer.confirmationPhrases"),
            Approvers = Input<List<string>>.FromJavaScript("getInput('Approvers') || ['contact:OperationsLead', 'contact:DevOpsEngineer', 'role:approver']"),
            RequiredApprovals = new(1),
            Timeout = new(TimeSpan.FromHours(4)),
            SafeDefault = new(ApprovalOutcomes.TimedOut),
            Decision = new("Decision"),
        });
        flow.Connect(find, gate, FindRestorePoint.Found);
        End("rejected", gate, ApprovalOutcomes.Rejected, "'The staging restore was rejected' + (Decision && Decision.comment ? ': ' + Decision.comment : '') + '; nothing was restored.'");
        End("timedOut", gate, ApprovalOutcomes.TimedOut, "'Nobody approved the staging restore in time; nothing was restored.'");
        var chosen = flow.Add(new SetVariable { Id = "chosenSet", Variable = new() { Id = "SetId", Name = "SetId" }, Value = Input<object>.FromJavaScript("Offer.items.filter(function (i) { return i.option === Decision.option; })[0].setId") });
        flow.Connect(gate, chosen, ApprovalOutcomes.Approved);

        // 4. Restore into the staging server, integrity checked against the manifest.
        var restore = flow.Add(new RestoreDatabase
        {
            Id = "restore",
            Server = Input<string>.FromJavaScript(server),
            Store = Input<string>.FromJavaScript(store),
            Source = Input<string>.FromJavaScript(database),
            SetId = Input<string>.FromJavaScript("SetId"),
            TargetDatabase = Input<string>.FromJavaScript(database),
            Mode = new("Recreate"),
            CheckIntegrity = new(true),
        });
        flow.Connect(chosen, restore);
        End("integrityFailed", restore, RestoreDatabase.IntegrityFailed, "'The restored staging database does not match its backup: ' + (getOutputFrom('restore', 'Integrity').problems || []).join('; ')");

        // 5. The whole staging project healthy, then the smoke checks.
        var health = flow.Add(new WaitForHealthy
        {
            Id = "waitStaging",
            ComposeProject = Input<string>.FromJavaScript(project),
            TimeoutSeconds = Input<int>.FromJavaScript("getInput('PlatformTimeoutSeconds') || 300"),
        });
        flow.Connect(restore, health, RestoreDatabase.Restored);
        End("unhealthy", health, WaitForHealthy.Unhealthy, "'Restored, but the staging platform is not healthy: ' + (getOutputFrom('waitStaging', 'NotReady') || []).join('; ')");
        var hasSmoke = flow.Add(new Core.Activities.Flowchart.FlowDecision { Id = "smokeGiven", Condition = Input<bool>.FromJavaScript("!!getInput('SmokeChecks') && getInput('SmokeChecks').length > 0") });
        flow.Connect(health, hasSmoke, WaitForHealthy.Healthy);
        End("noSmoke", hasSmoke, "False", "'Restored and healthy, but no smoke checks were given (input SmokeChecks): the staging platform was not proven to serve.'");
        var smoke = flow.Add(new SmokeTest { Id = "smoke", Checks = Input<List<SmokeCheck>>.FromJavaScript("getInput('SmokeChecks')"), Attempts = new(3), RetryDelaySeconds = new(10) });
        flow.Connect(hasSmoke, smoke, "True");
        End("smokeFailed", smoke, SmokeTest.Failed, "'Restored and healthy, but the smoke checks failed: ' + (getOutputFrom('smoke', 'Failures') || []).join(' | ')");
        End("passed", smoke, SmokeTest.Passed, "'Restored set ' + SetId + ' into ' + (" + database + ") + ' on staging server ' + (" + server + ") + ': integrity checked (' + getOutputFrom('restore', 'Integrity').tables.length + ' table(s), ' + getOutputFrom('restore', 'Integrity').totalRows + ' row(s) as in the manifest), every service of ' + (" + project + ") + ' healthy, ' + getOutputFrom('smoke', 'Report').results.length + ' smoke check(s) passed.'", passed: true);

        // Each end: the verdict, the summary, the report and a Slack message.
        void End(string id, Activity from, string port, string summaryJs, bool passed = false)
        {
            var verdict = flow.Add(new SetOutput { Id = id + "Passed", OutputName = new("Passed"), OutputValue = Input<object>.FromJavaScript(passed ? "true" : "false") });
            var summary = flow.Add(new SetOutput { Id = id + "Summary", OutputName = new("Summary"), OutputValue = Input<object>.FromJavaScript(summaryJs) });
            var report = flow.Add(new SetOutput
            {
                Id = id + "Report",
                OutputName = new("Report"),
                OutputValue = Input<object>.FromJavaScript("({ target: getOutputFrom('checkTarget', 'Result'), setId: SetId || null, restore: getOutputFrom('restore', 'Restore') || null, integrity: getOutputFrom('restore', 'Integrity') || null, health: getOutputFrom('waitStaging', 'Statuses') || null, smoke: getOutputFrom('smoke', 'Report') || null })"),
            });
            var slack = flow.Add(new SendSlackMessage
            {
                Id = id + "Slack",
                Text = Input<string>.FromJavaScript($"'{(passed ? ":white_check_mark: *Weekly restore to staging PASSED*" : ":x: *Weekly restore to staging FAILED*")} (run ' + getWorkflowInstanceId() + '): ' + ({summaryJs})"),
            });
            flow.Connect(from, verdict, port);
            flow.Chain(verdict, summary, report, slack);
        }
    }
}
