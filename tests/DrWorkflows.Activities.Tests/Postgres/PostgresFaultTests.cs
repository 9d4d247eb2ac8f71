using System.Diagnostics;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Activities.Tests.Backups;
using DrWorkflows.Activities.Tests.Storage;
using DrWorkflows.Testing;
using Npgsql;

namespace DrWorkflows.Activities.Tests.Postgres;

/// <summary>Each fault gives a clear error naming what failed and what to do, and leaves nothing half-written.</summary>
public sealed class PostgresFaultTests
{
    private static string[] StoredFiles(BackupTestHost host) =>
        Directory.Exists(host.LocalStoreDirectory) ? Directory.GetFiles(host.LocalStoreDirectory, "*", SearchOption.AllDirectories) : [];

    [Fact]
    public async Task An_unreachable_server_is_named_with_its_address_and_readiness_gives_up_after_the_timeout()
    {
        var ct = TestContext.Current.CancellationToken;
        var port = FreePort.Get();
        await using var host = BackupTestHost.Create();
        var server = new PostgresServer("main", $"Host=127.0.0.1;Port={port};Username=postgres;Password=x;Timeout=2");

        var backup = await Assert.ThrowsAsync<BackupException>(() => host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(server, "shop", "e1"), ct));
        Assert.Equal(BackupErrorCodes.DatabaseUnreachable, backup.Code);
        Assert.Contains($"127.0.0.1:{port}", backup.Message, StringComparison.Ordinal);
        Assert.Contains("WaitForPostgres", backup.Message, StringComparison.Ordinal);
        Assert.Empty(StoredFiles(host));

        var watch = Stopwatch.StartNew();
        var ready = await Assert.ThrowsAsync<BackupException>(() => host.Get<IPostgresReadiness>().WaitAsync(server, null, TimeSpan.FromSeconds(3), ct));
        Assert.Equal(BackupErrorCodes.DatabaseUnreachable, ready.Code);
        Assert.Contains("did not become ready within 3 s", ready.Message, StringComparison.Ordinal);
        Assert.InRange(watch.Elapsed.TotalSeconds, 1.5, 15);
    }

    [Fact]
    public async Task Readiness_answers_with_the_server_version_when_up()
    {
        await using var host = BackupTestHost.Create();
        var result = await host.Get<IPostgresReadiness>().WaitAsync(BackupTestHost.TestServer(), null, TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.StartsWith("15.", result.ServerVersion, StringComparison.Ordinal);
        Assert.Equal(1, result.Attempts);
    }

    [Fact]
    public async Task A_wrong_password_fails_at_once_and_says_which_setting_holds_the_password()
    {
        var ct = TestContext.Current.CancellationToken;
        // The test server trusts loopback logins except for this role, which must give its password (tests/run.sh).
        var role = Environment.GetEnvironmentVariable("DRW_TEST_POSTGRES_PASSWORD_ROLE");
        if (string.IsNullOrEmpty(role))
            Assert.Skip("DRW_TEST_POSTGRES_PASSWORD_ROLE is not set: the test server has no role that must give its password (tests/run.sh creates one).");
        var wrong = new NpgsqlConnectionStringBuilder(TestServices.RequirePostgres()) { Username = role, Password = "not-the-password" }.ConnectionString;
        await using var host = BackupTestHost.Create(postgres: p => p.Servers["main"] = wrong);
        var server = host.Get<IPostgresServerResolver>().Resolve("main", null);

        var watch = Stopwatch.StartNew();
        var ready = await Assert.ThrowsAsync<BackupException>(() => host.Get<IPostgresReadiness>().WaitAsync(server, null, TimeSpan.FromSeconds(30), ct));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), "authentication failures are not retried");
        Assert.Equal(BackupErrorCodes.DatabaseAuthentication, ready.Code);
        Assert.Contains("Postgres:Servers:main", ready.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-password", ready.Message, StringComparison.Ordinal);

        var backup = await Assert.ThrowsAsync<BackupException>(() => host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(server, "postgres", "e1"), ct));
        Assert.Equal(BackupErrorCodes.DatabaseAuthentication, backup.Code);
        Assert.Empty(StoredFiles(host));
    }

    [Fact]
    public async Task A_missing_pg_dump_names_the_path_searched_and_the_option_to_set()
    {
        var ct = TestContext.Current.CancellationToken;
        using var empty = new TempDirectory("nobin");
        await using var host = BackupTestHost.Create(postgres: p => p.Tools.BinDirectory = empty.FullPath);
        var error = await Assert.ThrowsAsync<BackupException>(() => host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(BackupTestHost.TestServer(), "postgres", "e1"), ct));
        Assert.Equal(BackupErrorCodes.ToolNotFound, error.Code);
        Assert.Contains(Path.Combine(empty.FullPath, "pg_dump"), error.Message, StringComparison.Ordinal);
        Assert.Contains("Postgres:Tools:BinDirectory", error.Message, StringComparison.Ordinal);
        Assert.Contains("PostgresToolsOptions.BinDirectory", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_zstd_names_the_option_and_leaves_nothing_behind()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = BackupTestHost.Create(compression: c => c.ZstdPath = "/nonexistent/zstd");
        var error = await Assert.ThrowsAsync<BackupException>(() => host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(BackupTestHost.TestServer(), "postgres", "e1"), ct));
        Assert.Equal(BackupErrorCodes.ToolNotFound, error.Code);
        Assert.Contains("/nonexistent/zstd", error.Message, StringComparison.Ordinal);
        Assert.Contains("Backups:Compression:ZstdPath", error.Message, StringComparison.Ordinal);
        Assert.Empty(StoredFiles(host));
    }

    [Fact]
    public async Task A_pg_dump_error_fails_the_backup_with_its_message_and_removes_partial_output()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        await using var source = await SampleDatabase.CreateAsync(2000, ct);
        var role = "drw_limited_" + Guid.NewGuid().ToString("N")[..8];
        await SampleDatabase.ExecuteAsync(source.ConnectionString, $"""
            CREATE ROLE {role} LOGIN PASSWORD 'limited-pw';
            GRANT SELECT ON customers, products, orders TO {role};
            """, ct); // no SELECT on order_items and audit.log: pg_dump fails part-way
        try
        {
            await using var host = BackupTestHost.Create(postgres: p => p.RecordRowCounts = false);
            var limited = new NpgsqlConnectionStringBuilder(serverConnection) { Username = role, Password = "limited-pw" }.ConnectionString;
            var error = await Assert.ThrowsAsync<BackupException>(() => host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(new PostgresServer("limited", limited), source.Name, "e1"), ct));
            Assert.Equal(BackupErrorCodes.ToolFailed, error.Code);
            Assert.Contains("pg_dump", error.Message, StringComparison.Ordinal);
            Assert.Contains("permission denied", error.Message, StringComparison.Ordinal);
            Assert.Empty(StoredFiles(host));
        }
        finally
        {
            await SampleDatabase.ExecuteAsync(source.ConnectionString, $"DROP OWNED BY {role}; DROP ROLE {role};", CancellationToken.None);
        }
    }

    [Fact]
    public async Task Cancelling_a_backup_kills_the_tools_and_aborts_the_upload()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var source = await SampleDatabase.CreateAsync(60_000, ct);
        await using var bucket = await S3TestBucket.CreateAsync(ct);
        await using var host = BackupTestHost.Create(stores: s => bucket.Configure(s), compression: c => c.Method = CompressionMethod.None, postgres: p => p.RecordRowCounts = false);
        var before = Process.GetProcessesByName("pg_dump").Select(p => p.Id).ToHashSet();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var backup = host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(BackupTestHost.TestServer(), source.Name, "e1") { Store = "s3" }, cancel.Token);
        // Cancel while pg_dump runs (a fixed delay could land after a quick backup completed).
        for (var waited = 0; waited < 10_000 && !backup.IsCompleted && !Process.GetProcessesByName("pg_dump").Any(p => !before.Contains(p.Id)); waited += 5)
            await Task.Delay(5, ct);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => backup);
        Assert.DoesNotContain(Process.GetProcessesByName("pg_dump"), p => !before.Contains(p.Id) && !p.HasExited);
        Assert.Empty((await bucket.ListAsync(ct)).Select(o => o.Key));
    }

    [Fact]
    public async Task A_full_store_fails_the_backup_with_a_clear_error_and_nothing_half_written()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var source = await SampleDatabase.CreateAsync(20_000, ct);
        using var temp = new TempDirectory("fullstore");
        using var tmpfs = await TinyFileSystem.MountAsync(temp.Combine("tiny"), "1m", ct);
        await using var host = BackupTestHost.Create(stores: s => s.Local.Directory = tmpfs.Path, compression: c => c.Method = CompressionMethod.None);
        var error = await Assert.ThrowsAsync<BackupException>(() => host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(BackupTestHost.TestServer(), source.Name, "e1"), ct));
        Assert.Equal(BackupErrorCodes.StoreFull, error.Code);
        Assert.Contains("No space left on device", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(tmpfs.Path, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_full_temporary_directory_during_restore_is_reported_and_cleaned_up()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var source = await SampleDatabase.CreateAsync(20_000, ct);
        using var temp = new TempDirectory("fulltemp");
        using var tmpfs = await TinyFileSystem.MountAsync(temp.Combine("tiny"), "1m", ct);
        await using var host = BackupTestHost.Create(postgres: p => p.TempDirectory = tmpfs.Path);
        var server = BackupTestHost.TestServer();
        var set = await host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(server, source.Name, "e1"), ct);
        var target = "drw_restore_" + Guid.NewGuid().ToString("N")[..10];

        var error = await Assert.ThrowsAsync<BackupException>(() => host.Restore.RestoreAsync(new PostgresRestoreRequest(set, server, target) { Mode = RestoreMode.CreateNew }, ct));
        Assert.Equal(BackupErrorCodes.StoreFull, error.Code);
        Assert.Contains("Postgres:TempDirectory", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(tmpfs.Path));
        Assert.False(await SampleDatabase.DatabaseExistsAsync(TestServices.RequirePostgres(), target, ct));
    }
}
