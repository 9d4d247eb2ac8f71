using System.IO.Pipes;
using System.Runtime.InteropServices;

namespace DrWorkflows.Activities.Backups.Pipeline;

/// <summary>
/// A private file written once from start to end (by a program such as <c>zstd -d</c>) while readers follow behind the writer, as <c>tail -f</c> would, but knowing when the
/// file is finished. A reader that reaches the written end waits for more bytes, reads 0 once the writer
/// <see cref="Complete"/>d, and fails once it <see cref="Fail"/>ed. This lets programs start on a downloading dump
/// (pg_restore reading its table of contents, loading tables) while it still arrives. Readers see growth by the
/// file's size, so the writer can be another process. The file is not deleted here: it lives in the caller's
/// temporary directory.
/// </summary>
public sealed partial class GrowingFile
{
    private const int Writing = 0, Completed = 1, Failed = 2;
    private const int EINTR = 4, EPIPE = 32;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(5);
    private readonly TaskCompletionSource ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int state;
    private Exception? failure;

    private GrowingFile(string path) => Path = path;

    /// <summary>Where the file is.</summary>
    public string Path { get; }

    /// <summary>Bytes written so far.</summary>
    public long Length => new FileInfo(Path).Length;

    /// <summary>True once the writer completed; the file is then whole.</summary>
    public bool IsComplete => Volatile.Read(ref state) == Completed;

    /// <summary>Creates the file empty, readable and writable by this user only; fails when it exists.</summary>
    public static GrowingFile Create(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        new FileStream(path, options).Dispose();
        return new GrowingFile(path);
    }

    /// <summary>A file already written to its end, read the same way (its readers end at its end).</summary>
    public static GrowingFile OfCompleteFile(string path)
    {
        var file = new GrowingFile(path);
        file.Complete();
        return file;
    }

    /// <summary>A new reader from the start of the file, following the writer.</summary>
    public ReaderStream OpenReader() => new(this, new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0));

    /// <summary>The writer is done and the file whole: readers read to the end, then 0.</summary>
    public void Complete() => End(Completed, null);

    /// <summary>The writer failed: readers waiting or arriving fail with an <see cref="IOException"/> carrying the cause.</summary>
    public void Fail(Exception cause) => End(Failed, cause);

    private void End(int final, Exception? cause)
    {
        if (final == Failed)
            Interlocked.CompareExchange(ref failure, cause, null);
        if (Interlocked.CompareExchange(ref state, final, Writing) == Writing)
            ended.TrySetResult();
    }

    /// <summary>The program a reader passed the file on to closed its input (it stopped reading).</summary>
    public sealed class BrokenPipeException(string message) : IOException(message);

    /// <summary>Follows the file from its start. Not seekable.</summary>
    public sealed partial class ReaderStream : ReadOnlyStream
    {
        private readonly GrowingFile owner;
        private readonly FileStream file;
        private long position;

        internal ReaderStream(GrowingFile owner, FileStream file)
        {
            this.owner = owner;
            this.file = file;
        }

        public override long Position
        {
            get => position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (buffer.IsEmpty)
                return 0;
            var available = await AvailableAsync(cancellationToken);
            if (available == 0)
                return 0;
            var read = await file.ReadAsync(buffer[..(int)Math.Min(buffer.Length, available)], cancellationToken);
            if (read == 0)
                throw Changed();
            position += read;
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        /// <summary>
        /// Copies the rest of the file, as it grows, into the write end of a pipe (a program's standard input): the
        /// kernel moves the bytes (<c>sendfile</c>) on a dedicated thread, without copying them through this process.
        /// A program that closed the pipe ends it with a <see cref="BrokenPipeException"/>.
        /// </summary>
        [System.Runtime.Versioning.SupportedOSPlatform("linux")]
        public Task SendToAsync(PipeStream pipe, CancellationToken cancellationToken) =>
            Task.Factory.StartNew(() => SendFile(pipe, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        private void SendFile(PipeStream pipe, CancellationToken cancellationToken)
        {
            var target = (int)pipe.SafePipeHandle.DangerousGetHandle();
            var source = (int)file.SafeFileHandle.DangerousGetHandle();
            while (true)
            {
                var available = AvailableAsync(cancellationToken).AsTask().GetAwaiter().GetResult();
                if (available == 0)
                    return;
                var offset = position;
                var sent = SendFile(target, source, ref offset, (nuint)Math.Min(available, 1 << 24));
                if (sent < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == EINTR)
                        continue;
                    if (errno == EPIPE)
                        throw new BrokenPipeException($"The program reading {owner.Path} closed its input after {position} bytes.");
                    throw new IOException($"Could not pass {owner.Path} on to the program reading it: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).");
                }

                if (sent == 0)
                    throw Changed();
                position += sent;
            }
        }

        /// <summary>Bytes readable now, waiting for growth; 0 at the end of a completed file; throws once the writer failed.</summary>
        private async ValueTask<long> AvailableAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                // The state before the size: a file seen completed has its final size when measured after.
                var stateBefore = Volatile.Read(ref owner.state);
                var available = RandomAccess.GetLength(file.SafeFileHandle) - position;
                if (available > 0)
                    return available;
                switch (stateBefore)
                {
                    case Completed:
                        return 0;
                    case Failed:
                        throw new IOException($"The writer of {owner.Path} failed after {position} bytes: {owner.failure?.Message}", owner.failure);
                }

                await Task.WhenAny(owner.ended.Task, Task.Delay(PollInterval, cancellationToken));
                cancellationToken.ThrowIfCancellationRequested();
            }
        }

        private IOException Changed() => new($"{owner.Path} is shorter than before: it was changed by something else.");

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                file.Dispose();
            base.Dispose(disposing);
        }

        [LibraryImport("libc", EntryPoint = "sendfile", SetLastError = true)]
        private static partial nint SendFile(int outFd, int inFd, ref long offset, nuint count);
    }
}
