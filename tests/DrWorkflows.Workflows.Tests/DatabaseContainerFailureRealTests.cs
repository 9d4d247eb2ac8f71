using System.Diagnostics;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Core.Building;
using DrWorkflows.Core.Execution;
using DrWorkflows.Testing;
using DrWorkflows.Workflows.Shared;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// Scenario 1 end to end on real parts: the sample Compose platform of <c>deploy/platform</c> brought up with the
/// real Compose CLI on the test run's private dockerd, a real backup (pg_dump into a local store, verified by a
/// restore into a throwaway database), a real fault (the table the healthcheck queries is dropped, so Docker
/// reports the container unhealthy), and <c>dr-database-container-failure</c> run with the real clock against the
/// real Docker, PostgreSQL, backup and smoke-test services. Only comms (Slack, status page, email, GitHub) are the
/// recording stand-ins of <see cref="DrTestHost"/>.
/// </summary>
[TypicalDuration(148)]
public sealed class DatabaseContainerFailureRealTests(ITestOutputHelper output)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_damaged_database_that_a_restart_does_not_fix_is_restored_from_the_verified_backup_after_approval_and_the_platform_recovers()
    {
        await using var platform = SamplePlatform.Create();
        await using var dr = await platform.StartDrHostAsync();
        var compose = dr.Get<IComposeService>();
        var docker = dr.Get<IDockerService>();
        await RequireComposeAsync(compose);
        var clock = Stopwatch.StartNew();

        try
        {
            // The platform, with the shop's data: every service healthy.
            var up = await platform.UpAndSeedAsync(compose, docker, customers: 40, Ct);
            Assert.Equal(["backend", "gateway", "postgres"], up.Containers.Select(c => c.ComposeService).Order());
            Step("platform up and seeded");

            // A real backup, verified the way the daily verification does it.
            var setId = await BackUpAndVerifyAsync(dr);
            var customers = await platform.CountAsync("customers", Ct);
            var orders = await platform.CountAsync("orders", Ct);
            Assert.Equal(40, customers);
            Assert.Equal(80, orders);
            Step("backup verified");

            // The fault: the table the healthcheck queries is gone; Docker reports the container unhealthy.
            await platform.ExecuteAsync(SamplePlatform.Database, "DROP TABLE orders", Ct);
            await WaitForHealthAsync(docker, platform.PostgresContainer, "unhealthy", TimeSpan.FromSeconds(30));
            Step("container unhealthy");

            var input = PlatformInput(platform, "DatabaseDown: orders table missing (real-parts test)", "SELECT count(*) FROM orders");
            input["MonitorMinutes"] = 2;
            var run = await dr.RunAsync(DatabaseContainerFailure.Id, input);
            Step("waiting on the approval gate");

            // The restart did not help: the run asks to restore the newest verified backup, nothing is stopped yet.
            Assert.Equal(WorkflowSubStatus.Suspended, run.SubStatus);
            Assert.Contains("restart", await dr.CompletedAsync(run.Id));
            Assert.Equal(WaitForHealthy.Unhealthy, await dr.OutcomeAsync(run.Id, "waitRestart"));
            var gate = await dr.PendingGateAsync(run.Id);
            Assert.Equal("Restore the database from backup?", gate.Title);
            Assert.Equal(setId, gate.Facts!["backupSet"]!.ToString());
            Assert.True(gate.Facts["verified"]!.GetValue<bool>());
            Assert.Contains("unhealthy", gate.Facts["health"]!.ToString(), StringComparison.Ordinal);
            Assert.Null(await platform.CountAsync("orders", Ct));

            await dr.DecideAsync(run.Id, "approve", comment: "restore, the orders table is gone");
            var done = await RunToEndAsync(dr, run.Id, TimeSpan.FromSeconds(60));
            Step("run ended");

            Assert.True(done.SubStatus == WorkflowSubStatus.Finished, $"{done.SubStatus}: {string.Join("; ", done.Incidents.Select(i => i.Message))}");
            Assert.Equal("Recovered", done.Output["Outcome"]!.ToString());
            var completed = await dr.CompletedAsync(run.Id);
            AssertInOrder(completed, "checkConfiguration", "inspect", "restart", "waitRestart", "findBackup", "approveRestore", "stop", "start", "waitServer", "restore", "waitRestored", "waitPlatform", "checkBackend", "smoke", "monitorCheck", IncidentComms.CloseRecoveredId);
            Assert.Equal(2, completed.Count(id => id == "monitorCheck"));
            Assert.DoesNotContain("checkIntegrity", completed);
            Assert.Equal(WaitForHealthy.Unhealthy, await dr.OutcomeAsync(run.Id, "inspect"));
            Assert.Equal("Approved", await dr.OutcomeAsync(run.Id, "approveRestore"));
            Assert.Equal(RestoreDatabase.Restored, await dr.OutcomeAsync(run.Id, "restore"));
            Assert.Equal(WaitForHealthy.Healthy, await dr.OutcomeAsync(run.Id, "waitRestored"));
            var platformHealth = Assert.Single(await dr.Host.JournalAsync(run.Id), e => e.EventName == JournalEvents.Completed && e.ActivityId == "waitPlatform").Payload!["data"]!["health"]!;
            Assert.Equal(["backend", "gateway", "postgres"], platformHealth["services"]!.AsArray().Select(s => s!["service"]!.ToString()).Order());
            var restored = Assert.Single(await dr.Host.JournalAsync(run.Id), e => e.EventName == JournalEvents.Completed && e.ActivityId == "restore").Payload!["data"]!["restore"]!;
            output.WriteLine($"restore journal: {restored.ToJsonString()}");
            Assert.Equal(setId, restored["setId"]!.ToString());
            Assert.Equal("Recreate", restored["mode"]!.ToString());
            Assert.Empty(restored["integrityProblems"]!.AsArray());

            // The data is back and every service is healthy again.
            Assert.Equal(customers, await platform.CountAsync("customers", Ct));
            Assert.Equal(orders, await platform.CountAsync("orders", Ct));
            var after = await docker.WaitForHealthyAsync(ContainerSelector.Project(platform.Project), TimeSpan.FromSeconds(10), Ct);
            Assert.True(after.AllReady, after.Describe());
            Assert.Contains(dr.Comms.SlackPosts, p => p.Text.Contains("Restore approved", StringComparison.Ordinal));
            Assert.Contains("Recovered by DrWorkflows", Assert.Single(dr.PostMortems.Requests).Details.Summary, StringComparison.Ordinal);
        }
        finally
        {
            await SamplePlatform.DownAsync(compose, output);
            Step("down");
        }

        Assert.Empty(await docker.ListContainersAsync(ContainerSelector.Project(platform.Project), null, Ct));

        void Step(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.0} s  {what}");
    }

    [Fact]
    public async Task A_backend_left_unhealthy_makes_the_run_wait_for_it_and_then_report_it_by_name_instead_of_recovered()
    {
        await using var platform = SamplePlatform.Create();

        // The fault: the backend's database password is wrong, so its healthcheck (a query through its own connection) fails.
        platform.AddComposeOverride("""
            version: "2.4"
            services:
              backend:
                environment:
                  PGPASSWORD: not-the-password
            """);
        await using var dr = await platform.StartDrHostAsync();
        var compose = dr.Get<IComposeService>();
        var docker = dr.Get<IDockerService>();
        await RequireComposeAsync(compose);
        var clock = Stopwatch.StartNew();

        try
        {
            await compose.RunAsync(new ComposeRequest(ComposeVerb.Up), Ct);
            await platform.WaitForServerAsync(TimeSpan.FromSeconds(60), Ct);
            await platform.SeedShopAsync(customers: 10, Ct);
            await WaitForHealthAsync(docker, platform.PostgresContainer, "healthy", TimeSpan.FromSeconds(60));
            await WaitForHealthAsync(docker, platform.BackendContainer, "unhealthy", TimeSpan.FromSeconds(60));
            Step("database healthy, backend unhealthy");

            var input = PlatformInput(platform, "DatabaseDown (real-parts test: the backend cannot log in)", "SELECT 1");
            input["PlatformTimeoutSeconds"] = 20;
            input["MonitorMinutes"] = 1;
            var run = await dr.RunAsync(DatabaseContainerFailure.Id, input);
            var done = await RunToEndAsync(dr, run.Id, TimeSpan.FromSeconds(120));
            Step("run ended");

            // The database was fine at once; the run still waited the whole platform timeout for the backend, then said why.
            Assert.True(done.SubStatus == WorkflowSubStatus.Finished, $"{done.SubStatus}: {string.Join("; ", done.Incidents.Select(i => i.Message))}");
            Assert.Equal("Failed", done.Output["Outcome"]!.ToString());
            Assert.Equal(WaitForHealthy.Healthy, await dr.OutcomeAsync(run.Id, "inspect"));
            Assert.Equal(WaitForHealthy.Unhealthy, await dr.OutcomeAsync(run.Id, "waitPlatform"));
            var completed = await dr.CompletedAsync(run.Id);
            AssertInOrder(completed, "checkConfiguration", "inspect", "checkIntegrity", "waitPlatform", IncidentComms.RecordFailureId, IncidentComms.CloseFailedId);
            Assert.Equal(("waitPlatform", WaitForHealthy.Unhealthy, "waitPlatform:Unhealthy"), await dr.FailureSourceAsync(run.Id));
            Assert.DoesNotContain("checkBackend", completed);
            Assert.DoesNotContain("smoke", completed);
            Assert.DoesNotContain(IncidentComms.CloseRecoveredId, completed);
            var health = Assert.Single(await dr.Host.JournalAsync(run.Id), e => e.EventName == JournalEvents.Completed && e.ActivityId == "waitPlatform").Payload!["data"]!["health"]!;
            output.WriteLine($"platform health: {health.ToJsonString()}");
            Assert.True(health["elapsedSeconds"]!.GetValue<double>() >= 20, "the run did not wait for the backend");
            Assert.Equal(["backend", "gateway", "postgres"], health["services"]!.AsArray().Select(s => s!["service"]!.ToString()).Order());
            var reason = done.Output["FailureReason"]!.ToString();
            Assert.StartsWith("The database is back, but the platform is not healthy: ", reason, StringComparison.Ordinal);
            Assert.Contains($"backend ({platform.BackendContainer}): unhealthy (last check: ", reason, StringComparison.Ordinal);
            Assert.Contains("password authentication failed", reason, StringComparison.Ordinal);
            Assert.DoesNotContain("postgres (", reason, StringComparison.Ordinal);
            Assert.DoesNotContain("gateway (", reason, StringComparison.Ordinal);
            Assert.Contains("Automated recovery stopped", Assert.Single(dr.PostMortems.Requests).Details.Summary, StringComparison.Ordinal);
        }
        finally
        {
            await SamplePlatform.DownAsync(compose, output);
        }

        void Step(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.0} s  {what}");
    }

    /// <summary>Scenario 1's inputs for the sample platform: its containers, server main, the local store, the gateway's health page, a 1 s monitoring interval.</summary>
    internal static Dictionary<string, object?> PlatformInput(SamplePlatform platform, string reason, string backendQuery) => new()
    {
        ["Reason"] = reason,
        ["Container"] = platform.PostgresContainer,
        ["Server"] = "main",
        ["Database"] = SamplePlatform.Database,
        ["Store"] = "local",
        ["BackendContainer"] = platform.BackendContainer,
        ["BackendCheckCommand"] = new[] { "psql", "-tAq", "-v", "ON_ERROR_STOP=1", "-c", backendQuery },
        ["SmokeChecks"] = new[] { new { url = platform.GatewayHealth.ToString(), expectedStatus = new[] { 200 }, bodyContains = new[] { "ok" } } },
        ["MonitorIntervalSeconds"] = 1,
    };

    internal static async Task RequireComposeAsync(IComposeService compose)
    {
        try
        {
            await compose.DetectCliAsync(Ct);
        }
        catch (DockerOperationException e) when (e.Code == DockerOperationException.ComposeNotFound)
        {
            var reason = $"No Compose CLI on this machine ({e.Message}); tests/run.sh installs docker-compose.";
            if (TestServices.Strict)
                Assert.Fail($"{reason} {TestServices.StrictVariable} is set, so this is a failure, not a skip.");
            Assert.Skip(reason);
        }
    }

    /// <summary>Backs up the shop database into the local store and verifies that set (restore into a throwaway database).</summary>
    internal static async Task<string> BackUpAndVerifyAsync(DrTestHost dr) => (await BackUpAndVerifySetAsync(dr)).Id;

    /// <summary>As <see cref="BackUpAndVerifyAsync"/>; returns the new set (the store may hold earlier ones).</summary>
    internal static async Task<BackupSet> BackUpAndVerifySetAsync(DrTestHost dr)
    {
        var before = (await dr.Catalog.ListAsync("local", BackupKinds.Postgres, SamplePlatform.Database, Ct)).Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
        var builder = new WorkflowBuilder("test-backup-shop", "Back up and verify the shop (test)").WithDescription("Takes and verifies the backup that a scenario restores.");
        var flow = builder.Flowchart();
        flow.Chain(
            flow.Add(new BackupDatabase { Id = "backup", Server = new("main"), Database = new(SamplePlatform.Database), Store = new("local") }),
            flow.Add(new VerifyLatestBackup { Id = "verify", Server = new("main"), Source = new(SamplePlatform.Database), Store = new("local") }));
        var definition = await dr.Host.Definitions.SaveAsync(builder.Build(dr.Host.Registry), publish: true, "test", isReadonly: false, Ct);
        var run = await dr.RunAsync(definition.DefinitionId);
        Assert.True(run.SubStatus == WorkflowSubStatus.Finished, string.Join("; ", run.Incidents.Select(i => i.Message)));
        Assert.Equal(VerifyLatestBackup.Verified, await dr.OutcomeAsync(run.Id, "verify"));
        var set = Assert.Single(await dr.Catalog.ListAsync("local", BackupKinds.Postgres, SamplePlatform.Database, Ct), s => !before.Contains(s.Id));
        Assert.True(set.Manifest.IsVerified);
        return set;
    }

    /// <summary>Backs up the server's globals (roles, and the databases and roles it records) into the local store; returns the new set.</summary>
    internal static async Task<BackupSet> BackUpGlobalsAsync(DrTestHost dr)
    {
        var before = (await dr.Catalog.ListAsync("local", BackupKinds.Globals, "main", Ct)).Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
        var builder = new WorkflowBuilder("test-backup-globals", "Back up the globals (test)").WithDescription("Takes the roles that a whole-server restore replays first.");
        builder.Flowchart().Add(new BackupGlobals { Id = "globals", Server = new("main"), SourceName = new("main"), Store = new("local") });
        var definition = await dr.Host.Definitions.SaveAsync(builder.Build(dr.Host.Registry), publish: true, "test", isReadonly: false, Ct);
        var run = await dr.RunAsync(definition.DefinitionId);
        Assert.True(run.SubStatus == WorkflowSubStatus.Finished, string.Join("; ", run.Incidents.Select(i => i.Message)));
        return Assert.Single(await dr.Catalog.ListAsync("local", BackupKinds.Globals, "main", Ct), s => !before.Contains(s.Id));
    }

    internal static async Task WaitForHealthAsync(IDockerService docker, string container, string health, TimeSpan timeout)
    {
        var waited = Stopwatch.StartNew();
        ContainerStatus status;
        while ((status = await docker.InspectContainerAsync(container, Ct)).Health != health)
        {
            Assert.True(waited.Elapsed < timeout, $"{container} did not become {health} within {timeout}: {status}");
            await Task.Delay(250, Ct);
        }
    }

    /// <summary>With the real clock, timers (the monitoring delay) fire when due: sweep until the run ends.</summary>
    internal static Task<WorkflowState> RunToEndAsync(DrTestHost dr, string instanceId, TimeSpan timeout) =>
        SweepUntilAsync(dr, instanceId, timeout, _ => Task.FromResult(false));

    /// <summary>
    /// Sweeps the run with the real clock until <paramref name="reached"/> holds, it ends, it stops on an incident,
    /// or <paramref name="timeout"/> passes; returns its state then.
    /// </summary>
    internal static async Task<WorkflowState> SweepUntilAsync(DrTestHost dr, string instanceId, TimeSpan timeout, Func<WorkflowState, Task<bool>> reached)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            await dr.Host.DrainAsync(Ct);
            var state = await dr.StateAsync(instanceId);
            if (state.SubStatus is not (WorkflowSubStatus.Suspended or WorkflowSubStatus.Executing or WorkflowSubStatus.Pending)
                || state.Incidents.Count > 0 || waited.Elapsed > timeout || await reached(state))
                return state;
            await Task.Delay(250, Ct);
        }
    }

    internal static void AssertInOrder(IReadOnlyList<string> completed, params string[] expected)
    {
        var at = 0;
        foreach (var id in expected)
        {
            var next = completed.Skip(at).ToList().IndexOf(id);
            Assert.True(next >= 0, $"'{id}' did not complete after '{(at > 0 ? completed[at - 1] : "the start")}'; completed: {string.Join(", ", completed)}");
            at += next + 1;
        }
    }
}
