using System.Globalization;
using System.Text;
using DrWorkflows.Activities.PgBackRest;

namespace DrWorkflows.Activities.Drills;

/// <summary>
/// What one recovery (or drill restore) of one component achieved: when it started, when the component was
/// healthy and checked again, and the time of the newest data it got back.
/// </summary>
public sealed record RecoveryMeasurement
{
    /// <summary>Component key of <see cref="RecoveryObjectivesOptions.Components"/>, e.g. <c>postgres-main</c>.</summary>
    public string Component { get; init; } = string.Empty;

    /// <summary>What was restored (database, Redis instance, volume).</summary>
    public string? Source { get; init; }

    /// <summary>Backup store the data came from.</summary>
    public string? Store { get; init; }

    /// <summary>Backup set restored.</summary>
    public string? SetId { get; init; }

    /// <summary>Time of the newest data recovered (the backup's snapshot time); null for stateless components or when no backup was found.</summary>
    public DateTimeOffset? BackupTakenAt { get; init; }

    /// <summary>Start of this component's recovery; null means the start of the drill or incident.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>When the component was healthy and checked; null when it was not recovered.</summary>
    public DateTimeOffset? RecoveredAt { get; init; }

    public bool Succeeded { get; init; }

    /// <summary>How it was recovered and checked, e.g. <c>restore into throwaway database drw_verify_… on 10.0.0.5:5432</c>.</summary>
    public string? Method { get; init; }

    /// <summary>Why it failed, or what the checks found.</summary>
    public IReadOnlyList<string> Problems { get; init; } = [];
}

/// <summary>One component judged against its objectives.</summary>
public sealed record ComponentObjectiveResult(
    string Component,
    string DisplayName,
    bool Succeeded,
    TimeSpan? RtoTarget,
    TimeSpan? RtoAchieved,
    bool RtoMet,
    TimeSpan? RpoTarget,
    TimeSpan? RpoAchieved,
    bool RpoMet,
    string? SetId,
    DateTimeOffset? BackupTakenAt,
    string? Method,
    IReadOnlyList<string> Problems)
{
    public bool Met => Succeeded && RtoMet && RpoMet;

    /// <summary>Whether the RPO can hold by design (the objectives report); null when it was not checked.</summary>
    public bool? RpoCanHold { get; init; }

    /// <summary>The RPO measured with canaries (then <see cref="RpoAchieved"/> is its value); null when the RPO is the age of the backup restored.</summary>
    public CanaryRpoMeasurement? Canary { get; init; }
}

/// <summary>Every component of a drill or recovery judged against the plan's objectives.</summary>
public sealed record RecoveryObjectivesReport(
    DateTimeOffset StartedAt,
    DateTimeOffset EvaluatedAt,
    IReadOnlyList<ComponentObjectiveResult> Components,
    TimeSpan? OverallRto,
    TimeSpan OverallRtoTarget,
    bool OverallRtoMet,
    IReadOnlyList<string> Missed)
{
    /// <summary>Every component recovered within its RTO and RPO and the whole within the overall target.</summary>
    public bool AllMet => Missed.Count == 0;

    /// <summary>When the last component was back (start + <see cref="OverallRto"/>); null when one was not recovered.</summary>
    public DateTimeOffset? RecoveredAt => OverallRto is { } rto ? StartedAt + rto : null;

    /// <summary>The objectives report at the time of the drill: every promise of the table, checked by design.</summary>
    public IReadOnlyList<RecoveryPromise> Promises { get; init; } = [];

    /// <summary>The report as Markdown (Slack mrkdwn renders it readably too).</summary>
    public string ToMarkdown(string title)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"*{title}*: {(AllMet ? "PASSED" : "FAILED")}\n");
        text.Append(CultureInfo.InvariantCulture, $"Started {StartedAt:yyyy-MM-dd HH:mm:ss} UTC; recovery time {RecoveryObjectivesCalculator.Format(OverallRto)} (target {RecoveryObjectivesCalculator.Format(OverallRtoTarget)}).\n\n");
        text.Append("| component | result | RTO achieved / target | RPO achieved / target | backup |\n|---|---|---|---|---|\n");
        foreach (var c in Components)
        {
            var result = c.Met ? "met" : c.Succeeded ? "missed" : "failed";
            var backup = c.BackupTakenAt is { } at ? $"{c.SetId} ({at:yyyy-MM-dd HH:mm} UTC)" : c.SetId ?? "-";
            text.Append(CultureInfo.InvariantCulture,
                $"| {c.DisplayName} | {result} | {RecoveryObjectivesCalculator.Format(c.RtoAchieved)} / {RecoveryObjectivesCalculator.Format(c.RtoTarget)}{(c.RtoMet ? string.Empty : " ✗")} | {RecoveryObjectivesCalculator.Format(c.RpoAchieved)} / {RecoveryObjectivesCalculator.Format(c.RpoTarget)}{(c.RpoMet ? string.Empty : " ✗")}{(c.Canary is null ? string.Empty : " (canary)")}{(c.RpoCanHold == false ? " (cannot hold by design)" : string.Empty)} | {backup} |\n");
        }

        var canaries = Components.Where(c => c.Canary is not null).ToList();
        if (canaries.Count > 0)
        {
            text.Append("\nRPO measured with canaries (a row a second, then a failure point, then a pgBackRest restore to latest):\n");
            foreach (var c in canaries)
            {
                var m = c.Canary!;
                text.Append(CultureInfo.InvariantCulture, $"- {c.DisplayName}: ");
                text.Append(m.Rpo is { } rpo
                    ? string.Create(CultureInfo.InvariantCulture, $"{RecoveryObjectivesCalculator.Format(rpo)} (target {RecoveryObjectivesCalculator.Format(c.RpoTarget)}): failure point {m.FailurePoint:yyyy-MM-dd HH:mm:ss.fff} UTC, newest canary restored {m.NewestCanaryAt:HH:mm:ss.fff} UTC; {m.Counted} of {m.Written} canaries restored and counted{(m.NotCounted > 0 ? $", {m.NotCounted} written or archived after the failure point not counted" : string.Empty)}")
                    : $"not achieved (target {RecoveryObjectivesCalculator.Format(c.RpoTarget)}): {string.Join("; ", m.Problems)}");
                text.Append('\n');
            }
        }

        if (Promises.Count > 0)
        {
            var broken = Promises.Where(p => !p.CanHold).ToList();
            text.Append(CultureInfo.InvariantCulture, $"\nPromises checked by design: {Promises.Count - broken.Count} of {Promises.Count} can hold.\n");
            foreach (var promise in broken)
                text.Append(CultureInfo.InvariantCulture, $"- {promise.DisplayName} {promise.Objective} {RecoveryObjectivesCalculator.Format(promise.Target)} cannot hold: {promise.Reason}\n");
        }

        if (Missed.Count > 0)
        {
            text.Append("\nMissed:\n");
            foreach (var missed in Missed)
                text.Append("- ").Append(missed).Append('\n');
        }

        return text.ToString();
    }
}

/// <summary>Judges measurements against objectives: achieved RTO = recovered − start, achieved RPO = start − newest data recovered.</summary>
public static class RecoveryObjectivesCalculator
{
    /// <summary>
    /// Judges each measurement. <paramref name="startedAt"/> is the drill (or incident) start: the RTO of a
    /// component runs from its own start when given, else from it; the RPO is the data lost between the newest
    /// recovered data and it. A component that failed, has no objective, or has no backup while its RPO is not
    /// zero, misses. With <paramref name="promises"/> (the objectives report), an RPO that cannot hold by design is
    /// never "met", whatever the age of the backup the drill happened to restore.
    /// </summary>
    /// <paramref name="canaries"/> replace, for their components, the age of the backup by the RPO measured with canaries
    /// (failure point − newest canary restored); a measurement without a canary misses the RPO.
    public static RecoveryObjectivesReport Evaluate(IEnumerable<RecoveryMeasurement> measurements, DateTimeOffset startedAt, DateTimeOffset evaluatedAt, RecoveryObjectivesOptions objectives, TimeSpan? overallTarget = null, IReadOnlyList<RecoveryPromise>? promises = null, IReadOnlyList<CanaryRpoMeasurement>? canaries = null)
    {
        ArgumentNullException.ThrowIfNull(measurements);
        ArgumentNullException.ThrowIfNull(objectives);
        var results = new List<ComponentObjectiveResult>();
        var missed = new List<string>();
        foreach (var m in measurements)
        {
            var key = string.IsNullOrWhiteSpace(m.Component) ? "(unnamed)" : m.Component.Trim();
            objectives.Components.TryGetValue(key, out var objective);
            var name = objective?.DisplayName ?? key;
            var problems = new List<string>(m.Problems);
            TimeSpan? rto = m.Succeeded && m.RecoveredAt is { } recovered ? Positive(recovered - (m.StartedAt ?? startedAt)) : null;
            var canary = canaries?.LastOrDefault(c => c is not null && string.Equals(c.Component, key, StringComparison.OrdinalIgnoreCase));
            TimeSpan? rpo = canary is not null ? canary.Rpo : m.BackupTakenAt is { } taken ? Positive(startedAt - taken) : null;
            bool rtoMet, rpoMet;
            if (objective is null)
            {
                problems.Add($"No recovery objective is configured for component '{key}': add Drills:Components:{key} (Rto, Rpo).");
                rtoMet = rpoMet = false;
            }
            else
            {
                rtoMet = rto is { } r && r <= objective.Rto;
                rpoMet = rpo is { } p ? p <= objective.Rpo : canary is null && objective.Rpo == TimeSpan.Zero && m.Succeeded;
            }

            var byDesign = promises?.FirstOrDefault(p => string.Equals(p.Component, key, StringComparison.OrdinalIgnoreCase) && p.Objective == RecoveryObjectiveNames.Rpo);
            var rpoMeasuredWithin = rpoMet;
            if (byDesign is { CanHold: false })
            {
                rpoMet = false;
                problems.Add($"The RPO cannot hold by design: {byDesign.Reason}");
            }

            if (!m.Succeeded)
                missed.Add($"{name}: not recovered{(m.Problems.Count > 0 ? ": " + string.Join("; ", m.Problems) : string.Empty)}");
            else if (objective is null)
                missed.Add($"{name}: no objective configured");
            else
            {
                if (!rtoMet)
                    missed.Add($"{name}: RTO {Format(rto)} exceeds the target {Format(objective.Rto)}");
                if (!rpoMeasuredWithin)
                    missed.Add(canary is not null
                        ? rpo is null ? $"{name}: the RPO measured with canaries was not achieved (target {Format(objective.Rpo)}): {string.Join("; ", canary.Problems)}" : $"{name}: RPO {Format(rpo)} measured with canaries exceeds the target {Format(objective.Rpo)}"
                        : rpo is null ? $"{name}: no backup found, the RPO target {Format(objective.Rpo)} cannot be met" : $"{name}: RPO {Format(rpo)} exceeds the target {Format(objective.Rpo)}");
                if (byDesign is { CanHold: false })
                    missed.Add($"{name}: the RPO of {Format(objective.Rpo)} cannot hold by design{(rpoMeasuredWithin && rpo is not null ? canary is null ? $" (this backup was {Format(rpo)} old by chance)" : $" (the canaries measured {Format(rpo)} this time)" : string.Empty)}: {byDesign.Reason}");
            }

            if (canary is { Rpo: null })
                problems.AddRange(canary.Problems);
            results.Add(new ComponentObjectiveResult(key, name, m.Succeeded, objective?.Rto, rto, rtoMet, objective?.Rpo, rpo, rpoMet, m.SetId, m.BackupTakenAt, m.Method, problems) { RpoCanHold = byDesign?.CanHold, Canary = canary });
        }

        var target = overallTarget ?? objectives.DrillRtoTarget;
        var recoveredTimes = measurements.Where(m => m.Succeeded && m.RecoveredAt is not null).Select(m => m.RecoveredAt!.Value).ToList();
        TimeSpan? overall = results.Count > 0 && results.All(r => r.Succeeded) && recoveredTimes.Count > 0 ? Positive(recoveredTimes.Max() - startedAt) : null;
        var overallMet = overall is { } o && o <= target;
        if (results.Count == 0)
            missed.Add("Nothing was measured: the drill restored no component.");
        else if (!overallMet && overall is not null)
            missed.Add($"Whole recovery took {Format(overall)}, more than the target {Format(target)}");
        return new RecoveryObjectivesReport(startedAt, evaluatedAt, results, overall, target, overallMet, missed) { Promises = promises ?? [] };
    }

    /// <summary>A duration for people: <c>4 min 05 s</c>, <c>2 h 10 min</c>, <c>3 d 4 h</c>; <c>-</c> when unknown.</summary>
    public static string Format(TimeSpan? value)
    {
        if (value is not { } v)
            return "-";
        if (v == TimeSpan.Zero)
            return "0";
        if (v.TotalDays >= 1)
            return string.Create(CultureInfo.InvariantCulture, $"{(int)v.TotalDays} d {v.Hours} h");
        if (v.TotalHours >= 1)
            return string.Create(CultureInfo.InvariantCulture, $"{(int)v.TotalHours} h {v.Minutes:00} min");
        if (v.TotalMinutes >= 1)
            return string.Create(CultureInfo.InvariantCulture, $"{(int)v.TotalMinutes} min {v.Seconds:00} s");
        return string.Create(CultureInfo.InvariantCulture, $"{v.TotalSeconds:0.#} s");
    }

    private static TimeSpan Positive(TimeSpan value) => value < TimeSpan.Zero ? TimeSpan.Zero : value;
}
