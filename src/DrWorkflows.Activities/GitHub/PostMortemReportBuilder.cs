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
    IReadOnlyList<string> ActionItems);

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
        return $"{kind}: {name}{severity}, {analysis.Facts.StartedAt.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}";
    }

    // ---- analysis ---------------------------------------------------------------------------------

    private sealed class Step
    {
        public required string ExecutionId { get; init; }

        public required string Name { get; init; }

        public string? Type { get; init; }

        public DateTimeOffset? Started { get; set; }

        public DateTimeOffset? Ended { get; set; }

        public string? EndEvent { get; set; }

        public IReadOnlyList<string>? Outcomes { get; set; }

        public int Attempts { get; set; } = 1;

        public int Retries { get; set; }

        public TimeSpan Waited { get; set; }

        public DateTimeOffset? SuspendedAt { get; set; }

        public string? Error { get; set; }

        public bool IsContainer { get; set; }

        /// <summary>Incidents raised on this step (an operator may have retried or skipped it since).</summary>
        public int Incidents { get; set; }

        public TimeSpan? Elapsed => Started is { } s && Ended is { } e ? e - s : null;

        /// <summary>Time spent working: elapsed minus time suspended (waiting for an approval or a timer).</summary>
        public TimeSpan? Active => Elapsed is { } elapsed ? elapsed - Waited : null;

        public bool Failed => Incidents > 0 || (Outcomes?.Contains("Failed") ?? false);
    }

    private sealed record Row(DateTimeOffset At, long Sequence, string Step, string Event, string Duration, string Notes);

    private sealed record Approval(DateTimeOffset At, string Step, string Decision, string By, string Channel, string? Comment, TimeSpan? Waited);

    private sealed record Problem(DateTimeOffset At, string Step, string Event, string Detail);

    private sealed record Analysis(
        List<Row> Timeline,
        List<Approval> Approvals,
        List<Problem> Problems,
        List<Step> Steps,
        PostMortemFacts Facts,
        DateTimeOffset IncidentStart,
        DateTimeOffset RestoredAt,
        bool RestoredGiven,
        List<string> WentWell,
        List<string> WentWrong);

    private static Analysis Analyze(PostMortemInput input)
    {
        var journal = input.Journal.OrderBy(e => e.Sequence).ToList();
        var steps = new Dictionary<string, Step>(StringComparer.Ordinal);
        var timeline = new List<Row>();
        var approvals = new List<Approval>();
        var problems = new List<Problem>();
        var parents = journal.Where(e => e.ParentExecutionId is not null).Select(e => e.ParentExecutionId!).ToHashSet(StringComparer.Ordinal);

        foreach (var entry in journal)
        {
            var step = entry.ExecutionId is { } id && id != input.ExecutionId
                ? steps.TryGetValue(id, out var known) ? known : steps[id] = new Step
                {
                    ExecutionId = id,
                    Name = entry.ActivityName ?? entry.ActivityId ?? entry.NodeId ?? id,
                    Type = ShortType(entry.ActivityType),
                    IsContainer = parents.Contains(id),
                }
                : null;
            if (entry.ExecutionId is not null && entry.ExecutionId == input.ExecutionId)
                continue;

            switch (entry.EventName)
            {
                case JournalEvents.WorkflowStarted:
                    timeline.Add(new Row(entry.Timestamp, entry.Sequence, "—", "Run started", string.Empty, (entry.Actor ?? input.StartedBy) is { } starter ? $"by {starter}" : string.Empty));
                    break;
                case JournalEvents.WorkflowFinished or JournalEvents.WorkflowFaulted or JournalEvents.WorkflowCancelled:
                    timeline.Add(new Row(entry.Timestamp, entry.Sequence, "—", entry.EventName switch
                    {
                        JournalEvents.WorkflowFinished => "Run finished",
                        JournalEvents.WorkflowFaulted => "Run faulted",
                        _ => "Run cancelled",
                    }, string.Empty, entry.Message ?? string.Empty));
                    break;
                case JournalEvents.Started when step is not null:
                    step.Started ??= entry.Timestamp;
                    step.Attempts = Math.Max(step.Attempts, entry.Attempt ?? 1);
                    break;
                case JournalEvents.Completed or JournalEvents.Cancelled when step is not null:
                    step.Ended = entry.Timestamp;
                    step.EndEvent = entry.EventName;
                    step.Outcomes = entry.Outcomes;
                    if (Find(entry.Payload, "data", "failure") is JsonObject failure)
                    {
                        step.Error = Text(failure["message"]);
                        problems.Add(new Problem(entry.Timestamp, step.Name, $"{Text(failure["channel"]) ?? "step"} failed, workflow went on", step.Error ?? string.Empty));
                    }

                    break;
                case JournalEvents.Faulted or JournalEvents.IncidentRaised when step is not null:
                    step.Ended = entry.Timestamp;
                    step.EndEvent = entry.EventName;
                    step.Error = Text(entry.Payload?["error"]) ?? entry.Message;
                    step.Incidents++;
                    problems.Add(new Problem(entry.Timestamp, step.Name, entry.EventName == JournalEvents.Faulted ? "Faulted (incident)" : "Incident (unsafe re-run)", step.Error ?? string.Empty));
                    timeline.Add(new Row(entry.Timestamp, entry.Sequence, step.Name, "Incident raised", string.Empty, step.Error ?? string.Empty));
                    break;
                case JournalEvents.IncidentResolved:
                    var resolution = Text(entry.Payload?["resolution"]) ?? "resolved";
                    var who = entry.Actor is null ? string.Empty : $" by {entry.Actor}";
                    problems.Add(new Problem(entry.Timestamp, step?.Name ?? "—", "Incident resolved", resolution + who));
                    timeline.Add(new Row(entry.Timestamp, entry.Sequence, step?.Name ?? "—", "Incident resolved", string.Empty, resolution + who));
                    if (step is not null && resolution.Equals("Retry", StringComparison.OrdinalIgnoreCase))
                    {
                        step.Ended = null;
                        step.EndEvent = null;
                    }

                    break;
                case JournalEvents.Retrying when step is not null:
                    step.Retries++;
                    var error = Text(entry.Payload?["error"]) ?? entry.Message ?? string.Empty;
                    var attempt = Text(entry.Payload?["attempt"]) ?? entry.Attempt?.ToString(CultureInfo.InvariantCulture) ?? "?";
                    var max = Text(entry.Payload?["maxAttempts"]);
                    problems.Add(new Problem(entry.Timestamp, step.Name, $"Retry after attempt {attempt}{(max is null ? string.Empty : " of " + max)}", error));
                    break;
                case JournalEvents.Suspended when step is not null:
                    step.SuspendedAt = entry.Timestamp;
                    break;
                case JournalEvents.Resumed when step is not null:
                    TimeSpan? waited = step.SuspendedAt is { } suspended ? entry.Timestamp - suspended : null;
                    if (waited is { } w)
                        step.Waited += w;
                    step.SuspendedAt = null;
                    if (Decision(entry.Payload) is { } decision)
                    {
                        var option = Text(decision["option"]) ?? Text(decision["vote"]) ?? Text(decision["decision"]) ?? Text(decision["outcome"]) ?? "answered";
                        var by = Text(decision["by"]) ?? Text(decision["user"]) ?? entry.Actor ?? "unknown";
                        var channel = Text(decision["channel"]) ?? "—";
                        var comment = Text(decision["comment"]);
                        approvals.Add(new Approval(entry.Timestamp, step.Name, option, by, channel, comment, waited));
                        timeline.Add(new Row(entry.Timestamp, entry.Sequence, step.Name, $"Decision: {option}", waited is null ? string.Empty : Duration(waited.Value), $"by {by} via {channel}{(comment is null ? string.Empty : ": " + comment)}"));
                    }
                    else if (entry.Actor is not null)
                    {
                        timeline.Add(new Row(entry.Timestamp, entry.Sequence, step.Name, "Resumed", waited is null ? string.Empty : Duration(waited.Value), $"by {entry.Actor}"));
                    }

                    break;
            }
        }

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
            if (step.Attempts > 1 || step.Retries > 0)
                notes.Add($"{Math.Max(step.Attempts, step.Retries + 1)} attempts");
            if (step.Waited > TimeSpan.Zero)
                notes.Add($"waited {Duration(step.Waited)}");
            if (step.Error is { } error)
                notes.Add(error);
            var first = journal.First(e => e.ExecutionId == step.ExecutionId && e.EventName == JournalEvents.Started);
            timeline.Add(new Row(step.Started!.Value, first.Sequence, step.Name, result, step.Elapsed is { } d ? Duration(d) : "—", string.Join("; ", notes)));
        }

        timeline.Sort((a, b) => a.At != b.At ? a.At.CompareTo(b.At) : a.Sequence.CompareTo(b.Sequence));

        var runStart = journal.FirstOrDefault(e => e.EventName == JournalEvents.WorkflowStarted)?.Timestamp ?? journal.FirstOrDefault()?.Timestamp ?? input.GeneratedAt;
        var runEnd = journal.LastOrDefault(e => e.EventName is JournalEvents.WorkflowFinished or JournalEvents.WorkflowFaulted or JournalEvents.WorkflowCancelled)?.Timestamp ?? input.GeneratedAt;
        var incidentStart = input.Details.IncidentStartedAt ?? runStart;
        var restored = input.Details.ServiceRestoredAt ?? runEnd;
        var recovery = restored - incidentStart;
        bool? rtoMet = input.Details.RtoTarget is { } rto ? recovery <= rto : null;
        TimeSpan? dataLoss = input.Details.LastGoodDataAt is { } good ? Max(incidentStart - good, TimeSpan.Zero) : null;
        bool? rpoMet = dataLoss is { } loss && input.Details.RpoTarget is { } rpo ? loss <= rpo : null;

        var work = steps.Values.Where(s => !s.IsContainer && s.Started is not null).ToList();
        var actions = ActionItems(input, work, approvals, problems, recovery, rtoMet, dataLoss, rpoMet);
        var (well, wrong) = Assessment(input, work, approvals, recovery, rtoMet, dataLoss, rpoMet);
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
            actions);
        return new Analysis(timeline, approvals, problems, work, facts, incidentStart, restored, input.Details.ServiceRestoredAt is not null, well, wrong);
    }

    private static List<string> ActionItems(
        PostMortemInput input,
        List<Step> steps,
        List<Approval> approvals,
        List<Problem> problems,
        TimeSpan recovery,
        bool? rtoMet,
        TimeSpan? dataLoss,
        bool? rpoMet)
    {
        var items = new List<string>();
        foreach (var step in steps.Where(s => s.Failed).GroupBy(s => s.Name).Select(g => g.Last()))
            items.Add($"Find and fix why **{Inline(step.Name)}** failed: {Inline(step.Error ?? "see the timeline")}");
        foreach (var step in steps.Where(s => !s.Failed && s.Retries > 0).GroupBy(s => s.Name).Select(g => g.Last()))
            items.Add($"**{Inline(step.Name)}** needed {step.Retries + 1} attempts: make its dependency reliable or its retry unnecessary");
        foreach (var step in steps.Where(s => s.Active > input.Details.LongStepThreshold).OrderByDescending(s => s.Active))
            items.Add($"**{Inline(step.Name)}** ran {Duration(step.Active!.Value)} (more than {Duration(input.Details.LongStepThreshold)}): speed it up or budget for it in the runbook");
        foreach (var approval in approvals.Where(a => a.Waited > input.Details.LongStepThreshold))
            items.Add($"The decision at **{Inline(approval.Step)}** took {Duration(approval.Waited!.Value)}: check the escalation tiers of the contact tree");
        if (rtoMet == false)
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

    private static (List<string> Well, List<string> Wrong) Assessment(
        PostMortemInput input,
        List<Step> steps,
        List<Approval> approvals,
        TimeSpan recovery,
        bool? rtoMet,
        TimeSpan? dataLoss,
        bool? rpoMet)
    {
        var well = new List<string>();
        var wrong = new List<string>();
        var clean = steps.Count(s => !s.Failed && s.Retries == 0 && s.EndEvent == JournalEvents.Completed);
        if (steps.Count > 0)
            well.Add($"{clean} of {steps.Count} steps completed at the first attempt");
        if (rtoMet == true)
            well.Add($"Recovered in {Duration(recovery)}, within the RTO of {Duration(input.Details.RtoTarget!.Value)}");
        if (rpoMet == true)
            well.Add($"Data-loss window of {Duration(dataLoss!.Value)}, within the RPO of {Duration(input.Details.RpoTarget!.Value)}");
        if (approvals.Count > 0 && approvals.All(a => a.Waited is null || a.Waited <= input.Details.LongStepThreshold))
            well.Add($"{approvals.Count} decision(s) answered promptly");

        foreach (var step in steps.Where(s => s.Failed))
            wrong.Add($"{Inline(step.Name)} failed: {Inline(step.Error ?? "see the timeline")}");
        var retries = steps.Sum(s => s.Retries);
        if (retries > 0)
            wrong.Add($"{retries} retr{(retries == 1 ? "y" : "ies")} were needed ({string.Join(", ", steps.Where(s => s.Retries > 0).Select(s => Inline(s.Name)).Distinct())})");
        if (rtoMet == false)
            wrong.Add($"Recovery took {Duration(recovery)}, over the RTO of {Duration(input.Details.RtoTarget!.Value)}");
        if (rpoMet == false)
            wrong.Add($"Data-loss window of {Duration(dataLoss!.Value)}, over the RPO of {Duration(input.Details.RpoTarget!.Value)}");
        return (well, wrong);
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
            .Append(Duration(facts.RecoveryTime)).Append(" | ").Append(Verdict(facts.RtoMet, facts.RecoveryTime, input.Details.RtoTarget)).Append(" |\n");
        md.Append("| RPO: data-loss window (newest recovered data to incident start) | ")
            .Append(input.Details.RpoTarget is { } rpo ? Duration(rpo) : "not set").Append(" | ")
            .Append(facts.DataLossWindow is { } loss ? Duration(loss) : "not measured (no restore point given)").Append(" | ")
            .Append(facts.DataLossWindow is { } window ? Verdict(facts.RpoMet, window, input.Details.RpoTarget) : "—").Append(" |\n\n");

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

    private static string? Text(JsonNode? node) => node switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonValue v => v.ToJsonString(),
        _ => node.ToJsonString(),
    };

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
