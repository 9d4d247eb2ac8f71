using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace DrWorkflows.Persistence.Sqlite;

/// <summary>
/// Read-only connections, kept open and reused with their prepared statements. In WAL mode readers never block the
/// writer and always see the last committed transaction.
/// </summary>
internal sealed class SqliteReadPool(string connectionString, int busyTimeoutMs) : IDisposable
{
    private const int MaxIdle = 8;
    private readonly ConcurrentBag<SqliteCommands> idle = [];
    private volatile bool disposed;

    /// <summary>Collation used for Elsa-style name ordering: ordinal, ignoring case (as StringComparer.OrdinalIgnoreCase).</summary>
    public const string NoCase = "drw_nocase";

    public SqliteCommands Rent()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (idle.TryTake(out var commands))
            return commands;
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            connection.CreateCollation(NoCase, static (a, b) => string.Compare(a, b, StringComparison.OrdinalIgnoreCase));
            connection.CreateFunction<string?, string?, bool>(
                "drw_contains",
                static (haystack, needle) => haystack is not null && needle is not null && haystack.Contains(needle, StringComparison.OrdinalIgnoreCase),
                isDeterministic: true);
            using var pragma = connection.CreateCommand();
            pragma.CommandText = $"PRAGMA query_only = ON; PRAGMA busy_timeout = {busyTimeoutMs};";
            pragma.ExecuteNonQuery();
            return new SqliteCommands(connection);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public void Return(SqliteCommands commands)
    {
        if (disposed || idle.Count >= MaxIdle)
        {
            Close(commands);
            return;
        }

        idle.Add(commands);
        if (disposed && idle.TryTake(out var late))
            Close(late);
    }

    public void Dispose()
    {
        disposed = true;
        while (idle.TryTake(out var commands))
            Close(commands);
    }

    private static void Close(SqliteCommands commands)
    {
        commands.Dispose();
        commands.Connection.Dispose();
    }
}
