using System.Diagnostics;
using DrWorkflows.Testing;
using Npgsql;

namespace DrWorkflows.Durability.Tests;

/// <summary>
/// Two real server processes on one PostgreSQL database, one of them killed (SIGKILL) at random and restarted
/// under a new node id: the survivor takes the dead node's runs over once their lease (2 s) expires, every run
/// finishes, no unsafe step has its side effect twice, no run is executed by two nodes at once, and each timer
/// trigger slot starts exactly one run across both nodes and all restarts.
/// </summary>
[TypicalDuration(130)]
public sealed class MultiNodeCrashTests
{
    private const string TickInterval = "00:00:02";

    [Fact]
    public async Task Two_postgres_nodes_one_killed_at_random_finish_every_run_once_and_fire_each_slot_once()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(CrashHarness.Ct);
        await using var harness = new CrashHarness("postgres");
        DurabilityWorkflows.WriteTo(harness.WorkflowsDirectory, TickInterval);
        var store = new Dictionary<string, string>
        {
            ["DRW_STORE"] = "postgres",
            ["DRW_POSTGRES"] = database.ConnectionString,
            ["DrWorkflows__Runtime__LeaseDuration"] = "00:00:02",
            ["DrWorkflows__Runtime__PollInterval"] = "00:00:00.200",
        };
        var a = harness.AddNode("a", harness.NodeEnvironment(harness.Directory.Combine("data-a"), store));
        var b = harness.AddNode("b", harness.NodeEnvironment(harness.Directory.Combine("data-b"), store));
        await a.StartAsync("a-1", CrashHarness.Ct);
        await b.StartAsync("b-1", CrashHarness.Ct);
        harness.StartOperator();

        var started = new List<string>();
        var clock = Stopwatch.StartNew();
        for (var kill = 1; kill <= harness.Kills; kill++)
        {
            var client = harness.AnyClient()!;
            var runs = await DrwApi.ListRunsAsync(client, CrashHarness.Ct);
            var active = runs.Count(r => r.DefinitionId == DurabilityWorkflows.Main && r.Status != "Finished");
            for (var i = active; i < 4; i++)
                started.Add(await DrwApi.DispatchAsync(harness.AnyClient()!, DurabilityWorkflows.Main, CrashHarness.Ct));

            await Task.Delay(harness.Random.Next(100, 1500), CrashHarness.Ct);
            var victim = harness.Random.Next(2) == 0 ? a : b;
            victim.Kill();
            // Down for a random while: shorter than the lease (it takes its runs back under a new id only after
            // expiry like anyone else) or longer (the survivor has taken them over).
            var down = harness.Random.Next(300, 3000);
            harness.Say($"kill {kill}/{harness.Kills}: {victim.NodeId} (pid {victim.Pid}) down for {down} ms");
            await Task.Delay(down, CrashHarness.Ct);
            await victim.StartAsync($"{victim.Name}-{victim.Generation + 1}", CrashHarness.Ct);
        }

        var all = await harness.WaitAllFinishedAsync(TimeSpan.FromSeconds(120));
        await harness.StopOperatorAsync();
        var snapshot = DateTimeOffset.UtcNow;
        harness.Say($"all {all.Count} runs finished after {clock.Elapsed.TotalSeconds:F0} s");

        var ids = all.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        Assert.All(started, id => Assert.Contains(id, ids));
        Assert.Equal(all.Count(r => r.DefinitionId == DurabilityWorkflows.Main), all.Count(r => r.DefinitionId == DurabilityWorkflows.Child));

        // Each trigger slot started one run, whichever node fired it, and every fired slot's run exists.
        var ticks = all.Where(r => r.DefinitionId == DurabilityWorkflows.Tick).ToList();
        var perSlot = ticks.GroupBy(r => r.CorrelationId ?? r.Id, StringComparer.Ordinal).Where(g => g.Count() > 1).ToList();
        Assert.True(perSlot.Count == 0, $"[seed {harness.Seed}] slots with more than one run: {string.Join(", ", perSlot.Select(g => $"{g.Key}×{g.Count()}"))}");
        var slots = await SlotsAsync(database, snapshot.AddSeconds(-3));
        var fired = slots.Where(s => s.InstanceId is not null).ToList();
        var skipped = slots.Where(s => s.InstanceId is null).ToList();
        harness.Say($"tick slots: {fired.Count} fired, {skipped.Count} skipped ({string.Join(", ", skipped.Select(s => $"{s.Slot:HH:mm:ss} by {s.Owner}"))}); fired by {string.Join(", ", fired.GroupBy(s => s.Owner).Select(g => $"{g.Key}×{g.Count()}"))}");
        Assert.All(fired, s => Assert.Contains(s.InstanceId!, ids));
        Assert.Equal(fired.Count, fired.Select(s => s.InstanceId).Distinct(StringComparer.Ordinal).Count());
        var expectedSlots = clock.Elapsed.TotalSeconds / TimeSpan.Parse(TickInterval, System.Globalization.CultureInfo.InvariantCulture).TotalSeconds;
        Assert.True(fired.Count >= expectedSlots * 0.5, $"[seed {harness.Seed}] only {fired.Count} tick slots fired in {clock.Elapsed.TotalSeconds:F0} s (one node was always up)");

        // Runs were taken over: some run has executions recorded by two different nodes.
        var byRun = Records.Read(harness.RecordsDirectory).All.GroupBy(r => r.InstanceId).Count(g => g.Select(r => r.NodeId).Distinct().Count() > 1);
        harness.Say($"runs executed by more than one node (taken over after a kill): {byRun}");
        if (harness.Kills >= 10)
            Assert.True(byRun > 0, $"[seed {harness.Seed}] no run was taken over by the other node in {harness.Kills} kills");

        await harness.VerifyAsync(harness.AnyClient()!, all, snapshot);
    }

    private sealed record SlotRow(string ScheduleId, DateTimeOffset Slot, string? Owner, string? InstanceId);

    private static async Task<List<SlotRow>> SlotsAsync(PostgresTestDatabase database, DateTimeOffset until)
    {
        await using var connection = await database.OpenConnectionAsync(CrashHarness.Ct);
        await using var command = new NpgsqlCommand("SELECT schedule_id, slot, owner, instance_id FROM drworkflows.schedule_slots WHERE slot <= @until ORDER BY slot", connection);
        command.Parameters.AddWithValue("until", until);
        await using var reader = await command.ExecuteReaderAsync(CrashHarness.Ct);
        var slots = new List<SlotRow>();
        while (await reader.ReadAsync(CrashHarness.Ct))
        {
            slots.Add(new SlotRow(reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
        }

        return slots;
    }
}
