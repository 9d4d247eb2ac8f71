using DrWorkflows.Activities.Approvals;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Dns;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Drills;
using DrWorkflows.Activities.Http;
using DrWorkflows.Activities.PgBackRest;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Activities.Redis;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Activities.Primitives;
using DrWorkflows.Core.Building;
using DrWorkflows.Workflows.Shared;

namespace DrWorkflows.Workflows;

/// <summary>
/// Scenario 2 of the DR plan, complete host failure: confirm the primary does not answer, start the DR server's
/// database service (Compose) and wait until it accepts connections, restore the primary's whole database server: its
/// roles and every database backed up from it (the latest backups, from S3 by default, each checked against its
/// manifest), and Redis on the DR server, from the first store that answers and holds them (S3, else the offsite copy), bring the Compose project up on the
/// DR engine, wait until healthy and smoke-test it there; then, only after an approval with the evidence, move
/// the public DNS record to the DR server (Route 53 UPSERT, wait until INSYNC) and smoke-test through the public name.
/// With <c>PgBackRestStanza</c>, the primary's main PostgreSQL is restored instead with pgBackRest from its S3 repository
/// (repo1; the local repo2 died with the primary) to the latest archived transaction, the recovery point and RPO
/// exposure reported; when repo1 cannot be used, the thread and the cutover gate say why and the dumps are restored.
/// </summary>
/// <remarks>
/// Run it on the orchestrator that manages the DR server: its Docker engine (<c>Docker:Endpoint</c>), Redis
/// (<c>Redis:ConnectionString</c>) and the <c>dr</c> entry of <c>Postgres:Servers</c> are the DR server's.
/// </remarks>
public sealed class HostFailover : ICodeWorkflow
{
    public const string Id = "dr-host-failover";

    /// <summary>The workflow variable that holds the store the backups are restored from (<see cref="ChooseRestoreStore"/>).</summary>
    public const string RestoreStoreVariable = "RestoreStore";

    /// <summary>The workflow variable that holds the RPO exposure of a pgBackRest restore (<see cref="MeasureRpoExposure"/>); null on the dumps path.</summary>
    public const string RpoExposureVariable = "RpoExposure";

    /// <summary>The workflow variable that holds why pgBackRest was not used although a stanza was given; null otherwise.</summary>
    public const string PgBackRestRefusedVariable = "PgBackRestRefused";

    /// <summary>On the pgBackRest path, the restore of the other servers' databases (AlsoFromServers) from their dumps.</summary>
    public const string OtherServersRestoreId = "restoreOtherServers";

    public string DefinitionId => Id;

    public string Name => "DR 2: Complete host failure, fail over to the DR server";

    public void Build(WorkflowBuilder builder)
    {
        builder.WithDescription("Scenario 2: restore the primary's whole database server (roles, every database) and Redis from the latest (S3) backups on the DR server, compose up, wait healthy, smoke-test, then move DNS to the DR server only after an approval and smoke-test the public name. With PgBackRestStanza, the main PostgreSQL comes from pgBackRest's S3 repository (repo1) to the latest archived transaction instead (the dumps when repo1 cannot be used, said in the thread). SEV-1.")
            .WithInput<List<SmokeCheck>>("PrimaryChecks", "Checks that must FAIL to confirm the primary is down; default https://api.example.com/health.")
            .WithInput<string>("Server", "Postgres:Servers name of the DR database server; default dr.")
            .WithInput<string>("PrimaryServer", "Postgres:Servers name of the primary's database server: every database backed up from it (that name, or its host:port when it is configured here) is restored; default main.")
            .WithInput<List<string>>("AlsoFromServers", "Other Postgres:Servers names of the primary host whose databases are restored on the DR server too; default ['ai'] (backup-postgres backs up ai_db through it).")
            .WithInput<string>("GlobalsSource", "Source name of the globals backups (roles); default the newest globals set taken from the primary server.")
            .WithInput<string>("Store", "Backup store to restore from; default s3 (the local store died with the primary).")
            .WithInput<List<string>>("FallbackStores", "Stores tried in order when Store is unreachable or holds no PostgreSQL backup; default ['offsite'] (Backups:Stores:Offsite, the second S3 store); [] to use Store only.")
            .WithInput<string>("RedisSource", "Source name of the Redis backups; default redis.")
            .WithInput<string>("RedisDumpPath", "Where the Redis dump is written before the restore; default /backups/redis/failover.rdb.")
            .WithInput<string>("ComposeProject", "Compose project on the DR engine; default Docker:ComposeProject.")
            .WithInput<List<string>>("DatabaseServices", "Compose services started first on the DR engine, so the backups can be restored into them; default ['postgres']; [] when the DR database server runs outside Compose (it is then only waited for).")
            .WithInput<List<SmokeCheck>>("DrChecks", "Smoke checks against the DR server before DNS moves (use a Host header); default https://dr-server.example.com/health.")
            .WithInput<string>("ZoneId", "Route 53 hosted zone id. Required.")
            .WithInput<string>("RecordName", "Public record to move; default api.example.com.")
            .WithInput<string>("DrAddress", "The DR server's public IP address. Required.")
            .WithInput<int>("Ttl", "TTL of the moved record in seconds; default 60.")
            .WithInput<List<SmokeCheck>>("PublicChecks", "Smoke checks through the public name after the cutover; default https://api.example.com/health.")
            .WithInput<List<string>>("Approvers", "Who may approve the DNS cutover; default the incident commander, the operations lead and approver API keys.")
            .WithInput<List<string>>("ExcludeServices", "Services of the Compose project the run does not wait for on the DR engine (an explicit exclusion, named in the journal); default none.")
            .WithInput<string>("PgBackRestStanza", "pgBackRest stanza of the primary's main PostgreSQL. When given, the DR server's PostgreSQL is restored with pgBackRest from its S3 repository (repo1) to the latest archived transaction instead of from the dumps; default none (the dumps).")
            .WithInput<string>("PgBackRestFallback", "When pgBackRest's S3 repository cannot be restored from (unreachable, wrong key, no usable backup, a WAL gap): dumps (restore the dumps instead, said in the thread) or stop (the run fails with the reason); default dumps.")
            .WithInput<string>("PostgresContainer", "The DR server's PostgreSQL container (pgBackRest path); default ecommerce_postgres.")
            .WithInput<string>("PostgresService", "Compose service of the DR server's PostgreSQL, removed and created again around the pgBackRest volume swap; default postgres.")
            .WithInput<string>("Volume", "Data volume of the DR server's PostgreSQL (pgBackRest path: kept aside as replaced-VOLUME-failover-RUN, a fresh one filled with the restored data); default ecommerce_postgres_data.")
            .WithVariable<object>(WholeServerRestore.PlanVariable)
            .WithVariable<object>("PointInTime")
            .WithVariable<object>(RpoExposureVariable)
            .WithVariable<string>(PgBackRestRefusedVariable)
            .WithVariable<string>("RestoreSetId")
            .WithVariable<object>("Decision")
            .WithVariable<string>(RestoreStoreVariable)
            .WithVariable<string>("ChangeId");

        var flow = builder.Flowchart();
        var comms = IncidentComms.Add(builder, flow, new IncidentProfile(
            "Complete host failure",
            "Service outage: failing over to our disaster recovery site",
            "Our primary site is unavailable. We are restoring service on our disaster recovery site.",
            "SEV-1",
            TimeSpan.FromMinutes(30),
            TimeSpan.FromHours(6)));

        const string server = "getInput('Server') || 'dr'";
        const string store = "getInput('Store') || 's3'";
        const string primaryServer = "getInput('PrimaryServer') || 'main'";
        const string project = "getInput('ComposeProject') || ''";
        const string zone = "getInput('ZoneId') || ''";
        const string record = "getInput('RecordName') || 'api.example.com'";

        // 0. No DR server, no store, no Compose project: the run stops here, before anything is started on the DR side.
        comms.CheckFirst(IncidentComms.ConfigurationCheck(Name, server, store, project));

        // 1. The primary really is down.
        // Its failing IS the detection: the post-mortem does not list it as something that went wrong.
        var primary = flow.Add(IncidentComms.Detects(new SmokeTest { Id = "checkPrimary", Checks = Input<List<SmokeCheck>>.FromJavaScript("getInput('PrimaryChecks') || [{ url: 'https://api.example.com/health', timeout: '00:00:05' }]"), Attempts = new(3), RetryDelaySeconds = new(10) }, SmokeTest.Failed));
        comms.Then(comms.Opened, primary);
        comms.FailWith(primary, SmokeTest.Passed, "'The primary answers its health checks: not failing over. Check the alert, then start this workflow again if the primary is really down.'");
        var confirmed = comms.Update("reportPrimaryDown", primary, SmokeTest.Failed, "Primary confirmed down (no answer to its health checks). Restoring on the DR server from the newest backups.", "identified", "Our primary site is down. We are restoring service on our disaster recovery site.");
        var inputsGiven = flow.Add(new Core.Activities.Flowchart.FlowDecision { Id = "inputsGiven", Condition = Input<bool>.FromJavaScript("!!getInput('ZoneId') && !!getInput('DrAddress')") });
        comms.Continue(confirmed, inputsGiven);
        comms.FailWith(inputsGiven, "False", "'ZoneId and DrAddress are required to fail over: start the workflow again with them.'");

        // 3. The DR server's database first: on a cold DR server nothing runs yet, and the restores need a server.
        // 2. The store the backups come from: Store (s3) when it answers and holds PostgreSQL backups, else the first
        // fallback (the offsite copy) that does. Chosen before anything starts on the DR side; the thread, the journal,
        // the cutover gate and the post-mortem say which store and why the others were passed over.
        var chooseStore = flow.Add(new ChooseRestoreStore
        {
            Id = "chooseStore",
            Stores = Input<List<string>>.FromJavaScript($"[{store}].concat(getInput('FallbackStores') || ['offsite'])"),
            Kind = new(BackupKinds.Postgres),
            Store = new(RestoreStoreVariable),
        });
        flow.Connect(inputsGiven, chooseStore, "True");
        comms.FailWith(chooseStore, ChooseRestoreStore.NoneUsable, "'No backup store can be restored from: ' + (getOutputFrom('chooseStore', 'PassedOver') || []).join('; ') + '. Check the stores (Backups:Stores:S3, Backups:Stores:Offsite) from the DR server.'");
        var storeChosen = flow.Add(IncidentComms.Thread("reportRestoreStore",
            $"'Restoring from backup store ' + {RestoreStoreVariable} + ((getOutputFrom('chooseStore', 'PassedOver') || []).length > 0 ? ' (passed over: ' + getOutputFrom('chooseStore', 'PassedOver').join('; ') + ')' : '') + '.'"));
        flow.Connect(chooseStore, storeChosen, ChooseRestoreStore.Chosen);

        // 3. The DR server's database first: on a cold DR server nothing runs yet, and the restores need a server.
        const string databaseServices = "getInput('DatabaseServices') || ['postgres']";
        var startDatabaseFirst = flow.Add(new Core.Activities.Flowchart.FlowDecision { Id = "startDatabaseFirst", Condition = Input<bool>.FromJavaScript($"({databaseServices}).length > 0") });
        comms.Continue(storeChosen, startDatabaseFirst);
        var startDatabase = flow.Add(new ComposeUp { Id = "startDatabase", Project = Input<string>.FromJavaScript(project), Services = Input<List<string>>.FromJavaScript(databaseServices) });
        flow.Connect(startDatabaseFirst, startDatabase, "True");
        comms.AbandonWith(startDatabase, "Starting the database service on the DR engine failed");
        var waitDatabase = flow.Add(new WaitForPostgres { Id = "waitDatabase", Server = Input<string>.FromJavaScript(server), TimeoutSeconds = new(120) });
        flow.Connect(startDatabase, waitDatabase);
        flow.Connect(startDatabaseFirst, waitDatabase, "False");
        comms.FailWith(waitDatabase, WaitForPostgres.NotReady, $"'The DR database server ' + ({server}) + ' does not accept connections after 2 minutes: ' + (getOutputFrom('waitDatabase', 'Reason') || '') + '. Check its Postgres:Servers entry and the database service on the DR server.'");

        // 4. The primary's whole database server: its roles first, then every database backed up from it, each from its
        // newest set. The plan restores the latest backup: in S3 it is verified monthly by the drill, not daily, so the
        // newest set is taken whether verified or not; the restore checks it against its manifest and the cutover gate
        // shows its status. A database without any backup is lost: the cutover gate lists it and the run ends Partial.
        var plan = flow.Add(new PlanServerRestore
        {
            Id = "planRestore",
            Server = Input<string>.FromJavaScript(primaryServer),
            Store = Input<string>.FromJavaScript(RestoreStoreVariable),
            GlobalsSource = Input<string>.FromJavaScript("getInput('GlobalsSource') || ''"),
            AlsoFrom = Input<List<string>?>.FromJavaScript("getInput('AlsoFromServers') || ['ai']"),
            RequireVerified = new(false),
            Plan = new(WholeServerRestore.PlanVariable),
        });
        // 4a. With a pgBackRest stanza (the primary archived its WAL), the whole main server from pgBackRest's S3
        // repository (repo1: the primary's local repo2 died with it) to the latest archived transaction, into a fresh
        // volume on the DR engine, then the DR stack's PostgreSQL switched onto it (PointInTimeSwitch). Automatic like the
        // dump restore it replaces: nothing public changes before the cutover gate, which shows the recovery point and the
        // RPO exposure. Repo1 unreadable (unreachable, wrong key, no usable backup) or the restore refused and abandoned:
        // the thread and the journal say why, then the dumps (or the run stops, PgBackRestFallback stop); never silently.
        const string stanza = "getInput('PgBackRestStanza') || ''";
        const string drContainer = "getInput('PostgresContainer') || 'ecommerce_postgres'";
        const string drVolume = "getInput('Volume') || 'ecommerce_postgres_data'";
        var pgBackRestGiven = flow.Add(new Core.Activities.Flowchart.FlowDecision { Id = "pgBackRestGiven", Condition = Input<bool>.FromJavaScript("!!getInput('PgBackRestStanza')") });
        flow.Connect(waitDatabase, pgBackRestGiven, WaitForPostgres.Ready);
        flow.Connect(pgBackRestGiven, plan, "False");
        var checkRepository = flow.Add(new OfferPointInTimeRestore
        {
            Id = "checkPgBackRestRepository",
            Container = Input<string>.FromJavaScript(drContainer),
            Stanza = Input<string>.FromJavaScript(stanza),
            Latest = new(true),
            Repository = new(1),
            Result = new("PointInTime"),
        });
        flow.Connect(pgBackRestGiven, checkRepository, "True");
        var fallBack = flow.Add(new Core.Activities.Flowchart.FlowDecision { Id = "pgBackRestFallBack", Condition = Input<bool>.FromJavaScript("(getInput('PgBackRestFallback') || 'dumps') !== 'stop'") });
        var refused = flow.Add(new SetVariable { Id = "recordPgBackRestRefused", Variable = IncidentComms.Variable(PgBackRestRefusedVariable), Value = Input<object>.FromJavaScript("'pgBackRest repository 1 (S3) cannot be restored from: ' + PointInTime.reason") });
        flow.Connect(checkRepository, refused, OfferPointInTimeRestore.NotOffered);
        flow.Connect(refused, fallBack);
        var fellBack = flow.Add(IncidentComms.Thread("reportPgBackRestFallback", $"'NOT restored with pgBackRest. ' + {PgBackRestRefusedVariable} + ' Restoring the newest dumps from store ' + {RestoreStoreVariable} + ' instead: the writes made after each dump started are lost.'"));
        flow.Connect(fallBack, fellBack, "True");
        comms.Continue(fellBack, plan);
        comms.FailWith(fallBack, "False", $"'Not restored: ' + {PgBackRestRefusedVariable} + ' PgBackRestFallback is stop, so the dumps were not restored either: fix repository 1 (S3) and start the workflow again, or start it with PgBackRestFallback dumps.'");
        var pointInTimeRestoring = comms.Update("reportPointInTimeRestoring", checkRepository, OfferPointInTimeRestore.Offered, "pgBackRest's S3 repository (repo1) holds the primary's archive: restoring the main PostgreSQL to the latest archived transaction into a fresh volume on the DR server, then switching the DR stack's PostgreSQL onto it.");
        var (pointInTime, pointInTimeDone) = PointInTimeSwitch.Add(flow, comms, new PointInTimeSwitch.Server(
            drContainer, "getInput('PostgresService') || 'postgres'", drVolume, $"'replaced-' + ({drVolume}) + '-failover-' + getWorkflowInstanceId()", server, stanza, project, "1"), "latest",
            restoreFailed: restore =>
            {
                var failed = flow.Add(new SetVariable { Id = "recordPgBackRestFailed", Variable = IncidentComms.Variable(PgBackRestRefusedVariable), Value = new("The pgBackRest restore from repository 1 (S3) was refused or failed, and the operator abandoned it (nothing was replaced; the run's incident has pgBackRest's reason).") });
                flow.Connect(restore, failed, IncidentComms.FailedPort);
                flow.Connect(failed, fallBack);
            });
        comms.Continue(pointInTimeRestoring, pointInTime);
        const string pointInTimeResult = $"getOutputFrom('{PointInTimeSwitch.RestoreId}', 'Result')";
        const string alsoFromServers = "getInput('AlsoFromServers') || ['ai']";
        var exposure = flow.Add(new MeasureRpoExposure
        {
            Id = "measureRpoExposure",
            RecoveryPoint = Input<DateTimeOffset?>.FromJavaScript($"{pointInTimeResult}.lastReplayedCommitAt || null"),
            Source = Input<string>.FromJavaScript($"'backup ' + {pointInTimeResult}.backupLabel + ' and the WAL of repository ' + {pointInTimeResult}.repository"),
            Result = new(RpoExposureVariable),
        });
        flow.Connect(pointInTimeDone, exposure);
        comms.FailWith(plan, PlanServerRestore.NothingToRestore, $"'There is no backup of any database of ' + ({primaryServer}) + ' in store ' + {RestoreStoreVariable} + ': nothing to fail over to. ' + RestorePlan.summary");
        var (restore, restored) = WholeServerRestore.Add(flow, comms, "restoreDatabases", server, "Restoring the roles and databases on the DR server failed");
        flow.Connect(plan, restore, PlanServerRestore.Planned);

        // 5. Redis from its newest backup set, in the same store.
        var fetchRedis = flow.Add(new FetchRedisBackup { Id = "fetchRedis", Store = Input<string>.FromJavaScript(RestoreStoreVariable), SourceName = Input<string>.FromJavaScript("getInput('RedisSource') || 'redis'"), OutputPath = Input<string>.FromJavaScript("getInput('RedisDumpPath') || '/backups/redis/failover.rdb'") });
        var databasesBack = flow.Add(IncidentComms.Thread("reportDatabases", $"'Restored on the DR server from store ' + {RestoreStoreVariable} + ': ' + RecoveryReport + ' Restoring Redis.'"));
        flow.Connect(restored, databasesBack);
        comms.Continue(databasesBack, fetchRedis);
        var pointInTimeBack = flow.Add(IncidentComms.Thread("reportPointInTimeRestored", $"'Restored on the DR server with pgBackRest from repository 1 (S3): ' + RecoveryReport + ' ' + {RpoExposureVariable}.summary + ' Restoring Redis.'"));
        comms.Continue(pointInTimeBack, fetchRedis);
        // 4b. The primary's other servers (AlsoFromServers, e.g. ai) were not in the main cluster pgBackRest restored: their
        // databases from their newest dumps in the chosen store, into the restored server. Only their own sets are
        // planned (never a dump of a database pgBackRest brought back), and no globals set is replayed: the roles came
        // back with the cluster, newer than any dump of them.
        var othersGiven = flow.Add(new Core.Activities.Flowchart.FlowDecision { Id = "otherServersGiven", Condition = Input<bool>.FromJavaScript($"({alsoFromServers}).length > 0") });
        flow.Connect(exposure, othersGiven);
        flow.Connect(othersGiven, pointInTimeBack, "False");
        var planOthers = flow.Add(new PlanServerRestore
        {
            Id = "planOtherServers",
            Server = Input<string>.FromJavaScript($"({alsoFromServers})[0]"),
            AlsoFrom = Input<List<string>?>.FromJavaScript($"({alsoFromServers}).slice(1)"),
            Store = Input<string>.FromJavaScript(RestoreStoreVariable),
            Exclude = Input<List<string>?>.FromJavaScript($"['postgres'].concat((({pointInTimeResult} || {{}}).databases || []).map(function (d) {{ return d.name; }}))"),
            RolesOnTarget = new(true),
            RequireVerified = new(false),
            Plan = new(WholeServerRestore.PlanVariable),
        });
        flow.Connect(othersGiven, planOthers, "True");
        var noOtherDumps = flow.Add(new SetVariable
        {
            Id = "recordOtherServersLost",
            Variable = IncidentComms.Variable("RecoveryReport"),
            Value = Input<object>.FromJavaScript($"RecoveryReport + ' The other servers of the primary (' + ({alsoFromServers}).join(', ') + '): nothing restored from store ' + {RestoreStoreVariable} + '. ' + RestorePlan.summary"),
        });
        flow.Connect(planOthers, noOtherDumps, PlanServerRestore.NothingToRestore);
        comms.Continue(noOtherDumps, pointInTimeBack);
        var restoreOthers = flow.Add(new RestorePostgresServer
        {
            Id = OtherServersRestoreId,
            Server = Input<string>.FromJavaScript(server),
            Plan = Input<ServerRestorePlan>.FromJavaScript(WholeServerRestore.PlanVariable),
            Mode = new("Recreate"),
            CheckIntegrity = new(true),
        });
        flow.Connect(planOthers, restoreOthers, PlanServerRestore.Planned);
        comms.AbandonWith(restoreOthers, "Restoring the other servers' databases from their dumps on the DR server failed");
        var othersReport = flow.Add(new SetVariable
        {
            Id = "recordOtherServers",
            Variable = IncidentComms.Variable("RecoveryReport"),
            Value = Input<object>.FromJavaScript($"RecoveryReport + ' The other servers of the primary (' + ({alsoFromServers}).join(', ') + ') from their dumps in store ' + {RestoreStoreVariable} + ': ' + (getOutputFrom('{OtherServersRestoreId}', 'Report') || {{}}).summary"),
        });
        flow.Connect(restoreOthers, othersReport, RestorePostgresServer.Restored);
        flow.Connect(restoreOthers, othersReport, RestorePostgresServer.Partial);
        // The newest data every restored database is sure to have: the dumps are older than the recovery point.
        var othersLastGood = flow.Add(new SetVariable
        {
            Id = "recordOtherServersRestorePoint",
            Variable = IncidentComms.Variable("LastGoodDataAt"),
            Value = Input<object>.FromJavaScript("(function (a, b) { return !a ? b : !b ? a : (new Date(b) < new Date(a) ? b : a); })(LastGoodDataAt, RestorePlan.oldestStartedAt)"),
        });
        flow.Connect(othersReport, othersLastGood);
        flow.Connect(othersLastGood, pointInTimeBack);
        comms.AbandonWith(fetchRedis, "Fetching the Redis backup failed (Redis can also start empty: it is a cache)");
        var restoreRedis = flow.Add(new RestoreRedis { Id = "restoreRedis", DumpPath = Input<string>.FromJavaScript("getOutputFrom('fetchRedis', 'DumpPath')") });
        flow.Connect(fetchRedis, restoreRedis);
        comms.AbandonWith(restoreRedis, "Restoring Redis failed");

        // 6. All services up on the DR engine, healthy, smoke-tested there.
        var up = flow.Add(new ComposeUp { Id = "composeUp", Project = Input<string>.FromJavaScript(project) });
        flow.Connect(restoreRedis, up);
        comms.AbandonWith(up, "docker compose up on the DR engine failed");
        var healthy = flow.Add(new WaitForHealthy { Id = "waitHealthy", ComposeProject = Input<string>.FromJavaScript(project), ExcludeServices = Input<List<string>>.FromJavaScript("getInput('ExcludeServices') || []"), TimeoutSeconds = new(300) });
        flow.Connect(up, healthy);
        comms.FailWith(healthy, WaitForHealthy.Unhealthy, "'The DR stack is not healthy after 5 minutes: ' + (getOutputFrom('waitHealthy', 'NotReady') || []).join('; ')");
        var drSmoke = flow.Add(new SmokeTest { Id = "smokeDr", Checks = Input<List<SmokeCheck>>.FromJavaScript("getInput('DrChecks') || [{ url: 'https://dr-server.example.com/health' }]"), Attempts = new(3), RetryDelaySeconds = new(10) });
        flow.Connect(healthy, drSmoke, WaitForHealthy.Healthy);
        comms.FailWith(drSmoke, SmokeTest.Failed, "'Smoke tests against the DR server failed; DNS was not moved: ' + (getOutputFrom('smokeDr', 'Failures') || []).join(' | ')");

        // 7. DNS cutover only after an approval.
        var current = flow.Add(new GetDnsRecord { Id = "currentDns", ZoneId = Input<string>.FromJavaScript(zone), RecordName = Input<string>.FromJavaScript(record) });
        var ready = comms.Update("reportReadyForCutover", drSmoke, SmokeTest.Passed, "The DR server is up, healthy and passes its smoke tests. Waiting for approval to move DNS.");
        comms.Continue(ready, current);
        var gate = flow.Add(new ApprovalGate
        {
            Id = "approveDnsCutover",
            Title = new("Approve the DNS cutover to the DR server"),
            Question = Input<string>.FromJavaScript($"'Point ' + ({record}) + ' at the DR server ' + getInput('DrAddress') + ' (TTL ' + (getInput('Ttl') || 60) + ' s)? Public traffic then goes to the DR site.'"),
            Evidence = Input<System.Text.Json.Nodes.JsonNode?>.FromJavaScript($$"""
                ({
                  text: 'The primary does not answer; the DR server ' + ({{RpoExposureVariable}} ? 'restored the main PostgreSQL with pgBackRest from repository 1 (S3) to the latest archived transaction' : 'restored the newest backups from store ' + {{RestoreStoreVariable}} + ' (checked against their manifests)') + ', is healthy and passed its smoke tests. ' + RecoveryReport + ({{RpoExposureVariable}} ? ' ' + {{RpoExposureVariable}}.summary : '') + ({{PgBackRestRefusedVariable}} ? ' ' + {{PgBackRestRefusedVariable}} + ' (the dumps were restored instead).' : ''),
                  facts: {
                    record: {{record}},
                    currentValues: getOutputFrom('currentDns', 'Values') || [],
                    currentTtl: getOutputFrom('currentDns', 'Ttl'),
                    newValue: getInput('DrAddress'),
                    restoreStore: {{RestoreStoreVariable}},
                    storesPassedOver: getOutputFrom('chooseStore', 'PassedOver') || [],
                    ttl: getInput('Ttl') || 60,
                    databases: RestorePlan ? RestorePlan.databases.map(function (d) { return { database: d.database, set: d.setId, startedAt: d.startedAt, ageHours: d.ageHours, verified: d.verified, store: d.store }; }) : [],
                    lost: RestorePlan ? RestorePlan.lost : [],
                    restoredWith: {{RpoExposureVariable}} ? 'pgBackRest' : 'dumps',
                    pointInTime: {{RpoExposureVariable}} ? (function (r) { return { repository: r.repository, backup: r.backupLabel, target: r.target, lastReplayedCommitAt: r.lastReplayedCommitAt, timeline: r.timeline, databases: r.databases }; })(getOutputFrom('restorePointInTime', 'Result')) : null,
                    recoveryPoint: {{RpoExposureVariable}} ? {{RpoExposureVariable}}.recoveryPoint : null,
                    rpoExposureSeconds: {{RpoExposureVariable}} ? {{RpoExposureVariable}}.exposureSeconds : null,
                    rpoTargetSeconds: {{RpoExposureVariable}} ? {{RpoExposureVariable}}.targetSeconds : null,
                    pgBackRestRefused: {{PgBackRestRefusedVariable}} || null,
                    comparison: (getOutputFrom('inventoryAfter', 'Comparison') || {}).summary || null,
                    redisBackup: getOutputFrom('fetchRedis', 'Dump'),
                    primaryChecks: (getOutputFrom('checkPrimary', 'Failures') || []),
                    drSmoke: (getOutputFrom('smokeDr', 'Report') || {}).summary || 'passed'
                  }
                })
                """),
            Approvers = Input<List<string>>.FromJavaScript("getInput('Approvers') || ['contact:IncidentCommander', 'contact:OperationsLead', 'role:approver']"),
            Timeout = new(TimeSpan.FromMinutes(15)),
            SafeDefault = new(ApprovalOutcomes.TimedOut),
            Decision = new("Decision"),
        });
        flow.Connect(current, gate, GetDnsRecord.FoundOutcome);
        flow.Connect(current, gate, GetDnsRecord.NotFoundOutcome);
        comms.FailWith(gate, ApprovalOutcomes.Rejected, "'The DNS cutover was rejected by ' + (Decision.approvers || []).join(', ') + (Decision.comment ? ': ' + Decision.comment : '') + '. The DR stack is up; public traffic still goes to the primary.'");
        comms.FailWith(gate, ApprovalOutcomes.TimedOut, "'Nobody approved the DNS cutover in time. The DR stack is up; public traffic still goes to the primary.'");
        var upsert = flow.Add(new UpsertDnsRecord
        {
            Id = "moveDns",
            ZoneId = Input<string>.FromJavaScript(zone),
            RecordName = Input<string>.FromJavaScript(record),
            RecordType = new("A"),
            Values = Input<List<string>>.FromJavaScript("[getInput('DrAddress')]"),
            Ttl = Input<long>.FromJavaScript("getInput('Ttl') || 60"),
            Comment = Input<string>.FromJavaScript("'DR failover, DrWorkflows run ' + getWorkflowInstanceId()"),
            ChangeId = new("ChangeId"),
        });
        flow.Connect(gate, upsert, ApprovalOutcomes.Approved);
        comms.AbandonWith(upsert, "The DNS change failed");
        var insync = flow.Add(new WaitForDnsChange { Id = "waitDns", ChangeId = Input<string>.FromJavaScript("ChangeId"), Timeout = new(TimeSpan.FromMinutes(5)), PollInterval = new(TimeSpan.FromSeconds(10)) });
        flow.Connect(upsert, insync);
        comms.FailWith(insync, WaitForDnsChange.TimedOutOutcome, "'Route 53 did not report the change ' + ChangeId + ' INSYNC within 5 minutes; check it by hand.'");

        // 8. Smoke tests through the public name.
        var publicSmoke = flow.Add(new SmokeTest { Id = "smokePublic", Checks = Input<List<SmokeCheck>>.FromJavaScript("getInput('PublicChecks') || [{ url: 'https://api.example.com/health' }]"), Attempts = new(6), RetryDelaySeconds = new(10) });
        var moved = comms.Update("reportDnsMoved", insync, WaitForDnsChange.InSyncOutcome, "DNS moved to the DR server and in sync. Smoke-testing the public name.", "monitoring", "Service is running on our disaster recovery site; we are monitoring it.");
        comms.Continue(moved, publicSmoke);
        comms.FailWith(publicSmoke, SmokeTest.Failed, "'Smoke tests through the public name failed after the cutover: ' + (getOutputFrom('smokePublic', 'Failures') || []).join(' | ')");
        // The end: on the pgBackRest path the main server came back whole (every table of every database read in full,
        // then the DR stack healthy and smoke-tested); it is Recovered only when the other servers' databases (AlsoFromServers)
        // all came back from their dumps too (none lost, each checked against its manifest), else Partial saying what is
        // missing. On the dumps path, as before.
        var pointInTimeEnd = flow.Add(new Core.Activities.Flowchart.FlowDecision { Id = "restoredWithPgBackRest", Condition = Input<bool>.FromJavaScript($"!!{RpoExposureVariable}") });
        flow.Connect(publicSmoke, pointInTimeEnd, SmokeTest.Passed);
        var othersBack = flow.Add(new Core.Activities.Flowchart.FlowDecision
        {
            Id = "otherServersBack",
            // Every database of the other servers' dumps restored and checked, or (nothing to restore) each one already in the
            // cluster pgBackRest brought back; none lost. No dump of them at all is not "back".
            Condition = Input<bool>.FromJavaScript($"({alsoFromServers}).length === 0 || (getOutputFrom('{OtherServersRestoreId}', 'Report') || {{}}).complete === true"
                + " || (!getOutputFrom('" + OtherServersRestoreId + "', 'Report') && !!RestorePlan && RestorePlan.rolesOnTarget === true && RestorePlan.lost.length === 0"
                + " && RestorePlan.expected.databases.some(function (d) { return d.name !== 'postgres'; }))"),
        });
        flow.Connect(pointInTimeEnd, othersBack, "True");
        comms.Succeed(othersBack, "True");
        comms.PartialWith(othersBack, "False", $"'Not recovered: the main PostgreSQL is back with pgBackRest, but not every database of the other servers of the primary (' + ({alsoFromServers}).join(', ') + ') came back from their dumps. ' + RecoveryReport");
        WholeServerRestore.End(flow, comms, "restoreDatabases", pointInTimeEnd, "False");
    }
}
