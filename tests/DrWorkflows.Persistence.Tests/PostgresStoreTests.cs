using System.Net;
using System.Net.Sockets;
using DrWorkflows.Core.Execution;
using DrWorkflows.Persistence.Postgres;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace DrWorkflows.Persistence.Tests;

/// <summary>What only the PostgreSQL store does: its schema, migrations from several nodes, clear connection errors.</summary>
public sealed class PostgresStoreTests(PostgresDatabaseFixture fixture) : IClassFixture<PostgresDatabaseFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static PostgresStore Open(string connectionString, string schema) =>
        new(new PostgresStoreOptions { ConnectionString = connectionString, Schema = schema }, NullLogger.Instance, TimeProvider.System);

    private async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = await fixture.Require().OpenConnectionAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(Ct);
    }

    [Fact]
    public async Task Initialize_CreatesItsOwnSchema_WithTheTablesAndTheVersion()
    {
        var schema = PostgresDatabaseFixture.NewSchema();
        await using (var store = Open(fixture.Require().ConnectionString, schema))
        {
            await store.InitializeAsync(Ct);
            await store.CreateAsync(new WorkflowState { Id = "x", DefinitionId = "d", DefinitionVersionId = "d-1" }, [], Ct);
        }

        Assert.Equal(Internal.Migration.Load("Postgres").Count, await ScalarAsync($"SELECT MAX(version) FROM \"{schema}\".schema_version"));
        Assert.Equal(8L, await ScalarAsync(
            $"SELECT count(*) FROM information_schema.tables WHERE table_schema = '{schema}' "
            + "AND table_name IN ('definitions', 'instances', 'bookmarks', 'journal', 'leases', 'schedule_slots', 'throwaway_resources', 'throwaway_holders')"));
        Assert.Equal(1L, await ScalarAsync($"SELECT count(*) FROM \"{schema}\".instances"));
        Assert.Equal(0L, await ScalarAsync("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'instances'"));
    }

    [Fact]
    public async Task Initialize_FromSeveralNodesAtOnce_MigratesOnce()
    {
        var schema = PostgresDatabaseFixture.NewSchema();
        var stores = Enumerable.Range(0, 4).Select(_ => Open(fixture.Require().ConnectionString, schema)).ToList();
        try
        {
            await Task.WhenAll(stores.Select(s => Task.Run(() => s.InitializeAsync(Ct), Ct)));

            Assert.Equal((long)Internal.Migration.Load("Postgres").Count, await ScalarAsync($"SELECT count(*) FROM \"{schema}\".schema_version"));
            await stores[0].CreateAsync(new WorkflowState { Id = "y", DefinitionId = "d", DefinitionVersionId = "d-1" }, [], Ct);
            Assert.NotNull(await stores[3].GetAsync("y", Ct));
        }
        finally
        {
            foreach (var store in stores)
                await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task Initialize_OnASchemaNewerThanTheCode_FailsWithAClearMessage()
    {
        var schema = PostgresDatabaseFixture.NewSchema();
        await using (var store = Open(fixture.Require().ConnectionString, schema))
            await store.InitializeAsync(Ct);
        await ScalarAsync($"INSERT INTO \"{schema}\".schema_version VALUES (42, '0042_future', now())");

        await using var newer = Open(fixture.Require().ConnectionString, schema);
        var error = await Assert.ThrowsAsync<StoreUnavailableException>(() => newer.InitializeAsync(Ct));

        Assert.Contains("schema version 42", error.Message, StringComparison.Ordinal);
        Assert.Contains($"schema {schema}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongPassword_GivesOneMessageNamingTheServer_WithoutThePassword()
    {
        // The test server trusts loopback logins except for this role, which must give its password (tests/run.sh).
        var role = Environment.GetEnvironmentVariable("DRW_TEST_POSTGRES_PASSWORD_ROLE");
        if (string.IsNullOrEmpty(role))
            Assert.Skip("DRW_TEST_POSTGRES_PASSWORD_ROLE is not set: the test server has no role that requires a password (tests/run.sh creates one).");
        var builder = new NpgsqlConnectionStringBuilder(fixture.Require().ConnectionString) { Username = role, Password = "definitely-wrong-pw" };
        await using var store = Open(builder.ConnectionString, "drworkflows");

        var error = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.InitializeAsync(Ct));

        Assert.Contains($"PostgreSQL at {builder.Host}:{builder.Port} (database '{builder.Database}', user '{builder.Username}')", error.Message, StringComparison.Ordinal);
        Assert.Contains("rejected the login", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("definitely-wrong-pw", error.Message, StringComparison.Ordinal);
        Assert.IsType<PostgresException>(error.InnerException);
    }

    [Fact]
    public async Task MissingDatabase_SaysToCreateIt()
    {
        var builder = new NpgsqlConnectionStringBuilder(fixture.Require().ConnectionString) { Database = "drw_no_such_db" };
        await using var store = Open(builder.ConnectionString, "drworkflows");

        var error = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.InitializeAsync(Ct));

        Assert.Contains("database does not exist", error.Message, StringComparison.Ordinal);
        Assert.Contains("CREATE DATABASE \"drw_no_such_db\"", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnreachableServer_SaysWhereItLookedAndWhatToCheck()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        } // closed: nothing listens there now

        await using var store = Open($"Host=127.0.0.1;Port={port};Database=drw;Username=drw;Password=secret-pw;Timeout=5", "drworkflows");

        var error = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.FindByIdAsync("x", Ct));

        Assert.StartsWith($"Cannot reach PostgreSQL at 127.0.0.1:{port} (database 'drw', user 'drw')", error.Message, StringComparison.Ordinal);
        Assert.Contains("server is running", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-pw", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Host=db;Database=drw", "drworkflows", null)]
    [InlineData(null, "drworkflows", "ConnectionString is required")]
    [InlineData("Host=db", "drworkflows", "has no Database")]
    [InlineData("Host=db;Database=drw;Bogus=1", "drworkflows", "not a valid Npgsql connection string")]
    [InlineData("Host=db;Database=drw", "Drw-Flows", "must be a lower-case identifier")]
    [InlineData("Host=db;Database=drw", "pg_catalog", "must be a lower-case identifier")]
    public void Options_AreValidated(string? connectionString, string schema, string? expectedFailure)
    {
        var result = new PostgresStoreOptionsValidator().Validate(null, new PostgresStoreOptions { ConnectionString = connectionString, Schema = schema });

        if (expectedFailure is null)
        {
            Assert.True(result.Succeeded, result.FailureMessage);
        }
        else
        {
            Assert.True(result.Failed);
            Assert.Contains(expectedFailure, result.FailureMessage, StringComparison.Ordinal);
        }
    }
}
