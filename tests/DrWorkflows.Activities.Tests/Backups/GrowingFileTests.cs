using System.Text;
using DrWorkflows.Activities.Backups.Pipeline;
using DrWorkflows.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace DrWorkflows.Activities.Tests.Backups;

/// <summary>Readers that follow a file while another writer writes it: the basis of restoring while a backup downloads.</summary>
public sealed class GrowingFileTests
{
    [Fact]
    public async Task Readers_started_before_and_during_the_writes_all_read_every_byte_and_end_when_it_completes()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDirectory("growing");
        var expected = new byte[3 << 20];
        new Random(7).NextBytes(expected);
        var file = GrowingFile.Create(Path.Combine(dir.FullPath, "dump"));

        var early = ReadAllAsync(file.OpenReader(), ct);
        await using (var writer = new FileStream(file.Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0))
        {
            for (var offset = 0; offset < expected.Length; offset += 100_000)
            {
                await writer.WriteAsync(expected.AsMemory(offset, Math.Min(100_000, expected.Length - offset)), ct);
                if (offset == 1_000_000)
                {
                    // Half way: the early reader has caught up and waits for more; it has not ended.
                    await Task.Delay(50, ct);
                    Assert.False(early.IsCompleted);
                }
            }
        }

        var late = ReadAllAsync(file.OpenReader(), ct);
        await Task.Delay(50, ct);
        Assert.False(late.IsCompleted); // the writer closed the file, but only Complete says it is whole
        file.Complete();

        Assert.Equal(expected, await early.WaitAsync(TimeSpan.FromSeconds(10), ct));
        Assert.Equal(expected, await late.WaitAsync(TimeSpan.FromSeconds(10), ct));
        Assert.Equal(expected.Length, file.Length);
        Assert.True(file.IsComplete);
    }

    [Fact]
    public async Task A_failed_writer_fails_its_waiting_readers_with_the_cause_and_a_later_complete_changes_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDirectory("growing");
        var file = GrowingFile.Create(Path.Combine(dir.FullPath, "dump"));
        await File.WriteAllBytesAsync(file.Path, new byte[1000], ct);
        var reader = ReadAllAsync(file.OpenReader(), ct);
        await Task.Delay(50, ct);

        file.Fail(new InvalidDataException("checksum mismatch"));

        var error = await Assert.ThrowsAsync<IOException>(() => reader.WaitAsync(TimeSpan.FromSeconds(10), ct));
        Assert.Contains("failed after 1000 bytes: checksum mismatch", error.Message, StringComparison.Ordinal);
        Assert.IsType<InvalidDataException>(error.InnerException);
        file.Complete(); // too late: the failure stands
        Assert.False(file.IsComplete);
    }

    [Fact]
    public async Task A_waiting_reader_can_be_cancelled_and_the_file_is_private_and_new()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDirectory("growing");
        var path = Path.Combine(dir.FullPath, "dump");
        var file = GrowingFile.Create(path);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var reader = ReadAllAsync(file.OpenReader(), cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reader.WaitAsync(TimeSpan.FromSeconds(10), ct));
        Assert.Throws<IOException>(() => GrowingFile.Create(path));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    [Fact]
    public async Task Programs_write_the_file_themselves_and_read_it_as_it_grows_through_the_kernel()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDirectory("growing");
        var file = GrowingFile.Create(Path.Combine(dir.FullPath, "out"));

        // The writer: a program whose output goes straight into the file, slowly.
        var writing = StreamPipeline.RunAsync(null, [new ProcessStage("slow", "/bin/sh", ["-c", "for i in 1 2 3 4 5; do seq 1 20000; sleep 0.05; done"])], file.Path, NullLogger.Instance, ct)
            .ContinueWith(t => { if (t.IsCompletedSuccessfully) file.Complete(); else file.Fail(t.Exception!); return t; }, TaskScheduler.Default).Unwrap();
        // Two readers, programs fed from the growing file: one reads it all, one stops after a line (allowed).
        var counted = new MemoryStream();
        await using (var whole = file.OpenReader())
        await using (var part = file.OpenReader())
        {
            var count = StreamPipeline.RunAsync(whole, [new ProcessStage("wc", "/bin/sh", ["-c", "wc -l"])], counted, NullLogger.Instance, ct);
            var first = StreamPipeline.RunAsync(part, [new ProcessStage("head", "/bin/sh", ["-c", "head -n 1 > /dev/null"]) { MayStopReadingEarly = true }], Stream.Null, NullLogger.Instance, ct);
            await Task.WhenAll(writing, count, first).WaitAsync(TimeSpan.FromSeconds(30), ct);
        }

        Assert.Equal("100000", Encoding.UTF8.GetString(counted.ToArray()).Trim());
        Assert.True(file.IsComplete);
    }

    private static async Task<byte[]> ReadAllAsync(Stream reader, CancellationToken cancellationToken)
    {
        await using (reader)
        {
            using var copy = new MemoryStream();
            var buffer = new byte[65536];
            int read;
            while ((read = await reader.ReadAsync(buffer, cancellationToken)) > 0)
                copy.Write(buffer, 0, read);
            return copy.ToArray();
        }
    }
}
