namespace DrWorkflows.Persistence;

/// <summary>
/// Prepares the configured store at start: opens it, creates or migrates its schema, and checks that it is usable.
/// Safe to call more than once and from several nodes at once; stores also initialize themselves on first use.
/// </summary>
public interface IStoreInitializer
{
    /// <summary>Runs pending migrations. Throws <see cref="StoreUnavailableException"/> with an operator-facing message on failure.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);
}
