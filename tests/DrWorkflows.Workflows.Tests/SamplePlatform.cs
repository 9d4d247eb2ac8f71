using System.Diagnostics;
using System.Formats.Tar;
using System.Globalization;
using System.Security.Cryptography;
using Docker.DotNet;
using Docker.DotNet.Models;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Http;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// The sample Compose platform of <c>deploy/platform</c> (shop PostgreSQL, backend, gateway) on the test run's
/// private dockerd, as its own Compose project with a unique name: a temp directory holds a copy of the Compose file
/// and an <c>.env</c> with free loopback ports and a fresh password. Whatever is left of the project (containers,
/// volumes, networks) is removed on dispose, even when the test failed before <c>docker-compose down</c>.
/// </summary>
internal sealed class SamplePlatform : IAsyncDisposable
{
    public const string PostgresImage = "local/pg:15";
    public const string BusyboxImage = "local/busybox:1";
    public const string Database = "ecommerce_db";

    private readonly TempDirectory directory;
    private readonly List<string> overrides = [];

    private SamplePlatform(Uri endpoint, TempDirectory directory)
    {
        DockerEndpoint = endpoint;
        this.directory = directory;
    }

    /// <summary>Compose project name and container-name prefix (PLATFORM_NAME), e.g. <c>drwe-1a2b3c4d</c>.</summary>
    public string Project { get; } = $"drwe-{Guid.NewGuid():N}"[..13];

    public Uri DockerEndpoint { get; }

    public int PostgresPort { get; } = FreePort.Get();

    public int GatewayPort { get; } = FreePort.Get();

    /// <summary>The postgres superuser's password of this project (never a fixed value, never logged).</summary>
    public string Password { get; } = Guid.NewGuid().ToString("N");

    public string PostgresContainer => $"{Project}_postgres";

    public string BackendContainer => $"{Project}_backend";

    public string GatewayContainer => $"{Project}_gateway";

    /// <summary>The named volume of PostgreSQL's data, as Compose names it (<c>&lt;project&gt;_postgres_data</c>).</summary>
    public string PostgresVolume => $"{Project}_postgres_data";

    public string ComposeFile => directory.Combine("docker-compose.yml");

    public string ProjectDirectory => directory.FullPath;

    public Uri GatewayHealth => new($"http://127.0.0.1:{GatewayPort.ToString(CultureInfo.InvariantCulture)}/health");

    /// <summary>Where the repository's <c>deploy/platform</c> is copied next to the tests.</summary>
    public static string SourceDirectory => Path.Combine(AppContext.BaseDirectory, "platform");

    /// <summary>Prepares a project (nothing runs yet), or skips the test when the private dockerd or its images are missing.</summary>
    public static SamplePlatform Create()
    {
        var endpoint = TestServices.RequireDocker();
        TestServices.RequireDockerImage(PostgresImage);
        TestServices.RequireDockerImage(BusyboxImage);
        var directory = new TempDirectory("drw-platform");
        var platform = new SamplePlatform(endpoint, directory);
        foreach (var file in new[] { "docker-compose.yml", "shop-schema.sql" })
            File.Copy(Path.Combine(SourceDirectory, file), directory.Combine(file));

        // Compose v1 reads .env from the project directory (its working directory here).
        File.WriteAllLines(directory.Combine(".env"),
        [
            $"PLATFORM_NAME={platform.Project}",
            $"PLATFORM_PG_PORT={platform.PostgresPort.ToString(CultureInfo.InvariantCulture)}",
            $"PLATFORM_WEB_PORT={platform.GatewayPort.ToString(CultureInfo.InvariantCulture)}",
            $"PLATFORM_PG_PASSWORD={platform.Password}",
            $"PLATFORM_DATABASE={Database}",
        ]);
        return platform;
    }

    /// <summary>
    /// Npgsql connection string of the platform's PostgreSQL (the <c>postgres</c> database unless named); also the
    /// orchestrator's <c>main</c> server. Its timeouts are generous: with several test runs on the 2-core machine (load
    /// average 40) connecting (Npgsql's type loading included) took over 5 s and single queries over 30 s.
    /// </summary>
    public string ConnectionString(string database = "postgres") => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = PostgresPort,
        Username = "postgres",
        Password = Password,
        Database = database,
        Timeout = 30,
        CommandTimeout = 120,
        Pooling = false,
    }.ConnectionString;

    /// <summary>The Docker options of the activities: this engine, this Compose project.</summary>
    public void Configure(DockerOptions options)
    {
        options.Endpoint = DockerEndpoint.ToString();
        options.HelperImage = BusyboxImage;
        options.PollInterval = TimeSpan.FromMilliseconds(250);
        options.ComposeProject = Project;
        options.ComposeProjectDirectory = ProjectDirectory;
        options.ComposeFiles.Clear();
        options.ComposeFiles.Add(ComposeFile);
        foreach (var file in overrides)
            options.ComposeFiles.Add(file);
    }

    /// <summary>A Compose file merged over the platform's (e.g. a fault in one service); call it before the DR host is built.</summary>
    public void AddComposeOverride(string yaml)
    {
        var file = directory.Combine($"override-{overrides.Count + 1}.yml");
        File.WriteAllText(file, yaml);
        overrides.Add(file);
    }

    /// <summary>
    /// Replaces the recording Docker, Compose and smoke-test fakes of <see cref="DrTestHost"/> with the real services,
    /// registered exactly as <c>AddDockerActivities</c> and <c>AddHttpSmokeTests</c> register them.
    /// </summary>
    public void UseRealDockerAndSmokeTests(IServiceCollection services)
    {
        var real = new ServiceCollection();
        real.AddDockerActivities(Configure);
        real.AddHttpSmokeTests();
        services.RemoveAll<IDockerService>();
        services.RemoveAll<IComposeService>();
        services.RemoveAll<ISmokeTester>();
        foreach (var descriptor in real.Where(d => d.ServiceType == typeof(IDockerService) || d.ServiceType == typeof(IComposeService)
                     || d.ServiceType == typeof(ISmokeTester) || d.ServiceType == typeof(DrWorkflows.Activities.Hosts.IProcessRunner)))
        {
            services.Add(descriptor);
        }

        services.AddOptions<SmokeTestOptions>();
        services.Configure<DockerOptions>(Configure);
    }

    /// <summary>
    /// A DR host whose Docker, Compose and smoke tests are the real services on this platform, with real PostgreSQL
    /// backups (server <c>main</c>, the local store, verified on <c>main</c>); skips the test without PostgreSQL's tools.
    /// </summary>
    public Task<DrTestHost> StartDrHostAsync(Action<IServiceCollection>? configure = null)
    {
        var bin = TestServices.RequirePgBin();
        return DrTestHost.StartWithRealBackupsAsync(
            o =>
            {
                o.Tools.BinDirectory = bin;
                o.Servers["main"] = ConnectionString();
                o.VerificationServer = "main";
                o.RestoreJobs = 1;
            },
            services =>
            {
                UseRealDockerAndSmokeTests(services);
                configure?.Invoke(services);
            });
    }

    /// <summary><c>docker-compose down</c> of the project (volumes kept); a failure is only reported, the dispose removes what is left.</summary>
    public static async Task DownAsync(IComposeService compose, ITestOutputHelper output)
    {
        try
        {
            await compose.RunAsync(new ComposeRequest(ComposeVerb.Down) { StopTimeout = TimeSpan.FromSeconds(1) }, CancellationToken.None);
        }
        catch (DockerOperationException e)
        {
            output.WriteLine($"docker-compose down failed (the dispose removes what is left): {e.Message}");
        }
    }

    /// <summary>
    /// <c>docker-compose up</c>, the shop database created and seeded, every service healthy (the report is returned).
    /// The first start runs initdb, which takes well over a minute when several engineers' test runs share the machine
    /// (load average 40 on 2 cores was seen): the deadlines are generous, and a failure shows PostgreSQL's own log.
    /// </summary>
    public async Task<HealthWaitResult> UpAndSeedAsync(IComposeService compose, IDockerService docker, int customers, CancellationToken cancellationToken)
    {
        await compose.RunAsync(new ComposeRequest(ComposeVerb.Up), cancellationToken);
        try
        {
            await WaitForServerAsync(TimeSpan.FromSeconds(240), cancellationToken);
            await SeedShopAsync(customers, cancellationToken);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            Assert.Fail($"The platform's PostgreSQL ({PostgresContainer} on 127.0.0.1:{PostgresPort}) did not take the seed: {e.GetBaseException().Message}\nIts log:\n{await PostgresLogAsync()}");
        }

        var up = await docker.WaitForHealthyAsync(ContainerSelector.Project(Project), TimeSpan.FromSeconds(120), cancellationToken);
        if (!up.AllReady)
        {
            var logs = new List<string>();
            foreach (var container in up.NotReady)
                logs.Add($"Log of {container.Name}:\n{await LogAsync(container.Name)}");
            Assert.Fail(up.Describe() + "\n" + string.Join("\n", logs));
        }

        return up;
    }

    /// <summary>The monitoring stand-in's container: a busybox that only holds the monitoring volumes (the images are built offline).</summary>
    public string MonitoringContainer => $"{Project}_prometheus";

    /// <summary>The monitoring volumes (<c>&lt;project&gt;_prometheus_data</c>, <c>&lt;project&gt;_grafana_data</c>).</summary>
    public IReadOnlyList<string> MonitoringVolumes => [$"{Project}_prometheus_data", $"{Project}_grafana_data"];

    /// <summary>
    /// Starts the platform's monitoring stand-in without Compose (nothing else of the platform needs to run): the two
    /// monitoring volumes filled with <paramref name="files"/> (volume → path → content) and a container of the
    /// project (Compose's labels, so the dispose removes it) that mounts both and only sleeps.
    /// </summary>
    public async Task StartMonitoringAsync(IDockerService docker, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> files, CancellationToken cancellationToken)
    {
        var labels = new Dictionary<string, string> { ["com.docker.compose.project"] = Project };
        foreach (var volume in MonitoringVolumes)
        {
            await docker.CreateVolumeAsync(volume, labels, cancellationToken);
            await WriteVolumeAsync(docker, volume, files[volume], cancellationToken);
        }

        using var client = new DockerClientConfiguration(DockerEndpoint).CreateClient();
        await client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = BusyboxImage,
            Name = MonitoringContainer,
            Cmd = ["sleep", "3600"],
            Labels = new Dictionary<string, string>(labels) { ["com.docker.compose.service"] = "prometheus" },
            StopSignal = "SIGKILL",
            HostConfig = new HostConfig { Binds = [$"{MonitoringVolumes[0]}:/prometheus", $"{MonitoringVolumes[1]}:/var/lib/grafana"], NetworkMode = "none" },
        }, cancellationToken);
        await client.Containers.StartContainerAsync(MonitoringContainer, new ContainerStartParameters(), cancellationToken);
    }

    /// <summary>Writes files into a volume (over what is there), as a tar through the engine.</summary>
    public static async Task WriteVolumeAsync(IDockerService docker, string volume, IReadOnlyDictionary<string, string> files, CancellationToken cancellationToken)
    {
        using var tar = new MemoryStream();
        await using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (path, content) in files)
            {
                var entry = new PaxTarEntry(TarEntryType.RegularFile, path) { DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(content)) };
                await writer.WriteEntryAsync(entry, cancellationToken);
            }
        }

        tar.Position = 0;
        await docker.RestoreVolumeAsync(volume, tar, cancellationToken);
    }

    /// <summary>The last lines of the PostgreSQL container's log (for a failure message).</summary>
    private Task<string> PostgresLogAsync() => LogAsync(PostgresContainer);

    /// <summary>The last lines of a container's log (for a failure message).</summary>
    private async Task<string> LogAsync(string container)
    {
        try
        {
            using var client = new DockerClientConfiguration(DockerEndpoint).CreateClient();
            using var logs = await client.Containers.GetContainerLogsAsync(container, false, new ContainerLogsParameters { ShowStderr = true, ShowStdout = true, Tail = "40", Timestamps = true }, CancellationToken.None);
            var (stdout, stderr) = await logs.ReadOutputToEndAsync(CancellationToken.None);
            return stdout + stderr;
        }
        catch (Exception e) when (e is DockerApiException or IOException or HttpRequestException)
        {
            return $"(no log: {e.Message})";
        }
    }

    /// <summary>Waits until the PostgreSQL server of the platform accepts a login (the first start runs initdb).</summary>
    public async Task WaitForServerAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await using var connection = new NpgsqlConnection(ConnectionString());
                await connection.OpenAsync(cancellationToken);
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException && waited.Elapsed < timeout)
            {
                await Task.Delay(200, cancellationToken);
            }
        }
    }

    /// <summary>Creates the shop database from <c>shop-schema.sql</c> and fills it with a few customers and orders.</summary>
    public async Task SeedShopAsync(int customers, CancellationToken cancellationToken)
    {
        await ExecuteAsync("postgres", $"CREATE DATABASE {Database}", cancellationToken);
        await ExecuteAsync(Database, await File.ReadAllTextAsync(directory.Combine("shop-schema.sql"), cancellationToken), cancellationToken);
        await ExecuteAsync(Database, $"""
            INSERT INTO customers (email, created_at) SELECT 'user' || g || '@example.test', timestamptz '2026-01-01 00:00:00+00' + g * interval '1 hour' FROM generate_series(1, {customers}) g;
            INSERT INTO orders (customer_id, total, created_at) SELECT 1 + g % {customers}, g * 1.5, timestamptz '2026-02-01 00:00:00+00' + g * interval '1 minute' FROM generate_series(1, {2 * customers}) g;
            """, cancellationToken);
    }

    public async Task ExecuteAsync(string database, string sql, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new NpgsqlConnection(ConnectionString(database));
            await connection.OpenAsync(cancellationToken);
#pragma warning disable CA2100 // Test-owned SQL: the schema file of the repository and constants of the test.
            await using var command = new NpgsqlCommand(sql, connection);
#pragma warning restore CA2100
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (NpgsqlException e) when (e is not PostgresException)
        {
            // The server went away: say what its container logged, not only that the stream ended.
            throw new InvalidOperationException($"{PostgresContainer} dropped the connection ({e.Message}); its log ends with: {await PostgresLogTailAsync()}", e);
        }
    }

    /// <summary>The last lines the PostgreSQL container logged (for failure messages).</summary>
    public async Task<string> PostgresLogTailAsync()
    {
        try
        {
            using var client = new DockerClientConfiguration(DockerEndpoint).CreateClient();
            var inspect = await client.Containers.InspectContainerAsync(PostgresContainer, CancellationToken.None);
            using var logs = await client.Containers.GetContainerLogsAsync(PostgresContainer, false, new ContainerLogsParameters { ShowStderr = true, ShowStdout = true, Tail = "25" }, CancellationToken.None);
            var (stdout, stderr) = await logs.ReadOutputToEndAsync(CancellationToken.None);
            return $"[state {inspect.State.Status}, restarts {inspect.RestartCount}, OOM-killed {inspect.State.OOMKilled}, exit {inspect.State.ExitCode}] " +
                   string.Join(" | ", (stdout + stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(25));
        }
        catch (Exception e) when (e is DockerApiException or HttpRequestException or IOException)
        {
            return $"(no log: {e.Message})";
        }
    }

    /// <summary>The first value of a query in <paramref name="database"/>, as the given login (default the superuser).</summary>
    public async Task<T> ScalarAsync<T>(string database, string sql, CancellationToken cancellationToken, string? username = null, string? password = null)
    {
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString(database));
        if (username is not null)
            (builder.Username, builder.Password) = (username, password);
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(cancellationToken);
#pragma warning disable CA2100 // Constant SQL of the test.
        await using var command = new NpgsqlCommand(sql, connection);
#pragma warning restore CA2100
        return (T)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Row count of a shop table, or null when the table does not exist.</summary>
    public async Task<long?> CountAsync(string table, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(ConnectionString(Database));
        await connection.OpenAsync(cancellationToken);
        await using var exists = new NpgsqlCommand("SELECT to_regclass(@table) IS NOT NULL", connection);
        exists.Parameters.AddWithValue("table", "public." + table);
        if (!(bool)(await exists.ExecuteScalarAsync(cancellationToken))!)
            return null;
#pragma warning disable CA2100 // The table name exists (checked above) and is a constant of the test.
        await using var count = new NpgsqlCommand($"SELECT count(*) FROM {table}", connection);
#pragma warning restore CA2100
        return (long)(await count.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// Runs a shell script in a busybox helper container that mounts the volume at <c>/data</c> (no network); returns
    /// its standard output, and fails the test when the script fails.
    /// </summary>
    public static async Task<string> OnVolumeAsync(DockerClient client, string volume, string script, CancellationToken cancellationToken)
    {
        var helper = await client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = BusyboxImage,
            Cmd = ["sh", "-c", script],
            HostConfig = new HostConfig { Binds = [$"{volume}:/data"], NetworkMode = "none" },
            Labels = new Dictionary<string, string> { ["org.drworkflows.test"] = "sample-platform" },
        }, cancellationToken);
        try
        {
            await client.Containers.StartContainerAsync(helper.ID, new ContainerStartParameters(), cancellationToken);
            var exit = await client.Containers.WaitContainerAsync(helper.ID, cancellationToken);
            using var logs = await client.Containers.GetContainerLogsAsync(helper.ID, false, new ContainerLogsParameters { ShowStderr = true, ShowStdout = true }, cancellationToken);
            var (stdout, stderr) = await logs.ReadOutputToEndAsync(cancellationToken);
            Assert.True(exit.StatusCode == 0, $"`{script}` on {volume} exited with {exit.StatusCode}: {stderr}");
            return stdout;
        }
        finally
        {
            await client.Containers.RemoveContainerAsync(helper.ID, new ContainerRemoveParameters { Force = true }, CancellationToken.None);
        }
    }

    /// <summary>SHA-256 of a file, lower-case hex (as the activities journal it).</summary>
    public static async Task<string> Sha256Async(string path, CancellationToken cancellationToken)
    {
        await using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken));
    }

    /// <summary>The first bytes (at most <paramref name="maxBytes"/>) of a file in a volume archive, by its path in the volume; null when absent.</summary>
    public static async Task<byte[]?> ArchivedFileAsync(string archivePath, string name, int maxBytes, CancellationToken cancellationToken)
    {
        await using var file = File.OpenRead(archivePath);
        await using var tar = new TarReader(file);
        while (await tar.GetNextEntryAsync(copyData: true, cancellationToken) is { } entry)
        {
            if (entry.Name.TrimStart('.', '/') != name || entry.DataStream is null)
                continue;
            var buffer = new byte[Math.Min(maxBytes, entry.Length)];
            await entry.DataStream.ReadExactlyAsync(buffer, cancellationToken);
            return buffer;
        }

        return null;
    }

    /// <summary>
    /// Removes every container, volume and image of the project (and a network, should one exist), copies of its
    /// data volume made by a workflow, then the temp directory.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        using var client = new DockerClientConfiguration(DockerEndpoint).CreateClient();
        var byProject = new Dictionary<string, IDictionary<string, bool>>
        {
            ["label"] = new Dictionary<string, bool> { [$"com.docker.compose.project={Project}"] = true },
        };
        try
        {
            foreach (var container in await client.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = byProject }))
                await client.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true, RemoveVolumes = true });
            foreach (var volume in (await client.Volumes.ListAsync(new VolumesListParameters { Filters = byProject })).Volumes ?? [])
                await client.Volumes.RemoveAsync(volume.Name, true);

            // Volumes a restore created next to the project's (monitoring: -restored-, -before-restore-) carry its name.
            foreach (var volume in (await client.Volumes.ListAsync(new VolumesListParameters())).Volumes ?? [])
            {
                if (volume.Name.StartsWith(Project + "_", StringComparison.Ordinal))
                    await client.Volumes.RemoveAsync(volume.Name, true);
            }

            // A volume re-created by a workflow without Compose's labels is found by its name.
            try
            {
                await client.Volumes.RemoveAsync(PostgresVolume, true);
            }
            catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
            }

            // Copies a workflow made of the data volume (the quarantine of scenario 3) carry the name of their source.
            var copies = new Dictionary<string, IDictionary<string, bool>>
            {
                ["label"] = new Dictionary<string, bool> { [$"org.drworkflows.copied-from={PostgresVolume}"] = true },
            };
            foreach (var volume in (await client.Volumes.ListAsync(new VolumesListParameters { Filters = copies })).Volumes ?? [])
                await client.Volumes.RemoveAsync(volume.Name, true);

            // Images committed from the project's containers (forensic snapshots) keep the containers' Compose labels.
            foreach (var image in await client.Images.ListImagesAsync(new ImagesListParameters { Filters = byProject }))
                await client.Images.DeleteImageAsync(image.ID, new ImageDeleteParameters { Force = true });

            foreach (var network in await client.Networks.ListNetworksAsync(new NetworksListParameters { Filters = byProject }))
                await client.Networks.DeleteNetworkAsync(network.ID);
        }
        finally
        {
            directory.Dispose();
        }
    }
}
