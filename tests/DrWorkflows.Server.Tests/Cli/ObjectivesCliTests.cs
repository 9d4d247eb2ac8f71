using System.Text.Json.Nodes;
using DrWorkflows.Server.Tests.Operations;

namespace DrWorkflows.Server.Tests.Cli;

/// <summary><c>drw objectives</c> against the real server: the exit code says whether every promise can hold.</summary>
public sealed class ObjectivesCliTests
{
    [Fact]
    public async Task On_the_defaults_it_exits_1_and_says_which_promises_cannot_hold_and_why()
    {
        using var server = new ServerFactory(workflowFiles: ObjectivesApiTests.RepositoryWorkflows());

        var (exit, output, error) = await Drw.RunAsync(server, "objectives", "--api-key", ServerFactory.ViewerKey);

        Assert.True(exit == 1, $"exit {exit}: {error}");
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd()).ToList();
        Assert.Matches(@"^COMPONENT\s+OBJECTIVE\s+TARGET\s+CAN HOLD\s+HELD NOW$", lines[0]);
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^postgres-main\s+RPO\s+00:15:00\s+NO\s+NO$"));
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^monitoring\s+RPO\s+1\.00:00:00\s+NO\s+NO$"));
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^backend\s+RPO\s+00:00:00\s+yes\s+unknown$"));
        Assert.Contains(lines, l => l.StartsWith("redis RPO: Backups every 1 d 0 h (workflow backup-redis, cron 0 4 * * *)", StringComparison.Ordinal));
        Assert.Equal("4 of 20 promises cannot hold.", lines[^1]);

        (exit, output, _) = await Drw.RunAsync(server, "objectives", "--json", "--api-key", ServerFactory.ViewerKey);
        Assert.Equal(1, exit);
        Assert.Equal(4, JsonNode.Parse(output)!["items"]!.AsArray().Count(i => !i!["canHold"]!.GetValue<bool>()));
    }

    [Fact]
    public async Task When_every_promise_can_hold_it_exits_0()
    {
        using var server = new ServerFactory(workflowFiles: ObjectivesApiTests.RepositoryWorkflows(), settings: ObjectivesApiTests.HoldingObjectives);

        var (exit, output, error) = await Drw.RunAsync(server, "objectives", "--api-key", ServerFactory.ViewerKey);

        Assert.True(exit == 0, $"exit {exit}: {error}\n{output}");
        Assert.EndsWith("All 20 promises can hold.\n", output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_key_is_refused_with_one_line_and_its_own_exit_code()
    {
        using var server = new ServerFactory(workflowFiles: ObjectivesApiTests.RepositoryWorkflows());

        var (exit, _, error) = await Drw.RunAsync(server, "objectives", "--api-key", "wrong-key");

        Assert.Equal(4, exit);
        Assert.StartsWith("drw: 401", error, StringComparison.Ordinal);
    }
}
