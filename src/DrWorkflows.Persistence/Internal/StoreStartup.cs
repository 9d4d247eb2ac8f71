using Microsoft.Extensions.Logging;

namespace DrWorkflows.Persistence.Internal;

/// <summary>
/// Runs a store's start-up (open, migrate) once, on the first call of <see cref="EnsureAsync"/>; a failed start-up is
/// retried by the next call. Failures are logged once with their operator-facing message.
/// </summary>
internal sealed class StoreStartup(string store, ILogger logger, Func<CancellationToken, Task<(int Version, string Location)>> start) : IDisposable
{
    private readonly SemaphoreSlim gate = new(1, 1);
    private volatile bool done;

    public bool Done => done;

    public Task EnsureAsync(CancellationToken cancellationToken) => done ? Task.CompletedTask : RunAsync(cancellationToken);

    public void Dispose() => gate.Dispose();

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (done)
                return;
            var (version, location) = await start(cancellationToken).ConfigureAwait(false);
            done = true;
            Log.StoreReady(logger, store, location, version);
        }
        catch (StoreUnavailableException e)
        {
            Log.StoreUnavailable(logger, e.Message);
            throw;
        }
        finally
        {
            gate.Release();
        }
    }
}
