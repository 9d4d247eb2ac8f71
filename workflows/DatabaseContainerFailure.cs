using DrWorkflows.Activities.Approvals;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Http;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Activities.Flowchart;
using DrWorkflows.Core.Activities.Primitives;
using DrWorkflows.Core.Activities.Scheduling;
using DrWorkflows.Core.Building;
using DrWorkflows.Workflows.Shared;

namespace DrWorkflows.Workflows;

/// <summary>
/// Scenario 1 of the DR plan, database container failure (alert <c>DatabaseDown</c>): inspect, restart, wait
/// 30 s for health; if still unhealthy, ask "restore from backup?" with the newest verified backup, its age and
/// the data it would lose; on approval stop, start clean, restore that backup (integrity checked against its
/// manifest), wait healthy; then check the backend's connection, smoke-test and monitor for five minutes.
/// </summary>
public sealed class DatabaseContainerFailure : ICodeWorkflow
{
    public const string Id = "dr-database-container-failure";

    public string DefinitionId => Id;

    public string Name => "DR 1: Database container failure";

    public void Build(WorkflowBuilder builder)
    {
        builder.WithDescription("Scenario 1 (alert DatabaseDown): restart the PostgreSQL container, and when it stays unhealthy restore the newest verified backup after an approval; then backend check, smoke tests and 5 minutes of monitoring. SEV-1 by default.")
            .WithInput<string>("Container", "PostgreSQL container; default ecommerce_postgres.")
            .WithInput<string>("Server", "Postgres:Servers name of that database server; default main.")
            .WithInput<string>("Database", "Database to restore; default ecommerce_db.")
            .WithInput<string>("BackupSource", "Source name of its backups; default the database name.")
            .WithInput<string>("Store", "Backup store (local or s3); default Backups:Stores:DefaultStore.")
            .WithInput<string>("BackendContainer", "Container that must reach the database; default ecommerce_backend.")
            .WithInput<List<string>>("BackendCheckCommand", "Command run in the backend to prove the connection; default the plan's `python manage.py dbshell <<< 'SELECT 1;'`.")
            .WithInput<List<SmokeCheck>>("SmokeChecks", "HTTP smoke checks; default https://api.example.com/health.")
            .WithInput<List<string>>("Approvers", "Who may approve the restore; default the database admin, the incident commander and API keys with the approver role.")
            .WithInput<int>("MonitorMinutes", "Minutes of monitoring after recovery (one health check a minute); default 5.")
            .WithInput<int>("MonitorIntervalSeconds", "Seconds between two monitoring checks; default 60 (one a minute). MonitorMinutes checks are made, so monitoring lasts MonitorMinutes x this.")
            .WithVariable<string>("RestoreSetId")
            .WithVariable<object>("RestorePoint")
            .WithVariable<object>("Decision")
            .WithVariable("MonitorChecks", 0);

        var flow = builder.Flowchart();
        var comms = IncidentComms.Add(builder, flow, new IncidentProfile(
            "Database container failure",
            "Database issues: restoration in progress",
            "We are experiencing database issues and are working to restore service.",
            "SEV-1",
            TimeSpan.FromMinutes(30),
            TimeSpan.FromMinutes(15)));

        const string container = "getInput('Container') || 'ecommerce_postgres'";
        const string server = "getInput('Server') || 'main'";
        const string database = "getInput('Database') || 'ecommerce_db'";
        const string source = "getInput('BackupSource') || getInput('Database') || 'ecommerce_db'";
        const string store = "getInput('Store') || ''";

        // 1-2. Inspect: is it running but unhealthy?
        var inspect = flow.Add(IncidentComms.Detects(new WaitForHealthy { Id = "inspect", Containers = Input<List<string>>.FromJavaScript($"[{container}]"), TimeoutSeconds = new(5) }, WaitForHealthy.Unhealthy));
        comms.Then(comms.Opened, inspect);

        // 3-4. Restart and wait 30 s.
        var restart = flow.Add(new RestartContainer { Id = "restart", Container = Input<string>.FromJavaScript(container) });
        var restarting = comms.Update("reportRestarting", inspect, WaitForHealthy.Unhealthy, "Database container is unhealthy; restarting it and waiting 30 s.");
        comms.Continue(restarting, restart);
        comms.AbandonWith("abandonRestart", restart, "The container restart failed");
        var waitRestart = flow.Add(new WaitForHealthy { Id = "waitRestart", Containers = Input<List<string>>.FromJavaScript($"[{container}]"), TimeoutSeconds = new(30) });
        flow.Connect(restart, waitRestart);

        // Healthy (at once or after the restart): integrity checks of the running database, without a restore.
        var checkIntegrity = flow.Add(new CheckDatabaseIntegrity { Id = "checkIntegrity", Server = Input<string>.FromJavaScript(server), Database = Input<string>.FromJavaScript(database) });
        var healthyNow = comms.Update("reportHealthy", inspect, WaitForHealthy.Healthy, "Database container is healthy again without a restart; checking integrity and connectivity.");
        comms.Continue(healthyNow, checkIntegrity);
        var restarted = comms.Update("reportRestarted", waitRestart, WaitForHealthy.Healthy, "The restart worked: the database is healthy. Checking integrity and connectivity.", "monitoring", "The database is back; we are verifying the service.");
        comms.Continue(restarted, checkIntegrity);
        comms.FailWith("failIntegrity", checkIntegrity, CheckDatabaseIntegrity.Failed, "'Integrity checks failed on the running database: ' + (getOutputFrom('checkIntegrity', 'Report').problems || []).join('; ')");

        // 5. Still unhealthy: find the newest verified backup and ask.
        var findBackup = flow.Add(new FindRestorePoint
        {
            Id = "findBackup",
            Kind = new(BackupKinds.Postgres),
            Source = Input<string>.FromJavaScript(source),
            Store = Input<string>.FromJavaScript(store),
            RequireVerified = new(true),
            SetId = new("RestoreSetId"),
            Selected = new("RestorePoint"),
        });
        var stillDown = comms.Update("reportStillDown", waitRestart, WaitForHealthy.Unhealthy, "Still unhealthy 30 s after the restart. Looking for the newest verified backup; a restore needs an approval.");
        comms.Continue(stillDown, findBackup);
        comms.FailWith("failNoBackup", findBackup, FindRestorePoint.NotFound, $"'No verified backup of ' + ({source}) + ' exists: restore by hand or verify a backup first.'");

        var gate = flow.Add(new ApprovalGate
        {
            Id = "approveRestore",
            Title = new("Restore the database from backup?"),
            Question = Input<string>.FromJavaScript($"'Restore database ' + ({database}) + ' on ' + ({server}) + ' from backup set ' + RestorePoint.setId + ' (completed ' + RestorePoint.completedAt + ', ' + RestorePoint.ageHours + ' h old)? Data written after the backup started is lost.'"),
            Evidence = Input<System.Text.Json.Nodes.JsonNode?>.FromJavaScript($$"""
                ({
                  text: 'Container ' + ({{container}}) + ' is still unhealthy 30 s after a restart (' + (getOutputFrom('waitRestart', 'NotReady') || []).join('; ') + '). The newest verified backup is below; restoring it loses the writes made since it started.',
                  facts: {
                    container: {{container}},
                    health: (getOutputFrom('waitRestart', 'NotReady') || []).join('; '),
                    backupSet: RestorePoint.setId,
                    store: RestorePoint.store,
                    backupStartedAt: RestorePoint.startedAt,
                    backupCompletedAt: RestorePoint.completedAt,
                    backupAgeHours: RestorePoint.ageHours,
                    verified: RestorePoint.verified,
                    lastVerifiedAt: RestorePoint.lastVerifiedAt,
                    rpoImpactHours: Math.round((RestorePoint.ageHours + (Date.parse(RestorePoint.completedAt) - Date.parse(RestorePoint.startedAt)) / 3600000) * 100) / 100,
                    rpoTarget: '15 minutes'
                  }
                })
                """),
            Approvers = Input<List<string>>.FromJavaScript("getInput('Approvers') || ['contact:DatabaseAdmin', 'contact:IncidentCommander', 'role:approver']"),
            RequiredApprovals = new(1),
            Timeout = new(TimeSpan.FromMinutes(15)),
            SafeDefault = new(ApprovalOutcomes.TimedOut),
            Decision = new("Decision"),
        });
        flow.Connect(findBackup, gate, FindRestorePoint.Found);
        comms.FailWith("failRejected", gate, ApprovalOutcomes.Rejected, "'The restore was rejected by ' + (Decision.approvers || []).join(', ') + (Decision.comment ? ': ' + Decision.comment : '') + '. The database stays down for manual recovery.'");
        comms.FailWith("failTimedOut", gate, ApprovalOutcomes.TimedOut, "'Nobody approved the restore in time (escalated through the contact tree); nothing was restored.'");

        // 6. Approved: stop, start clean, restore (pg_restore needs a running server), wait healthy.
        var restoring = comms.Update("reportRestoring", gate, ApprovalOutcomes.Approved, "Restore approved. Stopping the container, starting it clean and restoring the backup.", "identified", "We are restoring the database from its most recent verified backup.");
        var stop = flow.Add(new StopContainers { Id = "stop", Containers = Input<List<string>>.FromJavaScript($"[{container}]") });
        comms.Continue(restoring, stop);
        comms.AbandonWith("abandonStop", stop, "Stopping the container failed");
        var start = flow.Add(new StartContainers { Id = "start", Containers = Input<List<string>>.FromJavaScript($"[{container}]") });
        flow.Connect(stop, start);
        comms.AbandonWith("abandonStart", start, "Starting the container failed");
        var waitServer = flow.Add(new WaitForPostgres { Id = "waitServer", Server = Input<string>.FromJavaScript(server), TimeoutSeconds = new(120) });
        flow.Connect(start, waitServer);
        comms.FailWith("failNotReady", waitServer, WaitForPostgres.NotReady, "'The database server does not accept connections after a clean start: ' + (getOutputFrom('waitServer', 'Reason') || '')");
        var restore = flow.Add(new RestoreDatabase
        {
            Id = "restore",
            Server = Input<string>.FromJavaScript(server),
            Store = Input<string>.FromJavaScript(store),
            Source = Input<string>.FromJavaScript(source),
            SetId = Input<string>.FromJavaScript("RestoreSetId"),
            TargetDatabase = Input<string>.FromJavaScript(database),
            Mode = new("Recreate"),
            CheckIntegrity = new(true),
        });
        flow.Connect(waitServer, restore, WaitForPostgres.Ready);
        comms.AbandonWith("abandonRestore", restore, "The restore failed");
        comms.FailWith("failRestoreIntegrity", restore, RestoreDatabase.IntegrityFailed, "'The restored database does not match its backup: ' + (getOutputFrom('restore', 'Integrity').problems || []).join('; ')");
        var lastGood = flow.Add(new SetVariable { Id = "recordRestorePoint", Variable = IncidentComms.Variable("LastGoodDataAt"), Value = Input<object>.FromJavaScript("RestorePoint.startedAt") });
        flow.Connect(restore, lastGood, RestoreDatabase.Restored);
        var waitRestored = flow.Add(new WaitForHealthy { Id = "waitRestored", Containers = Input<List<string>>.FromJavaScript($"[{container}]"), TimeoutSeconds = new(120) });
        flow.Connect(lastGood, waitRestored);
        comms.FailWith("failRestoredUnhealthy", waitRestored, WaitForHealthy.Unhealthy, "'The container is unhealthy after the restore: ' + (getOutputFrom('waitRestored', 'NotReady') || []).join('; ')");
        var restored = comms.Update("reportRestored", waitRestored, WaitForHealthy.Healthy, "Backup restored and integrity-checked against its manifest; the container is healthy. Checking the backend's connection.", "monitoring", "The database has been restored; we are verifying the service.");

        // 7. The backend reaches the database (both paths meet here).
        var backend = flow.Add(new ExecInContainer
        {
            Id = "checkBackend",
            Container = Input<string>.FromJavaScript("getInput('BackendContainer') || 'ecommerce_backend'"),
            Command = Input<List<string>>.FromJavaScript("getInput('BackendCheckCommand') || ['sh', '-c', \"echo 'SELECT 1;' | python manage.py dbshell\"]"),
            TimeoutSeconds = new(60),
        });
        flow.Connect(checkIntegrity, backend, CheckDatabaseIntegrity.Passed);
        comms.Continue(restored, backend);
        comms.FailWith("failBackend", backend, ExecInContainer.Failed, "'The backend cannot connect to the database: ' + (getOutputFrom('checkBackend', 'StandardError') || 'exit code ' + getOutputFrom('checkBackend', 'ExitCode'))");

        // 8. Smoke tests.
        var smoke = flow.Add(new SmokeTest { Id = "smoke", Checks = Input<List<SmokeCheck>>.FromJavaScript("getInput('SmokeChecks') || [{ url: 'https://api.example.com/health' }]"), Attempts = new(3), RetryDelaySeconds = new(10) });
        flow.Connect(backend, smoke, ExecInContainer.Succeeded);
        comms.FailWith("failSmoke", smoke, SmokeTest.Failed, "'Smoke tests failed: ' + (getOutputFrom('smoke', 'Failures') || []).join(' | ')");

        // 9. Monitor: one health check a minute (MonitorIntervalSeconds apart) for MonitorMinutes checks.
        var monitoring = comms.Update("reportMonitoring", smoke, SmokeTest.Passed, "Smoke tests passed. Monitoring the database health for a few minutes.");
        var wait = flow.Add(new Delay { Id = "monitorWait", TimeSpan = Input<TimeSpan>.FromJavaScript("(getInput('MonitorIntervalSeconds') || 60) + 's'") });
        comms.Continue(monitoring, wait);
        var check = flow.Add(new WaitForHealthy { Id = "monitorCheck", Containers = Input<List<string>>.FromJavaScript($"[{container}]"), TimeoutSeconds = new(30) });
        flow.Connect(wait, check);
        comms.FailWith("failMonitor", check, WaitForHealthy.Unhealthy, "'The database became unhealthy again while monitoring: ' + (getOutputFrom('monitorCheck', 'NotReady') || []).join('; ')");
        var count = flow.Add(new SetVariable { Id = "monitorCount", Variable = IncidentComms.Variable("MonitorChecks"), Value = Input<object>.FromJavaScript("MonitorChecks + 1") });
        flow.Connect(check, count, WaitForHealthy.Healthy);
        var more = flow.Add(new FlowDecision { Id = "monitorMore", Condition = Input<bool>.FromJavaScript("MonitorChecks < (getInput('MonitorMinutes') || 5)") });
        flow.Connect(count, more);
        flow.Connect(more, wait, "True");
        comms.Succeed(more, "False");
    }
}
