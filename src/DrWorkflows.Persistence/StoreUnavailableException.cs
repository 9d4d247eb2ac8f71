namespace DrWorkflows.Persistence;

/// <summary>
/// The store cannot be opened or used: the SQLite file cannot be created or opened, PostgreSQL is unreachable or
/// rejects the login, or the schema was written by a newer DrWorkflows. The message names what failed and what to
/// check; the original error is kept as <see cref="Exception.InnerException"/>.
/// </summary>
public sealed class StoreUnavailableException : Exception
{
    public StoreUnavailableException(string message)
        : base(message)
    {
    }

    public StoreUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
