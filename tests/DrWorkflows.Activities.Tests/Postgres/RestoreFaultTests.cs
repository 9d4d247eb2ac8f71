using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Activities.Tests.Backups;
using DrWorkflows.Testing;

namespace DrWorkflows.Activities.Tests.Postgres;

/// <summary>Corrupt, truncated and wrongly keyed backups are refused before anything reaches the target.</summary>
public sealed class RestoreFaultTests
{
    private static string NewTarget() => "drw_restore_" + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task A_corrupted_object_in_S3_is_refused_by_checksum_and_the_target_is_not_created()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        await using var source = await SampleDatabase.CreateAsync(1500, ct);
        await using var bucket = await S3TestBucket.CreateAsync(ct);
        using var keyDir = new TempDirectory("agekeys");
        var key = await AgeTestKey.CreateAsync(keyDir, "ops", ct);
        await using var host = BackupTestHost.Create(stores: s => bucket.Configure(s), encryption: e =>
        {
            e.Method = EncryptionMethod.Age;
            e.AgeRecipients = [key.Recipient];
            e.AgeIdentityFile = key.IdentityFile;
        });
        var server = BackupTestHost.TestServer(serverConnection);
        var set = await host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(server, source.Name, "e1") { Store = "s3" }, ct);

        // Flip one byte of the stored object (same size): only the SHA-256 can tell.
        var objectKey = set.Manifest.MainFile.Key;
        byte[] bytes;
        using (var response = await bucket.Client.GetObjectAsync(bucket.Name, objectKey, ct))
        using (var copy = new MemoryStream())
        {
            await response.ResponseStream.CopyToAsync(copy, ct);
            bytes = copy.ToArray();
        }

        bytes[bytes.Length - 100] ^= 0x01;
        await PutAsync(bucket, objectKey, bytes, ct);
        var target = NewTarget();
        var corrupt = await Assert.ThrowsAsync<BackupException>(() => host.Restore.RestoreAsync(new PostgresRestoreRequest(set, server, target) { Mode = RestoreMode.CreateNew }, ct));
        Assert.Equal(BackupErrorCodes.ChecksumMismatch, corrupt.Code);
        Assert.Contains("is corrupt", corrupt.Message, StringComparison.Ordinal);
        Assert.Contains("nothing was restored", corrupt.Message, StringComparison.Ordinal);
        Assert.False(await SampleDatabase.DatabaseExistsAsync(serverConnection, target, ct));

        // Truncated: half the object.
        await PutAsync(bucket, objectKey, bytes[..(bytes.Length / 2)], ct);
        var truncated = await Assert.ThrowsAsync<BackupException>(() => host.Restore.RestoreAsync(new PostgresRestoreRequest(set, server, target) { Mode = RestoreMode.CreateNew }, ct));
        Assert.Equal(BackupErrorCodes.ChecksumMismatch, truncated.Code);
        Assert.Contains("truncated", truncated.Message, StringComparison.Ordinal);
        Assert.False(await SampleDatabase.DatabaseExistsAsync(serverConnection, target, ct));
    }

    [Fact]
    public async Task A_corruption_that_breaks_the_decoder_first_is_still_reported_as_corruption()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        await using var source = await SampleDatabase.CreateAsync(3000, ct);
        await using var host = BackupTestHost.Create();
        var server = BackupTestHost.TestServer(serverConnection);
        var set = await host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(server, source.Name, "e1"), ct);
        var path = Path.Combine(host.LocalStoreDirectory, set.Manifest.MainFile.Key);
        var bytes = await File.ReadAllBytesAsync(path, ct);
        for (var i = 0; i < 64; i++)
            bytes[i] = 0xAA; // the zstd frame header is gone: zstd fails at once
        await File.WriteAllBytesAsync(path, bytes, ct);

        var error = await Assert.ThrowsAsync<BackupException>(() => host.Restore.RestoreAsync(new PostgresRestoreRequest(set, server, NewTarget()) { Mode = RestoreMode.CreateNew }, ct));
        Assert.Equal(BackupErrorCodes.ChecksumMismatch, error.Code);
        Assert.Contains("is corrupt", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_gpg_key_is_refused_before_download_naming_both_fingerprints()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        await using var source = await SampleDatabase.CreateAsync(100, ct);
        using var keyDir = new TempDirectory("gpgkeys");
        await using var right = await GpgTestKey.CreateAsync(keyDir, "right", ct);
        await using var wrong = await GpgTestKey.CreateAsync(keyDir, "wrong", ct);
        await using var host = BackupTestHost.Create(encryption: e =>
        {
            e.Method = EncryptionMethod.Gpg;
            e.GpgRecipientFile = right.PublicKeyFile;
        });
        var server = BackupTestHost.TestServer(serverConnection);
        var set = await host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(server, source.Name, "e1"), ct);
        var target = NewTarget();

        var error = await Assert.ThrowsAsync<BackupException>(() => host.Restore.RestoreAsync(new PostgresRestoreRequest(set, server, target)
        {
            Mode = RestoreMode.CreateNew,
            Keys = new DecryptionKeys { GpgPrivateKeyFile = wrong.SecretKeyFile, GpgPassphraseFile = wrong.PassphraseFile },
        }, ct));
        Assert.Equal(BackupErrorCodes.DecryptionFailed, error.Code);
        Assert.Contains("Wrong decryption key", error.Message, StringComparison.Ordinal);
        Assert.Contains(right.Fingerprint, error.Message, StringComparison.Ordinal);
        Assert.Contains(wrong.Fingerprint, error.Message, StringComparison.Ordinal);
        Assert.False(await SampleDatabase.DatabaseExistsAsync(serverConnection, target, ct));

        var missing = await Assert.ThrowsAsync<BackupException>(() => host.Restore.RestoreAsync(new PostgresRestoreRequest(set, server, target) { Mode = RestoreMode.CreateNew }, ct));
        Assert.Equal(BackupErrorCodes.DecryptionFailed, missing.Code);
        Assert.Contains("GpgPrivateKeyFile", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_gpg_passphrase_is_reported_as_such()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        await using var source = await SampleDatabase.CreateAsync(100, ct);
        using var keyDir = new TempDirectory("gpgkeys");
        await using var key = await GpgTestKey.CreateAsync(keyDir, "ops", ct);
        await using var host = BackupTestHost.Create(encryption: e =>
        {
            e.Method = EncryptionMethod.Gpg;
            e.GpgRecipientFile = key.PublicKeyFile;
        });
        var server = BackupTestHost.TestServer(serverConnection);
        var set = await host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(server, source.Name, "e1"), ct);
        var badPassphrase = keyDir.Combine("bad.pass");
        await File.WriteAllTextAsync(badPassphrase, "wrong passphrase\n", ct);
        var target = NewTarget();

        var error = await Assert.ThrowsAsync<BackupException>(() => host.Restore.RestoreAsync(new PostgresRestoreRequest(set, server, target)
        {
            Mode = RestoreMode.CreateNew,
            Keys = new DecryptionKeys { GpgPrivateKeyFile = key.SecretKeyFile, GpgPassphraseFile = badPassphrase },
        }, ct));
        Assert.Equal(BackupErrorCodes.DecryptionFailed, error.Code);
        Assert.True(error.Message.Contains("wrong passphrase", StringComparison.Ordinal), error.Message);
        Assert.Contains("GpgPassphraseFile", error.Message, StringComparison.Ordinal);
        Assert.False(await SampleDatabase.DatabaseExistsAsync(serverConnection, target, ct));
    }

    [Fact]
    public async Task A_wrong_age_identity_is_refused_naming_the_recipient()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        await using var source = await SampleDatabase.CreateAsync(100, ct);
        using var keyDir = new TempDirectory("agekeys");
        var right = await AgeTestKey.CreateAsync(keyDir, "right", ct);
        var wrong = await AgeTestKey.CreateAsync(keyDir, "wrong", ct);
        await using var host = BackupTestHost.Create(encryption: e =>
        {
            e.Method = EncryptionMethod.Age;
            e.AgeRecipients = [right.Recipient];
        });
        var server = BackupTestHost.TestServer(serverConnection);
        var set = await host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(server, source.Name, "e1"), ct);

        var error = await Assert.ThrowsAsync<BackupException>(() => host.Restore.RestoreAsync(new PostgresRestoreRequest(set, server, NewTarget())
        {
            Mode = RestoreMode.CreateNew,
            Keys = new DecryptionKeys { AgeIdentityFile = wrong.IdentityFile },
        }, ct));
        Assert.Equal(BackupErrorCodes.DecryptionFailed, error.Code);
        Assert.Contains(right.Recipient, error.Message, StringComparison.Ordinal);
        Assert.Contains(wrong.Recipient, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_restore_that_fails_while_downloading_drops_the_new_database_and_says_what_failed()
    {
        // The backed-up tables belong to a role the target server no longer has (a fresh server without the
        // globals): pg_restore fails on the schema, and the half-made new database must not stay behind.
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        await using var host = BackupTestHost.Create();
        var server = BackupTestHost.TestServer(serverConnection);
        var (set, role) = await BackupOwnedByAGoneRoleAsync(host, serverConnection, "customers, orders", ct);
        var target = NewTarget();
        var error = await Assert.ThrowsAsync<BackupException>(() => host.Restore.RestoreAsync(new PostgresRestoreRequest(set, server, target) { Mode = RestoreMode.CreateNew, Jobs = 2 }, ct));

        Assert.Equal(BackupErrorCodes.ToolFailed, error.Code);
        Assert.Contains($"role \"{role}\" does not exist", error.Message, StringComparison.Ordinal);
        Assert.Contains("The new database is dropped", error.Message, StringComparison.Ordinal);
        Assert.False(await SampleDatabase.DatabaseExistsAsync(serverConnection, target, ct));

        // Without the owners, as the error's cause suggests, the same backup restores.
        var restored = await host.Restore.RestoreAsync(new PostgresRestoreRequest(set, server, target) { Mode = RestoreMode.CreateNew, NoOwner = true, Jobs = 2 }, ct);
        Assert.True(restored.WhileDownloading);
        var report = await host.Integrity.CheckAsync(server, target, set.Manifest, ct);
        Assert.True(report.Succeeded, string.Join("\n", report.Problems));
        await SampleDatabase.DropDatabaseAsync(serverConnection, target);
    }

    [Fact]
    public async Task A_recreate_over_an_existing_database_that_fails_drops_it_and_says_what_failed()
    {
        // Recreate verifies the whole backup, drops and creates the database, then restores it section by section.
        // A failure then (the owner role is gone) must not leave a half-restored database under the old name.
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        await using var host = BackupTestHost.Create();
        var server = BackupTestHost.TestServer(serverConnection);
        var (set, role) = await BackupOwnedByAGoneRoleAsync(host, serverConnection, "orders", ct);
        var target = NewTarget();
        await SampleDatabase.ExecuteAsync(serverConnection, $"CREATE DATABASE {target}", ct);
        var error = await Assert.ThrowsAsync<BackupException>(() => host.Restore.RestoreAsync(new PostgresRestoreRequest(set, server, target) { Mode = RestoreMode.Recreate, Jobs = 2 }, ct));

        Assert.Equal(BackupErrorCodes.ToolFailed, error.Code);
        Assert.Contains($"role \"{role}\" does not exist", error.Message, StringComparison.Ordinal);
        Assert.False(await SampleDatabase.DatabaseExistsAsync(serverConnection, target, ct));

        // Over an existing database again, without the owners: restored after the download, section by section.
        await SampleDatabase.ExecuteAsync(serverConnection, $"CREATE DATABASE {target}", ct);
        var restored = await host.Restore.RestoreAsync(new PostgresRestoreRequest(set, server, target) { Mode = RestoreMode.Recreate, NoOwner = true, Jobs = 2 }, ct);
        Assert.False(restored.WhileDownloading);
        var report = await host.Integrity.CheckAsync(server, target, set.Manifest, ct);
        Assert.True(report.Succeeded, string.Join("\n", report.Problems));
        await SampleDatabase.DropDatabaseAsync(serverConnection, target);
    }

    /// <summary>A backup of a sample database whose <paramref name="tables"/> belong to a role the server then loses.</summary>
    private static async Task<(BackupSet Set, string Role)> BackupOwnedByAGoneRoleAsync(BackupTestHost host, string serverConnection, string tables, CancellationToken ct)
    {
        var role = "drw_gone_" + Guid.NewGuid().ToString("N")[..8];
        await SampleDatabase.ExecuteAsync(serverConnection, $"CREATE ROLE {role}", ct);
        BackupSet set;
        await using (var source = await SampleDatabase.CreateAsync(300, ct))
        {
            await SampleDatabase.ExecuteAsync(source.ConnectionString, string.Concat(tables.Split(", ").Select(table => $"ALTER TABLE {table} OWNER TO {role};")), ct);
            set = await host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(BackupTestHost.TestServer(serverConnection), source.Name, "e1"), ct);
        }

        await SampleDatabase.ExecuteAsync(serverConnection, $"DROP ROLE {role}", ct);
        return (set, role);
    }

    private static async Task PutAsync(S3TestBucket bucket, string key, byte[] bytes, CancellationToken ct)
    {
        using var body = new MemoryStream(bytes);
        await bucket.Client.PutObjectAsync(new Amazon.S3.Model.PutObjectRequest { BucketName = bucket.Name, Key = key, InputStream = body, UseChunkEncoding = false }, ct);
    }
}
