using DrWorkflows.Activities.Storage;
using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Backups;

/// <summary>Why one store does not hold a set that was written to several stores at once.</summary>
public sealed record BackupCopyFailure(string Store, string Location, string Code, string Message);

/// <summary>
/// Where a set written to several stores at once ended up: the complete set in each store that holds it, and the
/// stores that failed (with why). At least one store holds it; when none does, the backup threw instead.
/// </summary>
public sealed record BackupCopies(IReadOnlyList<BackupSet> Sets, IReadOnlyList<BackupCopyFailure> Failures)
{
    /// <summary>Names of the stores that hold the set.</summary>
    public IReadOnlyList<string> Stores => [.. Sets.Select(s => s.Store)];

    /// <summary>Every store asked for holds the set.</summary>
    public bool Complete => Failures.Count == 0;
}

/// <summary>
/// Writes one backup set to several stores at once from a single stream of data (one read of the source, 3-2-1):
/// every byte goes to each store's writer. A store that fails (when the set is started, while writing, at a
/// commit or when its manifest is written) is dropped, its partial files are removed, and the failure is kept for
/// the report; the other stores go on. Only when every store failed does the backup fail, with the first store's
/// error. Disposing removes the files of every store whose set was not completed.
/// </summary>
public sealed class BackupCopiesWriter : IAsyncDisposable
{
    private readonly List<Copy> copies;
    private readonly List<BackupCopyFailure> failures;
    private readonly ILogger logger;
    private Exception? firstError;

    private BackupCopiesWriter(List<Copy> copies, List<BackupCopyFailure> failures, Exception? firstError, ILogger logger)
    {
        this.copies = copies;
        this.failures = failures;
        this.firstError = firstError;
        this.logger = logger;
    }

    /// <summary>The stores still being written to.</summary>
    public IReadOnlyList<string> LiveStores => [.. copies.Where(c => !c.Failed).Select(c => c.Writer.Store.Name)];

    /// <summary>Where the live stores are, for messages.</summary>
    public string Locations => string.Join(" and ", copies.Where(c => !c.Failed).Select(c => c.Writer.Store.Location));

    /// <summary>The manifest of the first live store (every store's manifest gets the same facts through <see cref="CompleteAsync"/>).</summary>
    public BackupManifest Manifest => copies.First(c => !c.Failed).Writer.Manifest;

    /// <summary>
    /// Starts the set in each of <paramref name="stores"/> (names; null or empty for the default store). A store that
    /// cannot start it is reported, not fatal, unless it is the last one; an unknown store name is a bad request.
    /// </summary>
    public static async Task<BackupCopiesWriter> BeginAsync(IBackupCatalog catalog, BackupSetRequest request, IReadOnlyList<string?> stores, ILogger logger, CancellationToken cancellationToken)
    {
        var names = stores.Count == 0 ? [request.Store] : stores;
        var copies = new List<Copy>();
        var failures = new List<BackupCopyFailure>();
        Exception? first = null;
        try
        {
            foreach (var name in names)
            {
                try
                {
                    copies.Add(new Copy(await catalog.BeginAsync(request with { Store = name }, cancellationToken)));
                }
                catch (BackupException ex) when (ex.Code != BackupErrorCodes.InvalidRequest && !cancellationToken.IsCancellationRequested)
                {
                    first ??= ex;
                    failures.Add(new BackupCopyFailure(name ?? "default", name ?? "default store", ex.Code ?? BackupErrorCodes.StoreError, ex.Message));
                    Log.CopyFailed(logger, request.Kind, request.Source, request.SetId, name ?? "default", ex.Message);
                }
            }
        }
        catch
        {
            foreach (var copy in copies)
                await copy.Writer.DisposeAsync();
            throw;
        }

        var writer = new BackupCopiesWriter(copies, failures, first, logger);
        writer.ThrowIfNoneLeft();
        return writer;
    }

    /// <summary>
    /// The store names of a request (null for the default store), checked before anything is read: each store
    /// configured and named once. Throws <c>backup.invalid-request</c> otherwise.
    /// </summary>
    public static IReadOnlyList<string?> CheckStores(IBackupStoreProvider provider, IReadOnlyList<string?> stores)
    {
        var names = stores.Select(s => string.IsNullOrWhiteSpace(s) ? null : s.Trim()).ToList();
        var resolved = names.Select(n => provider.Get(n).Name).ToList();
        if (resolved.Distinct(StringComparer.OrdinalIgnoreCase).Count() != resolved.Count)
            throw new BackupException(BackupErrorCodes.InvalidRequest, $"The stores list names a store twice ({string.Join(", ", names.Select(n => n ?? "default"))}); name each store once.");
        return names;
    }

    /// <summary>
    /// Starts a data file in every live store and returns one stream that writes each byte to all of them. Commit it
    /// with <see cref="CommitFileAsync"/>.
    /// </summary>
    public async Task<Stream> CreateFileAsync(string name, CancellationToken cancellationToken)
    {
        foreach (var copy in copies.Where(c => !c.Failed))
        {
            try
            {
                copy.File = await copy.Writer.CreateFileAsync(name, cancellationToken);
            }
            catch (Exception ex) when (IsStoreFailure(ex, cancellationToken))
            {
                await DropAsync(copy, ex);
            }
        }

        ThrowIfNoneLeft();
        return new FanOutStream(this);
    }

    /// <summary>Commits the data file in every live store (a store whose commit fails is dropped).</summary>
    public async Task CommitFileAsync(CancellationToken cancellationToken)
    {
        foreach (var copy in copies.Where(c => c is { Failed: false, File: not null }))
        {
            try
            {
                await copy.File!.CommitAsync(cancellationToken);
            }
            catch (Exception ex) when (IsStoreFailure(ex, cancellationToken))
            {
                await DropAsync(copy, ex);
            }

            if (copy.File is { } file)
                await file.DisposeAsync();
            copy.File = null;
        }

        ThrowIfNoneLeft();
    }

    /// <summary>
    /// Fills every live store's manifest with <paramref name="describe"/> and writes it (the set becomes visible in
    /// that store). Returns the sets and the failures of every store asked for.
    /// </summary>
    public async Task<BackupCopies> CompleteAsync(Action<BackupManifest> describe, TimeProvider clock, CancellationToken cancellationToken)
    {
        var sets = new List<BackupSet>();
        foreach (var copy in copies.Where(c => !c.Failed))
        {
            describe(copy.Writer.Manifest);
            try
            {
                sets.Add(await copy.Writer.CompleteAsync(clock, cancellationToken));
            }
            catch (Exception ex) when (IsStoreFailure(ex, cancellationToken))
            {
                await DropAsync(copy, ex);
            }
        }

        ThrowIfNoneLeft();
        return new BackupCopies(sets, [.. failures]);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var copy in copies)
        {
            if (copy.File is { } file)
                await file.DisposeAsync();
            await copy.Writer.DisposeAsync();
        }
    }

    /// <summary>A store's own failure (not a cancellation of the whole backup, not a bug).</summary>
    private static bool IsStoreFailure(Exception ex, CancellationToken cancellationToken) =>
        ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested;

    private async Task DropAsync(Copy copy, Exception ex)
    {
        var store = copy.Writer.Store;
        lock (failures)
        {
            copy.Failed = true;
            firstError ??= ex;
            failures.Add(new BackupCopyFailure(store.Name, store.Location, (ex as BackupException)?.Code ?? BackupErrorCodes.StoreError, ex.Message));
        }

        Log.CopyFailed(logger, copy.Writer.Manifest.Kind, copy.Writer.Manifest.Source, copy.Writer.Manifest.Id, store.Name, ex.Message);
        if (copy.File is { } file)
        {
            copy.File = null;
            await file.DisposeAsync();
        }
    }

    private void ThrowIfNoneLeft()
    {
        if (copies.Any(c => !c.Failed))
            return;
        if (firstError is BackupException)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(firstError);
        throw new BackupException(BackupErrorCodes.StoreError,
            $"The backup could not be written to any store: {string.Join(" | ", failures.Select(f => $"{f.Store}: {f.Message}"))}", innerException: firstError);
    }

    private sealed class Copy(BackupSetWriter writer)
    {
        public BackupSetWriter Writer { get; } = writer;

        public BackupFileStream? File { get; set; }

        public bool Failed { get; set; }
    }

    /// <summary>The data stream: each write goes to every live store at once; a store that fails is dropped.</summary>
    private sealed class FanOutStream(BackupCopiesWriter owner) : WriteOnlyStream
    {
        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var live = owner.copies.Where(c => c is { Failed: false, File: not null }).ToArray();
            if (live.Length == 1)
            {
                await WriteOneAsync(live[0], buffer, cancellationToken);
            }
            else
            {
                var writes = new Task[live.Length];
                for (var i = 0; i < live.Length; i++)
                    writes[i] = WriteOneAsync(live[i], buffer, cancellationToken);
                await Task.WhenAll(writes);
            }

            owner.ThrowIfNoneLeft();
        }

        private async Task WriteOneAsync(Copy copy, ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
        {
            try
            {
                await copy.File!.WriteAsync(buffer, cancellationToken);
            }
            catch (Exception ex) when (IsStoreFailure(ex, cancellationToken))
            {
                await owner.DropAsync(copy, ex);
            }
        }
    }
}
