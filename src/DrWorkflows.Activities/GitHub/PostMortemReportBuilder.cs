using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DrWorkflows.Activities.Notifications;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.GitHub;

/// <summary>What the workflow knows about its incident (the journal gives the rest).</summary>
public sealed record PostMortemDetails
{
    /// <summary>A drill (rehearsal) rather than a real incident.</summary>
    public bool IsDrill { get; init; }

    /// <summary>SEV-1 or SEV-2.</summary>
    public string? Severity { get; init; }

    /// <summary>Issue title; default "Post-incident review: …" or "DR drill review: …".</summary>
    public string? Title { get; init; }

    /// <summary>What happened, in a few words (from the workflow: the alert, the scenario).</summary>
    public string? Summary { get; init; }

    public string? RootCause { get; init; }

    public string? Impact { get; init; }

    /// <summary>When the incident began (failure detected). Default: the run's start.</summary>
    public DateTimeOffset? IncidentStartedAt { get; init; }

    /// <summary>When service was restored. Default: the run's end (or when the report is written).</summary>
    public DateTimeOffset? ServiceRestoredAt { get; init; }

    /// <summary>Time of the newest data that was recovered (the restore point): the data-loss window ends at the incident start.</summary>
    public DateTimeOffset? LastGoodDataAt { get; init; }

    public TimeSpan? RtoTarget { get; init; }

    public TimeSpan? RpoTarget { get; init; }

    /// <summary>A step that ran (not waited) longer than this gets an action item.</summary>
    public TimeSpan LongStepThreshold { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How the run ended, as the workflow knows it: <c>Recovered</c>, or what stopped it (<c>Failed</c>, <c>Abandoned</c>…).
    /// Only <c>Recovered</c> is a recovery, and only when the journal agrees (no open incident, no faulted or cancelled
    /// run, no step failed by an operator). Null: the workflow did not say; the report then judges no RTO.
    /// </summary>
    public string? Outcome { get; init; }

    /// <summary>Why the run did not recover (or, for a drill, which objectives it missed).</summary>
    public string? FailureReason { get; init; }

    /// <summary>
    /// Name of the step writing the report when it posted on other channels first (<see cref="CloseIncident"/>): its
    /// journal entry is written only when it completes, after the issue, so its posts come in <see cref="ReportingStepPosts"/>.
    /// </summary>
    public string? ReportingStep { get; init; }

    /// <summary>What the step writing the report posted before it opened the issue (timeline rows; a failed post is a problem and an action item, as a failed notification step is).</summary>
    public IReadOnlyList<ChannelPost> ReportingStepPosts { get; init; } = [];
}

/// <summary>What a post-mortem is written from: the run's journal plus what the workflow knows about the incident.</summary>
public sealed record PostMortemInput
{
    public required string InstanceId { get; init; }

    /// <summary>The execution of the step writing the report (left out of the timeline; a hidden marker).</summary>
    public string? ExecutionId { get; init; }

    public string? WorkflowName { get; init; }

    public string? DefinitionId { get; init; }

    public string? StartedBy { get; init; }

    public PostMortemDetails Details { get; init; } = new();

    public required DateTimeOffset GeneratedAt { get; init; }

    public required IReadOnlyList<JournalEntry> Journal { get; init; }

    /// <summary>Outcomes that are the detection of the incident, by activity id (see <see cref="PostMortemMarkers"/>).</summary>
    public IReadOnlyDictionary<string, IReadOnlySet<string>> DetectionOutcomes { get; init; } = new Dictionary<string, IReadOnlySet<string>>();

    /// <summary>The contact name of a decider (channel, channel's id of the person), or null when unknown.</summary>
    public Func<string, string, string?>? PersonName { get; init; }
}

/// <summary>The measured facts of a report, for outputs and tests.</summary>
public sealed record PostMortemFacts(
    DateTimeOffset StartedAt,
    DateTimeOffset EndedAt,
    TimeSpan RecoveryTime,
    bool? RtoMet,
    TimeSpan? DataLossWindow,
    bool? RpoMet,
    int Steps,
    int FailedSteps,
    int Retries,
    int Approvals,
    IReadOnlyList<string> ActionItems)
{
    /// <summary>True: recovered (the workflow said so and the journal agrees); false: not recovered; null: not stated.</summary>
    public bool? Recovered { get; init; }

    /// <summary>Attempts cut short by a crash or a killed node (<see cref="JournalEvents.Interrupted"/> entries).</summary>
    public int InterruptedAttempts { get; init; }

    /// <summary>Steps that needed more than one attempt (retries, interruptions, operator retries), from the journal.</summary>
    public int StepsWithMoreThanOneAttempt { get; init; }
}

public sealed record PostMortemReport(string Title, string Body, PostMortemFacts Facts);

/// <summary>
/// Writes the plan's post-mortem (Date, Duration, Severity, Timeline, Root Cause, Impact, What Went Well,
/// What Went Wrong, Action Items) from a run's journal: every step with its times, the approvals (who,
/// when, channel, comment), errors and retries, RTO achieved against the target, the data-loss window
/// against the RPO, and action items for steps that failed or ran long. Pure: no IO, no clock.
/// </summary>
public sealed class PostMortemReportBuilder
{
    /// <summary>GitHub's limit on an issue body is 65,536 characters.</summary>
    public const int MaxBodyLength = 60_000;

    private const int MaxCell = 300;

    /// <summary>The hidden marker that identifies the run's post-mortem (searched for before creating an issue).</summary>
    public static string InstanceMarker(string instanceId) => $"<!-- drworkflows-instance: {instanceId} -->";

    public PostMortemReport Build(PostMortemInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var analysis = Analyze(input);
        var body = Render(input, analysis, timelineLimit: null);
        if (body.Length > MaxBodyLength)
            body = Render(input, analysis, timelineLimit: 150);
        if (body.Length > MaxBodyLength)
            body = body[..(MaxBodyLength - 200)] + "\n\n_The report was cut at GitHub's size limit; the full journal is in DrWorkflows (run " + input.InstanceId + ")._\n";
        return new PostMortemReport(Title(input, analysis), body, analysis.Facts);
    }

    private static string Title(PostMortemInput input, Analysis analysis)
    {
        if (!string.IsNullOrWhiteSpace(input.Details.Title))
            return input.Details.Title.Trim();
        var kind = input.Details.IsDrill ? "DR drill review" : "Post-incident review";
        var severity = string.IsNullOrWhiteSpace(input.Details.Severity) ? string.Empty : $" ({input.Details.Severity.Trim()})";
        var name = input.WorkflowName ?? input.DefinitionId ?? input.InstanceId;
        var verdict = analysis.Facts.Recovered == false ? (input.Details.IsDrill ? ": FAILED" : ": not recovered") : string.Empty;
        return $"{kind}: {name}{severity}, {analysis.Facts.StartedAt.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}{verdict}";
    }

    // ---- analysis ---------------------------------------------------------------------------------

    /// <summary>
    /// Outcomes that mean a step did not get what the run needed (a check failed, a gate was rejected or timed out, a
    /// service stayed unhealthy). Listed under what went wrong unless the definition marks them as the detection.
    /// </summary>
    public static IReadOnlySet<string> ProblemOutcomes { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "Failed", "Rejected", "TimedOut", "Unhealthy", "NotReady", "IntegrityFailed", "Missed", "Low",
    };

    private const string RecoveredOutcome = "Recovered";

    private sealed class Step
    {
        public required string ExecutionId { get; init; }

        public required string Name { get; init; }

        public string? ActivityId { get; init; }

        public string? Type { get; init; }

        public DateTimeOffset? Started { get; set; }

        public DateTimeOffset? Ended { get; set; }

        public string? EndEvent { get; set; }

        public IReadOnlyList<string>? Outcomes { get; set; }

        /// <summary>Started entries: one per attempt, whatever ended it.</summary>
        public int Attempts { get; set; }

        public int Retries { get; set; }

        public int Interrupted { get; set; }

        /// <summary>Incidents an operator resolved with Retry.</summary>
        public int OperatorRetries { get; set; }

        public TimeSpan Waited { get; set; }

        /// <summary>When the current wait began (the first Suspended since the attempt started).</summary>
        public DateTimeOffset? WaitOpenedAt { get; set; }

        public DateTimeOffset? LastEventAt { get; set; }

        public string? Error { get; set; }

        /// <summary>What the outputs say about a problem outcome (Reason, NotReady, Failures…).</summary>
        public string? OutcomeDetail { get; set; }

        public bool IsContainer { get; set; }

        /// <summary>Incidents raised on this step (an operator may have retried or skipped it since).</summary>
        public int Incidents { get; set; }

        /// <summary>Names (contact names when known) of the last decision's deciders, and its comment.</summary>
        public string? DecidedBy { get; set; }

        public string? DecisionComment { get; set; }

        public TimeSpan? Elapsed => Started is { } s && Ended is { } e ? e - s : null;

        /// <summary>Time spent working: elapsed minus time suspended (waiting for an approval or a timer).</summary>
        public TimeSpan? Active => Elapsed is { } elapsed ? elapsed - Waited : null;

        /// <summary>Its outcome is the detection of the incident (marked in the definition): not a failure of the run.</summary>
        public bool IsDetection { get; set; }

        public bool Failed => Incidents > 0 || (!IsDetection && (Outcomes?.Contains("Failed") ?? false));

        /// <summary>More than one attempt, by the journal: Started entries, retries, interruptions, operator retries.</summary>
        public int AttemptCount => Math.Max(Attempts, 1 + Retries + OperatorRetries);
    }

    private sealed record Row(DateTimeOffset At, long Sequence, string Step, string Event, string Duration, string Notes);

    private sealed record Approval(DateTimeOffset At, string Step, string Decision, string By, string Channel, string? Comment, TimeSpan? Waited);

    private sealed record Problem(DateTimeOffset At, long Sequence, string Step, string Event, string Detail);

    /// <summary>One line of "What went wrong", kept in journal order.</summary>
    private sealed record Wrong(DateTimeOffset At, long Sequence, string Text);

    private sealed record Analysis(
        List<Row> Timeline,
        List<Approval> Approvals,
        List<Problem> Problems,
        List<Step> Steps,
        PostMortemFacts Facts,
        DateTimeOffset IncidentStart,
        DateTimeOffset RestoredAt,
        bool RestoredGiven,
        List<string> Detections,
        List<string> WentWell,
        List<string> WentWrong);

    private static Analysis Analyze(PostMortemInput input)
    {
        var journal = input.Journal.OrderBy(e => e.Sequence).ToList();
        var steps = new Dictionary<string, Step>(StringComparer.Ordinal);
        var timeline = new List<Row>();
        var approvals = new List<Approval>();
        var problems = new List<Problem>();
        var wrong = new List<Wrong>();
        var detections = new List<string>();
        var openIncidents = new HashSet<string>(StringComparer.Ordinal);
        var stoppedByOperator = false;
        var runEndEvent = (string?)null;
        var parents = journal.Where(e => e.ParentExecutionId is not null).Select(e => e.ParentExecutionId!).ToHashSet(StringComparer.Ordinal);

        foreach (var entry in journal)
        {
            var step = entry.ExecutionId is { } id && id != input.ExecutionId
                ? steps.TryGetValue(id, out var known) ? known : steps[id] = new Step
                {
                    ExecutionId = id,
                    ActivityId = entry.ActivityId,
                    Name = entry.ActivityName ?? entry.ActivityId ?? entry.NodeId ?? id,
                    Type = ShortType(entry.ActivityType),
                    IsContainer = parents.Contains(id),
                }
                : null;
            if (entry.ExecutionId is not null && entry.ExecutionId == input.ExecutionId)
                continue;

            var previousEventAt = step?.LastEventAt;
            if (step is not null)
                step.LastEventAt = entry.Timestamp;

            switch (entry.EventName)
            {
                case JournalEvents.WorkflowStarted:
                    timeline.Add(new Row(entry.Timestamp, entry.Sequence, "—", "Run started", string.Empty, (entry.Actor ?? input.StartedBy) is { } starter ? $"by {starter}" : string.Empty));
                    break;
                case JournalEvents.WorkflowFinished or JournalEvents.WorkflowFaulted or JournalEvents.WorkflowCancelled:
                    runEndEvent = entry.EventName;
                    timeline.Add(new Row(entry.Timestamp, entry.Sequence, "—", entry.EventName switch
                    {
                        JournalEvents.WorkflowFinished => "Run finished",
                        JournalEvents.WorkflowFaulted => "Run faulted",
                        _ => "Run cancelled",
                    }, string.Empty, entry.Message ?? string.Empty));
                    if (entry.EventName != JournalEvents.WorkflowFinished)
                        wrong.Add(new Wrong(entry.Timestamp, entry.Sequence, entry.EventName == JournalEvents.WorkflowFaulted ? $"The run ended faulted{Suffix(entry.Message)}" : $"The run was cancelled{Suffix(entry.Message)}"));
                    break;
                case JournalEvents.Started when step is not null:
                    step.Started ??= entry.Timestamp;
                    step.Attempts++;
                    step.WaitOpenedAt = null;
                    break;
                case JournalEvents.Completed or JournalEvents.Cancelled when step is not null:
                    step.Ended = entry.Timestamp;
                    step.EndEvent = entry.EventName;
                    step.Outcomes = entry.Outcomes;
                    if (Find(entry.Payload, "data", "failure") is JsonObject failure)
                    {
                        step.Error = Text(failure["message"]);
                        var channel = Text(failure["channel"]) ?? "step";
                        problems.Add(new Problem(entry.Timestamp, entry.Sequence, step.Name, $"{channel} failed, workflow went on", step.Error ?? string.Empty));
                        wrong.Add(new Wrong(entry.Timestamp, entry.Sequence, $"{Inline(step.Name)}: the {Inline(channel)} step failed and the workflow went on: {Inline(step.Error ?? "see the timeline")}"));
                    }
                    else if (entry.EventName == JournalEvents.Completed && step.Outcomes?.FirstOrDefault(ProblemOutcomes.Contains) is { } outcome)
                    {
                        if (step.ActivityId is { } activityId && input.DetectionOutcomes.TryGetValue(activityId, out var detecting) && detecting.Contains(outcome))
                        {
                            step.IsDetection = true;
                            detections.Add($"{Inline(step.Name)} ({outcome})");
                        }
                        else
                        {
                            step.OutcomeDetail = OutcomeDetail(entry.Payload);
                            problems.Add(new Problem(entry.Timestamp, entry.Sequence, step.Name, $"Ended {outcome}", step.OutcomeDetail ?? string.Empty));
                            wrong.Add(new Wrong(entry.Timestamp, entry.Sequence, OutcomeText(step, outcome)));
                        }
                    }

                    break;
                case JournalEvents.Faulted or JournalEvents.IncidentRaised when step is not null:
                    step.Ended = entry.Timestamp;
                    step.EndEvent = entry.EventName;
                    step.Error = Text(entry.Payload?["error"]) ?? entry.Message;
                    step.Incidents++;
                    if (Text(entry.Payload?["incidentId"]) is { } raised)
                        openIncidents.Add(raised);
                    problems.Add(new Problem(entry.Timestamp, entry.Sequence, step.Name, entry.EventName == JournalEvents.Faulted ? "Faulted (incident)" : "Incident (unsafe re-run)", step.Error ?? string.Empty));
                    timeline.Add(new Row(entry.Timestamp, entry.Sequence, step.Name, "Incident raised", string.Empty, step.Error ?? string.Empty));
                    wrong.Add(new Wrong(entry.Timestamp, entry.Sequence, entry.EventName == JournalEvents.Faulted
                        ? $"{Inline(step.Name)} faulted and stopped the run at an incident: {Inline(step.Error ?? "see the timeline")}"
                        : $"{Inline(step.Name)} was cut short and is not safe to run again by itself, so the run stopped at an incident: {Inline(step.Error ?? "see the timeline")}"));
                    break;
                case JournalEvents.IncidentResolved:
                    var resolution = Text(entry.Payload?["resolution"]) ?? "resolved";
                    var who = entry.Actor is null ? string.Empty : $" by {entry.Actor}";
                    if (Text(entry.Payload?["incidentId"]) is { } resolved)
                        openIncidents.Remove(resolved);
                    problems.Add(new Problem(entry.Timestamp, entry.Sequence, step?.Name ?? "—", "Incident resolved", resolution + who));
                    timeline.Add(new Row(entry.Timestamp, entry.Sequence, step?.Name ?? "—", "Incident resolved", string.Empty, resolution + who));
                    if (resolution.Equals("Retry", StringComparison.OrdinalIgnoreCase))
                    {
                        if (step is not null)
                        {
                            step.Ended = null;
                            step.EndEvent = null;
                            step.OperatorRetries++;
                        }
                    }
                    else if (resolution.Equals("Skip", StringComparison.OrdinalIgnoreCase))
                    {
                        wrong.Add(new Wrong(entry.Timestamp, entry.Sequence, $"{Inline(step?.Name ?? "A step")} was skipped{who} instead of completing"));
                    }
                    else if (resolution.Equals("Fail", StringComparison.OrdinalIgnoreCase))
                    {
                        stoppedByOperator = true;
                        wrong.Add(new Wrong(entry.Timestamp, entry.Sequence, $"{Inline(step?.Name ?? "A step")} was failed{who}: the run stopped there"));
                    }

                    break;
                case JournalEvents.Retrying when step is not null:
                    step.Retries++;
                    var error = Text(entry.Payload?["error"]) ?? entry.Message ?? string.Empty;
                    var attempt = Text(entry.Payload?["attempt"]) ?? entry.Attempt?.ToString(CultureInfo.InvariantCulture) ?? "?";
                    var max = Text(entry.Payload?["maxAttempts"]);
                    problems.Add(new Problem(entry.Timestamp, entry.Sequence, step.Name, $"Retry after attempt {attempt}{(max is null ? string.Empty : " of " + max)}", error));
                    break;
                case JournalEvents.Interrupted when step is not null:
                    step.Interrupted++;
                    var cut = entry.Attempt?.ToString(CultureInfo.InvariantCulture) ?? Text(entry.Payload?["attempt"]) ?? "?";
                    var why = entry.Message ?? Text(entry.Payload?["reason"]) ?? "the orchestrator stopped during the attempt (crash or killed node)";
                    problems.Add(new Problem(entry.Timestamp, entry.Sequence, step.Name, $"Interrupted (attempt {cut})", why));
                    timeline.Add(new Row(entry.Timestamp, entry.Sequence, step.Name, "Interrupted", string.Empty, $"attempt {cut}: {why}"));
                    wrong.Add(new Wrong(entry.Timestamp, entry.Sequence, $"{Inline(step.Name)}: attempt {cut} was interrupted ({Inline(why)}); the restart noticed it at {entry.Timestamp.ToUniversalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture)} UTC"));
                    break;
                case JournalEvents.Suspended when step is not null:
                    step.WaitOpenedAt ??= entry.Timestamp;
                    break;
                case JournalEvents.Resumed when step is not null:
                    // A resume ends a wait that began at the step's previous entry (a gate resumed to publish its
                    // message goes back to waiting without a new Suspended entry).
                    if (previousEventAt is { } waitBegan)
                        step.Waited += entry.Timestamp - waitBegan;
                    TimeSpan? waited = (step.WaitOpenedAt ?? previousEventAt) is { } opened ? entry.Timestamp - opened : null;
                    if (Decision(entry.Payload) is { } decision)
                    {
                        var option = Text(decision["option"]) ?? Text(decision["vote"]) ?? Text(decision["decision"]) ?? Text(decision["outcome"]) ?? "answered";
                        var by = Decider(input, decision, entry.Actor);
                        var channel = Text(decision["channel"]) ?? "—";
                        var comment = Text(decision["comment"]);
                        step.DecidedBy = step.DecidedBy is null || Text(decision["vote"]) == "reject" ? by : $"{step.DecidedBy}, {by}";
                        step.DecisionComment = comment ?? step.DecisionComment;
                        approvals.Add(new Approval(entry.Timestamp, step.Name, option, by, channel, comment, waited));
                        timeline.Add(new Row(entry.Timestamp, entry.Sequence, step.Name, $"Decision: {option}", waited is null ? string.Empty : Duration(waited.Value), $"by {by} via {channel}{(comment is null ? string.Empty : ": " + comment)}"));
                    }
                    else if (entry.Actor is not null && entry.Actor != "timer")
                    {
                        timeline.Add(new Row(entry.Timestamp, entry.Sequence, step.Name, "Resumed", waited is null ? string.Empty : Duration(waited.Value), $"by {entry.Actor}"));
                    }

                    break;
            }
        }

        AddReportingStepPosts(input.Details, timeline, problems, wrong);

        foreach (var step in steps.Values.Where(s => !s.IsContainer && s.Started is not null))
        {
            var result = step.EndEvent switch
            {
                JournalEvents.Completed => step.Outcomes is { Count: > 0 } o && !(o.Count == 1 && o[0] == "Done") ? $"Completed ({string.Join(", ", o)})" : "Completed",
                JournalEvents.Cancelled => "Cancelled",
                JournalEvents.Faulted => "Faulted",
                JournalEvents.IncidentRaised => "Incident",
                _ => "Not finished",
            };
            var notes = new List<string>();
            if (step.Type is { } type && type != step.Name)
                notes.Add(type);
            if (step.AttemptCount > 1)
                notes.Add(AttemptsText(step));
            if (step.Waited > TimeSpan.Zero)
                notes.Add($"waited {Duration(step.Waited)}");
            if (step.IsDetection)
                notes.Add("detection: confirms the incident");
            if ((step.Error ?? step.OutcomeDetail) is { } detail)
                notes.Add(detail);
            var first = journal.First(e => e.ExecutionId == step.ExecutionId && e.EventName == JournalEvents.Started);
            timeline.Add(new Row(step.Started!.Value, first.Sequence, step.Name, result, step.Elapsed is { } d ? Duration(d) : "—", string.Join("; ", notes)));
        }

        timeline.Sort((a, b) => a.At != b.At ? a.At.CompareTo(b.At) : a.Sequence.CompareTo(b.Sequence));
        problems.Sort((a, b) => a.At != b.At ? a.At.CompareTo(b.At) : a.Sequence.CompareTo(b.Sequence));

        // The verdict: the workflow's word, checked against the journal.
        var details = input.Details;
        bool? recovered = runEndEvent is JournalEvents.WorkflowFaulted or JournalEvents.WorkflowCancelled || openIncidents.Count > 0 || stoppedByOperator
            ? false
            : string.IsNullOrWhiteSpace(details.Outcome) ? null : details.Outcome.Trim().Equals(RecoveredOutcome, StringComparison.OrdinalIgnoreCase);

        var runStart = journal.FirstOrDefault(e => e.EventName == JournalEvents.WorkflowStarted)?.Timestamp ?? journal.FirstOrDefault()?.Timestamp ?? input.GeneratedAt;
        var runEnd = journal.LastOrDefault(e => e.EventName is JournalEvents.WorkflowFinished or JournalEvents.WorkflowFaulted or JournalEvents.WorkflowCancelled)?.Timestamp ?? input.GeneratedAt;
        var incidentStart = details.IncidentStartedAt ?? runStart;
        var restoredGiven = recovered == true && details.ServiceRestoredAt is not null;
        var restored = restoredGiven ? details.ServiceRestoredAt!.Value : runEnd;
        var recovery = restored - incidentStart;
        bool? rtoMet = details.RtoTarget is { } rto && recovered is { } judged ? judged && recovery <= rto : null;
        TimeSpan? dataLoss = details.LastGoodDataAt is { } good ? Max(incidentStart - good, TimeSpan.Zero) : null;
        bool? rpoMet = dataLoss is { } loss && details.RpoTarget is { } rpo && recovered == true ? loss <= rpo : null;

        var work = steps.Values.Where(s => !s.IsContainer && s.Started is not null).ToList();
        var repeated = work.Where(s => s.AttemptCount > 1).ToList();
        if (repeated.Count > 0)
            wrong.Add(new Wrong(DateTimeOffset.MaxValue, 0, $"{repeated.Count} of {work.Count} step(s) needed more than one attempt: {string.Join(", ", repeated.Select(s => $"{Inline(s.Name)} ({AttemptsText(s)})"))}"));
        if (recovered == false)
        {
            var reason = string.IsNullOrWhiteSpace(details.FailureReason) ? "see the timeline" : details.FailureReason.Trim();
            wrong.Add(new Wrong(DateTimeOffset.MaxValue, 1, details.IsDrill ? $"The drill did not recover every component: {Inline(reason)}" : $"The service was not recovered: {Inline(reason)} ({Duration(recovery)} after the incident began)"));
        }
        else if (details.IsDrill && !string.IsNullOrWhiteSpace(details.FailureReason))
        {
            wrong.Add(new Wrong(DateTimeOffset.MaxValue, 1, $"The drill failed: {Inline(details.FailureReason.Trim())}"));
        }

        if (rtoMet == false && recovered == true)
            wrong.Add(new Wrong(DateTimeOffset.MaxValue, 2, $"Recovery took {Duration(recovery)}, over the RTO of {Duration(details.RtoTarget!.Value)}"));
        else if (rtoMet == false)
            wrong.Add(new Wrong(DateTimeOffset.MaxValue, 2, $"The RTO of {Duration(details.RtoTarget!.Value)} was not met: nothing was recovered in the {Duration(recovery)} the run lasted"));
        if (rpoMet == false)
            wrong.Add(new Wrong(DateTimeOffset.MaxValue, 3, $"Data-loss window of {Duration(dataLoss!.Value)}, over the RPO of {Duration(details.RpoTarget!.Value)}"));

        var actions = ActionItems(input, work, approvals, problems, recovered, recovery, rtoMet, dataLoss, rpoMet);
        var well = WentWell(input, work, approvals, detections, recovered, recovery, rtoMet, dataLoss, rpoMet);
        var facts = new PostMortemFacts(
            runStart,
            restored > runEnd ? restored : runEnd,
            recovery,
            rtoMet,
            dataLoss,
            rpoMet,
            work.Count,
            work.Count(s => s.Failed),
            work.Sum(s => s.Retries),
            approvals.Count,
            actions)
        {
            Recovered = recovered,
            InterruptedAttempts = work.Sum(s => s.Interrupted),
            StepsWithMoreThanOneAttempt = repeated.Count,
        };
        var wentWrong = wrong.OrderBy(w => w.At).ThenBy(w => w.Sequence).Select(w => w.Text).ToList();
        return new Analysis(timeline, approvals, problems, work, facts, incidentStart, restored, restoredGiven, detections, well, wentWrong);
    }

    private static string AttemptsText(Step step)
    {
        var why = new List<string>();
        if (step.Retries > 0)
            why.Add(step.Retries == 1 ? "1 retry" : $"{step.Retries} retries");
        if (step.Interrupted > 0)
            why.Add($"{step.Interrupted} interrupted");
        if (step.OperatorRetries > 0)
            why.Add($"{step.OperatorRetries} retried by an operator");
        return $"{step.AttemptCount} attempts{(why.Count > 0 ? " (" + string.Join(", ", why) + ")" : string.Empty)}";
    }

    private static string OutcomeText(Step step, string outcome) => outcome switch
    {
        "Rejected" => $"{Inline(step.Name)} was rejected{(step.DecidedBy is null ? string.Empty : " by " + Inline(step.DecidedBy))}{(step.DecisionComment is null ? string.Empty : ": " + Inline(step.DecisionComment))}",
        "TimedOut" when step.Type == "ApprovalGate" => $"Nobody decided {Inline(step.Name)} in time{(step.Elapsed is { } waited ? $" (it waited {Duration(waited)})" : string.Empty)}",
        "TimedOut" => $"{Inline(step.Name)} timed out{(step.OutcomeDetail is null ? string.Empty : ": " + Inline(step.OutcomeDetail))}",
        _ => $"{Inline(step.Name)} ended {outcome}{(step.OutcomeDetail is null ? string.Empty : ": " + Inline(step.OutcomeDetail))}",
    };

    /// <summary>
    /// The posts of the step writing the report (not in the journal yet): a row each, and a failed one listed like a
    /// failed notification step (a problem, what went wrong, an action item for its channel). They sort after every
    /// journal entry of the same instant.
    /// </summary>
    private static void AddReportingStepPosts(PostMortemDetails details, List<Row> timeline, List<Problem> problems, List<Wrong> wrong)
    {
        var step = details.ReportingStep ?? "The closing step";
        var sequence = long.MaxValue - details.ReportingStepPosts.Count;
        foreach (var post in details.ReportingStepPosts)
        {
            sequence++;
            var label = post.Label.Length == 0 ? post.Channel : ChannelPosts.Capitalized(post.Label);
            if (post.Error is { } error)
            {
                timeline.Add(new Row(post.At, sequence, step, $"{label} failed", string.Empty, error));
                problems.Add(new Problem(post.At, sequence, step, $"{post.Channel} failed, workflow went on", error));
                wrong.Add(new Wrong(post.At, sequence, $"{Inline(step)}: the {Inline(post.Channel)} post ({Inline(post.Label)}) failed and the workflow went on: {Inline(error)}"));
            }
            else
            {
                timeline.Add(new Row(post.At, sequence, step, post.Posted ? $"{label} posted" : $"{label} not posted (rehearsal: journaled only)", string.Empty, string.Empty));
            }
        }
    }

    /// <summary>What a step's outputs say about its problem outcome.</summary>
    private static string? OutcomeDetail(JsonObject? payload)
    {
        if (payload?["outputs"] is not JsonObject outputs)
            return null;
        foreach (var name in (string[])["Error", "Reason", "FailureReason", "NotReady", "Failures", "Problems", "Missed"])
        {
            var value = outputs.FirstOrDefault(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)).Value;
            var text = value switch
            {
                JsonArray { Count: > 0 } array => string.Join("; ", array.Select(Text).OfType<string>()),
                JsonArray => null,
                _ => Text(value),
            };
            if (!string.IsNullOrWhiteSpace(text))
                return text;
        }

        return null;
    }

    /// <summary>The decider's contact name (the contact tree) when known, else the name the channel gave.</summary>
    private static string Decider(PostMortemInput input, JsonObject decision, string? actor)
    {
        var by = Text(decision["by"]) ?? Text(decision["user"]) ?? actor ?? "unknown";
        return Text(decision["channel"]) is { } channel && (Text(decision["subject"]) ?? by) is { } subject && input.PersonName?.Invoke(channel, subject) is { Length: > 0 } name
            ? name
            : by;
    }

    private static string Suffix(string? message) => string.IsNullOrWhiteSpace(message) ? string.Empty : ": " + Inline(message);

    private static List<string> ActionItems(
        PostMortemInput input,
        List<Step> steps,
        List<Approval> approvals,
        List<Problem> problems,
        bool? recovered,
        TimeSpan recovery,
        bool? rtoMet,
        TimeSpan? dataLoss,
        bool? rpoMet)
    {
        var items = new List<string>();
        if (recovered == false && !input.Details.IsDrill)
            items.Add($"Finish the recovery by hand and record here how it was done (the automated run stopped: {Inline(input.Details.FailureReason ?? "see the timeline")})");
        foreach (var step in steps.Where(s => s.Failed).GroupBy(s => s.Name).Select(g => g.Last()))
            items.Add($"Find and fix why **{Inline(step.Name)}** failed: {Inline(step.Error ?? step.OutcomeDetail ?? "see the timeline")}");
        foreach (var step in steps.Where(s => !s.Failed && s.Retries > 0).GroupBy(s => s.Name).Select(g => g.Last()))
            items.Add($"**{Inline(step.Name)}** needed {step.Retries + 1} attempts: make its dependency reliable or its retry unnecessary");
        if (steps.Where(s => s.Interrupted > 0).Select(s => Inline(s.Name)).Distinct().ToList() is { Count: > 0 } interrupted)
            items.Add($"Find out why the orchestrator stopped during {string.Join(", ", interrupted)} (host, memory, deployment) and keep it from happening during a recovery");
        foreach (var step in steps.Where(s => s.Active > input.Details.LongStepThreshold).OrderByDescending(s => s.Active))
            items.Add($"**{Inline(step.Name)}** ran {Duration(step.Active!.Value)} (more than {Duration(input.Details.LongStepThreshold)}): speed it up or budget for it in the runbook");
        foreach (var approval in approvals.Where(a => a.Waited > input.Details.LongStepThreshold))
            items.Add($"The decision at **{Inline(approval.Step)}** took {Duration(approval.Waited!.Value)}: check the escalation tiers of the contact tree");
        foreach (var step in steps.Where(s => s.Type == "ApprovalGate" && s.Outcomes?.Contains("TimedOut") == true))
            items.Add($"Nobody decided **{Inline(step.Name)}**: check the escalation tiers and who is on call");
        if (rtoMet == false && recovered == true)
        {
            var slowest = string.Join(", ", steps.Where(s => s.Active is not null).OrderByDescending(s => s.Active).Take(3).Select(s => $"{Inline(s.Name)} {Duration(s.Active!.Value)}"));
            items.Add($"Recovery took {Duration(recovery)}, over the RTO of {Duration(input.Details.RtoTarget!.Value)} by {Duration(recovery - input.Details.RtoTarget.Value)}: shorten the slowest steps ({slowest})");
        }

        if (rpoMet == false)
            items.Add($"The data-loss window of {Duration(dataLoss!.Value)} exceeds the RPO of {Duration(input.Details.RpoTarget!.Value)}: back up more often (or archive WAL continuously)");
        foreach (var channel in problems.Where(p => p.Event.EndsWith("failed, workflow went on", StringComparison.Ordinal)).Select(p => p.Event.Split(' ')[0]).Distinct(StringComparer.Ordinal))
            items.Add($"Fix the {Inline(channel)} notifications that failed during the run");
        return items;
    }

    private static List<string> WentWell(
        PostMortemInput input,
        List<Step> steps,
        List<Approval> approvals,
        List<string> detections,
        bool? recovered,
        TimeSpan recovery,
        bool? rtoMet,
        TimeSpan? dataLoss,
        bool? rpoMet)
    {
        var well = new List<string>();
        if (detections.Count > 0)
            well.Add($"The incident was confirmed by {string.Join(", ", detections)}");
        if (steps.Count > 0 && steps.All(s => s.AttemptCount == 1))
            well.Add(steps.Count == 1 ? "The one step ran at its first attempt" : $"All {steps.Count} steps ran at their first attempt");
        if (recovered == true && rtoMet == true)
            well.Add($"Recovered in {Duration(recovery)}, within the RTO of {Duration(input.Details.RtoTarget!.Value)}");
        else if (recovered == true && input.Details.RtoTarget is null)
            well.Add($"Recovered in {Duration(recovery)}");
        if (rpoMet == true)
            well.Add($"Data-loss window of {Duration(dataLoss!.Value)}, within the RPO of {Duration(input.Details.RpoTarget!.Value)}");
        if (approvals.Count > 0 && approvals.All(a => a.Waited is null || a.Waited <= input.Details.LongStepThreshold))
            well.Add($"{approvals.Count} decision(s) answered promptly");
        return well;
    }

    // ---- rendering --------------------------------------------------------------------------------

    private static string Render(PostMortemInput input, Analysis analysis, int? timelineLimit)
    {
        var facts = analysis.Facts;
        var md = new StringBuilder();
        md.Append(InstanceMarker(input.InstanceId)).Append('\n');
        if (input.ExecutionId is { } execution)
            md.Append("<!-- drworkflows-execution: ").Append(execution).Append(" -->\n");
        md.Append("# ").Append(input.Details.IsDrill ? "DR Drill Review" : "Post-Incident Review").Append("\n\n");
        md.Append("**Date**: ").Append(analysis.IncidentStart.ToUniversalTime().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)).Append("  \n");
        md.Append("**Duration**: ").Append(Duration(facts.RecoveryTime)).Append(analysis.RestoredGiven ? string.Empty : " (until the end of the run)").Append("  \n");
        md.Append("**Severity**: ").Append(string.IsNullOrWhiteSpace(input.Details.Severity) ? "not set" : Inline(input.Details.Severity)).Append("  \n");
        md.Append("**Outcome**: ").Append(OutcomeLine(input, facts)).Append("  \n");
        if (analysis.Detections.Count > 0)
            md.Append("**Detected by**: ").AppendJoin(", ", analysis.Detections).Append("  \n");
        md.Append("**Workflow**: ").Append(Inline(input.WorkflowName ?? input.DefinitionId ?? "unknown"))
            .Append(input.DefinitionId is { } definition ? $" (`{definition}`)" : string.Empty)
            .Append(", run `").Append(input.InstanceId).Append('`')
            .Append((input.StartedBy ?? input.Journal.FirstOrDefault(e => e.EventName == JournalEvents.WorkflowStarted)?.Actor) is { } startedBy ? $", started by {Inline(startedBy)}" : string.Empty).Append("  \n");
        if (input.Details.IsDrill)
            md.Append("**Drill**: yes, a rehearsal against an isolated copy  \n");
        md.Append('\n');
        if (!string.IsNullOrWhiteSpace(input.Details.Summary))
            md.Append("## Summary\n").Append(OutboundText.GitHubMarkdown(input.Details.Summary.Trim())).Append("\n\n");

        md.Append("## Recovery Objectives\n");
        md.Append("| Objective | Target | Achieved | Result |\n|---|---|---|---|\n");
        md.Append("| RTO: ").Append(analysis.RestoredGiven ? "incident start to service restored" : "incident start to end of the run")
            .Append(" (").Append(Time(analysis.IncidentStart, facts.StartedAt)).Append(" → ").Append(Time(analysis.RestoredAt, facts.StartedAt)).Append(") | ")
            .Append(input.Details.RtoTarget is { } rto ? Duration(rto) : "not set").Append(" | ")
            .Append(facts.Recovered switch
            {
                true => Duration(facts.RecoveryTime),
                false => $"not recovered after {Duration(facts.RecoveryTime)}",
                null => $"{Duration(facts.RecoveryTime)} elapsed",
            })
            .Append(" | ").Append(facts.Recovered switch
            {
                true => Verdict(facts.RtoMet, facts.RecoveryTime, input.Details.RtoTarget),
                false => input.Details.RtoTarget is null ? "not recovered" : "**not met**",
                null => "not judged: the workflow did not say whether it recovered",
            }).Append(" |\n");
        md.Append("| RPO: data-loss window (newest recovered data to incident start) | ")
            .Append(input.Details.RpoTarget is { } rpo ? Duration(rpo) : "not set").Append(" | ")
            .Append(facts.DataLossWindow is { } loss ? Duration(loss) : "not measured (no restore point given)").Append(" | ")
            .Append(facts.DataLossWindow is not { } window ? "—" : facts.Recovered == true ? Verdict(facts.RpoMet, window, input.Details.RpoTarget) : "not judged: not recovered").Append(" |\n\n");

        md.Append("## Timeline\n");
        md.Append("| Time (UTC) | Step | Result | Duration | Notes |\n|---|---|---|---|---|\n");
        var rows = analysis.Timeline;
        var omitted = 0;
        if (timelineLimit is { } limit && rows.Count > limit)
        {
            omitted = rows.Count - limit;
            rows = [.. rows.Take(limit - 50), .. rows.Skip(rows.Count - 50)];
        }

        for (var i = 0; i < rows.Count; i++)
        {
            if (omitted > 0 && i == rows.Count - 50)
                md.Append("| … | ").Append(omitted).Append(" more rows | | | see the run's journal |\n");
            var row = rows[i];
            md.Append("| ").Append(Time(row.At, facts.StartedAt)).Append(" | ").Append(Cell(row.Step)).Append(" | ").Append(Cell(row.Event))
                .Append(" | ").Append(row.Duration).Append(" | ").Append(Cell(row.Notes)).Append(" |\n");
        }

        md.Append('\n');

        md.Append("## Approvals\n");
        AppendTable(
            md,
            ["Time (UTC)", "Step", "Decision", "By", "Channel", "Waited", "Comment"],
            analysis.Approvals.Select(a => new[] { Time(a.At, facts.StartedAt), Cell(a.Step), Cell(a.Decision), Cell(a.By), Cell(a.Channel), a.Waited is { } w ? Duration(w) : "—", Cell(a.Comment ?? string.Empty) }),
            "No approvals were asked during this run.");

        md.Append("## Errors and Retries\n");
        AppendTable(
            md,
            ["Time (UTC)", "Step", "Event", "Detail"],
            analysis.Problems.Select(p => new[] { Time(p.At, facts.StartedAt), Cell(p.Step), Cell(p.Event), Cell(p.Detail) }),
            "No errors, retries or incidents.");

        md.Append("## Root Cause\n").Append(string.IsNullOrWhiteSpace(input.Details.RootCause) ? "_To be written by the incident commander._" : OutboundText.GitHubMarkdown(input.Details.RootCause.Trim())).Append("\n\n");
        md.Append("## Impact\n").Append(string.IsNullOrWhiteSpace(input.Details.Impact) ? "_Users affected, revenue, reputation: to be filled in._" : OutboundText.GitHubMarkdown(input.Details.Impact.Trim())).Append("\n\n");
        md.Append("## What Went Well\n");
        AppendList(md, analysis.WentWell, "_To be filled in._");
        md.Append("## What Went Wrong\n");
        AppendList(md, analysis.WentWrong, "Nothing recorded in the journal.");
        md.Append("## Action Items\n");
        var number = 1;
        foreach (var item in facts.ActionItems)
            md.Append(number++).Append(". [ ] ").Append(item).Append(" (Owner: _unassigned_)\n");
        md.Append(number).Append(". [ ] Write the root cause and impact above (Owner: incident commander)\n\n");
        md.Append("_Written by DrWorkflows from the journal of run `").Append(input.InstanceId).Append("` at ")
            .Append(input.GeneratedAt.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture)).Append("._\n");
        return md.ToString();
    }

    private static void AppendTable(StringBuilder md, string[] headers, IEnumerable<string[]> rows, string empty)
    {
        var lines = rows.Select(cells => "| " + string.Join(" | ", cells) + " |\n").ToList();
        if (lines.Count == 0)
        {
            md.Append(empty).Append("\n\n");
            return;
        }

        md.Append("| ").AppendJoin(" | ", headers).Append(" |\n|").Append(string.Concat(headers.Select(_ => "---|"))).Append('\n');
        lines.ForEach(line => md.Append(line));
        md.Append('\n');
    }

    private static void AppendList(StringBuilder md, List<string> items, string empty)
    {
        if (items.Count == 0)
            md.Append(empty).Append('\n');
        foreach (var item in items)
            md.Append("- ").Append(item).Append('\n');
        md.Append('\n');
    }

    private static string OutcomeLine(PostMortemInput input, PostMortemFacts facts)
    {
        var reason = string.IsNullOrWhiteSpace(input.Details.FailureReason) ? null : Inline(input.Details.FailureReason.Trim());
        if (input.Details.IsDrill)
        {
            return facts.Recovered == true && reason is null
                ? "drill passed"
                : $"drill **FAILED**{(facts.Recovered == false ? ", not every component was recovered" : string.Empty)}{(reason is null ? string.Empty : ": " + reason)}";
        }

        return facts.Recovered switch
        {
            true => "recovered",
            false => $"**not recovered**{(reason is null ? string.Empty : ": " + reason)}",
            null => "not stated by the workflow (no verdict on the RTO)",
        };
    }

    private static string Verdict(bool? met, TimeSpan achieved, TimeSpan? target) => met switch
    {
        true => "**met**",
        false => $"**missed** by {Duration(achieved - target!.Value)}",
        null => "no target",
    };

    // ---- helpers ----------------------------------------------------------------------------------

    /// <summary><c>2 h 15 min</c>, <c>42 min 10 s</c>, <c>8 s</c>, <c>0.4 s</c>.</summary>
    public static string Duration(TimeSpan value)
    {
        if (value < TimeSpan.Zero)
            value = TimeSpan.Zero;
        if (value.TotalHours >= 1)
            return $"{(int)value.TotalHours} h {value.Minutes} min";
        if (value.TotalMinutes >= 1)
            return value.Seconds == 0 ? $"{value.Minutes} min" : $"{value.Minutes} min {value.Seconds} s";
        return value.TotalSeconds >= 10 || value.Milliseconds == 0
            ? $"{(int)value.TotalSeconds} s"
            : value.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";
    }

    private static string Time(DateTimeOffset at, DateTimeOffset start)
    {
        var utc = at.ToUniversalTime();
        return utc.Date == start.ToUniversalTime().Date
            ? utc.ToString("HH:mm:ss", CultureInfo.InvariantCulture)
            : utc.ToString("MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
    }

    /// <summary>Journal text in a table cell: one line, cut to <see cref="MaxCell"/>, HTML and mentions neutralised.</summary>
    private static string Cell(string text)
    {
        var single = text.Replace("\r", string.Empty, StringComparison.Ordinal).Replace('\n', ' ').Trim();
        return OutboundText.GitHubInline(single.Length > MaxCell ? single[..MaxCell] + "…" : single);
    }

    private static string Inline(string text) => Cell(text).Replace("*", "\\*", StringComparison.Ordinal);

    private static string? ShortType(string? type) => type is null ? null : type[(type.LastIndexOf('.') + 1)..];

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static string? Text(JsonNode? node) => node is null || (node is JsonValue v && v.GetValueKind() == JsonValueKind.Null) ? null : Notifications.NotificationTemplate.Format(node);

    private static JsonNode? Find(JsonObject? payload, params string[] path)
    {
        JsonNode? node = payload;
        foreach (var key in path)
            node = node is JsonObject obj ? obj[key] : null;
        return node;
    }

    /// <summary>An approval decision: <c>Payload.decision</c>, or the resume payload's <c>decision</c> (or the resume payload itself when it carries an option).</summary>
    private static JsonObject? Decision(JsonObject? payload)
    {
        if (payload?["decision"] is JsonObject direct)
            return direct;
        if (payload?["payload"] is JsonObject resume)
        {
            if (resume["decision"] is JsonObject nested)
                return nested;
            if (resume["option"] is not null || resume["by"] is not null)
                return resume;
        }

        return null;
    }
}
