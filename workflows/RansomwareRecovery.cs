using DrWorkflows.Activities.Approvals;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Hosts;
using DrWorkflows.Activities.Http;
using DrWorkflows.Activities.PgBackRest;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Activities.Flowchart;
using DrWorkflows.Core.Activities.Primitives;
using DrWorkflows.Core.Building;
using DrWorkflows.Workflows.Shared;

namespace DrWorkflows.Workflows;

/// <summary>
/// Scenario 3 of the DR plan, ransomware or data corruption: check the configuration (isolation possible on this
/// host, database server, store), isolate the platform at once (checked from a source that is not allowed) and stop the
/// application, keep forensic evidence (container commits saved with SHA-256, logs, the data volume archived),
/// offer only the backups completed strictly before the suspected compromise for a human to confirm, quarantine
/// the compromised volume by copy, restore the confirmed backup into a fresh volume, rebuild the application from
/// clean images, wait until every service is healthy, and lift the isolation only after a second approval (checked:
/// the ports that answered before answer again); then smoke-test.
/// </summary>
public sealed class RansomwareRecovery : ICodeWorkflow
{
    public const string Id = "dr-ransomware-recovery";

    public string DefinitionId => Id;

    public string Name => "DR 3: Ransomware or data corruption";

    public void Build(WorkflowBuilder builder)
    {
        builder.WithDescription("Scenario 3: isolate immediately, keep forensic evidence, confirm a restore point taken strictly before the compromise (approval), quarantine the volume, restore the whole server (roles, the confirmed set, every other database from its newest verified backup before the compromise; losses accepted at a gate) into a fresh one, rebuild the application from images, lift the isolation only after approval. SEV-1.")
            .WithInput<DateTimeOffset>("CompromisedAt", "Suspected time of compromise (ISO 8601, UTC): only backups completed strictly before it are offered. Required.")
            .WithInput<List<string>>("AllowedSources", "Admin networks that keep access during the isolation (CIDRs).")
            .WithInput<List<string>>("PublishedPorts", "Published ports to block; default all published ports.")
            .WithInput<List<string>>("HostPorts", "Host ports to block in INPUT; default 80 and 443 (the plan).")
            .WithInput<List<string>>("AppServices", "Compose services stopped at once and rebuilt from images; default backend, api_gateway.")
            .WithInput<bool>("PullImages", "Pull the application's images before rebuilding it; default true. Set false when the registry is unreachable (or the images are only local): the rebuild then uses the images already on the host.")
            .WithInput<string>("PostgresContainer", "PostgreSQL container; default ecommerce_postgres.")
            .WithInput<string>("PostgresService", "Compose service of PostgreSQL (removed and created again around the volume swap); default postgres.")
            .WithInput<string>("BackendContainer", "Application container kept for forensics; default ecommerce_backend.")
            .WithInput<string>("Volume", "PostgreSQL data volume; default ecommerce_postgres_data.")
            .WithInput<string>("ForensicsDirectory", "Where evidence is written; default /var/forensics.")
            .WithInput<string>("Server", "Postgres:Servers name of the database server; default main.")
            .WithInput<string>("Database", "Database whose restore point is confirmed at the gate; default ecommerce_db. Every other database of the server comes back too, each from its newest verified backup completed before the compromise.")
            .WithInput<string>("BackupSource", "Source name of its backups; default the database name.")
            .WithInput<string>("Store", "Backup store; default Backups:Stores:DefaultStore.")
            .WithInput<List<SmokeCheck>>("SmokeChecks", "HTTP smoke checks after the isolation is lifted; default https://api.example.com/health.")
            .WithInput<List<string>>("Approvers", "Who confirms the restore point and the end of the isolation; default the incident commander, the database admin and approver API keys.")
            .WithInput<int>("RestorePointApprovals", "Approvals (different people) needed for the restore point; default 1.")
            .WithInput<string>("PgBackRestStanza", "pgBackRest stanza of the PostgreSQL server; default main. When pgBackRest archives the server, the gate also offers a restore to just before the compromise.")
            .WithInput<int>("PointInTimeMarginSeconds", "How long before CompromisedAt a point-in-time restore stops; default 60.")
            .WithInput<List<string>>("ExcludeServices", "Services of the Compose project the run does not wait for after the rebuild (an explicit exclusion, named in the journal); default none.")
            .WithVariable<string>("IncidentTag")
            .WithVariable<object>("Candidates")
            .WithVariable<object>("Offer")
            .WithVariable<object>("Sets")
            .WithVariable<object>("Decision")
            .WithVariable<string>("RestoreSetId")
            .WithVariable<object>("PointInTime")
            .WithVariable<object>(WholeServerRestore.PlanVariable);

        var flow = builder.Flowchart();
        const string tag = "(IncidentTag || ('incident-' + getWorkflowInstanceId()))";
        const string postgres = "getInput('PostgresContainer') || 'ecommerce_postgres'";
        const string postgresService = "getInput('PostgresService') || 'postgres'";
        const string backend = "getInput('BackendContainer') || 'ecommerce_backend'";
        const string apps = "getInput('AppServices') || ['backend', 'api_gateway']";
        const string volume = "getInput('Volume') || 'ecommerce_postgres_data'";
        const string evidence = $"(getInput('ForensicsDirectory') || '/var/forensics') + '/' + {tag}";
        const string server = "getInput('Server') || 'main'";
        const string source = "getInput('BackupSource') || getInput('Database') || 'ecommerce_db'";
        const string store = "getInput('Store') || ''";

        // 0. A missing or unsafe configuration (isolation impossible here, no database server, no store) stops the run
        // here, before the isolation and anything else.
        var check = IncidentComms.ConfigurationCheck(Name, server, store);
        check.NetworkIsolation = new(true);
        var preflight = flow.Add(check);

        // 1. Immediately: isolate and stop the application, before anything else (even before paging).
        var name = flow.Add(new SetVariable { Id = "incidentTag", Variable = IncidentComms.Variable("IncidentTag"), Value = Input<object>.FromJavaScript("'incident-' + getWorkflowInstanceId()") });
        var isolate = flow.Add(new IsolateNetwork
        {
            Id = "isolate",
            IsolationId = Input<string>.FromJavaScript("'ransomware-' + getWorkflowInstanceId()"),
            AllowedSources = Input<List<string>>.FromJavaScript("getInput('AllowedSources') || []"),
            PublishedPorts = Input<List<string>>.FromJavaScript("getInput('PublishedPorts') || []"),
            HostPorts = Input<List<string>>.FromJavaScript("getInput('HostPorts') || ['80', '443']"),
        });
        var stopApps = flow.Add(new ComposeCommand { Id = "stopApplication", Command = new("stop"), Services = Input<List<string>>.FromJavaScript(apps) });
        flow.Chain(preflight, name, isolate, stopApps);
        var comms = IncidentComms.Add(builder, flow, new IncidentProfile(
            "Ransomware or data corruption",
            "Security incident: service suspended",
            "We have taken the platform offline to investigate a security incident. Your data is being restored from a clean backup.",
            "SEV-1",
            TimeSpan.FromMinutes(30),
            TimeSpan.FromMinutes(15)));
        flow.Connect(stopApps, comms.First);
        comms.AbandonConfiguration(preflight);
        comms.AbandonWith(isolate, "The network isolation could not be applied or confirmed (see the incident for the ports that stay open): isolate the host by hand");
        comms.AbandonWith(stopApps, "The application could not be stopped");

        // 2. Forensic evidence.
        var snapshotDb = flow.Add(new SnapshotContainerForForensics
        {
            Id = "forensicPostgres",
            Container = Input<string>.FromJavaScript(postgres),
            ImageReference = Input<string>.FromJavaScript($"'forensic-postgres:' + {tag}"),
            OutputPath = Input<string>.FromJavaScript($"{evidence} + '/postgres.tar'"),
        });
        comms.Then(comms.Opened, snapshotDb);
        var snapshotApp = flow.Add(new SnapshotContainerForForensics
        {
            Id = "forensicBackend",
            Container = Input<string>.FromJavaScript(backend),
            ImageReference = Input<string>.FromJavaScript($"'forensic-backend:' + {tag}"),
            OutputPath = Input<string>.FromJavaScript($"{evidence} + '/backend.tar'"),
        });
        var logsDb = flow.Add(new CaptureLogs { Id = "logsPostgres", Container = Input<string>.FromJavaScript(postgres), OutputPath = Input<string>.FromJavaScript($"{evidence} + '/postgres.log'"), Timestamps = new(true) });
        var logsApp = flow.Add(new CaptureLogs { Id = "logsBackend", Container = Input<string>.FromJavaScript(backend), OutputPath = Input<string>.FromJavaScript($"{evidence} + '/backend.log'"), Timestamps = new(true) });
        var archive = flow.Add(new ArchiveVolume { Id = "archiveVolume", Volume = Input<string>.FromJavaScript(volume), OutputPath = Input<string>.FromJavaScript($"{evidence} + '/postgres-volume.tar'") });
        flow.Chain(snapshotDb, snapshotApp, logsDb, logsApp, archive);
        foreach (var step in new Activity[] { snapshotDb, snapshotApp, logsDb, logsApp, archive })
            comms.AbandonWith(step, $"Forensic step '{step.Id}' failed; keep the evidence by hand");
        var evidenceKept = comms.Update("reportEvidence", archive, "Done", "Evidence kept: postgres and backend images saved, logs captured, data volume archived (SHA-256 in the journal). Looking for backups taken strictly before the compromise.");

        // 3. Candidates: every backup completed strictly before the compromise.
        var find = flow.Add(new FindRestorePoint
        {
            Id = "findRestorePoints",
            Kind = new(BackupKinds.Postgres),
            Source = Input<string>.FromJavaScript(source),
            Store = Input<string>.FromJavaScript(store),
            Before = Input<DateTimeOffset?>.FromJavaScript("getInput('CompromisedAt')"),
            RequireVerified = new(false),
            Candidates = new("Candidates"),
            Offer = new("Offer"),
        });
        var cutoffGiven = flow.Add(new FlowDecision { Id = "cutoffGiven", Condition = Input<bool>.FromJavaScript("!!getInput('CompromisedAt')") });
        comms.Continue(evidenceKept, cutoffGiven);
        flow.Connect(cutoffGiven, find, "True");
        comms.FailWith(cutoffGiven, "False", "'CompromisedAt was not given: without the suspected compromise time no restore point can be offered safely. Start a new run with it; the platform stays isolated.'");
        var sets = flow.Add(new ListBackups { Id = "listBackups", Kind = new(BackupKinds.Postgres), Source = Input<string>.FromJavaScript(source), Store = Input<string>.FromJavaScript(store), Result = new("Sets") });
        flow.Connect(find, sets, FindRestorePoint.Found);

        // With pgBackRest archiving the server, a restore to just before the compromise is offered next to the dumps;
        // a target outside what the archive holds is not offered, and the gate says why, with the range.
        var pointInTime = flow.Add(new OfferPointInTimeRestore
        {
            Id = "offerPointInTime",
            Container = Input<string>.FromJavaScript(postgres),
            Stanza = Input<string>.FromJavaScript("getInput('PgBackRestStanza') || 'main'"),
            Before = Input<DateTimeOffset?>.FromJavaScript("getInput('CompromisedAt')"),
            MarginSeconds = Input<int?>.FromJavaScript("getInput('PointInTimeMarginSeconds') == null ? 60 : getInput('PointInTimeMarginSeconds')"),
            Result = new("PointInTime"),
        });
        flow.Connect(sets, pointInTime);
        // Without a dump from before the compromise, a pgBackRest backup may still reach just before it: asked too.
        flow.Connect(find, pointInTime, FindRestorePoint.NotFound);

        // 4. A human confirms the safe restore point: the verified backups completed strictly before the compromise,
        // newest first, the newest as the default; unverified ones only when there is no verified one, marked, and
        // each needs its confirmation phrase typed.
        var gate = flow.Add(new ApprovalGate
        {
            Id = "confirmRestorePoint",
            Title = new("Confirm the safe restore point"),
            Question = Input<string>.FromJavaScript("'Which backup is clean? Only backups completed strictly before the suspected compromise at ' + getInput('CompromisedAt') + ' are offered' + (Offer.items.length === 0 ? '. No dump was completed before it.' : Offer.onlyUnverified ? '. NONE OF THEM IS VERIFIED (restore-tested): choosing one needs its confirmation phrase typed.' : ', verified ones only; the newest is the default.') + (PointInTime.offered ? ' Also offered: ' + PointInTime.option + ', restored into a fresh volume (the evidence stays as it is).' : '') + ' The database will be rebuilt from it; everything written after it is lost.'"),
            Options = Input<List<string>>.FromJavaScript("Offer.options.concat(PointInTime.offered ? [PointInTime.option] : [])"),
            DefaultOption = Input<string>.FromJavaScript("Offer.defaultOption || ''"),
            ConfirmationPhrases = Input<Dictionary<string, string>>.FromJavaScript("Offer.confirmationPhrases"),
            Evidence = Input<System.Text.Json.Nodes.JsonNode?>.FromJavaScript($$"""
                (function () {
                  var sums = {};
                  (Sets || []).forEach(function (s) { sums[s.setId] = s; });
                  return {
                    text: 'Suspected compromise at ' + getInput('CompromisedAt') + '. ' + (Offer.items.length === 0 ? 'No dump was completed before it: only the pgBackRest restore is offered.' : Offer.onlyUnverified
                      ? 'No verified backup was completed before it: the backups below were never proven to restore (or failed their verification). Choosing one needs its confirmation phrase typed.'
                      : 'Offered: the verified backups completed strictly before it, newest first (the newest is the default), with their age and checksum. Unverified backups are not offered.')
                      + ' ' + PointInTime.reason
                      + ' Forensic evidence is in ' + ({{evidence}}) + '.',
                    facts: Offer.items.map(function (c) {
                      return { option: c.option, setId: c.setId, startedAt: c.startedAt, completedAt: c.completedAt, ageHours: c.ageHours,
                               verified: c.verified, lastVerifiedAt: c.lastVerifiedAt, note: c.note, bytes: c.size,
                               sha256: sums[c.setId] ? sums[c.setId].sha256 : null, store: c.store, confirmation: c.confirmation };
                    }).concat(PointInTime.offered ? [{ option: PointInTime.option, pointInTime: PointInTime.targetTime, ranges: PointInTime.ranges }] : [])
                  };
                })()
                """),
            Approvers = Input<List<string>>.FromJavaScript("getInput('Approvers') || ['contact:IncidentCommander', 'contact:DatabaseAdmin', 'role:approver']"),
            RequiredApprovals = Input<int>.FromJavaScript("getInput('RestorePointApprovals') || 1"),
            Timeout = new(TimeSpan.FromMinutes(30)),
            SafeDefault = new(ApprovalOutcomes.TimedOut),
            Decision = new("Decision"),
        });
        flow.Connect(pointInTime, gate, OfferPointInTimeRestore.Offered);
        var anyDump = flow.Add(new FlowDecision { Id = "anyCleanDump", Condition = Input<bool>.FromJavaScript("Offer.items.length > 0") });
        flow.Connect(pointInTime, anyDump, OfferPointInTimeRestore.NotOffered);
        flow.Connect(anyDump, gate, "True");
        comms.FailWith(anyDump, "False", $"'No backup of ' + ({source}) + ' was completed before the compromise at ' + getInput('CompromisedAt') + ' (no dump; ' + PointInTime.reason + '). The platform stays isolated.'");
        comms.FailWith(gate, ApprovalOutcomes.Rejected, "'No restore point was confirmed (rejected by ' + (Decision.approvers || []).join(', ') + (Decision.comment ? ': ' + Decision.comment : '') + '). The platform stays isolated.'");
        comms.FailWith(gate, ApprovalOutcomes.TimedOut, "'Nobody confirmed a restore point in time. The platform stays isolated; nothing was restored.'");
        var chosen = flow.Add(new SetVariable { Id = "chosenRestorePoint", Variable = IncidentComms.Variable("RestoreSetId"), Value = Input<object>.FromJavaScript("Offer.setIds[Decision.option]") });
        var pointInTimeChosen = flow.Add(new FlowDecision { Id = "pointInTimeChosen", Condition = Input<bool>.FromJavaScript("PointInTime.offered === true && Decision.option === PointInTime.option") });
        flow.Connect(gate, pointInTimeChosen, ApprovalOutcomes.Approved);
        flow.Connect(pointInTimeChosen, chosen, "False");
        var lastGood = flow.Add(new SetVariable
        {
            Id = "recordRestorePoint",
            Variable = IncidentComms.Variable("LastGoodDataAt"),
            Value = Input<object>.FromJavaScript("(Candidates || []).filter(function (c) { return c.setId === RestoreSetId; })[0].startedAt"),
        });
        flow.Connect(chosen, lastGood);
        var restoring = comms.Update("reportRestoring", lastGood, "Done", "Restore point confirmed. Quarantining the compromised volume and restoring into a fresh one.", "identified", "We are restoring the platform from a clean backup.");

        // 5. Quarantine the compromised volume (rename by copy), fresh volume, start, restore.
        var stopDb = flow.Add(new StopContainers { Id = "stopPostgres", Containers = Input<List<string>>.FromJavaScript($"[{postgres}]") });

        // The volume holds the whole server: the roles and every database come back, the confirmed set for the database
        // above, the newest verified set completed before the compromise for the others; what has none is lost, and a
        // person accepts that before the volume is swapped.
        var before = flow.Add(new InspectPostgresServer { Id = "inventoryBefore", Server = Input<string>.FromJavaScript(server), TimeoutSeconds = new(10) });
        comms.Continue(restoring, before);
        var plan = flow.Add(new PlanServerRestore
        {
            Id = "planRestore",
            Server = Input<string>.FromJavaScript(server),
            Store = Input<string>.FromJavaScript(store),
            Inventory = Input<ServerInventory?>.FromJavaScript("getOutputFrom('inventoryBefore', 'Inventory') || null"),
            Before = Input<DateTimeOffset?>.FromJavaScript("getInput('CompromisedAt')"),
            SetIds = Input<Dictionary<string, string>?>.FromJavaScript("(function () { var pins = {}; pins[getInput('Database') || 'ecommerce_db'] = RestoreSetId; return pins; })()"),
            ListFrom = new(nameof(ServerListSource.ServerAndCatalog)),
            Plan = new(WholeServerRestore.PlanVariable),
        });
        foreach (var port in new[] { InspectPostgresServer.Answered, InspectPostgresServer.Missing, InspectPostgresServer.Unreachable, IncidentComms.FailedPort })
            flow.Connect(before, plan, port);
        comms.FailWith(plan, PlanServerRestore.NothingToRestore, "'No database of the server has a backup to restore: ' + RestorePlan.summary + ' The platform stays isolated.'");
        var anyLost = flow.Add(new FlowDecision { Id = "anyLost", Condition = Input<bool>.FromJavaScript("RestorePlan.lost.length > 0") });
        flow.Connect(plan, anyLost, PlanServerRestore.Planned);
        flow.Connect(anyLost, stopDb, "False");
        var lossGate = flow.Add(new ApprovalGate
        {
            Id = "approveLosses",
            Title = new("Restore the server although databases are lost?"),
            Question = Input<string>.FromJavaScript("'Databases of the server have no clean backup and will not come back (LOST below). Restore the rest and accept that loss? ' + RestorePlan.summary"),
            Evidence = Input<System.Text.Json.Nodes.JsonNode?>.FromJavaScript("({ text: RestorePlan.summary, facts: { listedFrom: RestorePlan.listedFrom, lost: RestorePlan.lost, restore: RestorePlan.databases.map(function (d) { return { database: d.database, set: d.setId, ageHours: d.ageHours, verified: d.verified }; }), globals: RestorePlan.globals } })"),
            Approvers = Input<List<string>>.FromJavaScript("getInput('Approvers') || ['contact:IncidentCommander', 'contact:DatabaseAdmin', 'role:approver']"),
            Timeout = new(TimeSpan.FromMinutes(30)),
            SafeDefault = new(ApprovalOutcomes.TimedOut),
        });
        flow.Connect(anyLost, lossGate, "True");
        flow.Connect(lossGate, stopDb, ApprovalOutcomes.Approved);
        comms.FailWith(lossGate, ApprovalOutcomes.Rejected, "'Restoring without the lost databases was rejected: ' + RestorePlan.summary + ' The platform stays isolated; nothing was removed.'");
        comms.FailWith(lossGate, ApprovalOutcomes.TimedOut, "'Nobody accepted the lost databases in time: ' + RestorePlan.summary + ' The platform stays isolated; nothing was removed.'");
        var quarantine = flow.Add(new CopyVolume
        {
            Id = "quarantineVolume",
            Source = Input<string>.FromJavaScript(volume),
            Destination = Input<string>.FromJavaScript($"'forensic-' + ({volume}) + '-' + {tag}"),
            RemoveSource = new(true),
        });
        // The replacement keeps the old volume's labels (Compose's), so Compose still owns it.
        var fresh = flow.Add(new CreateVolume { Id = "freshVolume", Volume = Input<string>.FromJavaScript(volume), Labels = Input<Dictionary<string, string>>.FromJavaScript("getOutputFrom('quarantineVolume', 'SourceLabels') || {}") });
        // A volume cannot be removed while a container (even a stopped one) uses it: remove the container, and let Compose create it again.
        var removeDb = flow.Add(new ComposeCommand { Id = "removePostgresContainer", Command = new("rm"), Services = Input<List<string>>.FromJavaScript($"[{postgresService}]") });
        var startDb = flow.Add(new ComposeUp { Id = "startPostgres", Services = Input<List<string>>.FromJavaScript($"[{postgresService}]") });
        var waitServer = flow.Add(new WaitForPostgres { Id = "waitServer", Server = Input<string>.FromJavaScript(server), TimeoutSeconds = new(180) });
        flow.Chain(stopDb, removeDb, quarantine, fresh, startDb, waitServer);
        comms.AbandonWith(stopDb, "Stopping PostgreSQL failed");
        comms.AbandonWith(removeDb, "Removing the PostgreSQL container (compose rm --stop --force postgres) failed");
        comms.AbandonWith(quarantine, "Quarantining the compromised volume failed");
        comms.AbandonWith(fresh, "Creating the fresh volume failed");
        comms.AbandonWith(startDb, "Creating and starting PostgreSQL on the fresh volume failed");
        comms.FailWith(waitServer, WaitForPostgres.NotReady, "'PostgreSQL does not accept connections on the fresh volume: ' + (getOutputFrom('waitServer', 'Reason') || '')");
        var (restore, oldest) = WholeServerRestore.Add(flow, comms, "restore", server, "Restoring the roles and databases failed");
        flow.Connect(waitServer, restore, WaitForPostgres.Ready);

        // 5b. The point in time chosen: pgBackRest restores into a fresh volume and container (the compromised volume and
        // its server are not touched), the exact recovery point is measured; then the compromised volume is quarantined
        // as above and the platform's PostgreSQL starts on a copy of the restored data, with archiving on again.
        var pitrRestoring = comms.Update("reportPointInTimeRestoring", pointInTimeChosen, "True", "Restore point confirmed: a point in time just before the compromise. pgBackRest restores it into a fresh volume; the compromised volume stays as evidence.", "identified", "We are restoring the platform from a clean backup.");
        var (pitr, pitrLastGood) = PointInTimeSwitch.Add(flow, comms, new PointInTimeSwitch.Server(
            postgres, postgresService, volume, $"'forensic-' + ({volume}) + '-' + {tag}", server, "getInput('PgBackRestStanza') || 'main'"), "time", "PointInTime.targetTime");
        comms.Continue(pitrRestoring, pitr);

        // 6. Rebuild the application from clean images.
        var pullWanted = flow.Add(new FlowDecision { Id = "pullWanted", Condition = Input<bool>.FromJavaScript("String(getInput('PullImages')).toLowerCase() !== 'false'") });
        var pull = flow.Add(new ComposeCommand { Id = "pullImages", Command = new("pull"), Services = Input<List<string>>.FromJavaScript(apps) });
        // --no-deps: docker-compose 1.x would otherwise recreate the services the application depends on too, PostgreSQL
        // included (restarted right after the restore).
        var rebuild = flow.Add(new ComposeCommand { Id = "rebuildApplication", Command = new("up"), ForceRecreate = new(true), NoDeps = new(true), Services = Input<List<string>>.FromJavaScript(apps) });
        flow.Connect(oldest, pullWanted);
        flow.Connect(pitrLastGood, pullWanted);
        flow.Connect(pullWanted, pull, "True");
        flow.Connect(pullWanted, rebuild, "False");
        flow.Connect(pull, rebuild);
        comms.AbandonWith(pull, "Pulling clean images failed");
        comms.AbandonWith(rebuild, "Recreating the application containers failed");
        var waitApps = flow.Add(new WaitForHealthy { Id = "waitHealthy", ExcludeServices = Input<List<string>>.FromJavaScript("getInput('ExcludeServices') || []"), TimeoutSeconds = new(300) });
        flow.Connect(rebuild, waitApps);
        comms.FailWith(waitApps, WaitForHealthy.Unhealthy, "'The rebuilt platform is not healthy: ' + (getOutputFrom('waitHealthy', 'NotReady') || []).join('; ') + '. It stays isolated.'");

        // 7. Lift the isolation only after a human approves it; then smoke-test from outside.
        var liftGate = flow.Add(new ApprovalGate
        {
            Id = "approveLiftIsolation",
            Title = new("Lift the network isolation?"),
            Question = new("The database was restored from the confirmed backup and checked against its manifest, and the application was rebuilt from images and is healthy. Open the platform to traffic again?"),
            Evidence = Input<System.Text.Json.Nodes.JsonNode?>.FromJavaScript($$"""
                ({
                  text: 'Restored set ' + RestoreSetId + '; forensic evidence in ' + ({{evidence}}) + '; compromised volume kept as forensic-' + ({{volume}}) + '-' + {{tag}} + '. ' + RecoveryReport,
                  facts: { restoredSet: RestoreSetId, restore: (getOutputFrom('restore', 'Report') || {}).databases || [], comparison: getOutputFrom('inventoryAfter', 'Comparison'), health: getOutputFrom('waitHealthy', 'Statuses') || [] }
                })
                """),
            Approvers = Input<List<string>>.FromJavaScript("getInput('Approvers') || ['contact:IncidentCommander', 'contact:DatabaseAdmin', 'role:approver']"),
            Timeout = new(TimeSpan.FromHours(1)),
            SafeDefault = new(ApprovalOutcomes.TimedOut),
        });
        var awaiting = comms.Update("reportReadyToOpen", waitApps, WaitForHealthy.Healthy, "Database restored and application rebuilt; everything is healthy. Waiting for approval to lift the network isolation.");
        comms.Continue(awaiting, liftGate);
        comms.FailWith(liftGate, ApprovalOutcomes.Rejected, "'The platform is restored but stays isolated: lifting the isolation was rejected.'");
        comms.FailWith(liftGate, ApprovalOutcomes.TimedOut, "'The platform is restored but stays isolated: nobody approved lifting the isolation in time.'");
        var lift = flow.Add(new RestoreNetwork
        {
            Id = "liftIsolation",
            IsolationId = Input<string>.FromJavaScript("'ransomware-' + getWorkflowInstanceId()"),
            ExpectReachable = Input<List<IsolationTarget>>.FromJavaScript("(getOutputFrom('isolate', 'Result') || {}).reachableBefore || []"),
        });
        flow.Connect(liftGate, lift, ApprovalOutcomes.Approved);
        comms.AbandonWith(lift, "Lifting the network isolation failed or was not confirmed: remove the rules tagged drworkflows-isolation:ransomware-<run> by hand and check the ports");
        var smoke = flow.Add(new SmokeTest { Id = "smoke", Checks = Input<List<SmokeCheck>>.FromJavaScript("getInput('SmokeChecks') || [{ url: 'https://api.example.com/health' }]"), Attempts = new(3), RetryDelaySeconds = new(10) });
        flow.Connect(lift, smoke);
        comms.FailWith(smoke, SmokeTest.Failed, "'Smoke tests failed after the isolation was lifted: ' + (getOutputFrom('smoke', 'Failures') || []).join(' | ')");
        // A point-in-time restore is whole by nature (the whole server, every table read in full in the restored copy,
        // PostgreSQL up on it and the platform healthy); a restore from dumps must show every database came back.
        var viaPointInTime = flow.Add(new FlowDecision { Id = "viaPointInTime", Condition = Input<bool>.FromJavaScript($"!!getOutputFrom('{PointInTimeSwitch.RestoreId}', 'Result') && !!getOutputFrom('{PointInTimeSwitch.ArchiveAgainId}', 'Result')") });
        flow.Connect(smoke, viaPointInTime, SmokeTest.Passed);
        comms.Succeed(viaPointInTime, "True");
        WholeServerRestore.End(flow, comms, "restore", viaPointInTime, "False");
    }
}
