using Docker.DotNet;
using Docker.DotNet.Models;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Activities.Tests.Backups;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Activities.Tests.Postgres;

/// <summary>
/// Verification of every new set in every store (each copy restored from its own store), in a server that can read
/// the dump (a throwaway container of the source's version, or a refusal with the reason), and pg_restore's first
/// error shown when a restore fails.
/// </summary>
public sealed class VerificationTests
{
    private const string PgImage = "local/pg:15";

    [Fact]
    public async Task Each_new_set_is_verified_in_the_local_store_and_in_S3_from_its_own_store_and_recorded_per_store()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        await using var bucket = await S3TestBucket.CreateAsync(ct);
        await using var source = await SampleDatabase.CreateAsync(100, ct);
        await using var host = BackupTestHost.Create(stores: s => bucket.Configure(s));
        var server = BackupTestHost.TestServer(serverConnection);
        var verifier = host.Get<NewBackupsVerifier>();
        await host.Backup.BackupDatabaseToStoresAsync(new PostgresBackupRequest(server, source.Name, "exec-good"), ["local", "s3"], ct);

        var first = await verifier.VerifyAsync(new VerifyNewBackupsRequest(source.Name) { Server = server }, ct);

        Assert.True(first.Succeeded, string.Join("\n", first.Problems));
        Assert.Equal(["local", "s3"], first.Reports.Select(r => r.Store).Order(StringComparer.Ordinal));
        Assert.All(first.Reports, r =>
        {
            Assert.Equal("exec-good", r.SetId);
            Assert.True(r.Succeeded);
            Assert.True(r.Rows >= 100, $"{r.Rows} rows restored");
        });
        Assert.Contains(first.Reports, r => r.Store == "s3" && r.Method.StartsWith("restore from the s3 store into throwaway database drw_verify_", StringComparison.Ordinal));
        Assert.Contains(first.Reports, r => r.Store == "local" && r.Method.StartsWith("restore from the local store into", StringComparison.Ordinal));
        foreach (var store in new[] { "local", "s3" })
        {
            var recorded = await host.Catalog.FindAsync(store, BackupKinds.Postgres, source.Name, "exec-good", ct);
            Assert.True(recorded!.Manifest.IsVerified, store);
            Assert.Contains($"from the {store} store", recorded.Manifest.Verification!.Method, StringComparison.Ordinal);
        }

        // A second set whose local copy is damaged: the local verification fails and the S3 one passes, so each copy
        // was read from its own store. Sets verified before are not verified again.
        await host.Backup.BackupDatabaseToStoresAsync(new PostgresBackupRequest(server, source.Name, "exec-damaged"), ["local", "s3"], ct);
        var damaged = await host.Catalog.FindAsync("local", BackupKinds.Postgres, source.Name, "exec-damaged", ct);
        var path = Path.Combine(host.LocalStoreDirectory, damaged!.Manifest.MainFile.Key);
        var bytes = await File.ReadAllBytesAsync(path, ct);
        bytes[bytes.Length / 2] ^= 0xFF;
        await File.WriteAllBytesAsync(path, bytes, ct);

        var second = await verifier.VerifyAsync(new VerifyNewBackupsRequest(source.Name) { Server = server }, ct);

        Assert.Equal(2, second.Reports.Count);
        Assert.All(second.Reports, r => Assert.Equal("exec-damaged", r.SetId));
        Assert.False(second.Reports.Single(r => r.Store == "local").Succeeded);
        Assert.True(second.Reports.Single(r => r.Store == "s3").Succeeded);
        var problem = Assert.Single(second.Problems);
        Assert.StartsWith($"{source.Name} (local): backup set exec-damaged did not pass verification: Backup file", problem, StringComparison.Ordinal);
        Assert.Contains("is corrupt", problem, StringComparison.Ordinal);
        Assert.False((await host.Catalog.FindAsync("local", BackupKinds.Postgres, source.Name, "exec-damaged", ct))!.Manifest.IsVerified);
        Assert.True((await host.Catalog.FindAsync("s3", BackupKinds.Postgres, source.Name, "exec-damaged", ct))!.Manifest.IsVerified);
        Assert.Equal(0L, await SampleDatabase.ScalarAsync(serverConnection, ThrowawayDatabasesOf(source.Name), ct));
    }

    [Fact]
    public async Task A_backup_of_a_newer_minor_version_is_verified_in_a_throwaway_container_of_its_major_version_which_is_then_removed()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        var docker = TestServices.RequireDocker();
        TestServices.RequireDockerImage(PgImage);
        await using var source = await SampleDatabase.CreateAsync(100, ct);
        await using var host = ContainerHost(docker, PgImage);
        var set = await host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(BackupTestHost.TestServer(serverConnection), source.Name, "exec-newer"), ct);
        // The dump says it comes from a newer 15.x than any server here (as 15.20 against a 15.18 verification server).
        await SetSourceVersionAsync(host, set, "15.99");

        // No verification server is configured or given: only a container can verify it.
        var report = await host.Get<IBackupVerifier>().VerifyAsync(new VerifyBackupRequest(source.Name), ct);

        Assert.True(report.Succeeded, string.Join("\n", report.Problems));
        Assert.Matches(@"^restore from the local store into throwaway container drw-verify-[a-z0-9]+-[0-9a-f]{8} \(local/pg:15, PostgreSQL 15\.\d+", report.Method);
        Assert.True(report.Rows >= 100, $"{report.Rows} rows restored");
        Assert.True((await host.Catalog.FindAsync(null, BackupKinds.Postgres, source.Name, "exec-newer", ct))!.Manifest.IsVerified);
        using var client = new DockerClientConfiguration(docker).CreateClient();
        Assert.Empty(await VerificationContainersAsync(client, ct));
    }

    [Fact]
    public async Task Without_an_image_of_the_sources_major_version_or_on_the_engine_the_verification_is_refused_naming_it_and_nothing_is_recorded()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        var docker = TestServices.RequireDocker();
        await using var source = await SampleDatabase.CreateAsync(20, ct);
        await using var host = ContainerHost(docker, "local/pg:15-not-built");
        var set = await host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(BackupTestHost.TestServer(serverConnection), source.Name, "exec-old"), ct);
        var verifier = host.Get<IBackupVerifier>();

        var absent = await Assert.ThrowsAsync<BackupException>(() => verifier.VerifyAsync(new VerifyBackupRequest(source.Name), ct));
        await SetSourceVersionAsync(host, set, "14.11");
        var noImage = await Assert.ThrowsAsync<BackupException>(() => verifier.VerifyAsync(new VerifyBackupRequest(source.Name), ct));

        Assert.Equal(BackupErrorCodes.VerificationRefused, absent.Code);
        Assert.Contains("The verification image local/pg:15-not-built is not on the Docker engine", absent.Message, StringComparison.Ordinal);
        Assert.Equal(BackupErrorCodes.VerificationRefused, noImage.Code);
        Assert.Contains("No verification image for PostgreSQL 14", noImage.Message, StringComparison.Ordinal);
        Assert.Contains("Postgres:VerificationContainers:Images:14", noImage.Message, StringComparison.Ordinal);
        Assert.Null((await host.Catalog.FindAsync(null, BackupKinds.Postgres, source.Name, "exec-old", ct))!.Manifest.Verification);
    }

    [Fact]
    public async Task A_verification_cancelled_while_its_container_starts_leaves_no_container_behind()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        var docker = TestServices.RequireDocker();
        TestServices.RequireDockerImage(PgImage);
        await using var source = await SampleDatabase.CreateAsync(20, ct);
        await using var host = ContainerHost(docker, PgImage);
        await host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(BackupTestHost.TestServer(serverConnection), source.Name, "exec-cancel"), ct);
        using var client = new DockerClientConfiguration(docker).CreateClient();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);

        var verification = host.Get<IBackupVerifier>().VerifyAsync(new VerifyBackupRequest(source.Name), cancel.Token);
        // Cancel as soon as the container exists (it then waits for PostgreSQL, or restores).
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while ((await VerificationContainersAsync(client, ct)).Count == 0 && !verification.IsCompleted && DateTime.UtcNow < deadline)
            await Task.Delay(100, ct);
        Assert.False(verification.IsCompleted, "the verification ended before its container was seen");
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => verification);
        Assert.Empty(await VerificationContainersAsync(client, ct));
        Assert.Null((await host.Catalog.FindAsync(null, BackupKinds.Postgres, source.Name, "exec-cancel", ct))!.Manifest.Verification);
    }

    [Fact]
    public async Task Verification_images_are_checked_when_the_host_starts()
    {
        await using var host = BackupTestHost.Create(postgres: p =>
        {
            p.VerificationContainers.Images["fifteen"] = "postgres:15";
            p.VerificationContainers.Images["16"] = " ";
        });

        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(host.ValidateOptions);

        Assert.Contains("Postgres:VerificationContainers:Images:fifteen: the key must be a PostgreSQL major version", error.Message, StringComparison.Ordinal);
        Assert.Contains("Postgres:VerificationContainers:Images:16 must name an image", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_verification_server_older_than_the_source_is_refused_with_the_reason_and_the_set_stays_new()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        await using var source = await SampleDatabase.CreateAsync(20, ct);
        await using var host = BackupTestHost.Create();
        var server = BackupTestHost.TestServer(serverConnection);
        var set = await host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(server, source.Name, "exec-minor"), ct);
        await SetSourceVersionAsync(host, set, "15.99");

        var result = await host.Get<NewBackupsVerifier>().VerifyAsync(new VerifyNewBackupsRequest(source.Name) { Server = server }, ct);

        Assert.Empty(result.Reports);
        var problem = Assert.Single(result.Problems);
        Assert.StartsWith($"{source.Name} (local): backup set exec-minor could not be verified: PostgreSQL server 'test'", problem, StringComparison.Ordinal);
        Assert.Contains("older than the PostgreSQL 15.99 the backup was taken from", problem, StringComparison.Ordinal);
        Assert.Contains("Postgres:VerificationContainers:Images:15", problem, StringComparison.Ordinal);
        Assert.Null((await host.Catalog.FindAsync(null, BackupKinds.Postgres, source.Name, "exec-minor", ct))!.Manifest.Verification);
        Assert.Equal(0L, await SampleDatabase.ScalarAsync(serverConnection, ThrowawayDatabasesOf(source.Name), ct));
    }

    [Fact]
    public async Task A_pg_restore_failure_message_starts_with_its_first_error()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        var role = "drw_r_" + Guid.NewGuid().ToString("N")[..8];
        await using var source = await SampleDatabase.CreateAsync(10, ct);
        await using var host = BackupTestHost.Create(postgres: p => p.RestoreJobs = 1);
        var server = BackupTestHost.TestServer(serverConnection);
        try
        {
            // 60 row-level policies for a role, dumped; then the role is renamed, so each CREATE POLICY fails on
            // restore: 60 errors, far more than the last lines a message can hold. The first one is policy p01.
            var policies = string.Concat(Enumerable.Range(1, 60).Select(i => $"CREATE POLICY p{i:00} ON customers TO {role} USING (id > {i});"));
            await SampleDatabase.ExecuteAsync(serverConnection, $"CREATE ROLE {role}", ct);
            await SampleDatabase.ExecuteAsync(source.ConnectionString, "ALTER TABLE customers ENABLE ROW LEVEL SECURITY;" + policies, ct);
            await host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(server, source.Name, "exec-policies"), ct);
            await SampleDatabase.ExecuteAsync(serverConnection, $"ALTER ROLE {role} RENAME TO {role}_gone", ct);

            var report = await host.Get<IBackupVerifier>().VerifyAsync(new VerifyBackupRequest(source.Name) { Server = server }, ct);

            Assert.False(report.Succeeded);
            var problem = Assert.Single(report.Problems);
            Assert.StartsWith($"pg_restore: error: could not execute query: ERROR:  role \"{role}\" does not exist Command was: CREATE POLICY p01 ON public.customers", problem, StringComparison.Ordinal);
            Assert.Contains("(60 error(s) in all)", problem, StringComparison.Ordinal);
            Assert.Contains("the last: pg_restore: error: could not execute query: ERROR:  role", problem, StringComparison.Ordinal);
            Assert.Contains("CREATE POLICY p60", problem, StringComparison.Ordinal);
            Assert.True(problem.IndexOf("p01", StringComparison.Ordinal) < problem.IndexOf("p60", StringComparison.Ordinal));
            Assert.False((await host.Catalog.FindAsync(null, BackupKinds.Postgres, source.Name, "exec-policies", ct))!.Manifest.IsVerified);
            Assert.Equal(0L, await SampleDatabase.ScalarAsync(serverConnection, ThrowawayDatabasesOf(source.Name), ct));
        }
        finally
        {
            await source.DisposeAsync();
            await SampleDatabase.ExecuteAsync(serverConnection, $"DROP ROLE IF EXISTS {role}_gone; DROP ROLE IF EXISTS {role}", CancellationToken.None);
        }
    }

    [Theory]
    [InlineData("15.20", 15, 20)]
    [InlineData("16.4 (Debian 16.4-1.pgdg120+1)", 16, 4)]
    [InlineData("17beta1", 17, 0)]
    public void A_manifests_server_version_is_read_as_major_and_minor(string text, int major, int minor)
    {
        Assert.Equal(new PostgresVersion(major, minor), PostgresVersion.Parse(text));
        Assert.True(new PostgresVersion(15, 18).IsOlderThan(new PostgresVersion(15, 20)));
        Assert.False(new PostgresVersion(16, 0).IsOlderThan(new PostgresVersion(15, 20)));
        Assert.Equal(new PostgresVersion(15, 18), PostgresVersion.FromNumber(150018));
        Assert.Null(PostgresVersion.Parse(null));
    }

    [Fact]
    public void The_summary_of_a_tools_errors_starts_with_the_first_and_counts_them()
    {
        var stderr = string.Join('\n', [
            "pg_restore: error: could not execute query: ERROR:  unrecognized configuration parameter \"transaction_timeout\"",
            "Command was: SET transaction_timeout = 0;",
            "pg_restore: error: could not execute query: ERROR:  relation \"public.orders\" does not exist",
            "Command was: COPY public.orders (id) FROM stdin;",
            "… 120 line(s) of stderr left out …",
            "pg_restore: error: could not execute query: ERROR:  relation \"public.items\" does not exist",
            "pg_restore: warning: errors ignored on restore: 64",
        ]);

        var summary = PostgresConnections.FirstErrors(stderr, max: 2);

        Assert.StartsWith("pg_restore: error: could not execute query: ERROR:  unrecognized configuration parameter \"transaction_timeout\" Command was: SET transaction_timeout = 0; | pg_restore: error:", summary, StringComparison.Ordinal);
        Assert.EndsWith("… 1 more, the last: pg_restore: error: could not execute query: ERROR:  relation \"public.items\" does not exist (64 error(s) in all)", summary, StringComparison.Ordinal);
        Assert.Equal("a | b", PostgresConnections.FirstErrors("a\nb"));
    }

    /// <summary>
    /// Counts the throwaway databases of one source (<c>drw_verify_&lt;source's letters and digits&gt;_…</c>): the other
    /// tests of the run verify in parallel on the same server.
    /// </summary>
    private static string ThrowawayDatabasesOf(string source)
    {
        var hint = new string([.. source.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit)]);
        return $"SELECT count(*) FROM pg_database WHERE datname LIKE 'drw_verify_{(hint.Length > 20 ? hint[..20] : hint)}\\_%'";
    }

    private static async Task<IList<ContainerListResponse>> VerificationContainersAsync(DockerClient client, CancellationToken ct) =>
        await client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [ThrowawayPostgresContainer.Label + "=verification"] = true } },
        }, ct);

    /// <summary>Backup services that verify in throwaway containers of <paramref name="image"/> (PostgreSQL 15) on the test engine.</summary>
    private static BackupTestHost ContainerHost(Uri docker, string image) => BackupTestHost.Create(
        postgres: p =>
        {
            p.VerificationContainers.Images["15"] = image;
            p.VerificationContainers.HostNetwork = true; // the test engine has no bridge network
            p.VerificationContainers.StartTimeoutSeconds = 180;
        },
        configure: services => services.AddOptions<DockerOptions>().Configure(o => o.Endpoint = docker.ToString()));

    /// <summary>Rewrites the server version in a set's manifest (a dump of another PostgreSQL version).</summary>
    private static async Task SetSourceVersionAsync(BackupTestHost host, BackupSet set, string version)
    {
        var ct = TestContext.Current.CancellationToken;
        var stored = await host.Catalog.FindAsync(set.Store, set.Kind, set.Source, set.Id, ct);
        stored!.Manifest.ServerVersion = version;
        await host.Stores.Get(set.Store).PutAsync(stored.ManifestKey, stored.Manifest.ToJsonBytes(), ct);
    }
}
