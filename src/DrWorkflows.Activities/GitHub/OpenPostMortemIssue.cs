using DrWorkflows.Activities.Notifications;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.GitHub;

// SafeToRerun: the issue carries a hidden marker with the run id, looked up before creating, so a re-run
// returns the issue already opened instead of opening a second one.
[Activity("DrWorkflows", "GitHub", "Opens the run's post-mortem as a GitHub issue, written from the journal: timeline, approvals, errors and retries, RTO and RPO against the targets, action items.", SafeToRerun = true, Outcomes = [Outcomes.Done, FailedOutcome])]
public sealed class OpenPostMortemIssue : BestEffortActivity
{
    [Input(Description = "Severity, e.g. SEV-1.", Options = ["SEV-1", "SEV-2"])]
    public Input<string>? Severity { get; set; }

    [Input(Description = "Whether the run was a DR drill (adds the drill labels).", DefaultValue = false)]
    public Input<bool>? IsDrill { get; set; }

    [Input(Description = "Issue title; default 'Post-incident review: <workflow> (<severity>), <date>'.")]
    public Input<string>? Title { get; set; }

    [Input(Description = "What happened, in a few words (the alert, the scenario).", UIHint = InputUIHints.MultiLine)]
    public Input<string>? Summary { get; set; }

    [Input(Description = "Root cause, when known; otherwise left for the incident commander.", UIHint = InputUIHints.MultiLine)]
    public Input<string>? RootCause { get; set; }

    [Input(Description = "Impact (users, revenue, reputation), when known.", UIHint = InputUIHints.MultiLine)]
    public Input<string>? Impact { get; set; }

    [Input(Description = "How the run ended: Recovered, or what stopped it (Failed, Abandoned…). Only Recovered counts as a recovery, and only when the journal agrees; empty: no verdict on the RTO.", Category = "Objectives")]
    public Input<string>? Outcome { get; set; }

    [Input(Description = "Why the run did not recover (for a drill: the objectives it missed).", UIHint = InputUIHints.MultiLine, Category = "Objectives")]
    public Input<string>? FailureReason { get; set; }

    [Input(Description = "When the incident began (first alert); default the run's start.", Category = "Objectives")]
    public Input<DateTimeOffset?>? IncidentStartedAt { get; set; }

    [Input(Description = "When service was restored; default the end of the run.", Category = "Objectives")]
    public Input<DateTimeOffset?>? ServiceRestoredAt { get; set; }

    [Input(Description = "Time of the newest recovered data (the restore point's backup time): gives the data-loss window.", Category = "Objectives")]
    public Input<DateTimeOffset?>? LastGoodDataAt { get; set; }

    [Input(Description = "RTO target, e.g. 00:30:00.", Category = "Objectives")]
    public Input<TimeSpan?>? RtoTarget { get; set; }

    [Input(Description = "RPO target, e.g. 00:15:00.", Category = "Objectives")]
    public Input<TimeSpan?>? RpoTarget { get; set; }

    [Input(Description = "Steps that ran longer than this get an action item.", DefaultValue = "00:05:00", Category = "Objectives")]
    public Input<TimeSpan?>? LongStepThreshold { get; set; }

    [Input(Description = "Labels added to GitHub:Labels.")]
    public Input<List<string>>? Labels { get; set; }

    [Input(Description = "The run to write about; default this run (set it to report on another run, e.g. from a drill-failure handler).")]
    public Input<string>? InstanceId { get; set; }

    [Output(Description = "The issue number.")]
    public Output<int> IssueNumber { get; set; } = new();

    [Output(Description = "The issue's web address.")]
    public Output<string> IssueUrl { get; set; } = new();

    [Output(Description = "False when the issue already existed (the step ran before).")]
    public Output<bool> Created { get; set; } = new();

    protected override string ChannelName => "github";

    protected override bool IsFatal(Exception exception) => PostMortemOpening.IsUnpublishedAndUnpaged(exception);

    protected override async ValueTask SendAsync(ActivityExecutionContext context)
    {
        var instanceId = context.Get(InstanceId);
        var ownRun = string.IsNullOrWhiteSpace(instanceId) || instanceId == context.WorkflowInstanceId;
        var runId = ownRun ? context.WorkflowInstanceId : instanceId!;
        var issue = await PostMortemOpening.OpenAsync(context, Request(context, runId, ownRun));
        context.Set(IssueNumber, issue.Number);
        context.Set(IssueUrl, issue.Url);
        context.Set(Created, issue.Created);
    }

    private PostMortemRequest Request(ActivityExecutionContext context, string runId, bool ownRun) => new()
    {
        InstanceId = runId,
        ExecutionId = ownRun ? context.ExecutionId : null,
        Details = new PostMortemDetails
        {
            IsDrill = context.Get(IsDrill, false),
            Severity = context.Get(Severity),
            Title = context.Get(Title),
            Summary = context.Get(Summary),
            RootCause = context.Get(RootCause),
            Impact = context.Get(Impact),
            IncidentStartedAt = context.Get(IncidentStartedAt),
            ServiceRestoredAt = context.Get(ServiceRestoredAt),
            LastGoodDataAt = context.Get(LastGoodDataAt),
            RtoTarget = context.Get(RtoTarget),
            RpoTarget = context.Get(RpoTarget),
            LongStepThreshold = context.Get(LongStepThreshold) ?? TimeSpan.FromMinutes(5),
            Outcome = context.Get(Outcome),
            FailureReason = context.Get(FailureReason),
        },
        Labels = context.Get(Labels) ?? [],
    };
}
