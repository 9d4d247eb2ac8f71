using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Testing;
using Npgsql;

namespace DrWorkflows.Server.Tests.Deployment;

/// <summary>
/// The repository's <c>docker-compose.yml</c> on the test run's private dockerd, with the orchestrator image built
/// offline by <c>deploy/orchestrator/build-image.sh</c> (docs/deployment.md): the default profile comes up healthy and
/// takes a real backup run; the sample platform profile comes up beside it; a bad setting, a missing Docker socket and
/// a read-only state volume each stop the server with one line naming the problem, without a restart loop.
/// </summary>
[TypicalDuration(81)]
public sealed class ComposeDeploymentTests(OrchestratorImage image, ITestOutputHelper output) : IClassFixture<OrchestratorImage>
{
    private static readonly TimeSpan Start = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task DefaultProfile_AnswersHealth_AndTakesABackupRunOfThePlatform()
    {
        image.Require();
        var s3 = TestServices.RequireS3();
        var ct = TestContext.Current.CancellationToken;
        output.WriteLine($"==> {image.Measurements}");
        await using var project = await ComposeProject.CreateAsync(image);
        var bucket = "drw-compose-" + Guid.NewGuid().ToString("N")[..12];
        var platform = $"Host=127.0.0.1;Port={project.PlatformPostgresPort.ToString(CultureInfo.InvariantCulture)};Username=postgres;Password={project.PlatformPassword};Database=postgres;Timeout=30;Command Timeout=300";
        project.Settings.AddRange(
        [
            "Docker__HelperImage=local/busybox:1",
            $"Backups__Stores__S3__BucketName={bucket}",
            $"Backups__Stores__S3__ServiceUrl={s3}",
            "Backups__Stores__S3__ForcePathStyle=true",
            "Backups__Stores__S3__Region=us-east-1",
        ]);
        await project.SecretAsync("Backups__Stores__S3__AccessKeyId", "S3RVER");
        await project.SecretAsync("Backups__Stores__S3__SecretAccessKey", "S3RVER");
        await project.SecretAsync("Postgres__Servers__main", platform);
        await project.SecretAsync("Postgres__Servers__ai", platform);

        // The default profile: the orchestrator alone.
        await project.UpAsync();
        Assert.Equal(["orchestrator"], await RunningServicesAsync(project));
        using var http = new HttpClient { BaseAddress = project.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var answered = await WaitForHealthAsync(http, project, ct);
        var started = (await project.InspectAsync(project.Container)).GetProperty("State").GetProperty("StartedAt").GetDateTimeOffset();
        output.WriteLine($"==> container start to /health 200: {(answered - started).TotalSeconds:F1} s");
        await WaitForHealthStatusAsync(project, project.Container, "healthy", ct);

        // The shipped JSON workflows have no .git in the image: each version records the commit the publish stamped.
        var stamp = SourceCommitStamp.Parse(await File.ReadAllTextAsync(Path.Combine(image.PublishedApp, "workflows", SourceCommits.StampFileName), ct));
        var recorded = await project.DockerAsync("exec", project.Container, "sqlite3", "/var/lib/drworkflows/drworkflows.db",
            "SELECT source_commit FROM definitions WHERE definition_id = 'backup-postgres' AND is_latest = 1;");
        Assert.True(recorded.ExitCode == 0, recorded.Error);
        Assert.Equal(stamp.Files.ContainsKey("backup-postgres.json")
            ? stamp.Commit
            : $"not in git: the file was {stamp.NotCommitted["backup-postgres.json"]}, not committed, when the publish stamped commit {stamp.Commit}", recorded.Output.Trim());
        using (var studio = await http.GetAsync("/studio/_framework/blazor.webassembly.js", ct))
            Assert.True(studio.IsSuccessStatusCode, $"the image's Elsa Studio bundle is not served: {(int)studio.StatusCode}");

        // The sample platform beside it; the shop and AI databases to back up.
        await project.UpAsync("platform");
        Assert.Equal(["backend", "gateway", "orchestrator", "postgres"], await RunningServicesAsync(project));
        await SeedPlatformAsync(project, platform, ct);

        // One backup run (backup-postgres: both databases and the globals into the state volume and S3), started
        // with the admin key the server read from its secret file.
        using var client = new AmazonS3Client(new BasicAWSCredentials("S3RVER", "S3RVER"), new AmazonS3Config
        {
            ServiceURL = s3.ToString(),
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        });
        await client.PutBucketAsync(new PutBucketRequest { BucketName = bucket }, ct);
        try
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("ApiKey", project.ApiKey);
            var dispatch = await http.PostAsJsonAsync("/elsa/api/workflow-definitions/backup-postgres/dispatch", new { input = new { } }, ct);
            Assert.True(dispatch.IsSuccessStatusCode, $"dispatch: {(int)dispatch.StatusCode} {await dispatch.Content.ReadAsStringAsync(ct)}");
            var run = (await dispatch.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("workflowInstanceId").GetString()!;
            var (status, subStatus) = await WaitForRunAsync(http, run, ct);
            var journal = await http.GetStringAsync($"/elsa/api/workflow-instances/{run}/journal?pageSize=200", ct);
            Assert.True(status == "Finished" && subStatus == "Finished", $"backup-postgres ended {status}/{subStatus}; journal: {journal}");

            // The effect, not the status: a manifest of each set in the state volume and in the bucket.
            var local = await project.DockerAsync("exec", project.Container, "find", "/var/lib/drworkflows/backups", "-name", "manifest.json");
            Assert.True(local.ExitCode == 0, local.Error);
            var objects = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket }, ct);
            var keys = (objects.S3Objects ?? []).Select(o => o.Key).ToList();
            foreach (var set in new[] { "ecommerce_db", "ai_db", "globals" })
            {
                Assert.Contains(local.Output.Split('\n'), line => line.Contains(set, StringComparison.Ordinal) && line.EndsWith("manifest.json", StringComparison.Ordinal));
                Assert.Contains(keys, key => key.Contains(set, StringComparison.Ordinal) && key.EndsWith("manifest.json", StringComparison.Ordinal));
            }

            output.WriteLine($"==> backup-postgres in the container: {status}/{subStatus}; {local.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length} manifests in the state volume, {keys.Count} objects in S3");

            // The orchestrator's own state, backed up online as docs/deployment.md says: the copy holds this run.
            var copy = await project.ComposeAsync(["exec", "-T", "orchestrator", "sqlite3", "/var/lib/drworkflows/drworkflows.db", ".backup '/var/lib/drworkflows/drworkflows-backup.db'"], TimeSpan.FromMinutes(2));
            Assert.True(copy.ExitCode == 0, $"the state backup failed: {copy.Tail(10)}");
            var check = await project.DockerAsync("exec", project.Container, "sqlite3", "/var/lib/drworkflows/drworkflows-backup.db", "PRAGMA integrity_check;", $"SELECT count(*) FROM instances WHERE id = '{run}';");
            Assert.Equal("ok\n1", check.Output.Trim());
        }
        finally
        {
            var all = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket }, CancellationToken.None);
            foreach (var item in all.S3Objects ?? [])
                await client.DeleteObjectAsync(bucket, item.Key, CancellationToken.None);
            await client.DeleteBucketAsync(bucket, CancellationToken.None);
        }
    }

    [Fact]
    public async Task ThePublish_StampsTheWorkflowsWithTheCheckoutsCommit()
    {
        image.Require();
        var ct = TestContext.Current.CancellationToken;
        var workflows = Path.Combine(image.PublishedApp, "workflows");
        var stamp = SourceCommitStamp.Parse(await File.ReadAllTextAsync(Path.Combine(workflows, SourceCommits.StampFileName), ct));
        var head = await Shell.RunAsync(["git", "-C", OrchestratorImage.RepositoryRoot, "rev-parse", "HEAD"], TimeSpan.FromMinutes(1));
        Assert.True(head.ExitCode == 0, head.Error);
        Assert.Equal(head.Output.Trim(), stamp.Commit);

        // Every shipped file is in the stamp: clean ones with the SHA-256 of the shipped copy, the others as not committed,
        // as git sees the checkout now (nothing in workflows/ changed during the build).
        var status = await Shell.RunAsync(["git", "-C", Path.Combine(OrchestratorImage.RepositoryRoot, "workflows"), "status", "--porcelain=v1", "--untracked-files=all", "--ignored", "--", "."], TimeSpan.FromMinutes(1));
        Assert.True(status.ExitCode == 0, status.Error);
        var shipped = Directory.EnumerateFiles(workflows, "*.json", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(workflows, f).Replace('\\', '/')).Where(f => !SourceCommits.IsStamp(f)).Order(StringComparer.Ordinal).ToList();
        Assert.Contains("backup-postgres.json", shipped);
        Assert.Equal(shipped, stamp.Files.Keys.Concat(stamp.NotCommitted.Keys).Order(StringComparer.Ordinal));
        foreach (var (file, sha) in stamp.Files)
        {
            Assert.Equal(sha, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(workflows, file), ct))));
            Assert.DoesNotContain($"workflows/{file}", status.Output, StringComparison.Ordinal);
        }

        foreach (var file in stamp.NotCommitted.Keys)
            Assert.Contains($"workflows/{file}", status.Output, StringComparison.Ordinal);

        // The same stamp is in the image, next to the workflows the server loads.
        var inImage = await Shell.RunAsync(["docker", "-H", image.Docker.ToString(), "run", "--rm", "--network", "none", "--entrypoint", "cat", image.Tag, "/opt/drworkflows/workflows/" + SourceCommits.StampFileName], TimeSpan.FromMinutes(2));
        Assert.True(inImage.ExitCode == 0, inImage.Error);
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(workflows, SourceCommits.StampFileName), ct), inImage.Output);
    }

    [Fact]
    public async Task EveryProfile_Renders()
    {
        // docker-compose 1.29 lists every service in `config` whatever the profile; which ones start is checked by
        // DefaultProfile_... on the engine. This only proves the file renders with each profile on.
        var compose = await Shell.RunAsync(["docker-compose", "-f", Path.Combine(OrchestratorImage.RepositoryRoot, "docker-compose.yml"), "config", "-q"],
            TimeSpan.FromMinutes(1), new Dictionary<string, string> { ["COMPOSE_PROFILES"] = "ha,platform" });
        Assert.True(compose.ExitCode == 0, compose.Error);
    }

    [Fact]
    public async Task InvalidSetting_StopsTheServerNamingIt_UnhealthyWithoutARestartLoop()
    {
        image.Require();
        var ct = TestContext.Current.CancellationToken;
        await using var project = await ComposeProject.CreateAsync(image);
        project.Variables["DRW_STORE"] = "mysql";
        await project.UpAsync();

        await WaitForHealthStatusAsync(project, project.Container, "unhealthy", ct);
        var state = (await project.InspectAsync(project.Container)).GetProperty("State");
        var logs = await project.LogsAsync(project.Container);
        Assert.Contains("DrWorkflows cannot start: DRW_STORE='mysql' is not a store", logs, StringComparison.Ordinal);
        Assert.Contains("It stays up without the server (unhealthy) instead of restarting", logs, StringComparison.Ordinal);
        Assert.True(state.GetProperty("Running").GetBoolean(), "the container should stay up (unhealthy), not exit into the restart policy");
        var restarts = (await project.InspectAsync(project.Container)).GetProperty("RestartCount").GetInt32();
        Assert.Equal(0, restarts);
        Assert.Single(logs.Split('\n'), line => line.Contains("cannot start", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MissingDockerSocket_AndReadOnlyStateVolume_EachGiveOneLine()
    {
        image.Require();
        var ct = TestContext.Current.CancellationToken;
        await using var project = await ComposeProject.CreateAsync(image);
        var noSocket = $"{project.Name}-nosocket";
        var readOnly = $"{project.Name}-readonly";
        var volume = $"{project.Name}-state";
        try
        {
            var created = await project.DockerAsync("volume", "create", volume);
            Assert.True(created.ExitCode == 0, created.Error);
            var run1 = await project.DockerAsync("run", "-d", "--name", noSocket, "--network", "none", image.Tag);
            Assert.True(run1.ExitCode == 0, run1.Error);
            var run2 = await project.DockerAsync("run", "-d", "--name", readOnly, "--network", "none",
                "-v", $"{volume}:/var/lib/drworkflows:ro", "-v", $"{image.Docker.AbsolutePath}:/var/run/docker.sock", image.Tag);
            Assert.True(run2.ExitCode == 0, run2.Error);

            var socketLine = await WaitForLogLineAsync(project, noSocket, "cannot start", ct);
            Assert.Equal("DrWorkflows cannot start: the Docker socket /var/run/docker.sock is not mounted: add '<engine socket>:/var/run/docker.sock' to the volumes (DOCKER_SOCKET in .env), or set Docker__Endpoint to tcp://… with TLS.", socketLine);
            var volumeLine = await WaitForLogLineAsync(project, readOnly, "cannot start", ct);
            Assert.Equal("DrWorkflows cannot start: the state volume at DRW_DATA_DIR=/var/lib/drworkflows is mounted read-only: mount it read-write (remove ':ro').", volumeLine);
        }
        finally
        {
            await project.DockerAsync("rm", "-f", "-v", noSocket, readOnly);
            await project.DockerAsync("volume", "rm", "-f", volume);
        }
    }

    /// <summary>The services of the project that have a running container (Compose 1.29's `ps --services` lists every service of the file).</summary>
    private static async Task<List<string>> RunningServicesAsync(ComposeProject project)
    {
        var ps = await project.DockerAsync("ps", "--filter", $"label=com.docker.compose.project={project.Name}", "--format", "{{.Label \"com.docker.compose.service\"}}");
        Assert.True(ps.ExitCode == 0, ps.Error);
        return [.. ps.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal)];
    }

    private static async Task<DateTimeOffset> WaitForHealthAsync(HttpClient http, ComposeProject project, CancellationToken ct)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var response = await http.GetAsync("/health", ct);
                if (response.IsSuccessStatusCode)
                    return DateTimeOffset.UtcNow;
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            if (waited.Elapsed > Start)
                Assert.Fail($"/health did not answer within {Start}; the container's log:\n{await project.LogsAsync(project.Container)}");
            await Task.Delay(100, ct);
        }
    }

    private static async Task WaitForHealthStatusAsync(ComposeProject project, string container, string wanted, CancellationToken ct)
    {
        var waited = Stopwatch.StartNew();
        var status = string.Empty;
        while (waited.Elapsed < Start)
        {
            var state = (await project.InspectAsync(container)).GetProperty("State");
            status = state.TryGetProperty("Health", out var health) ? health.GetProperty("Status").GetString() ?? string.Empty : "none";
            if (status == wanted)
                return;
            await Task.Delay(500, ct);
        }

        Assert.Fail($"{container} was '{status}', not '{wanted}', after {Start}; its log:\n{await project.LogsAsync(container)}");
    }

    private static async Task<string> WaitForLogLineAsync(ComposeProject project, string container, string marker, CancellationToken ct)
    {
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < Start)
        {
            var lines = (await project.LogsAsync(container)).Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains(marker, StringComparison.Ordinal)).ToList();
            if (lines.Count > 0)
            {
                Assert.Single(lines);
                return lines[0].Trim();
            }

            await Task.Delay(250, ct);
        }

        Assert.Fail($"no '{marker}' line from {container} within {Start}:\n{await project.LogsAsync(container)}");
        return string.Empty;
    }

    private static async Task<(string Status, string SubStatus)> WaitForRunAsync(HttpClient http, string run, CancellationToken ct)
    {
        var waited = Stopwatch.StartNew();
        var state = default(JsonElement);
        while (waited.Elapsed < TimeSpan.FromMinutes(10))
        {
            state = await http.GetFromJsonAsync<JsonElement>($"/elsa/api/workflow-instances/{run}/execution-state", ct);
            var status = state.GetProperty("status").GetString()!;
            var subStatus = state.GetProperty("workflowSubStatus").GetString()!;
            if (status == "Finished" || subStatus is "Faulted" or "Cancelled")
                return (status, subStatus);
            await Task.Delay(500, ct);
        }

        Assert.Fail($"run {run} did not finish within 10 minutes: {state}");
        return default;
    }

    private static async Task SeedPlatformAsync(ComposeProject project, string connectionString, CancellationToken ct)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync(ct);
                break;
            }
            catch (NpgsqlException) when (waited.Elapsed < Start)
            {
                await Task.Delay(500, ct);
            }
        }

        var schema = await File.ReadAllTextAsync(Path.Combine(OrchestratorImage.RepositoryRoot, "deploy", "platform", "shop-schema.sql"), ct);
        foreach (var (database, sql) in new[]
                 {
                     ("ecommerce_db", schema + "INSERT INTO customers (email) SELECT 'c' || i || '@example.com' FROM generate_series(1, 25) i;"),
                     ("ai_db", "CREATE TABLE embeddings (id bigserial PRIMARY KEY, vector real[] NOT NULL); INSERT INTO embeddings (vector) VALUES ('{1,2,3}');"),
                 })
        {
            await using (var admin = new NpgsqlConnection(connectionString))
            {
                await admin.OpenAsync(ct);
                await using var create = new NpgsqlCommand($"CREATE DATABASE {database}", admin);
                await create.ExecuteNonQueryAsync(ct);
            }

            await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Database = database, Pooling = false }.ConnectionString);
            await connection.OpenAsync(ct);
            await using var command = new NpgsqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync(ct);
        }

        await WaitForHealthStatusAsync(project, $"{project.Name}_postgres", "healthy", ct);
    }
}
