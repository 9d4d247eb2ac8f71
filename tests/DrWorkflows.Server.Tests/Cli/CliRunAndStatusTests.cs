using System.Text.Json.Nodes;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Server.Tests.Operations;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Server.Tests.Cli;

/// <summary><c>drw run --wait</c>, <c>drw runs show</c>, <c>drw status</c>, the config file and the exit codes, against the real server.</summary>
public sealed class CliRunAndStatusTests : IDisposable
{
    private const string TwoSteps = """
    { "definitionId": "cli-two-steps", "name": "CLI two steps",
      "root": { "type": "Elsa.Sequence", "version": 1, "id": "seq", "activities": [
        { "type": "Elsa.WriteLine", "version": 1, "id": "first", "text": { "typeName": "String", "expression": { "type": "Literal", "value": "one" } } },
        { "type": "Elsa.WriteLine", "version": 1, "id": "second", "text": { "typeName": "String", "expression": { "type": "Literal", "value": "two" } } } ] } }
    """;

    private const string Broken = """
    { "definitionId": "cli-run-fault", "name": "CLI run fault",
      "root": { "type": "Elsa.Sequence", "version": 1, "id": "seq", "activities": [
        { "type": "Elsa.WriteLine", "version": 1, "id": "before", "text": { "typeName": "String", "expression": { "type": "Literal", "value": "before" } } },
        { "type": "Elsa.Fault", "version": 1, "id": "boom", "message": { "typeName": "String", "expression": { "type": "Literal", "value": "disk full" } } } ] } }
    """;

    private readonly ServerFactory server = new(workflowFiles: new Dictionary<string, string> { ["two.json"] = TwoSteps, ["fault.json"] = Broken });
    private readonly TempDirectory home = new("drw-cli-home");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Run_wait_shows_each_step_and_exits_0_when_the_run_finishes_and_runs_show_prints_the_timeline()
    {
        var (exit, output, error) = await Drw.RunAsync(server, "run", "cli-two-steps", "--wait", "--api-key", ServerFactory.AdminKey);

        Assert.True(exit == 0, output + error);
        Assert.Matches(@"done\s+first \(Elsa\.WriteLine\)", output);
        Assert.Matches(@"done\s+second \(Elsa\.WriteLine\)", output);
        Assert.Contains("Finished/Finished", output, StringComparison.Ordinal);
        var id = System.Text.RegularExpressions.Regex.Match(output, "run ([0-9a-f]{32}) started").Groups[1].Value;

        (exit, output, _) = await Drw.RunAsync(server, "runs", "show", id, "--api-key", ServerFactory.ViewerKey);
        Assert.Equal(0, exit);
        Assert.Contains("START (UTC)  TOOK", output, StringComparison.Ordinal);
        Assert.Matches(@"\d\d:\d\d:\d\d\s+\d+(\.\d)? (ms|s)\s+first\s+Elsa\.WriteLine\s+1\s+Done", output);
        Assert.Contains("2 step(s) over", output, StringComparison.Ordinal);

        (exit, output, _) = await Drw.RunAsync(server, "runs", "show", id, "--json", "--api-key", ServerFactory.ViewerKey);
        Assert.Equal(0, exit);
        var model = JsonNode.Parse(output)!;
        Assert.Equal("finished", model["verdict"]!.GetValue<string>());
        Assert.Equal(["first", "second"], model["steps"]!.AsArray().Select(s => s!["activityId"]!.GetValue<string>()));
        Assert.All(model["steps"]!.AsArray(), s => Assert.True(s!["durationMs"]!.GetValue<long>() >= 0));
    }

    [Fact]
    public async Task Run_exits_5_when_the_run_stops_at_an_incident_with_and_without_wait()
    {
        var (exit, output, _) = await Drw.RunAsync(server, "run", "cli-run-fault", "--wait", "--api-key", ServerFactory.AdminKey);
        Assert.Equal(5, exit);
        Assert.Matches(@"done\s+before", output);
        Assert.Matches(@"INCIDENT boom .*disk full", output);
        Assert.Contains("Running/Faulted; stopped at 1 open incident(s): drw incidents list", output, StringComparison.Ordinal);

        (exit, output, _) = await Drw.RunAsync(server, "run", "cli-run-fault", "--json", "--api-key", ServerFactory.AdminKey);
        Assert.Equal(5, exit);
        Assert.Equal("Faulted", JsonNode.Parse(output)!["workflowState"]!["subStatus"]!.GetValue<string>());
    }

    [Fact]
    public async Task Status_shows_backups_per_store_runs_and_incidents_and_exits_1_while_something_needs_attention()
    {
        var catalog = server.Services.GetRequiredService<IBackupCatalog>();
        await ObjectivesApiTests.WriteSetAsync(catalog, "ecommerce_db", DateTimeOffset.UtcNow.AddMinutes(-5), TimeSpan.FromMinutes(1), restoreSeconds: 30);
        Assert.Equal(5, (await Drw.RunAsync(server, "run", "cli-run-fault", "--api-key", ServerFactory.AdminKey)).Exit);

        var (exit, output, error) = await Drw.RunAsync(server, "status", "--api-key", ServerFactory.ViewerKey);

        Assert.True(exit == 1, output + error);
        Assert.StartsWith("server: ok", output, StringComparison.Ordinal);
        Assert.Matches(@"postgres-main\s+local\s+5 min\s+5 min\s+15 min\s+yes\s+ok", output);
        Assert.Matches(@"redis\s+local\s+none\s+none\s+1 h 00 min\s+NO\s+never", output);
        Assert.Contains("redis in store local: no verified backup", output, StringComparison.Ordinal);
        // The RPO exposure per database: without WAL archiving configured, since the newest verified dump.
        Assert.Matches(@"postgres-main\s+verified-backup\s+5 min\s+15 min\s+yes", output);
        Assert.Matches(@"redis\s+verified-backup\s+unknown\s+1 h 00 min\s+NO\s+no verified backup in any store", output);
        Assert.Contains("1 open incident(s): drw incidents list", output, StringComparison.Ordinal);
        Assert.Matches(@"cli-run-fault\s+Faulted", output);

        (exit, output, _) = await Drw.RunAsync(server, "status", "--json", "--api-key", ServerFactory.ViewerKey);
        Assert.Equal(1, exit);
        var model = JsonNode.Parse(output)!;
        var main = model["backups"]!.AsArray().Single(b => b!["component"]!.GetValue<string>() == "postgres-main")!;
        Assert.True(main["withinRpo"]!.GetValue<bool>());
        Assert.InRange(main["exposureSeconds"]!.GetValue<double>(), 4 * 60, 15 * 60);
        var exposure = model["exposure"]!.AsArray().Single(b => b!["component"]!.GetValue<string>() == "postgres-main")!;
        Assert.Equal("verified-backup", exposure["via"]!.GetValue<string>());
        Assert.InRange(exposure["exposureSeconds"]!.GetValue<double>(), 4 * 60, 15 * 60);
        Assert.True(exposure["withinRpo"]!.GetValue<bool>());
        Assert.Single(model["openIncidents"]!.AsArray());
    }

    [Fact]
    public async Task The_key_comes_from_the_config_file_and_a_missing_key_names_every_place_looked()
    {
        var config = home.Combine("drw", "config");
        Directory.CreateDirectory(Path.GetDirectoryName(config)!);
        await File.WriteAllTextAsync(home.Combine("viewer.key"), ServerFactory.ViewerKey + "\n", Ct);
        await File.WriteAllTextAsync(config, $"# drw\nserver = http://127.0.0.1:5080\napi-key-file = {home.Combine("viewer.key")}\n", Ct);
        var environment = new Dictionary<string, string> { ["XDG_CONFIG_HOME"] = home.FullPath, ["DRW_DATA_DIR"] = home.Combine("no-data") };

        var (exit, output, error) = await Drw.RunAsync(server, environment, "runs");
        Assert.True(exit == 0, error);
        Assert.Equal("(none)", output.Trim());

        File.Delete(config);
        (exit, _, error) = await Drw.RunAsync(server, environment, "runs");
        Assert.Equal(4, exit);
        Assert.Contains("no API key found. Looked in: --api-key; DRW_API_KEY; 'api-key' or 'api-key-file' in " + config + " (no such file); " + home.Combine("no-data", "api-key") + " (no such file)", error, StringComparison.Ordinal);

        (exit, _, error) = await Drw.RunAsync(server, new Dictionary<string, string> { ["DRW_API_KEY"] = "wrong" }, "runs");
        Assert.Equal(4, exit);
        Assert.Contains("refused the API key from DRW_API_KEY", error, StringComparison.Ordinal);

        await File.WriteAllTextAsync(config, "server http://x\n", Ct);
        (exit, _, error) = await Drw.RunAsync(server, environment, "runs");
        Assert.Equal(2, exit);
        Assert.Contains($"{config} line 1: expected 'server = URL'", error, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        server.Dispose();
        home.Dispose();
    }
}
