using DrWorkflows.Activities.Docker;
using DrWorkflows.Core.Execution;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using static DrWorkflows.Testing.Behaviour.ElsaJson;

namespace DrWorkflows.Activities.Tests.Docker;

/// <summary>The Docker activities run by the real runtime from Elsa JSON, against the real engine.</summary>
public sealed class DockerActivityTests : IAsyncLifetime
{
    private DockerScope docker = null!;
    private WorkflowTestHost host = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        docker = DockerScope.Create();

        // The services poll with the real clock; the runtime's fake clock would never let a health wait advance.
        host = WorkflowTestHost.Create(configure: services =>
        {
            services.AddSingleton<IDockerService>(docker.Service);
            services.AddDockerActivities(o => o.Endpoint = docker.Options.Endpoint);
        });
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await host.DisposeAsync();
        await docker.DisposeAsync();
    }

    [Fact]
    public async Task WaitForHealthy_takes_the_Unhealthy_port_and_names_the_sick_container()
    {
        var healthy = await docker.RunAsync("act-ok", DockerScope.Sh("sleep 3600 & wait"), DockerScope.Health("true"));
        var sick = await docker.RunAsync("act-sick", DockerScope.Sh("sleep 3600 & wait"), DockerScope.Health("echo no connection; exit 1"));

        var state = await host.RunAsync(Definition("wait", Flowchart("flow",
            [
                Start(),
                Activity("DrWorkflows.WaitForHealthy", "wait", $"""
                    "containers": {Obj($"[\"{healthy}\", \"{sick}\"]")},
                    "timeoutSeconds": {Lit("3", "Int32")},
                    "notReady": {Bind("v-notready")}
                    """),
                WriteLine("healthy", "healthy"),
                WriteLineJs("unhealthy", "'unhealthy: ' + getLastResult()"),
            ],
            [Connect("start", "wait"), Connect("wait", "healthy", "Healthy"), Connect("wait", "unhealthy", "Unhealthy")]),
            variables: [Variable("v-notready", "NotReady", "Object", null)]), cancellationToken: Ct);

        Assert.Equal(WorkflowSubStatus.Finished, state.SubStatus);
        var journal = await host.JournalAsync(state.Id);
        Assert.Contains(journal, e => e.ActivityId == "wait" && e.EventName == JournalEvents.Completed && e.Outcomes!.SequenceEqual(["Unhealthy"]));
        Assert.DoesNotContain(journal, e => e.ActivityId == "healthy");
        var notReady = state.Variables["v-notready"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        Assert.Equal([$"{sick}: unhealthy (last check: no connection)"], notReady);
    }

    [Fact]
    public async Task An_unknown_container_faults_the_step_with_the_clear_message()
    {
        var missing = docker.Name("nope");

        var state = await host.RunAsync(Definition("restart", Flowchart("flow",
            [Start(), Activity("DrWorkflows.RestartContainer", "restart", $"\"container\": {Lit(missing)}")],
            [Connect("start", "restart")])), cancellationToken: Ct);

        var incident = Assert.Single(state.Incidents);
        Assert.Equal("restart", incident.ActivityId);
        Assert.Contains($"Container '{missing}' not found", incident.Message);
    }

    [Fact]
    public async Task RemoveVolume_reports_Removed_then_NotFound_and_the_labels_of_the_removed_volume()
    {
        var volume = docker.Name("act-vol");
        await docker.Service.CreateVolumeAsync(volume, new Dictionary<string, string> { ["com.docker.compose.project"] = "shop", ["com.docker.compose.volume"] = "postgres_data" }, Ct);
        var definition = Definition("remove", Flowchart("flow",
            [Start(), Activity("DrWorkflows.RemoveVolume", "remove", $"\"volume\": {Lit(volume)}")],
            [Connect("start", "remove")]));

        var first = await host.RunAsync(definition, cancellationToken: Ct);
        var second = await host.StartAsync("remove", cancellationToken: Ct);

        var removed = Assert.Single(await host.JournalAsync(first.Id), e => e.ActivityId == "remove" && e.EventName == JournalEvents.Completed && e.Outcomes is ["Removed"]);
        Assert.Contains(await host.JournalAsync(second.Id), e => e.ActivityId == "remove" && e.Outcomes is ["NotFound"]);
        var labels = removed.Payload!["data"]!["volume"]!["labels"]!;
        Assert.Equal("shop", labels["com.docker.compose.project"]!.ToString());
        Assert.Equal("postgres_data", labels["com.docker.compose.volume"]!.ToString());
    }

    [Fact]
    public void Every_infrastructure_activity_is_registered_with_its_declared_rerun_safety()
    {
        using var services = new ServiceCollection().AddLogging().AddDockerActivities().AddRedisActivities().AddHostActivities().AddHttpSmokeTests().BuildServiceProvider();
        var registry = new DrWorkflows.Core.Model.ActivityRegistry();
        foreach (var registration in services.GetServices<ActivityRegistration>())
            registration.Apply(registry);

        var safe = registry.All.Where(d => d.SafeToRerun).Select(d => d.TypeName).Order().ToList();
        var unsafeToRerun = registry.All.Where(d => !d.SafeToRerun).Select(d => d.TypeName).Order().ToList();
        Assert.Equal(
            ["DrWorkflows.ArchiveVolume", "DrWorkflows.CaptureLogs", "DrWorkflows.CheckDiskSpace", "DrWorkflows.ComposeUp", "DrWorkflows.CreateVolume",
             "DrWorkflows.IsolateNetwork", "DrWorkflows.RestoreNetwork", "DrWorkflows.SmokeTest", "DrWorkflows.SnapshotRedis", "DrWorkflows.StartContainers",
             "DrWorkflows.WaitForHealthy"],
            safe);
        Assert.Equal(
            ["DrWorkflows.ComposeCommand", "DrWorkflows.CopyVolume", "DrWorkflows.ExecInContainer", "DrWorkflows.RecreateContainer", "DrWorkflows.RemoveVolume",
             "DrWorkflows.RestartContainer", "DrWorkflows.RestartDockerService", "DrWorkflows.RestoreRedis", "DrWorkflows.SnapshotContainerForForensics",
             "DrWorkflows.StopContainers"],
            unsafeToRerun);
        Assert.Equal(["Healthy", "Unhealthy"], registry.Find("DrWorkflows.WaitForHealthy")!.Outcomes);
    }
}
