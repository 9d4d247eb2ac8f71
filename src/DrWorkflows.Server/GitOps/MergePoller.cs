using Microsoft.Extensions.Options;

namespace DrWorkflows.Server.GitOps;

/// <summary>
/// The fallback when a webhook is lost (or none is configured): every <see cref="GitOpsOptions.MergePollInterval"/>
/// the head of the reviewed branch is read, and when it moved, the workflow files changed since the head seen
/// before are published (<see cref="MergePublisher.PublishCommitsAsync"/>, idempotent with the webhooks). After a
/// start, the first poll goes on from the commit of the newest version published from the repository (the store
/// keeps it), so merges made while the server was down are published too; a server that never published from the
/// repository only notes the head (what was on the branch before is what it was deployed with; drift shows a
/// difference). A failed read is logged and retried at the next tick from the same commit.
/// </summary>
public sealed partial class MergePoller(MergePublisher publisher, IOptions<GitOpsOptions> options, TimeProvider clock, ILogger<MergePoller> logger) : BackgroundService
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
        if (Seen is null)
        {
            var from = await publisher.NewestPublishedCommitAsync(cancellationToken);
            if (from is null || from == head)
            {
                Seen = head;
                return;
            }

            try
            {
                await PublishAsync(from, head, cancellationToken);
            }
            catch (WorkflowRepositoryException e) when (e.InnerException is Octokit.ApiException { StatusCode: System.Net.HttpStatusCode.NotFound or System.Net.HttpStatusCode.UnprocessableEntity })
            {
                // The commit is gone from the branch's history (rewritten): nothing to compare with, so note the head.
                StartCommitGone(logger, from, options.Value.Branch, e.Message);
            }

            Seen = head;
            return;
        }

        if (Seen != head)
            await PublishAsync(Seen, head, cancellationToken);
        Seen = head;
    }

    private async Task PublishAsync(string from, string head, CancellationToken cancellationToken)
    {
        var results = await publisher.PublishCommitsAsync(from, head, cancellationToken);
        foreach (var result in results.Where(r => r.Outcome is MergedFileOutcome.Published or MergedFileOutcome.Refused))
            Polled(logger, result.Path, result.Outcome, result.Detail);
    }

    [LoggerMessage(EventId = 1327, Level = LogLevel.Warning, Message = "GitOps poll: commit {Commit} of the newest version published from the repository is no longer on {Branch} ({Reason}); merges made while the server was down are not published by the poll (drift shows them)")]
    private static partial void StartCommitGone(ILogger logger, string commit, string branch, string reason);

    [LoggerMessage(EventId = 1325, Level = LogLevel.Information, Message = "GitOps poll: {Path} {Outcome}: {Detail}")]
    private static partial void Polled(ILogger logger, string path, MergedFileOutcome outcome, string detail);

    [LoggerMessage(EventId = 1326, Level = LogLevel.Warning, Message = "GitOps poll of {Branch} failed (retried at the next tick): {Reason}")]
    private static partial void PollFailed(ILogger logger, string branch, string reason);
}
