using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Server.Tests.Approvals;
using DrWorkflows.Server.Tests.Operations;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Server.Tests.Telemetry;

/// <summary><c>/metrics</c> on the real server: names and values after real runs, gates, backups and the objectives report.</summary>
public sealed partial class MetricsTests
{
    private const string Hello = """
    { "definitionId": "metrics-hello", "name": "Metrics hello",
      "root": { "type": "Elsa.Sequence", "version": 1, "id": "seq", "activities": [
        { "type": "Elsa.WriteLine", "version": 1, "id": "say", "text": { "typeName": "String", "expression": { "type": "Literal", "value": "hello" } } } ] } }
    """;

    private const string Broken = """
    { "definitionId": "metrics-fault", "name": "Metrics fault",
      "root": { "type": "Elsa.Sequence", "version": 1, "id": "seq", "activities": [
        { "type": "Elsa.Fault", "version": 1, "id": "boom", "message": { "typeName": "String", "expression": { "type": "Literal", "value": "disk full" } } } ] } }
    """;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task After_runs_the_metrics_count_them_by_definition_and_status_with_step_durations_and_open_incidents()
    {
        using var server = new ServerFactory(workflowFiles: new Dictionary<string, string> { ["hello.json"] = Hello, ["fault.json"] = Broken });
        var admin = server.Client();
        for (var i = 0; i < 2; i++)
            Assert.Equal(HttpStatusCode.OK, (await admin.PostJsonAsync("/elsa/api/workflow-definitions/metrics-hello/execute", "{}")).Status);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostJsonAsync("/elsa/api/workflow-definitions/metrics-fault/execute", "{}")).Status);

        var text = await ScrapeAsync(server.Client(ServerFactory.ViewerKey));

        Assert.Equal(2, Value(text, "drw_runs", ("definition", "metrics-hello"), ("status", "Finished"), ("sub_status", "Finished")));
        Assert.Equal(0, Value(text, "drw_runs", ("definition", "metrics-hello"), ("status", "Running"), ("sub_status", "Faulted")));
        Assert.Equal(1, Value(text, "drw_runs", ("definition", "metrics-fault"), ("status", "Running"), ("sub_status", "Faulted")));
        Assert.Equal(1, Value(text, "drw_runs_with_open_incidents", ("definition", "metrics-fault")));
        Assert.Equal(1, Value(text, "drw_incidents_open", ("definition", "metrics-fault")));
        Assert.Null(Find(text, "drw_runs_with_open_incidents", ("definition", "metrics-hello")));
        Assert.Equal(2, Value(text, "drw_runs_ended_total", ("definition", "metrics-hello"), ("status", "Finished")));
        Assert.Equal(2, Value(text, "drw_step_duration_seconds_count", ("definition", "metrics-hello"), ("activity_type", "Elsa.WriteLine")));
        Assert.True(Value(text, "drw_step_faults_total", ("definition", "metrics-fault"), ("activity_type", "Elsa.Fault")) >= 1);
        Assert.Equal(1, Value(text, "drw_up"));
        Assert.Contains("# TYPE drw_step_duration_seconds histogram", text, StringComparison.Ordinal);
        Assert.All(MetricNames(text), name => Assert.StartsWith("drw_", name, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Backups_show_their_age_exposure_and_failed_verification_per_source_and_store_and_the_objectives_are_gauges()
    {
        using var server = new ServerFactory();
        var catalog = server.Services.GetRequiredService<IBackupCatalog>();
        var now = DateTimeOffset.UtcNow;
        await ObjectivesApiTests.WriteSetAsync(catalog, "ecommerce_db", now.AddHours(-3), TimeSpan.FromMinutes(1), restoreSeconds: 60);
        await ObjectivesApiTests.WriteSetAsync(catalog, "ecommerce_db", now.AddMinutes(-20), TimeSpan.FromMinutes(1), restoreSeconds: 60, succeeded: false);
        await ObjectivesApiTests.WriteSetAsync(catalog, "ai_db", now.AddHours(-1), TimeSpan.FromMinutes(1), restoreSeconds: null);

        var text = await ScrapeAsync(server.Client(ServerFactory.ViewerKey));

        (string, string)[] main = [("component", "postgres-main"), ("kind", "postgres"), ("source", "ecommerce_db"), ("store", "local")];
        (string, string)[] ai = [("component", "postgres-ai"), ("kind", "postgres"), ("source", "ai_db"), ("store", "local")];
        Assert.InRange(Value(text, "drw_backup_newest_age_seconds", main), 19 * 60, 40 * 60);
        Assert.InRange(Value(text, "drw_backup_newest_verified_age_seconds", main), 3 * 3600 - 60, 3 * 3600 + 20 * 60);
        Assert.Equal(15 * 60, Value(text, "drw_backup_rpo_seconds", main));
        Assert.Equal(0, Value(text, "drw_backup_last_verification_succeeded", main));
        Assert.Equal(1, Value(text, "drw_backup_store_readable", main));
        Assert.InRange(Value(text, "drw_backup_newest_age_seconds", ai), 3600 - 60, 3600 + 20 * 60);
        Assert.Null(Find(text, "drw_backup_newest_verified_age_seconds", ai));
        Assert.Null(Find(text, "drw_backup_last_verification_succeeded", ai));

        Assert.Equal(15 * 60, Value(text, "drw_objective_target_seconds", ("component", "postgres-main"), ("objective", "RPO")));
        Assert.Equal(0, Value(text, "drw_objective_held_now", ("component", "postgres-main"), ("objective", "RPO")));
        Assert.Equal(1, Value(text, "drw_objective_can_hold", ("component", "backend"), ("objective", "RPO")));
        Assert.Null(Find(text, "drw_objective_held_now", ("component", "backend"), ("objective", "RPO")));
        Assert.Equal(20, Series(text, "drw_objective_can_hold").Count);
    }

    [Fact]
    public async Task A_pending_gate_shows_its_wait_and_how_far_past_its_deadline_it_is()
    {
        await using var server = new ApprovalServerFactory(settings: new Dictionary<string, string> { ["DrWorkflows:Metrics:MinRefreshSeconds"] = "1" });
        var (runId, gate) = await server.StartGateAsync();
        var client = server.Client(ApprovalServerFactory.ViewerKey);
        (string, string)[] labels = [("run", runId), ("approval", gate.ApprovalId)];

        server.Clock.Advance(TimeSpan.FromMinutes(3));
        var text = await ScrapeAsync(client);
        Assert.Equal(1, Value(text, "drw_approvals_pending", ("definition", gate.DefinitionId!)));
        Assert.Equal((server.Clock.GetUtcNow() - gate.CreatedAt).TotalSeconds, Value(text, "drw_approval_wait_seconds", labels), tolerance: 2);
        Assert.Equal(0, Value(text, "drw_approval_overdue_seconds", labels));

        // The deadline passes and nothing sweeps the gate (the runtime's sweeper is stopped): the metric says how late it is.
        await server.Services.GetRequiredService<DrWorkflows.Core.Runtime.RuntimeBackgroundService>().StopAsync(Ct);
        server.Clock.Advance(gate.Deadline - server.Clock.GetUtcNow() + TimeSpan.FromMinutes(7));
        text = await ScrapeAsync(client);
        Assert.Equal(7 * 60, Value(text, "drw_approval_overdue_seconds", labels), tolerance: 2);
    }

    [Fact]
    public async Task Metrics_need_a_viewer_key_unless_anonymous_reading_is_allowed()
    {
        using var server = new ServerFactory();
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client(null).GetAsync(new Uri("/metrics", UriKind.Relative), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client("wrong").GetAsync(new Uri("/metrics", UriKind.Relative), Ct)).StatusCode);
        Assert.Contains("drw_up 1", await ScrapeAsync(server.Client(ServerFactory.ViewerKey)), StringComparison.Ordinal);

        using var open = new ServerFactory(settings: new Dictionary<string, string> { ["DrWorkflows:Metrics:AllowAnonymous"] = "true" });
        Assert.Contains("drw_up 1", await ScrapeAsync(open.Client(null)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("DrWorkflows:Tracing:OtlpEndpoint", "collector:4317")]
    [InlineData("DrWorkflows:Tracing:Protocol", "udp")]
    [InlineData("DrWorkflows:Metrics:MinRefreshSeconds", "0")]
    public void A_bad_metrics_or_tracing_setting_stops_the_server_naming_it(string setting, string value)
    {
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateBuilder();
        builder.Configuration[setting] = value;
        var error = Assert.Throws<DrWorkflows.Server.Hosting.ServerConfigurationException>(() => DrWorkflows.Server.Telemetry.TelemetrySetup.AddDrWorkflowsTelemetry(builder));
        Assert.StartsWith(setting, error.Message, StringComparison.Ordinal);
    }

    internal static async Task<string> ScrapeAsync(HttpClient client)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/plain"));
        using var response = await client.SendAsync(request, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return text;
    }

    /// <summary>The value of the one series of <paramref name="name"/> whose labels include <paramref name="labels"/>.</summary>
    internal static double Value(string text, string name, params (string Key, string Value)[] labels) =>
        Find(text, name, labels) ?? throw new Xunit.Sdk.XunitException($"No series {name}{{{string.Join(",", labels.Select(l => $"{l.Key}=\"{l.Value}\""))}}} in:\n{text}");

    internal static double? Find(string text, string name, params (string Key, string Value)[] labels)
    {
        var matches = Series(text, name).Where(s => labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).ToList();
        return matches.Count switch
        {
            0 => null,
            1 => matches[0].Value,
            _ => throw new Xunit.Sdk.XunitException($"{matches.Count} series of {name} match; name more labels."),
        };
    }

    internal static List<(Dictionary<string, string> Labels, double Value)> Series(string text, string name) =>
        [.. text.Split('\n').Select(l => SeriesLine().Match(l)).Where(m => m.Success && m.Groups["name"].Value == name).Select(m => (
            SeriesLabel().Matches(m.Groups["labels"].Value).ToDictionary(l => l.Groups[1].Value, l => l.Groups[2].Value),
            double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture)))];

    private static IEnumerable<string> MetricNames(string text) =>
        text.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).Where(n => !n.StartsWith("target_info", StringComparison.Ordinal) && !n.StartsWith("otel_scope_info", StringComparison.Ordinal));

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})?\s+(?<value>\S+)(\s+\d+)?\s*$")]
    private static partial Regex SeriesLine();

    [GeneratedRegex("""([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)" """, RegexOptions.IgnorePatternWhitespace)]
    private static partial Regex SeriesLabel();
}
