using System.Formats.Tar;
using System.Globalization;
using System.IO.Pipelines;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Backups.Pipeline;
using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Backups;

/// <summary>A tar archive as it was before compression and encryption: its bytes and SHA-256.</summary>
public sealed record TarDigest(long Bytes, string Sha256);

/// <summary>
/// Tar archives as files of a backup set (the monitoring volumes, the Docker configuration): the tar is streamed
/// through the set's compression and encryption into the store (never a full-size temp file), and read back the same
/// way. The manifest records each archive's own SHA-256 and size (<c>{file}:tarSha256</c>, <c>{file}:tarBytes</c>), so a verification can prove the decoded archive is the one
/// that was written, not only that the stored bytes are intact.
/// </summary>
public static class TarSetFiles
{
    public static string ShaKey(string file) => file + ":tarSha256";

    public static string BytesKey(string file) => file + ":tarBytes";

    /// <summary>
    /// Writes one tar file into the set: <paramref name="produce"/> writes the plain tar to the stream it is given;
    /// the bytes go through <paramref name="encoding"/> into the set's file. Records the tar's digest in the manifest.
    /// </summary>
    public static async Task<TarDigest> WriteAsync(BackupSetWriter set, string name, EncodingSession encoding, Func<Stream, CancellationToken, Task> produce, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(encoding);
        ArgumentNullException.ThrowIfNull(produce);
        await using var file = await set.CreateFileAsync(name + encoding.Suffix, cancellationToken);
        var pipe = new Pipe();
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producing = Task.Run(async () =>
        {
            try
            {
                await using var writer = pipe.Writer.AsStream(leaveOpen: true);
                var observed = new HashingStream(writer);
                await produce(observed, failed.Token);
                await pipe.Writer.CompleteAsync();
                return observed;
            }
            catch (Exception ex)
            {
                await pipe.Writer.CompleteAsync(ex);
                throw;
            }
        }, CancellationToken.None);

        try
        {
            await using (var reader = pipe.Reader.AsStream())
                await StreamPipeline.RunAsync(reader, encoding.Stages, file, logger, failed.Token);
        }
        catch
        {
            await failed.CancelAsync();
            try
            {
                await producing;
            }
            catch (Exception producerError)
            {
                // the pipeline's error is the one to report
                _ = producerError;
            }

            throw;
        }

        using var tar = await producing;
        var entry = await file.CommitAsync(cancellationToken);
        var digest = new TarDigest(tar.BytesTransferred, tar.GetSha256());
        set.Manifest.Properties[ShaKey(entry.Name)] = digest.Sha256;
        set.Manifest.Properties[BytesKey(entry.Name)] = digest.Bytes.ToString(CultureInfo.InvariantCulture);
        return digest;
    }

    /// <summary>
    /// Reads one tar file of a set back: the stored bytes are checked against the manifest (size, SHA-256), decoded,
    /// and <paramref name="consume"/> reads the plain tar (what it leaves unread is drained). Returns the decoded tar's
    /// digest; a digest that differs from the one the manifest recorded throws <c>backup.checksum-mismatch</c>.
    /// </summary>
    public static async Task<TarDigest> ReadAsync(IBackupCatalog catalog, BackupSet set, BackupFileEntry file, DecodingSession decoding, Func<Stream, CancellationToken, Task> consume, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(decoding);
        ArgumentNullException.ThrowIfNull(consume);
        var pipe = new Pipe();
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var consuming = Task.Run(async () =>
        {
            try
            {
                await using var reader = pipe.Reader.AsStream(leaveOpen: true);
                var observed = new HashingStream(reader);
                await consume(observed, failed.Token);
                await observed.CopyToAsync(Stream.Null, failed.Token);
                await pipe.Reader.CompleteAsync();
                return observed;
            }
            catch (Exception ex)
            {
                await pipe.Reader.CompleteAsync(ex);
                throw;
            }
        }, CancellationToken.None);

        try
        {
            await using (var stored = await catalog.OpenReadAsync(set, file, failed.Token))
            {
                await using (var writer = pipe.Writer.AsStream(leaveOpen: true))
                    await StreamPipeline.RunAsync(stored, decoding.Stages, writer, logger, failed.Token);
                await pipe.Writer.CompleteAsync();
                await stored.DrainAndVerifyAsync(failed.Token);
            }
        }
        catch (Exception ex)
        {
            await pipe.Writer.CompleteAsync(ex);
            await failed.CancelAsync();
            try
            {
                await consuming;
            }
            catch (Exception consumerError)
            {
                // the read's error is the one to report
                _ = consumerError;
            }

            throw;
        }

        using var read = await consuming;
        var digest = new TarDigest(read.BytesTransferred, read.GetSha256());
        if (set.Manifest.Properties.TryGetValue(ShaKey(file.Name), out var expected) && !string.Equals(expected, digest.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new BackupException(BackupErrorCodes.ChecksumMismatch,
                $"The tar archive {file.Name} of set {set} decodes to SHA-256 {digest.Sha256}, not the {expected} recorded when it was written: the set cannot be trusted.");
        }

        return digest;
    }

    /// <summary>Counts the entries of a tar stream (reads it to its end-of-archive marker).</summary>
    public static async Task<int> CountEntriesAsync(Stream tar, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tar);
        var entries = 0;
        await using var reader = new TarReader(tar, leaveOpen: true);
        while (await reader.GetNextEntryAsync(copyData: false, cancellationToken) is not null)
            entries++;
        return entries;
    }
}
