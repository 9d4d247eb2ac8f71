using System.Globalization;
using DrWorkflows.Activities.Backups;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DrWorkflows.Activities.Postgres;

/// <summary>
/// What lives on a PostgreSQL server: its databases (with sizes and owners) and its roles. Taken from the server
/// itself (<see cref="ServerInventory.FromServer"/>), or, when the server cannot be asked, from the backup catalog
/// (see <see cref="IPostgresServerRestore.PlanAsync"/>).
/// </summary>
/// <remarks>
/// <c>Server</c>: The <c>Postgres:Servers</c> name (or host:port).<br/>
/// <c>Endpoint</c>: host:port, when known.<br/>
/// <c>TakenAt</c>: When the list was taken (for the catalog: when the sets it comes from were taken).<br/>
/// <c>ListedFrom</c>: Where the list comes from, for people: <c>server</c>, or the catalog and which sets.<br/>
/// <c>Databases</c>: The databases, by name (templates left out).<br/>
/// <c>Roles</c>: The roles without the built-in <c>pg_*</c> ones; null when not known (a globals set older than the role list).
/// </remarks>
public sealed record ServerInventory(string Server, string? Endpoint, DateTimeOffset TakenAt, string ListedFrom, IReadOnlyList<ServerDatabase> Databases, IReadOnlyList<string>? Roles)
{
    public const string FromServer = "server";

    /// <summary>Server version, when asked.</summary>
    public string? Version { get; init; }

    /// <summary>"2 databases (ecommerce_db 7.6 MiB, ai_db 7.4 MiB), 3 roles (postgres, reporting, shop_app)".</summary>
    public string Describe() =>
        $"{Databases.Count} database(s) ({string.Join(", ", Databases.Select(d => $"{d.Name} {ByteSize.Format(d.SizeBytes)}"))}), "
        + (Roles is null ? "roles not known" : $"{Roles.Count} role(s) ({string.Join(", ", Roles)})");

    /// <summary>Compares what a server holds now (<paramref name="actual"/>) with what it should hold (this).</summary>
    public InventoryComparison CompareWith(ServerInventory actual)
    {
        var after = actual.Databases.ToDictionary(d => d.Name, StringComparer.Ordinal);
        var before = Databases.ToDictionary(d => d.Name, StringComparer.Ordinal);
        var databases = new List<DatabaseComparison>();
        foreach (var database in Databases)
            databases.Add(new DatabaseComparison(database.Name, database.SizeBytes, after.GetValueOrDefault(database.Name)?.SizeBytes, after.ContainsKey(database.Name) ? DatabaseComparison.Present : DatabaseComparison.Missing));
        foreach (var database in actual.Databases.Where(d => !before.ContainsKey(d.Name)))
            databases.Add(new DatabaseComparison(database.Name, null, database.SizeBytes, DatabaseComparison.New));
        var rolesCompared = Roles is not null && actual.Roles is not null;
        IReadOnlyList<string> missingRoles = rolesCompared ? [.. Roles!.Except(actual.Roles!, StringComparer.Ordinal)] : [];
        IReadOnlyList<string> newRoles = rolesCompared ? [.. actual.Roles!.Except(Roles!, StringComparer.Ordinal)] : [];
        var missing = databases.Where(d => d.Status == DatabaseComparison.Missing).Select(d => d.Name).ToList();
        var matches = missing.Count == 0 && missingRoles.Count == 0;

        var summary = new List<string>
        {
            $"before ({ListedFrom}): {Describe()}",
            $"after: {actual.Describe()}",
        };
        if (missing.Count > 0)
            summary.Add($"MISSING after: {string.Join(", ", databases.Where(d => d.Status == DatabaseComparison.Missing).Select(d => $"{d.Name} ({ByteSize.Format(d.SizeBefore)})"))}");
        if (missingRoles.Count > 0)
            summary.Add($"MISSING roles after: {string.Join(", ", missingRoles)}");
        if (!rolesCompared)
            summary.Add("roles not compared (not known before)");
        if (databases.Any(d => d.Status == DatabaseComparison.New) || newRoles.Count > 0)
            summary.Add($"new after: {string.Join(", ", databases.Where(d => d.Status == DatabaseComparison.New).Select(d => d.Name).Concat(newRoles))}");
        if (matches)
            summary.Add("nothing missing");
        return new InventoryComparison(matches, databases, missingRoles, newRoles, rolesCompared, string.Join("; ", summary));
    }
}

/// <summary>One database before and after.</summary>
/// <remarks>
/// <c>Status</c>: <c>present</c> before and after, <c>missing</c> after, or <c>new</c> after.
/// </remarks>
public sealed record DatabaseComparison(string Name, long? SizeBefore, long? SizeAfter, string Status)
{
    public const string Present = "present";
    public const string Missing = "missing";
    public const string New = "new";
}

/// <summary>The databases and roles of a server compared with what it should hold.</summary>
/// <remarks>
/// <c>Matches</c>: No database and no (known) role is missing.<br/>
/// <c>RolesCompared</c>: False when the roles before were not known (the comparison then covers databases only).<br/>
/// <c>Summary</c>: One line for people: both lists, what is missing, what is new.
/// </remarks>
public sealed record InventoryComparison(bool Matches, IReadOnlyList<DatabaseComparison> Databases, IReadOnlyList<string> MissingRoles, IReadOnlyList<string> NewRoles, bool RolesCompared, string Summary);

/// <summary>Reads what a PostgreSQL server holds.</summary>
public interface IPostgresInventory
{
    /// <summary>
    /// Lists the databases (with <c>pg_database_size</c> and owner) and roles of the server, waiting up to
    /// <paramref name="timeout"/> for it to accept a connection. Throws a <see cref="BackupException"/> when it
    /// does not answer (<c>postgres.unreachable</c>) or refuses (<c>postgres.*</c>).
    /// </summary>
    Task<ServerInventory> InspectAsync(PostgresServer server, TimeSpan timeout, CancellationToken cancellationToken);
}

internal sealed class PostgresInventory(IPostgresReadiness readiness, IOptions<PostgresBackupOptions> options, TimeProvider clock) : IPostgresInventory
{
    // pg_database_size needs CONNECT on the database (or pg_read_all_stats); a database the role cannot read has no size.
    private const string DatabasesSql = """
        SELECT datname, CASE WHEN has_database_privilege(oid, 'CONNECT') THEN pg_database_size(oid) END, pg_get_userbyid(datdba)
          FROM pg_database WHERE NOT datistemplate ORDER BY datname
        """;

    private const string RolesSql = "SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY rolname";

    public async Task<ServerInventory> InspectAsync(PostgresServer server, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var ready = await readiness.WaitAsync(server, "postgres", timeout, cancellationToken);
        await using var connection = await PostgresConnections.OpenAsync(server, "postgres", cancellationToken);
        try
        {
            var (databases, roles) = await ReadAsync(connection, options.Value.VerificationDatabasePrefix, cancellationToken);
            return new ServerInventory(server.Name, server.Endpoint, clock.GetUtcNow(), ServerInventory.FromServer, databases, roles) { Version = ready.ServerVersion };
        }
        catch (NpgsqlException ex)
        {
            throw PostgresConnections.Translate(ex, server, "postgres");
        }
    }

    /// <summary>
    /// The databases and roles seen on an open connection: templates, the throwaway databases of verifications and
    /// drills (<paramref name="throwawayPrefix"/>, <c>Postgres:VerificationDatabasePrefix</c>) and the built-in
    /// <c>pg_*</c> roles left out.
    /// </summary>
    internal static async Task<(List<ServerDatabase> Databases, List<string> Roles)> ReadAsync(NpgsqlConnection connection, string throwawayPrefix, CancellationToken cancellationToken)
    {
        var databases = new List<ServerDatabase>();
        await using (var command = new NpgsqlCommand(DatabasesSql, connection))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                if (!reader.GetString(0).StartsWith(throwawayPrefix, StringComparison.Ordinal))
                    databases.Add(new ServerDatabase(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetInt64(1), reader.GetString(2)));
            }
        }

        var roles = new List<string>();
        await using (var command = new NpgsqlCommand(RolesSql, connection))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
                roles.Add(reader.GetString(0));
        }

        return (databases, roles);
    }
}

/// <summary>Byte counts for people.</summary>
internal static class ByteSize
{
    public static string Format(long? bytes) => bytes switch
    {
        null => "size unknown",
        < 1024 => bytes.Value.ToString(CultureInfo.InvariantCulture) + " B",
        < 1024 * 1024 => (bytes.Value / 1024.0).ToString("0.#", CultureInfo.InvariantCulture) + " KiB",
        < 1024L * 1024 * 1024 => (bytes.Value / (1024.0 * 1024)).ToString("0.#", CultureInfo.InvariantCulture) + " MiB",
        _ => (bytes.Value / (1024.0 * 1024 * 1024)).ToString("0.##", CultureInfo.InvariantCulture) + " GiB",
    };
}
