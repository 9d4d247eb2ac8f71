using Microsoft.Data.Sqlite;

namespace DrWorkflows.Persistence.Sqlite;

/// <summary>Turns SQLite failures that the operator must act on into one clear message.</summary>
internal static class SqliteErrors
{
    private const int Perm = 3;
    private const int Busy = 5;
    private const int ReadOnly = 8;
    private const int IoErr = 10;
    private const int Corrupt = 11;
    private const int Full = 13;
    private const int CantOpen = 14;
    private const int NotADb = 26;

    /// <summary>Primary SQLite result code for a unique or primary-key violation.</summary>
    public const int Constraint = 19;

    /// <summary>The operator-facing error for an environmental failure, or null when the error is not one.</summary>
    public static StoreUnavailableException? Describe(SqliteException e, string path) => e.SqliteErrorCode switch
    {
        CantOpen or Perm => new StoreUnavailableException(
            $"Cannot open or create the SQLite store file '{path}' ({e.Message}). Check that its directory exists and is writable by the user "
            + "running DrWorkflows, that the path is not a directory, and that the data directory setting (DRW_DATA_DIR) points where you expect.", e),
        ReadOnly => new StoreUnavailableException(
            $"The SQLite store file '{path}' is read-only ({e.Message}). Give the user running DrWorkflows write access to the file, its -wal and -shm "
            + "files and its directory.", e),
        NotADb => new StoreUnavailableException(
            $"'{path}' is not a SQLite database ({e.Message}). Point the store at another file (it is created when missing) or restore the store from a backup.", e),
        Corrupt => new StoreUnavailableException(
            $"The SQLite store file '{path}' is corrupt ({e.Message}). Stop DrWorkflows and restore the store from a backup (see docs/persistence.md).", e),
        Full => new StoreUnavailableException(
            $"The disk holding the SQLite store '{path}' is full ({e.Message}). Free space on that file system; the last step was not committed.", e),
        IoErr => new StoreUnavailableException(
            $"Input/output error on the SQLite store '{path}' ({e.Message}). Check the disk and file system that hold it.", e),
        Busy => new StoreUnavailableException(
            $"The SQLite store '{path}' stayed locked by another process ({e.Message}). Only one DrWorkflows server may use a SQLite store; "
            + "use PostgreSQL to run several nodes.", e),
        _ => null,
    };
}
