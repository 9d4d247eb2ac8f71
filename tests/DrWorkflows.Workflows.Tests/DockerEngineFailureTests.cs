using DrWorkflows.Core.Execution;

namespace DrWorkflows.Workflows.Tests;

/// <summary>Scenario 4 (a JSON workflow) on the real runtime.</summary>
public sealed class DockerEngineFailureTests
{
    private const string Id = "dr-docker-engine-failure";

    private static readonly object Input = new { Reason = "docker ps hangs, docker.service failed", Severity = "sev-2" };

    [Fact]
    public async Task Restart_disk_check_compose_up_health_and_smoke_then_the_incident_is_resolved()
    {
        await using var dr = await DrTestHost.StartAsync();

        var run = await dr.RunAsync(Id, Input);

        Assert.Equal(WorkflowSubStatus.Finished, run.SubStatus);
        Assert.Equal("Recovered", run.Output["Outcome"]!.ToString());
        dr.Calls.AssertOrder(
            "slack.post new :rotating_light: *SEV-2 Docker engine failure*",
            "statuspage.create investigating",
            "host.restart-service docker",
            "host.disk /var/lib/docker",
            "compose.up",
            "docker.wait-healthy project:ecommerce:api_gateway,backend,postgres 300s -> healthy",
            "statuspage.update sp-incident-1 monitoring",
            "smoke https://api.example.com/health -> passed",
            "statuspage.update sp-incident-1 resolved",
            "github.post-mortem SEV-2");
        // SEV-2 pages the incident commander and the operations lead only.
        Assert.Equal(["ines@example.com", "omar@example.com"], dr.Comms.Emails.First().To);
        // The Studio-made opening is one step too; the given "sev-2" is normalised into the Severity variable.
        Assert.Equal(["checkConfiguration", "openIncident"], (await dr.CompletedAsync(run.Id)).Take(2));
        Assert.Equal("Done", await dr.OutcomeAsync(run.Id, "openIncident"));
        Assert.Equal("SEV-2", run.Variables["Severity"]?.GetValue<string>());
        Assert.Equal("sp-incident-1", run.Variables["StatusPageIncidentId"]?.GetValue<string>());
    }

    [Fact]
    public async Task A_full_disk_stops_before_compose_up_and_says_what_to_free()
    {
        await using var dr = await DrTestHost.StartAsync();
        dr.Machine.AvailableBytes = 4L << 30; // 96 % used

        var run = await dr.RunAsync(Id, Input);

        Assert.Equal("Failed", run.Output["Outcome"]!.ToString());
        Assert.Contains("/var/lib/docker is 96% full", run.Output["FailureReason"]!.ToString(), StringComparison.Ordinal);
        Assert.Equal(("checkDisk", "Low", "checkDisk:Low"), await dr.FailureSourceAsync(run.Id));
        Assert.Empty(dr.Calls.Of("compose."));
        dr.Calls.AssertOrder("statuspage.update sp-incident-1 identified", "github.post-mortem SEV-2");
    }

    [Fact]
    public async Task An_engine_that_does_not_restart_raises_an_incident_and_abandoning_it_still_closes_the_incident()
    {
        await using var dr = await DrTestHost.StartAsync();
        dr.Machine.FailRestart = true;

        var run = await dr.RunAsync(Id, Input);
        var incident = Assert.Single(run.Incidents);
        Assert.Equal("restartEngine", incident.ActivityId);
        Assert.Contains("Job for docker.service failed", incident.Message, StringComparison.Ordinal);

        await dr.Host.Runtime.ResolveIncidentAsync(run.Id, incident.Id, IncidentResolution.Skip, "operator", "Failed", DrTestHost.Ct);
        await dr.Host.DrainAsync(DrTestHost.Ct);

        var done = await dr.StateAsync(run.Id);
        Assert.Equal("Failed", done.Output["Outcome"]!.ToString());
        Assert.StartsWith("Restarting the Docker engine failed, or it did not answer afterwards", done.Output["FailureReason"]!.ToString(), StringComparison.Ordinal);
        Assert.Equal(("restartEngine", "Failed", "restartEngine:Failed"), await dr.FailureSourceAsync(run.Id));
        Assert.Empty(dr.Calls.Of("compose."));
        Assert.Single(dr.PostMortems.Requests);
    }
}
