using System.Globalization;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace DrWorkflows.Activities.Postgres;

/// <summary>
/// What to plan: the server whose databases are restored (its <c>Postgres:Servers</c> name, and its host:port when
/// configured here: sets taken from either are its), and how to choose their sets.
/// </summary>
public sealed record ServerRestorePlanRequest(string Server, string? Endpoint)
{
    /// <summary>Store to restore from; null for every configured store (the newest usable set of each database wins).</summary>
    public string? Store { get; init; }

    /// <summary>
    /// What the server held, asked while it still answered (<see cref="IPostgresInventory"/>); null when it did not
    /// answer: the backup catalog then tells what lived there.
    /// </summary>
    public ServerInventory? Inventory { get; init; }

    /// <summary>Source of the globals sets; null for the newest globals set taken from this server.</summary>
    public string? GlobalsSource { get; init; }

    /// <summary>Only sets completed strictly before this time (a compromise) are used; null for no cutoff.</summary>
    public DateTimeOffset? Before { get; init; }

    /// <summary>Only verified sets of a database are used (globals sets are never verified: the newest is used).</summary>
    public bool RequireVerified { get; init; } = true;

    /// <summary>A set chosen for a database (by a person, at a gate), by database name.</summary>
    public IReadOnlyDictionary<string, string>? SetIds { get; init; }

    /// <summary>Databases that are neither restored nor counted as lost.</summary>
    public IReadOnlyCollection<string> Exclude { get; init; } = ["postgres"];

    /// <summary>
    /// Other <c>Postgres:Servers</c> names whose backups are this server's too: another name for the same server, or,
    /// when a whole host is rebuilt elsewhere, the other servers that lived on it. Matched by name.
    /// </summary>
    public IReadOnlyList<string> AlsoFrom { get; init; } = [];

    /// <summary>Where the list of what lived on the server comes from (see <see cref="ServerListSource"/>).</summary>
    public ServerListSource ListFrom { get; init; } = ServerListSource.Server;

    /// <summary>
    /// The roles are already on the target server, newer than any globals set: a point-in-time restore of the whole
    /// cluster brought them back. No globals set is planned (replaying an older one would turn passwords back), and the
    /// databases are restored with their owners.
    /// </summary>
    public bool RolesOnTarget { get; init; }
}

/// <summary>Which list of databases and roles a whole-server restore brings back.</summary>
public enum ServerListSource
{
    /// <summary>
    /// The server's own answer (<see cref="ServerRestorePlanRequest.Inventory"/>) when it answered: what lived there at
    /// the incident. Databases backed up from it but no longer on it are shown, not restored. Without an answer, the catalog.
    /// </summary>
    Server,

    /// <summary>
    /// For a server whose answer cannot be trusted (a compromise): the databases on it and every database backed up from
    /// it, and the roles recorded with its globals set (a role the attacker made is not expected back).
    /// </summary>
    ServerAndCatalog,
}

/// <summary>The globals set (roles, tablespaces) a restore replays first.</summary>
public sealed record GlobalsRestoreItem(string Store, string Source, string SetId, DateTimeOffset StartedAt, DateTimeOffset CompletedAt, double AgeHours, IReadOnlyList<string>? Roles);

/// <summary>One database and the set it is restored from.</summary>
/// <remarks>
/// <c>SizeBytes</c>: The database's size on the server (before), when known.<br/>
/// <c>BackupBytes</c>: Stored bytes of the set.<br/>
/// <c>Note</c>: Verification status of the set, and where it came from when not from this server's name.
/// </remarks>
public sealed record DatabaseRestoreItem(string Database, string Store, string Source, string SetId, DateTimeOffset StartedAt, DateTimeOffset CompletedAt, double AgeHours, bool Verified, long? SizeBytes, long BackupBytes, string Note);

/// <summary>A database that lived on the server and has no usable set: it cannot come back.</summary>
public sealed record LostDatabase(string Database, long? SizeBytes, string Reason);

/// <summary>
/// The restore of a whole server, decided before anything is removed: the globals set, each database with its set,
/// the databases that are lost (no usable set), and what the server should hold afterwards.
/// </summary>
/// <remarks>
/// <c>ListedFrom</c>: Where the list of databases comes from: <c>server</c> (asked before the restore) or the catalog.<br/>
/// <c>NotOnServer</c>: Databases with backups from this server that the server no longer held (dropped?): not restored.<br/>
/// <c>Expected</c>: The databases and roles the server should hold after the restore (the comparison's "before").<br/>
/// <c>Notes</c>: Stores that could not be read, a missing globals set, and other things the approver must know.<br/>
/// <c>Summary</c>: One paragraph for the gate and the thread.
/// </remarks>
public sealed record ServerRestorePlan(
    string Server,
    string? Endpoint,
    string ListedFrom,
    GlobalsRestoreItem? Globals,
    IReadOnlyList<DatabaseRestoreItem> Databases,
    IReadOnlyList<LostDatabase> Lost,
    IReadOnlyList<DatabaseRestoreItem> NotOnServer,
    ServerInventory Expected,
    IReadOnlyList<string> Notes,
    string Summary)
{
    /// <summary>Start of the oldest set restored: the newest data every restored database is guaranteed to have.</summary>
    public DateTimeOffset? OldestStartedAt => Databases.Count == 0 ? null : Databases.Min(d => d.StartedAt);

    /// <summary>The roles are already on the target (see <see cref="ServerRestorePlanRequest.RolesOnTarget"/>): no globals set.</summary>
    public bool RolesOnTarget { get; init; }
}

/// <summary>Restores a plan into a server.</summary>
public sealed record ServerRestoreRequest(ServerRestorePlan Plan, PostgresServer Target)
{
    public RestoreMode Mode { get; init; } = RestoreMode.Recreate;

    public int? Jobs { get; init; }

    public bool CheckIntegrity { get; init; } = true;

    public DecryptionKeys? Keys { get; init; }
}

/// <summary>What the replay of the globals set did.</summary>
/// <remarks>
/// <c>Errors</c>: Statements that failed: on a fresh server the role the restore connects as already exists.
/// </remarks>
public sealed record GlobalsRestoreOutcome(string SetId, IReadOnlyList<string> Errors);

/// <summary>What became of one database.</summary>
/// <remarks>
/// <c>Status</c>: <c>Restored</c>, <c>IntegrityFailed</c> (restored, but it does not match its manifest) or <c>Failed</c>.
/// </remarks>
public sealed record DatabaseRestoreOutcome(string Database, string SetId, string Store, string Status, long? Rows, IReadOnlyList<string> Problems, double Seconds)
{
    public const string Restored = "Restored";
    public const string IntegrityFailed = "IntegrityFailed";
    public const string Failed = "Failed";
}

/// <summary>What a whole-server restore did.</summary>
/// <remarks>
/// <c>Complete</c>: The roles and every database that lived on the server are back and match their manifests; nothing is lost.<br/>
/// <c>Summary</c>: One paragraph for the thread and the post-mortem.
/// </remarks>
public sealed record ServerRestoreReport(string Server, GlobalsRestoreOutcome? Globals, IReadOnlyList<DatabaseRestoreOutcome> Databases, IReadOnlyList<LostDatabase> Lost, bool Complete, string Summary);

/// <summary>Restores a whole PostgreSQL server: its roles and every database that lived on it.</summary>
public interface IPostgresServerRestore
{
    /// <summary>
    /// Which databases lived on the server (its own answer when given, otherwise the catalog: the databases and roles
    /// recorded with its newest globals set, and every database backed up from it), and for each the newest usable
    /// set, or why it is lost. Reads the catalog only.
    /// </summary>
    Task<ServerRestorePlan> PlanAsync(ServerRestorePlanRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Replays the globals set first (so the owners exist), then restores each database of the plan and checks it
    /// against its manifest. A database that fails is reported and the others go on; a failing globals replay throws
    /// (nothing was restored yet). Without a globals set the databases are restored without their owners.
    /// </summary>
    Task<ServerRestoreReport> RestoreAsync(ServerRestoreRequest request, CancellationToken cancellationToken);
}

internal sealed class PostgresServerRestore(
    IBackupCatalog catalog,
    IBackupStoreProvider stores,
    IPostgresRestoreService restores,
    IPostgresIntegrityChecker integrity,
    TimeProvider clock,
    ILogger<PostgresServerRestore> logger) : IPostgresServerRestore
{
    public async Task<ServerRestorePlan> PlanAsync(ServerRestorePlanRequest request, CancellationToken cancellationToken)
    {
        var (server, endpoint) = (request.Server, request.Endpoint);
        var now = clock.GetUtcNow();
        var notes = new List<string>();
        if (endpoint is null)
            notes.Add($"Server '{server}' is not in Postgres:Servers here: its backups are recognised by that name only, not by host:port.");
        var (databaseSets, globalsSets) = await ListSetsAsync(request.Store, notes, cancellationToken);
        bool Ours(BackupSet set) => set.Manifest.IsFromServer(server, endpoint) || request.AlsoFrom.Any(name => set.Manifest.IsFromServer(name, null));
        var fromServer = databaseSets.Where(Ours).ToList();
        var globals = request.RolesOnTarget ? null : globalsSets
            .Where(s => request.GlobalsSource is { } source ? string.Equals(s.Source, source, StringComparison.Ordinal) : Ours(s))
            .Where(s => request.Before is not { } before || s.Manifest.CompletedAt < before)
            .OrderByDescending(s => s.Manifest.CompletedAt).ThenBy(s => StoreRank(s.Store))
            .FirstOrDefault();
        if (globals is null && !request.RolesOnTarget)
            notes.Add($"No globals backup (roles) of this server{(request.GlobalsSource is null ? string.Empty : $" (source '{request.GlobalsSource}')")}: the roles cannot be restored, the databases are restored without their owners.");

        var catalogView = FromCatalog(server, endpoint, globals, fromServer, now);
        var expected = request.Inventory is not { } answer ? catalogView
            : request.ListFrom == ServerListSource.ServerAndCatalog ? Merge(answer, catalogView)
            : answer;
        // A set chosen by a person brings its database back even when no list has it.
        foreach (var pinned in (request.SetIds?.Keys ?? []).Where(d => expected.Databases.All(e => e.Name != d)))
            expected = expected with { Databases = [.. expected.Databases, new ServerDatabase(pinned, null)] };
        var exclude = request.Exclude.ToHashSet(StringComparer.Ordinal);
        var planned = new List<DatabaseRestoreItem>();
        var lost = new List<LostDatabase>();
        foreach (var database in expected.Databases.Where(d => !exclude.Contains(d.Name)))
        {
            var sets = fromServer.Where(s => DatabaseOf(s) == database.Name).OrderByDescending(s => s.Manifest.CompletedAt).ThenBy(s => StoreRank(s.Store)).ToList();
            var pinned = request.SetIds?.GetValueOrDefault(database.Name);
            var chosen = pinned is not null
                ? sets.FirstOrDefault(s => s.Id == pinned)
                : sets.FirstOrDefault(s => Usable(s, request));
            if (chosen is not null)
                planned.Add(Item(chosen, database.SizeBytes, now, server));
            else
                lost.Add(new LostDatabase(database.Name, database.SizeBytes, WhyLost(database.Name, sets, pinned, request, databaseSets)));
        }

        var listed = expected.Databases.Select(d => d.Name).ToHashSet(StringComparer.Ordinal);
        // Only the server's own list can leave a backed-up database out (dropped on purpose before the incident).
        var notOnServer = fromServer
            .Where(s => !listed.Contains(DatabaseOf(s)) && !exclude.Contains(DatabaseOf(s)))
            .GroupBy(DatabaseOf, StringComparer.Ordinal)
            .Select(g => Item(g.OrderByDescending(s => s.Manifest.CompletedAt).First(), null, now, server))
            .OrderBy(i => i.Database, StringComparer.Ordinal)
            .ToList();
        var globalsItem = globals is null ? null : new GlobalsRestoreItem(globals.Store, globals.Source, globals.Id, globals.Manifest.StartedAt, globals.Manifest.CompletedAt, Age(globals.Manifest.CompletedAt, now), globals.Manifest.Roles);
        var plan = new ServerRestorePlan(server, endpoint, expected.ListedFrom, globalsItem, planned, lost, notOnServer, expected, notes, string.Empty) { RolesOnTarget = request.RolesOnTarget };
        plan = plan with { Summary = Describe(plan) };
        Log.ServerRestorePlanned(logger, server, planned.Count, lost.Count, expected.ListedFrom);
        return plan;
    }

    public async Task<ServerRestoreReport> RestoreAsync(ServerRestoreRequest request, CancellationToken cancellationToken)
    {
        var plan = request.Plan;
        var target = request.Target;
        GlobalsRestoreOutcome? globals = null;
        if (plan.Globals is { } item)
        {
            var set = await catalog.FindAsync(item.Store, BackupKinds.Globals, item.Source, item.SetId, cancellationToken)
                ?? throw new BackupException(BackupErrorCodes.NotFound, $"The globals set {item.SetId} of '{item.Source}' is no longer in store '{item.Store}' (retention?). Plan the restore again.");
            var result = await restores.RestoreGlobalsAsync(set, target, request.Keys, cancellationToken);
            globals = new GlobalsRestoreOutcome(set.Id, result.Errors);
        }

        var outcomes = new List<DatabaseRestoreOutcome>();
        foreach (var database in plan.Databases)
            outcomes.Add(await RestoreOneAsync(request, database, cancellationToken));

        var complete = (globals is not null || plan.RolesOnTarget) && plan.Lost.Count == 0 && outcomes.All(o => o.Status == DatabaseRestoreOutcome.Restored);
        var report = new ServerRestoreReport(target.Name, globals, outcomes, plan.Lost, complete, string.Empty);
        return report with { Summary = Describe(report, plan) };
    }

    private async Task<DatabaseRestoreOutcome> RestoreOneAsync(ServerRestoreRequest request, DatabaseRestoreItem item, CancellationToken cancellationToken)
    {
        var started = clock.GetTimestamp();
        var set = await catalog.FindAsync(item.Store, BackupKinds.Postgres, item.Source, item.SetId, cancellationToken);
        if (set is null)
            return Outcome(DatabaseRestoreOutcome.Failed, null, [$"set {item.SetId} is no longer in store '{item.Store}' (retention?)"]);
        try
        {
            await restores.RestoreAsync(new PostgresRestoreRequest(set, request.Target, item.Database)
            {
                Mode = request.Mode,
                Jobs = request.Jobs,
                NoOwner = request.Plan.Globals is null && !request.Plan.RolesOnTarget,
                Keys = request.Keys,
            }, cancellationToken);
            if (!request.CheckIntegrity)
                return Outcome(DatabaseRestoreOutcome.Restored, null, []);
            var report = await integrity.CheckAsync(request.Target, item.Database, set.Manifest, cancellationToken);
            return Outcome(report.Succeeded ? DatabaseRestoreOutcome.Restored : DatabaseRestoreOutcome.IntegrityFailed, report.TotalRows, report.Problems);
        }
        catch (Exception ex) when (ex is BackupException or NpgsqlException)
        {
            // Reported, and the next database goes on: one broken set must not keep the others from coming back.
            Log.ServerRestoreDatabaseFailed(logger, item.Database, request.Target, ex.Message);
            return Outcome(DatabaseRestoreOutcome.Failed, null, [ex.Message]);
        }

        DatabaseRestoreOutcome Outcome(string status, long? rows, IReadOnlyList<string> problems) =>
            new(item.Database, item.SetId, item.Store, status, rows, problems, Math.Round(clock.GetElapsedTime(started).TotalSeconds, 2));
    }

    /// <summary>The complete sets of every store asked (the default store first); an unreadable store is noted when every store is asked.</summary>
    private async Task<(List<BackupSet> Databases, List<BackupSet> Globals)> ListSetsAsync(string? store, List<string> notes, CancellationToken cancellationToken)
    {
        var databases = new List<BackupSet>();
        var globals = new List<BackupSet>();
        List<string> names = store is not null ? [store] : [.. stores.StoreNames.OrderBy(StoreRank)];
        foreach (var name in names)
        {
            try
            {
                databases.AddRange(await catalog.ListAsync(name, BackupKinds.Postgres, null, cancellationToken));
                globals.AddRange(await catalog.ListAsync(name, BackupKinds.Globals, null, cancellationToken));
            }
            catch (BackupException ex) when (store is null)
            {
                notes.Add($"Store '{name}' could not be read, its sets are not considered: {ex.Message}");
            }
        }

        return (databases, globals);
    }

    /// <summary>
    /// The server did not answer: the databases and roles recorded with its newest globals set, and every database
    /// backed up from it (a database dropped since its last backup is therefore listed too).
    /// </summary>
    private static ServerInventory FromCatalog(string server, string? endpoint, BackupSet? globals, List<BackupSet> fromServer, DateTimeOffset now)
    {
        var databases = new Dictionary<string, ServerDatabase>(StringComparer.Ordinal);
        foreach (var database in globals?.Manifest.ServerDatabases ?? [])
            databases[database.Name] = database;
        foreach (var group in fromServer.GroupBy(DatabaseOf, StringComparer.Ordinal).Where(g => !databases.ContainsKey(g.Key)))
        {
            // No recorded size: the size of its tables in the newest backup.
            var newest = group.OrderByDescending(s => s.Manifest.CompletedAt).First().Manifest;
            databases[group.Key] = new ServerDatabase(group.Key, newest.Tables?.Where(t => t.SizeBytes is not null).Sum(t => t.SizeBytes), null);
        }

        var recorded = globals?.Manifest.ServerDatabases is not null
            ? $"the databases and roles recorded with globals set {globals.Id} of {globals.Manifest.CompletedAt:u}, and "
            : string.Empty;
        var takenAt = globals?.Manifest.CompletedAt ?? (fromServer.Count > 0 ? fromServer.Max(s => s.Manifest.CompletedAt) : now);
        return new ServerInventory(server, endpoint, takenAt, $"backup catalog ({recorded}the databases backed up from this server)",
            [.. databases.Values.OrderBy(d => d.Name, StringComparer.Ordinal)], globals?.Manifest.Roles);
    }

    /// <summary>The server's databases and the catalog's; the catalog's roles when its globals set recorded them.</summary>
    private static ServerInventory Merge(ServerInventory answer, ServerInventory catalogView)
    {
        var names = answer.Databases.Select(d => d.Name).ToHashSet(StringComparer.Ordinal);
        return answer with
        {
            ListedFrom = $"server and {catalogView.ListedFrom}",
            Databases = [.. answer.Databases.Concat(catalogView.Databases.Where(d => !names.Contains(d.Name))).OrderBy(d => d.Name, StringComparer.Ordinal)],
            Roles = catalogView.Roles ?? answer.Roles,
        };
    }

    private static bool Usable(BackupSet set, ServerRestorePlanRequest request) =>
        (request.Before is not { } before || set.Manifest.CompletedAt < before) && (!request.RequireVerified || set.Manifest.IsVerified);

    private static string WhyLost(string database, List<BackupSet> sets, string? pinned, ServerRestorePlanRequest request, List<BackupSet> allSets)
    {
        if (pinned is not null)
            return $"the chosen set {pinned} is not a backup of {database} from this server";
        if (sets.Count == 0)
        {
            var elsewhere = allSets.Where(s => DatabaseOf(s) == database).Select(s => s.Manifest.Server ?? s.Manifest.Origin ?? "an unnamed server").Distinct(StringComparer.Ordinal).ToList();
            return elsewhere.Count == 0
                ? "no backup of it exists"
                : $"no backup of it from this server (backups of a database of that name exist from {string.Join(", ", elsewhere)}: restore one by hand if it is the same data)";
        }

        var before = sets.Where(s => request.Before is not { } cutoff || s.Manifest.CompletedAt < cutoff).ToList();
        if (before.Count == 0)
            return $"its {sets.Count} backup(s) were all completed at or after {request.Before:u}";
        var newest = before[0].Manifest;
        var status = newest.Verification is { Succeeded: false } failed
            ? $"verification failed at {failed.At:u}: {string.Join("; ", failed.Problems.Take(2))}"
            : "never verified";
        return $"none of its {before.Count} backup(s) is verified (newest {newest.Id} of {newest.CompletedAt:u}: {status})";
    }

    private DatabaseRestoreItem Item(BackupSet set, long? size, DateTimeOffset now, string server)
    {
        var m = set.Manifest;
        var verification = m.IsVerified ? $"verified at {m.LastVerifiedAt:u}" : "NOT verified";
        var origin = m.Server is { } name && name != server ? $"; taken through server '{name}' ({m.Endpoint})" : string.Empty;
        return new DatabaseRestoreItem(DatabaseOf(set), set.Store, set.Source, set.Id, m.StartedAt, m.CompletedAt, Age(m.CompletedAt, now), m.IsVerified, size, m.Size, verification + origin + (set.Store == stores.DefaultStoreName ? string.Empty : $"; from store '{set.Store}'"));
    }

    private int StoreRank(string store) => string.Equals(store, stores.DefaultStoreName, StringComparison.OrdinalIgnoreCase) ? 0 : 1;

    private static string DatabaseOf(BackupSet set) => set.Manifest.Database ?? set.Source;

    private static double Age(DateTimeOffset completedAt, DateTimeOffset now) => Math.Round((now - completedAt).TotalHours, 2);

    private static string Hours(double hours) => hours.ToString("0.#", CultureInfo.InvariantCulture) + " h old";

    private static string Describe(ServerRestorePlan plan)
    {
        var parts = new List<string>
        {
            plan.Globals is { } g ? $"Roles from globals set {g.SetId} ({Hours(g.AgeHours)})"
                : plan.RolesOnTarget ? "Roles: already on the server (restored with it)"
                : "Roles: NO globals backup, the roles cannot be restored",
        };
        parts.Add(plan.Databases.Count == 0
            ? "no database has a usable backup"
            : "then " + string.Join(", ", plan.Databases.Select(d => $"{d.Database} from set {d.SetId} ({Hours(d.AgeHours)}, {(d.Verified ? "verified" : "NOT verified")})")));
        var text = string.Join(", ", parts) + ".";
        if (plan.Lost.Count > 0)
            text += " LOST (no usable backup): " + string.Join(", ", plan.Lost.Select(l => $"{l.Database} ({ByteSize.Format(l.SizeBytes)}: {l.Reason})")) + ".";
        if (plan.NotOnServer.Count > 0)
            text += " Backed up but no longer on the server, not restored: " + string.Join(", ", plan.NotOnServer.Select(d => d.Database)) + ".";
        text += $" Databases listed from the {plan.ListedFrom}.";
        if (plan.Notes.Count > 0)
            text += " " + string.Join(" ", plan.Notes);
        return text;
    }

    private static string Describe(ServerRestoreReport report, ServerRestorePlan plan)
    {
        var parts = new List<string>
        {
            report.Globals is { } g
                ? $"Roles restored from globals set {g.SetId}{(g.Errors.Count == 0 ? string.Empty : $" ({g.Errors.Count} statement(s) failed, e.g. {g.Errors[0]})")}"
                : plan.RolesOnTarget ? "Roles already on the server (restored with it; databases restored with their owners)"
                : "Roles NOT restored (no globals backup; databases restored without owners)",
        };
        var restored = report.Databases.Where(d => d.Status == DatabaseRestoreOutcome.Restored).ToList();
        if (restored.Count > 0)
            parts.Add("restored: " + string.Join(", ", restored.Select(d => $"{d.Database} (set {d.SetId}{(d.Rows is { } rows ? $", {rows} rows" : string.Empty)})")));
        var failed = report.Databases.Where(d => d.Status != DatabaseRestoreOutcome.Restored).ToList();
        if (failed.Count > 0)
            parts.Add("FAILED: " + string.Join(", ", failed.Select(d => $"{d.Database} ({(d.Status == DatabaseRestoreOutcome.IntegrityFailed ? "does not match its backup" : "restore failed")}: {string.Join("; ", d.Problems.Take(2))})")));
        if (report.Lost.Count > 0)
            parts.Add("LOST: " + string.Join(", ", report.Lost.Select(l => $"{l.Database} ({ByteSize.Format(l.SizeBytes)}, {l.Reason})")));
        if (plan.NotOnServer.Count > 0)
            parts.Add("not restored (no longer on the server before): " + string.Join(", ", plan.NotOnServer.Select(d => d.Database)));
        return string.Join("; ", parts) + ".";
    }
}
