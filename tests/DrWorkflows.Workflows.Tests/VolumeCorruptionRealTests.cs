using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Docker.DotNet;
using Docker.DotNet.Models;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Core.Building;
using DrWorkflows.Core.Execution;
using DrWorkflows.Testing;
using static DrWorkflows.Workflows.Tests.DatabaseContainerFailureRealTests;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// Scenario 5 end to end on real parts: the sample Compose platform of <c>deploy/platform</c> with PostgreSQL's data
/// on its named volume (<c>&lt;project&gt;_postgres_data</c>), holding the whole server: the shop database, an AI
/// database and an application role that owns their tables. Real backups (globals, both databases, verified), and the
/// JSON workflow <c>dr-volume-corruption</c> run with the real clock against the real Docker, Compose, PostgreSQL,
/// backup and smoke-test services. Only comms are the recording stand-ins of <see cref="DrTestHost"/>.
/// </summary>
[TypicalDuration(189)]
public sealed class VolumeCorruptionRealTests(ITestOutputHelper output)
{
    private const string Id = "dr-volume-corruption";
    private const string Damage = "corrupted-by-the-drw-volume-test";
    private const string AiDatabase = "ai_db";
    private const string AppRole = "shop_app";
    private const string ReportsDatabase = "reports_db";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_corrupted_data_volume_is_archived_with_its_checksum_then_after_approval_replaced_and_the_roles_and_every_database_restored_from_their_verified_backups()
    {
        await using var platform = SamplePlatform.Create();
        using var emergency = new TempDirectory("drw-emergency");
        await using var dr = await platform.StartDrHostAsync();
        var compose = dr.Get<IComposeService>();
        var docker = dr.Get<IDockerService>();
        await RequireComposeAsync(compose);
        using var client = new DockerClientConfiguration(platform.DockerEndpoint).CreateClient();
        var appPassword = Guid.NewGuid().ToString("N");
        var clock = Stopwatch.StartNew();

        try
        {
            // The whole server on the project's named volume: the shop, the AI database, the role owning their tables.
            await platform.UpAndSeedAsync(compose, docker, customers: 30, Ct);
            await SeedServerAsync(platform, appPassword);
            var mounts = (await client.Containers.InspectContainerAsync(platform.PostgresContainer, Ct)).Mounts;
            Assert.Contains(mounts, m => m.Type == "volume" && m.Name == platform.PostgresVolume && m.Destination == "/var/lib/postgresql/data");
            var original = await client.Volumes.InspectAsync(platform.PostgresVolume, Ct);
            Assert.Equal(platform.Project, original.Labels["com.docker.compose.project"]);
            Step("platform up and seeded (two databases, an application role)");

            var sets = await BackUpServerAsync(dr);
            // The globals set records what lives on the server, for when the server can no longer be asked.
            Assert.Contains(sets.Globals.Manifest.ServerDatabases!, d => d.Name == AiDatabase && d.SizeBytes > 0 && d.Owner == "postgres");
            Assert.Contains(sets.Globals.Manifest.ServerDatabases!, d => d.Name == SamplePlatform.Database);
            Assert.Contains(AppRole, sets.Globals.Manifest.Roles!);
            Assert.Equal(("main", $"127.0.0.1:{platform.PostgresPort}"), (sets.Shop.Manifest.Server, sets.Shop.Manifest.Endpoint));
            Step("globals and both databases backed up, both verified");

            // The fault: the control file in the volume is overwritten, PostgreSQL refuses to start on it.
            await docker.StopContainerAsync(platform.PostgresContainer, TimeSpan.FromSeconds(10), Ct);
            await CorruptControlFileAsync(client, platform.PostgresVolume);
            await docker.StartContainerAsync(platform.PostgresContainer, Ct);
            await WaitForLogAsync(client, platform.PostgresContainer, "database files are incompatible with server", TimeSpan.FromSeconds(60));
            await Assert.ThrowsAnyAsync<Exception>(() => platform.CountAsync("orders", Ct));
            Step("volume corrupted, PostgreSQL cannot start");

            var run = await dr.RunAsync(Id, Input(platform, emergency));
            Step("waiting on the approval gate");

            // Stopped and archived before the question; nothing removed yet.
            Assert.True(run.SubStatus == WorkflowSubStatus.Suspended, $"{run.SubStatus}: {string.Join("; ", run.Incidents.Select(i => i.Message))}");
            AssertInOrder(await dr.CompletedAsync(run.Id), "inventoryBefore", "stopPostgres", "archiveVolume", "planRestore");
            Assert.Equal(InspectPostgresServer.Unreachable, await dr.OutcomeAsync(run.Id, "inventoryBefore"));
            var archived = await JournalDataAsync(dr, run.Id, "archiveVolume", "archive");
            output.WriteLine($"archive journal: {archived.ToJsonString()}");
            var archivePath = Path.Combine(emergency.FullPath, $"corrupted-{platform.PostgresVolume}-{run.Id}.tar");
            Assert.Equal(archivePath, archived["path"]!.ToString());
            Assert.Equal(platform.PostgresVolume, archived["volume"]!.ToString());
            Assert.True(File.Exists(archivePath), archivePath);
            Assert.Equal(new FileInfo(archivePath).Length, archived["bytes"]!.GetValue<long>());
            Assert.Equal(await SamplePlatform.Sha256Async(archivePath, Ct), archived["sha256"]!.ToString());
            Assert.Equal(Damage, Encoding.ASCII.GetString(await SamplePlatform.ArchivedFileAsync(archivePath, "global/pg_control", Damage.Length, Ct) ?? []));
            Assert.Equal("exited", (await docker.InspectContainerAsync(platform.PostgresContainer, Ct)).State);

            // The server did not answer: the catalog tells what lived there, and the gate lists every set it restores.
            var gate = await dr.PendingGateAsync(run.Id);
            output.WriteLine($"gate: {gate.Question}");
            Assert.Equal("Replace the corrupted volume from backup?", gate.Title);
            Assert.StartsWith($"backup catalog (the databases and roles recorded with globals set {sets.Globals.Id}", gate.Facts!["listedFrom"]!.ToString(), StringComparison.Ordinal);
            Assert.Equal([(AiDatabase, sets.Ai.Id), (SamplePlatform.Database, sets.Shop.Id)],
                gate.Facts["restore"]!.AsArray().Select(r => (r!["database"]!.ToString(), r["set"]!.ToString())));
            Assert.Empty(gate.Facts["lost"]!.AsArray());
            Assert.Equal(sets.Globals.Id, gate.Facts["globals"]!["set"]!.ToString());
            Assert.Contains(AppRole, gate.Facts["before"]!["roles"]!.AsArray().Select(r => r!.ToString()));
            Assert.Equal(archived["sha256"]!.ToString(), gate.Facts["archive"]!["sha256"]!.ToString());
            Assert.Equal(Damage, await ControlFileStartAsync(client, platform.PostgresVolume));

            await dr.DecideAsync(run.Id, "approve", comment: "replace it, the archive is kept");
            var done = await RunToEndAsync(dr, run.Id, TimeSpan.FromSeconds(240));
            Step("run ended");

            Assert.True(done.SubStatus == WorkflowSubStatus.Finished, $"{done.SubStatus}: {string.Join("; ", done.Incidents.Select(i => i.Message))}");
            Assert.True("Recovered" == done.Output["Outcome"]?.ToString(), $"{done.Output["Outcome"]}: {done.Output["FailureReason"]}");
            var completed = await dr.CompletedAsync(run.Id);
            output.WriteLine($"completed: {string.Join(", ", completed)}");
            AssertInOrder(completed, "inventoryBefore", "stopPostgres", "archiveVolume", "planRestore", "approveReplace", "removeContainer", "removeVolume", "createVolume",
                "startPostgres", "waitServer", "restoreServer", "inventoryAfter", "waitHealthy", "smoke", "wholeServerBack", "closeRecovered");
            Assert.Equal(RemoveVolume.Removed, await dr.OutcomeAsync(run.Id, "removeVolume"));
            Assert.Equal(RestorePostgresServer.Restored, await dr.OutcomeAsync(run.Id, "restoreServer"));
            Assert.Equal(InspectPostgresServer.Answered, await dr.OutcomeAsync(run.Id, "inventoryAfter"));
            Assert.Equal(WaitForHealthy.Healthy, await dr.OutcomeAsync(run.Id, "waitHealthy"));
            var removeCommand = (await JournalDataAsync(dr, run.Id, "removeContainer", "compose"))["command"]!.ToString();
            Assert.Contains("rm --stop --force postgres", removeCommand, StringComparison.Ordinal);
            var restored = await JournalDataAsync(dr, run.Id, "restoreServer", "serverRestore");
            output.WriteLine($"restore journal: {restored.ToJsonString()}");
            Assert.Equal(sets.Globals.Id, restored["globals"]!["setId"]!.ToString());
            Assert.Equal([(AiDatabase, sets.Ai.Id, "Restored", 29L), (SamplePlatform.Database, sets.Shop.Id, "Restored", 90L)],
                restored["databases"]!.AsArray().Select(d => (d!["database"]!.ToString(), d["setId"]!.ToString(), d["status"]!.ToString(), d["rows"]!.GetValue<long>())));
            var comparison = await JournalDataAsync(dr, run.Id, "inventoryAfter", "comparison");
            output.WriteLine($"comparison: {comparison["summary"]}");
            Assert.True(comparison["matches"]!.GetValue<bool>());
            Assert.True(comparison["rolesCompared"]!.GetValue<bool>());

            // A fresh volume of the same name, with Compose's labels; the whole server of the backups: data, role, owners.
            var fresh = await client.Volumes.InspectAsync(platform.PostgresVolume, Ct);
            Assert.NotEqual(Damage, await ControlFileStartAsync(client, platform.PostgresVolume));
            Assert.Equal(original.Labels.OrderBy(l => l.Key), fresh.Labels.OrderBy(l => l.Key));
            Assert.Equal(30, await platform.CountAsync("customers", Ct));
            Assert.Equal(60, await platform.CountAsync("orders", Ct));
            Assert.Equal(29L, await platform.ScalarAsync<long>(AiDatabase, "SELECT count(*) FROM embeddings", Ct));
            Assert.Equal(AppRole, await platform.ScalarAsync<string>(SamplePlatform.Database, "SELECT current_user", Ct, AppRole, appPassword));
            Assert.Equal(AppRole, await platform.ScalarAsync<string>(SamplePlatform.Database, "SELECT tableowner FROM pg_tables WHERE tablename = 'orders'", Ct));
            Assert.Equal(AppRole, await platform.ScalarAsync<string>(AiDatabase, "SELECT tableowner FROM pg_tables WHERE tablename = 'embeddings'", Ct));
            var after = await docker.WaitForHealthyAsync(ContainerSelector.Project(platform.Project), TimeSpan.FromSeconds(60), Ct);
            Assert.True(after.AllReady, after.Describe());
            Assert.True(File.Exists(archivePath), "the archive of the corrupted volume is kept");
            var postMortem = Assert.Single(dr.PostMortems.Requests).Details;
            Assert.Contains("Recovered by DrWorkflows", postMortem.Summary, StringComparison.Ordinal);
            Assert.Contains("nothing missing", postMortem.Impact, StringComparison.Ordinal);
            Assert.Contains("nothing missing", dr.Comms.SlackPosts.Last().Text, StringComparison.Ordinal);
        }
        finally
        {
            await SamplePlatform.DownAsync(compose, output);
            Step("down");
        }

        // Nothing of the project is left once the platform is disposed: no container, no volume (found by label or name).
        Assert.Empty(await docker.ListContainersAsync(ContainerSelector.Project(platform.Project), null, Ct));
        await platform.DisposeAsync();
        Assert.Null(await docker.InspectVolumeAsync(platform.PostgresVolume, Ct));
        Assert.False(Directory.Exists(platform.ProjectDirectory));

        void Step(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.0} s  {what}");
    }

    [Fact]
    public async Task A_database_without_a_backup_is_listed_at_the_gate_as_lost_with_its_size_and_the_run_does_not_end_recovered()
    {
        await using var platform = SamplePlatform.Create();
        using var emergency = new TempDirectory("drw-emergency");
        await using var dr = await platform.StartDrHostAsync();
        var compose = dr.Get<IComposeService>();
        var docker = dr.Get<IDockerService>();
        await RequireComposeAsync(compose);
        var clock = Stopwatch.StartNew();

        try
        {
            await platform.UpAndSeedAsync(compose, docker, customers: 30, Ct);
            await SeedServerAsync(platform, Guid.NewGuid().ToString("N"));
            // A third database that no backup covers.
            await platform.ExecuteAsync("postgres", $"CREATE DATABASE {ReportsDatabase}", Ct);
            await platform.ExecuteAsync(ReportsDatabase, "CREATE TABLE daily (day date PRIMARY KEY, orders int NOT NULL); INSERT INTO daily SELECT date '2026-01-01' + g, g FROM generate_series(1, 100) g", Ct);
            var sets = await BackUpServerAsync(dr);
            var reportsSize = await platform.ScalarAsync<long>("postgres", $"SELECT pg_database_size('{ReportsDatabase}')", Ct);
            Step("platform up, three databases, two of them backed up and verified");

            // Data corruption reported by the database: the server still answers, and tells what it holds.
            var run = await dr.RunAsync(Id, Input(platform, emergency));
            Assert.True(run.SubStatus == WorkflowSubStatus.Suspended, $"{run.SubStatus}: {string.Join("; ", run.Incidents.Select(i => i.Message))}");
            Assert.Equal(InspectPostgresServer.Answered, await dr.OutcomeAsync(run.Id, "inventoryBefore"));
            var before = await JournalDataAsync(dr, run.Id, "inventoryBefore", "inventory");
            var reportsBefore = before["databases"]!.AsArray().Single(d => d!["name"]!.ToString() == ReportsDatabase)!["bytes"]!.GetValue<long>();
            Assert.InRange(reportsBefore, reportsSize - (1 << 20), reportsSize + (1 << 20));

            var gate = await dr.PendingGateAsync(run.Id);
            output.WriteLine($"gate: {gate.Question}");
            Assert.Equal(ServerInventory.FromServer, gate.Facts!["listedFrom"]!.ToString());
            var lost = Assert.Single(gate.Facts["lost"]!.AsArray())!;
            Assert.Equal(ReportsDatabase, lost["database"]!.ToString());
            Assert.Equal(reportsBefore, lost["sizeBytes"]!.GetValue<long>());
            Assert.Equal("no backup of it exists", lost["reason"]!.ToString());
            Assert.Contains($"LOST (no usable backup): {ReportsDatabase} (", gate.Question, StringComparison.Ordinal);
            Assert.Equal([AiDatabase, SamplePlatform.Database], gate.Facts["restore"]!.AsArray().Select(r => r!["database"]!.ToString()));
            Step("gate lists the lost database");

            await dr.DecideAsync(run.Id, "approve", comment: "the reports are rebuilt from the shop tonight");
            var done = await RunToEndAsync(dr, run.Id, TimeSpan.FromSeconds(240));
            Step("run ended");

            Assert.True(done.SubStatus == WorkflowSubStatus.Finished, $"{done.SubStatus}: {string.Join("; ", done.Incidents.Select(i => i.Message))}");
            var reason = done.Output["FailureReason"]!.ToString();
            Assert.True("Partial" == done.Output["Outcome"]?.ToString(), $"{done.Output["Outcome"]}: {reason}");
            output.WriteLine($"reason: {reason}");
            Assert.StartsWith("Not recovered", reason, StringComparison.Ordinal);
            Assert.Contains($"LOST: {ReportsDatabase} (", reason, StringComparison.Ordinal);
            Assert.Contains($"MISSING after: {ReportsDatabase} (", reason, StringComparison.Ordinal);
            Assert.Equal(RestorePostgresServer.Partial, await dr.OutcomeAsync(run.Id, "restoreServer"));
            Assert.Equal(InspectPostgresServer.Missing, await dr.OutcomeAsync(run.Id, "inventoryAfter"));
            Assert.DoesNotContain("closeRecovered", await dr.CompletedAsync(run.Id));

            // What had a backup is back; what had none is gone, and the run says so.
            Assert.Equal(60, await platform.CountAsync("orders", Ct));
            Assert.Equal(29L, await platform.ScalarAsync<long>(AiDatabase, "SELECT count(*) FROM embeddings", Ct));
            Assert.Equal(0L, await platform.ScalarAsync<long>("postgres", $"SELECT count(*) FROM pg_database WHERE datname = '{ReportsDatabase}'", Ct));
            var postMortem = Assert.Single(dr.PostMortems.Requests).Details;
            Assert.Contains($"MISSING after: {ReportsDatabase}", postMortem.Impact, StringComparison.Ordinal);
            Assert.DoesNotContain("Recovered by DrWorkflows", postMortem.Summary, StringComparison.Ordinal);
            Assert.Equal(sets.Shop.Manifest.StartedAt, postMortem.LastGoodDataAt);
        }
        finally
        {
            await SamplePlatform.DownAsync(compose, output);
            Step("down");
        }

        void Step(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.0} s  {what}");
    }

    internal static object Input(SamplePlatform platform, TempDirectory emergency) => new
    {
        Reason = "PostgreSQL reports data corruption on its volume (real-parts test)",
        Container = platform.PostgresContainer,
        PostgresService = "postgres",
        Volume = platform.PostgresVolume,
        EmergencyDirectory = emergency.FullPath,
        Server = "main",
        Store = "local",
        SmokeChecks = new[] { new { url = platform.GatewayHealth.ToString(), expectedStatus = new[] { 200 }, bodyContains = new[] { "ok" } } },
    };

    /// <summary>An application role owning the shop's tables, and an AI database (29 rows) whose table it owns too.</summary>
    private static async Task SeedServerAsync(SamplePlatform platform, string appPassword)
    {
        await platform.ExecuteAsync("postgres", $"CREATE ROLE {AppRole} LOGIN PASSWORD '{appPassword}'", Ct);
        await platform.ExecuteAsync(SamplePlatform.Database, $"ALTER TABLE customers OWNER TO {AppRole}; ALTER TABLE orders OWNER TO {AppRole}", Ct);
        await platform.ExecuteAsync("postgres", $"CREATE DATABASE {AiDatabase}", Ct);
        await platform.ExecuteAsync(AiDatabase, $"""
            CREATE TABLE embeddings (id bigserial PRIMARY KEY, label text NOT NULL, created_at timestamptz NOT NULL);
            INSERT INTO embeddings (label, created_at) SELECT 'item ' || g, timestamptz '2026-03-01 00:00:00+00' + g * interval '1 minute' FROM generate_series(1, 29) g;
            ALTER TABLE embeddings OWNER TO {AppRole};
            """, Ct);
    }

    private sealed record ServerBackups(BackupSet Globals, BackupSet Shop, BackupSet Ai);

    /// <summary>The scheduled backups of the server, by the real activities: globals, both databases (each verified) into the local store.</summary>
    private static async Task<ServerBackups> BackUpServerAsync(DrTestHost dr)
    {
        var builder = new WorkflowBuilder("test-backup-server", "Back up the server (test)").WithDescription("Takes the backups scenario 5 restores.");
        var flow = builder.Flowchart();
        var verifyShop = flow.Add(new VerifyLatestBackup { Id = "verifyShop", Server = new("main"), Source = new(SamplePlatform.Database), Store = new("local") });
        flow.Chain(
            flow.Add(new BackupGlobals { Id = "globals", Server = new("main"), SourceName = new("main"), Store = new("local") }),
            flow.Add(new BackupDatabase { Id = "shop", Server = new("main"), Database = new(SamplePlatform.Database), Store = new("local") }),
            flow.Add(new BackupDatabase { Id = "ai", Server = new("main"), Database = new(AiDatabase), Store = new("local") }),
            verifyShop);
        flow.Connect(verifyShop, flow.Add(new VerifyLatestBackup { Id = "verifyAi", Server = new("main"), Source = new(AiDatabase), Store = new("local") }), VerifyLatestBackup.Verified);
        var definition = await dr.Host.Definitions.SaveAsync(builder.Build(dr.Host.Registry), publish: true, "test", isReadonly: false, Ct);
        var run = await dr.RunAsync(definition.DefinitionId);
        Assert.True(run.SubStatus == WorkflowSubStatus.Finished, string.Join("; ", run.Incidents.Select(i => i.Message)));
        Assert.Equal(VerifyLatestBackup.Verified, await dr.OutcomeAsync(run.Id, "verifyShop"));
        Assert.Equal(VerifyLatestBackup.Verified, await dr.OutcomeAsync(run.Id, "verifyAi"));
        return new ServerBackups(
            Assert.Single(await dr.Catalog.ListAsync("local", BackupKinds.Globals, "main", Ct)),
            Assert.Single(await dr.Catalog.ListAsync("local", BackupKinds.Postgres, SamplePlatform.Database, Ct), s => s.Manifest.IsVerified),
            Assert.Single(await dr.Catalog.ListAsync("local", BackupKinds.Postgres, AiDatabase, Ct), s => s.Manifest.IsVerified));
    }

    private static async Task<JsonNode> JournalDataAsync(DrTestHost dr, string runId, string activityId, string key) =>
        Assert.Single(await dr.Host.JournalAsync(runId), e => e.EventName == JournalEvents.Completed && e.ActivityId == activityId).Payload!["data"]![key]!;

    /// <summary>Overwrites the start of <c>global/pg_control</c> in the (unused) volume through a helper container.</summary>
    internal static Task CorruptControlFileAsync(DockerClient client, string volume) =>
        SamplePlatform.OnVolumeAsync(client, volume, $"printf '%s' '{Damage}' | dd of=/data/global/pg_control bs=1 conv=notrunc 2>/dev/null && sync", Ct);

    /// <summary>The first bytes of <c>global/pg_control</c> in the volume.</summary>
    private static Task<string> ControlFileStartAsync(DockerClient client, string volume) =>
        SamplePlatform.OnVolumeAsync(client, volume, $"head -c {Damage.Length} /data/global/pg_control", Ct);

    internal static async Task WaitForLogAsync(DockerClient client, string container, string text, TimeSpan timeout)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            using var logs = await client.Containers.GetContainerLogsAsync(container, false, new ContainerLogsParameters { ShowStderr = true, ShowStdout = true, Tail = "50" }, Ct);
            var (stdout, stderr) = await logs.ReadOutputToEndAsync(Ct);
            if ((stdout + stderr).Contains(text, StringComparison.Ordinal))
                return;
            Assert.True(waited.Elapsed < timeout, $"'{text}' not in the log of {container} within {timeout}:\n{stdout}{stderr}");
            await Task.Delay(250, Ct);
        }
    }
}
