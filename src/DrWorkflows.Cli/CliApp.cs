using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace DrWorkflows.Cli;

/// <summary>
/// <c>drw</c>: start runs, follow them, answer approval gates, resolve incidents and check the recovery objectives from a terminal.
/// Server and key: flags, environment, <c>~/.config/drw/config</c>, then the server's key file (<see cref="CliSettings"/>).
/// Exit codes: <see cref="ExitCodes"/> (docs/cli.md).
/// </summary>
internal static class CliApp
{
    private static readonly JsonSerializerOptions Pretty = new() { WriteIndented = true };

    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, Func<Uri, string?, HttpClient>? clientFactory = null, CancellationToken cancellationToken = default) =>
        RunAsync(args, output, error, clientFactory, null, cancellationToken);

    /// <summary>Runs one command; <c>environment</c> reads an environment variable (null: the process environment).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, Func<Uri, string?, HttpClient>? clientFactory, Func<string, string?>? environment, CancellationToken cancellationToken)
    {
        var server = new Option<string?>("--server") { Description = "Server address (else DRW_SERVER, 'server =' in ~/.config/drw/config, http://127.0.0.1:5080).", Recursive = true };
        var apiKey = new Option<string?>("--api-key") { Description = "API key (else DRW_API_KEY, 'api-key =' or 'api-key-file =' in ~/.config/drw/config, the api-key file in DRW_DATA_DIR).", Recursive = true };
        var json = new Option<bool>("--json") { Description = "Print the server's JSON instead of a table.", Recursive = true };
        var root = new RootCommand("drw: DrWorkflows from the command line (runs, approvals, incidents).");
        root.Options.Add(server);
        root.Options.Add(apiKey);
        root.Options.Add(json);

        DrwClient Client(ParseResult parse)
        {
            var settings = CliSettings.Resolve(parse.GetValue(server), parse.GetValue(apiKey), environment ?? Environment.GetEnvironmentVariable);
            return new DrwClient((clientFactory ?? DrwClient.Create)(settings.Server, settings.ApiKey), settings);
        }

        void Print(ParseResult parse, JsonNode? body, Action<JsonNode?> table)
        {
            if (parse.GetValue(json))
                output.WriteLine(body?.ToJsonString(Pretty) ?? "null");
            else
                table(body);
        }

        root.Subcommands.Add(RunCommands.Run(Client, Print, parse => parse.GetValue(json), output));
        root.Subcommands.Add(StatusCommand.Create(Client, Print, output, TimeProvider.System));

        // drw runs [--status Running] [--definition id]
        var runs = new Command("runs", "List runs, newest first.");
        var status = new Option<string?>("--status") { Description = "Running or Finished." };
        var sub = new Option<string?>("--sub-status") { Description = "Pending, Executing, Suspended, Finished, Cancelled or Faulted." };
        var definition = new Option<string?>("--definition") { Description = "Only runs of this definition id." };
        runs.Options.Add(status);
        runs.Options.Add(sub);
        runs.Options.Add(definition);
        runs.SetAction(async (parse, ct) =>
        {
            var body = new JsonObject { ["status"] = parse.GetValue(status), ["subStatus"] = parse.GetValue(sub), ["definitionId"] = parse.GetValue(definition), ["pageSize"] = 50 };
            var result = await Client(parse).PostAsync("/elsa/api/workflow-instances", body, ct);
            Print(parse, result, r => Table(output, r?["items"] as JsonArray, ("ID", "id"), ("WORKFLOW", "definitionId"), ("STATUS", "subStatus"), ("INCIDENTS", "incidentCount"), ("UPDATED", "updatedAt")));
        });
        runs.Subcommands.Add(RunCommands.Show(Client, Print, output));
        root.Subcommands.Add(runs);

        // drw journal <instanceId>
        var journal = new Command("journal", "Show a run's journal (every step, with times, attempts and who resumed it), and count the attempts a crash cut short.");
        var instanceArg = new Argument<string>("instanceId");
        journal.Arguments.Add(instanceArg);
        journal.SetAction(async (parse, ct) =>
        {
            var result = await Client(parse).GetAsync($"/elsa/api/workflow-instances/{Uri.EscapeDataString(parse.GetValue(instanceArg)!)}/journal?take=5000", ct);
            Print(parse, result, r =>
            {
                var items = r?["items"] as JsonArray;
                Table(output, items, ("#", "sequence"), ("TIME (UTC)", "timestamp"), ("EVENT", "eventName"), ("ACTIVITY", "activityId"), ("ATTEMPT", "attempt"), ("OUTCOMES", "outcomes"), ("BY", "actor"), ("MESSAGE", "message"));
                output.WriteLine(JournalSummary(items));
            });
        });
        root.Subcommands.Add(journal);

        root.Subcommands.Add(ResourcesCommand(Client, Print, output));
        root.Subcommands.Add(JanitorCommand(Client, Print, output));

        // drw cancel <instanceId>
        var cancel = new Command("cancel", "Cancel a run (everything it waits for is dropped).");
        var cancelArg = new Argument<string>("instanceId");
        cancel.Arguments.Add(cancelArg);
        cancel.SetAction(async (parse, ct) =>
        {
            var result = await Client(parse).PostAsync($"/elsa/api/cancel/workflow-instances/{Uri.EscapeDataString(parse.GetValue(cancelArg)!)}", null, ct);
            Print(parse, result, r => output.WriteLine($"run {r?["id"]}: {r?["status"]}/{r?["subStatus"]}"));
        });
        root.Subcommands.Add(cancel);

        // drw objectives: exit code 1 when a promise of the objectives table cannot hold.
        var objectives = new Command("objectives", "The recovery objectives checked: can each RPO and RTO hold by design, is it held now. Exit code 1 when one cannot hold.");
        objectives.SetAction(async (parse, ct) =>
        {
            var result = await Client(parse).GetAsync("/api/objectives", ct);
            var items = result?["items"] as JsonArray ?? [];
            var broken = items.Count(i => i?["canHold"]?.GetValue<bool>() == false);
            Print(parse, result, _ =>
            {
                static string YesNo(JsonNode? value) => value is null ? "unknown" : value.GetValue<bool>() ? "yes" : "NO";
                var rows = new JsonArray([.. items.Select(i => (JsonNode?)new JsonObject
                {
                    ["component"] = i?["component"]?.ToString(),
                    ["objective"] = i?["objective"]?.ToString(),
                    ["target"] = i?["target"]?.ToString(),
                    ["canHold"] = YesNo(i?["canHold"]),
                    ["isHeldNow"] = YesNo(i?["isHeldNow"]),
                })]);
                Table(output, rows, ("COMPONENT", "component"), ("OBJECTIVE", "objective"), ("TARGET", "target"), ("CAN HOLD", "canHold"), ("HELD NOW", "isHeldNow"));
                output.WriteLine();
                foreach (var item in items)
                    output.WriteLine($"{item?["component"]} {item?["objective"]}: {item?["reason"]}");
                output.WriteLine(broken > 0 ? $"{broken} of {items.Count} promises cannot hold." : $"All {items.Count} promises can hold.");
            });
            return broken > 0 ? 1 : 0;
        });
        root.Subcommands.Add(objectives);

        root.Subcommands.Add(IncidentsCommand(Client, Print, output));
        root.Subcommands.Add(ApprovalsCommand(Client, Print, output));
        root.Subcommands.Add(SetupCommands.Doctor(Client, Print, output));
        root.Subcommands.Add(SetupCommands.Preflight(Client, Print, output, ParseObject));
        root.Subcommands.Add(ValidateCommand.Create(output, json));
        root.Subcommands.Add(LayoutCommand.Create(output));
        root.Subcommands.Add(GitOpsCommand.Create(Client, Print, output, Table));
        root.Subcommands.Add(AuditCommand.Create(Client, Print, output));

        try
        {
            var parsed = root.Parse(args);
            return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false }, cancellationToken);
        }
        catch (CliException e)
        {
            await error.WriteLineAsync($"drw: {e.Message}");
            return e.ExitCode;
        }
    }

    private static Command IncidentsCommand(Func<ParseResult, DrwClient> client, Action<ParseResult, JsonNode?, Action<JsonNode?>> print, TextWriter output)
    {
        var incidents = new Command("incidents", "Runs stopped on a fault or an interrupted unsafe step.");
        var list = new Command("list", "List open incidents.");
        list.SetAction(async (parse, ct) =>
        {
            var result = await client(parse).GetAsync("/api/incidents", ct);
            print(parse, result, r => Table(output, r?["items"] as JsonArray, ("RUN", "workflowInstanceId"), ("INCIDENT", "id"), ("ACTIVITY", "activityId"), ("KIND", "kind"), ("MESSAGE", "message")));
        });
        incidents.Subcommands.Add(list);
        foreach (var action in new[] { "retry", "skip", "fail", "acknowledge" })
        {
            var command = new Command(action, action == "acknowledge"
                ? "Acknowledge an incident that the workflow's Fault or Continue strategy already acted on (the run ended or carried on)."
                : $"{char.ToUpperInvariant(action[0])}{action[1..]} the activity of an incident.");
            var run = new Argument<string>("instanceId");
            var incident = new Argument<string>("incidentId");
            var outcome = new Option<string?>("--outcome") { Description = "For skip: the outcome port to continue on (default Done)." };
            command.Arguments.Add(run);
            command.Arguments.Add(incident);
            command.Options.Add(outcome);
            command.SetAction(async (parse, ct) =>
            {
                var result = await client(parse).PostAsync($"/api/workflow-instances/{Uri.EscapeDataString(parse.GetValue(run)!)}/incidents/{Uri.EscapeDataString(parse.GetValue(incident)!)}/{action}", new JsonObject { ["outcome"] = parse.GetValue(outcome) }, ct);
                print(parse, result, r => output.WriteLine($"run {r?["workflowInstanceId"]}: {r?["status"]}/{r?["subStatus"]}"));
            });
            incidents.Subcommands.Add(command);
        }

        return incidents;
    }

    private static Command ApprovalsCommand(Func<ParseResult, DrwClient> client, Action<ParseResult, JsonNode?, Action<JsonNode?>> print, TextWriter output)
    {
        var approvals = new Command("approvals", "Approval gates: list them, approve or reject.");
        var list = new Command("list", "List approvals waiting for a decision.");
        var all = new Option<bool>("--all") { Description = "Include decided ones." };
        list.Options.Add(all);
        list.SetAction(async (parse, ct) =>
        {
            var result = await client(parse).GetAsync(parse.GetValue(all) ? "/api/approvals" : "/api/approvals?status=pending", ct);
            print(parse, result, r => Table(output, r?["items"] as JsonArray, ("ID", "id"), ("TITLE", "title"), ("STATUS", "status"), ("RUN", "workflowInstanceId"), ("CREATED", "createdAt")));
        });
        approvals.Subcommands.Add(list);
        foreach (var decision in new[] { "approve", "reject" })
        {
            var command = new Command(decision, $"{char.ToUpperInvariant(decision[0])}{decision[1..]} an approval gate (needs the approver role).");
            var id = new Argument<string>("approvalId");
            var comment = new Option<string?>("--comment") { Description = "Why (kept in the audit trail)." };
            var option = new Option<string?>("--option") { Description = "The option chosen, e.g. the restore point (default: the gate's default option)." };
            var confirm = new Option<string?>("--confirm") { Description = "The phrase an option needs typed to be chosen (e.g. an unverified backup)." };
            command.Arguments.Add(id);
            command.Options.Add(comment);
            command.Options.Add(option);
            command.Options.Add(confirm);
            command.SetAction(async (parse, ct) =>
            {
                var result = await client(parse).PostAsync($"/api/approvals/{Uri.EscapeDataString(parse.GetValue(id)!)}/{decision}",
                    new JsonObject { ["comment"] = parse.GetValue(comment), ["option"] = parse.GetValue(option), ["confirmation"] = parse.GetValue(confirm), ["channel"] = "cli" }, ct);
                print(parse, result, r => output.WriteLine(r?["status"] is { } s ? $"approval {parse.GetValue(id)}: {s}" : $"approval {parse.GetValue(id)}: {decision}d"));
            });
            approvals.Subcommands.Add(command);
        }

        return approvals;
    }

    /// <summary>One line under the journal: how many entries, and the attempts a crash cut short (each an Interrupted entry).</summary>
    private static string JournalSummary(JsonArray? items)
    {
        var entries = items?.Count ?? 0;
        var interrupted = items?.Where(i => i?["eventName"]?.ToString() == "Interrupted").ToList() ?? [];
        if (interrupted.Count == 0)
            return $"{entries} entries; no interrupted attempts.";
        var steps = string.Join(", ", interrupted.Select(i => $"{i?["activityId"]} attempt {i?["attempt"]} at {i?["timestamp"]}"));
        return $"{entries} entries; {interrupted.Count} interrupted attempt(s), cut short by a crash or a killed node: {steps}.";
    }

    private static Command ResourcesCommand(Func<ParseResult, DrwClient> client, Action<ParseResult, JsonNode?, Action<JsonNode?>> print, TextWriter output)
    {
        var resources = new Command("resources", "Throwaway resources (databases, containers, volumes, temp files) a run's steps created for themselves, and what became of them; without a run, every one in the ledger.");
        var run = new Argument<string?>("instanceId") { Description = "The run (default: all runs).", Arity = ArgumentArity.ZeroOrOne };
        var state = new Option<string?>("--state") { Description = "Live, Released or Removed (without a run)." };
        resources.Arguments.Add(run);
        resources.Options.Add(state);
        resources.SetAction(async (parse, ct) =>
        {
            var id = parse.GetValue(run);
            var path = id is null
                ? $"/api/throwaway-resources{(parse.GetValue(state) is { Length: > 0 } s ? $"?state={Uri.EscapeDataString(s)}" : string.Empty)}"
                : $"/api/workflow-instances/{Uri.EscapeDataString(id)}/resources";
            var result = await client(parse).GetAsync(path, ct);
            print(parse, result, r =>
            {
                Table(output, r?["items"] as JsonArray, ("KIND", "kind"), ("NAME", "name"), ("WHERE", "location"), ("STEP", "activityId"), ("ATTEMPT", "attempt"), ("STATE", "state"), ("ENDED BY", "endedBy"), ("REASON / LAST ERROR", "reason"));
                if (id is not null)
                    output.WriteLine($"{r?["count"]} resource(s): {r?["released"]} removed by their step, {r?["removedByJanitor"]} by the janitor, {r?["live"]} still live.");
            });
        });

        return resources;
    }

    private static Command JanitorCommand(Func<ParseResult, DrwClient> client, Action<ParseResult, JsonNode?, Action<JsonNode?>> print, TextWriter output)
    {
        var janitor = new Command("janitor", "Run one janitor pass now (operator): remove what ended, failed or interrupted steps left behind.");
        janitor.SetAction(async (parse, ct) =>
        {
            var result = await client(parse).PostAsync("/api/throwaway-resources/janitor", null, ct);
            print(parse, result, r =>
            {
                Table(output, r?["removed"] as JsonArray, ("REMOVED", "kind"), ("NAME", "name"), ("RUN", "workflowInstanceId"), ("REASON", "reason"));
                foreach (var failure in (r?["failed"] as JsonArray) ?? [])
                    output.WriteLine($"NOT REMOVED: {failure?["resource"]?["kind"]} {failure?["resource"]?["name"]}: {failure?["error"]}");
                output.WriteLine($"{r?["examined"]} live resource(s) examined, {(r?["removed"] as JsonArray)?.Count ?? 0} removed, {(r?["failed"] as JsonArray)?.Count ?? 0} not removed, {r?["stillOwned"]} still owned by live steps.");
            });
        });
        return janitor;
    }

    internal static JsonObject? ParseObject(string? text, string option)
    {
        if (string.IsNullOrWhiteSpace(text))
            return null;
        try
        {
            return JsonNode.Parse(text) as JsonObject ?? throw new CliException($"{option} must be a JSON object, e.g. '{{\"Reason\":\"disk full\"}}'.");
        }
        catch (JsonException e)
        {
            throw new CliException($"{option} is not valid JSON: {e.Message}");
        }
    }

    internal static void Table(TextWriter output, JsonArray? rows, params (string Header, string Field)[] columns)
    {
        if (rows is null || rows.Count == 0)
        {
            output.WriteLine("(none)");
            return;
        }

        var cells = rows.Select(r => columns.Select(c => Cell(r?[c.Field])).ToArray()).ToList();
        var widths = columns.Select((c, i) => Math.Min(60, Math.Max(c.Header.Length, cells.Max(r => r[i].Length)))).ToArray();
        output.WriteLine(string.Join("  ", columns.Select((c, i) => c.Header.PadRight(widths[i]))).TrimEnd());
        foreach (var row in cells)
            output.WriteLine(string.Join("  ", row.Select((v, i) => (v.Length > widths[i] ? v[..(widths[i] - 1)] + "…" : v).PadRight(widths[i]))).TrimEnd());
    }

    private static string Cell(JsonNode? node) => node switch
    {
        null => "",
        JsonArray array => string.Join(",", array.Select(a => a?.ToString())),
        _ => node.ToString(),
    };
}
