using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Building;

namespace DrWorkflows.Cli;

/// <summary>
/// <c>drw layout &lt;files&gt; [--only-missing]</c>: lays a workflow file's flowchart out top to bottom for the Studio
/// (<see cref="FlowchartLayout"/>) and writes the file back with only the positions changed (same property order,
/// same indentation, so a committed file stays in the committed format). By default every activity moves: a
/// designer asks for it. <c>--only-missing</c> places only activities without a position.
/// </summary>
internal static class LayoutCommand
{
    public static Command Create(TextWriter output)
    {
        var command = new Command("layout", "Lay a workflow file's flowchart out top to bottom for the Studio (only the positions change).");
        var files = new Argument<string[]>("files") { Description = "Workflow JSON files to lay out, rewritten in place.", Arity = ArgumentArity.OneOrMore };
        var onlyMissing = new Option<bool>("--only-missing") { Description = "Place only activities without a position; nothing a designer placed moves." };
        command.Arguments.Add(files);
        command.Options.Add(onlyMissing);
        command.SetAction(parse =>
        {
            var failed = 0;
            foreach (var file in parse.GetValue(files) ?? [])
            {
                try
                {
                    var json = JsonNode.Parse(File.ReadAllText(file)) as JsonObject ?? throw new JsonException("the file is not a JSON object");
                    if (json["root"] is not JsonObject { } root || root["type"]?.GetValue<string>() != "Elsa.Flowchart")
                    {
                        output.WriteLine($"{file}: skipped, its root is not an Elsa.Flowchart (only flowcharts have positions).");
                        continue;
                    }

                    var moved = FlowchartLayout.Apply(root, all: !parse.GetValue(onlyMissing), out var extent);
                    File.WriteAllText(file, json.ToJsonString(DrWorkflows.Core.Serialization.Json.Indented) + "\n");
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{file}: {moved} activities placed; the flowchart is {extent.Width:F0} × {extent.Height:F0} px."));
                }
                catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
                {
                    output.WriteLine($"{file}: not laid out: {e.Message}");
                    failed++;
                }
            }

            return failed == 0 ? 0 : 1;
        });
        return command;
    }
}
