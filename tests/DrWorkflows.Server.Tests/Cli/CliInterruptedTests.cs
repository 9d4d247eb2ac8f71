using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using DrWorkflows.Cli;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Server.Tests.Cli;

/// <summary>
/// What on-call sees of a crash in <c>drw</c>: the journal shows the Interrupted entry with its attempt and counts the
/// interrupted attempts; <c>drw resources</c> shows what the steps left and what the janitor removed, and why.
/// </summary>
public sealed class CliInterruptedTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 20, 6, 0, 0, TimeSpan.Zero);
    private readonly ServerFactory server = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Journal_shows_and_counts_interrupted_attempts_and_resources_show_what_the_janitor_removed()
    {
        _ = server.Client(); // starts the server
        var instances = server.Services.GetRequiredService<IWorkflowInstanceStore>();
        var state = new WorkflowState { Id = "run-crashed", DefinitionId = "verify-backups", DefinitionVersionId = "verify-backups-1", Status = WorkflowStatus.Running, SubStatus = WorkflowSubStatus.Executing, CreatedAt = T0, UpdatedAt = T0 };
        await instances.CreateAsync(state,
        [
            Entry(0, T0, JournalEvents.WorkflowStarted, null, null),
            Entry(1, T0.AddSeconds(1), JournalEvents.Started, "verify1", 1),
            Entry(2, T0.AddSeconds(32), JournalEvents.Interrupted, "verify1", 1, "Attempt 1 of 'verify1' (DrWorkflows.VerifyLatestBackup) was interrupted"),
            Entry(3, T0.AddSeconds(32), JournalEvents.Started, "verify1", 2),
        ], Ct);
        var ledger = server.Services.GetRequiredService<IThrowawayResourceStore>();
        await ledger.RecordAsync(new ThrowawayResource
        {
            Id = "r1", Kind = "postgres-database", Name = "drw_verify_shop_1a2b3c4d", Location = "verify", InstanceId = "run-crashed", ExecutionId = "exec-1",
            ActivityId = "verify1", ActivityType = "DrWorkflows.VerifyLatestBackup", Attempt = 1, HolderId = "h-dead", NodeId = "node-a", RecordedAt = T0.AddSeconds(2),
        }, Ct);
        await ledger.EndAsync("r1", ThrowawayState.Removed, T0.AddSeconds(33), "janitor on node node-a", "attempt 1 of step 'verify1' ended or was interrupted (the step is on attempt 2)", Ct);

        var (exit, output, error) = await DrwAsync("journal", "run-crashed");

        Assert.True(exit == 0, error);
        Assert.Contains("ATTEMPT", output.Split('\n')[0], StringComparison.Ordinal);
        Assert.Contains(output.Split('\n'), l => l.Contains("Interrupted", StringComparison.Ordinal) && l.Contains("verify1", StringComparison.Ordinal) && l.Contains("Attempt 1 of 'verify1'", StringComparison.Ordinal));
        Assert.Contains("4 entries; 1 interrupted attempt(s), cut short by a crash or a killed node: verify1 attempt 1 at", output, StringComparison.Ordinal);

        (exit, output, error) = await DrwAsync("resources", "run-crashed");

        Assert.True(exit == 0, error);
        var row = Assert.Single(output.Split('\n'), l => l.StartsWith("postgres-database", StringComparison.Ordinal));
        Assert.Contains("drw_verify_shop_1a2b3c4d", row, StringComparison.Ordinal);
        Assert.Contains("Removed", row, StringComparison.Ordinal);
        Assert.Contains("janitor on node node-a", row, StringComparison.Ordinal);
        Assert.Contains("1 resource(s): 0 removed by their step, 1 by the janitor, 0 still live.", output, StringComparison.Ordinal);

        (exit, output, _) = await DrwAsync("resources", "--state", "Removed", "--json");
        Assert.Equal(0, exit);
        Assert.Equal("r1", JsonNode.Parse(output)!["items"]![0]!["id"]!.GetValue<string>());

        (exit, output, error) = await DrwAsync("janitor");
        Assert.True(exit == 0, error);
        Assert.Contains("live resource(s) examined, 0 removed", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_journal_without_a_crash_says_so()
    {
        _ = server.Client();
        await server.Services.GetRequiredService<IWorkflowInstanceStore>().CreateAsync(
            new WorkflowState { Id = "run-calm", DefinitionId = "d", DefinitionVersionId = "d-1", Status = WorkflowStatus.Running, SubStatus = WorkflowSubStatus.Executing, CreatedAt = T0, UpdatedAt = T0 },
            [Entry(0, T0, JournalEvents.WorkflowStarted, null, null)], Ct);

        var (exit, output, _) = await DrwAsync("journal", "run-calm");

        Assert.Equal(0, exit);
        Assert.Contains("1 entries; no interrupted attempts.", output, StringComparison.Ordinal);
    }

    public void Dispose() => server.Dispose();

    private static JournalEntry Entry(long sequence, DateTimeOffset at, string eventName, string? activityId, int? attempt, string? message = null) => new()
    {
        Id = $"j{sequence}",
        InstanceId = "run",
        Sequence = sequence,
        Timestamp = at,
        EventName = eventName,
        ActivityId = activityId,
        ExecutionId = activityId is null ? null : "exec-1",
        ActivityType = activityId is null ? null : "DrWorkflows.VerifyLatestBackup",
        Attempt = attempt,
        Message = message,
    };

    private async Task<(int Exit, string Out, string Err)> DrwAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await CliApp.RunAsync([.. args, "--api-key", ServerFactory.AdminKey], output, error, (_, key) =>
        {
            var client = server.CreateClient();
            if (key is not null)
                client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("ApiKey", key);
            return client;
        }, Ct);
        return (exit, output.ToString(), error.ToString());
    }
}
