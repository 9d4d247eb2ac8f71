using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Persistence;
using DrWorkflows.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using static DrWorkflows.Testing.Behaviour.ElsaJson;

namespace DrWorkflows.Durability.Tests;

/// <summary>
/// A node restarted under the same node id continues the runs its previous process was executing at once; a
/// node with another id waits for their lease to expire.
/// </summary>
public sealed class RestartRecoveryTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("node-x", true)]
    [InlineData("node-y", false)]
    public async Task Restarted_node_resumes_its_own_interrupted_runs_at_once_but_not_another_live_nodes(string restartedAs, bool resumesAtOnce)
    {
        using var dir = new TempDirectory("restart");
        string instanceId;
        await using (var crashed = await StartAsync(dir.FullPath, "node-x", background: false))
        {
            await crashed.GetRequiredService<WorkflowDefinitionService>().SaveAsync(
                WorkflowDefinitionDocument.Parse(Definition("restart", Sequence("seq", WriteLine("a", "one"), WriteLine("b", "two")))),
                publish: true, "test", isReadonly: false, Ct);
            var state = await crashed.GetRequiredService<WorkflowRuntime>().StartAsync(new StartRunRequest("restart") { Dispatch = true }, Ct);
            instanceId = state.Id;
            // node-x was executing the run when it died: its lease (30 s) is still live.
            var now = DateTimeOffset.UtcNow;
            Assert.True(await crashed.GetRequiredService<IWorkflowInstanceStore>().TryAcquireLeaseAsync(instanceId, "node-x", now, now.AddSeconds(30), Ct));
        }

        await using var restarted = await StartAsync(dir.FullPath, restartedAs, background: true);
        var store = restarted.GetRequiredService<IWorkflowInstanceStore>();
        // At once = well before the 30 s lease runs out (start-up plus one sweep; generous for a loaded machine).
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var waitUpTo = resumesAtOnce ? TimeSpan.FromSeconds(15) : TimeSpan.FromSeconds(3);
        WorkflowState? run = null;
        while (clock.Elapsed < waitUpTo && run?.Status != WorkflowStatus.Finished)
        {
            await Task.Delay(100, Ct);
            run = await store.GetAsync(instanceId, Ct);
        }

        if (resumesAtOnce)
            Assert.Equal((WorkflowStatus.Finished, WorkflowSubStatus.Finished), (run!.Status, run.SubStatus));
        else
            Assert.Equal(WorkflowStatus.Running, run!.Status);
    }

    private static async Task<ServiceProvider> StartAsync(string dataDirectory, string nodeId, bool background)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["DrWorkflows:Runtime:NodeId"] = nodeId,
            ["DrWorkflows:Runtime:PollInterval"] = "00:00:00.100",
        }).Build());
        services.AddLogging();
        services.AddDrWorkflowsRuntime();
        services.AddDrWorkflowsSqlite(o => o.DataDirectory = dataDirectory);
        var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<IStoreInitializer>().InitializeAsync(Ct);
        if (background)
        {
            foreach (var hosted in provider.GetServices<IHostedService>())
                await hosted.StartAsync(Ct);
        }

        return provider;
    }
}
