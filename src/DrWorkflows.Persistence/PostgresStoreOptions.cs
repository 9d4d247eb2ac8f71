using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DrWorkflows.Persistence;

/// <summary>The shared store for several nodes: a PostgreSQL database, in a schema of its own.</summary>
public sealed class PostgresStoreOptions
{
    /// <summary>Npgsql connection string (Host, Port, Database, Username, Password...). Never logged.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>The schema that holds DrWorkflows' tables; created at start when missing.</summary>
    public string Schema { get; set; } = "drworkflows";
}

internal sealed partial class PostgresStoreOptionsValidator : IValidateOptions<PostgresStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgresStoreOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            failures.Add("PostgresStoreOptions.ConnectionString is required (for example 'Host=db1;Port=5432;Database=drworkflows;Username=drw;Password=...').");
        }
        else
        {
            try
            {
                var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
                if (string.IsNullOrWhiteSpace(builder.Host))
                    failures.Add("PostgresStoreOptions.ConnectionString has no Host.");
                if (string.IsNullOrWhiteSpace(builder.Database))
                    failures.Add("PostgresStoreOptions.ConnectionString has no Database; name the database DrWorkflows may use (it is not created automatically).");
            }
            catch (ArgumentException e)
            {
                // The message names the offending keyword, never its value.
                failures.Add($"PostgresStoreOptions.ConnectionString is not a valid Npgsql connection string: {e.Message}");
            }
        }

        if (string.IsNullOrEmpty(options.Schema) || !SchemaName().IsMatch(options.Schema))
            failures.Add($"PostgresStoreOptions.Schema '{options.Schema}' must be a lower-case identifier (letters, digits, '_', at most 63 characters, not starting with a digit or 'pg_').");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    [GeneratedRegex("^(?!pg_)[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex SchemaName();
}
