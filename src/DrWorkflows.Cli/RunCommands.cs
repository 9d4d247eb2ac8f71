using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;

namespace DrWorkflows.Cli;

/// <summary>
/// <c>drw run</c> (start a run, optionally follow it step by step until it ends) and <c>drw runs show</c> (a run's
/// timeline with durations). The exit code is the run's real outcome (<see cref="ExitCodes"/>), never 0 for a run that
/// faulted, stopped at an incident, was cancelled or was rejected at an approval gate.
/// </summary>
internal static class RunCommands
{
    private const string GateType = "DrWorkflows.ApprovalGate";

    public static Command Run(Func<ParseResult, DrwClient> client, Action<ParseResult, JsonNode?, Action<JsonNode?>> print, Func<ParseResult, bool> json, TextWriter output)
    {
        var run = new Command("run", "Start a run of a published workflow. Without --wait it returns when the run waits or ends; the exit code says how it stands.");
        var definitionArg = new Argument<string>("definitionId") { Description = "The workflow's definition id." };
        var input = new Option<string?>("--input") { Description = "Workflow input as a JSON object, e.g. '{\"Reason\":\"disk full\"}'." };
        var correlation = new Option<string?>("--correlation-id") { Description = "Correlation id (e.g. the alert id)." };
        var latest = new Option<bool>("--latest") { Description = "Run the latest version even if it is a draft." };
        var wait = new Option<bool>("--wait") { Description = "Follow the run, printing each step as it ends, until the run ends or stops at an incident." };
        var timeout = new Option<TimeSpan?>("--timeout") { Description = "With --wait: give up following after this long (e.g. 00:30:00); exit code 8, the run goes on." };
        var poll = new Option<TimeSpan>("--poll") { Description = "With --wait: how often to ask the server (default 00:00:02).", DefaultValueFactory = _ => TimeSpan.FromSeconds(2), Hidden = true };
        run.Arguments.Add(definitionArg);
        run.Options.Add(input);
        run.Options.Add(correlation);
        run.Options.Add(latest);
        run.Options.Add(wait);
        run.Options.Add(timeout);
        run.Options.Add(poll);
        run.SetAction(async (parse, ct) =>
        {
            var api = client(parse);
            var body = new JsonObject
            {
                ["input"] = CliApp.ParseObject(parse.GetValue(input), "--input"),
                ["correlationId"] = parse.GetValue(correlation),
                ["versionOptions"] = parse.GetValue(latest) ? "Latest" : "Published",
            };
            var (result, id) = await api.PostWithInstanceIdAsync($"/elsa/api/workflow-definitions/{Uri.EscapeDataString(parse.GetValue(definitionArg)!)}/execute", body, ct);
            id ??= result?["workflowState"]?["id"]?.ToString() ?? throw new CliException("The server started no run (no instance id in its answer).");
            if (!parse.GetValue(wait))
            {
                var journalNow = await JournalAsync(api, id, ct);
                var verdict = Verdict(result?["workflowState"], journalNow);
                print(parse, result, r =>
                {
                    output.WriteLine($"run {id}: {r?["workflowState"]?["status"]}/{r?["workflowState"]?["subStatus"]}{verdict.Suffix}");
                    WriteOutputs(output, r?["workflowState"]?["output"]);
                });
                return verdict.ExitCode;
            }

            if (!json(parse))
                output.WriteLine($"run {id} started ({parse.GetValue(definitionArg)}); following it (Ctrl-C stops following, not the run)");
            var follow = await FollowAsync(api, id, parse.GetValue(timeout), parse.GetValue(poll), json(parse) ? TextWriter.Null : output, ct);
            print(parse, follow.Final, _ =>
            {
                output.WriteLine($"run {id}: {follow.Final?["status"]}/{follow.Final?["subStatus"]}{follow.Verdict.Suffix}");
                WriteOutputs(output, follow.Final?["output"]);
            });
            return follow.Verdict.ExitCode;
        });
        return run;
    }

    /// <summary>The run's result: its outputs, one per line under the status line.</summary>
    private static void WriteOutputs(TextWriter output, JsonNode? outputs)
    {
        foreach (var (name, value) in outputs as JsonObject ?? [])
            output.WriteLine($"  {name}: {(value is JsonValue v && v.TryGetValue<string>(out var text) ? text : value?.ToJsonString())}");
    }

    public static Command Show(Func<ParseResult, DrwClient> client, Action<ParseResult, JsonNode?, Action<JsonNode?>> print, TextWriter output)
    {
        var show = new Command("show", "A run's timeline: each step with its start, duration, attempt and outcome, waits and incidents.");
        var id = new Argument<string>("instanceId");
        show.Arguments.Add(id);
        show.SetAction(async (parse, ct) =>
        {
            var api = client(parse);
            var run = await api.GetAsync($"/elsa/api/workflow-instances/{Uri.EscapeDataString(parse.GetValue(id)!)}", ct);
            var journal = await JournalAsync(api, parse.GetValue(id)!, ct);
            var state = run?["workflowState"];
            var timeline = Timeline(journal);
            var verdict = Verdict(state, journal);
            var model = new JsonObject
            {
                ["id"] = state?["id"]?.DeepClone(),
                ["definitionId"] = state?["definitionId"]?.DeepClone(),
                ["status"] = state?["status"]?.DeepClone(),
                ["subStatus"] = state?["subStatus"]?.DeepClone(),
                ["createdAt"] = run?["workflowInstance"]?["createdAt"]?.DeepClone() ?? state?["createdAt"]?.DeepClone(),
                ["finishedAt"] = run?["workflowInstance"]?["finishedAt"]?.DeepClone() ?? state?["finishedAt"]?.DeepClone(),
                ["verdict"] = verdict.Name,
                ["steps"] = new JsonArray([.. timeline.Select(s => (JsonNode?)s.ToJson())]),
                ["incidents"] = state?["incidents"]?.DeepClone(),
            };
            print(parse, model, _ =>
            {
                output.WriteLine($"run {model["id"]} ({model["definitionId"]}): {model["status"]}/{model["subStatus"]}{verdict.Suffix}");
                var rows = new JsonArray([.. timeline.Select(s => (JsonNode?)new JsonObject
                {
                    ["start"] = s.Start?.UtcDateTime.ToString("HH:mm:ss", CultureInfo.InvariantCulture) ?? "",
                    ["took"] = s.Duration is { } d ? FormatDuration(d) : s.End is null ? "running" : "",
                    ["step"] = s.ActivityId,
                    ["type"] = s.ActivityType,
                    ["attempt"] = s.Attempt,
                    ["result"] = s.Result,
                })]);
                CliApp.Table(output, rows, ("START (UTC)", "start"), ("TOOK", "took"), ("STEP", "step"), ("TYPE", "type"), ("ATTEMPT", "attempt"), ("RESULT", "result"));
                if (timeline.FirstOrDefault()?.Start is { } first && timeline.Select(s => s.End ?? s.Start).Max() is { } last)
                    output.WriteLine($"{timeline.Count} step(s) over {FormatDuration(last - first)}.");
            });
            return 0;
        });
        return show;
    }

    /// <summary>Polls the run and its journal, printing each step as it ends, until it ends, stops at an incident or the time is up.</summary>
    private static async Task<(JsonNode? Final, RunVerdict Verdict)> FollowAsync(DrwClient api, string id, TimeSpan? timeout, TimeSpan poll, TextWriter output, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout is { } t)
            limit.CancelAfter(t);
        var printed = 0L;
        var announcedWaits = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            var run = await api.GetAsync($"/elsa/api/workflow-instances/{Uri.EscapeDataString(id)}", cancellationToken);
            var journal = await JournalAsync(api, id, cancellationToken);
            foreach (var entry in journal.Where(e => e?["sequence"]?.GetValue<long>() >= printed))
                Progress(output, entry!, announcedWaits);
            printed = journal.Count == 0 ? printed : journal.Max(e => e?["sequence"]?.GetValue<long>() ?? -1) + 1;
            var state = run?["workflowState"];
            var verdict = Verdict(state, journal);
            if (verdict.Ended)
                return (state, verdict);
            try
            {
                await Task.Delay(poll, limit.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return (state, new RunVerdict("following-timed-out", $"; still {state?["subStatus"]} after {timeout}: stopped following (the run goes on)", ExitCodes.WaitTimedOut, true));
            }
        }
    }

    private static void Progress(TextWriter output, JsonNode entry, HashSet<string> announcedWaits)
    {
        var at = entry["timestamp"]?.GetValue<DateTimeOffset>().UtcDateTime.ToString("HH:mm:ss", CultureInfo.InvariantCulture);
        var step = $"{entry["activityId"]} ({entry["activityType"]})";
        switch (entry["eventName"]?.ToString())
        {
            case "Completed" when !IsContainer(entry):
                var took = entry["payload"]?["durationMs"]?.GetValue<long>() is { } ms ? FormatDuration(TimeSpan.FromMilliseconds(ms)) : "";
                var outcomes = entry["outcomes"] is JsonArray o && o.Count > 0 && !(o.Count == 1 && o[0]?.ToString() == "Done") ? $" -> {string.Join(",", o)}" : "";
                output.WriteLine($"{at}  done     {step} {took}{outcomes}");
                break;
            case "Faulted" when RaisedIncident(entry):
                output.WriteLine($"{at}  INCIDENT {step}: {entry["message"]} (drw incidents list)");
                break;
            case "Faulted":
                output.WriteLine($"{at}  FAULTED  {step} attempt {entry["attempt"]}: {entry["message"]}");
                break;
            case "Retrying":
                output.WriteLine($"{at}  retry    {step}: {entry["message"]}");
                break;
            case "IncidentRaised":
                output.WriteLine($"{at}  INCIDENT {step}: {entry["message"]} (drw incidents list)");
                break;
            case "Suspended" when entry["activityInstanceId"]?.ToString() is { } execution && announcedWaits.Add(execution):
                var hint = entry["activityType"]?.ToString() == GateType ? " (drw approvals list)" : "";
                output.WriteLine($"{at}  waiting  {step}{hint}");
                break;
            case "Resumed":
                output.WriteLine($"{at}  resumed  {step}{(entry["actor"] is { } by ? $" by {by}" : "")}");
                break;
            case "WorkflowFinished" or "WorkflowFaulted" or "WorkflowCancelled":
                output.WriteLine($"{at}  {entry["eventName"]}{(entry["message"] is { } m ? $": {m}" : "")}");
                break;
        }
    }

    /// <summary>A fault that stopped the run at an incident (rather than one retried).</summary>
    private static bool RaisedIncident(JsonNode entry) => entry["payload"] is JsonObject payload && payload.ContainsKey("incidentId");

    /// <summary>Composite steps (a sequence, a flowchart) end when their children do: the timeline and progress show the children.</summary>
    private static bool IsContainer(JsonNode entry) => entry["activityType"]?.ToString() is "Elsa.Sequence" or "Elsa.Flowchart" or "Elsa.Workflow" or "Elsa.Parallel";

    /// <summary>How the run stands: ended well, still waiting, faulted, stopped at an incident, cancelled, or rejected at a gate.</summary>
    internal static RunVerdict Verdict(JsonNode? state, IReadOnlyList<JsonNode?> journal)
    {
        var status = state?["status"]?.ToString();
        var sub = state?["subStatus"]?.ToString();
        var openIncidents = (state?["incidents"] as JsonArray)?.Count(i => i?["resolution"] is null) ?? 0;
        var rejected = journal.LastOrDefault(e => e?["eventName"]?.ToString() == "Completed" && e["activityType"]?.ToString() == GateType
            && e["outcomes"] is JsonArray o && o.Any(x => x?.ToString() == "Rejected"));
        if (status == "Running" && (sub == "Faulted" || openIncidents > 0))
            return new RunVerdict("stopped-at-incident", $"; stopped at {openIncidents} open incident(s): drw incidents list", ExitCodes.RunFaulted, true);
        if (sub == "Faulted")
            return new RunVerdict("faulted", $"; FAULTED: {state?["fault"]?["message"]}", ExitCodes.RunFaulted, true);
        if (sub == "Cancelled")
            return new RunVerdict("cancelled", "; CANCELLED", ExitCodes.RunCancelled, true);
        if (rejected is not null)
        {
            var verb = status == "Finished" ? "ended after" : "continues after";
            return new RunVerdict("rejected", $"; {verb} gate {rejected["activityId"]} was REJECTED", ExitCodes.RunRejected, status == "Finished");
        }

        if (status == "Finished")
            return new RunVerdict("finished", string.Empty, ExitCodes.Ok, true);
        return new RunVerdict("waiting", sub == "Suspended" ? "; waiting (a timer, an approval or a child run)" : string.Empty, ExitCodes.Ok, false);
    }

    private static async Task<IReadOnlyList<JsonNode?>> JournalAsync(DrwClient api, string id, CancellationToken cancellationToken)
    {
        var entries = new List<JsonNode?>();
        for (var skip = 0; ; skip += 5000)
        {
            var page = await api.GetAsync($"/elsa/api/workflow-instances/{Uri.EscapeDataString(id)}/journal?skip={skip}&take=5000", cancellationToken);
            var items = page?["items"] as JsonArray ?? [];
            entries.AddRange(items.Select(i => i?.DeepClone()));
            if (items.Count == 0 || entries.Count >= (page?["totalCount"]?.GetValue<long>() ?? 0))
                return entries;
        }
    }

    /// <summary>One row per step attempt: when it started, when it ended, how long it took, and how it ended.</summary>
    private static List<TimelineStep> Timeline(IReadOnlyList<JsonNode?> journal)
    {
        var steps = new List<TimelineStep>();
        var open = new Dictionary<string, TimelineStep>(StringComparer.Ordinal);
        foreach (var entry in journal.OfType<JsonNode>())
        {
            var execution = entry["activityInstanceId"]?.ToString();
            if (execution is null || IsContainer(entry))
                continue;
            var at = entry["timestamp"]?.GetValue<DateTimeOffset>();
            var key = $"{execution}/{entry["attempt"]}";
            switch (entry["eventName"]?.ToString())
            {
                case "Started":
                    open[key] = new TimelineStep(entry["activityId"]?.ToString(), entry["activityType"]?.ToString(), entry["attempt"]?.GetValue<int>() ?? 1) { Start = at, Result = "running" };
                    steps.Add(open[key]);
                    break;
                case "Suspended" when open.TryGetValue(key, out var waiting):
                    waiting.Result = "waiting";
                    break;
                case "Completed":
                case "Faulted":
                case "Interrupted":
                case "Cancelled":
                    if (!open.Remove(key, out var step))
                    {
                        step = new TimelineStep(entry["activityId"]?.ToString(), entry["activityType"]?.ToString(), entry["attempt"]?.GetValue<int>() ?? 1);
                        steps.Add(step);
                    }

                    step.End = at;
                    if (entry["payload"]?["durationMs"]?.GetValue<long>() is { } ms)
                        step.Start ??= at - TimeSpan.FromMilliseconds(ms);
                    step.Result = entry["eventName"]?.ToString() switch
                    {
                        "Completed" => entry["outcomes"] is JsonArray o && o.Count > 0 ? string.Join(",", o) : "Done",
                        "Faulted" => $"FAULTED: {entry["message"]}",
                        "Interrupted" => "INTERRUPTED (crash)",
                        _ => "cancelled",
                    };
                    break;
            }
        }

        return steps;
    }

    internal static string FormatDuration(TimeSpan value) => value.TotalSeconds switch
    {
        < 1 => $"{value.TotalMilliseconds:0} ms",
        < 60 => $"{value.TotalSeconds:0.0} s",
        < 3600 => $"{(int)value.TotalMinutes} min {value.Seconds:00} s",
        _ => $"{(int)value.TotalHours} h {value.Minutes:00} min",
    };

    private sealed class TimelineStep(string? activityId, string? activityType, int attempt)
    {
        public string? ActivityId { get; } = activityId;

        public string? ActivityType { get; } = activityType;

        public int Attempt { get; } = attempt;

        public DateTimeOffset? Start { get; set; }

        public DateTimeOffset? End { get; set; }

        public string Result { get; set; } = "";

        public TimeSpan? Duration => Start is { } s && End is { } e ? e - s : null;

        public JsonObject ToJson() => new()
        {
            ["activityId"] = ActivityId,
            ["activityType"] = ActivityType,
            ["attempt"] = Attempt,
            ["startedAt"] = Start,
            ["endedAt"] = End,
            ["durationMs"] = Duration is { } d ? (long)d.TotalMilliseconds : null,
            ["result"] = Result,
        };
    }
}

/// <summary>How a run stands for <c>drw run</c>: a name for --json, a suffix for the status line, the exit code, whether following can stop.</summary>
internal sealed record RunVerdict(string Name, string Suffix, int ExitCode, bool Ended);

/// <summary>The exit codes of <c>drw</c> (docs/cli.md).</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int NeedsAttention = 1;
    public const int Refused = 2;
    public const int Unreachable = 3;
    public const int Unauthorized = 4;
    public const int RunFaulted = 5;
    public const int RunCancelled = 6;
    public const int RunRejected = 7;
    public const int WaitTimedOut = 8;
}
