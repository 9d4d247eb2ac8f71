using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Hosting;
using DrWorkflows.Core.Model;

namespace DrWorkflows.Cli;

/// <summary>
/// <c>drw validate &lt;files or folders&gt; [--base &lt;git ref&gt;]</c>: the pull-request check of a workflows
/// repository. Checks the files offline with the server's own loader and rules (no server needed), prints each
/// problem as file, activity, problem and fix, and with <c>--base</c> the change summary of each file against that
/// git ref (the same summary a Studio publish puts in its pull request). Exit code 0 when every file is good, 1 when
/// a file has a problem, 2 when the arguments name no workflow file.
/// </summary>
internal static class ValidateCommand
{
    public static Command Create(TextWriter output, Option<bool> json)
    {
        var command = new Command("validate", "Check workflow files offline with the server's own loader (the pull-request check). Exit code 1 when a file has a problem.");
        var paths = new Argument<string[]>("paths") { Description = "Workflow JSON files or folders (searched recursively for *.json).", Arity = ArgumentArity.OneOrMore };
        var baseRef = new Option<string?>("--base") { Description = "A git ref (e.g. origin/main): also print what each file changes against it." };
        command.Arguments.Add(paths);
        command.Options.Add(baseRef);
        command.SetAction(async (parse, ct) =>
        {
            var files = Collect(parse.GetValue(paths) ?? []);
            var validator = new WorkflowValidator(Registry(), [typeof(DrWorkflows.Workflows.WorkflowsAssembly).Assembly], TimeProvider.System);
            var result = await validator.ValidateAsync([.. files.Select(f => new WorkflowFile(f, File.ReadAllText(f)))], ct);
            var summaries = parse.GetValue(baseRef) is { Length: > 0 } reference ? Summaries(result, reference) : [];
            if (parse.GetValue(json))
            {
                var body = new JsonObject
                {
                    ["files"] = files.Count,
                    ["problems"] = new JsonArray([.. result.Problems.Select(p => (JsonNode?)new JsonObject { ["file"] = p.File, ["activityId"] = p.ActivityId, ["problem"] = p.Problem, ["fix"] = p.Fix })]),
                    ["changes"] = new JsonArray([.. summaries.Select(s => (JsonNode?)new JsonObject { ["file"] = s.File, ["summary"] = s.Summary })]),
                };
                output.WriteLine(body.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            }
            else
            {
                foreach (var problem in result.Problems)
                {
                    output.WriteLine($"{problem.File}{(problem.ActivityId is null ? string.Empty : $": activity '{problem.ActivityId}'")}: {problem.Problem}");
                    output.WriteLine($"    fix: {problem.Fix}");
                }

                foreach (var (file, summary) in summaries)
                {
                    output.WriteLine();
                    output.WriteLine($"## {file} against {parse.GetValue(baseRef)}");
                    output.Write(summary);
                }

                output.WriteLine();
                var broken = result.Problems.Select(p => p.File).Distinct(StringComparer.Ordinal).Count();
                output.WriteLine(result.Problems.Count == 0
                    ? $"{files.Count} workflow file(s) checked: all good."
                    : $"{files.Count} workflow file(s) checked: {result.Problems.Count} problem(s) in {broken} file(s).");
            }

            return result.Problems.Count == 0 ? 0 : 1;
        });
        return command;
    }

    /// <summary>The server's activity registry: Elsa's standard activities and DrWorkflows' own.</summary>
    private static ActivityRegistry Registry() =>
        new ActivityRegistry().RegisterAssembly(typeof(ActivityRegistry).Assembly).RegisterAssembly(typeof(DrWorkflows.Activities.ActivitiesAssembly).Assembly);

    private static List<string> Collect(string[] paths)
    {
        var files = new List<string>();
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
            {
                files.AddRange(Directory.EnumerateFiles(path, "*.json", SearchOption.AllDirectories)
                    .Where(f => !Path.GetRelativePath(path, f).Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj" or "node_modules"))
                    .Where(f => !DrWorkflows.Core.Runtime.SourceCommits.IsStamp(Path.GetRelativePath(path, f))) // a published folder's stamp, not a workflow
                    .Order(StringComparer.Ordinal));
            }
            else if (File.Exists(path))
            {
                files.Add(path);
            }
            else
            {
                throw new CliException($"'{path}' is neither a file nor a folder.");
            }
        }

        return files.Count > 0 ? files : throw new CliException($"no workflow file (*.json) in {string.Join(", ", paths)}.");
    }

    /// <summary>For each file that parsed, its change summary against the same path at <paramref name="reference"/>.</summary>
    private static List<(string File, string Summary)> Summaries(WorkflowValidation result, string reference)
    {
        var registry = Registry();
        var summaries = new List<(string, string)>();
        foreach (var (file, document) in result.Documents)
        {
            var before = Git.Show(file, reference) is { } text ? TryParse(text) : null;
            summaries.Add((file, WorkflowChangeSummary.Compare(registry, before, document).ToMarkdown()));
        }

        return summaries;
    }

    private static WorkflowDefinitionDocument? TryParse(string text)
    {
        try
        {
            return WorkflowDefinitionDocument.Parse(text);
        }
        catch (DrWorkflows.Core.WorkflowDefinitionException)
        {
            return null;
        }
    }

    /// <summary>Reads a file as it is at a git ref; null when it does not exist there.</summary>
    private static class Git
    {
        public static string? Show(string file, string reference)
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(file))!;
            var top = Run(directory, "rev-parse", "--show-toplevel")?.Trim()
                ?? throw new CliException($"--base needs a git checkout: {file} is not in one.");
            var relative = Path.GetRelativePath(top, Path.GetFullPath(file)).Replace('\\', '/');
            if (Run(top, "rev-parse", "--verify", "--quiet", $"{reference}^{{commit}}") is null)
                throw new CliException($"--base '{reference}' is not a commit of {top} (fetch it first, e.g. git fetch origin main).");
            return Run(top, "show", $"{reference}:{relative}");
        }

        private static string? Run(string directory, params string[] arguments)
        {
            var start = new ProcessStartInfo("git") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var argument in arguments)
                start.ArgumentList.Add(argument);
            using var process = Process.Start(start) ?? throw new CliException("git could not be started; --base needs git on the PATH.");
            var text = process.StandardOutput.ReadToEnd();
            process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? text : null;
        }
    }
}
