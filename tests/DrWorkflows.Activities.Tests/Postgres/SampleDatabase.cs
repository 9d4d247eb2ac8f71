using DrWorkflows.Testing;
using Npgsql;

namespace DrWorkflows.Activities.Tests.Postgres;

/// <summary>
/// A small shop database on the test server: customers, orders (FK), order items (FK), products with JSON, an
/// audit log with <c>timestamp</c> created_at. Text and JSON compress about 2-3:1, like real data.
/// </summary>
internal static class SampleDatabase
{
    public static async Task<PostgresTestDatabase> CreateAsync(int customers, CancellationToken cancellationToken)
    {
        var database = await PostgresTestDatabase.CreateAsync(cancellationToken);
        await ExecuteAsync(database.ConnectionString, $"""
            CREATE TABLE customers (
                id bigserial PRIMARY KEY,
                email text NOT NULL UNIQUE,
                name text NOT NULL,
                profile jsonb NOT NULL,
                created_at timestamptz NOT NULL);
            CREATE TABLE products (
                sku text PRIMARY KEY,
                title text NOT NULL,
                attributes jsonb NOT NULL,
                price numeric(10,2) NOT NULL);
            CREATE TABLE orders (
                id bigserial PRIMARY KEY,
                customer_id bigint NOT NULL REFERENCES customers(id),
                status text NOT NULL,
                note text,
                created_at timestamptz NOT NULL);
            CREATE TABLE order_items (
                order_id bigint NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
                sku text NOT NULL REFERENCES products(sku),
                quantity int NOT NULL,
                PRIMARY KEY (order_id, sku));
            CREATE SCHEMA audit;
            CREATE TABLE audit.log (id bigserial PRIMARY KEY, message text NOT NULL, created_at timestamp NOT NULL);

            INSERT INTO customers (email, name, profile, created_at)
            SELECT 'user' || g || '@example.test',
                   initcap(substr(md5(g::text), 1, 8)) || ' ' || initcap(substr(md5((g * 7)::text), 1, 10)),
                   jsonb_build_object('newsletter', g % 3 = 0, 'tier', (ARRAY['bronze','silver','gold'])[1 + g % 3],
                                      'address', jsonb_build_object('city', 'City ' || (g % 97), 'zip', lpad((g % 99999)::text, 5, '0'))),
                   timestamptz '2026-01-01 00:00:00+00' + g * interval '37 seconds'
              FROM generate_series(1, {customers}) g;
            INSERT INTO products (sku, title, attributes, price)
            SELECT 'SKU-' || g, 'Product ' || md5(g::text),
                   jsonb_build_object('color', (ARRAY['red','green','blue','black'])[1 + g % 4], 'weight', g % 50, 'tags', jsonb_build_array('a' || g % 5, 'b' || g % 7)),
                   (g % 500) + 0.99
              FROM generate_series(1, 200) g;
            INSERT INTO orders (customer_id, status, note, created_at)
            SELECT 1 + (g % {customers}), (ARRAY['new','paid','shipped','returned'])[1 + g % 4],
                   CASE WHEN g % 5 = 0 THEN 'Please deliver after ' || (g % 12) || ' pm, code ' || md5(g::text) END,
                   timestamptz '2026-02-01 00:00:00+00' + g * interval '11 seconds'
              FROM generate_series(1, {customers * 2}) g;
            INSERT INTO order_items (order_id, sku, quantity)
            SELECT o.id, 'SKU-' || (1 + (o.id * k) % 200), 1 + (o.id + k) % 4
              FROM orders o CROSS JOIN generate_series(1, 3) k
            ON CONFLICT DO NOTHING;
            INSERT INTO audit.log (message, created_at)
            SELECT 'user ' || (g % 1000) || ' did action ' || md5(g::text), timestamp '2026-03-01 00:00:00' + g * interval '1 second'
              FROM generate_series(1, {customers}) g;
            """, cancellationToken);
        return database;
    }

    /// <summary>A digest of every row of every table (ordered), to compare two databases' content.</summary>
    public static async Task<string> ContentDigestAsync(string connectionString, CancellationToken cancellationToken) =>
        (string)(await ScalarAsync(connectionString, """
            SELECT md5(string_agg(d, '|' ORDER BY d)) FROM (
              SELECT 'c' || md5(string_agg(t::text, ',' ORDER BY t.id)) AS d FROM customers t
              UNION ALL SELECT 'p' || md5(string_agg(t::text, ',' ORDER BY t.sku)) FROM products t
              UNION ALL SELECT 'o' || md5(string_agg(t::text, ',' ORDER BY t.id)) FROM orders t
              UNION ALL SELECT 'i' || md5(string_agg(t::text, ',' ORDER BY t.order_id, t.sku)) FROM order_items t
              UNION ALL SELECT 'a' || md5(string_agg(t::text, ',' ORDER BY t.id)) FROM audit.log t) x
            """, cancellationToken))!;

    public static async Task ExecuteAsync(string connectionString, string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 600 };
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static async Task<object?> ScalarAsync(string connectionString, string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 600 };
        return await command.ExecuteScalarAsync(cancellationToken);
    }

    public static string WithDatabase(string connectionString, string database) =>
        new NpgsqlConnectionStringBuilder(connectionString) { Database = database }.ConnectionString;

    public static async Task DropDatabaseAsync(string serverConnectionString, string database)
    {
        await ExecuteAsync(WithDatabase(serverConnectionString, "postgres"), $"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", CancellationToken.None);
    }

    public static async Task<bool> DatabaseExistsAsync(string serverConnectionString, string database, CancellationToken cancellationToken) =>
        (bool)(await ScalarAsync(WithDatabase(serverConnectionString, "postgres"), $"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = '{database.Replace("'", "''", StringComparison.Ordinal)}')", cancellationToken))!;
}
