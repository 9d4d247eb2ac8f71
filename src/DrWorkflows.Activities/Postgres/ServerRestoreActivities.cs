using System.Text.Json.Nodes;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.Postgres;

// Only reads the server.
[Activity("DrWorkflows", "PostgreSQL", "Lists the databases (with sizes) and roles of a PostgreSQL server; given what it should hold, says what is missing and what is new.", SafeToRerun = true, Outcomes = [Answered, Missing, Unreachable])]
public sealed class InspectPostgresServer : PostgresServerActivity
{
    public const string Answered = "Answered";
    public const string Missing = "Missing";
    public const string Unreachable = "Unreachable";

    [Input(Description = "Seconds to wait for the server to accept a connection before taking the Unreachable port.", DefaultValue = 10)]
    public Input<int>? TimeoutSeconds { get; set; }

    [Input(Description = "What the server should hold (an earlier Inventory, or PlanServerRestore's Plan.expected); empty to only list.")]
    public Input<ServerInventory?>? Expected { get; set; }

    [Output(Description = "Databases (name, size, owner) and roles of the server; null when it did not answer.")]
    public Output<ServerInventory?> Inventory { get; set; } = new();

    [Output(Description = "Expected against found: each database present, missing or new, the missing roles, and a one-line summary; null without Expected.")]
    public Output<InventoryComparison?> Comparison { get; set; } = new();

    [Output(Description = "Why the server did not answer.")]
    public Output<string?> Reason { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var server = ResolveServer(context);
        var expected = context.Get(Expected);
        ServerInventory inventory;
        try
        {
            inventory = await context.GetRequiredService<IPostgresInventory>().InspectAsync(server, TimeSpan.FromSeconds(Math.Max(1, context.Get(TimeoutSeconds, 10))), context.CancellationToken);
        }
        catch (BackupException ex)
        {
            // A corrupt server often does not answer at all: the caller falls back to what the backups recorded.
            context.Set(Reason, ex.Message);
            context.AddJournalData("inventory", new JsonObject { ["server"] = server.ToString(), ["answered"] = false, ["reason"] = ex.Message });
            await context.CompleteAsync(Unreachable);
            return;
        }

        context.Set(Inventory, inventory);
        var journal = new JsonObject
        {
            ["server"] = server.ToString(),
            ["answered"] = true,
            ["databases"] = new JsonArray([.. inventory.Databases.Select(d => new JsonObject { ["name"] = d.Name, ["bytes"] = d.SizeBytes, ["owner"] = d.Owner })]),
            ["roles"] = new JsonArray([.. (inventory.Roles ?? []).Select(r => JsonValue.Create(r))]),
        };
        context.AddJournalData("inventory", journal);
        if (expected is null)
        {
            await context.CompleteAsync(Answered);
            return;
        }

        var comparison = expected.CompareWith(inventory);
        context.Set(Comparison, comparison);
        context.AddJournalData("comparison", new JsonObject
        {
            ["matches"] = comparison.Matches,
            ["missingDatabases"] = new JsonArray([.. comparison.Databases.Where(d => d.Status == DatabaseComparison.Missing).Select(d => JsonValue.Create(d.Name))]),
            ["missingRoles"] = new JsonArray([.. comparison.MissingRoles.Select(r => JsonValue.Create(r))]),
            ["rolesCompared"] = comparison.RolesCompared,
            ["summary"] = comparison.Summary,
        });
        await context.CompleteAsync(comparison.Matches ? Answered : Missing);
    }
}

// Only reads the backup catalog.
[Activity("DrWorkflows", "PostgreSQL", "Plans the restore of a whole PostgreSQL server: the globals set, and for every database that lived there its newest usable set, or why it is lost (with its size).", SafeToRerun = true, Outcomes = [Planned, NothingToRestore])]
public sealed class PlanServerRestore : PostgresServerActivity
{
    public const string Planned = "Planned";
    public const string NothingToRestore = "NothingToRestore";

    [Input(Description = "Backup store; empty for every configured store (the newest usable set of each database wins).", Options = ["", "local", "s3"])]
    public Input<string>? Store { get; set; }

    [Input(Description = "What the server held, from InspectPostgresServer while it still answered; empty when it did not: the catalog (the newest globals set's record, the sets taken from this server) tells what lived there.")]
    public Input<ServerInventory?>? Inventory { get; set; }

    [Input(Description = "Source of the globals sets; empty for the newest globals set taken from this server.")]
    public Input<string>? GlobalsSource { get; set; }

    [Input(Description = "Only sets completed strictly before this time (a compromise) are used; empty for no cutoff.", UIHint = InputUIHints.DateTimePicker)]
    public Input<DateTimeOffset?>? Before { get; set; }

    [Input(Description = "Only verified sets of a database are used; a database without one is lost.", DefaultValue = true)]
    public Input<bool>? RequireVerified { get; set; }

    [Input(Description = "A set chosen for a database (e.g. at a gate), by database name: { \"ecommerce_db\": \"<set id>\" }.")]
    public Input<Dictionary<string, string>?>? SetIds { get; set; }

    [Input(Description = "Databases neither restored nor counted as lost; default [\"postgres\"] (created by initdb).")]
    public Input<List<string>?>? Exclude { get; set; }

    [Input(Description = "Other Postgres:Servers names whose backups are this server's too (another name for it; or, when a whole host is rebuilt elsewhere, the other servers of that host), matched by name.")]
    public Input<List<string>?>? AlsoFrom { get; set; }

    [Input(Description = "Server: the server's own list when it answered (else the catalog); ServerAndCatalog: for a compromised server, its databases and every database backed up from it, with the roles of its globals set.", Options = ["Server", "ServerAndCatalog"], DefaultValue = "Server")]
    public Input<string>? ListFrom { get; set; }

    [Input(Description = "The roles are already on the target server, newer than any globals set (a point-in-time restore of the whole cluster brought them back): no globals set is replayed, so passwords are not turned back, and the databases keep their owners.", DefaultValue = false)]
    public Input<bool>? RolesOnTarget { get; set; }

    [Output(Description = "The plan: globals set, databases with their sets, lost databases (name, size, why), what the server should hold afterwards (expected), a summary for the gate.")]
    public Output<ServerRestorePlan> Plan { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var (server, endpoint) = Identity(context);
        var plan = await context.GetRequiredService<IPostgresServerRestore>().PlanAsync(new ServerRestorePlanRequest(server, endpoint)
        {
            Store = Optional(context, Store),
            Inventory = context.Get(Inventory),
            GlobalsSource = Optional(context, GlobalsSource),
            Before = context.Get(Before),
            RequireVerified = context.Get(RequireVerified, true),
            SetIds = context.Get(SetIds),
            Exclude = context.Get(Exclude) ?? ["postgres"],
            AlsoFrom = context.Get(AlsoFrom) ?? [],
            ListFrom = Enum.TryParse<ServerListSource>(context.Get(ListFrom, "Server"), ignoreCase: true, out var listFrom)
                ? listFrom
                : throw new BackupException(BackupErrorCodes.InvalidRequest, $"ListFrom '{context.Get(ListFrom)}' is unknown; use Server or ServerAndCatalog."),
            RolesOnTarget = context.Get(RolesOnTarget, false),
        }, context.CancellationToken);
        context.Set(Plan, plan);
        context.AddJournalData("plan", new JsonObject
        {
            ["listedFrom"] = plan.ListedFrom,
            ["globals"] = plan.Globals?.SetId,
            ["rolesOnTarget"] = plan.RolesOnTarget,
            ["restore"] = new JsonArray([.. plan.Databases.Select(d => new JsonObject { ["database"] = d.Database, ["setId"] = d.SetId, ["store"] = d.Store, ["ageHours"] = d.AgeHours, ["verified"] = d.Verified })]),
            ["lost"] = new JsonArray([.. plan.Lost.Select(l => new JsonObject { ["database"] = l.Database, ["bytes"] = l.SizeBytes, ["reason"] = l.Reason })]),
            ["notOnServer"] = new JsonArray([.. plan.NotOnServer.Select(d => JsonValue.Create(d.Database))]),
            ["notes"] = new JsonArray([.. plan.Notes.Select(n => JsonValue.Create(n))]),
        });
        await context.CompleteAsync(plan.Databases.Count == 0 ? NothingToRestore : Planned);
    }

    /// <summary>
    /// The server's name and host:port. Only they are needed (nothing connects), so a server that is not configured
    /// on this orchestrator (the lost primary, seen from the DR site) is recognised by its name alone.
    /// </summary>
    private (string Name, string? Endpoint) Identity(ActivityExecutionContext context)
    {
        try
        {
            var server = ResolveServer(context);
            return (server.Name, server.Endpoint);
        }
        catch (BackupException) when (Optional(context, Server) is { } name && Optional(context, ConnectionString) is null)
        {
            return (name, null);
        }
    }
}

// Replaces databases and creates roles: a crash mid-way leaves the server partly restored, so an operator decides.
[Activity("DrWorkflows", "PostgreSQL", "Restores a whole server from PlanServerRestore's plan: the roles (globals) first, then every database, each checked against its manifest; a database that fails is reported and the others go on.", Outcomes = [Restored, Partial])]
public sealed class RestorePostgresServer : PostgresDecryptingActivity
{
    public const string Restored = "Restored";
    public const string Partial = "Partial";

    [Input(Description = "The plan (PlanServerRestore's Plan).", Required = true)]
    public Input<ServerRestorePlan>? Plan { get; set; }

    [Input(Description = "Recreate: drop and create each database first; Clean: restore over it; CreateNew: fail if it exists.", Options = ["Recreate", "Clean", "CreateNew"], DefaultValue = "Recreate")]
    public Input<string>? Mode { get; set; }

    [Input(Description = "pg_restore parallel jobs (default Postgres:RestoreJobs).")]
    public Input<int?>? Jobs { get; set; }

    [Input(Description = "Check row counts, foreign keys and newest created_at of each database against its manifest.", DefaultValue = true)]
    public Input<bool>? CheckIntegrity { get; set; }

    [Output(Description = "Per database: restored, does not match its backup, or failed (why), with rows; the globals replay; the lost databases; a summary.")]
    public Output<ServerRestoreReport> Report { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var plan = context.Get(Plan) ?? throw new BackupException(BackupErrorCodes.InvalidRequest, "RestorePostgresServer needs the Plan of PlanServerRestore.");
        var mode = ParseMode(context.Get(Mode, "Recreate"));
        var report = await context.GetRequiredService<IPostgresServerRestore>().RestoreAsync(new ServerRestoreRequest(plan, ResolveServer(context))
        {
            Mode = mode,
            Jobs = context.Get(Jobs),
            CheckIntegrity = context.Get(CheckIntegrity, true),
            Keys = Keys(context),
        }, context.CancellationToken);
        context.Set(Report, report);
        context.AddJournalData("serverRestore", new JsonObject
        {
            ["server"] = report.Server,
            ["globals"] = report.Globals is { } g ? new JsonObject { ["setId"] = g.SetId, ["failedStatements"] = g.Errors.Count } : null,
            ["databases"] = new JsonArray([.. report.Databases.Select(d => new JsonObject
            {
                ["database"] = d.Database, ["setId"] = d.SetId, ["store"] = d.Store, ["status"] = d.Status, ["rows"] = d.Rows,
                ["problems"] = new JsonArray([.. d.Problems.Select(p => JsonValue.Create(p))]),
            })]),
            ["lost"] = new JsonArray([.. report.Lost.Select(l => new JsonObject { ["database"] = l.Database, ["bytes"] = l.SizeBytes })]),
            ["complete"] = report.Complete,
        });
        await context.CompleteAsync(report.Complete ? Restored : Partial);
    }
}
