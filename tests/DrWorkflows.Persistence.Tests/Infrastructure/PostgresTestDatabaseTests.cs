using DrWorkflows.Testing;
using Npgsql;

namespace DrWorkflows.Persistence.Tests.Infrastructure;

public class PostgresTestDatabaseTests
{
    private static async Task<bool> DatabaseExistsAsync(string name)
    {
        await using var connection = new NpgsqlConnection(TestServices.RequirePostgres());
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_database WHERE datname = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        return (long)(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken))! == 1;
    }

    [Fact]
    public async Task CreateAsync_MakesAUsableDatabase_DisposeDropsIt()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = await PostgresTestDatabase.CreateAsync(ct);
        try
        {
            Assert.Matches("^drw_test_[0-9a-f]{32}$", database.Name);
            Assert.True(await DatabaseExistsAsync(database.Name));

            await using var connection = await database.OpenConnectionAsync(ct);
            await using (var create = new NpgsqlCommand("CREATE TABLE t (v int); INSERT INTO t VALUES (42);", connection))
            {
                await create.ExecuteNonQueryAsync(ct);
            }

            await using var read = new NpgsqlCommand("SELECT current_database(), (SELECT v FROM t)", connection);
            await using var reader = await read.ExecuteReaderAsync(ct);
            Assert.True(await reader.ReadAsync(ct));
            Assert.Equal(database.Name, reader.GetString(0));
            Assert.Equal(42, reader.GetInt32(1));
        }
        finally
        {
            // The connection above is still open while the database is dropped: FORCE must end it.
            await database.DisposeAsync();
        }

        Assert.False(await DatabaseExistsAsync(database.Name));
    }

    [Fact]
    public async Task CreateAsync_TwoDatabases_HaveDistinctNames_AndDisposeTwiceIsHarmless()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var first = await PostgresTestDatabase.CreateAsync(ct);
        await using var second = await PostgresTestDatabase.CreateAsync(ct);

        Assert.NotEqual(first.Name, second.Name);

        await first.DisposeAsync();
        await first.DisposeAsync();
        Assert.False(await DatabaseExistsAsync(first.Name));
        Assert.True(await DatabaseExistsAsync(second.Name));
    }
}
