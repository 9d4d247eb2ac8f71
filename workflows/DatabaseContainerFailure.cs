using DrWorkflows.Activities.Approvals;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Http;
using DrWorkflows.Activities.PgBackRest;
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
/// manifest), wait healthy; then wait until every service of the platform is healthy (the backend too), check the
/// backend's connection, smoke-test and monitor the whole platform for five minutes. The first step checks the
/// configuration; a missing setting stops the run there, before anything is changed.
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
            .WithInput<string>("ComposeProject", "Compose project of the platform, every service of which must be healthy before the run ends; default Docker:ComposeProject.")
            .WithInput<List<string>>("ExcludeServices", "Services of the project the run does not wait for (an explicit exclusion, named in the journal); default none.")
            .WithInput<int>("PlatformTimeoutSeconds", "Seconds to wait for every service of the platform to be healthy after the database is; default 180.")
            .WithInput<string>("PgBackRestStanza", "pgBackRest stanza of the server; default main. When pgBackRest archives it, the restore goes to the latest archived transaction (the gate's default) instead of the last dump.")
            .WithInput<string>("PostgresService", "Compose service of PostgreSQL (removed and created again around the volume swap of a pgBackRest restore); default postgres.")
            .WithInput<string>("Volume", "PostgreSQL data volume (set aside as damaged-VOLUME-incident-RUN by a pgBackRest restore); default ecommerce_postgres_data.")
            .WithVariable<string>("RestoreSetId")
            .WithVariable<object>("PointInTime")
            .WithVariable<object>("RestorePoint")
            .WithVariable<object>("Offer")
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
        const string project = "getInput('ComposeProject') || ''";
        const string excluded = "getInput('ExcludeServices') || []";
        const string stanza = "getInput('PgBackRestStanza') || 'main'";

        // 0. Nothing runs on a missing or unsafe configuration.
        comms.CheckFirst(IncidentComms.ConfigurationCheck(Name, server, store, project));

        // 1-2. Inspect: is the database container running but unhealthy? (The diagnosis is about the database; the
        // verdict at the end is about every service.)
        var inspect = flow.Add(IncidentComms.Detects(new WaitForHealthy { Id = "inspect", Containers = Input<List<string>>.FromJavaScript($"[{container}]"), TimeoutSeconds = new(5) }, WaitForHealthy.Unhealthy));
        comms.Then(comms.Opened, inspect);

        // 3-4. Restart and wait 30 s.
        var restart = flow.Add(new RestartContainer { Id = "restart", Container = Input<string>.FromJavaScript(container) });
        var restarting = comms.Update("reportRestarting", inspect, WaitForHealthy.Unhealthy, "Database container is unhealthy; restarting it and waiting 30 s.");
        comms.Continue(restarting, restart);
        comms.AbandonWith(restart, "The container restart failed");
        var waitRestart = flow.Add(new WaitForHealthy { Id = "waitRestart", Containers = Input<List<string>>.FromJavaScript($"[{container}]"), TimeoutSeconds = new(30) });
        flow.Connect(restart, waitRestart);

        // Healthy (at once or after the restart): integrity checks of the running database, without a restore.
        var checkIntegrity = flow.Add(new CheckDatabaseIntegrity { Id = "checkIntegrity", Server = Input<string>.FromJavaScript(server), Database = Input<string>.FromJavaScript(database) });
        var healthyNow = comms.Update("reportHealthy", inspect, WaitForHealthy.Healthy, "Database container is healthy again without a restart; checking integrity and connectivity.");
        comms.Continue(healthyNow, checkIntegrity);
        var restarted = comms.Update("reportRestarted", waitRestart, WaitForHealthy.Healthy, "The restart worked: the database is healthy. Checking integrity and connectivity.", "monitoring", "The database is back; we are verifying the service.");
        comms.Continue(restarted, checkIntegrity);
        comms.FailWith(checkIntegrity, CheckDatabaseIntegrity.Failed, "'Integrity checks failed on the running database: ' + (getOutputFrom('checkIntegrity', 'Report').problems || []).join('; ')");

        // 5. Still unhealthy: offer the verified backups, newest first and the default (unverified ones only when no
        // verified one exists, each needing its confirmation phrase typed), and ask.
        var findBackup = flow.Add(new FindRestorePoint
        {
            Id = "findBackup",
            Kind = new(BackupKinds.Postgres),
            Source = Input<string>.FromJavaScript(source),
            Store = Input<string>.FromJavaScript(store),
            RequireVerified = new(false),
            Offer = new("Offer"),
        });
        var stillDown = comms.Update("reportStillDown", waitRestart, WaitForHealthy.Unhealthy, "Still unhealthy 30 s after the restart. Looking for the newest verified backup; a restore needs an approval.");
        comms.Continue(stillDown, findBackup);

        var gate = flow.Add(new ApprovalGate
        {
            Id = "approveRestore",
            Title = new("Restore the database from backup?"),
            Question = Input<string>.FromJavaScript($"'Restore database ' + ({database}) + ' on ' + ({server}) + ' from backup? ' + (PointInTime.offered ? 'pgBackRest archives this server: the default is ' + PointInTime.option + ' (the whole server into a fresh volume, the old one kept aside). ' : '') + (Offer.items.length === 0 ? 'No dump of it exists: the pgBackRest restore is the only way back.' : Offer.onlyUnverified ? 'NO VERIFIED BACKUP EXISTS: the backups offered were never proven to restore; choosing one needs its confirmation phrase typed.' : 'The newest verified backup, set ' + Offer.items[0].setId + ' (completed ' + Offer.items[0].completedAt + ', ' + Offer.items[0].ageHours + ' h old), is the default; older verified ones are offered too.') + ' Data written after the chosen backup started is lost.'"),
            Options = Input<List<string>>.FromJavaScript("Offer.options.concat(PointInTime.offered ? [PointInTime.option] : [])"),
            DefaultOption = Input<string>.FromJavaScript("PointInTime.offered ? PointInTime.option : (Offer.defaultOption || '')"),
            ConfirmationPhrases = Input<Dictionary<string, string>>.FromJavaScript("Offer.confirmationPhrases"),
            Evidence = Input<System.Text.Json.Nodes.JsonNode?>.FromJavaScript($$"""
                (function () {
                  var newest = Offer.items[0] || {};
                  return {
                    text: 'Container ' + ({{container}}) + ' is still unhealthy 30 s after a restart (' + (getOutputFrom('waitRestart', 'NotReady') || []).join('; ') + '). '
                      + (Offer.items.length === 0 ? 'No dump exists: only the pgBackRest restore is offered.' : Offer.onlyUnverified ? 'No backup is verified: the newest unverified one is below.' : 'The newest verified backup is below; restoring it loses the writes made since it started.')
                      + ' ' + PointInTime.reason,
                    facts: {
                      container: {{container}},
                      health: (getOutputFrom('waitRestart', 'NotReady') || []).join('; '),
                      backupSet: newest.setId,
                      store: newest.store,
                      backupStartedAt: newest.startedAt,
                      backupCompletedAt: newest.completedAt,
                      backupAgeHours: newest.ageHours,
                      verified: newest.verified,
                      lastVerifiedAt: newest.lastVerifiedAt,
                      rpoImpactHours: newest.setId ? Math.round((newest.ageHours + (Date.parse(newest.completedAt) - Date.parse(newest.startedAt)) / 3600000) * 100) / 100 : null,
                      rpoTarget: '15 minutes',
                      offered: Offer.items.length,
                      pointInTime: PointInTime.offered ? PointInTime.option : null
                    }
                  };
                })()
                """),
            Approvers = Input<List<string>>.FromJavaScript("getInput('Approvers') || ['contact:DatabaseAdmin', 'contact:IncidentCommander', 'role:approver']"),
            RequiredApprovals = new(1),
            Timeout = new(TimeSpan.FromMinutes(15)),
            SafeDefault = new(ApprovalOutcomes.TimedOut),
            Decision = new("Decision"),
        });
        // With pgBackRest archiving the server, the restore goes to the latest archived transaction (the default option):
        // minutes of loss at most instead of hours since the last dump.
        var pointInTime = flow.Add(new OfferPointInTimeRestore
        {
            Id = "offerPointInTime",
            Container = Input<string>.FromJavaScript(container),
            Stanza = Input<string>.FromJavaScript(stanza),
            Latest = new(true),
            Result = new("PointInTime"),
        });
        // Asked whether or not a dump exists: with no dump, a pgBackRest backup is still a way back.
        flow.Connect(findBackup, pointInTime, FindRestorePoint.Found);
        flow.Connect(findBackup, pointInTime, FindRestorePoint.NotFound);
        flow.Connect(pointInTime, gate, OfferPointInTimeRestore.Offered);
        var anyDump = flow.Add(new FlowDecision { Id = "anyDump", Condition = Input<bool>.FromJavaScript("Offer.items.length > 0") });
        flow.Connect(pointInTime, anyDump, OfferPointInTimeRestore.NotOffered);
        flow.Connect(anyDump, gate, "True");
        comms.FailWith(anyDump, "False", $"'No backup of ' + ({source}) + ' exists (no dump; ' + PointInTime.reason + '): restore by hand.'");
        comms.FailWith(gate, ApprovalOutcomes.Rejected, "'The restore was rejected by ' + (Decision.approvers || []).join(', ') + (Decision.comment ? ': ' + Decision.comment : '') + '. The database stays down for manual recovery.'");
        comms.FailWith(gate, ApprovalOutcomes.TimedOut, "'Nobody approved the restore in time (escalated through the contact tree); nothing was restored.'");
        var chosen = flow.Add(new SetVariable { Id = "chosenRestorePoint", Variable = IncidentComms.Variable("RestorePoint"), Value = Input<object>.FromJavaScript("Offer.items.filter(function (i) { return i.option === Decision.option; })[0]") });
        var pointInTimeChosen = flow.Add(new FlowDecision { Id = "pointInTimeChosen", Condition = Input<bool>.FromJavaScript("PointInTime.offered === true && Decision.option === PointInTime.option") });
        flow.Connect(gate, pointInTimeChosen, ApprovalOutcomes.Approved);
        flow.Connect(pointInTimeChosen, chosen, "False");
        var chosenSet = flow.Add(new SetVariable { Id = "chosenRestoreSet", Variable = IncidentComms.Variable("RestoreSetId"), Value = Input<object>.FromJavaScript("RestorePoint.setId") });
        flow.Connect(chosen, chosenSet);

        // 6. Approved: stop, start clean, restore (pg_restore needs a running server), wait healthy.
        var restoring = comms.Update("reportRestoring", chosenSet, "Done", "Restore approved. Stopping the container, starting it clean and restoring the backup.", "identified", "We are restoring the database from backup.");
        var stop = flow.Add(new StopContainers { Id = "stop", Containers = Input<List<string>>.FromJavaScript($"[{container}]") });
        comms.Continue(restoring, stop);
        comms.AbandonWith(stop, "Stopping the container failed");
        var start = flow.Add(new StartContainers { Id = "start", Containers = Input<List<string>>.FromJavaScript($"[{container}]") });
        flow.Connect(stop, start);
        comms.AbandonWith(start, "Starting the container failed");
        var waitServer = flow.Add(new WaitForPostgres { Id = "waitServer", Server = Input<string>.FromJavaScript(server), TimeoutSeconds = new(120) });
        flow.Connect(start, waitServer);
        comms.FailWith(waitServer, WaitForPostgres.NotReady, "'The database server does not accept connections after a clean start: ' + (getOutputFrom('waitServer', 'Reason') || '')");
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
        comms.AbandonWith(restore, "The restore failed");
        comms.FailWith(restore, RestoreDatabase.IntegrityFailed, "'The restored database does not match its backup: ' + (getOutputFrom('restore', 'Integrity').problems || []).join('; ')");
        var lastGood = flow.Add(new SetVariable { Id = "recordRestorePoint", Variable = IncidentComms.Variable("LastGoodDataAt"), Value = Input<object>.FromJavaScript("RestorePoint.startedAt") });
        flow.Connect(restore, lastGood, RestoreDatabase.Restored);
        var waitRestored = flow.Add(new WaitForHealthy { Id = "waitRestored", Containers = Input<List<string>>.FromJavaScript($"[{container}]"), TimeoutSeconds = new(120) });
        flow.Connect(lastGood, waitRestored);
        comms.FailWith(waitRestored, WaitForHealthy.Unhealthy, "'The container is unhealthy after the restore: ' + (getOutputFrom('waitRestored', 'NotReady') || []).join('; ')");

        // 6b. pgBackRest to the latest archived transaction: into a new volume and container first, then the switch.
        var pitrRestoring = comms.Update("reportPointInTimeRestoring", pointInTimeChosen, "True", "Restore approved: pgBackRest restores the latest archived transaction into a fresh volume, then PostgreSQL is switched to it (the old volume is kept aside).", "identified", "We are restoring the database from backup.");
        var (pitr, pitrDone) = PointInTimeSwitch.Add(flow, comms, new PointInTimeSwitch.Server(
            container, "getInput('PostgresService') || 'postgres'", "getInput('Volume') || 'ecommerce_postgres_data'",
            "'damaged-' + (getInput('Volume') || 'ecommerce_postgres_data') + '-incident-' + getWorkflowInstanceId()", server, stanza), "latest");
        comms.Continue(pitrRestoring, pitr);
        flow.Connect(pitrDone, waitRestored);
        var restored = comms.Update("reportRestored", waitRestored, WaitForHealthy.Healthy, "Backup restored and integrity-checked against its manifest; the database container is healthy. Waiting for every service of the platform, then checking the backend's connection.", "monitoring", "The database has been restored; we are verifying the service.");

        // 7. Every service of the platform healthy, the backend (whose healthcheck queries the database) included; both paths meet here.
        var platform = flow.Add(new WaitForHealthy
        {
            Id = "waitPlatform",
            ComposeProject = Input<string>.FromJavaScript(project),
            ExcludeServices = Input<List<string>>.FromJavaScript(excluded),
            TimeoutSeconds = Input<int>.FromJavaScript("getInput('PlatformTimeoutSeconds') || 180"),
        });
        flow.Connect(checkIntegrity, platform, CheckDatabaseIntegrity.Passed);
        comms.Continue(restored, platform);
        comms.FailWith(platform, WaitForHealthy.Unhealthy, "'The database is back, but the platform is not healthy: ' + (getOutputFrom('waitPlatform', 'NotReady') || []).join('; ')");

        // The backend reaches the database.
        var backend = flow.Add(new ExecInContainer
        {
            Id = "checkBackend",
            Container = Input<string>.FromJavaScript("getInput('BackendContainer') || 'ecommerce_backend'"),
            Command = Input<List<string>>.FromJavaScript("getInput('BackendCheckCommand') || ['sh', '-c', \"echo 'SELECT 1;' | python manage.py dbshell\"]"),
            TimeoutSeconds = new(60),
        });
        flow.Connect(platform, backend, WaitForHealthy.Healthy);
        comms.FailWith(backend, ExecInContainer.Failed, "'The backend cannot connect to the database: ' + (getOutputFrom('checkBackend', 'StandardError') || 'exit code ' + getOutputFrom('checkBackend', 'ExitCode'))");

        // 8. Smoke tests.
        var smoke = flow.Add(new SmokeTest { Id = "smoke", Checks = Input<List<SmokeCheck>>.FromJavaScript("getInput('SmokeChecks') || [{ url: 'https://api.example.com/health' }]"), Attempts = new(3), RetryDelaySeconds = new(10) });
        flow.Connect(backend, smoke, ExecInContainer.Succeeded);
        comms.FailWith(smoke, SmokeTest.Failed, "'Smoke tests failed: ' + (getOutputFrom('smoke', 'Failures') || []).join(' | ')");

        // 9. Monitor: one health check of every service a minute (MonitorIntervalSeconds apart) for MonitorMinutes checks.
        var monitoring = comms.Update("reportMonitoring", smoke, SmokeTest.Passed, "Smoke tests passed. Monitoring the health of every service for a few minutes.");
        var wait = flow.Add(new Delay { Id = "monitorWait", TimeSpan = Input<TimeSpan>.FromJavaScript("(getInput('MonitorIntervalSeconds') || 60) + 's'") });
        comms.Continue(monitoring, wait);
        var check = flow.Add(new WaitForHealthy
        {
            Id = "monitorCheck",
            ComposeProject = Input<string>.FromJavaScript(project),
            ExcludeServices = Input<List<string>>.FromJavaScript(excluded),
            TimeoutSeconds = new(30),
        });
        flow.Connect(wait, check);
        comms.FailWith(check, WaitForHealthy.Unhealthy, "'The platform became unhealthy again while monitoring: ' + (getOutputFrom('monitorCheck', 'NotReady') || []).join('; ')");
        var count = flow.Add(new SetVariable { Id = "monitorCount", Variable = IncidentComms.Variable("MonitorChecks"), Value = Input<object>.FromJavaScript("MonitorChecks + 1") });
        flow.Connect(check, count, WaitForHealthy.Healthy);
        var more = flow.Add(new FlowDecision { Id = "monitorMore", Condition = Input<bool>.FromJavaScript("MonitorChecks < (getInput('MonitorMinutes') || 5)") });
        flow.Connect(count, more);
        flow.Connect(more, wait, "True");
        comms.Succeed(more, "False");
    }
}
