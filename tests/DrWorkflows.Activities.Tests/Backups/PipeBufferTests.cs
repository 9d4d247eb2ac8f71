using System.IO.Pipes;
using DrWorkflows.Activities.Backups.Pipeline;

namespace DrWorkflows.Activities.Tests.Backups;

/// <summary>The larger pipes that feed programs such as pg_restore (fewer wake-ups per gigabyte).</summary>
public sealed class PipeBufferTests
{
    [Fact]
    public void A_pipe_is_enlarged_to_the_preferred_size_when_the_system_allows_it()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Pipe sizes are a Linux feature.");
        using var server = new AnonymousPipeServerStream(PipeDirection.Out);
        var before = PipeBuffer.SizeOf(server);
        Assert.NotNull(before);

        PipeBuffer.TryEnlarge(server);

        var allowed = int.Parse(File.ReadAllText("/proc/sys/fs/pipe-max-size").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var expected = allowed >= PipeBuffer.PreferredSize || Environment.UserName == "root" ? Math.Max(PipeBuffer.PreferredSize, before.Value) : before;
        Assert.Equal(expected, PipeBuffer.SizeOf(server));
    }

    [Fact]
    public void A_stream_that_is_not_a_pipe_is_left_alone()
    {
        using var memory = new MemoryStream();

        PipeBuffer.TryEnlarge(memory);

        Assert.Null(PipeBuffer.SizeOf(memory));
        Assert.True(memory.CanWrite);
    }
}
