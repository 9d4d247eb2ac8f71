using DrWorkflows.Testing;
using System.Diagnostics;

namespace DrWorkflows.Durability.Tests;

/// <summary>
/// Kills the real server (SIGKILL) at random moments while workflows with timers, parallel branches, a child
/// workflow and unsafe steps run on the SQLite store, restarts it each time, and checks afterwards that every
/// run finished, journals have no gaps, no unsafe step had its side effect twice (each exactly once), and no run
/// was ever executed twice at the same time.
/// </summary>
[TypicalDuration(90)]
public sealed class SingleNodeCrashTests
{
    [Fact]
    public async Task Sqlite_server_killed_at_random_points_loses_nothing_and_never_repeats_an_unsafe_step()
    {
        await using var harness = new CrashHarness("sqlite");
        DurabilityWorkflows.WriteTo(harness.WorkflowsDirectory);
        var node = harness.AddNode("sqlite", harness.NodeEnvironment(harness.Directory.Combine("data"), new Dictionary<string, string>
        {
            // A stable node id (as deployments set it): the restarted node takes its own runs back at once.
            ["DrWorkflows__Runtime__PollInterval"] = "00:00:00.200",
            ["DrWorkflows__Runtime__LeaseDuration"] = "00:00:05",
        }));
        await node.StartAsync("sqlite-node", CrashHarness.Ct);
        harness.StartOperator();

        var started = new List<string>();
        var clock = Stopwatch.StartNew();
        for (var kill = 1; kill <= harness.Kills; kill++)
        {
            // Keep a few runs in flight, so a kill lands in timers, branches, children and unsafe steps alike.
            var active = await ActiveMainRunsAsync(node.Client!, started);
            for (var i = active; i < 3; i++)
                started.Add(await DrwApi.DispatchAsync(node.Client!, DurabilityWorkflows.Main, CrashHarness.Ct));
            var wait = harness.Random.Next(50, 1200);
            await Task.Delay(wait, CrashHarness.Ct);
            node.Kill();
            harness.Say($"kill {kill}/{harness.Kills} after {wait} ms ({started.Count} runs started)");
            await node.StartAsync("sqlite-node", CrashHarness.Ct);
        }

        var runs = await harness.WaitAllFinishedAsync(TimeSpan.FromSeconds(120));
        await harness.StopOperatorAsync();
        harness.Say($"all {runs.Count} runs finished {clock.Elapsed.TotalSeconds:F0} s after the first kill round began");

        var ids = runs.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        Assert.All(started, id => Assert.Contains(id, ids));
        var mains = runs.Where(r => r.DefinitionId == DurabilityWorkflows.Main).ToList();
        var children = runs.Where(r => r.DefinitionId == DurabilityWorkflows.Child).ToList();
        Assert.Equal(started.Count, mains.Count);
        Assert.Equal(mains.Count, children.Count);
        Assert.All(children, c => Assert.Contains(mains, m => c.Id.StartsWith(m.Id + "-", StringComparison.Ordinal)));
        await harness.VerifyAsync(node.Client!, runs, DateTimeOffset.UtcNow);
    }

    private static async Task<int> ActiveMainRunsAsync(HttpClient client, IReadOnlyCollection<string> started)
    {
        var runs = await DrwApi.ListRunsAsync(client, CrashHarness.Ct);
        return runs.Count(r => r.DefinitionId == DurabilityWorkflows.Main && r.Status != "Finished" && started.Contains(r.Id));
    }
}
