using System.Diagnostics;
using System.Security.Cryptography;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Storage;
using DrWorkflows.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace DrWorkflows.Activities.Tests.Storage;

public sealed class LocalBackupStoreTests : IDisposable
{
    private readonly TempDirectory temp = new("localstore");
    private readonly LocalBackupStore store;

    public LocalBackupStoreTests() => store = new LocalBackupStore("local", temp.Combine("root"), NullLogger.Instance);

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task Streams_in_chunks_and_reads_back_the_same_bytes()
    {
        var ct = TestContext.Current.CancellationToken;
        var data = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 17);
        await using (var writer = await store.CreateWriterAsync("postgres/main/run1/main.dump", ct))
        {
            for (var offset = 0; offset < data.Length; offset += 100_000)
                await writer.WriteAsync(data.AsMemory(offset, Math.Min(100_000, data.Length - offset)), ct);
            Assert.Null(await store.GetInfoAsync("postgres/main/run1/main.dump", ct));
            await writer.CommitAsync(ct);
        }

        var info = await store.GetInfoAsync("postgres/main/run1/main.dump", ct);
        Assert.Equal(data.Length, info!.Size);
        await using var read = await store.OpenReadAsync("postgres/main/run1/main.dump", ct);
        using var copy = new MemoryStream();
        await read.CopyToAsync(copy, ct);
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(copy.ToArray()));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(store.RootDirectory, "postgres", "main", "run1", "main.dump")));
    }

    [Fact]
    public async Task A_writer_disposed_without_commit_leaves_nothing_behind()
    {
        var ct = TestContext.Current.CancellationToken;
        await using (var writer = await store.CreateWriterAsync("media/m/run/a.bin", ct))
            await writer.WriteAsync(new byte[4096], ct);

        Assert.Null(await store.GetInfoAsync("media/m/run/a.bin", ct));
        Assert.Empty(Directory.GetFiles(store.RootDirectory, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_commit_replaces_an_existing_object_atomically_and_listing_hides_partial_files()
    {
        var ct = TestContext.Current.CancellationToken;
        await store.PutAsync("k/a/b/x", "old"u8.ToArray(), ct);
        await using var writer = await store.CreateWriterAsync("k/a/b/x", ct);
        await writer.WriteAsync("new content"u8.ToArray(), ct);

        var listed = new List<BackupObjectInfo>();
        await foreach (var item in store.ListAsync("k/", ct))
            listed.Add(item);
        Assert.Equal(["k/a/b/x"], listed.Select(i => i.Key));
        Assert.Equal(3, listed[0].Size);

        await writer.CommitAsync(ct);
        await using var read = await store.OpenReadAsync("k/a/b/x", ct);
        Assert.Equal("new content", await new StreamReader(read).ReadToEndAsync(ct));
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("a/../../b")]
    [InlineData("/absolute")]
    [InlineData("a//b")]
    [InlineData("a\\b")]
    public async Task Keys_that_leave_the_store_are_refused(string key)
    {
        var error = await Assert.ThrowsAsync<BackupException>(() => store.CreateWriterAsync(key, TestContext.Current.CancellationToken));
        Assert.Equal(BackupErrorCodes.InvalidRequest, error.Code);
    }

    [Fact]
    public async Task Reading_a_missing_object_says_which_and_where()
    {
        var error = await Assert.ThrowsAsync<BackupException>(() => store.OpenReadAsync("postgres/x/y/none.dump", TestContext.Current.CancellationToken));
        Assert.Equal(BackupErrorCodes.NotFound, error.Code);
        Assert.Contains("postgres/x/y/none.dump", error.Message, StringComparison.Ordinal);
        Assert.Contains(store.RootDirectory, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_full_disk_gives_a_clear_error_and_removes_the_partial_file()
    {
        var ct = TestContext.Current.CancellationToken;
        using var tmpfs = await TinyFileSystem.MountAsync(temp.Combine("tiny"), "1m", ct);
        var tiny = new LocalBackupStore("local", tmpfs.Path, NullLogger.Instance);
        var error = await Assert.ThrowsAsync<BackupException>(async () =>
        {
            await using var writer = await tiny.CreateWriterAsync("postgres/db/run/db.dump", ct);
            var chunk = new byte[256 * 1024];
            for (var i = 0; i < 16; i++)
                await writer.WriteAsync(chunk, ct);
            await writer.CommitAsync(ct);
        });

        Assert.Equal(BackupErrorCodes.StoreFull, error.Code);
        Assert.Contains("No space left on device", error.Message, StringComparison.Ordinal);
        Assert.Contains("ApplyRetention", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(tmpfs.Path, "*", SearchOption.AllDirectories));
    }
}

/// <summary>A tmpfs of a given size (root only); skips the test where mounting is not permitted.</summary>
internal sealed class TinyFileSystem : IDisposable
{
    private TinyFileSystem(string path) => Path = path;

    public string Path { get; }

    public static async Task<TinyFileSystem> MountAsync(string path, string size, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(path);
        if (!OperatingSystem.IsLinux())
            Assert.Skip("A tmpfs needs Linux.");
        using var mount = Process.Start(new ProcessStartInfo("mount", ["-t", "tmpfs", "-o", $"size={size}", "tmpfs", path]) { RedirectStandardError = true })!;
        var stderr = await mount.StandardError.ReadToEndAsync(cancellationToken);
        await mount.WaitForExitAsync(cancellationToken);
        if (mount.ExitCode != 0)
            Assert.Skip($"Cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN): {stderr.Trim()}. The disk-full path is also covered with a failing writer.");
        return new TinyFileSystem(path);
    }

    public void Dispose()
    {
        using var umount = Process.Start(new ProcessStartInfo("umount", [Path]))!;
        umount.WaitForExit();
    }
}
