using System.Security.Cryptography;
using DrWorkflows.Activities.Storage;

namespace DrWorkflows.Activities.Backups;

/// <summary>
/// A write-only stream into one file of a backup set: counts and SHA-256-hashes the stored bytes while
/// forwarding them to the store. <see cref="CommitAsync"/> makes the object visible and records it in the
/// manifest; disposing without commit aborts the object (nothing is left behind).
/// </summary>
public sealed class BackupFileStream : WriteOnlyStream
{
    private readonly IBackupObjectWriter writer;
    private readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly Action<BackupFileEntry> onCommitted;
    private bool committed;
    private bool disposed;

    internal BackupFileStream(string name, IBackupObjectWriter writer, Action<BackupFileEntry> onCommitted)
    {
        Name = name;
        this.writer = writer;
        this.onCommitted = onCommitted;
    }

    public string Name { get; }

    public string Key => writer.Key;

    public long BytesWritten { get; private set; }

    public override bool CanWrite => !disposed && !committed;

    public override long Length => BytesWritten;

    public override long Position { get => BytesWritten; set => throw new NotSupportedException(); }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(disposed || committed, this);
        hash.AppendData(buffer.Span);
        BytesWritten += buffer.Length;
        await writer.WriteAsync(buffer, cancellationToken);
    }

    /// <summary>Completes the object and returns its manifest entry (size and SHA-256 of the stored bytes).</summary>
    public async Task<BackupFileEntry> CommitAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(disposed || committed, this);
        await writer.CommitAsync(cancellationToken);
        committed = true;
        var entry = new BackupFileEntry { Name = Name, Key = writer.Key, Size = BytesWritten, Sha256 = Convert.ToHexStringLower(hash.GetHashAndReset()) };
        onCommitted(entry);
        return entry;
    }

    public override async ValueTask DisposeAsync()
    {
        if (disposed)
            return;
        disposed = true;
        hash.Dispose();
        await writer.DisposeAsync();
        await base.DisposeAsync();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !disposed)
            DisposeAsync().AsTask().GetAwaiter().GetResult();
        base.Dispose(disposing);
    }
}

/// <summary>
/// A read stream over a stored backup file that hashes everything read. At end of stream it compares size and
/// SHA-256 with the manifest and throws a <c>backup.checksum-mismatch</c> error on any difference, so a
/// consumer never completes on corrupt or truncated bytes. <see cref="DrainAndVerifyAsync"/> reads the rest
/// (for example after a downstream tool failed) to tell corruption apart from other failures.
/// </summary>
public sealed class VerifyingReadStream : ReadOnlyStream
{
    private readonly Stream inner;
    private readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly BackupFileEntry expected;
    private readonly string description;
    private bool verified;

    internal VerifyingReadStream(Stream inner, BackupFileEntry expected, string description)
    {
        this.inner = inner;
        this.expected = expected;
        this.description = description;
    }

    public long BytesRead { get; private set; }

    /// <summary>The SHA-256 of what was read, once the end was reached.</summary>
    public string? ActualSha256 { get; private set; }

    public override long Length => expected.Size;

    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        // The inner read is not cancelled half-way: a cancelled read can consume bytes that were never hashed, and a
        // later DrainAndVerifyAsync would then call a sound backup corrupt. Cancellation is honoured between reads.
        cancellationToken.ThrowIfCancellationRequested();
        var read = await inner.ReadAsync(buffer, CancellationToken.None);
        Account(buffer.Span[..read]);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
    {
        var read = inner.Read(buffer, offset, count);
        Account(buffer.AsSpan(offset, read));
        return read;
    }

    /// <summary>Reads and discards the rest, then verifies. Throws on mismatch.</summary>
    public async Task DrainAndVerifyAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[1 << 20];
        while (await ReadAsync(buffer, cancellationToken) > 0)
        {
        }
    }

    private void Account(ReadOnlySpan<byte> data)
    {
        if (data.Length > 0)
        {
            if (verified)
                throw Mismatch("more bytes than recorded");
            hash.AppendData(data);
            BytesRead += data.Length;
            if (BytesRead > expected.Size)
                throw Mismatch($"{BytesRead} or more bytes instead of {expected.Size}");
            return;
        }

        if (verified)
            return;
        ActualSha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
        verified = true;
        if (BytesRead != expected.Size)
            throw Mismatch($"{BytesRead} bytes instead of {expected.Size} (truncated)");
        if (!string.Equals(ActualSha256, expected.Sha256, StringComparison.OrdinalIgnoreCase))
            throw Mismatch($"SHA-256 {ActualSha256} instead of {expected.Sha256}");
    }

    private BackupException Mismatch(string detail) =>
        new(BackupErrorCodes.ChecksumMismatch,
            $"Backup file {description} is corrupt: {detail}. It was refused and nothing was restored from it. Use an older backup set (FindRestorePoint) or another store's copy, and investigate the store.");

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            hash.Dispose();
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        hash.Dispose();
        await inner.DisposeAsync();
        await base.DisposeAsync();
    }
}
