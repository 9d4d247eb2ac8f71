using DrWorkflows.Testing;
using System.Text.Json.Nodes;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Preflight;
using DrWorkflows.Core.Persistence;
using static DrWorkflows.Workflows.Tests.DatabaseContainerFailureRealTests;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// The preflight of scenario 5 (<c>dr-volume-corruption</c>, JSON) on the sample Compose platform, on real Docker,
/// Compose, PostgreSQL and backups: blocked while no verified backup exists, ready once one does (containers, volume,
/// Compose project, database server, verified backup, approvers all checked), and each broken input named.
/// </summary>
[TypicalDuration(47)]
public sealed class PreflightRealTests(ITestOutputHelper output)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_volume_corruption_preflight_on_the_sample_platform_is_ready_only_with_a_verified_backup_and_names_each_missing_part()
    {
        await using var platform = SamplePlatform.Create();
        await using var dr = await platform.StartDrHostAsync();
        var compose = dr.Get<IComposeService>();
        await RequireComposeAsync(compose);
        try
        {
            await platform.UpAndSeedAsync(compose, dr.Get<IDockerService>(), customers: 10, Ct);
            var preflight = dr.Get<IWorkflowPreflight>();
            var definition = await dr.Host.Definitions.FindAsync("dr-volume-corruption", VersionOptions.PublishedVersion, Ct);
            var graph = dr.Host.Definitions.GetGraph(definition!);
            var input = Input(platform.PostgresContainer, platform.PostgresVolume, "local");

            // No backup yet: the restore would find nothing.
            var before = await preflight.CheckAsync(graph, input, Ct);
            Show(before);
            Assert.False(before.Ready);
            Assert.Contains(before.Blockers, b => b.Check == "backup" && b.Detail.StartsWith("Store local holds no postgres backup of a database of server main", StringComparison.Ordinal));

            await BackUpAndVerifyAsync(dr);
            var ready = await preflight.CheckAsync(graph, input, Ct);
            Show(ready);
            Assert.True(ready.Ready, string.Join(" | ", ready.Blockers.Select(b => b.Detail)));
            Assert.Contains(ready.Items, i => i.Check == "setting" && i.Detail.StartsWith($"Compose project {platform.Project}: services ", StringComparison.Ordinal));
            Assert.Contains(ready.Items, i => i.Check == "docker" && i.Detail.Contains("answers (version", StringComparison.Ordinal));
            Assert.Contains(ready.Items, i => i.Check == "container" && i.Detail.StartsWith($"Container {platform.PostgresContainer} exists (running, healthy)", StringComparison.Ordinal));
            Assert.Contains(ready.Items, i => i.Check == "volume" && i.Detail.StartsWith($"Volume {platform.PostgresVolume} exists", StringComparison.Ordinal));
            Assert.Contains(ready.Items, i => i.Check == "database server" && i.Detail.Contains("answers (PostgreSQL 15", StringComparison.Ordinal));
            Assert.Contains(ready.Items, i => i.Check == "backup" && i.Detail.StartsWith("Verified postgres backup of a database of server main in store local: set ", StringComparison.Ordinal));
            Assert.Contains(ready.Items, i => i.Check == "approver" && i.Detail.StartsWith("contact:IncidentCommander: Ines reachable", StringComparison.Ordinal));

            // The same platform, named wrong: each part that is not there is a blocker of its own.
            var broken = await preflight.CheckAsync(graph, Input("drw-no-such-container", "drw-no-such-volume", "nowhere"), Ct);
            Show(broken);
            Assert.Contains(broken.Blockers, b => b.Check == "container" && b.Detail.StartsWith("Container drw-no-such-container:", StringComparison.Ordinal));
            Assert.Contains(broken.Blockers, b => b.Detail == "Volume drw-no-such-volume does not exist on Docker engine " + platform.DockerEndpoint + ".");
            Assert.Contains(broken.Blockers, b => b.Check == "setting" && b.Detail.StartsWith("Backup store 'nowhere' is not configured", StringComparison.Ordinal));
            Assert.Equal(3, broken.Blockers.Count);
        }
        finally
        {
            await SamplePlatform.DownAsync(compose, output);
        }
    }

    private static Dictionary<string, JsonNode?> Input(string container, string volume, string store) => new()
    {
        ["Container"] = container,
        ["Volume"] = volume,
        ["Server"] = "main",
        ["Store"] = store,
    };

    private void Show(WorkflowPreflightReport report)
    {
        foreach (var item in report.Items)
            output.WriteLine($"{item.Status,-8} {item.Check,-15} {item.Detail}");
        output.WriteLine("--");
    }
}
