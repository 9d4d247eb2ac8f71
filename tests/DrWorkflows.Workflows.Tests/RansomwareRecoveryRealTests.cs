using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Docker.DotNet;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Core.Execution;
using DrWorkflows.Testing;
using Npgsql;
using static DrWorkflows.Workflows.Tests.DatabaseContainerFailureRealTests;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// Scenario 3 end to end on real parts: the sample Compose platform of <c>deploy/platform</c>, three real verified
/// backups taken at different times (two before the suspected compromise, one after it, of the damaged data), a
/// simulated attack (customers' e-mails overwritten with garbage, the orders table dropped, a ransom note written
/// into PostgreSQL's data volume), and <c>dr-ransomware-recovery</c> run with the real clock against the real Docker,
/// Compose, PostgreSQL, backup and smoke-test services: forensic commits saved with their SHA-256, logs, the volume
/// archived, the restore-point gate over the real backup sets (the test picks the older one), the quarantine copy
/// of the volume, a fresh volume, the restore, the rebuild and both gates. Host network isolation (iptables
/// DOCKER-USER/INPUT rules over SSH) stays on the recording <see cref="Fakes.FakeHost"/>: the test dockerd runs with
/// <c>--iptables=false</c> and the test must not touch the machine's firewall. Comms are recording stand-ins too.
/// </summary>
[TypicalDuration(177)]
public sealed class RansomwareRecoveryRealTests(ITestOutputHelper output)
{
    private const string RansomNote = "README-RESTORE-YOUR-FILES.txt";
    private const string RansomText = "Your files are encrypted. Pay 5 BTC to get them back.";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_attacked_database_is_isolated_kept_as_evidence_and_rebuilt_from_the_older_backup_chosen_at_the_gate_then_opened_after_approval()
    {
        await using var platform = SamplePlatform.Create();
        using var forensics = new TempDirectory("drw-forensics");
        await using var dr = await platform.StartDrHostAsync();
        var compose = dr.Get<IComposeService>();
        var docker = dr.Get<IDockerService>();
        await RequireComposeAsync(compose);
        using var client = new DockerClientConfiguration(platform.DockerEndpoint).CreateClient();
        var clock = Stopwatch.StartNew();
        string? runId = null;

        try
        {
            // The platform with the shop's data; PostgreSQL's data on the project's named volume.
            await platform.UpAndSeedAsync(compose, docker, customers: 30, Ct);
            var original = await client.Volumes.InspectAsync(platform.PostgresVolume, Ct);
            Step("platform up and seeded");

            // Three backups at different times: A (the seed), B (more orders), and C after the compromise (damaged data).
            var setA = await BackUpAndVerifySetAsync(dr);
            var globals = await BackUpGlobalsAsync(dr);
            var dataA = await ShopFingerprintAsync(platform);
            await platform.ExecuteAsync(SamplePlatform.Database, """
                INSERT INTO customers (email) SELECT 'late' || g || '@example.test' FROM generate_series(1, 5) g;
                INSERT INTO orders (customer_id, total) SELECT 1 + g % 35, 99.99 FROM generate_series(1, 15) g;
                """, Ct);
            var setB = await BackUpAndVerifySetAsync(dr);
            var dataB = await ShopFingerprintAsync(platform);
            Assert.NotEqual(dataA, dataB);
            Assert.Equal("customers=30 orders=60", dataA.Counts);
            Assert.Equal("customers=35 orders=75", dataB.Counts);
            Step("backups A and B verified");

            // The attack: rows overwritten, a table dropped, a ransom note in the data volume.
            var compromisedAt = TimeProvider.System.GetUtcNow();
            Assert.True(setB.Manifest.CompletedAt < compromisedAt);
            await Task.Delay(TimeSpan.FromMilliseconds(20), Ct);
            await platform.ExecuteAsync(SamplePlatform.Database, "UPDATE customers SET email = 'ENCRYPTED:' || md5(random()::text || id); DROP TABLE orders", Ct);
            var note = await docker.ExecAsync(platform.PostgresContainer, ["sh", "-c", $"echo '{RansomText}' > /var/lib/postgresql/data/{RansomNote}"], new ExecOptions(), Ct);
            Assert.True(note.Succeeded, note.StandardError);
            await WaitForHealthAsync(docker, platform.PostgresContainer, "unhealthy", TimeSpan.FromSeconds(30));

            // The nightly backup ran after the compromise: it holds the damaged data and must not be offered.
            var setC = await BackUpAndVerifySetAsync(dr);
            Assert.True(setC.Manifest.CompletedAt > compromisedAt);
            Step("attacked; backup C (after the compromise) taken");

            var run = await dr.RunAsync(RansomwareRecovery.Id, Input(platform, forensics, compromisedAt, "Ransom note in the database volume, customers' e-mails encrypted (real-parts test)"));
            runId = run.Id;
            Step("waiting on the restore-point gate");

            Assert.True(run.SubStatus == WorkflowSubStatus.Suspended, $"{run.SubStatus}: {string.Join("; ", run.Incidents.Select(i => i.Message))}");
            AssertInOrder(await dr.CompletedAsync(run.Id), "isolate", "stopApplication", "forensicPostgres", "forensicBackend", "logsPostgres", "logsBackend", "archiveVolume", "findRestorePoints", "listBackups");
            Assert.StartsWith($"host.isolate ransomware-{run.Id} allow=127.0.0.1/32", dr.Calls.Calls[0], StringComparison.Ordinal);
            Assert.Equal("exited", (await docker.InspectContainerAsync(platform.BackendContainer, Ct)).State);
            Assert.Equal("exited", (await docker.InspectContainerAsync(platform.GatewayContainer, Ct)).State);
            Assert.Equal("running", (await docker.InspectContainerAsync(platform.PostgresContainer, Ct)).State);

            // Evidence: every file exists and its SHA-256 recomputed equals the journaled one.
            var journal = await dr.Host.JournalAsync(run.Id);
            var evidence = Path.Combine(forensics.FullPath, $"incident-{run.Id}");
            foreach (var (activity, key, file) in new[]
                     {
                         ("forensicPostgres", "forensics", "postgres.tar"), ("forensicBackend", "forensics", "backend.tar"),
                         ("logsPostgres", "logs", "postgres.log"), ("logsBackend", "logs", "backend.log"), ("archiveVolume", "archive", "postgres-volume.tar"),
                     })
            {
                var data = JournalData(journal, activity, key);
                var path = Path.Combine(evidence, file);
                Assert.Equal(path, data["path"]!.ToString());
                Assert.True(File.Exists(path), path);
                Assert.Equal(new FileInfo(path).Length, data["bytes"]!.GetValue<long>());
                Assert.Equal(await SamplePlatform.Sha256Async(path, Ct), data["sha256"]!.ToString());
                output.WriteLine($"evidence {file}: {data["bytes"]} bytes, sha256 {data["sha256"]}");
            }

            foreach (var (activity, container, image) in new[] { ("forensicPostgres", platform.PostgresContainer, "forensic-postgres"), ("forensicBackend", platform.BackendContainer, "forensic-backend") })
            {
                var snapshot = JournalData(journal, activity, "forensics");
                Assert.Equal(container, snapshot["container"]!.ToString());
                Assert.Equal($"{image}:incident-{run.Id}", snapshot["image"]!.ToString());
                var committed = await client.Images.InspectImageAsync(snapshot["image"]!.ToString(), Ct);
                Assert.Equal(snapshot["imageId"]!.ToString(), committed.ID);
                Assert.Equal(platform.Project, committed.Config.Labels["com.docker.compose.project"]);
            }

            Assert.Contains("database system is ready to accept connections", await File.ReadAllTextAsync(Path.Combine(evidence, "postgres.log"), Ct), StringComparison.Ordinal);
            Assert.Equal(RansomText + "\n", Encoding.UTF8.GetString(await SamplePlatform.ArchivedFileAsync(Path.Combine(evidence, "postgres-volume.tar"), RansomNote, 4096, Ct) ?? []));

            // The gate offers exactly the real backups completed before the compromise (B and A, newest first), not C.
            var gate = await dr.PendingGateAsync(run.Id);
            Assert.Equal("Confirm the safe restore point", gate.Title);
            Assert.Equal([Label(setB), Label(setA)], gate.Options);
            var facts = gate.Facts!.AsArray();
            Assert.Equal([setB.Id, setA.Id], facts.Select(f => f!["setId"]!.ToString()));
            foreach (var (fact, set) in facts.Zip([setB, setA]))
            {
                Assert.Equal(set.Manifest.Sha256, fact!["sha256"]!.ToString());
                Assert.Equal(set.Manifest.Size, fact["bytes"]!.GetValue<long>());
                Assert.True(fact["verified"]!.GetValue<bool>());
                Assert.Equal("local", fact["store"]!.ToString());
            }

            Assert.Contains(evidence, gate.EvidenceText, StringComparison.Ordinal);
            Assert.Empty(dr.Calls.Of("host.lift-isolation"));

            // The attacker may have been in before B: the older A is chosen.
            await dr.DecideAsync(run.Id, "approve", option: Label(setA), comment: "B may already hold the attacker's changes; take A");
            Step("restore point A confirmed");
            var lift = await WaitForGateAsync(dr, run.Id, "Lift the network isolation?", TimeSpan.FromSeconds(90));
            Step("waiting on the lift gate");

            // Restored and rebuilt, still isolated: the quarantined volume keeps the attacked data, the fresh one does not.
            Assert.Empty(dr.Calls.Of("host.lift-isolation"));
            Assert.Equal(setA.Id, lift.Facts!["restoredSet"]!.ToString());
            Assert.Equal(dataA, await ShopFingerprintAsync(platform));
            var quarantined = $"forensic-{platform.PostgresVolume}-incident-{run.Id}";
            var kept = await client.Volumes.InspectAsync(quarantined, Ct);
            Assert.Equal(platform.PostgresVolume, kept.Labels["org.drworkflows.copied-from"]);
            Assert.Equal(run.Id, kept.Labels["org.drworkflows.run"]);
            Assert.DoesNotContain("com.docker.compose.project", kept.Labels.Keys);
            Assert.Equal(RansomText, (await SamplePlatform.OnVolumeAsync(client, quarantined, $"cat /data/{RansomNote}", Ct)).TrimEnd());
            var fresh = await client.Volumes.InspectAsync(platform.PostgresVolume, Ct);
            Assert.Equal(original.Labels.OrderBy(l => l.Key), fresh.Labels.OrderBy(l => l.Key));
            Assert.Equal("absent", (await SamplePlatform.OnVolumeAsync(client, platform.PostgresVolume, $"test -e /data/{RansomNote} && echo present || echo absent", Ct)).Trim());

            // The rebuild recreates only the application: the database container that holds the restore is left alone.
            var restoredAt = Assert.Single(await dr.Host.JournalAsync(run.Id), e => e.EventName == JournalEvents.Completed && e.ActivityId == "restore").Timestamp;
            var database = await client.Containers.InspectContainerAsync(platform.PostgresContainer, Ct);
            output.WriteLine($"postgres container created {database.Created:O}, restore completed {restoredAt:O}");
            Assert.True(database.Created < restoredAt.UtcDateTime, $"{platform.PostgresContainer} was recreated after the restore ({database.Created:O} > {restoredAt:O})");
            foreach (var app in new[] { platform.BackendContainer, platform.GatewayContainer })
                Assert.True((await client.Containers.InspectContainerAsync(app, Ct)).Created > restoredAt.UtcDateTime, $"{app} was not recreated by the rebuild");

            await dr.DecideAsync(run.Id, "approve", comment: "restored from A; open again");
            var done = await RunToEndAsync(dr, run.Id, TimeSpan.FromSeconds(60));
            Step("run ended");

            Assert.True(done.SubStatus == WorkflowSubStatus.Finished, $"{done.SubStatus}: {string.Join("; ", done.Incidents.Select(i => i.Message))}");
            Assert.Equal("Recovered", done.Output["Outcome"]!.ToString());
            var completed = await dr.CompletedAsync(run.Id);
            output.WriteLine($"completed: {string.Join(", ", completed)}");
            AssertInOrder(completed, "isolate", "stopApplication", "forensicPostgres", "forensicBackend", "logsPostgres", "logsBackend", "archiveVolume",
                "findRestorePoints", "listBackups", "confirmRestorePoint", "chosenRestorePoint", "inventoryBefore", "planRestore", "anyLost", "stopPostgres", "removePostgresContainer", "quarantineVolume",
                "freshVolume", "startPostgres", "waitServer", "restore", "inventoryAfter", "pullWanted", "rebuildApplication", "waitHealthy", "approveLiftIsolation",
                "liftIsolation", "smoke", "wholeServerBack", "closeRecovered");
            Assert.DoesNotContain("approveLosses", completed);
            Assert.DoesNotContain("pullImages", completed);
            Assert.Equal("False", await dr.OutcomeAsync(run.Id, "pullWanted"));
            Assert.Equal(FindRestorePoint.Found, await dr.OutcomeAsync(run.Id, "findRestorePoints"));
            Assert.Equal(RestorePostgresServer.Restored, await dr.OutcomeAsync(run.Id, "restore"));
            Assert.Equal(InspectPostgresServer.Answered, await dr.OutcomeAsync(run.Id, "inventoryAfter"));
            Assert.Equal(WaitForHealthy.Healthy, await dr.OutcomeAsync(run.Id, "waitHealthy"));
            journal = await dr.Host.JournalAsync(run.Id);
            // The whole server of before the compromise: the roles, then the shop from the set confirmed at the gate.
            var restored = JournalData(journal, "restore", "serverRestore");
            Assert.Equal(globals.Id, restored["globals"]!["setId"]!.ToString());
            var shop = Assert.Single(restored["databases"]!.AsArray())!;
            Assert.Equal((SamplePlatform.Database, setA.Id, "Restored"), (shop["database"]!.ToString(), shop["setId"]!.ToString(), shop["status"]!.ToString()));
            Assert.Empty(shop["problems"]!.AsArray());
            Assert.True(JournalData(journal, "inventoryAfter", "comparison")["matches"]!.GetValue<bool>());
            var copy = JournalData(journal, "quarantineVolume", "copy");
            Assert.Equal(quarantined, copy["destination"]!.ToString());
            Assert.True(copy["sourceRemoved"]!.GetValue<bool>());
            Assert.Contains("rm --stop --force postgres", JournalData(journal, "removePostgresContainer", "compose")["command"]!.ToString(), StringComparison.Ordinal);
            Assert.EndsWith("up --detach --force-recreate --no-deps backend gateway", JournalData(journal, "rebuildApplication", "compose")["command"]!.ToString(), StringComparison.Ordinal);

            // Host isolation (fake) applied first and lifted exactly once, after the approval; the data is A's, not B's.
            Assert.StartsWith($"host.lift-isolation ransomware-{run.Id} expect=", Assert.Single(dr.Calls.Of("host.lift-isolation")), StringComparison.Ordinal);
            Assert.Equal(dataA, await ShopFingerprintAsync(platform));
            Assert.NotEqual(dataB, await ShopFingerprintAsync(platform));
            var after = await docker.WaitForHealthyAsync(ContainerSelector.Project(platform.Project), TimeSpan.FromSeconds(30), Ct);
            Assert.True(after.AllReady, after.Describe());
            var postMortem = Assert.Single(dr.PostMortems.Requests);
            Assert.Equal(setA.Manifest.StartedAt, postMortem.Details.LastGoodDataAt);
        }
        finally
        {
            await SamplePlatform.DownAsync(compose, output);
            Step("down");
        }

        // Nothing left once the platform is disposed (also when the test failed): containers, volumes (the
        // quarantined copy too, found by its copied-from label), the images committed for forensics, temp directories.
        Assert.Empty(await docker.ListContainersAsync(ContainerSelector.Project(platform.Project), null, Ct));
        Assert.NotNull(await docker.InspectVolumeAsync($"forensic-{platform.PostgresVolume}-incident-{runId}", Ct));
        await platform.DisposeAsync();
        forensics.Dispose();
        Assert.Null(await docker.InspectVolumeAsync(platform.PostgresVolume, Ct));
        Assert.Null(await docker.InspectVolumeAsync($"forensic-{platform.PostgresVolume}-incident-{runId}", Ct));
        foreach (var image in new[] { "forensic-postgres", "forensic-backend" })
            await Assert.ThrowsAsync<DockerImageNotFoundException>(() => client.Images.InspectImageAsync($"{image}:incident-{runId}", Ct));
        Assert.False(Directory.Exists(platform.ProjectDirectory));
        Assert.False(Directory.Exists(forensics.FullPath));

        void Step(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.0} s  {what}");
    }

    /// <summary>Scenario 3's inputs for the sample platform: its containers and volume, server main, the local store, no image pull, the gateway's health page.</summary>
    internal static Dictionary<string, object?> Input(SamplePlatform platform, TempDirectory forensics, DateTimeOffset compromisedAt, string reason) => new()
    {
        ["Reason"] = reason,
        ["CompromisedAt"] = compromisedAt,
        ["AllowedSources"] = new[] { "127.0.0.1/32" },
        ["AppServices"] = new[] { "backend", "gateway" },
        ["PostgresContainer"] = platform.PostgresContainer,
        ["PostgresService"] = "postgres",
        ["BackendContainer"] = platform.BackendContainer,
        ["Volume"] = platform.PostgresVolume,
        ["ForensicsDirectory"] = forensics.FullPath,
        ["Server"] = "main",
        ["Database"] = SamplePlatform.Database,
        ["Store"] = "local",
        ["PullImages"] = false,
        ["SmokeChecks"] = new[] { new { url = platform.GatewayHealth.ToString(), expectedStatus = new[] { 200 }, bodyContains = new[] { "ok" } } },
    };

    /// <summary>The gate's option text of a set, as the workflow labels it.</summary>
    private static string Label(BackupSet set) =>
        $"{set.Manifest.CompletedAt.UtcDateTime:yyyy-MM-dd HH:mm} UTC, {(set.Manifest.IsVerified ? "verified" : "NOT verified")}, set {set.Id}";

    private static JsonNode JournalData(IReadOnlyList<JournalEntry> journal, string activityId, string key) =>
        Assert.Single(journal, e => e.EventName == JournalEvents.Completed && e.ActivityId == activityId).Payload!["data"]![key]!;

    /// <summary>Row counts and an MD5 over every row of the shop's tables: equal only for the same data.</summary>
    private static async Task<ShopData> ShopFingerprintAsync(SamplePlatform platform)
    {
        await using var connection = new NpgsqlConnection(platform.ConnectionString(SamplePlatform.Database));
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("""
            SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders),
                   (SELECT md5(string_agg(id || '|' || email || '|' || created_at, ',' ORDER BY id)) FROM customers),
                   (SELECT md5(string_agg(id || '|' || customer_id || '|' || total || '|' || created_at, ',' ORDER BY id)) FROM orders)
            """, connection);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        Assert.True(await reader.ReadAsync(Ct));
        return new ShopData($"customers={reader.GetInt64(0)} orders={reader.GetInt64(1)}", reader.GetString(2), reader.GetString(3));
    }

    /// <summary>Sweeps the run (the real clock, real waits) until it waits on the named gate.</summary>
    internal static async Task<DrWorkflows.Activities.Approvals.ApprovalRecord> WaitForGateAsync(DrTestHost dr, string instanceId, string title, TimeSpan timeout)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            await dr.Host.DrainAsync(Ct);
            var pending = await dr.Get<DrWorkflows.Activities.Approvals.IApprovalService>().ListAsync(new DrWorkflows.Activities.Approvals.ApprovalQuery { Status = "pending", InstanceId = instanceId }, Ct);
            if (pending.FirstOrDefault(g => g.Title == title) is { } gate)
                return gate;
            var state = await dr.StateAsync(instanceId);
            Assert.True(state.SubStatus is WorkflowSubStatus.Suspended or WorkflowSubStatus.Executing or WorkflowSubStatus.Pending && state.Incidents.Count == 0,
                $"the run left before '{title}': {state.SubStatus} {string.Join("; ", state.Incidents.Select(i => i.Message))} {string.Join(", ", state.Output.Select(o => $"{o.Key}={o.Value}"))}; completed: {string.Join(", ", await dr.CompletedAsync(instanceId))}");
            Assert.True(waited.Elapsed < timeout, $"no '{title}' gate within {timeout}; completed: {string.Join(", ", await dr.CompletedAsync(instanceId))}");
            await Task.Delay(250, Ct);
        }
    }

    private sealed record ShopData(string Counts, string Customers, string Orders);
}
