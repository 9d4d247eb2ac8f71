using System.Runtime.CompilerServices;
using DrWorkflows.Activities.Backups;
using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Storage;

/// <summary>
/// A directory of backup objects. Writes go to a hidden <c>.name.&lt;id&gt;.partial</c> file in the target
/// directory, are flushed to disk, then renamed over the final name: a reader never sees half an object.
/// Files and directories are created owner-only (0600 / 0700).
/// </summary>
internal sealed class LocalBackupStore : IBackupStore
{
    internal const string PartialSuffix = ".partial";
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private readonly string root;
    private readonly ILogger logger;

    public LocalBackupStore(string name, string directory, ILogger logger)
    {
        Name = name;
        root = Path.GetFullPath(directory);
        this.logger = logger;
    }

    public string Name { get; }

    public string Location => $"local directory {root}";

    public string RootDirectory => root;

    public Task<IBackupObjectWriter> CreateWriterAsync(string key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var path = PathOf(key);
        var directory = Path.GetDirectoryName(path)!;
        var temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}{PartialSuffix}");
        try
        {
            CreateDirectory(directory);
            var streamOptions = new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                BufferSize = 0,
                Options = FileOptions.Asynchronous,
            };
            if (!OperatingSystem.IsWindows())
                streamOptions.UnixCreateMode = OwnerOnlyFile;
            var stream = new FileStream(temp, streamOptions);
            return Task.FromResult<IBackupObjectWriter>(new Writer(this, key, path, temp, stream));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw Translate(ex, $"create {key}");
        }
    }

    public async Task PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        await using var writer = await CreateWriterAsync(key, cancellationToken);
        await writer.WriteAsync(content, cancellationToken);
        await writer.CommitAsync(cancellationToken);
    }

    public Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var path = PathOf(key);
        try
        {
            return Task.FromResult<Stream>(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.Asynchronous | FileOptions.SequentialScan));
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new BackupException(BackupErrorCodes.NotFound, $"Backup object '{key}' does not exist in the {Location}.", innerException: ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Translate(ex, $"read {key}");
        }
    }

    public Task<BackupObjectInfo?> GetInfoAsync(string key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var file = new FileInfo(PathOf(key));
        return Task.FromResult(file.Exists ? new BackupObjectInfo(key, file.Length, file.LastWriteTimeUtc) : null);
    }

    public async IAsyncEnumerable<BackupObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask;
        if (!Directory.Exists(root))
            yield break;

        // Start at the deepest directory fully named by the prefix, then filter by the full prefix.
        var slash = prefix.LastIndexOf('/');
        var start = slash < 0 ? root : Path.Combine(root, prefix[..slash].Replace('/', Path.DirectorySeparatorChar));
        if (!Directory.Exists(start))
            yield break;

        var results = new List<BackupObjectInfo>();
        foreach (var file in new DirectoryInfo(start).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true }))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (file.Name.EndsWith(PartialSuffix, StringComparison.Ordinal))
                continue;
            var key = Path.GetRelativePath(root, file.FullName).Replace(Path.DirectorySeparatorChar, '/');
            if (key.StartsWith(prefix, StringComparison.Ordinal))
                results.Add(new BackupObjectInfo(key, file.Length, file.LastWriteTimeUtc));
        }

        foreach (var item in results.OrderBy(r => r.Key, StringComparer.Ordinal))
            yield return item;
    }

    /// <summary>Partial files left by a crashed process (older than <paramref name="olderThan"/>).</summary>
    public IEnumerable<FileInfo> FindAbandonedPartials(DateTimeOffset olderThan) =>
        Directory.Exists(root)
            ? new DirectoryInfo(root).EnumerateFiles("*" + PartialSuffix, new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true })
                .Where(f => f.LastWriteTimeUtc < olderThan.UtcDateTime)
            : [];

    public Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var path = PathOf(key);
        try
        {
            File.Delete(path);
            RemoveEmptyDirectories(Path.GetDirectoryName(path)!);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Translate(ex, $"delete {key}");
        }

        return Task.CompletedTask;
    }

    private string PathOf(string key)
    {
        BackupKeys.Validate(key);
        var path = Path.GetFullPath(Path.Combine(root, key.Replace('/', Path.DirectorySeparatorChar)));
        if (!path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new BackupException(BackupErrorCodes.InvalidRequest, $"Backup object key '{key}' resolves outside the store directory {root}.");
        return path;
    }

    private void CreateDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
            Directory.CreateDirectory(directory);
        else
            Directory.CreateDirectory(directory, DirectoryMode);
    }

    private void RemoveEmptyDirectories(string directory)
    {
        while (directory.Length > root.Length && directory.StartsWith(root, StringComparison.Ordinal))
        {
            try
            {
                if (Directory.EnumerateFileSystemEntries(directory).Any())
                    return;
                Directory.Delete(directory);
            }
            catch (IOException)
            {
                return;
            }

            directory = Path.GetDirectoryName(directory)!;
        }
    }

    internal BackupException Translate(Exception ex, string operation) => StoreErrors.FromIo(ex, operation, Location);

    private void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.PartialCleanupFailed(logger, path, ex);
        }
    }

    private sealed class Writer(LocalBackupStore store, string key, string path, string temp, FileStream stream) : IBackupObjectWriter
    {
        private bool committed;
        private bool disposed;

        public string Key => key;

        public long BytesWritten { get; private set; }

        public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            ObjectDisposedException.ThrowIf(disposed || committed, this);
            try
            {
                await stream.WriteAsync(data, cancellationToken);
                BytesWritten += data.Length;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw store.Translate(ex, $"write {key}");
            }
        }

        public async Task CommitAsync(CancellationToken cancellationToken)
        {
            ObjectDisposedException.ThrowIf(disposed || committed, this);
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                await stream.FlushAsync(cancellationToken);
                stream.Flush(flushToDisk: true);
                await stream.DisposeAsync();
                File.Move(temp, path, overwrite: true);
                committed = true;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw store.Translate(ex, $"commit {key}");
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (disposed)
                return;
            disposed = true;
            try
            {
                await stream.DisposeAsync();
            }
            catch (IOException)
            {
                // A failed final flush (disk full) is expected here: the partial file is deleted below.
            }

            if (!committed)
            {
                store.TryDelete(temp);
                Log.WriteAborted(store.logger, key, store.Location);
            }
        }
    }
}

internal static class StoreErrors
{
    private const int ENOSPC = 28;
    private const int EDQUOT = 122;

    public static bool IsDiskFull(Exception ex) =>
        ex is IOException io && (io.HResult is ENOSPC or EDQUOT || (unchecked(io.HResult & 0xFFFF) == 0x70 && OperatingSystem.IsWindows())
                                 || io.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase)
                                 || io.Message.Contains("Disk quota exceeded", StringComparison.OrdinalIgnoreCase));

    public static BackupException FromIo(Exception ex, string operation, string location)
    {
        if (ex is BackupException backup)
            return backup;
        if (IsDiskFull(ex))
            return new BackupException(BackupErrorCodes.StoreFull,
                $"No space left on device while trying to {operation} in the {location}. The partial file was removed. Free space (for example run ApplyRetention) or point the store at a larger volume, then run the step again.",
                retryable: false, ex);
        if (ex is UnauthorizedAccessException)
            return new BackupException(BackupErrorCodes.StoreError,
                $"Permission denied while trying to {operation} in the {location}: {ex.Message}. Give the DrWorkflows service user write access to the directory.",
                innerException: ex);
        return new BackupException(BackupErrorCodes.StoreError, $"Could not {operation} in the {location}: {ex.Message}", retryable: true, ex);
    }
}
