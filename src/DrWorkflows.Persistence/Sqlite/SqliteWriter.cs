using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace DrWorkflows.Persistence.Sqlite;

/// <summary>
/// The one write connection of a SQLite store (SQLite allows one writer), owned by one writer loop, with group
/// commit: callers queue their operation and wait; the loop takes every operation queued so far and runs them in one
/// transaction, each inside its own savepoint, so N concurrent commits cost one fsync instead of N. An operation that
/// fails is rolled back to its savepoint alone and fails only its own caller.
/// </summary>
internal sealed class SqliteWriter : IDisposable
{
    private const int MaxBatch = 256;
    private readonly Channel<WriteOperation> queue = Channel.CreateUnbounded<WriteOperation>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SqliteCommands commands;
    private readonly string path;
    private readonly ILogger logger;
    private readonly Task loop;
    private SqliteTransaction? transaction;

    public SqliteWriter(SqliteConnection connection, string path, ILogger logger)
    {
        commands = new SqliteCommands(connection);
        this.path = path;
        this.logger = logger;
        loop = Task.Run(LoopAsync);
    }

    /// <summary>
    /// A cached command bound to the current transaction. Only for use inside an operation passed to <see cref="RunAsync{T}"/>.
    /// </summary>
    public SqliteCommand Command(string sql, params ReadOnlySpan<object?> values)
    {
        var command = commands.Get(sql, values);
        command.Transaction = transaction;
        return command;
    }

    public int Execute(string sql, params ReadOnlySpan<object?> values) => Command(sql, values).ExecuteNonQuery();

    /// <summary>
    /// Runs <paramref name="body"/> in a write transaction and returns once it is durably committed. Cancellation is
    /// honoured only while the operation waits its turn; once it is being written, it completes.
    /// </summary>
    public async Task<T> RunAsync<T>(Func<SqliteWriter, T> body, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var operation = new WriteOperation<T>(body);
        if (!queue.Writer.TryWrite(operation))
            throw new ObjectDisposedException(nameof(SqliteStore), "The SQLite store is closed.");
        if (cancellationToken.CanBeCanceled)
        {
            using var registration = cancellationToken.Register(() => operation.TryCancel(cancellationToken));
            await operation.Completion.ConfigureAwait(false);
        }
        else
        {
            await operation.Completion.ConfigureAwait(false);
        }

        return operation.Result!;
    }

    /// <summary>Finishes the queued operations, then closes the connection.</summary>
    public void Dispose()
    {
        queue.Writer.TryComplete();
        loop.Wait(TimeSpan.FromSeconds(30));
        commands.Dispose();
        commands.Connection.Dispose();
    }

    private async Task LoopAsync()
    {
        while (await queue.Reader.WaitToReadAsync().ConfigureAwait(false))
            RunBatch();
    }

    private void RunBatch()
    {
        var batch = new List<WriteOperation>();
        while (batch.Count < MaxBatch && queue.Reader.TryRead(out var next))
        {
            if (next.TryTake())
                batch.Add(next);
        }

        if (batch.Count == 0)
            return;

        var started = Stopwatch.GetTimestamp();
        var failures = new Exception?[batch.Count];
        var grouped = batch.Count > 1;
        try
        {
            var tx = commands.Connection.BeginTransaction(deferred: false);
            transaction = tx;
            var rolledBack = false;
            for (var i = 0; i < batch.Count; i++)
            {
                if (grouped)
                    tx.Save("op");
                try
                {
                    batch[i].Execute(this);
                    if (grouped)
                        tx.Release("op");
                }
                catch (Exception e) when (e is not SqliteException || IsStatementError((SqliteException)e))
                {
                    failures[i] = e;
                    if (grouped)
                    {
                        tx.Rollback("op");
                        tx.Release("op");
                    }
                    else
                    {
                        tx.Rollback();
                        rolledBack = true;
                    }
                }
            }

            if (!rolledBack)
                tx.Commit();
        }
        catch (Exception e)
        {
            // BEGIN, a savepoint or COMMIT failed (disk full, I/O error, lock timeout...): nothing of the batch is durable.
            TryRollback();
            var error = e is SqliteException se ? (Exception?)SqliteErrors.Describe(se, path) ?? e : e;
            for (var i = 0; i < failures.Length; i++)
                failures[i] ??= error;
        }
        finally
        {
            transaction?.Dispose();
            transaction = null;
        }

        for (var i = 0; i < batch.Count; i++)
        {
            if (failures[i] is { } failure)
                batch[i].Fail(failure);
            else
                batch[i].Succeed();
        }

        if (logger.IsEnabled(LogLevel.Debug))
        {
            var elapsedMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            Log.WriteBatch(logger, batch.Count, elapsedMs);
        }
    }

    /// <summary>Errors that concern one statement (constraints, mismatches) rather than the database or the disk.</summary>
    private static bool IsStatementError(SqliteException e) => e.SqliteErrorCode is SqliteErrors.Constraint or 20 /* MISMATCH */ or 25 /* RANGE */ or 1 /* ERROR */;

    private void TryRollback()
    {
        try
        {
            transaction?.Rollback();
        }
        catch (SqliteException)
        {
            // The transaction is already gone (SQLite rolls back by itself on some I/O errors).
        }
        catch (InvalidOperationException)
        {
            // Already completed.
        }
    }

    private abstract class WriteOperation
    {
        private readonly TaskCompletionSource completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int state;

        public Task Completion => completion.Task;

        public bool TryTake() => Interlocked.CompareExchange(ref state, 1, 0) == 0;

        /// <summary>Withdraws the operation if the writer has not taken it yet.</summary>
        public void TryCancel(CancellationToken cancellationToken)
        {
            if (Interlocked.CompareExchange(ref state, 2, 0) == 0)
                completion.TrySetCanceled(cancellationToken);
        }

        public abstract void Execute(SqliteWriter writer);

        public void Succeed() => completion.TrySetResult();

        public void Fail(Exception error) => completion.TrySetException(error);
    }

    private sealed class WriteOperation<T>(Func<SqliteWriter, T> body) : WriteOperation
    {
        public T? Result { get; private set; }

        public override void Execute(SqliteWriter writer) => Result = body(writer);
    }
}
