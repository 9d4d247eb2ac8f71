using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.Preflight;

// Reads configuration only.
[Activity("DrWorkflows", "Preflight", "The first step of every DR scenario: checks that the settings it needs exist and are safe (Compose project, database servers, backup stores, isolation, engine restart); stops the run on an incident naming each missing setting before anything is changed.",
    SafeToRerun = true)]
public sealed class CheckRecoveryConfiguration : CodeActivity<PreflightReport>
{
    [Input(Description = "The scenario, for the messages, e.g. 'DR 2: Complete host failure'.", Required = true)]
    public Input<string>? Scenario { get; set; }

    [Input(Description = "Compose project the scenario acts on; Docker:ComposeProject when empty (one of the two is required).")]
    public Input<string>? ComposeProject { get; set; }

    [Input(Description = "Names that must be in Postgres:Servers, e.g. ['dr'].")]
    public Input<List<string>>? PostgresServers { get; set; }

    [Input(Description = "Backup stores the scenario restores from, e.g. ['s3'] ('' is the default store).")]
    public Input<List<string>>? BackupStores { get; set; }

    [Input(Description = "The scenario isolates the host: iptables, a way to block published ports and the isolation probe must be usable.", DefaultValue = false)]
    public Input<bool>? NetworkIsolation { get; set; }

    [Input(Description = "The scenario restarts the Docker engine: Host:DockerRestartCommand, or systemd on the host.", DefaultValue = false)]
    public Input<bool>? DockerEngineRestart { get; set; }

    protected override async ValueTask<PreflightReport> RunAsync(ActivityExecutionContext context)
    {
        var scenario = context.Get(Scenario) ?? "DR scenario";
        var report = await context.GetRequiredService<IRecoveryPreflight>().CheckAsync(new PreflightRequest(scenario)
        {
            ComposeProject = context.Get(ComposeProject),
            PostgresServers = context.Get(PostgresServers) ?? [],
            BackupStores = context.Get(BackupStores) ?? [],
            NetworkIsolation = context.Get(NetworkIsolation, false),
            DockerEngineRestart = context.Get(DockerEngineRestart, false),
        }, context.CancellationToken);
        context.AddJournalData("preflight", new JsonObject
        {
            ["scenario"] = report.Scenario,
            ["checked"] = new JsonArray([.. report.Checked.Select(c => JsonValue.Create(c))]),
            ["problems"] = new JsonArray([.. report.Problems.Select(p => JsonValue.Create(p))]),
        });
        if (!report.Safe)
        {
            var numbered = string.Join(" ", report.Problems.Select((p, i) => $"({i + 1}) {p}"));
            throw new PreflightException(
                $"{scenario} cannot start safely: {numbered} Nothing was changed. Fix the setting(s), restart DrWorkflows so it reads them, then retry this step " +
                "(or skip it with outcome Failed to close the incident without a recovery).")
            {
                Code = PreflightException.UnsafeConfiguration,
            };
        }

        return report;
    }
}
