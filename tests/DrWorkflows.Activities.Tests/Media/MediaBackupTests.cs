using System.Security.Cryptography;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Media;
using DrWorkflows.Activities.Tests.Backups;
using DrWorkflows.Testing;

namespace DrWorkflows.Activities.Tests.Media;

public sealed class MediaBackupTests
{
    private static void Write(string root, string relative, byte[] content, DateTime? modified = null)
    {
        var path = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        File.SetLastWriteTimeUtc(path, modified ?? new DateTime(2026, 5, 1, 12, 0, 0, DateTimeKind.Utc));
    }

    private static Dictionary<string, string> Digests(string root) =>
        Directory.GetFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint })
            .ToDictionary(f => Path.GetRelativePath(root, f).Replace('\\', '/'), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    private static int ObjectCount(BackupTestHost host, string source) =>
        Directory.Exists(Path.Combine(host.LocalStoreDirectory, "media", source, "_objects"))
            ? Directory.GetFiles(Path.Combine(host.LocalStoreDirectory, "media", source, "_objects"), "*", SearchOption.AllDirectories).Length
            : 0;

    [Fact]
    public async Task A_volume_is_backed_up_per_file_and_restored_identically()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = BackupTestHost.Create();
        using var volume = new TempDirectory("media");
        Write(volume.FullPath, "uploads/2026/05/photo.jpg", RandomNumberGenerator.GetBytes(300_000));
        Write(volume.FullPath, "uploads/2026/05/copy-of-photo.jpg", File.ReadAllBytes(volume.Combine("uploads/2026/05/photo.jpg")));
        Write(volume.FullPath, "avatars/u1.png", RandomNumberGenerator.GetBytes(5_000));
        Write(volume.FullPath, "empty.txt", []);
        Directory.CreateDirectory(volume.Combine("uploads", "2026", "06"));
        File.CreateSymbolicLink(volume.Combine("latest"), volume.Combine("uploads"));

        var result = await host.Media.BackupAsync(new MediaBackupRequest(volume.FullPath, "media-volume", "exec-m1"), ct);

        Assert.Equal(4, result.Files);
        Assert.Equal(4, result.Uploaded);
        Assert.Equal(3, ObjectCount(host, "media-volume")); // identical content is stored once
        Assert.Contains(result.Skipped, s => s.StartsWith("latest: symbolic link", StringComparison.Ordinal));
        var set = Assert.Single(await host.Catalog.ListAsync(null, BackupKinds.Media, "media-volume", ct));
        Assert.Equal("4", set.Manifest.Properties["files"]);
        var map = await host.Media.ReadFileMapAsync(set, ct);
        var photo = map.Files.Single(f => f.Path == "uploads/2026/05/photo.jpg");
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(volume.Combine("uploads/2026/05/photo.jpg")))), photo.Sha256);
        Assert.Equal($"media/media-volume/_objects/{photo.Sha256[..2]}/{photo.Sha256}", photo.Key);
        Assert.Equal(["uploads/2026/06"], map.EmptyDirectories);

        using var target = new TempDirectory("restored");
        var restored = await host.Media.RestoreAsync(new MediaRestoreRequest(set, target.FullPath), ct);
        Assert.Equal(4, restored.Written);
        var expected = Digests(volume.FullPath);
        Assert.Equal(expected.OrderBy(p => p.Key), Digests(target.FullPath).OrderBy(p => p.Key));
        Assert.Equal(new DateTime(2026, 5, 1, 12, 0, 0, DateTimeKind.Utc), File.GetLastWriteTimeUtc(target.Combine("avatars/u1.png")));
        Assert.True(Directory.Exists(target.Combine("uploads", "2026", "06")));
    }

    [Fact]
    public async Task A_second_backup_uploads_only_new_or_changed_content()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var bucket = await S3TestBucket.CreateAsync(ct);
        await using var host = BackupTestHost.Create(stores: s => bucket.Configure(s));
        using var volume = new TempDirectory("media");
        for (var i = 0; i < 10; i++)
            Write(volume.FullPath, $"files/f{i}.bin", RandomNumberGenerator.GetBytes(20_000 + i));
        var first = await host.Media.BackupAsync(new MediaBackupRequest(volume.FullPath, "media", "run-1") { Store = "s3" }, ct);
        Assert.Equal(10, first.Uploaded);

        Write(volume.FullPath, "files/f3.bin", RandomNumberGenerator.GetBytes(777));      // changed
        Write(volume.FullPath, "files/new.bin", RandomNumberGenerator.GetBytes(1234));    // added
        File.Delete(volume.Combine("files/f9.bin"));                                      // removed
        var second = await host.Media.BackupAsync(new MediaBackupRequest(volume.FullPath, "media", "run-2") { Store = "s3" }, ct);

        Assert.Equal(10, second.Files);
        Assert.Equal(2, second.Uploaded);
        Assert.Equal(777 + 1234, second.UploadedBytes);
        Assert.Equal(8, second.Reused);
        Assert.Equal(12, (await bucket.ListAsync(ct)).Count(o => o.Key.Contains("/_objects/", StringComparison.Ordinal)));

        // The first set still restores the old state.
        var sets = await host.Catalog.ListAsync("s3", BackupKinds.Media, "media", ct);
        using var target = new TempDirectory("restored");
        await host.Media.RestoreAsync(new MediaRestoreRequest(sets.Single(s => s.Id == "run-1"), target.FullPath), ct);
        Assert.Equal(20_009, new FileInfo(target.Combine("files/f9.bin")).Length);
        Assert.Equal(20_003, new FileInfo(target.Combine("files/f3.bin")).Length);
    }

    [Fact]
    public async Task Restoring_over_a_directory_skips_current_files_and_can_delete_extraneous_ones()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = BackupTestHost.Create();
        using var volume = new TempDirectory("media");
        Write(volume.FullPath, "a.txt", "alpha"u8.ToArray());
        Write(volume.FullPath, "b/b.txt", "beta"u8.ToArray());
        await host.Media.BackupAsync(new MediaBackupRequest(volume.FullPath, "m", "r1"), ct);
        var set = (await host.Catalog.ListAsync(null, BackupKinds.Media, "m", ct))[0];

        Write(volume.FullPath, "b/b.txt", "encrypted by ransomware"u8.ToArray());
        Write(volume.FullPath, "README-RANSOM.txt", "pay"u8.ToArray());
        var result = await host.Media.RestoreAsync(new MediaRestoreRequest(set, volume.FullPath) { DeleteExtraneous = true }, ct);

        Assert.Equal(1, result.Written);
        Assert.Equal(1, result.AlreadyCurrent);
        Assert.Equal(1, result.Deleted);
        Assert.Equal("beta", await File.ReadAllTextAsync(volume.Combine("b/b.txt"), ct));
        Assert.False(File.Exists(volume.Combine("README-RANSOM.txt")));
    }

    [Fact]
    public async Task A_corrupt_content_object_is_refused_and_leaves_no_partial_file()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = BackupTestHost.Create();
        using var volume = new TempDirectory("media");
        Write(volume.FullPath, "doc.pdf", RandomNumberGenerator.GetBytes(50_000));
        await host.Media.BackupAsync(new MediaBackupRequest(volume.FullPath, "m", "r1"), ct);
        var set = (await host.Catalog.ListAsync(null, BackupKinds.Media, "m", ct))[0];
        var entry = (await host.Media.ReadFileMapAsync(set, ct)).Files[0];
        var objectPath = Path.Combine(host.LocalStoreDirectory, entry.Key);
        var bytes = await File.ReadAllBytesAsync(objectPath, ct);
        bytes[100] ^= 0x01;
        await File.WriteAllBytesAsync(objectPath, bytes, ct);

        using var target = new TempDirectory("restored");
        var error = await Assert.ThrowsAsync<BackupException>(() => host.Media.RestoreAsync(new MediaRestoreRequest(set, target.FullPath), ct));
        Assert.Equal(BackupErrorCodes.ChecksumMismatch, error.Code);
        Assert.Contains("doc.pdf", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(target.FullPath, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Retention_deletes_content_only_when_no_remaining_set_references_it()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = BackupTestHost.FakeClock(DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()));
        await using var host = BackupTestHost.Create(clock: clock, stores: s => s.Local.RetentionDays["media"] = 3);
        using var volume = new TempDirectory("media");
        Write(volume.FullPath, "keep.bin", RandomNumberGenerator.GetBytes(1000));
        Write(volume.FullPath, "gone.bin", RandomNumberGenerator.GetBytes(1000));
        await host.Media.BackupAsync(new MediaBackupRequest(volume.FullPath, "m", "old"), ct);
        File.Delete(volume.Combine("gone.bin"));
        clock.Advance(TimeSpan.FromDays(5));
        await host.Media.BackupAsync(new MediaBackupRequest(volume.FullPath, "m", "new"), ct);
        Assert.Equal(2, ObjectCount(host, "m"));

        var result = await host.Get<IBackupRetentionService>().ApplyAsync(new RetentionRequest { Kind = BackupKinds.Media }, ct);

        Assert.Contains("media/m/old/", result.Deleted);
        Assert.Contains("1 unreferenced media object(s)", result.Deleted);
        Assert.Equal(1, ObjectCount(host, "m"));
        var left = Assert.Single(await host.Catalog.ListAsync(null, BackupKinds.Media, "m", ct));
        using var target = new TempDirectory("restored");
        await host.Media.RestoreAsync(new MediaRestoreRequest(left, target.FullPath), ct);
        Assert.True(File.Exists(target.Combine("keep.bin")));
    }

    [Fact]
    public async Task A_missing_directory_is_named()
    {
        await using var host = BackupTestHost.Create();
        var error = await Assert.ThrowsAsync<BackupException>(() => host.Media.BackupAsync(new MediaBackupRequest("/nonexistent/volume", "m", "r"), TestContext.Current.CancellationToken));
        Assert.Contains("/nonexistent/volume does not exist", error.Message, StringComparison.Ordinal);
    }
}
