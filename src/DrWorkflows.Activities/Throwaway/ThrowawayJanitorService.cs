using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Throwaway;

/// <summary>
/// Runs the janitor on this node: one pass at start, then every <see cref="JanitorOptions.Interval"/>, and renews
/// this process's ledger entry every <see cref="JanitorOptions.HeartbeatInterval"/> in between.
/// </summary>
internal sealed class ThrowawayJanitorService(ThrowawayJanitor janitor, IOptions<JanitorOptions> options, TimeProvider clock, ILogger<ThrowawayJanitorService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var nextPass = clock.GetUtcNow();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (clock.GetUtcNow() >= nextPass)
                {
                    await janitor.RunOnceAsync(stoppingToken);
                    nextPass = clock.GetUtcNow() + settings.Interval;
                }
                else
                {
                    await janitor.HeartbeatAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // A failed pass (store or engine briefly unreachable) is logged and tried again; it must not stop the node.
            catch (Exception e)
#pragma warning restore CA1031
            {
                Log.PassFailed(logger, e.Message, e);
                nextPass = clock.GetUtcNow() + settings.HeartbeatInterval;
            }

            var wait = nextPass - clock.GetUtcNow();
            if (wait > settings.HeartbeatInterval)
                wait = settings.HeartbeatInterval;
            try
            {
                if (wait > TimeSpan.Zero)
                    await Task.Delay(wait, clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
