using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;

namespace DrWorkflows.Cli;

/// <summary>
/// <c>drw audit --from D [--to D] [--out FILE]</c>: downloads the audit evidence pack of a period (one zip: objectives,
/// drill reports, verifications, approvals with evidence hashes, workflow versions, incidents, journals) and prints
/// what it holds and the SHA-256 of its manifest, which the auditor checks the pack against.
/// </summary>
internal static class AuditCommand
{
    public static Command Create(Func<ParseResult, DrwClient> client, Action<ParseResult, JsonNode?, Action<JsonNode?>> print, TextWriter output)
    {
        var from = new Option<string>("--from") { Description = "Start of the period (ISO 8601, UTC when no offset is given), e.g. 2026-01-01.", Required = true };
        var to = new Option<string?>("--to") { Description = "End of the period (default: now)." };
        var outFile = new Option<string?>("--out", "-o") { Description = "Where to write the zip (default: drworkflows-audit-<from>-<to>.zip in the current folder)." };
        var audit = new Command("audit", "Download the audit evidence pack of a period: one zip an external auditor can read, checked by its SHA-256 manifest.");
        audit.Options.Add(from);
        audit.Options.Add(to);
        audit.Options.Add(outFile);
        audit.SetAction(async (parse, ct) =>
        {
            var start = parse.GetValue(from)!;
            var end = parse.GetValue(to);
            var query = "/api/audit?from=" + Uri.EscapeDataString(start) + (string.IsNullOrWhiteSpace(end) ? string.Empty : "&to=" + Uri.EscapeDataString(end));
            var file = parse.GetValue(outFile) ?? string.Create(CultureInfo.InvariantCulture, $"drworkflows-audit-{Slug(start)}-{(string.IsNullOrWhiteSpace(end) ? "now" : Slug(end))}.zip");
            var headers = await client(parse).DownloadAsync(query, file, ct);
            var manifest = headers.TryGetValues("X-DrWorkflows-Manifest-Sha256", out var m) ? m.FirstOrDefault() : null;
            var counts = headers.TryGetValues("X-DrWorkflows-Audit-Counts", out var c) ? c.FirstOrDefault() : null;
            if (manifest is null)
                throw new CliException($"The server sent a pack without its manifest hash; {file} cannot be checked and should not be handed over.", ExitCodes.NeedsAttention);
            var result = new JsonObject { ["file"] = Path.GetFullPath(file), ["manifestSha256"] = manifest, ["counts"] = counts };
            print(parse, result, _ =>
            {
                output.WriteLine($"Audit pack written to {Path.GetFullPath(file)}");
                output.WriteLine($"  holds: {counts}");
                output.WriteLine($"  SHA-256 of MANIFEST.sha256: {manifest}");
                output.WriteLine("  check it: unzip it, then run 'sha256sum -c MANIFEST.sha256' and 'sha256sum MANIFEST.sha256' in its folder.");
            });
            return ExitCodes.Ok;
        });
        return audit;
    }

    private static string Slug(string text) => string.Concat(text.Where(char.IsAsciiLetterOrDigit));
}
