using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Activities.Preflight;
using DrWorkflows.Activities.Storage;
using DrWorkflows.Core.Execution;
using DrWorkflows.Workflows.Tests.Fakes;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// A missing or unsafe configuration stops each DR scenario at its first step, on an incident that names the setting,
/// before anything is changed (nothing is isolated, restarted, stopped, started or announced).
/// </summary>
public sealed class PreflightTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 20, 14, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Host_failover_without_a_DR_database_server_stops_at_the_first_step_naming_Postgres_Servers_dr()
    {
        await using var dr = await DrTestHost.StartAsync(Now, s => s.Configure<PostgresBackupOptions>(o => o.Servers.Remove("dr")));

        var run = await dr.RunAsync(HostFailover.Id, new { Reason = "primary down", Store = "local", ZoneId = "Z1", DrAddress = "198.51.100.7" });

        var message = AssertStoppedFirst(run, dr);
        Assert.Contains("Postgres:Servers:dr is not set", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Host_failover_from_an_unconfigured_S3_store_stops_at_the_first_step_naming_the_bucket_setting()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        ((MemoryBackupStores)dr.Get<IBackupStoreProvider>()).Remove(BackupStoreOptions.S3StoreName);

        var run = await dr.RunAsync(HostFailover.Id, new { Reason = "primary down", ZoneId = "Z1", DrAddress = "198.51.100.7" }); // Store defaults to s3

        var message = AssertStoppedFirst(run, dr);
        Assert.Contains("Backups:Stores:S3:BucketName is empty", message, StringComparison.Ordinal);
        // 's3' is the primary S3 store; the offsite copy is the second store (Backups:Stores:Offsite).
        Assert.Contains("the primary S3 store", message, StringComparison.Ordinal);
        Assert.DoesNotContain("(the offsite copy the scenario restores from)", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ransomware_recovery_where_isolation_is_impossible_stops_before_isolating_naming_the_host_setting()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        dr.Machine.IsolationImpossible = "`iptables -w -S` failed on fake-host (exit 4): Permission denied. Set Host:IptablesCommand or run as root.";

        var run = await dr.RunAsync(RansomwareRecovery.Id, new { Reason = "files encrypted", CompromisedAt = Now.AddHours(-1) });

        var message = AssertStoppedFirst(run, dr);
        Assert.Contains("Network isolation is impossible on fake-host", message, StringComparison.Ordinal);
        Assert.Contains("Host:IptablesCommand", message, StringComparison.Ordinal);
        Assert.Empty(dr.Calls.Of("host.isolate"));
    }

    [Fact]
    public async Task Database_container_failure_without_a_Compose_project_stops_at_the_first_step_naming_Docker_ComposeProject()
    {
        await using var dr = await DrTestHost.StartAsync(Now, s => s.Configure<DockerOptions>(o => o.ComposeProject = null));

        var run = await dr.RunAsync(DatabaseContainerFailure.Id, new { Reason = "DatabaseDown" });

        var message = AssertStoppedFirst(run, dr);
        Assert.Contains("Docker:ComposeProject is not set", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Database_container_failure_whose_Compose_files_cannot_be_read_stops_at_the_first_step_naming_the_Compose_settings()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        dr.Get<FakeCompose>().ConfigError = "`docker compose config --services` failed with exit code 14: no configuration file provided";

        var run = await dr.RunAsync(DatabaseContainerFailure.Id, new { Reason = "DatabaseDown" });

        var message = AssertStoppedFirst(run, dr);
        Assert.Contains("Docker:ComposeFiles", message, StringComparison.Ordinal);
        Assert.Contains("no configuration file provided", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Docker_engine_failure_without_a_way_to_restart_the_engine_stops_at_the_first_step_naming_Host_DockerRestartCommand()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        dr.Machine.RestartImpossible = "Host:DockerRestartCommand is not set and systemd does not run on fake-host, so the Docker engine cannot be restarted.";

        var run = await dr.RunAsync("dr-docker-engine-failure", new { Reason = "docker.service failed" });

        var message = AssertStoppedFirst(run, dr);
        Assert.Contains("Host:DockerRestartCommand is not set", message, StringComparison.Ordinal);
        Assert.Empty(dr.Calls.Of("host.restart-service"));
    }

    [Fact]
    public async Task Volume_corruption_with_an_unknown_database_server_stops_at_the_first_step_naming_it_and_an_abandoned_check_still_reports()
    {
        await using var dr = await DrTestHost.StartAsync(Now);

        var run = await dr.RunAsync("dr-volume-corruption", new { Reason = "PANIC: could not read pg_control", Server = "primary-eu" });

        var message = AssertStoppedFirst(run, dr);
        Assert.Contains("Postgres:Servers:primary-eu is not set", message, StringComparison.Ordinal);

        // Giving up on the incident takes the failure end: on-call is told and the post-mortem opened, still nothing touched.
        var incident = Assert.Single(run.Incidents);
        await dr.Host.Runtime.ResolveIncidentAsync(run.Id, incident.Id, IncidentResolution.Skip, "operator", "Failed", DrTestHost.Ct);
        await dr.Host.DrainAsync(DrTestHost.Ct);
        var done = await dr.StateAsync(run.Id);
        Assert.Equal("Failed", done.Output["Outcome"]!.ToString());
        Assert.StartsWith("The configuration check failed", done.Output["FailureReason"]!.ToString(), StringComparison.Ordinal);
        Assert.Empty(dr.Calls.Of("docker."));
        Assert.Empty(dr.Calls.Of("compose."));
        Assert.Single(dr.PostMortems.Requests);
    }

    [Fact]
    public async Task A_complete_configuration_passes_and_says_what_it_checked()
    {
        await using var dr = await DrTestHost.StartAsync(Now);

        var report = await dr.Get<IRecoveryPreflight>().CheckAsync(new PreflightRequest("test")
        {
            PostgresServers = ["dr"],
            BackupStores = ["s3", string.Empty],
            NetworkIsolation = true,
            DockerEngineRestart = true,
        }, DrTestHost.Ct);

        Assert.True(report.Safe, string.Join("; ", report.Problems));
        Assert.Equal(
            ["Compose project ecommerce: services api_gateway, backend, postgres", "Postgres:Servers:dr", "backup store s3", "backup store local",
             "network isolation on fake-host: DOCKER-USER (fake), checked by the isolation probe", "Docker engine restart on fake-host"],
            report.Checked);
    }

    /// <summary>The run is on an incident at its first step, which changed nothing and announced nothing; returns the incident's message.</summary>
    [Theory]
    [InlineData(DatabaseContainerFailure.Id)]
    [InlineData(HostFailover.Id)]
    [InlineData(RansomwareRecovery.Id)]
    [InlineData("dr-docker-engine-failure")]
    [InlineData("dr-volume-corruption")]
    public async Task Every_incident_scenario_needs_Slack_and_GitHub_for_its_closing_step(string definitionId)
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        var definitions = dr.Get<Core.Runtime.WorkflowDefinitionService>();
        var published = await definitions.FindAsync(definitionId, Core.Persistence.VersionOptions.PublishedVersion, DrTestHost.Ct);
        var graph = await definitions.GetGraphAsync(published!.Id, DrTestHost.Ct);

        var needs = WorkflowNeedsReader.Read(graph);

        // The post-mortem is opened by the end (CloseIncident), no longer by a step of the GitHub area.
        Assert.Contains(Integrations.GitHub, needs.BestEffort);
        Assert.Contains(Integrations.Slack, needs.BestEffort);
    }

    private static string AssertStoppedFirst(WorkflowState run, DrTestHost dr)
    {
        Assert.Equal(WorkflowSubStatus.Faulted, run.SubStatus);
        var incident = Assert.Single(run.Incidents);
        Assert.Equal("checkConfiguration", incident.ActivityId);
        Assert.Contains("cannot start safely", incident.Message, StringComparison.Ordinal);
        Assert.Contains("Nothing was changed", incident.Message, StringComparison.Ordinal);
        Assert.Empty(dr.Calls.Calls);
        Assert.Empty(dr.Comms.SlackPosts);
        return incident.Message;
    }
}
