namespace DrWorkflows.Durability.Tests;

/// <summary>The crash tests' checks catch what they are meant to catch (fed with records of a broken run).</summary>
public sealed class RecordsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 3, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Two_nodes_executing_one_run_at_once_is_an_overlap()
    {
        using var dir = new DrWorkflows.Testing.TempDirectory("records");
        Write(dir, 100, ("S", "e1", "run1", "n1", 0), ("E", "e1", "run1", "n1", 50));
        // Node 2 starts the run's next step while node 1 (pid 100) is still inside e1's re-run.
        Write(dir, 100, ("S", "e1", "run1", "n1", 60));
        Write(dir, 200, ("S", "e2", "run1", "n2", 80), ("E", "e2", "run1", "n2", 120));
        var killed = new Dictionary<int, DateTimeOffset> { [100] = T0.AddMilliseconds(100) };

        var overlaps = Records.Overlaps(Records.Read(dir.FullPath).Intervals(killed, T0.AddSeconds(10)));

        var (first, second) = Assert.Single(overlaps);
        Assert.Equal(("e1", true), (first.ExecutionId, first.Interrupted));
        Assert.Equal(T0.AddMilliseconds(100), first.End);
        Assert.Equal("e2", second.ExecutionId);
    }

    [Fact]
    public void A_takeover_after_the_kill_and_other_runs_at_the_same_time_are_not_overlaps()
    {
        using var dir = new DrWorkflows.Testing.TempDirectory("records");
        Write(dir, 100, ("S", "e1", "run1", "n1", 0), ("S", "x1", "run2", "n1", 10), ("E", "x1", "run2", "n1", 30));
        Write(dir, 200, ("S", "e1", "run1", "n2", 2500), ("E", "e1", "run1", "n2", 2550), ("S", "e2", "run1", "n2", 2560), ("E", "e2", "run1", "n2", 2600));
        var killed = new Dictionary<int, DateTimeOffset> { [100] = T0.AddMilliseconds(40) };

        Assert.Empty(Records.Overlaps(Records.Read(dir.FullPath).Intervals(killed, T0.AddSeconds(10))));
    }

    [Fact]
    public void Side_effects_are_counted_per_execution_and_a_torn_last_line_is_ignored()
    {
        using var dir = new DrWorkflows.Testing.TempDirectory("records");
        Write(dir, 100, ("X", "u1", "run1", "n1", 10));
        Write(dir, 200, ("X", "u1", "run1", "n2", 20));
        File.AppendAllText(Path.Combine(dir.FullPath, "records-200.log"), "X\tu2\trun1\tuns");

        var records = Records.Read(dir.FullPath);

        Assert.Equal(2, records.EffectsByExecution()["u1"].Count);
        Assert.False(records.HasEffect("u2"));
    }

    private static void Write(DrWorkflows.Testing.TempDirectory dir, int pid, params (string Kind, string Execution, string Run, string Node, int Ms)[] lines) =>
        File.AppendAllLines(Path.Combine(dir.FullPath, $"records-{pid}.log"),
            lines.Select(l => string.Join('\t', l.Kind, l.Execution, l.Run, "step", l.Node, pid, T0.AddMilliseconds(l.Ms).UtcTicks, 1)));
}
