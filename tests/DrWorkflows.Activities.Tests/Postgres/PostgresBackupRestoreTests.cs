using System.Security.Cryptography;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Activities.Tests.Backups;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Tests.Postgres;

/// <summary>Real pg_dump/pg_restore, zstd, gzip, gpg and age against the test PostgreSQL server and s3rver.</summary>
[TypicalDuration(47)]
public sealed class PostgresBackupRestoreTests
{
    [Fact]
    public async Task Backup_to_S3_with_zstd_and_gpg_restores_the_same_rows_and_content()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        await using var source = await SampleDatabase.CreateAsync(3000, ct);
        await using var bucket = await S3TestBucket.CreateAsync(ct);
        using var keyDir = new TempDirectory("gpgkeys");
        await using var key = await GpgTestKey.CreateAsync(keyDir, "ops", ct);
        await using var host = BackupTestHost.Create(
            stores: s => bucket.Configure(s),
            encryption: e =>
            {
                e.Method = EncryptionMethod.Gpg;
                e.GpgRecipientFile = key.PublicKeyFile;
                e.GpgPrivateKeyFile = key.SecretKeyFile;
                e.GpgPassphraseFile = key.PassphraseFile;
            });
        host.ValidateOptions();
        var server = BackupTestHost.TestServer(serverConnection);

        var set = await host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(server, source.Name, "exec-e2e") { Store = "s3" }, ct);

        var manifest = set.Manifest;
        Assert.Equal(BackupKinds.Postgres, manifest.Kind);
        Assert.Equal(source.Name, manifest.Database);
        Assert.StartsWith("15.", manifest.ServerVersion, StringComparison.Ordinal);
        Assert.Equal("zstd", manifest.Compression);
        Assert.Equal("gpg", manifest.Encryption.Method);
        Assert.Equal([key.Fingerprint], manifest.Encryption.Recipients);
        Assert.Contains("pg_dump (PostgreSQL) 15", manifest.Tools["pg_dump"], StringComparison.Ordinal);
        Assert.Contains("zstd", manifest.Tools.Keys);
        Assert.Contains("gpg", manifest.Tools.Keys);
        Assert.True(manifest.CompletedAt >= manifest.StartedAt);
        Assert.EndsWith(".dump.zst.gpg", manifest.MainFile.Name, StringComparison.Ordinal);
        Assert.Equal(3000, manifest.Tables!.Single(t => t.QualifiedName == "public.customers").RowCount);
        Assert.Equal(6000, manifest.Tables!.Single(t => t.QualifiedName == "public.orders").RowCount);
        Assert.Equal(new DateTimeOffset(2026, 3, 1, 0, 50, 0, TimeSpan.Zero), manifest.Tables!.Single(t => t.QualifiedName == "audit.log").NewestCreatedAt);

        // The stored object, read straight from the bucket, has the SHA-256 and size the manifest recorded.
        using (var response = await bucket.Client.GetObjectAsync(bucket.Name, manifest.MainFile.Key, ct))
        await using (var body = response.ResponseStream)
        {
            using var copy = new MemoryStream();
            await body.CopyToAsync(copy, ct);
            Assert.Equal(manifest.MainFile.Size, copy.Length);
            Assert.Equal(manifest.MainFile.Sha256, Convert.ToHexStringLower(SHA256.HashData(copy.ToArray())));
            Assert.False(copy.ToArray().AsSpan(0, 5).SequenceEqual("PGDMP"u8)); // encrypted, not a plain dump
        }

        var listed = Assert.Single(await host.Catalog.ListAsync("s3", BackupKinds.Postgres, source.Name, ct));
        Assert.Equal("exec-e2e", listed.Id);

        var target = "drw_restore_" + Guid.NewGuid().ToString("N")[..10];
        try
        {
            var restored = await host.Restore.RestoreAsync(new PostgresRestoreRequest(listed, server, target) { Mode = RestoreMode.CreateNew, Jobs = 2 }, ct);
            Assert.Equal(target, restored.Database);
            Assert.True(restored.WhileDownloading);
            Assert.True(restored.DumpBytes > manifest.Size); // decompressed dump is bigger than what was stored

            var report = await host.Integrity.CheckAsync(server, target, listed.Manifest, ct);
            Assert.True(report.Succeeded, string.Join("\n", report.Problems));
            Assert.Equal(5, report.Tables.Count);
            Assert.All(report.Tables, t => Assert.Equal(t.ExpectedRowCount, t.RowCount));
            Assert.Equal(3, report.ForeignKeys.Count);
            Assert.All(report.ForeignKeys, fk => Assert.Equal(0, fk.OrphanRows));
            Assert.Equal(
                await SampleDatabase.ContentDigestAsync(source.ConnectionString, ct),
                await SampleDatabase.ContentDigestAsync(SampleDatabase.WithDatabase(serverConnection, target), ct));
        }
        finally
        {
            await SampleDatabase.DropDatabaseAsync(serverConnection, target);
        }
    }

    [Fact]
    public async Task A_restore_into_a_new_database_while_downloading_rebuilds_every_schema_object_and_all_data()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        await using var source = await SampleDatabase.CreateAsync(2000, ct);
        await SampleDatabase.ExecuteAsync(source.ConnectionString, """
            COMMENT ON TABLE customers IS 'who buys';
            CREATE INDEX orders_created_at ON orders (created_at);
            CREATE VIEW big_orders AS SELECT * FROM orders WHERE status = 'paid';
            CREATE MATERIALIZED VIEW orders_per_customer AS SELECT customer_id, count(*) AS n FROM orders GROUP BY customer_id;
            CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
            CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch();
            CREATE TABLE empty_table (id int PRIMARY KEY);
            """, ct);
        await using var host = BackupTestHost.Create();
        var server = BackupTestHost.TestServer(serverConnection);
        var set = await host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(server, source.Name, "sections"), ct);
        Assert.All(set.Manifest.Tables!, table => Assert.True(table.SizeBytes >= 0));
        Assert.True(set.Manifest.Tables!.Single(t => t.Name == "orders").SizeBytes > set.Manifest.Tables!.Single(t => t.Name == "products").SizeBytes);

        var target = "drw_restore_" + Guid.NewGuid().ToString("N")[..10];
        try
        {
            var restored = await host.Restore.RestoreAsync(new PostgresRestoreRequest(set, server, target) { Mode = RestoreMode.Recreate, Jobs = 3 }, ct);

            Assert.True(restored.WhileDownloading);
            var targetConnection = await AssertRestoredAsSourceAsync(host, server, set, source.ConnectionString, serverConnection, target, ct);
            Assert.Equal(2000L, await SampleDatabase.ScalarAsync(targetConnection, "SELECT count(*) FROM orders_per_customer", ct)); // refreshed
            Assert.Equal(4000L, await SampleDatabase.ScalarAsync(targetConnection, "SELECT last_value FROM orders_id_seq", ct));
        }
        finally
        {
            await SampleDatabase.DropDatabaseAsync(serverConnection, target);
        }
    }

    [Fact]
    public async Task A_table_holding_most_of_the_data_is_loaded_by_several_sessions_and_arrives_exactly()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        await using var source = await SampleDatabase.CreateAsync(200, ct);
        // Values that test the row boundaries: escaped newlines, tabs and backslashes, a value that is "\." itself,
        // NULLs, unicode, JSON; a trigger and a unique constraint built once the rows are in.
        await SampleDatabase.ExecuteAsync(source.ConnectionString, """
            CREATE TABLE events (id bigint PRIMARY KEY, note text, body jsonb, code text UNIQUE);
            INSERT INTO events SELECT g,
                   (ARRAY[E'two\nlines', E'tab\there', E'back\\slash', E'\\.', NULL, 'grüße ✓', ''])[1 + g % 7] || repeat('x', g % 300),
                   jsonb_build_object('n', g, 's', E'quote " and \\ and \n'), 'c' || g
              FROM generate_series(1, 30000) g;
            CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
            CREATE TRIGGER events_touch BEFORE UPDATE ON events FOR EACH ROW EXECUTE FUNCTION touch();
            CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch();
            """, ct);
        var logs = new CapturingLoggerProvider();
        await using var host = BackupTestHost.Create(
            postgres: p => p.SplitTableMinimumBytes = 0,
            configure: services => services.AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Information)));
        var server = BackupTestHost.TestServer(serverConnection);
        var set = await host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(server, source.Name, "split"), ct);

        var target = "drw_restore_" + Guid.NewGuid().ToString("N")[..10];
        try
        {
            var restored = await host.Restore.RestoreAsync(new PostgresRestoreRequest(set, server, target) { Mode = RestoreMode.Recreate, Jobs = 2 }, ct);

            Assert.True(restored.WhileDownloading);
            Assert.Contains(logs.Lines, line => line.Contains("Loaded 30000 rows of table public.events", StringComparison.Ordinal) && line.Contains("with 2 sessions", StringComparison.Ordinal));
            var targetConnection = await AssertRestoredAsSourceAsync(host, server, set, source.ConnectionString, serverConnection, target, ct);
            const string events = "SELECT md5(string_agg(t::text, ',' ORDER BY t.id)) FROM events t";
            Assert.Equal(await SampleDatabase.ScalarAsync(source.ConnectionString, events, ct), await SampleDatabase.ScalarAsync(targetConnection, events, ct));
        }
        finally
        {
            await SampleDatabase.DropDatabaseAsync(serverConnection, target);
        }
    }

    /// <summary>
    /// The restored database has the source's schema (pg_dump --schema-only) and content, and passes the integrity
    /// check against the manifest. Returns its connection string.
    /// </summary>
    private static async Task<string> AssertRestoredAsSourceAsync(BackupTestHost host, PostgresServer server, BackupSet set, string sourceConnection, string serverConnection, string target, CancellationToken ct)
    {
        var targetConnection = SampleDatabase.WithDatabase(serverConnection, target);
        Assert.Equal(await SchemaAsync(sourceConnection, ct), await SchemaAsync(targetConnection, ct));
        Assert.Equal(await SampleDatabase.ContentDigestAsync(sourceConnection, ct), await SampleDatabase.ContentDigestAsync(targetConnection, ct));
        var report = await host.Integrity.CheckAsync(server, target, set.Manifest, ct);
        Assert.True(report.Succeeded, string.Join("\n", report.Problems));
        return targetConnection;
    }

    /// <summary>pg_dump --schema-only without its comments and session lines: every object, its definition, comment and privileges.</summary>
    private static async Task<string> SchemaAsync(string connectionString, CancellationToken cancellationToken)
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        var info = new System.Diagnostics.ProcessStartInfo(Path.Combine(TestServices.RequirePgBin(), "pg_dump"), ["--schema-only", "--no-password", builder.Database!])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["PGHOST"] = builder.Host;
        info.Environment["PGPORT"] = builder.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["PGUSER"] = builder.Username;
        info.Environment["PGPASSWORD"] = builder.Password;
        using var process = System.Diagnostics.Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = await process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        Assert.True(process.ExitCode == 0, errors);
        var lines = output.Split('\n').Where(line => line.Length > 0 && !line.StartsWith("--", StringComparison.Ordinal) && !line.StartsWith('\\') && !line.StartsWith("SET ", StringComparison.Ordinal)).ToList();
        Assert.Contains(lines, line => line.Contains("CREATE TRIGGER orders_touch", StringComparison.Ordinal));
        return string.Join('\n', lines);
    }

    [Theory]
    [InlineData(CompressionMethod.Gzip, EncryptionMethod.Age)]
    [InlineData(CompressionMethod.None, EncryptionMethod.None)]
    [InlineData(CompressionMethod.Zstd, EncryptionMethod.Age)]
    public async Task Other_compression_and_encryption_choices_round_trip_through_the_local_store(CompressionMethod compression, EncryptionMethod encryption)
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        await using var source = await SampleDatabase.CreateAsync(500, ct);
        using var keyDir = new TempDirectory("agekeys");
        var key = await AgeTestKey.CreateAsync(keyDir, "ops", ct);
        await using var host = BackupTestHost.Create(
            compression: c => c.Method = compression,
            encryption: e =>
            {
                e.Method = encryption;
                e.AgeRecipients = [key.Recipient];
                e.AgeIdentityFile = key.IdentityFile;
            });
        var server = BackupTestHost.TestServer(serverConnection);
        var set = await host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(server, source.Name, "exec-1"), ct);
        Assert.Equal(compression.ToString().ToLowerInvariant(), set.Manifest.Compression);
        Assert.Equal(encryption.ToString().ToLowerInvariant(), set.Manifest.Encryption.Method);
        if (encryption == EncryptionMethod.Age)
            Assert.Equal([key.Recipient], set.Manifest.Encryption.Recipients);

        var target = "drw_restore_" + Guid.NewGuid().ToString("N")[..10];
        try
        {
            await host.Restore.RestoreAsync(new PostgresRestoreRequest(set, server, target) { Mode = RestoreMode.CreateNew }, ct);
            var report = await host.Integrity.CheckAsync(server, target, set.Manifest, ct);
            Assert.True(report.Succeeded, string.Join("\n", report.Problems));
            Assert.Equal(
                await SampleDatabase.ContentDigestAsync(source.ConnectionString, ct),
                await SampleDatabase.ContentDigestAsync(SampleDatabase.WithDatabase(serverConnection, target), ct));
        }
        finally
        {
            await SampleDatabase.DropDatabaseAsync(serverConnection, target);
        }
    }

    [Fact]
    public async Task Clean_mode_restores_over_a_damaged_database_and_recreate_mode_starts_empty()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        await using var source = await SampleDatabase.CreateAsync(400, ct);
        await using var host = BackupTestHost.Create();
        var server = BackupTestHost.TestServer(serverConnection);
        var set = await host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(server, source.Name, "exec-clean"), ct);
        var digest = await SampleDatabase.ContentDigestAsync(source.ConnectionString, ct);

        // "Ransomware": rows changed and deleted, an extra table added.
        await SampleDatabase.ExecuteAsync(source.ConnectionString, "UPDATE customers SET name = 'encrypted'; DELETE FROM order_items; CREATE TABLE ransom_note(t text);", ct);
        var clean = await host.Restore.RestoreAsync(new PostgresRestoreRequest(set, server, source.Name) { Mode = RestoreMode.Clean }, ct);
        Assert.False(clean.WhileDownloading); // an existing database is touched only once the whole backup is verified
        Assert.Equal(digest, await SampleDatabase.ContentDigestAsync(source.ConnectionString, ct));
        var afterClean = await host.Integrity.CheckAsync(server, source.Name, set.Manifest, ct);
        Assert.True(afterClean.Succeeded);
        Assert.Contains(afterClean.Warnings, w => w.Contains("ransom_note", StringComparison.Ordinal)); // --clean drops only what the dump has

        await host.Restore.RestoreAsync(new PostgresRestoreRequest(set, server, source.Name) { Mode = RestoreMode.Recreate }, ct);
        Npgsql.NpgsqlConnection.ClearAllPools(); // the test's pooled connections to the dropped database are gone
        var afterRecreate = await host.Integrity.CheckAsync(server, source.Name, set.Manifest, ct);
        Assert.True(afterRecreate.Succeeded);
        Assert.Empty(afterRecreate.Warnings);
        Assert.Equal(digest, await SampleDatabase.ContentDigestAsync(source.ConnectionString, ct));

        var exists = await Assert.ThrowsAsync<BackupException>(() => host.Restore.RestoreAsync(new PostgresRestoreRequest(set, server, source.Name) { Mode = RestoreMode.CreateNew }, ct));
        Assert.Equal(BackupErrorCodes.RestoreTarget, exists.Code);
        Assert.Contains("already exists", exists.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Integrity_checks_find_orphan_rows_behind_a_not_valid_foreign_key_and_counts_that_differ_from_the_manifest()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        await using var source = await SampleDatabase.CreateAsync(300, ct);
        await using var host = BackupTestHost.Create();
        var server = BackupTestHost.TestServer(serverConnection);
        var set = await host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(server, source.Name, "exec-int"), ct);

        await SampleDatabase.ExecuteAsync(source.ConnectionString, """
            ALTER TABLE orders DROP CONSTRAINT orders_customer_id_fkey;
            DELETE FROM customers WHERE id <= 5;
            ALTER TABLE orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers(id) NOT VALID;
            """, ct);
        var report = await host.Integrity.CheckAsync(server, source.Name, set.Manifest, ct);

        Assert.False(report.Succeeded);
        var fk = report.ForeignKeys.Single(f => f.Name == "orders_customer_id_fkey");
        Assert.False(fk.Validated);
        Assert.Equal(10, fk.OrphanRows); // customers 1..5 each had two orders
        Assert.Contains(report.Problems, p => p.Contains("orders_customer_id_fkey", StringComparison.Ordinal) && p.Contains("10 row(s)", StringComparison.Ordinal));
        Assert.Contains(report.Problems, p => p == "Table public.customers has 295 rows; the backup recorded 300.");
        Assert.Contains(report.Warnings, w => w.Contains("NOT VALID", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Globals_are_backed_up_encrypted_and_restored_with_psql()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        var role = "drw_role_" + Guid.NewGuid().ToString("N")[..8];
        await SampleDatabase.ExecuteAsync(serverConnection, $"CREATE ROLE {role} LOGIN PASSWORD 'x-secret'", ct);
        try
        {
            using var keyDir = new TempDirectory("agekeys");
            var key = await AgeTestKey.CreateAsync(keyDir, "ops", ct);
            await using var host = BackupTestHost.Create(encryption: e =>
            {
                e.Method = EncryptionMethod.Age;
                e.AgeRecipients = [key.Recipient];
                e.AgeIdentityFile = key.IdentityFile;
            });
            var server = BackupTestHost.TestServer(serverConnection);
            var set = await host.Backup.BackupGlobalsAsync(new PostgresGlobalsRequest(server, "exec-globals"), ct);
            Assert.Equal(BackupKinds.Globals, set.Kind);
            Assert.Equal("test", set.Source);
            Assert.EndsWith("globals.sql.zst.age", set.Manifest.MainFile.Key, StringComparison.Ordinal);

            await SampleDatabase.ExecuteAsync(serverConnection, $"DROP ROLE {role}", ct);
            var result = await host.Restore.RestoreGlobalsAsync(set, server, null, ct);
            Assert.Contains(result.Errors, e => e.Contains("already exists", StringComparison.Ordinal)); // the postgres superuser
            Assert.Equal(true, await SampleDatabase.ScalarAsync(serverConnection, $"SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}' AND rolcanlogin)", ct));
        }
        finally
        {
            await SampleDatabase.ExecuteAsync(serverConnection, $"DROP ROLE IF EXISTS {role}", CancellationToken.None);
        }
    }

    [Fact]
    public async Task Verification_restores_into_a_throwaway_database_and_records_last_verified()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        await using var source = await SampleDatabase.CreateAsync(300, ct);
        // A prefix of this test's own: other tests verify on the same server at the same time.
        var prefix = $"drw_verify_{Guid.NewGuid():N}"[..20] + "_";
        await using var host = BackupTestHost.Create(postgres: o => o.VerificationDatabasePrefix = prefix);
        var server = BackupTestHost.TestServer(serverConnection);
        var set = await host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(server, source.Name, "exec-v1"), ct);
        Assert.Null((await host.Catalog.FindRestorePointAsync(new RestorePointQuery(BackupKinds.Postgres, source.Name), ct)).Selected);

        var report = await host.Get<IBackupVerifier>().VerifyAsync(new VerifyBackupRequest(source.Name) { Server = server }, ct);

        Assert.True(report.Succeeded, string.Join("\n", report.Problems));
        Assert.Equal("exec-v1", report.SetId);
        Assert.Equal(5, report.Tables);
        Assert.Contains($"throwaway database {prefix}", report.Method, StringComparison.Ordinal);
        var stored = await host.Catalog.FindAsync(null, BackupKinds.Postgres, source.Name, "exec-v1", ct);
        Assert.NotNull(stored!.Manifest.LastVerifiedAt);
        Assert.True(stored.Manifest.IsVerified);
        Assert.Equal("exec-v1", (await host.Catalog.FindRestorePointAsync(new RestorePointQuery(BackupKinds.Postgres, source.Name), ct)).Selected!.SetId);
        Assert.Equal(0L, await SampleDatabase.ScalarAsync(serverConnection, $"SELECT count(*) FROM pg_database WHERE datname LIKE '{prefix}%'", ct));
        Assert.Equal(set.Manifest.Sha256, stored.Manifest.Sha256);
    }

    [Fact]
    public async Task Verification_of_a_corrupt_backup_fails_and_is_recorded_so_that_it_is_never_selected()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        await using var source = await SampleDatabase.CreateAsync(200, ct);
        var prefix = $"drw_verify_{Guid.NewGuid():N}"[..20] + "_";
        await using var host = BackupTestHost.Create(postgres: o => o.VerificationDatabasePrefix = prefix);
        var server = BackupTestHost.TestServer(serverConnection);
        var set = await host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(server, source.Name, "exec-bad"), ct);
        var path = Path.Combine(host.LocalStoreDirectory, set.Manifest.MainFile.Key);
        var bytes = await File.ReadAllBytesAsync(path, ct);
        bytes[bytes.Length / 2] ^= 0xFF;
        await File.WriteAllBytesAsync(path, bytes, ct);

        var report = await host.Get<IBackupVerifier>().VerifyAsync(new VerifyBackupRequest(source.Name) { Server = server }, ct);

        Assert.False(report.Succeeded);
        Assert.Contains(report.Problems, p => p.Contains("is corrupt", StringComparison.Ordinal));
        var stored = await host.Catalog.FindAsync(null, BackupKinds.Postgres, source.Name, "exec-bad", ct);
        Assert.False(stored!.Manifest.IsVerified);
        Assert.False(stored.Manifest.Verification!.Succeeded);
        var selection = await host.Catalog.FindRestorePointAsync(new RestorePointQuery(BackupKinds.Postgres, source.Name), ct);
        Assert.Null(selection.Selected);
        Assert.Contains("verification failed", selection.Candidates[0].Note, StringComparison.Ordinal);
        Assert.Equal(0L, await SampleDatabase.ScalarAsync(serverConnection, $"SELECT count(*) FROM pg_database WHERE datname LIKE '{prefix}%'", ct));
    }
}
