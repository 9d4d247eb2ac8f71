using Microsoft.Extensions.Options;

namespace DrWorkflows.Server.GitOps;

/// <summary>
/// The fallback when a webhook is lost (or none is configured): every <see cref="GitOpsOptions.MergePollInterval"/>
/// the head of the reviewed branch is read, and when it moved, the workflow files changed since the head seen
/// before are published (<see cref="MergePublisher.PublishCommitsAsync"/>, idempotent with the webhooks). The first
/// read only notes the head: what was on the branch before is what the server was deployed with, and drift shows
/// a difference. A failed read is logged and retried at the next tick from the same head.
/// </summary>
internal sealed partial class MergePoller(MergePublisher publisher, IOptions<GitOpsOptions> options, TimeProvider clock, ILogger<MergePoller> logger) : BackgroundService
{
    /// <summary>The head of the branch this server last published from (null before the first successful read).</summary>
    public string? Seen { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled || settings.MergePollInterval <= TimeSpan.Zero)
            return;
        using var timer = new PeriodicTimer(settings.MergePollInterval, clock);
        do
        {
            try
            {
                await PollAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                PollFailed(logger, settings.Branch, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>One poll: reads the head and publishes what changed since the last one.</summary>
    public async Task PollAsync(CancellationToken cancellationToken)
    {
        var head = await publisher.HeadAsync(cancellationToken);
        if (Seen is null || Seen == head)
        {
            Seen = head;
            return;
        }

        var results = await publisher.PublishCommitsAsync(Seen, head, cancellationToken);
        foreach (var result in results.Where(r => r.Outcome is MergedFileOutcome.Published or MergedFileOutcome.Refused))
            Polled(logger, result.Path, result.Outcome, result.Detail);
        Seen = head;
    }

    [LoggerMessage(EventId = 1325, Level = LogLevel.Information, Message = "GitOps poll: {Path} {Outcome}: {Detail}")]
    private static partial void Polled(ILogger logger, string path, MergedFileOutcome outcome, string detail);

    [LoggerMessage(EventId = 1326, Level = LogLevel.Warning, Message = "GitOps poll of {Branch} failed (retried at the next tick): {Reason}")]
    private static partial void PollFailed(ILogger logger, string branch, string reason);
}
