using System.Diagnostics;
using System.Text.Json.Nodes;
using DrWorkflows.Testing;

namespace DrWorkflows.Server.Tests.Cli;

/// <summary>
/// <c>drw validate</c>, the pull-request check of the workflows repository: offline (no server), the server's own
/// loader and rules, each problem as file, activity and fix, exit code 1 on any problem, and with <c>--base</c>
/// the change summary against a git ref, approval gates and destructive steps first.
/// </summary>
public sealed class ValidateCliTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string RepositoryWorkflows => Path.Combine(AppContext.BaseDirectory, "repo-workflows");

    [Fact]
    public async Task Every_committed_workflow_file_is_good_and_the_exit_code_is_0()
    {
        var count = Directory.GetFiles(RepositoryWorkflows, "*.json").Length;
        Assert.True(count >= 5, $"expected the repository's JSON workflows in {RepositoryWorkflows}");

        var (exit, output, error) = await RunAsync("validate", RepositoryWorkflows);

        Assert.True(exit == 0, $"exit {exit}: {error}\n{output}");
        Assert.Equal($"{count} workflow file(s) checked: all good.", output.Trim());
    }

    [Fact]
    public async Task Broken_files_are_each_reported_with_file_activity_and_fix_and_the_exit_code_is_1()
    {
        using var folder = new TempDirectory("validate");
        var good = Committed("dr-docker-engine-failure.json");

        var typo = Committed("dr-docker-engine-failure.json");
        typo["definitionId"] = "docker-typo";
        Activity(typo, "openIncident")["type"] = "DrWorkflows.OpenIncidnet";
        await File.WriteAllTextAsync(folder.Combine("typo.json"), typo.ToJsonString(), Ct);

        var port = Committed("dr-docker-engine-failure.json");
        port["definitionId"] = "Docker_Port";
        ((JsonArray)port["root"]!["connections"]!).OfType<JsonObject>().First(c => c["source"]!["activity"]!.GetValue<string>() == "checkConfiguration")["source"]!["port"] = "Maybe";
        await File.WriteAllTextAsync(folder.Combine("port.json"), port.ToJsonString(), Ct);

        var gate = Committed("dr-volume-corruption.json");
        gate["definitionId"] = "volume-no-question";
        Activity(gate, "approveReplace").Remove("question");
        await File.WriteAllTextAsync(folder.Combine("gate.json"), gate.ToJsonString(), Ct);

        await File.WriteAllTextAsync(folder.Combine("cut.json"), "{\"definitionId\": \"cut\",\n  \"name\": ", Ct);
        // A published folder's stamp is not a workflow file: not checked, not counted.
        await File.WriteAllTextAsync(folder.Combine(Core.Runtime.SourceCommits.StampFileName), """{ "commit": "0123456789abcdef0123456789abcdef01234567", "files": {}, "notCommitted": {} }""", Ct);

        good["definitionId"] = "dr-host-failover"; // the C# workflow's id
        await File.WriteAllTextAsync(folder.Combine("taken.json"), good.ToJsonString(), Ct);

        var (exit, output, error) = await RunAsync("validate", folder.FullPath);

        Assert.True(exit == 1, $"exit {exit}: {error}\n{output}");
        var text = output.ReplaceLineEndings("\n");
        Assert.Contains($"{folder.Combine("typo.json")}: activity 'openIncident': Activity 'openIncident' has unknown type 'DrWorkflows.OpenIncidnet'. Did you mean 'DrWorkflows.OpenIncident'? The Elsa activities supported here: docs/elsa-compatibility.md, Activities.\n    fix: use a type listed in docs/activities/", text, StringComparison.Ordinal);
        Assert.Contains($"{folder.Combine("port.json")}: definition id 'Docker_Port' is not lower-case words with dashes.\n    fix: rename it", text, StringComparison.Ordinal);
        Assert.Contains($"{folder.Combine("port.json")}: activity 'checkConfiguration': a connection uses port 'Maybe', which DrWorkflows.CheckRecoveryConfiguration does not have.\n    fix: connect one of its ports: Done, or 'Failed' (the abandon port).", text, StringComparison.Ordinal);
        Assert.Contains($"{folder.Combine("gate.json")}: activity 'approveReplace': required input 'question' of DrWorkflows.ApprovalGate is not set.\n    fix: set 'question'", text, StringComparison.Ordinal);
        Assert.Contains($"{folder.Combine("cut.json")}: not valid JSON at line 2", text, StringComparison.Ordinal);
        Assert.Contains($"{folder.Combine("taken.json")}: definition id 'dr-host-failover' is also used by the C# workflow DrWorkflows.Workflows.", text, StringComparison.Ordinal);
        Assert.EndsWith("5 workflow file(s) checked: 6 problem(s) in 5 file(s).\n", text, StringComparison.Ordinal);

        // The same problems for a CI step that reads JSON.
        (exit, output, _) = await RunAsync("validate", folder.FullPath, "--json");
        Assert.Equal(1, exit);
        var problems = JsonNode.Parse(output)!["problems"]!.AsArray();
        Assert.Equal(6, problems.Count);
        Assert.All(problems, p => Assert.False(string.IsNullOrWhiteSpace(p!["fix"]!.GetValue<string>())));
    }

    [Fact]
    public async Task With_base_it_prints_what_changed_against_the_git_ref_approval_gates_and_destructive_steps_first()
    {
        using var repository = new TempDirectory("validate-git");
        var file = repository.Combine("workflows", "dr-volume-corruption.json");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        await File.WriteAllTextAsync(file, File.ReadAllText(Path.Combine(RepositoryWorkflows, "dr-volume-corruption.json")), Ct);
        Git(repository.FullPath, "init", "-q", "-b", "main");
        Git(repository.FullPath, "add", ".");
        Git(repository.FullPath, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "base");

        var changed = JsonNode.Parse(await File.ReadAllTextAsync(file, Ct))!.AsObject();
        Activity(changed, "approveReplace")["question"] = new JsonObject { ["typeName"] = "String", ["expression"] = new JsonObject { ["type"] = "Literal", ["value"] = "Replace it?" } };
        Activity(changed, "reportArchived")["text"] = new JsonObject { ["typeName"] = "String", ["expression"] = new JsonObject { ["type"] = "Literal", ["value"] = "archived" } };
        await File.WriteAllTextAsync(file, changed.ToJsonString(), Ct);

        var (exit, output, error) = await RunAsync("validate", repository.Combine("workflows"), "--base", "main");

        Assert.True(exit == 0, $"exit {exit}: {error}\n{output}");
        var lines = output.ReplaceLineEndings("\n").Split('\n').ToList();
        var header = lines.IndexOf($"## {file} against main");
        Assert.True(header >= 0, output);
        Assert.Equal("**Approval gates and destructive steps**", lines[header + 1]);
        Assert.Equal("- ⚠️ approval gate `approveReplace` (DrWorkflows.ApprovalGate): changed `question`", lines[header + 2]);
        Assert.Equal("**Activities**", lines[header + 3]);
        Assert.Equal("- activity `reportArchived` (DrWorkflows.SendSlackMessage): changed `text`", lines[header + 4]);

        (exit, _, error) = await RunAsync("validate", repository.Combine("workflows"), "--base", "no-such-branch");
        Assert.Equal(2, exit);
        Assert.Contains("--base 'no-such-branch' is not a commit", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_path_that_holds_no_workflow_file_is_a_usage_error_not_a_pass()
    {
        using var empty = new TempDirectory("validate-empty");

        var (exit, _, error) = await RunAsync("validate", empty.FullPath);

        Assert.Equal(2, exit);
        Assert.StartsWith("drw: no workflow file (*.json) in", error, StringComparison.Ordinal);
    }

    private static JsonObject Committed(string name) => JsonNode.Parse(File.ReadAllText(Path.Combine(RepositoryWorkflows, name)))!.AsObject();

    private static JsonObject Activity(JsonObject definition, string id) =>
        ((JsonArray)definition["root"]!["activities"]!).OfType<JsonObject>().Single(a => a["id"]!.GetValue<string>() == id);

    private static async Task<(int Exit, string Out, string Err)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await DrWorkflows.Cli.CliApp.RunAsync(args, output, error, (_, _) => throw new InvalidOperationException("drw validate must not call a server"), Ct);
        return (exit, output.ToString(), error.ToString());
    }

    private static void Git(string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo("git") { WorkingDirectory = directory, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"git {string.Join(' ', arguments)}: {stderr}");
    }
}
