using System.Text.RegularExpressions;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Drills;
using DrWorkflows.Activities.Media;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Core.Building;
using DrWorkflows.Core.Execution;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// The monthly drill end to end on real parts: a real PostgreSQL server with two small databases, real backups
/// taken by the backup activities (pg_dump, gzip, manifests) into a real local store, the real media backup of a
/// folder, and the drill restoring them into throwaway databases and folders with the real clock, measuring RTO and
/// RPO and comparing them with the objectives. Redis is streamed by a stand-in (no Redis server is needed).
/// </summary>
public sealed partial class MonthlyDrillRealTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_drill_restores_real_backups_into_throwaway_databases_and_measures_RTO_and_RPO_within_the_objectives()
    {
        var server = TestServices.RequirePostgres();
        var bin = TestServices.RequirePgBin();
        await using var main = await CreateShopAsync(customers: 60);
        await using var ai = await CreateShopAsync(customers: 20);
        using var media = new TempDirectory("drill-media");
        await File.WriteAllTextAsync(media.Combine("logo.svg"), "<svg/>", Ct);
        Directory.CreateDirectory(media.Combine("uploads"));
        await File.WriteAllTextAsync(media.Combine("uploads", "invoice-1.pdf"), new string('x', 5000), Ct);
        await using var dr = await DrTestHost.StartWithRealBackupsAsync(Postgres(server, bin), services => services.AddDrills(MonthlyDrillTests.ObjectivesTheSchedulesCanGive));

        var backups = await BackupEverythingAsync(dr, main, ai, media.FullPath);
        var ordersBefore = await CountAsync(main.ConnectionString, "orders");

        var run = await dr.RunAsync(MonthlyDrDrill.Id, new { Store = "local", Server = "drill" });

        Assert.Equal(WorkflowSubStatus.Finished, run.SubStatus);
        Assert.True(run.Output["Passed"]!.GetValue<bool>(), run.Output["Summary"]?.ToString());
        var components = run.Output["Report"]!["components"]!.AsArray().Select(c => c!.AsObject()).ToDictionary(c => c["component"]!.ToString());
        var mainResult = components[RecoveryComponents.PostgresMain];
        Assert.Equal(backups.MainSetId, mainResult["setId"]!.ToString());
        var rto = TimeSpan.Parse(mainResult["rtoAchieved"]!.ToString(), System.Globalization.CultureInfo.InvariantCulture);
        var rpo = TimeSpan.Parse(mainResult["rpoAchieved"]!.ToString(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(rto, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(5));
        Assert.InRange(rpo, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(5));
        Assert.InRange((run.CreatedAt - backups.MainTakenAt - rpo).Duration(), TimeSpan.Zero, TimeSpan.FromMilliseconds(2));
        Assert.Contains("120 row(s) checked against the manifest", mainResult["method"]!.ToString(), StringComparison.Ordinal);
        Assert.All(components.Values, c => Assert.True(c["succeeded"]!.GetValue<bool>(), c.ToJsonString()));

        // Restored into throwaway databases that are gone again; production was never touched.
        var throwaway = ThrowawayName().Match(mainResult["method"]!.ToString()).Groups[1].Value;
        Assert.StartsWith("drw_verify_", throwaway, StringComparison.Ordinal);
        Assert.False(await DatabaseExistsAsync(server, throwaway));
        Assert.Equal(ordersBefore, await CountAsync(main.ConnectionString, "orders"));
        var set = Assert.Single(await dr.Catalog.ListAsync("local", BackupKinds.Postgres, "ecommerce_db", Ct));
        Assert.True(set.Manifest.IsVerified);
        Assert.Empty(dr.PostMortems.Requests);
        Assert.Contains(dr.Comms.SlackPosts, p => p.Text.Contains("PASSED", StringComparison.Ordinal) && p.Text.Contains("PostgreSQL (Main)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_drill_that_misses_an_objective_on_real_backups_opens_the_drill_issue()
    {
        var server = TestServices.RequirePostgres();
        var bin = TestServices.RequirePgBin();
        await using var main = await CreateShopAsync(customers: 10);
        await using var ai = await CreateShopAsync(customers: 10);
        using var media = new TempDirectory("drill-media");
        await File.WriteAllTextAsync(media.Combine("a.txt"), "a", Ct);
        // An RPO nobody can meet: the drill must say so with the numbers it measured.
        await using var dr = await DrTestHost.StartWithRealBackupsAsync(Postgres(server, bin), services =>
            services.AddDrills(o => o.Components[RecoveryComponents.PostgresAi].Rpo = TimeSpan.FromTicks(1)));
        await BackupEverythingAsync(dr, main, ai, media.FullPath);

        var run = await dr.RunAsync(MonthlyDrDrill.Id, new { Store = "local", Server = "drill" });

        Assert.False(run.Output["Passed"]!.GetValue<bool>());
        Assert.Matches(@"PostgreSQL \(AI\): RPO .+ exceeds the target 0 s", run.Output["Summary"]!.ToString());
        var issue = Assert.Single(dr.PostMortems.Requests);
        Assert.True(issue.Details.IsDrill);
        Assert.Contains("PostgreSQL (AI): RPO", issue.Details.Summary, StringComparison.Ordinal);
    }

    private static Action<PostgresBackupOptions> Postgres(string server, string bin) => o =>
    {
        o.Tools.BinDirectory = bin;
        o.Servers["prod"] = server;
        o.Servers["drill"] = server;
        o.VerificationServer = "drill";
        o.RestoreJobs = 1;
    };

    private sealed record Backups(string MainSetId, DateTimeOffset MainTakenAt);

    /// <summary>Runs a small workflow with the real backup activities: both databases, Redis and the media folder into the local store.</summary>
    private static async Task<Backups> BackupEverythingAsync(DrTestHost dr, PostgresTestDatabase main, PostgresTestDatabase ai, string mediaDirectory)
    {
        var builder = new WorkflowBuilder("test-backup-all", "Back up everything (test)").WithDescription("Takes the backups the drill restores.");
        var flow = builder.Flowchart();
        flow.Chain(
            flow.Add(new BackupDatabase { Id = "main", Server = new("prod"), Database = new(main.Name), SourceName = new("ecommerce_db"), Store = new("local") }),
            flow.Add(new BackupDatabase { Id = "ai", Server = new("prod"), Database = new(ai.Name), SourceName = new("ai_db"), Store = new("local") }),
            flow.Add(new BackupRedis { Id = "redis", Store = new("local") }),
            flow.Add(new BackupMedia { Id = "media", Directory = new(mediaDirectory), SourceName = new("media"), Store = new("local") }));
        var definition = await dr.Host.Definitions.SaveAsync(builder.Build(dr.Host.Registry), publish: true, "test", isReadonly: false, Ct);
        var run = await dr.RunAsync(definition.DefinitionId);
        Assert.True(run.SubStatus == WorkflowSubStatus.Finished, string.Join("; ", run.Incidents.Select(i => i.Message)));
        var set = Assert.Single(await dr.Catalog.ListAsync("local", BackupKinds.Postgres, "ecommerce_db", Ct));
        Assert.Equal(main.Name, set.Manifest.Database);
        return new Backups(set.Id, set.Manifest.StartedAt);
    }

    private static async Task<PostgresTestDatabase> CreateShopAsync(int customers)
    {
        var database = await PostgresTestDatabase.CreateAsync(Ct);
        await using var connection = await database.OpenConnectionAsync(Ct);
        await using var command = new NpgsqlCommand($"""
            CREATE TABLE customers (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, created_at timestamptz NOT NULL);
            CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers(id), total numeric(10,2) NOT NULL, created_at timestamptz NOT NULL);
            INSERT INTO customers (email, created_at) SELECT 'user' || g || '@example.test', timestamptz '2026-01-01 00:00:00+00' + g * interval '1 hour' FROM generate_series(1, {customers}) g;
            INSERT INTO orders (customer_id, total, created_at) SELECT 1 + g % {customers}, g * 1.5, timestamptz '2026-02-01 00:00:00+00' + g * interval '1 minute' FROM generate_series(1, {customers}) g;
            """, connection);
        await command.ExecuteNonQueryAsync(Ct);
        return database;
    }

    private static async Task<long> CountAsync(string connectionString, string table)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
#pragma warning disable CA2100 // The table name is a constant of this test.
        await using var command = new NpgsqlCommand($"SELECT count(*) FROM {table}", connection);
#pragma warning restore CA2100
        return (long)(await command.ExecuteScalarAsync(Ct))!;
    }

    private static async Task<bool> DatabaseExistsAsync(string server, string name)
    {
        await using var connection = new NpgsqlConnection(server);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = @name)", connection);
        command.Parameters.AddWithValue("name", name);
        return (bool)(await command.ExecuteScalarAsync(Ct))!;
    }

    [GeneratedRegex("throwaway database (drw_verify_[a-z0-9_]+)")]
    private static partial Regex ThrowawayName();
}
