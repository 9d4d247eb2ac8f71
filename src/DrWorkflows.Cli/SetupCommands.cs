using System.CommandLine;
using System.Text.Json.Nodes;

namespace DrWorkflows.Cli;

/// <summary>
/// <c>drw doctor</c>: per workflow, the settings configured and missing (<c>GET /api/setup</c>); exit code 1 when a workflow
/// misses a setting. <c>drw preflight WORKFLOW</c>: what the workflow needs, checked now on the real platform
/// (<c>POST /api/preflight/{id}</c>); exit code 1 when something would block it.
/// </summary>
internal static class SetupCommands
{
    public static Command Doctor(Func<ParseResult, DrwClient> client, Action<ParseResult, JsonNode?, Action<JsonNode?>> print, TextWriter output)
    {
        var doctor = new Command("doctor", "Per workflow: the settings it needs that are configured, and those missing (a scheduled workflow with a missing setting starts no run). Exit code 1 when one is missing.");
        doctor.SetAction(async (parse, ct) =>
        {
            var result = await client(parse).GetAsync("/api/setup", ct);
            var items = (result?["items"] as JsonArray ?? []).OfType<JsonObject>().ToList();
            var notReady = items.Count(i => i["ready"]?.GetValue<bool>() == false);
            print(parse, result, _ =>
            {
                foreach (var item in items)
                {
                    var ready = item["ready"]?.GetValue<bool>() == true;
                    var schedules = Texts(item["schedules"]);
                    output.WriteLine($"{(ready ? "ready  " : "MISSING")}  {item["definitionId"]}{(schedules.Count > 0 ? $" (scheduled: {string.Join(", ", schedules)})" : string.Empty)}");
                    foreach (var text in Texts(item["configured"]))
                        output.WriteLine($"    ok       {text}");
                    foreach (var text in Texts(item["missing"]))
                        output.WriteLine($"    missing  {text}");
                    foreach (var text in Texts(item["optional"]))
                        output.WriteLine($"    warning  {text}");
                }

                output.WriteLine(notReady == 0
                    ? $"All {items.Count} workflows are configured."
                    : $"{notReady} of {items.Count} workflows miss settings (docs/configuration.md); their schedules start no run.");
            });
            return notReady > 0 ? 1 : 0;
        });
        return doctor;
    }

    public static Command Preflight(Func<ParseResult, DrwClient> client, Action<ParseResult, JsonNode?, Action<JsonNode?>> print, TextWriter output, Func<string?, string, JsonObject?> parseObject)
    {
        var preflight = new Command("preflight", "Check now, read-only, on the real platform, everything a workflow needs (settings, containers, volumes, verified backups, database servers, credentials, approvers). Exit code 1 when something would block it.");
        var definition = new Argument<string>("definitionId") { Description = "The workflow's definition id." };
        var input = new Option<string?>("--input") { Description = "The input the run would get, as a JSON object (e.g. your container names)." };
        preflight.Arguments.Add(definition);
        preflight.Options.Add(input);
        preflight.SetAction(async (parse, ct) =>
        {
            var id = parse.GetValue(definition)!;
            var result = await client(parse).PostAsync($"/api/preflight/{Uri.EscapeDataString(id)}", new JsonObject { ["input"] = parseObject(parse.GetValue(input), "--input") }, ct);
            var items = (result?["items"] as JsonArray ?? []).OfType<JsonObject>().ToList();
            var blockers = items.Count(i => i["status"]?.ToString() == "Blocker");
            print(parse, result, _ =>
            {
                foreach (var item in items.OrderBy(i => i["status"]?.ToString() switch { "Blocker" => 0, "Warning" => 1, _ => 2 }))
                {
                    var mark = item["status"]?.ToString() switch { "Blocker" => "BLOCKER", "Warning" => "warning", _ => "ok     " };
                    output.WriteLine($"{mark}  {item["check"],-15}  {item["detail"]}");
                }

                output.WriteLine(blockers == 0
                    ? $"{id}: ready ({items.Count} items checked, nothing blocks it)."
                    : $"{id}: {blockers} blocker(s): fix them before relying on this workflow.");
            });
            return blockers > 0 ? 1 : 0;
        });
        return preflight;
    }

    private static List<string> Texts(JsonNode? node) => (node as JsonArray ?? []).Select(n => n?.ToString() ?? string.Empty).ToList();
}
