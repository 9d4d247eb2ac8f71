using System.Buffers;
using System.Text;
using System.Threading.Channels;
using DrWorkflows.Activities.Backups;
using Npgsql;

namespace DrWorkflows.Activities.Postgres;

/// <summary>One database session loading rows of a text-format <c>COPY ... FROM stdin</c>.</summary>
internal interface ICopySession : IAsyncDisposable
{
    /// <summary>Sends complete rows (COPY text format, each ending in a newline).</summary>
    ValueTask WriteRowsAsync(ReadOnlyMemory<byte> rows, CancellationToken cancellationToken);

    /// <summary>Ends the COPY and waits for the database to accept it.</summary>
    Task CompleteAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Loads one table with several sessions at once. PostgreSQL loads a <c>COPY</c> in one backend process, so a
/// table holding most of a database's data keeps one core busy while the others have finished: it is the
/// restore's critical path. This stream receives <c>pg_restore -f -</c>'s script for that one table's data
/// (the session settings, the <c>COPY ... FROM stdin;</c> line, the rows, <c>\.</c>), opens
/// <c>sessions</c> sessions that each run the settings and the same <c>COPY</c>, and hands them blocks of whole
/// rows as fast as each takes them. In the COPY text format a row ends at every newline byte (newlines inside
/// values are written as <c>\n</c>), and a line <c>\.</c> ends the data, so rows are found without parsing them.
/// The dump's encoding must be UTF-8 (the sessions' client encoding).
/// </summary>
internal sealed class TableRowDealer : Stream
{
    private const int BlockSize = 256 * 1024;
    private static readonly byte[] EndOfData = "\\.\n"u8.ToArray();

    private readonly int sessionCount;
    private readonly Func<IReadOnlyList<string>, string, CancellationToken, Task<ICopySession>> openSession;
    private readonly string table;
    private readonly List<byte> header = [];
    private readonly List<string> settings = [];
    private readonly Channel<(byte[] Block, int Length)> blocks = Channel.CreateBounded<(byte[], int)>(new BoundedChannelOptions(4) { SingleWriter = true });
    private readonly List<Task> loaders = [];
    private readonly CancellationTokenSource stop = new();
    private byte[] partial = ArrayPool<byte>.Shared.Rent(BlockSize);
    private int partialLength;
    private Phase phase = Phase.Settings;
    private Exception? failure;

    public TableRowDealer(string table, int sessions, Func<IReadOnlyList<string>, string, CancellationToken, Task<ICopySession>> openSession)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sessions, 1);
        this.table = table;
        sessionCount = sessions;
        this.openSession = openSession;
    }

    private enum Phase
    {
        Settings,
        Rows,
        AfterRows,
    }

    /// <summary>Rows handed to the sessions so far (for the log).</summary>
    public long Rows { get; private set; }

    /// <summary>The session statements read from the script before its COPY line, run by every session first.</summary>
    public IReadOnlyList<string> Settings => settings;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>Opens the sessions of an existing database through Npgsql.</summary>
    public static Func<IReadOnlyList<string>, string, CancellationToken, Task<ICopySession>> NpgsqlSessions(PostgresServer server, string database) =>
        async (statements, copy, cancellationToken) => await NpgsqlCopySession.OpenAsync(server, database, statements, copy, cancellationToken);

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfFailed();
        if (phase == Phase.Settings)
            buffer = await ReadSettingsAsync(buffer, cancellationToken);
        if (phase == Phase.Rows && buffer.Length > 0)
            await DealAsync(buffer, cancellationToken);
        // After the rows pg_restore writes only blank lines and comments: they are ignored.
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    /// <summary>Once pg_restore has ended: sends what is left, ends every COPY and waits for the database.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        ThrowIfFailed();
        if (phase != Phase.AfterRows)
        {
            throw new BackupException(BackupErrorCodes.ToolFailed,
                phase == Phase.Settings
                    ? $"pg_restore printed no COPY for table {table}: the archive holds no data for it. The new database is dropped."
                    : $"pg_restore's output for table {table} ended inside its rows (no \\. line): the archive is truncated or pg_restore stopped. The new database is dropped.");
        }

        blocks.Writer.TryComplete();
        await WhenLoadersDoneAsync();
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>Stops the sessions that are still loading (after a failure or a cancellation) and closes them.</summary>
    public override async ValueTask DisposeAsync()
    {
        blocks.Writer.TryComplete();
        await stop.CancelAsync();
        try
        {
            await Task.WhenAll(loaders);
        }
        catch (Exception)
        {
            // Their failure was reported (or the restore was cancelled); here they only have to be closed.
        }

        stop.Dispose();
        await base.DisposeAsync();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            blocks.Writer.TryComplete();
        base.Dispose(disposing);
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>Collects the settings up to the COPY line; returns what follows it (the first rows).</summary>
    private async ValueTask<ReadOnlyMemory<byte>> ReadSettingsAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        while (phase == Phase.Settings)
        {
            var newline = buffer.Span.IndexOf((byte)'\n');
            if (newline < 0)
            {
                header.AddRange(buffer.Span);
                if (header.Count > 1 << 20)
                    throw new BackupException(BackupErrorCodes.ToolFailed, $"pg_restore's script for table {table} has no COPY line in its first megabyte. The new database is dropped.");
                return ReadOnlyMemory<byte>.Empty;
            }

            header.AddRange(buffer.Span[..newline]);
            buffer = buffer[(newline + 1)..];
            var line = Encoding.UTF8.GetString([.. header]).TrimEnd('\r');
            header.Clear();
            if (line.Length == 0 || line.StartsWith("--", StringComparison.Ordinal) || line.StartsWith('\\'))
                continue; // blank lines, comments, psql meta-commands (\restrict, \unrestrict)
            if (!line.EndsWith(';'))
                throw new BackupException(BackupErrorCodes.ToolFailed, $"pg_restore's script for table {table} has a statement this restore does not know how to run: '{line}'. The new database is dropped.");
            if (line.StartsWith("COPY ", StringComparison.Ordinal) && line.EndsWith(" FROM stdin;", StringComparison.Ordinal))
            {
                await StartSessionsAsync(line[..^1], cancellationToken);
                phase = Phase.Rows;
            }
            else
            {
                settings.Add(line);
            }
        }

        return buffer;
    }

    private async Task StartSessionsAsync(string copy, CancellationToken cancellationToken)
    {
        var sessions = new List<ICopySession>();
        try
        {
            for (var i = 0; i < sessionCount; i++)
                sessions.Add(await openSession(settings, copy, cancellationToken));
        }
        catch
        {
            foreach (var session in sessions)
                await session.DisposeAsync();
            throw;
        }

        foreach (var session in sessions)
            loaders.Add(Task.Run(() => LoadAsync(session), CancellationToken.None));
    }

    /// <summary>
    /// Gathers rows into blocks and hands each full block's whole rows to the sessions; the part of a row not yet
    /// complete starts the next block. The <c>\.</c> line sends what is left and ends the rows.
    /// </summary>
    private async ValueTask DealAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        while (buffer.Length > 0 && phase == Phase.Rows)
        {
            var searchFrom = Math.Max(0, partialLength - 3); // the end marker may begin in the bytes already held
            var take = Math.Min(buffer.Length, partial.Length - partialLength);
            buffer.Span[..take].CopyTo(partial.AsSpan(partialLength));
            partialLength += take;
            buffer = buffer[take..];

            var end = EndOfDataAt(partial.AsSpan(0, partialLength), searchFrom);
            if (end >= 0)
            {
                await SendBlockAsync(end, cancellationToken);
                phase = Phase.AfterRows;
            }
            else if (partialLength == partial.Length)
            {
                var complete = partial.AsSpan(0, partialLength).LastIndexOf((byte)'\n') + 1;
                if (complete == 0)
                    Array.Resize(ref partial, partial.Length * 2); // one row longer than a block
                else
                    await SendBlockAsync(complete, cancellationToken);
            }
        }
    }

    /// <summary>Where the <c>\.</c> line starts (at a row start at or after <paramref name="from"/>), or -1.</summary>
    internal static int EndOfDataAt(ReadOnlySpan<byte> rows, int from)
    {
        if (from == 0 && rows.StartsWith(EndOfData))
            return 0;
        var at = rows[from..].IndexOf("\n\\.\n"u8);
        return at < 0 ? -1 : from + at + 1;
    }

    /// <summary>Sends the first <paramref name="length"/> bytes of the block (whole rows); the rest starts a new block.</summary>
    private async ValueTask SendBlockAsync(int length, CancellationToken cancellationToken)
    {
        var block = partial;
        var rest = partialLength - length;
        partial = ArrayPool<byte>.Shared.Rent(Math.Max(BlockSize, rest));
        block.AsSpan(length, rest).CopyTo(partial);
        partialLength = rest;
        Rows += block.AsSpan(0, length).Count((byte)'\n');
        await SendAsync(block, length, cancellationToken);
    }

    private async ValueTask SendAsync(byte[] block, int length, CancellationToken cancellationToken)
    {
        if (length == 0)
        {
            ArrayPool<byte>.Shared.Return(block);
            return;
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stop.Token);
        try
        {
            await blocks.Writer.WriteAsync((block, length), linked.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            ArrayPool<byte>.Shared.Return(block);
            ThrowIfFailed();
            throw;
        }
    }

    private async Task LoadAsync(ICopySession session)
    {
        try
        {
            await using (session)
            {
                await foreach (var (block, length) in blocks.Reader.ReadAllAsync(stop.Token))
                {
                    try
                    {
                        await session.WriteRowsAsync(block.AsMemory(0, length), stop.Token);
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(block);
                    }
                }

                await session.CompleteAsync(stop.Token);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || failure is null)
        {
            Interlocked.CompareExchange(ref failure, ex, null);
            await stop.CancelAsync();
            throw;
        }
    }

    private async Task WhenLoadersDoneAsync()
    {
        try
        {
            await Task.WhenAll(loaders);
        }
        catch (Exception)
        {
            ThrowIfFailed();
            throw;
        }
    }

    private void ThrowIfFailed()
    {
        if (failure is null)
            return;
        if (failure is BackupException)
            throw failure;
        var reason = failure is PostgresException pg ? pg.MessageText : failure.Message;
        throw new BackupException(BackupErrorCodes.ToolFailed,
            $"Loading the rows of table {table} with {sessionCount} sessions failed: {reason}. The new database is dropped; fix the cause and run the restore again.",
            innerException: failure);
    }

    /// <summary>A COPY through an Npgsql connection of its own: the settings run first, then the rows go out as they are.</summary>
    private sealed class NpgsqlCopySession(NpgsqlConnection connection, NpgsqlCopyTextWriter writer) : ICopySession
    {
        public static async Task<ICopySession> OpenAsync(PostgresServer server, string database, IReadOnlyList<string> statements, string copy, CancellationToken cancellationToken)
        {
            // No command timeout: like pg_restore's own COPY, a large table's may take as long as it takes.
            var connection = await PostgresConnections.OpenAsync(server, database, cancellationToken, commandTimeoutSeconds: 0);
            try
            {
                if (statements.Count > 0)
                {
                    await using var command = new NpgsqlCommand(string.Join('\n', statements), connection);
                    await command.ExecuteNonQueryAsync(cancellationToken);
                }

                var writer = await connection.BeginTextImportAsync(copy, cancellationToken);
                return new NpgsqlCopySession(connection, writer);
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }
        }

        // The rows are already COPY text: they go to the COPY stream under the text writer, as bytes.
        public ValueTask WriteRowsAsync(ReadOnlyMemory<byte> rows, CancellationToken cancellationToken) => writer.BaseStream.WriteAsync(rows, cancellationToken);

        public async Task CompleteAsync(CancellationToken cancellationToken) => await writer.DisposeAsync();

        public async ValueTask DisposeAsync()
        {
            await connection.DisposeAsync();
        }
    }
}
