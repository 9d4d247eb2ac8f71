using System.Security.Cryptography;
using DrWorkflows.Activities.Throwaway;

namespace DrWorkflows.Activities.Docker;

/// <summary>
/// A pass-through, non-seekable stream that shows every byte read from (or written to) the inner stream to
/// <see cref="Observe"/>. It answers zero-length reads itself: Docker.DotNet's chunked response stream throws
/// <see cref="EndOfStreamException"/> on a zero-length read at a chunk boundary, which
/// <see cref="System.Formats.Tar.TarReader"/> issues.
/// </summary>
internal abstract class ObservingStream(Stream inner, bool leaveOpen) : Stream
{
    public long BytesTransferred { get; private set; }

    public override bool CanRead => inner.CanRead;

    public override bool CanWrite => inner.CanWrite;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => BytesTransferred;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
            return 0;
        var read = inner.Read(buffer);
        Pass(buffer[..read]);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
            return 0;
        var read = await inner.ReadAsync(buffer, cancellationToken);
        Pass(buffer.Span[..read]);
        return read;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        inner.Write(buffer);
        Pass(buffer);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await inner.WriteAsync(buffer, cancellationToken);
        Pass(buffer.Span);
    }

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected abstract void Observe(ReadOnlySpan<byte> bytes);

    protected override void Dispose(bool disposing)
    {
        if (disposing && !leaveOpen)
            inner.Dispose();
        base.Dispose(disposing);
    }

    private void Pass(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
            return;
        Observe(bytes);
        BytesTransferred += bytes.Length;
    }
}

/// <summary>Computes the SHA-256 and length of the bytes passing through. Leaves the inner stream open by default.</summary>
internal sealed class HashingStream(Stream inner, bool leaveOpen = true) : ObservingStream(inner, leaveOpen)
{
    private readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private string? digest;

    /// <summary>Finishes the hash (no more bytes may pass afterwards) and returns it as lower-case hex.</summary>
    public string GetSha256()
    {
        digest ??= Convert.ToHexStringLower(hash.GetHashAndReset());
        return digest;
    }

    public StreamDigest GetDigest() => new(BytesTransferred, GetSha256());

    protected override void Observe(ReadOnlySpan<byte> bytes)
    {
        if (digest is not null)
            throw new InvalidOperationException("The digest was already taken; no more bytes may pass.");
        hash.AppendData(bytes);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            // Consumers such as HttpContent dispose the stream they were given; the digest stays available.
            GetSha256();
            hash.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>
/// Guards a Docker.DotNet response stream against zero-length reads and keeps the first bytes read (for a look
/// at a tar header afterwards). Disposes the inner stream unless told otherwise.
/// </summary>
internal sealed class GuardedReadStream(Stream inner, int keepFirstBytes = 0, bool leaveOpen = false) : ObservingStream(inner, leaveOpen)
{
    private readonly MemoryStream head = new();

    /// <summary>The first bytes read (up to the size given at construction); readable after disposal.</summary>
    public ReadOnlyMemory<byte> Head => head.GetBuffer().AsMemory(0, (int)head.Length);

    public override bool CanWrite => false;

    protected override void Observe(ReadOnlySpan<byte> bytes)
    {
        var room = keepFirstBytes - (int)head.Length;
        if (room > 0)
            head.Write(bytes[..Math.Min(room, bytes.Length)]);
    }
}

/// <summary>Writes files under a temporary name and renames them when complete, so no half-written file is left.</summary>
internal static class AtomicFile
{
    /// <summary>
    /// Creates <paramref name="path"/> (its directory too) with what <paramref name="write"/> writes, returning the
    /// size and SHA-256 of the bytes written. On any failure the temporary file is deleted and the target untouched.
    /// </summary>
    public static async Task<StreamDigest> WriteAsync(string path, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(directory);
        return await WriteCoreAsync(full, TempName(full), write, null, cancellationToken);
    }

    /// <summary>
    /// The same for evidence and other private files: the file is <c>0600</c>, the directories created for it
    /// <c>0700</c>, and the temporary file is in the throwaway ledger (a crash mid-write leaves nothing behind).
    /// </summary>
    public static async Task<StreamDigest> WritePrivateAsync(string path, Func<Stream, CancellationToken, Task> write, IThrowawayLedger ledger, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        ThrowawayFiles.CreateDirectories(Path.GetDirectoryName(full)!);
        var temp = TempName(full);
        await using var partial = await ledger.RecordAsync(ThrowawaySpec.File(temp, $"partial file of {full}"), _ => ThrowawayFiles.DeleteFileAsync(temp), cancellationToken);
        return await WriteCoreAsync(full, temp, write, ThrowawayFiles.PrivateFileMode, cancellationToken);
    }

    private static string TempName(string full) => Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.partial");

    private static async Task<StreamDigest> WriteCoreAsync(string full, string temp, Func<Stream, CancellationToken, Task> write, UnixFileMode? mode, CancellationToken cancellationToken)
    {
        try
        {
            StreamDigest digest;
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 1 << 16, Options = FileOptions.Asynchronous };
            if (mode is { } unixMode && !OperatingSystem.IsWindows())
                options.UnixCreateMode = unixMode;
            await using (var file = new FileStream(temp, options))
            {
                using var hashing = new HashingStream(file);
                await write(hashing, cancellationToken);
                await hashing.FlushAsync(cancellationToken);
                file.Flush(flushToDisk: true);
                digest = hashing.GetDigest();
            }

            File.Move(temp, full, overwrite: true);
            return digest;
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the temporary name makes a leftover recognisable.
        }
        catch (UnauthorizedAccessException)
        {
            // Same.
        }
    }
}
