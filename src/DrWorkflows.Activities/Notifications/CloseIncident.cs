using System.Text.Json.Nodes;
using DrWorkflows.Activities.GitHub;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Activities.Primitives;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.Notifications;

/// <summary>
/// One end of an incident run, as one step: the run's outputs <c>Outcome</c> and <c>FailureReason</c>; the end's comms
/// (Recovered: the status page incident resolved and the report in the Slack thread; Failed or Partial: the status page
/// kept open as "identified" and the contact tree told in the thread that people take over); then the post-mortem
/// issue, written from the run's journal and from what this step posted. Each part is tried whatever happened to the
/// others; the step is best effort like the steps it combines.
/// </summary>
/// <remarks>
/// The outputs are set first: they are known from the inputs, and nothing that fails later (a post, GitHub) may leave
/// the run without them. The post-mortem comes last so that it can say what the end posted: the step's own journal
/// entry is written only when it completes, so its posts are handed to the report (<see cref="PostMortemDetails.ReportingStepPosts"/>).
/// </remarks>
// SafeToRerun: a repeat after a crash sets the same outputs; resolving a resolved status page incident changes nothing
// and an "identified" update is the same PATCH again; the Slack report and the escalation may be posted (and the people
// paged) twice, which is better than holding the end of a recovery for an operator's decision (as for the steps it
// combines); and the post-mortem is never opened twice: the issue carries a hidden marker with the run id, looked up
// before creating (OpenPostMortemIssue's rule), so a repeat finds the issue the first attempt opened.
[Activity("DrWorkflows", "Notifications", "Closes an incident: sets the run's outputs Outcome and FailureReason; Recovered resolves the status page incident (not in a rehearsal) and reports in the Slack thread; Failed or Partial keeps the status page incident open as identified and escalates to the contact tree in the thread; then opens the post-mortem issue. Done when every post succeeded; Failed (naming each channel and why) when any failed, after trying all.", SafeToRerun = true, Outcomes = [Outcomes.Done, FailedOutcome])]
public sealed class CloseIncident : StatusPageActivity
{
    public const string Recovered = "Recovered";
    public const string NotRecovered = "Failed";
    public const string Partial = "Partial";

    [Input(Description = "How the run ends, chosen by the designer (empty until chosen: a verdict is never assumed): Recovered; Failed (automated recovery stopped, people continue by hand); Partial (the run got to its end but did not recover everything). Set as the run's output Outcome.", Options = ["", Recovered, NotRecovered, Partial], Required = true)]
    public Input<string>? Outcome { get; set; }

    [Input(Description = "Why the automated recovery stopped, or what was not recovered (the run's output FailureReason; {{failure}} in the texts, 'unknown' when empty).", UIHint = InputUIHints.MultiLine)]
    public Input<string>? FailureReason { get; set; }

    [Input(Description = "Severity of the incident (SEV-1 or SEV-2): who is told when it is not recovered, and the post-mortem's.", Options = ["SEV-1", "SEV-2"], DefaultValue = "SEV-1")]
    public Input<string>? Severity { get; set; }

    [Input(Description = "Slack channel id (C0123456789) or #name of the incident thread; default Notifications:Slack:DefaultChannel.", Category = "Slack")]
    public Input<string>? Channel { get; set; }

    [Input(Description = "ts of the incident thread's first message: the report and the escalation reply in that thread.", Category = "Slack")]
    public Input<string>? ThreadTs { get; set; }

    [Input(Description = "Recovered: what the incident team reads in the thread (Slack mrkdwn) with {{name}} placeholders.", UIHint = InputUIHints.MultiLine, Category = "Slack")]
    public Input<string>? RecoveredText { get; set; }

    [Input(Description = "The status page incident id (the opening step's): resolved when recovered, set to identified otherwise.", Category = "Status page")]
    public Input<string>? IncidentId { get; set; }

    [Input(Description = "Recovered: the closing message customers read, with {{name}} placeholders.", UIHint = InputUIHints.MultiLine, DefaultValue = "This incident has been resolved.", Category = "Status page")]
    public Input<string>? ResolvedBody { get; set; }

    [Input(Description = "Failed or Partial: what customers read while people restore service (status identified), with {{name}} placeholders.", UIHint = InputUIHints.MultiLine, Category = "Status page")]
    public Input<string>? IdentifiedBody { get; set; }

    [Input(Description = "Failed or Partial: subject (email) and headline (Slack) of the escalation to the contact tree, with {{name}} placeholders.", Category = "Escalation")]
    public Input<string>? EscalationSubject { get; set; }

    [Input(Description = "Failed or Partial: message of the escalation (Slack reply in the thread and email), with {{name}} placeholders ({{failure}}: the failure reason).", UIHint = InputUIHints.MultiLine, Category = "Escalation")]
    public Input<string>? EscalationMessage { get; set; }

    [Input(Description = "What happened, in a few words (the alert, the scenario, how it ended).", UIHint = InputUIHints.MultiLine, Category = "Post-mortem")]
    public Input<string>? Summary { get; set; }

    [Input(Description = "Impact (what a restore brought back and lost), when known.", UIHint = InputUIHints.MultiLine, Category = "Post-mortem")]
    public Input<string>? Impact { get; set; }

    [Input(Description = "RTO target, e.g. 00:30:00.", Category = "Post-mortem")]
    public Input<TimeSpan?>? RtoTarget { get; set; }

    [Input(Description = "RPO target, e.g. 00:15:00.", Category = "Post-mortem")]
    public Input<TimeSpan?>? RpoTarget { get; set; }

    [Input(Description = "Time of the newest recovered data (the restore point's backup time): gives the data-loss window.", Category = "Post-mortem")]
    public Input<DateTimeOffset?>? LastGoodDataAt { get; set; }

    [Input(Description = "Labels added to GitHub:Labels.", Category = "Post-mortem")]
    public Input<List<string>>? Labels { get; set; }

    [Output(Description = "The post-mortem issue's number (0 when it could not be opened).")]
    public Output<int> IssueNumber { get; set; } = new();

    [Output(Description = "The post-mortem issue's web address (empty when it could not be opened).")]
    public Output<string> IssueUrl { get; set; } = new();

    /// <summary>Channel name of the post-mortem in errors and the journal.</summary>
    private const string GitHubChannel = "github";

    /// <summary>Status the listed components keep while people take over (as <see cref="UpdateStatusPageIncident"/> does by default).</summary>
    private const string ComponentStatus = "major_outage";

    protected override string ChannelName => nameof(CloseIncident);

    /// <summary>A post-mortem nobody could be told of faults the step (OpenPostMortemIssue's rule), as does an unknown outcome (a design error).</summary>
    protected override bool IsFatal(Exception exception) => PostMortemOpening.IsUnpublishedAndUnpaged(exception) || exception is UnknownOutcomeException;

    protected override async ValueTask SendAsync(ActivityExecutionContext context)
    {
        var outcome = OutcomeOf(context);
        var reason = context.Get(FailureReason) ?? string.Empty;
        SetOutput.Set(context, "Outcome", outcome);
        SetOutput.Set(context, "FailureReason", reason);
        context.AddJournalData("outcome", new JsonObject { ["outcome"] = outcome, ["failureReason"] = reason });

        var posts = new ChannelPosts(context);
        if (outcome == Recovered)
        {
            await posts.TryAsync(NotificationChannels.StatusPage, "statusPage", "status page resolution", () =>
                PostUpdateAsync(context, context.Get(IncidentId), StatusPageValues.Resolved, ResolvedBody, StatusPageValues.Operational, resolve: true));
            await posts.TryAsync(NotificationChannels.Slack, "slack", "Slack report", async () =>
            {
                await SendSlackMessage.PostAsync(context, context.Get(Channel), Render(context, RecoveredText, TemplateEscaping.Slack), blocks: null, context.Get(ThreadTs));
                return true;
            });
        }
        else
        {
            await posts.TryAsync(NotificationChannels.StatusPage, "statusPage", "status page update", () =>
                PostUpdateAsync(context, context.Get(IncidentId), StatusPageValues.Identified, IdentifiedBody, ComponentStatus));
            await posts.TryAsync(NotificationChannels.Contacts, "escalation", "escalation to the contact tree", async () =>
            {
                var paged = await NotifyContacts.PageAsync(
                    context,
                    context.Get(Severity) ?? "SEV-1",
                    tierNumber: 0,
                    Render(context, EscalationSubject),
                    escaping => Render(context, EscalationMessage, escaping),
                    channelNames: null,
                    context.Get(Channel),
                    context.Get(ThreadTs),
                    slackJournalKey: "escalationSlack");
                paged.ThrowIfFailed();
                return true;
            });
        }

        await posts.TryAsync(GitHubChannel, GitHubChannel, "post-mortem issue", async () =>
        {
            var issue = await PostMortemOpening.OpenAsync(context, Request(context, outcome, reason, posts.Results));
            context.Set(IssueNumber, issue.Number);
            context.Set(IssueUrl, issue.Url);
            return true;
        });

        // The error names what failed and why, and what was posted all the same.
        try
        {
            posts.ThrowIfAnyFailed("notifications.close-failed");
        }
        catch (NotificationException e) when (posts.AnyFailed(PostMortemOpening.IsUnpublishedAndUnpaged))
        {
            throw PostMortemOpening.UnpublishedAndUnpaged(e.Message, e);
        }
    }

    private protected override void AddTemplateValues(ActivityExecutionContext context, JsonObject values)
    {
        values["failure"] = context.Get(FailureReason) is { Length: > 0 } reason ? reason : "unknown";
        values["outcome"] = context.Get(Outcome);
    }

    private PostMortemRequest Request(ActivityExecutionContext context, string outcome, string reason, IReadOnlyList<ChannelPost> posted) => new()
    {
        InstanceId = context.WorkflowInstanceId,
        ExecutionId = context.ExecutionId,
        Details = new PostMortemDetails
        {
            Severity = context.Get(Severity),
            Summary = context.Get(Summary),
            Impact = context.Get(Impact),
            LastGoodDataAt = context.Get(LastGoodDataAt),
            RtoTarget = context.Get(RtoTarget),
            RpoTarget = context.Get(RpoTarget),
            Outcome = outcome,
            FailureReason = reason,
            ReportingStep = context.Activity.Name ?? context.Activity.Id,
            ReportingStepPosts = [.. posted],
        },
        Labels = context.Get(Labels) ?? [],
    };

    private string OutcomeOf(ActivityExecutionContext context)
    {
        var given = context.Get(Outcome)?.Trim();
        foreach (var known in (string[])[Recovered, NotRecovered, Partial])
        {
            if (string.Equals(given, known, StringComparison.OrdinalIgnoreCase))
                return known;
        }

        throw new UnknownOutcomeException($"CloseIncident '{context.Activity.Id}': outcome '{given}' is none of {Recovered}, {NotRecovered}, {Partial}; the run's outputs were not set and nothing was posted.");
    }

    /// <summary>The step was given an outcome it does not know: a design error that must not pass as a failed post.</summary>
    private sealed class UnknownOutcomeException : Core.ActivityFailureException
    {
        public UnknownOutcomeException(string message)
            : base(message, retryable: false) => Code = "notifications.close-outcome";
    }
}
