using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Persistence;

/// <summary>The embedded store: one SQLite file in the data directory.</summary>
public sealed class SqliteStoreOptions
{
    /// <summary>Directory that holds the database file (created when missing). Used when <see cref="ConnectionString"/> is empty.</summary>
    public string? DataDirectory { get; set; }

    /// <summary>File name inside <see cref="DataDirectory"/>.</summary>
    public string FileName { get; set; } = "drworkflows.db";

    /// <summary>A full Microsoft.Data.Sqlite connection string; overrides <see cref="DataDirectory"/> when set.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>How long a writer waits for a lock held by another process before failing.</summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The database file this configuration points at (absolute path).</summary>
    internal string ResolveDatabasePath()
    {
        if (!string.IsNullOrWhiteSpace(ConnectionString))
            return Path.GetFullPath(new SqliteConnectionStringBuilder(ConnectionString).DataSource);
        return Path.GetFullPath(Path.Combine(DataDirectory!, FileName));
    }
}

internal sealed class SqliteStoreOptionsValidator : IValidateOptions<SqliteStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, SqliteStoreOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            if (string.IsNullOrWhiteSpace(options.DataDirectory))
                failures.Add("SqliteStoreOptions: set DataDirectory (the directory that holds drworkflows.db) or ConnectionString.");
            if (string.IsNullOrWhiteSpace(options.FileName) || options.FileName.IndexOfAny(['/', '\\']) >= 0)
                failures.Add("SqliteStoreOptions.FileName must be a plain file name such as 'drworkflows.db'.");
        }
        else
        {
            try
            {
                var builder = new SqliteConnectionStringBuilder(options.ConnectionString);
                if (string.IsNullOrWhiteSpace(builder.DataSource) || builder.DataSource == ":memory:" || builder.Mode == SqliteOpenMode.Memory)
                    failures.Add("SqliteStoreOptions.ConnectionString must name a database file (Data Source=/path/drworkflows.db); in-memory databases are not supported: use the in-memory store instead.");
                if (builder.Mode == SqliteOpenMode.ReadOnly)
                    failures.Add("SqliteStoreOptions.ConnectionString opens the database read-only; the store needs Mode=ReadWriteCreate or ReadWrite.");
            }
            catch (ArgumentException e)
            {
                failures.Add($"SqliteStoreOptions.ConnectionString is not a valid SQLite connection string: {e.Message}");
            }
        }

        if (options.BusyTimeout < TimeSpan.Zero || options.BusyTimeout > TimeSpan.FromMinutes(10))
            failures.Add("SqliteStoreOptions.BusyTimeout must be between 0 and 10 minutes.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
