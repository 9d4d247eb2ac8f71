using System.Diagnostics;
using System.Text.Json.Nodes;
using Docker.DotNet;
using Docker.DotNet.Models;
using DrWorkflows.Testing;
using Npgsql;
using static DrWorkflows.Testing.Behaviour.ElsaJson;

namespace DrWorkflows.Durability.Tests;

/// <summary>
/// Nothing left behind: the real server is killed (SIGKILL) during a backup verification, during a drill and during a
/// step holding containers, a network and a volume, at several points (right after the first resource is recorded,
/// while pg_restore copies rows into the throwaway database, while the drill restores media into its throwaway
/// folder, while the resources are held, at a random moment). After each restart and one janitor pass, nothing
/// remains: no throwaway database, container, network or volume, no temp file, and every resource in the ledger is
/// removed; the killed attempt is journaled Interrupted, and the janitor's removals are in the run's journal.
/// </summary>
[TypicalDuration(166)]
public sealed class ThrowawayCrashTests
{
    private const string Verify = "tw-verify";
    private const string Drill = "tw-drill";
    private const string Probe = "tw-probe";
    private const string Image = "local/busybox:1";

    private static CancellationToken Ct => CrashHarness.Ct;

    [Fact]
    public async Task Server_killed_during_verification_drill_and_container_steps_leaves_nothing_behind_after_restart_and_one_janitor_pass()
    {
        var serverConnection = TestServices.RequirePostgres();
        var pgBin = TestServices.RequirePgBin();
        var dockerEndpoint = TestServices.RequireDocker();
        TestServices.RequireDockerImage(Image);
        await using var harness = new CrashHarness("throwaway");
        var prefix = $"drwcrash{Guid.NewGuid():N}"[..16];
        await using var source = await PostgresTestDatabase.CreateAsync(Ct);
        await SeedAsync(source.ConnectionString);
        // A short TMPDIR of its own (gpg homes fall back to /tmp when it is long): everything the server puts in it is checked.
        var tmp = Path.Combine("/tmp", prefix);
        Directory.CreateDirectory(tmp);
        using var cleanTmp = new DeleteOnDispose(tmp);
        var pgScratch = harness.Directory.Combine("pg-scratch");
        var drillScratch = harness.Directory.Combine("drill-scratch");
        var media = harness.Directory.Combine("media");
        Directory.CreateDirectory(pgScratch);
        Directory.CreateDirectory(drillScratch);
        SeedMedia(media);
        WriteWorkflows(harness.WorkflowsDirectory, source.Name, media, drillScratch, prefix);
        using var docker = new DockerClientConfiguration(dockerEndpoint).CreateClient();

        var node = harness.AddNode("throwaway", harness.NodeEnvironment(harness.Directory.Combine("data"), new Dictionary<string, string>
        {
            ["DrWorkflows__Runtime__PollInterval"] = "00:00:00.200",
            ["DrWorkflows__Runtime__LeaseDuration"] = "00:00:05",
            // A password in the connection string: every pg_dump / pg_restore gets a .pgpass in its private folder.
            ["Postgres__Servers__verify"] = serverConnection + ";Password=crash-test-secret",
            ["Postgres__VerificationServer"] = "verify",
            ["Postgres__VerificationDatabasePrefix"] = prefix + "_",
            ["Postgres__Tools__BinDirectory"] = pgBin,
            ["Postgres__TempDirectory"] = pgScratch,
            ["Docker__Endpoint"] = dockerEndpoint.ToString(),
            ["Docker__HelperImage"] = Image,
            ["TMPDIR"] = tmp,
            ["DOTNET_EnableDiagnostics"] = "0",
        }));
        await node.StartAsync("throwaway-node", Ct);
        var backup = await DrwApi.DispatchAsync(node.Client!, "tw-backup", Ct);
        await WaitFinishedAsync(harness, node, backup, "the backups");

        var points = new[]
        {
            (Verify, KillPoint.Recorded), (Verify, KillPoint.Copying), (Drill, KillPoint.Copying), (Drill, KillPoint.Media), (Probe, KillPoint.Held),
            (Verify, KillPoint.Random), (Drill, KillPoint.Recorded), (Probe, KillPoint.Recorded), (Drill, KillPoint.Random), (Verify, KillPoint.Copying),
        };
        var rounds = Math.Clamp(harness.Kills, points.Length, 30);
        var interrupted = 0;
        var removedByJanitor = 0;
        var hits = 0;
        var runs = new List<string>();
        for (var round = 0; round < rounds; round++)
        {
            var (workflow, point) = points[round % points.Length];
            var run = await DrwApi.DispatchAsync(node.Client!, workflow, Ct);
            runs.Add(run);
            var reached = await WaitForAsync(harness, node, run, point, prefix, serverConnection);
            var killedAt = node.Kill();
            harness.Say($"round {round + 1}/{rounds}: killed {workflow} run {run} at {point}{(reached ? string.Empty : " (it had ended already)")}");
            await node.StartAsync("throwaway-node", Ct);

            await WaitFinishedAsync(harness, node, run, $"{workflow} run {run} after the restart");
            var janitor = await DrwApi.RunJanitorAsync(node.Client!, Ct);
            Assert.True(janitor["failed"]!.AsArray().Count == 0, $"[seed {harness.Seed}] the janitor could not remove: {janitor["failed"]}");

            // Nothing remains: not in the ledger, not on the server, not on the engine, not on disk.
            var resources = await DrwApi.ResourcesAsync(node.Client!, run, Ct);
            Assert.True(resources.All(r => r!["state"]!.GetValue<string>() != "Live"), $"[seed {harness.Seed}] live resources of {run}: {resources}");
            await AssertNothingRemainsAsync(harness, resources, prefix, serverConnection, docker, [tmp, pgScratch, drillScratch]);

            // A pass journals each removal unless the run is busy at that moment (another pass, started by the node at
            // its restart, may hold it): then the next pass does. So passes run until every removal is journaled.
            var journal = await DrwApi.JournalAsync(node.Client!, run, Ct);
            var removedIds = resources.Where(r => r!["state"]!.GetValue<string>() == "Removed").Select(r => r!["id"]!.GetValue<string>()).ToList();
            for (var deadline = DateTime.UtcNow.AddSeconds(120); !removedIds.All(id => journal.Any(j => j.EventName == "Note" && j.Payload?["throwaway"]?["id"]?.GetValue<string>() == id)) && DateTime.UtcNow < deadline;)
            {
                await Task.Delay(250, Ct);
                await DrwApi.RunJanitorAsync(node.Client!, Ct);
                journal = await DrwApi.JournalAsync(node.Client!, run, Ct);
            }

            var cut = journal.Where(j => j.EventName == "Interrupted").ToList();
            var story = $"journal:\n{string.Join('\n', journal.Select(j => $"  {j.Timestamp:HH:mm:ss.fff} {j.EventName} {j.ActivityId} #{j.Attempt} {j.Message}"))}\nresources:\n{resources}";
            Assert.All(cut, j => Assert.True(j.Timestamp >= killedAt.AddMilliseconds(-5), $"Interrupted entry at {j.Timestamp:O}, before the kill at {killedAt:O}"));
            var left = resources.Where(r => r!["state"]!.GetValue<string>() == "Removed").ToList();
            foreach (var removed in left)
            {
                // Only the attempt the kill cut short leaves something behind: it is journaled Interrupted, and the removal too.
                var execution = removed!["activityInstanceId"]?.GetValue<string>();
                var attempt = removed["attempt"]?.GetValue<int>();
                Assert.True(cut.Any(j => j.ExecutionId == execution && j.Attempt == attempt), $"[seed {harness.Seed}] {removed["kind"]} {removed["name"]} was left by attempt {attempt} of {removed["activityId"]}, which has no Interrupted entry\n{story}");
                Assert.True(journal.Any(j => j.EventName == "Note" && j.Payload?["throwaway"]?["id"]?.GetValue<string>() == removed["id"]!.GetValue<string>()), $"[seed {harness.Seed}] the janitor's removal of {removed["name"]} is not in the journal\n{story}");
                Assert.StartsWith("janitor on node throwaway-node", removed["endedBy"]!.GetValue<string>(), StringComparison.Ordinal);
            }

            harness.Say($"  {cut.Count} interrupted attempt(s), {left.Count} resource(s) removed by the janitor: {string.Join(", ", left.Select(r => $"{r!["kind"]} {Path.GetFileName(r["name"]!.GetValue<string>())}"))}");
            if (left.Count > 0)
                hits++;
            removedByJanitor += left.Count;
            interrupted += cut.Count;
        }

        harness.Say($"{rounds} kills, {hits} of them inside a step holding resources: {interrupted} interrupted attempts journaled, {removedByJanitor} left-behind resources removed by the janitor");
        // Most kill points are reached while resources exist (a point can be passed just before the kill lands).
        Assert.True(hits >= rounds / 2, $"[seed {harness.Seed}] only {hits} of {rounds} kills left something behind: the kills missed the steps");
        Assert.True(interrupted >= hits, $"[seed {harness.Seed}] {interrupted} interrupted attempts for {hits} kills inside a step");
    }

    private enum KillPoint
    {
        /// <summary>As soon as the run's first throwaway resource is recorded (it may not exist yet).</summary>
        Recorded,

        /// <summary>While pg_restore copies rows into the throwaway database.</summary>
        Copying,

        /// <summary>While the drill restores media into its throwaway folder.</summary>
        Media,

        /// <summary>While the probe holds its container, network and volume (a random moment within).</summary>
        Held,

        /// <summary>A random moment after the start (it may miss the step).</summary>
        Random,
    }

    /// <summary>Waits until the run reaches <paramref name="point"/>; false when it ended before (the kill then comes after it).</summary>
    private static async Task<bool> WaitForAsync(CrashHarness harness, ServerNode node, string run, KillPoint point, string prefix, string serverConnection)
    {
        if (point == KillPoint.Random)
        {
            await Task.Delay(harness.Random.Next(200, 4000), Ct);
            return true;
        }

        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromMinutes(3))
        {
            var live = (await DrwApi.ResourcesAsync(node.Client!, run, Ct)).Where(r => r!["state"]!.GetValue<string>() == "Live").ToList();
            var reached = point switch
            {
                KillPoint.Recorded => live.Count > 0,
                KillPoint.Copying => await CopyingAsync(serverConnection, prefix),
                KillPoint.Media => live.Any(r => r!["name"]!.GetValue<string>().Contains("drw-drill-media-", StringComparison.Ordinal)),
                _ => live.Any(r => r!["kind"]!.GetValue<string>() == "docker-container"),
            };
            if (reached)
            {
                if (point == KillPoint.Held)
                    await Task.Delay(harness.Random.Next(0, 1000), Ct);
                return true;
            }

            if ((await DrwApi.RunStateAsync(node.Client!, run, Ct)).Status == "Finished")
                return false;
            await Task.Delay(15, Ct);
        }

        Assert.Fail($"[seed {harness.Seed}] run {run} did not reach {point} within 3 minutes:\n{harness.LogTails()}");
        return false;
    }

    /// <summary>pg_restore is copying rows into one of this test's throwaway databases.</summary>
    private static async Task<bool> CopyingAsync(string serverConnection, string prefix)
    {
        await using var connection = new NpgsqlConnection(serverConnection);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE datname LIKE @prefix AND query ILIKE 'COPY %'", connection);
        command.Parameters.AddWithValue("prefix", prefix + "%");
        return (long)(await command.ExecuteScalarAsync(Ct))! > 0;
    }

    private static async Task WaitFinishedAsync(CrashHarness harness, ServerNode node, string run, string what)
    {
        var clock = Stopwatch.StartNew();
        (string Status, string SubStatus) state = default;
        while (clock.Elapsed < TimeSpan.FromMinutes(4))
        {
            state = await DrwApi.RunStateAsync(node.Client!, run, Ct);
            if (state.Status == "Finished")
            {
                Assert.True(state.SubStatus == "Finished", $"[seed {harness.Seed}] {what} ended {state.SubStatus}:\n{string.Join('\n', (await DrwApi.JournalAsync(node.Client!, run, Ct)).Select(j => $"{j.EventName} {j.ActivityId} {j.Message}"))}");
                var journal = await DrwApi.JournalAsync(node.Client!, run, Ct);
                var failed = journal.Where(j => j.EventName == "Completed" && (j.Payload?["rehearsal"]?["succeeded"]?.GetValue<bool>() == false || j.Payload?["verification"]?["succeeded"]?.GetValue<bool>() == false)).ToList();
                Assert.True(failed.Count == 0, $"[seed {harness.Seed}] {what}: a verification or rehearsal failed: {string.Join("; ", failed.Select(f => f.Payload?.ToJsonString()))}");
                return;
            }

            await Task.Delay(100, Ct);
        }

        Assert.Fail($"[seed {harness.Seed}] {what} did not finish within 4 minutes ({state.Status}/{state.SubStatus}):\n{harness.LogTails()}");
    }

    private static async Task AssertNothingRemainsAsync(CrashHarness harness, JsonArray resources, string prefix, string serverConnection, DockerClient docker, string[] directories)
    {
        await using (var connection = new NpgsqlConnection(serverConnection))
        {
            await connection.OpenAsync(Ct);
            await using var command = new NpgsqlCommand("SELECT string_agg(datname, ', ') FROM pg_database WHERE datname LIKE @prefix", connection);
            command.Parameters.AddWithValue("prefix", prefix + "%");
            var databases = await command.ExecuteScalarAsync(Ct);
            Assert.True(databases is DBNull, $"[seed {harness.Seed}] throwaway databases remain: {databases}");
        }

        var byName = new Dictionary<string, IDictionary<string, bool>> { ["name"] = new Dictionary<string, bool> { [prefix] = true } };
        var containers = await docker.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = byName }, Ct);
        Assert.True(containers.Count == 0, $"[seed {harness.Seed}] containers remain: {string.Join(", ", containers.SelectMany(c => c.Names))}");
        var networks = await docker.Networks.ListNetworksAsync(new NetworksListParameters { Filters = byName }, Ct);
        Assert.True(networks.Count == 0, $"[seed {harness.Seed}] networks remain: {string.Join(", ", networks.Select(n => n.Name))}");
        var volumes = (await docker.Volumes.ListAsync(new VolumesListParameters { Filters = byName }, Ct)).Volumes ?? [];
        Assert.True(volumes.Count == 0, $"[seed {harness.Seed}] volumes remain: {string.Join(", ", volumes.Select(v => v.Name))}");
        // Every container the ledger names (the probe's, and any helper a step created) is gone from the engine. Helper
        // containers are not matched by label: other test projects share this engine and make their own at the same time.
        var ledgerContainers = resources.Where(r => r!["kind"]!.GetValue<string>() == "docker-container").Select(r => r!["name"]!.GetValue<string>()).ToList();
        foreach (var name in ledgerContainers)
        {
            var byExactName = new Dictionary<string, IDictionary<string, bool>> { ["name"] = new Dictionary<string, bool> { [$"^/{name}$"] = true } };
            var found = await docker.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = byExactName }, Ct);
            Assert.True(found.Count == 0, $"[seed {harness.Seed}] container {name} of the ledger remains");
        }

        foreach (var directory in directories)
        {
            var left = Directory.EnumerateFileSystemEntries(directory)
                .Where(p => !Path.GetFileName(p).StartsWith("dotnet-diagnostic-", StringComparison.Ordinal) && !Path.GetFileName(p).StartsWith("clr-debug-pipe-", StringComparison.Ordinal))
                .ToList();
            Assert.True(left.Count == 0, $"[seed {harness.Seed}] temp files remain in {directory}: {string.Join(", ", left)}");
        }

        foreach (var resource in resources.Where(r => r!["kind"]!.GetValue<string>() is "directory" or "file"))
        {
            var path = resource!["name"]!.GetValue<string>();
            Assert.False(Path.Exists(path), $"[seed {harness.Seed}] {resource["kind"]} {path} ({resource["description"]}) remains");
        }
    }

    private static async Task SeedAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        // About 15 MB: pg_restore copies it for a second or more, long enough to be killed in the middle.
        await using var command = new NpgsqlCommand(
            "CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, note text NOT NULL, created_at timestamptz NOT NULL DEFAULT now()); "
            + "INSERT INTO customers (id, name, note) SELECT g, 'customer ' || g, repeat(md5(g::text), 3) FROM generate_series(1, 120000) g; "
            + "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers (id), total numeric(10,2) NOT NULL); "
            + "INSERT INTO orders SELECT g, 1 + g % 120000, (g % 1000) / 10.0 FROM generate_series(1, 100000) g;",
            connection) { CommandTimeout = 600 };
        await command.ExecuteNonQueryAsync(Ct);
    }

    private static void SeedMedia(string directory)
    {
        Directory.CreateDirectory(directory);
        var random = new Random(7);
        for (var i = 0; i < 40; i++)
        {
            var bytes = new byte[256 * 1024];
            random.NextBytes(bytes);
            File.WriteAllBytes(Path.Combine(directory, $"image-{i:D2}.bin"), bytes);
        }
    }

    private static void WriteWorkflows(string directory, string database, string media, string drillScratch, string prefix)
    {
        Directory.CreateDirectory(directory);
        static string Text(string value) => Lit(value);
        File.WriteAllText(Path.Combine(directory, "tw-backup.json"), Definition("tw-backup", Sequence("backupSeq",
            Activity("DrWorkflows.BackupDatabase", "backupDb", $"\"server\": {Text("verify")}, \"database\": {Text(database)}"),
            Activity("DrWorkflows.BackupMedia", "backupMedia", $"\"directory\": {Text(media)}, \"sourceName\": {Text("media")}"))));
        File.WriteAllText(Path.Combine(directory, "tw-verify.json"), Definition(Verify, Sequence("verifySeq",
            Activity("DrWorkflows.VerifyLatestBackup", "verify", $"\"source\": {Text(database)}, \"server\": {Text("verify")}"))));
        File.WriteAllText(Path.Combine(directory, "tw-drill.json"), Definition(Drill, Sequence("drillSeq",
            Activity("DrWorkflows.RehearseRestore", "drillDb", $"\"component\": {Text("postgres-main")}, \"kind\": {Text("postgres")}, \"source\": {Text(database)}, \"server\": {Text("verify")}"),
            Activity("DrWorkflows.RehearseRestore", "drillMedia", $"\"component\": {Text("media")}, \"kind\": {Text("media")}, \"source\": {Text("media")}, \"scratchDirectory\": {Text(drillScratch)}"))));
        File.WriteAllText(Path.Combine(directory, "tw-probe.json"), Definition(Probe, Sequence("probeSeq",
            Activity("Durability.ThrowawayProbe", "probe", $"\"prefix\": {Text(prefix)}, \"image\": {Text(Image)}, \"holdMs\": {Lit("2000", "Int32")}"))));
    }

    /// <summary>Deletes a directory (and everything in it) at the end of the test.</summary>
    private sealed class DeleteOnDispose(string path) : IDisposable
    {
        public void Dispose()
        {
            if (Directory.Exists(path))
                Directory.Delete(path, recursive: true);
        }
    }
}
