using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.Http;

// Sends requests only (GET by default); the checks are meant to be read-only.
[Activity("DrWorkflows", "HTTP", "Runs HTTP smoke checks (status and body fragments per URL) and reports every result.", SafeToRerun = true, Outcomes = [Passed, Failed])]
public sealed class SmokeTest : Activity
{
    public const string Passed = "Passed";
    public const string Failed = "Failed";

    [Input(Description = "Checks: [{\"url\": \"https://api.example.com/health\", \"expectedStatus\": [200], \"bodyContains\": [\"ok\"]}].", Required = true, UIHint = InputUIHints.JsonEditor)]
    public Input<List<SmokeCheck>>? Checks { get; set; }

    [Input(Description = "Attempts per check before it counts as failed.", DefaultValue = 1)]
    public Input<int>? Attempts { get; set; }

    [Input(Description = "Seconds between attempts.", DefaultValue = 5)]
    public Input<int>? RetryDelaySeconds { get; set; }

    [Output(Description = "Every check's result.")]
    public Output<SmokeTestReport> Report { get; set; } = new();

    [Output(Description = "One line per failed check.")]
    public Output<List<string>> Failures { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var report = await context.GetRequiredService<ISmokeTester>().RunAsync(
            context.Get(Checks) ?? [], context.Get(Attempts, 1), TimeSpan.FromSeconds(context.Get(RetryDelaySeconds, 5)), context.CancellationToken);
        context.Set(Report, report);
        context.Set(Failures, [.. report.Failed.Select(f => f.ToString())]);
        context.AddJournalData("smoke", new JsonObject { ["summary"] = report.Summary });
        await context.CompleteAsync(report.Passed ? Passed : Failed);
    }
}
