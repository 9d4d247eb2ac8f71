using System.Text.Json.Nodes;
using DrWorkflows.Activities.Approvals;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Dns;
using DrWorkflows.Activities.GitHub;
using DrWorkflows.Core.Execution;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// Scenarios that end in failure, with the real post-mortem publisher (journal, definition, contact tree) writing to a
/// GitHub stand-in: the issue must say what the run really did.
/// </summary>
public sealed class ScenarioPostMortemTests : IDisposable
{
    private const string IssuesPath = "/api/v3/repos/acme/platform/issues";
    private static readonly DateTimeOffset Now = new(2026, 11, 20, 14, 0, 0, TimeSpan.Zero);

    /// <summary>Ines, the incident commander of the test contact tree, deciding in Slack.</summary>
    private static readonly ApprovalIdentity Ines = ApprovalIdentity.Slack("U0INES0001");

    private readonly WireMockServer github = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false });

    public ScenarioPostMortemTests()
    {
        github.Given(Request.Create().WithPath(IssuesPath).UsingGet()).RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody("[]"));
        github.Given(Request.Create().WithPath(IssuesPath).UsingPost()).RespondWith(Response.Create().WithStatusCode(201).WithHeader("Content-Type", "application/json")
            .WithBody("""{"id":1,"number":12,"title":"t","state":"open","body":"b","html_url":"https://github.example/acme/platform/issues/12","user":{"login":"bot","id":1}}"""));
    }

    public void Dispose() => github.Dispose();

    [Fact]
    public async Task A_rejected_restore_in_scenario_1_is_not_recovered_and_its_post_mortem_says_so()
    {
        await using var dr = await StartAsync();
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "newest", null, "ecommerce_db", DrTestHost.Ct, Now.AddHours(-2), verified: true);
        dr.Docker.DefaultHealthy = false;

        var run = await dr.RunAsync(DatabaseContainerFailure.Id, new { Reason = "DatabaseDown alert 4711", Container = "ecommerce_postgres", Database = "ecommerce_db" });
        await dr.AdvanceAsync(TimeSpan.FromSeconds(64));
        await DecideAsync(dr, run.Id, "reject", "the DBA repairs the WAL by hand");

        var done = await dr.StateAsync(run.Id);
        Assert.Equal("Failed", done.Output["Outcome"]!.ToString());
        var (title, body) = Issue();
        Assert.EndsWith(": not recovered", title, StringComparison.Ordinal);
        Assert.Contains("**Outcome**: **not recovered**: The restore was rejected by Ines: the DBA repairs the WAL by hand.", body, StringComparison.Ordinal);
        Assert.Matches(@"\| RTO: incident start to end of the run \(14:00:00 → 14:01:04\) \| 30 min \| not recovered after 1 min 4 s \| \*\*not met\*\* \|", body);
        Assert.DoesNotContain("**met**", body, StringComparison.Ordinal);
        Assert.DoesNotContain("Recovered in", body, StringComparison.Ordinal);

        // The first health check failing is how the run learnt of the incident: the detection, not a problem.
        Assert.Contains("**Detected by**: Inspect (Unhealthy)", body, StringComparison.Ordinal);
        var wrong = Section(body, "## What Went Wrong");
        Assert.DoesNotContain("Inspect", wrong, StringComparison.Ordinal);
        Assert.Contains("- WaitRestart ended Unhealthy: ecommerce_postgres: unhealthy", wrong, StringComparison.Ordinal);
        Assert.Contains("- ApproveRestore was rejected by Ines: the DBA repairs the WAL by hand\n", wrong, StringComparison.Ordinal);
        Assert.Contains("- The service was not recovered: The restore was rejected by Ines", wrong, StringComparison.Ordinal);

        // The gate waited 64 s (journal: suspended at 14:00:00, decided at 14:01:04); the approver by contact name.
        Assert.Contains("| 14:01:04 | ApproveRestore | reject | Ines | slack | 1 min 4 s | the DBA repairs the WAL by hand |", body, StringComparison.Ordinal);
        Assert.DoesNotContain("0.0 s", body, StringComparison.Ordinal);
        Assert.Contains($"All {CountSteps(body)} steps ran at their first attempt", Section(body, "## What Went Well"), StringComparison.Ordinal);

        // The closing step writes the issue after its own posts, before its journal entry exists: the report still has them.
        Assert.Matches(@"\| 14:01:04 \| CloseFailed \| Status page update posted \|", body);
        Assert.Matches(@"\| 14:01:04 \| CloseFailed \| Escalation to the contact tree posted \|", body);
        var journal = await dr.Host.JournalAsync(run.Id);
        var published = Assert.Single(journal, e => e.ActivityId == "closeFailed" && e.EventName == JournalEvents.Completed);
        Assert.False(published.Payload!["data"]!["github"]!["recovered"]!.GetValue<bool>());
        Assert.False(published.Payload["data"]!["github"]!["rtoMet"]!.GetValue<bool>());
    }

    [Fact]
    public async Task In_scenario_2_the_primary_check_failing_is_the_detection_and_a_rejected_cutover_is_not_recovered()
    {
        using var scratch = new TempDirectory("failover-pm");
        await using var dr = await StartAsync();
        dr.Smoke.FailingUrls.Add("https://primary.example.com/health");
        dr.Dns.Records["api.example.com"] = new DnsRecord("api.example.com", "A", 300, ["203.0.113.10"]);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "main", "local", "ecommerce_db", DrTestHost.Ct, Now.AddHours(-3), verified: true);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ai_db", "ai", "local", "ai_db", DrTestHost.Ct, Now.AddHours(-3), verified: true);
        await dr.Databases.WriteSetAsync(BackupKinds.Globals, "main", "roles", "local", null, DrTestHost.Ct, Now.AddHours(-3));
        await dr.Databases.WriteSetAsync(BackupKinds.Redis, "redis", "rdb", "local", null, DrTestHost.Ct, Now.AddHours(-10));

        var run = await dr.RunAsync(HostFailover.Id, new
        {
            Reason = "All endpoints down",
            PrimaryChecks = new[] { new { url = "https://primary.example.com/health" } },
            Store = "local",
            ZoneId = "Z1234567890ABC",
            DrAddress = "198.51.100.7",
            RedisDumpPath = scratch.Combine("failover.rdb"),
        });
        await DecideAsync(dr, run.Id, "reject", "wait for the provider's answer");

        var (_, body) = Issue();
        Assert.Contains("**Detected by**: CheckPrimary (Failed)", body, StringComparison.Ordinal);
        Assert.Contains("| CheckPrimary | Completed (Failed) |", body, StringComparison.Ordinal);
        var wrong = Section(body, "## What Went Wrong");
        Assert.DoesNotContain("CheckPrimary", wrong, StringComparison.Ordinal);
        Assert.DoesNotContain("CheckPrimary", Section(body, "## Action Items"), StringComparison.Ordinal);
        Assert.Contains("- ApproveDnsCutover was rejected by Ines: wait for the provider's answer\n", wrong, StringComparison.Ordinal);
        Assert.Contains("**Outcome**: **not recovered**", body, StringComparison.Ordinal);
        Assert.Contains("| 30 min | not recovered after ", body, StringComparison.Ordinal);
    }

    private async Task<DrTestHost> StartAsync() =>
        await DrTestHost.StartAsync(Now, services =>
        {
            services.RemoveAll<IPostMortemPublisher>();
            services.AddGitHubPostMortems(o =>
            {
                o.Token = "ghp_scenario";
                o.Owner = "acme";
                o.Repository = "platform";
                o.BaseUrl = github.Urls[0];
                o.RetryDelay = TimeSpan.Zero;
            });
        });

    private static async Task DecideAsync(DrTestHost dr, string runId, string vote, string comment)
    {
        var gate = await dr.PendingGateAsync(runId);
        var result = await dr.Get<IApprovalService>().DecideAsync(gate.ApprovalId, Ines, new ApprovalRequest { Vote = vote, Comment = comment }, DrTestHost.Ct);
        Assert.Equal(ApprovalResultKind.Decided, result.Kind);
        await dr.Host.DrainAsync(DrTestHost.Ct);
    }

    /// <summary>The title and body of the one issue opened on the stand-in.</summary>
    private (string Title, string Body) Issue()
    {
        var created = Assert.Single(github.LogEntries, e => e.RequestMessage!.Method == "POST");
        var issue = JsonNode.Parse(created.RequestMessage!.Body!)!;
        return (issue["title"]!.GetValue<string>(), issue["body"]!.GetValue<string>());
    }

    /// <summary>Steps in the timeline (rows with a duration, not run or decision rows).</summary>
    private static int CountSteps(string body) =>
        Section(body, "## Timeline").Split('\n').Count(l => l.StartsWith("| ", StringComparison.Ordinal) && (l.Contains(" | Completed", StringComparison.Ordinal) || l.Contains(" | Not finished |", StringComparison.Ordinal)));

    private static string Section(string body, string heading)
    {
        var start = body.IndexOf(heading + "\n", StringComparison.Ordinal) + heading.Length + 1;
        var end = body.IndexOf("\n## ", start, StringComparison.Ordinal);
        return end < 0 ? body[start..] : body[start..(end + 1)];
    }
}
