using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;

namespace DrWorkflows.Cli;

/// <summary>
/// <c>drw status</c>: is the orchestrator healthy, what runs, which gates wait, how old the backups are and what a
/// restore now would lose per data store, which incidents are open. Exit code 1 when something needs on-call: an open
/// incident, a store over its RPO or without a verified backup or unreadable, a failed verification, a gate past its
/// deadline.
/// </summary>
internal static class StatusCommand
{
    public static Command Create(Func<ParseResult, DrwClient> client, Action<ParseResult, JsonNode?, Action<JsonNode?>> print, TextWriter output, TimeProvider clock)
    {
        var status = new Command("status", "Health, running runs, pending approvals, backup age and exposure per data store, open incidents. Exit code 1 when something needs attention.");
        status.SetAction(async (parse, ct) =>
        {
            var api = client(parse);
            var health = await api.GetAsync("/health", ct);
            var running = await api.PostAsync("/elsa/api/workflow-instances", new JsonObject { ["status"] = "Running", ["pageSize"] = 100 }, ct);
            var approvals = await api.GetAsync("/api/approvals?status=pending", ct);
            var backups = await api.GetAsync("/api/backups/freshness", ct);
            var incidents = await api.GetAsync("/api/incidents", ct);
            var now = clock.GetUtcNow();

            var attention = new List<string>();
            var incidentItems = incidents?["items"] as JsonArray ?? [];
            if (incidentItems.Count > 0)
                attention.Add($"{incidentItems.Count} open incident(s): drw incidents list");
            foreach (var row in (backups?["items"] as JsonArray ?? []).OfType<JsonNode>())
            {
                var where = $"{row["component"]} in store {row["store"]}";
                if (row["unreadable"] is { } why)
                    attention.Add($"{where}: the store cannot be read ({why})");
                else if (row["exposureSeconds"] is null)
                    attention.Add($"{where}: no verified backup");
                else if (row["withinRpo"]?.GetValue<bool>() == false)
                    attention.Add($"{where}: the newest verified backup is {Age(row["exposureSeconds"])} old, over the RPO of {Age(row["rpoSeconds"])}");
                if (row["lastVerificationSucceeded"]?.GetValue<bool>() == false)
                    attention.Add($"{where}: the latest verification FAILED");
            }

            var exposure = backups?["exposure"] as JsonArray ?? [];
            foreach (var row in exposure.OfType<JsonNode>())
            {
                if (row["failing"]?.GetValue<bool>() == true || (row["via"]?.ToString() == "wal-archive" && row["problem"] is not null))
                    attention.Add($"{row["component"]}: WAL archiving: {row["problem"]}");
            }

            foreach (var gate in (approvals?["items"] as JsonArray ?? []).OfType<JsonNode>())
            {
                if (gate["deadline"]?.GetValue<DateTimeOffset>() is { } deadline && deadline < now)
                    attention.Add($"approval {gate["approvalId"]} is pending {Age((now - deadline).TotalSeconds)} past its deadline");
            }

            var model = new JsonObject
            {
                ["server"] = health?["status"]?.ToString(),
                ["runningRuns"] = running?["items"]?.DeepClone(),
                ["pendingApprovals"] = approvals?["items"]?.DeepClone(),
                ["backups"] = backups?["items"]?.DeepClone(),
                ["exposure"] = exposure.DeepClone(),
                ["openIncidents"] = incidents?["items"]?.DeepClone(),
                ["attention"] = new JsonArray([.. attention.Select(a => (JsonNode?)a)]),
            };
            print(parse, model, _ =>
            {
                output.WriteLine($"server: {model["server"]}");
                output.WriteLine();
                output.WriteLine("RUNNING RUNS");
                CliApp.Table(output, running?["items"] as JsonArray, ("ID", "id"), ("WORKFLOW", "definitionId"), ("STATUS", "subStatus"), ("INCIDENTS", "incidentCount"), ("UPDATED", "updatedAt"));
                output.WriteLine();
                output.WriteLine("PENDING APPROVALS");
                var gates = new JsonArray([.. (approvals?["items"] as JsonArray ?? []).OfType<JsonNode>().Select(g => (JsonNode?)new JsonObject
                {
                    ["id"] = g["approvalId"]?.ToString(),
                    ["title"] = g["title"]?.ToString(),
                    ["waiting"] = g["createdAt"]?.GetValue<DateTimeOffset>() is { } created ? Age((now - created).TotalSeconds) : "",
                    ["deadline"] = g["deadline"]?.ToString(),
                })]);
                CliApp.Table(output, gates, ("ID", "id"), ("TITLE", "title"), ("WAITING", "waiting"), ("DEADLINE", "deadline"));
                output.WriteLine();
                output.WriteLine("BACKUPS (exposure: age of the newest verified backup, what a restore now would lose)");
                var rows = new JsonArray([.. (backups?["items"] as JsonArray ?? []).OfType<JsonNode>().Select(r => (JsonNode?)new JsonObject
                {
                    ["component"] = r["component"]?.ToString(),
                    ["store"] = r["store"]?.ToString(),
                    ["newest"] = r["unreadable"] is null ? Age(r["newestAgeSeconds"]) : "unreadable",
                    ["exposure"] = r["unreadable"] is null ? Age(r["exposureSeconds"]) : "unknown",
                    ["rpo"] = Age(r["rpoSeconds"]),
                    ["held"] = r["withinRpo"] is { } held ? held.GetValue<bool>() ? "yes" : "NO" : "unknown",
                    ["verification"] = r["lastVerificationSucceeded"] is { } ok ? ok.GetValue<bool>() ? "ok" : "FAILED" : "never",
                })]);
                CliApp.Table(output, rows, ("COMPONENT", "component"), ("STORE", "store"), ("NEWEST", "newest"), ("EXPOSURE", "exposure"), ("RPO", "rpo"), ("WITHIN RPO", "held"), ("LAST VERIFICATION", "verification"));
                output.WriteLine();
                output.WriteLine("RPO EXPOSURE (what a restore now would lose: since the last archived WAL, or since the newest verified backup without archiving)");
                var exposureRows = new JsonArray([.. exposure.OfType<JsonNode>().Select(r => (JsonNode?)new JsonObject
                {
                    ["component"] = r["component"]?.ToString(),
                    ["via"] = r["via"]?.ToString(),
                    ["exposure"] = r["exposureSeconds"] is { } seconds ? Seconds(seconds.GetValue<double>()) : "unknown",
                    ["rpo"] = Age(r["rpoSeconds"]),
                    ["held"] = r["withinRpo"] is { } held ? held.GetValue<bool>() ? "yes" : "NO" : "unknown",
                    ["problem"] = r["problem"]?.ToString() ?? "",
                })]);
                CliApp.Table(output, exposureRows, ("COMPONENT", "component"), ("VIA", "via"), ("EXPOSURE", "exposure"), ("RPO", "rpo"), ("WITHIN RPO", "held"), ("PROBLEM", "problem"));
                output.WriteLine();
                output.WriteLine("OPEN INCIDENTS");
                CliApp.Table(output, incidentItems, ("RUN", "workflowInstanceId"), ("INCIDENT", "id"), ("WORKFLOW", "definitionId"), ("ACTIVITY", "activityId"), ("MESSAGE", "message"));
                output.WriteLine();
                if (attention.Count == 0)
                {
                    output.WriteLine("Nothing needs attention.");
                }
                else
                {
                    output.WriteLine($"{attention.Count} thing(s) need attention:");
                    foreach (var line in attention)
                        output.WriteLine($"  - {line}");
                }
            });
            return attention.Count > 0 ? ExitCodes.NeedsAttention : ExitCodes.Ok;
        });
        return status;
    }

    /// <summary>Exposure in seconds below two minutes (WAL archiving is measured in seconds), else as <see cref="Age(double)"/>.</summary>
    private static string Seconds(double seconds) => seconds < 120 ? $"{seconds.ToString("0", CultureInfo.InvariantCulture)} s" : Age(seconds);

    private static string Age(JsonNode? seconds) => seconds is null ? "none" : Age(seconds.GetValue<double>());

    private static string Age(double seconds) => seconds switch
    {
        < 3600 => $"{(int)(seconds / 60)} min",
        < 48 * 3600 => $"{(int)(seconds / 3600)} h {(int)(seconds % 3600 / 60):00} min",
        _ => $"{(seconds / 86400).ToString("0.0", CultureInfo.InvariantCulture)} d",
    };
}
