using System.Text;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Backups.Pipeline;
using Microsoft.Extensions.Logging.Abstractions;

namespace DrWorkflows.Activities.Tests.Backups;

/// <summary>The process pipeline with real programs: data flow, first-failure attribution, cleanup.</summary>
public sealed class StreamPipelineTests
{
    private static ProcessStage Sh(string name, string script) => new(name, "/bin/sh", ["-c", script]);

    [Fact]
    public async Task Data_flows_through_processes_and_in_process_transforms()
    {
        var ct = TestContext.Current.CancellationToken;
        var input = new MemoryStream(Encoding.UTF8.GetBytes(string.Join('\n', Enumerable.Range(1, 100_000)) + "\n"));
        var output = new MemoryStream();
        await StreamPipeline.RunAsync(input, [Sh("upper", "tr 0-9 a-j"), new WriteTransformStage("gzip", s => new System.IO.Compression.GZipStream(s, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))], output, NullLogger.Instance, ct);

        output.Position = 0;
        await using var gunzip = new System.IO.Compression.GZipStream(output, System.IO.Compression.CompressionMode.Decompress);
        var text = await new StreamReader(gunzip).ReadToEndAsync(ct);
        Assert.StartsWith("b\nc\nd\n", text, StringComparison.Ordinal);
        Assert.EndsWith("\nbaaaaa\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Adjacent_programs_are_joined_by_a_pipe_and_every_byte_arrives()
    {
        var ct = TestContext.Current.CancellationToken;
        var output = new MemoryStream();
        var results = await StreamPipeline.RunAsync(null,
            [Sh("producer", "seq 1 200000"), Sh("upper", "tr 0-9 a-j"), Sh("compress", "gzip -1"), Sh("decompress", "gzip -d")], output, NullLogger.Instance, ct);

        var text = System.Text.Encoding.UTF8.GetString(output.ToArray());
        Assert.StartsWith("b\nc\nd\n", text, StringComparison.Ordinal);
        Assert.EndsWith("\ncaaaaa\n", text, StringComparison.Ordinal);
        Assert.Equal(200_000, text.Count(c => c == '\n'));
        Assert.All(results, r => Assert.Equal(0, r.ExitCode));
        Assert.Equal(["producer", "upper", "compress", "decompress"], results.Select(r => r.Stage));
    }

    [Fact]
    public async Task A_writer_that_fails_is_blamed_not_the_reader_that_got_a_short_input()
    {
        var ct = TestContext.Current.CancellationToken;
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var error = await Assert.ThrowsAsync<BackupException>(() => StreamPipeline.RunAsync(null,
                [Sh("decrypt", "echo 'decrypt: bad passphrase' >&2; exit 2"), Sh("decompress", "n=$(wc -c); [ \"$n\" -gt 0 ] || { echo 'decompress: empty input' >&2; exit 1; }")],
                new MemoryStream(), NullLogger.Instance, ct));
            Assert.Contains("decrypt", error.Message, StringComparison.Ordinal);
            Assert.Contains("bad passphrase", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_producer_that_fails_after_writing_fails_the_pipeline_with_its_stderr()
    {
        var ct = TestContext.Current.CancellationToken;
        var output = new MemoryStream();
        var error = await Assert.ThrowsAsync<BackupException>(() => StreamPipeline.RunAsync(null,
            [Sh("producer", "head -c 100000 /dev/zero; echo 'producer: error: disk read failed' >&2; exit 3"), Sh("compress", "gzip -1")], output, NullLogger.Instance, ct));
        Assert.Equal(BackupErrorCodes.ToolFailed, error.Code);
        Assert.Contains("producer", error.Message, StringComparison.Ordinal);
        Assert.Contains("exit code 3", error.Message, StringComparison.Ordinal);
        Assert.Contains("disk read failed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_error_line_on_stderr_fails_a_stage_that_exits_0()
    {
        var ct = TestContext.Current.CancellationToken;
        var stage = Sh("dumper", "echo data; echo 'pg_dump: error: query failed' >&2; exit 0") with { IsErrorLine = l => l.Contains(" error: ", StringComparison.Ordinal) };
        var error = await Assert.ThrowsAsync<BackupException>(() => StreamPipeline.RunAsync(null, [stage], new MemoryStream(), NullLogger.Instance, ct));
        Assert.Contains("with an error on stderr", error.Message, StringComparison.Ordinal);
        Assert.Contains("query failed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_consumer_that_dies_early_is_blamed_not_the_producer_it_cut_off()
    {
        var ct = TestContext.Current.CancellationToken;
        var error = await Assert.ThrowsAsync<BackupException>(() => StreamPipeline.RunAsync(null,
            [Sh("producer", "cat /dev/zero"), Sh("encrypt", "head -c 1000 >/dev/null; echo 'encrypt: out of memory' >&2; exit 2")], new MemoryStream(), NullLogger.Instance, ct));
        Assert.Contains("encrypt", error.Message, StringComparison.Ordinal);
        Assert.Contains("out of memory", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_program_allowed_to_stop_reading_early_succeeds_on_its_exit_status_and_others_still_fail()
    {
        var ct = TestContext.Current.CancellationToken;
        // 8 MiB of input; the program reads 10 bytes and leaves (as pg_restore does after the part of an archive it needs).
        static Stream Input() => new MemoryStream(new byte[8 << 20]);
        var output = new MemoryStream();
        var results = await StreamPipeline.RunAsync(Input(), [Sh("head", "head -c 10 > /dev/null; echo took-ten") with { MayStopReadingEarly = true }], output, NullLogger.Instance, ct);
        Assert.Equal("took-ten\n", Encoding.UTF8.GetString(output.ToArray()));
        Assert.Equal(0, Assert.Single(results).ExitCode);

        // Allowed to stop early, but it failed: its exit status fails the pipeline.
        var failed = await Assert.ThrowsAsync<BackupException>(() => StreamPipeline.RunAsync(Input(), [Sh("head", "head -c 10 > /dev/null; echo bad >&2; exit 3") with { MayStopReadingEarly = true }], Stream.Null, NullLogger.Instance, ct));
        Assert.Contains("exit code 3", failed.Message, StringComparison.Ordinal);

        // Not allowed: leaving the input unread is a failure.
        var cut = await Assert.ThrowsAsync<BackupException>(() => StreamPipeline.RunAsync(Input(), [Sh("head", "head -c 10 > /dev/null")], Stream.Null, NullLogger.Instance, ct));
        Assert.Contains("stopped reading its input", cut.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_sink_that_runs_out_of_space_stops_every_process()
    {
        var ct = TestContext.Current.CancellationToken;
        using var marker = new Backups.PidFile();
        var sink = new FailingSink(afterBytes: 200_000);
        var error = await Assert.ThrowsAsync<IOException>(() => StreamPipeline.RunAsync(null,
            [Sh("producer", $"echo $$ > {marker.Path}; exec cat /dev/zero"), Sh("compress", "cat")], sink, NullLogger.Instance, ct));
        Assert.Contains("No space left on device", error.Message, StringComparison.Ordinal);
        Assert.False(marker.ProcessAlive(), "the producer was killed");
    }

    [Fact]
    public async Task Cancellation_kills_the_processes_and_throws_operation_cancelled()
    {
        using var marker = new Backups.PidFile();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => StreamPipeline.RunAsync(null,
            [Sh("producer", $"echo $$ > {marker.Path}; exec sleep 60")], new MemoryStream(), NullLogger.Instance, cancel.Token));
        Assert.False(marker.ProcessAlive(), "the process was killed");
    }

    private sealed class FailingSink(long afterBytes) : MemoryStream
    {
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (Length + buffer.Length > afterBytes)
                throw new IOException("No space left on device", 28);
            return base.WriteAsync(buffer, cancellationToken);
        }
    }
}

/// <summary>A file where a test process writes its PID, to check later that it is gone.</summary>
internal sealed class PidFile : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"drw-pid-{Guid.NewGuid():N}");

    public bool ProcessAlive()
    {
        if (!int.TryParse(File.ReadAllText(Path).Trim(), out var pid))
            return false;
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    public void Dispose() => File.Delete(Path);
}
