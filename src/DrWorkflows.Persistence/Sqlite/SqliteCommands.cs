using Microsoft.Data.Sqlite;

namespace DrWorkflows.Persistence.Sqlite;

/// <summary>
/// Prepared commands kept per connection and reused: SQLite compiles a statement once per command object, so reusing
/// the command for the same text skips that work. Parameters are named <c>@p0</c>, <c>@p1</c>... in order.
/// </summary>
internal sealed class SqliteCommands(SqliteConnection connection) : IDisposable
{
    private const int MaxCached = 256;
    private readonly Dictionary<string, SqliteCommand> cache = new(StringComparer.Ordinal);

    public SqliteConnection Connection { get; } = connection;

    /// <summary>A cached command for <paramref name="sql"/> with <paramref name="values"/> bound (nulls as DBNull).</summary>
    public SqliteCommand Get(string sql, params ReadOnlySpan<object?> values)
    {
        if (!cache.TryGetValue(sql, out var command))
        {
            if (cache.Count >= MaxCached)
                Dispose(); // Dynamic filters can produce many texts; start over rather than grow without bound.
            command = Connection.CreateCommand();
            command.CommandText = sql;
            cache[sql] = command;
        }

        Bind(command, values);
        return command;
    }

    public void Dispose()
    {
        foreach (var command in cache.Values)
            command.Dispose();
        cache.Clear();
    }

    private static void Bind(SqliteCommand command, ReadOnlySpan<object?> values)
    {
        var parameters = command.Parameters;
        for (var i = 0; i < values.Length; i++)
        {
            var value = values[i] ?? DBNull.Value;
            if (i < parameters.Count)
                parameters[i].Value = value;
            else
                parameters.AddWithValue(Name(i), value);
        }

        while (parameters.Count > values.Length)
            parameters.RemoveAt(parameters.Count - 1);
    }

    private static string Name(int index) => index switch
    {
        0 => "@p0",
        1 => "@p1",
        2 => "@p2",
        3 => "@p3",
        _ => "@p" + index.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
