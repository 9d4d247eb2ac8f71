using System.Data;
using DrWorkflows.Activities.Backups;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DrWorkflows.Activities.Postgres;

/// <summary>One foreign key and what the check found.</summary>
public sealed record ForeignKeyCheck(string Name, string Table, string ReferencedTable, bool Validated, long OrphanRows);

/// <summary>A table compared with the manifest.</summary>
public sealed record TableCheck(string Table, long RowCount, long? ExpectedRowCount, DateTimeOffset? NewestCreatedAt, DateTimeOffset? ExpectedNewestCreatedAt);

/// <summary>Result of the integrity checks of one database.</summary>
public sealed record IntegrityReport(string Database, string Server, IReadOnlyList<TableCheck> Tables, IReadOnlyList<ForeignKeyCheck> ForeignKeys, IReadOnlyList<string> Problems, IReadOnlyList<string> Warnings)
{
    public bool Succeeded => Problems.Count == 0;

    public long TotalRows => Tables.Sum(t => t.RowCount);
}

/// <summary>Integrity checks after a restore.</summary>
public interface IPostgresIntegrityChecker
{
    /// <summary>
    /// Exact row count and newest created-at of every user table, every foreign key checked for orphan rows
    /// (whether or not PostgreSQL validated it), and, when a manifest is given, equality with the facts recorded at
    /// backup time (tables missing or extra, row counts, newest created-at). Problems make the report fail.
    /// </summary>
    Task<IntegrityReport> CheckAsync(PostgresServer server, string database, BackupManifest? expected, CancellationToken cancellationToken);
}

internal sealed class PostgresIntegrityChecker(IOptions<PostgresBackupOptions> options, ILogger<PostgresIntegrityChecker> logger) : IPostgresIntegrityChecker
{
    private const string ForeignKeysSql = """
        SELECT c.conname, c.convalidated, cn.nspname, cl.relname, fn.nspname, fl.relname,
               ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
                       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.ord),
               ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(attnum, ord)
                       JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.ord)
          FROM pg_constraint c
          JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_namespace cn ON cn.oid = cl.relnamespace
          JOIN pg_class fl ON fl.oid = c.confrelid JOIN pg_namespace fn ON fn.oid = fl.relnamespace
         WHERE c.contype = 'f' AND c.conparentid = 0
           AND cn.nspname NOT IN ('pg_catalog', 'information_schema')
         ORDER BY cn.nspname, cl.relname, c.conname
        """;

    public async Task<IntegrityReport> CheckAsync(PostgresServer server, string database, BackupManifest? expected, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresConnections.OpenAsync(server, database, cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
        var problems = new List<string>();
        var warnings = new List<string>();
        try
        {
            var facts = await PostgresFacts.CollectAsync(connection, options.Value.CreatedAtColumns, cancellationToken);
            var foreignKeys = await CheckForeignKeysAsync(connection, problems, warnings, cancellationToken);
            var tables = Compare(facts, expected, problems, warnings);
            foreach (var problem in problems)
                Log.IntegrityProblem(logger, database, problem);
            return new IntegrityReport(database, server.ToString(), tables, foreignKeys, problems, warnings);
        }
        catch (PostgresException ex)
        {
            throw PostgresConnections.Translate(ex, server, database);
        }
        finally
        {
            await transaction.RollbackAsync(CancellationToken.None);
        }
    }

    private static List<TableCheck> Compare(List<TableFacts> actual, BackupManifest? expected, List<string> problems, List<string> warnings)
    {
        var recorded = expected?.Tables?.ToDictionary(t => t.QualifiedName, StringComparer.Ordinal);
        if (expected is not null && recorded is null)
            warnings.Add($"The manifest of set {expected.Id} has no row counts (Postgres:RecordRowCounts was off); only foreign keys were checked.");
        var checks = new List<TableCheck>();
        foreach (var table in actual)
        {
            TableFacts? want = null;
            if (recorded is not null && !recorded.TryGetValue(table.QualifiedName, out want))
                warnings.Add($"Table {table.QualifiedName} is not in the backup's manifest (created after the backup, or outside the dump).");
            if (want is not null)
            {
                if (want.RowCount != table.RowCount)
                    problems.Add($"Table {table.QualifiedName} has {table.RowCount} rows; the backup recorded {want.RowCount}.");
                if (want.NewestCreatedAt != table.NewestCreatedAt)
                    problems.Add($"Table {table.QualifiedName} newest created-at is {Format(table.NewestCreatedAt)}; the backup recorded {Format(want.NewestCreatedAt)}.");
            }

            checks.Add(new TableCheck(table.QualifiedName, table.RowCount, want?.RowCount, table.NewestCreatedAt, want?.NewestCreatedAt));
        }

        if (recorded is not null)
        {
            var present = actual.Select(t => t.QualifiedName).ToHashSet(StringComparer.Ordinal);
            foreach (var missing in recorded.Keys.Where(k => !present.Contains(k)).Order(StringComparer.Ordinal))
                problems.Add($"Table {missing} ({recorded[missing].RowCount} rows at backup time) is missing.");
        }

        return checks;
    }

    private static async Task<List<ForeignKeyCheck>> CheckForeignKeysAsync(NpgsqlConnection connection, List<string> problems, List<string> warnings, CancellationToken cancellationToken)
    {
        var keys = new List<(string Name, bool Validated, string Schema, string Table, string RefSchema, string RefTable, string[] Columns, string[] RefColumns)>();
        await using (var command = new NpgsqlCommand(ForeignKeysSql, connection))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                keys.Add((reader.GetString(0), reader.GetBoolean(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5),
                    reader.GetFieldValue<string[]>(6), reader.GetFieldValue<string[]>(7)));
            }
        }

        var results = new List<ForeignKeyCheck>();
        foreach (var key in keys)
        {
            var q = PostgresConnections.QuoteIdentifier;
            var child = $"{q(key.Schema)}.{q(key.Table)}";
            var parent = $"{q(key.RefSchema)}.{q(key.RefTable)}";
            var notNull = string.Join(" AND ", key.Columns.Select(c => $"c.{q(c)} IS NOT NULL"));
            var join = string.Join(" AND ", key.Columns.Zip(key.RefColumns, (c, p) => $"p.{q(p)} = c.{q(c)}"));
            var sql = $"SELECT count(*) FROM {child} c WHERE {notNull} AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE {join})";
            await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
            var orphans = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
            var name = $"{key.Name} on {key.Schema}.{key.Table}";
            if (orphans > 0)
                problems.Add($"Foreign key {name} is violated: {orphans} row(s) reference missing rows of {key.RefSchema}.{key.RefTable}.");
            if (!key.Validated)
                warnings.Add($"Foreign key {name} is NOT VALID in the catalog (never validated); its rows were checked anyway. Run ALTER TABLE {child} VALIDATE CONSTRAINT {q(key.Name)} when convenient.");
            results.Add(new ForeignKeyCheck(key.Name, $"{key.Schema}.{key.Table}", $"{key.RefSchema}.{key.RefTable}", key.Validated, orphans));
        }

        return results;
    }

    private static string Format(DateTimeOffset? value) => value?.ToString("O", System.Globalization.CultureInfo.InvariantCulture) ?? "none";
}
