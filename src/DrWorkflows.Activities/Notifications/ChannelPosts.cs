using System.Text.Json.Nodes;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.Notifications;

/// <summary>
/// The posts of a step that speaks on several channels (<see cref="ReportIncidentProgress"/>, <see cref="OpenIncident"/>):
/// each post is tried whatever happened to the others; a failure is journaled under the post's key and kept, and
/// <see cref="ThrowIfAnyFailed"/> then names every post that failed and why, and what was posted all the same.
/// <see cref="Results"/> lists every post tried so far (for the post-mortem that <see cref="CloseIncident"/> opens
/// before its own journal entry is written).
/// </summary>
internal sealed class ChannelPosts(ActivityExecutionContext context)
{
    private readonly List<Failure> failures = [];
    private readonly List<ChannelPost> results = [];

    /// <summary>Every post tried, in order: posted, only journaled (a rehearsal's status page), or failed and why.</summary>
    public IReadOnlyList<ChannelPost> Results => results;

    /// <summary>
    /// Runs one post; <paramref name="label"/> names it in the middle of a sentence ("Slack update", "status page update").
    /// <paramref name="post"/> says whether it went out: false when it was only journaled (a rehearsal's status page), so
    /// the error never counts it among what was posted. A failure is journaled under <paramref name="journalKey"/>
    /// (<c>posted: false</c>, code, message) and kept, not thrown.
    /// </summary>
    public async ValueTask TryAsync(string channel, string journalKey, string label, Func<ValueTask<bool>> post)
    {
        try
        {
            var went = await post();
            results.Add(new ChannelPost(channel, label, context.Clock.GetUtcNow(), went, Error: null));
        }
        catch (Exception e) when (!(e is OperationCanceledException && context.CancellationToken.IsCancellationRequested))
        {
            failures.Add(new Failure(channel, label, e));
            results.Add(new ChannelPost(channel, label, context.Clock.GetUtcNow(), Posted: false, e.Message));
            context.AddJournalData(journalKey, new JsonObject
            {
                ["posted"] = false,
                ["code"] = (e as Core.ActivityFailureException)?.Code,
                ["message"] = e.Message,
            });
        }
    }

    /// <summary>
    /// When a post failed, throws one <see cref="NotificationException"/> naming each failed post and why, and the posts
    /// that went out all the same. With one failure it keeps that failure's code, attempts and service error;
    /// with several the code is <paramref name="code"/>.
    /// </summary>
    public void ThrowIfAnyFailed(string code)
    {
        if (failures.Count == 0)
            return;
        var message = string.Join(" | ", failures.Select(f => $"{Capitalized(f.Label)} not posted: {f.Error.Message}"));
        var posted = results.Where(r => r.Posted).Select(r => r.Label).ToList();
        if (posted.Count > 0)
            message += $" (the {string.Join(" and the ", posted)} {(posted.Count == 1 ? "was" : "were")} posted)";
        var only = failures.Count == 1 ? failures[0].Error : null;
        throw new NotificationException(message, string.Join(", ", failures.Select(f => f.Channel)), retryable: false, failures[0].Error)
        {
            Code = only is null ? code : (only as Core.ActivityFailureException)?.Code,
            Attempts = (only as NotificationException)?.Attempts ?? 1,
            ServiceError = (only as NotificationException)?.ServiceError,
        };
    }

    /// <summary>Whether a post failed with an error <paramref name="match"/> recognises.</summary>
    public bool AnyFailed(Func<Exception, bool> match) => failures.Any(f => match(f.Error));

    /// <summary>A post's label at the start of a sentence.</summary>
    internal static string Capitalized(string label) => label.Length == 0 ? label : char.ToUpperInvariant(label[0]) + label[1..];

    private sealed record Failure(string Channel, string Label, Exception Error);
}

/// <summary>
/// One post of a step that speaks on several channels: its channel (<see cref="NotificationChannels"/>), its label, when
/// it was tried, whether it went out (false and no <paramref name="Error"/>: only journaled, a rehearsal's status page),
/// and why it failed.
/// </summary>
public sealed record ChannelPost(string Channel, string Label, DateTimeOffset At, bool Posted, string? Error);
