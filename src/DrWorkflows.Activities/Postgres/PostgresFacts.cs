using DrWorkflows.Activities.Backups;
using Npgsql;

namespace DrWorkflows.Activities.Postgres;

/// <summary>Row counts, newest created-at values and sizes of the user tables of a database.</summary>
internal static class PostgresFacts
{
    private const string TablesSql = """
        SELECT n.nspname, c.relname,
               (SELECT a.attname FROM pg_attribute a
                 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                   AND a.attname = ANY(@columns)
                   AND a.atttypid IN ('timestamp'::regtype, 'timestamptz'::regtype, 'date'::regtype)
                 ORDER BY array_position(@columns, a.attname::text) LIMIT 1) AS created_column,
               pg_table_size(c.oid) AS size_bytes
          FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind = 'r'
           AND n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
         ORDER BY n.nspname, c.relname
        """;

    /// <summary>Counts rows exactly (<c>count(*)</c>) in the connection's current transaction/snapshot.</summary>
    public static async Task<List<TableFacts>> CollectAsync(NpgsqlConnection connection, IReadOnlyList<string> createdAtColumns, CancellationToken cancellationToken)
    {
        var tables = new List<(string Schema, string Name, string? Column, long SizeBytes)>();
        await using (var command = new NpgsqlCommand(TablesSql, connection))
        {
            command.Parameters.AddWithValue("columns", createdAtColumns.ToArray());
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                tables.Add((reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetInt64(3)));
        }

        await using (var tz = new NpgsqlCommand("SET LOCAL TIME ZONE 'UTC'", connection))
            await tz.ExecuteNonQueryAsync(cancellationToken);

        var facts = new List<TableFacts>(tables.Count);
        foreach (var (schema, name, column, sizeBytes) in tables)
        {
            var table = $"{PostgresConnections.QuoteIdentifier(schema)}.{PostgresConnections.QuoteIdentifier(name)}";
            var sql = column is null
                ? $"SELECT count(*), NULL::timestamptz FROM {table}"
                : $"SELECT count(*), max({PostgresConnections.QuoteIdentifier(column)})::timestamptz FROM {table}";
            await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            facts.Add(new TableFacts
            {
                Schema = schema,
                Name = name,
                RowCount = reader.GetInt64(0),
                NewestCreatedAt = reader.IsDBNull(1) ? null : new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(1), DateTimeKind.Utc)),
                SizeBytes = sizeBytes,
            });
        }

        return facts;
    }
}
