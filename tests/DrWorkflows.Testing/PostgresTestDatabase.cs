using Npgsql;

namespace DrWorkflows.Testing;

/// <summary>
/// A uniquely named, empty database on the test PostgreSQL server, dropped (with <c>FORCE</c>, so open
/// connections do not block it) on dispose.
/// </summary>
public sealed class PostgresTestDatabase : IAsyncDisposable
{
    private readonly string serverConnectionString;
    private int disposed;

    private PostgresTestDatabase(string serverConnectionString, string name, string connectionString)
    {
        this.serverConnectionString = serverConnectionString;
        Name = name;
        ConnectionString = connectionString;
    }

    /// <summary>The database name (<c>drw_test_</c> followed by 32 hex digits).</summary>
    public string Name { get; }

    /// <summary>Connection string to this database, as the server's superuser.</summary>
    public string ConnectionString { get; }

    /// <summary>Creates a database on the server named by <c>DRW_TEST_POSTGRES</c>, or skips the test.</summary>
    public static Task<PostgresTestDatabase> CreateAsync(CancellationToken cancellationToken) =>
        CreateAsync(TestServices.RequirePostgres(), cancellationToken);

    /// <summary>Creates a database on the given server (the connection string must allow CREATE DATABASE).</summary>
    public static async Task<PostgresTestDatabase> CreateAsync(string serverConnectionString, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(serverConnectionString);
        var name = "drw_test_" + Guid.NewGuid().ToString("N");
        await ExecuteAsync(serverConnectionString, $"CREATE DATABASE \"{name}\"", cancellationToken);
        var connectionString = new NpgsqlConnectionStringBuilder(serverConnectionString) { Database = name }.ConnectionString;
        return new PostgresTestDatabase(serverConnectionString, name, connectionString);
    }

    /// <summary>Opens a new connection to this database.</summary>
    public async Task<NpgsqlConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Drops the database, ending any connection still open to it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            NpgsqlConnection.ClearPool(connection);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await ExecuteAsync(serverConnectionString, $"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)", timeout.Token);
    }

    private static async Task ExecuteAsync(string connectionString, string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
#pragma warning disable CA2100 // The only variable part is a database name this class generates itself.
        await using var command = new NpgsqlCommand(sql, connection);
#pragma warning restore CA2100
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
