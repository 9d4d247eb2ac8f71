using System.Net.Sockets;
using System.Text;
using DrWorkflows.Activities.Backups;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DrWorkflows.Activities.Postgres;

/// <summary>A PostgreSQL server to act on: a name for messages and its connection settings (with secrets).</summary>
public sealed class PostgresServer
{
    private readonly string connectionString;

    public PostgresServer(string name, string connectionString)
    {
        Name = name;
        this.connectionString = connectionString;
        var builder = Builder();
        Endpoint = $"{builder.Host ?? "localhost"}:{builder.Port}";
        Username = builder.Username;
    }

    /// <summary>Configured name, or host:port for an ad-hoc connection string.</summary>
    public string Name { get; }

    /// <summary>host:port, safe to log.</summary>
    public string Endpoint { get; }

    public string? Username { get; }

    /// <summary>A fresh builder (it holds the password: never log it).</summary>
    public NpgsqlConnectionStringBuilder Builder(string? database = null)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, ApplicationName = "drworkflows" };
        if (database is not null)
            builder.Database = database;
        return builder;
    }

    public override string ToString() => Name == Endpoint ? $"PostgreSQL at {Endpoint}" : $"PostgreSQL server '{Name}' ({Endpoint})";
}

/// <summary>Resolves servers named in options or given as connection strings.</summary>
public interface IPostgresServerResolver
{
    /// <summary>The server named <paramref name="name"/> in <see cref="PostgresBackupOptions.Servers"/>, or the given connection string.</summary>
    PostgresServer Resolve(string? name, string? connectionString);
}

internal sealed class PostgresServerResolver(IOptions<PostgresBackupOptions> options) : IPostgresServerResolver
{
    public PostgresServer Resolve(string? name, string? connectionString)
    {
        var timeout = options.Value.ConnectTimeoutSeconds;
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            var builder = Parse(connectionString, "the given connection string");
            if (!builder.ContainsKey("Timeout"))
                builder.Timeout = timeout;
            var server = new PostgresServer("?", builder.ConnectionString);
            return new PostgresServer(string.IsNullOrWhiteSpace(name) ? server.Endpoint : name, builder.ConnectionString);
        }

        if (string.IsNullOrWhiteSpace(name))
            throw new BackupException(BackupErrorCodes.InvalidRequest, "No PostgreSQL server given: set the Server input to a name from Postgres:Servers, or give a ConnectionString.");
        if (!options.Value.Servers.TryGetValue(name, out var configured))
            throw new BackupException(BackupErrorCodes.InvalidRequest,
                $"PostgreSQL server '{name}' is not configured. Known servers: {(options.Value.Servers.Count == 0 ? "none" : string.Join(", ", options.Value.Servers.Keys))}. Add it under Postgres:Servers:{name}.");
        var parsed = Parse(configured, $"Postgres:Servers:{name}");
        if (!parsed.ContainsKey("Timeout"))
            parsed.Timeout = timeout;
        return new PostgresServer(name, parsed.ConnectionString);
    }

    private static NpgsqlConnectionStringBuilder Parse(string connectionString, string where)
    {
        try
        {
            return new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException ex)
        {
            throw new BackupException(BackupErrorCodes.InvalidRequest, $"{where} is not a valid Npgsql connection string: {ex.Message}", innerException: ex);
        }
    }
}

/// <summary>Connections, libpq settings for the client tools, and clear errors.</summary>
internal static partial class PostgresConnections
{
    /// <summary>Opens a connection; <paramref name="commandTimeoutSeconds"/> replaces the server's (0: no limit).</summary>
    public static async Task<NpgsqlConnection> OpenAsync(PostgresServer server, string? database, CancellationToken cancellationToken, int? commandTimeoutSeconds = null)
    {
        var builder = server.Builder(database);
        if (commandTimeoutSeconds is { } seconds)
            builder.CommandTimeout = seconds;
        var connection = new NpgsqlConnection(builder.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or SocketException)
        {
            await connection.DisposeAsync();
            throw Translate(ex, server, database);
        }
    }

    /// <summary>True for failures that may pass (server starting, refused, timeout).</summary>
    public static bool IsTransient(BackupException ex) => ex.Code == BackupErrorCodes.DatabaseUnreachable;

    public static BackupException Translate(Exception ex, PostgresServer server, string? database)
    {
        var db = database is null ? string.Empty : $" (database '{database}')";
        return ex switch
        {
            BackupException backup => backup,
            PostgresException { SqlState: "28P01" or "28000" } pg =>
                new BackupException(BackupErrorCodes.DatabaseAuthentication,
                    $"{server} refused user '{server.Username}'{db}: {pg.MessageText}. Check the password in the server's connection string (Postgres:Servers:{server.Name} or the ConnectionString input) and pg_hba.conf.", innerException: ex),
            PostgresException { SqlState: "3D000" } pg =>
                new BackupException(BackupErrorCodes.DatabaseError, $"{server}: {pg.MessageText}. Check the database name{db}, or create the database first.", innerException: ex),
            PostgresException { SqlState: "57P03" or "53300" } pg =>
                new BackupException(BackupErrorCodes.DatabaseUnreachable, $"{server} is not accepting connections yet: {pg.MessageText}.", retryable: true, ex),
            PostgresException { SqlState: "42501" } pg =>
                new BackupException(BackupErrorCodes.DatabaseError, $"{server}{db}: permission denied ({pg.MessageText}). Use a role with the needed privileges (a superuser for pg_dumpall --globals-only and restores).", innerException: ex),
            PostgresException pg =>
                new BackupException(BackupErrorCodes.DatabaseError, $"{server}{db} answered {pg.SqlState}: {pg.MessageText}", innerException: ex),
            _ => new BackupException(BackupErrorCodes.DatabaseUnreachable,
                $"{server}{db} is unreachable: {ex.GetBaseException().Message}. Check that the server runs and that host and port are right; use WaitForPostgres after a restart.", retryable: true, ex),
        };
    }

    /// <summary>
    /// Environment for libpq tools: inherited PG* variables removed, host/port/user/SSL/timeouts set, and the password
    /// in a private pgpass file (0600) that the caller deletes after the tool ended. Never on the command line.
    /// </summary>
    public static PgEnvironment CreateToolEnvironment(PostgresServer server, string? database, string tempDirectory)
    {
        var builder = server.Builder(database);
        var env = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["PGHOST"] = builder.Host ?? "localhost",
            ["PGPORT"] = builder.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["PGCONNECT_TIMEOUT"] = Math.Max(2, builder.Timeout).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["PGAPPNAME"] = "drworkflows",
            ["PGSSLMODE"] = builder.SslMode switch
            {
                SslMode.Disable => "disable",
                SslMode.Allow => "allow",
                SslMode.Require => "require",
                SslMode.VerifyCA => "verify-ca",
                SslMode.VerifyFull => "verify-full",
                _ => "prefer",
            },
        };
        if (!string.IsNullOrEmpty(builder.Username))
            env["PGUSER"] = builder.Username;
        if (database is not null)
            env["PGDATABASE"] = database;
        string? passFile = null;
        if (!string.IsNullOrEmpty(builder.Password))
        {
            passFile = Path.Combine(tempDirectory, $".pgpass-{Guid.NewGuid():N}");
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var stream = new FileStream(passFile, options))
            using (var writer = new StreamWriter(stream, new UTF8Encoding(false)))
                writer.Write($"*:*:*:*:{EscapePgpass(builder.Password)}\n");
            env["PGPASSFILE"] = passFile;
        }

        return new PgEnvironment(env, passFile);
    }

    /// <summary>A libpq conninfo value in single quotes.</summary>
    public static string ConnInfoValue(string value) => "'" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";

    public static string QuoteIdentifier(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static string EscapePgpass(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace(":", "\\:", StringComparison.Ordinal);

    /// <summary>Classifies a failed libpq tool from its stderr.</summary>
    public static BackupException? ClassifyToolFailure(string tool, string stderr, PostgresServer server, string? database)
    {
        var db = database is null ? string.Empty : $" (database '{database}')";
        if (stderr.Contains("password authentication failed", StringComparison.OrdinalIgnoreCase) || stderr.Contains("no password supplied", StringComparison.OrdinalIgnoreCase))
            return new BackupException(BackupErrorCodes.DatabaseAuthentication, $"{tool}: {server} refused user '{server.Username}'{db}: password authentication failed. Check the password (Postgres:Servers:{server.Name} or the ConnectionString input).");
        if (stderr.Contains("Connection refused", StringComparison.OrdinalIgnoreCase) || stderr.Contains("could not translate host name", StringComparison.OrdinalIgnoreCase)
            || stderr.Contains("timeout expired", StringComparison.OrdinalIgnoreCase) || stderr.Contains("No route to host", StringComparison.OrdinalIgnoreCase))
            return new BackupException(BackupErrorCodes.DatabaseUnreachable, $"{tool}: {server}{db} is unreachable: {LastLines(stderr)}. Check that the server runs and host/port are right.", retryable: true);
        if (stderr.Contains("server version mismatch", StringComparison.OrdinalIgnoreCase) || stderr.Contains("unsupported version", StringComparison.OrdinalIgnoreCase))
            return new BackupException(BackupErrorCodes.ToolFailed, $"{FirstErrors(stderr)} ({tool} is older than {server} or than the dump). Install client tools of the server's major version or newer and set Postgres:Tools:BinDirectory.");
        if (MissingDatabase().IsMatch(stderr))
            return new BackupException(BackupErrorCodes.DatabaseError, $"{FirstErrors(stderr)} ({tool} on {server}). Check the database name.");
        return null;
    }

    /// <summary>
    /// The errors a tool printed, as a message that starts with the first one: one error often causes the ones after
    /// it, so the first is the cause (the last lines alone hid it). Each error comes with its detail lines
    /// (<c>Command was: …</c>); at most <paramref name="max"/> are shown, then how many more and the last, and the
    /// count pg_restore reports ("errors ignored on restore: N"). Without an error line: the last lines.
    /// </summary>
    public static string FirstErrors(string stderr, int max = 3)
    {
        var errors = new List<string>();
        int? total = null;
        foreach (var line in stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (IgnoredErrors().Match(line) is { Success: true } ignored)
                total = int.Parse(ignored.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            else if (IsErrorLine(line))
                errors.Add(line);
            else if (errors.Count > 0 && !line.StartsWith("pg_restore:", StringComparison.Ordinal) && !line.StartsWith("psql:", StringComparison.Ordinal) && !line.StartsWith('…') && errors[^1].Length < 400)
                errors[^1] += " " + line;
        }

        if (errors.Count == 0)
            return LastLines(stderr);
        static string Cut(string text) => text.Length <= 400 ? text : text[..399] + "…";
        var message = string.Join(" | ", errors.Take(max).Select(Cut));
        if (errors.Count > max)
            message += $" | … {errors.Count - max} more, the last: {Cut(errors[^1])}";
        if (total is { } count)
            message += $" ({count} error(s) in all)";
        return message;
    }

    private static bool IsErrorLine(string line) =>
        line.Contains("error:", StringComparison.Ordinal) || line.Contains("ERROR:", StringComparison.Ordinal) || line.Contains("FATAL:", StringComparison.Ordinal);

    [System.Text.RegularExpressions.GeneratedRegex(@"errors ignored on restore: (\d+)", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex IgnoredErrors();

    [System.Text.RegularExpressions.GeneratedRegex(@"database "".*"" does not exist", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex MissingDatabase();

    public static string LastLines(string text, int max = 8)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return string.Join(" | ", lines.Length <= max ? lines : lines[^max..]);
    }
}

/// <summary>libpq environment for one tool run; disposing deletes the pgpass file.</summary>
internal sealed class PgEnvironment(Dictionary<string, string?> variables, string? passFile) : IDisposable
{
    public IReadOnlyDictionary<string, string?> Variables => variables;

    public void Dispose()
    {
        if (passFile is null)
            return;
        try
        {
            File.Delete(passFile);
        }
        catch (IOException)
        {
        }
    }
}
