using System.CommandLine;
using System.Text.Json.Nodes;

namespace DrWorkflows.Cli;

/// <summary><c>drw gitops drift</c>: which definitions run something that is not on the reviewed branch. Exit code 1 on drift.</summary>
internal static class GitOpsCommand
{
    public static Command Create(Func<ParseResult, DrwClient> client, Action<ParseResult, JsonNode?, Action<JsonNode?>> print, TextWriter output, Action<TextWriter, JsonArray?, (string Header, string Field)[]> table)
    {
        var gitops = new Command("gitops", "Workflow changes through reviewed pull requests.");
        var drift = new Command("drift", "List definitions whose running published version differs from the reviewed branch, or that have no file there. Exit code 1 when one does.");
        drift.SetAction(async (parse, ct) =>
        {
            var result = await client(parse).GetAsync("/api/gitops/drift", ct);
            var drifted = result?["drifted"]?.GetValue<int>() ?? 0;
            print(parse, result, r =>
            {
                if (drifted > 0)
                    table(output, new JsonArray([.. (r?["items"] as JsonArray ?? []).Where(i => i?["state"]?.ToString() != "InSync").Select(i => i?.DeepClone())]),
                        [("DEFINITION", "definitionId"), ("STATE", "state"), ("PUBLISHED", "publishedVersion"), ("FILE", "file"), ("REASON", "reason")]);
                var total = (r?["items"] as JsonArray)?.Count ?? 0;
                output.WriteLine(drifted == 0
                    ? $"No drift: {total} definition(s) run what is on {r?["against"]}."
                    : $"{drifted} of {total} definition(s) drift from {r?["against"]}.");
            });
            return drifted > 0 ? 1 : 0;
        });
        gitops.Subcommands.Add(drift);
        return gitops;
    }
}
