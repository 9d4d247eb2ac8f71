using System.Diagnostics;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Core.Building;
using DrWorkflows.Core.Execution;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// The weekly restore to staging: refused on a production target (fake IO: nothing is listed or changed), and end to
/// end on real parts (a "production" database on the test PostgreSQL server backed up and verified for real, the
/// sample Compose platform as the staging project on the private dockerd, the approval, the real restore into its
/// database, the whole project's health and the gateway's smoke check).
/// </summary>
[TypicalDuration(41)]
public sealed class StagingRestoreTests(ITestOutputHelper output)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_target_that_is_the_production_project_is_refused_before_anything_is_read_or_changed()
    {
        await using var dr = await DrTestHost.StartAsync(new DateTimeOffset(2026, 12, 5, 5, 0, 0, TimeSpan.Zero));

        var run = await dr.RunAsync(StagingRestore.Id, new { StagingProject = "ecommerce", StagingServer = "dr", Store = "local" });

        Assert.Equal(WorkflowSubStatus.Faulted, run.SubStatus);
        var incident = Assert.Single(run.Incidents);
        Assert.Equal("checkTarget", incident.ActivityId);
        Assert.Equal("Staging restore refused, nothing was changed: Compose project 'ecommerce' is the production project (Docker:ComposeProject): a staging restore never replaces production data.", incident.Message);
        Assert.Empty(dr.Calls.Of("postgres."));
        Assert.Empty(dr.Calls.Of("docker."));
    }

    [Fact]
    public async Task A_staging_server_that_is_the_server_the_backups_come_from_is_refused()
    {
        await using var dr = await DrTestHost.StartAsync(new DateTimeOffset(2026, 12, 5, 5, 0, 0, TimeSpan.Zero));
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "s1", "local", "ecommerce_db", Ct, verified: true, server: "main");

        var run = await dr.RunAsync(StagingRestore.Id, new { StagingProject = "shop-staging", StagingServer = "main", Store = "local" });

        var incident = Assert.Single(run.Incidents);
        Assert.Equal("checkTarget", incident.ActivityId);
        Assert.StartsWith("Staging restore refused, nothing was changed: PostgreSQL server 'main' (", incident.Message, StringComparison.Ordinal);
        Assert.Contains(") is the server the backups of ecommerce_db are taken from", incident.Message, StringComparison.Ordinal);
        Assert.Empty(dr.Calls.Of("postgres.restore"));
    }

    [Fact]
    public async Task The_newest_verified_backup_is_restored_into_the_staging_project_after_approval_and_the_whole_project_is_checked()
    {
        var server = TestServices.RequirePostgres();
        var bin = TestServices.RequirePgBin();
        await using var platform = SamplePlatform.Create();
        await using var platformHost = await platform.StartDrHostAsync();
        var compose = platformHost.Get<IComposeService>();
        var docker = platformHost.Get<IDockerService>();
        await DatabaseContainerFailureRealTests.RequireComposeAsync(compose);
        var clock = Stopwatch.StartNew();

        // "Production": a shop database on the test server, 30 customers. Staging: the sample platform, 5 customers.
        await using var production = await PostgresTestDatabase.CreateAsync(Ct);
        await ExecuteAsync(production.ConnectionString, await File.ReadAllTextAsync(Path.Combine(SamplePlatform.SourceDirectory, "shop-schema.sql"), Ct));
        await ExecuteAsync(production.ConnectionString, """
            INSERT INTO customers (email) SELECT 'prod' || g || '@example.test' FROM generate_series(1, 30) g;
            INSERT INTO orders (customer_id, total) SELECT 1 + g % 30, g * 2.5 FROM generate_series(1, 45) g;
            """);

        try
        {
            await platform.UpAndSeedAsync(compose, docker, customers: 5, Ct);
            Assert.Equal(5, await platform.CountAsync("customers", Ct));
            Step("staging platform up with its own data");

            await using var dr = await DrTestHost.StartWithRealBackupsAsync(
                o =>
                {
                    o.Tools.BinDirectory = bin;
                    o.Servers["prod"] = server;
                    o.Servers["staging"] = platform.ConnectionString();
                    o.VerificationServer = "prod";
                    o.RestoreJobs = 1;
                },
                services =>
                {
                    platform.UseRealDockerAndSmokeTests(services);
                    services.Configure<DockerOptions>(o => o.ComposeProject = "ecommerce"); // production's project
                });
            var setId = await BackUpProductionAsync(dr, production.Name);
            Step("production backed up and verified");

            var run = await dr.RunAsync(StagingRestore.Id, new Dictionary<string, object?>
            {
                ["StagingProject"] = platform.Project,
                ["StagingServer"] = "staging",
                ["Store"] = "local",
                ["SmokeChecks"] = new[] { new { url = platform.GatewayHealth.ToString(), expectedStatus = new[] { 200 }, bodyContains = new[] { "ok" } } },
                ["PlatformTimeoutSeconds"] = 240,
            });
            Assert.Equal(WorkflowSubStatus.Suspended, run.SubStatus);
            var gate = await dr.PendingGateAsync(run.Id);
            Assert.Contains($"with backup set {setId}", gate.Question, StringComparison.Ordinal);
            Assert.Equal(5, await platform.CountAsync("customers", Ct)); // nothing replaced before the approval

            await dr.DecideAsync(run.Id, "approve", comment: "weekly staging refresh");
            var done = await DatabaseContainerFailureRealTests.RunToEndAsync(dr, run.Id, TimeSpan.FromMinutes(6));
            Step("run ended");

            Assert.True(done.SubStatus == WorkflowSubStatus.Finished, $"{done.SubStatus}: {string.Join("; ", done.Incidents.Select(i => i.Message))}");
            output.WriteLine(done.Output["Summary"]?.ToString() ?? "(no summary)");
            Assert.True(done.Output["Passed"]!.GetValue<bool>(), done.Output["Summary"]?.ToString());
            Assert.Contains($"Restored set {setId} into ecommerce_db on staging server staging: integrity checked (2 table(s), 75 row(s) as in the manifest), every service of {platform.Project} healthy, 1 smoke check(s) passed.", done.Output["Summary"]!.ToString(), StringComparison.Ordinal);
            var report = done.Output["Report"]!;
            Assert.Equal(platform.Project, report["target"]!["project"]!.ToString());
            Assert.Equal("ecommerce", report["target"]!["productionProject"]!.ToString());
            Assert.Equal(["backend", "gateway", "postgres"], report["health"]!.AsArray().Select(s => s!["composeService"]!.ToString()).Order());
            Assert.Equal(RestoreDatabase.Restored, await dr.OutcomeAsync(run.Id, "restore"));

            // Staging now holds production's data; production is untouched.
            Assert.Equal(30, await platform.CountAsync("customers", Ct));
            Assert.Equal(45, await platform.CountAsync("orders", Ct));
            Assert.Equal(30L, await ScalarAsync(production.ConnectionString, "SELECT count(*) FROM customers"));
            Assert.Contains(dr.Comms.SlackPosts, p => p.Text.StartsWith(":white_check_mark: *Weekly restore to staging PASSED*", StringComparison.Ordinal));
        }
        finally
        {
            await SamplePlatform.DownAsync(compose, output);
            Step("down");
        }

        void Step(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.0} s  {what}");
    }

    private static async Task<string> BackUpProductionAsync(DrTestHost dr, string database)
    {
        var builder = new WorkflowBuilder("test-backup-production", "Back up production (test)").WithDescription("Takes and verifies the backup the staging restore uses.");
        var flow = builder.Flowchart();
        flow.Chain(
            flow.Add(new BackupDatabase { Id = "backup", Server = new("prod"), Database = new(database), SourceName = new(SamplePlatform.Database), Store = new("local") }),
            flow.Add(new VerifyLatestBackup { Id = "verify", Server = new("prod"), Source = new(SamplePlatform.Database), Store = new("local") }));
        var definition = await dr.Host.Definitions.SaveAsync(builder.Build(dr.Host.Registry), publish: true, "test", isReadonly: false, Ct);
        var run = await dr.RunAsync(definition.DefinitionId);
        Assert.True(run.SubStatus == WorkflowSubStatus.Finished, string.Join("; ", run.Incidents.Select(i => i.Message)));
        Assert.Equal(VerifyLatestBackup.Verified, await dr.OutcomeAsync(run.Id, "verify"));
        return Assert.Single(await dr.Catalog.ListAsync("local", BackupKinds.Postgres, SamplePlatform.Database, Ct)).Id;
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
#pragma warning disable CA2100 // SQL of this test and the repository's schema file.
        await using var command = new NpgsqlCommand(sql, connection);
#pragma warning restore CA2100
        await command.ExecuteNonQueryAsync(Ct);
    }

    private static async Task<long> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
#pragma warning disable CA2100 // SQL of this test.
        await using var command = new NpgsqlCommand(sql, connection);
#pragma warning restore CA2100
        return (long)(await command.ExecuteScalarAsync(Ct))!;
    }
}
