using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Server.Tests.Approvals;
using DrWorkflows.Server.Tests.Operations;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Server.Tests.Telemetry;

/// <summary>deploy/monitoring: the alert rules pass promtool's own unit tests, and every metric they and the dashboard use is one the real server exposes.</summary>
public sealed partial class MonitoringFilesTests
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "repo-monitoring");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_alert_rules_pass_promtool_check_and_their_unit_tests()
    {
        var promtool = new[] { "/usr/bin/promtool", "/usr/local/bin/promtool" }.FirstOrDefault(File.Exists);
        if (promtool is null)
        {
            const string reason = "promtool not available (apt-get install prometheus; tests/run.sh installs it)";
            if (TestServices.Strict)
                Assert.Fail(reason);
            Assert.Skip(reason);
        }

        var (checkExit, checkOutput) = await RunAsync(promtool, "check", "rules", "alerts.yml");
        Assert.True(checkExit == 0, checkOutput);
        Assert.Contains("SUCCESS: 9 rules found", checkOutput, StringComparison.Ordinal);
        var (testExit, testOutput) = await RunAsync(promtool, "test", "rules", "alerts.test.yml");
        Assert.True(testExit == 0, testOutput);
        Assert.Contains("SUCCESS", testOutput, StringComparison.Ordinal);
        var (configExit, configOutput) = await RunAsync(promtool, "check", "config", "--syntax-only", "prometheus.yml");
        Assert.True(configExit == 0, configOutput);
    }

    [Fact]
    public async Task Every_metric_the_rules_and_the_dashboard_use_is_exposed_by_the_server()
    {
        await using var server = new ApprovalServerFactory(settings: new Dictionary<string, string> { ["DrWorkflows:Metrics:MinRefreshSeconds"] = "1" });
        await server.StartGateAsync();
        var definitions = server.Services.GetRequiredService<WorkflowDefinitionService>();
        var broken = await definitions.SaveAsync(WorkflowDefinitionDocument.Parse("""
            { "definitionId": "monitoring-fault", "name": "Monitoring fault",
              "root": { "type": "Elsa.Fault", "version": 1, "id": "boom", "message": { "typeName": "String", "expression": { "type": "Literal", "value": "disk full" } } } }
            """), publish: true, "api", isReadonly: false, Ct);
        await server.Runtime.StartAsync(new StartRunRequest(broken.DefinitionId), Ct);
        var hello = await definitions.SaveAsync(WorkflowDefinitionDocument.Parse("""
            { "definitionId": "monitoring-hello", "name": "Monitoring hello",
              "root": { "type": "Elsa.WriteLine", "version": 1, "id": "say", "text": { "typeName": "String", "expression": { "type": "Literal", "value": "hello" } } } }
            """), publish: true, "api", isReadonly: false, Ct);
        await server.Runtime.StartAsync(new StartRunRequest(hello.DefinitionId), Ct);
        await ObjectivesApiTests.WriteSetAsync(server.Services.GetRequiredService<IBackupCatalog>(), "ecommerce_db", DateTimeOffset.UtcNow.AddHours(-1), TimeSpan.FromMinutes(1), restoreSeconds: 60, succeeded: false);
        await ObjectivesApiTests.WriteSetAsync(server.Services.GetRequiredService<IBackupCatalog>(), "ai_db", DateTimeOffset.UtcNow.AddHours(-2), TimeSpan.FromMinutes(1), restoreSeconds: 60);

        var scrape = await MetricsTests.ScrapeAsync(server.Client(ApprovalServerFactory.ViewerKey));

        var exposed = scrape.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => MetricName().Match(l).Value).ToHashSet(StringComparer.Ordinal);
        var rules = await File.ReadAllTextAsync(Path.Combine(Folder, "alerts.yml"), Ct);
        var dashboard = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Folder, "grafana-dashboard.json"), Ct))!;
        var queries = dashboard["panels"]!.AsArray().SelectMany(p => p!["targets"]!.AsArray()).Select(t => t!["expr"]!.GetValue<string>()).ToList();
        Assert.NotEmpty(queries);
        var used = MetricName().Matches(rules + "\n" + string.Join("\n", queries)).Select(m => m.Value).Where(n => n.StartsWith("drw_", StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
        Assert.True(used.Count >= 15, string.Join(", ", used));
        var missing = used.Except(exposed).Order(StringComparer.Ordinal).ToList();
        Assert.True(missing.Count == 0, $"Used by deploy/monitoring but not exposed: {string.Join(", ", missing)}");
    }

    private static async Task<(int Exit, string Output)> RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = Folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(Ct);
        var error = process.StandardError.ReadToEndAsync(Ct);
        await process.WaitForExitAsync(Ct);
        return (process.ExitCode, await output + await error);
    }

    [GeneratedRegex("[a-zA-Z_:][a-zA-Z0-9_:]*")]
    private static partial Regex MetricName();
}
