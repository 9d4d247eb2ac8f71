using System.Text.Json.Nodes;
using DrWorkflows.Activities.Notifications;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.GitHub;

/// <summary>
/// Opening a run's post-mortem issue from a step, shared by <see cref="OpenPostMortemIssue"/> and
/// <see cref="CloseIncident"/>: the publisher finds the issue this run opened before (its hidden marker) or creates it;
/// a failure pages on-call; the issue is journaled under <c>github</c>.
/// </summary>
internal static class PostMortemOpening
{
    /// <summary>
    /// Opens (or finds) the post-mortem of <paramref name="request"/>'s run and journals it. When it cannot be opened,
    /// on-call is paged and the failure is thrown again; when nobody can be paged either, the error is one that
    /// <see cref="IsUnpublishedAndUnpaged"/> recognises (the step must fault: nobody would hear of it otherwise).
    /// </summary>
    public static async ValueTask<PostMortemIssue> OpenAsync(ActivityExecutionContext context, PostMortemRequest request)
    {
        var publisher = context.GetRequiredService<IPostMortemPublisher>();
        PostMortemIssue issue;
        try
        {
            issue = await publisher.OpenAsync(request, context.CancellationToken);
        }
        catch (Exception e) when (!(e is OperationCanceledException && context.CancellationToken.IsCancellationRequested))
        {
            await PageOnCallAsync(context, request.InstanceId, e);
            throw;
        }

        context.AddJournalData("github", new JsonObject
        {
            ["issue"] = issue.Number,
            ["url"] = issue.Url,
            ["created"] = issue.Created,
            ["recovered"] = issue.Facts.Recovered,
            ["recoverySeconds"] = (long)issue.Facts.RecoveryTime.TotalSeconds,
            ["rtoMet"] = issue.Facts.RtoMet,
            ["rpoMet"] = issue.Facts.RpoMet,
        });
        return issue;
    }

    /// <summary>The post-mortem could not be published and nobody could be told (the step must fault: an incident).</summary>
    public static bool IsUnpublishedAndUnpaged(Exception exception) => exception is UnpublishedAndUnpagedException;

    /// <summary>The same verdict for an error that carries it (<paramref name="message"/> saying more), to fault a step with.</summary>
    public static Exception UnpublishedAndUnpaged(string message, Exception inner) => new UnpublishedAndUnpagedException(message, inner);

    /// <summary>
    /// A post-mortem that cannot be published must not pass as a line in the journal: on-call is paged (the contact
    /// tree's first tier, Slack and email). When even that fails, the step faults, so the run stops at an incident
    /// that the incident list and the server's incident alerts show.
    /// </summary>
    private static async Task PageOnCallAsync(ActivityExecutionContext context, string runId, Exception failure)
    {
        var name = context.Workflow.State.Name ?? context.Workflow.State.DefinitionId;
        var page = new OnCallPage(
            $"Post-mortem of run {runId} not published",
            $"The post-mortem of run {runId} ({name}) could not be opened on GitHub: {failure.Message}\n"
            + $"Write it by hand from the journal (drw journal {runId}), or fix GitHub and run the step again: it finds an issue it opened before and never opens a second one.")
        {
            Key = "postmortem." + runId,
        };
        if (context.Services.GetService(typeof(IOnCallPager)) is not IOnCallPager pager)
            throw new UnpublishedAndUnpagedException($"{failure.Message} On-call could not be paged either: no notifications are registered on this server.", failure);
        try
        {
            var receipt = await pager.PageAsync(page, context.CancellationToken);
            context.AddJournalData("paged", new JsonObject
            {
                ["channels"] = new JsonArray([.. receipt.Channels.Select(c => (JsonNode?)JsonValue.Create(c))]),
                ["people"] = new JsonArray([.. receipt.People.Select(p => (JsonNode?)JsonValue.Create(p))]),
            });
        }
        catch (NotificationException pageFailure)
        {
            throw new UnpublishedAndUnpagedException($"{failure.Message} {pageFailure.Message}", failure);
        }
    }

    /// <summary>The post-mortem could not be published and nobody could be told: an incident.</summary>
    private sealed class UnpublishedAndUnpagedException : Core.ActivityFailureException
    {
        public UnpublishedAndUnpagedException(string message, Exception inner)
            : base(message, retryable: false, inner) => Code = "github.post-mortem-unpublished";
    }
}
