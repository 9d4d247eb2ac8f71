using System.Text.Json.Nodes;
using DrWorkflows.Activities.GitHub;
using DrWorkflows.Activities.Tests.Notifications;
using DrWorkflows.Core.Activities.Primitives;
using DrWorkflows.Core.Building;
using DrWorkflows.Core.Execution;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace DrWorkflows.Activities.Tests.GitHub;

/// <summary>OpenPostMortemIssue at the end of a real run, writing from the run's own journal.</summary>
public sealed class OpenPostMortemIssueTests : IDisposable
{
    private const string IssuesPath = "/api/v3/repos/acme/platform/issues";
    private readonly HttpStandIn github = HttpStandIn.Start();

    public void Dispose() => github.Dispose();

    [Fact]
    public async Task Opens_the_issue_from_the_runs_journal_and_outputs_its_number_and_address()
    {
        github.Server.Given(Request.Create().WithPath(IssuesPath).UsingGet()).RespondWith(Json(200, "[]"));
        github.Server.Given(Request.Create().WithPath(IssuesPath).UsingPost()).RespondWith(Json(201, """{"id":1,"number":31,"title":"t","state":"open","body":"b","html_url":"https://github.example/acme/platform/issues/31","user":{"login":"bot","id":1}}"""));
        await using var host = Host();
        var builder = new WorkflowBuilder("drill", "Monthly drill");
        var flow = builder.Flowchart();
        var check = flow.Add(new WriteLine { Id = "check", Name = "Check backups", Text = "backups ok" });
        var report = flow.Add(new OpenPostMortemIssue { Id = "report", IsDrill = true, Severity = "SEV-2", RtoTarget = TimeSpan.FromHours(1), Summary = "Monthly restore drill." });
        flow.Chain(check, report);

        var state = await host.RunCodeAsync(builder);

        Assert.Equal(WorkflowSubStatus.Finished, state.SubStatus);
        Assert.Equal(31, state.ActivityOutputs["report"]["IssueNumber"]!.GetValue<int>());
        Assert.Equal("https://github.example/acme/platform/issues/31", state.ActivityOutputs["report"]["IssueUrl"]!.GetValue<string>());
        Assert.True(state.ActivityOutputs["report"]["Created"]!.GetValue<bool>());
        var sent = JsonNode.Parse(github.Requests[1].Body!)!;
        var body = sent["body"]!.GetValue<string>();
        Assert.StartsWith($"<!-- drworkflows-instance: {state.Id} -->\n<!-- drworkflows-execution: ", body, StringComparison.Ordinal);
        Assert.Contains("# DR Drill Review", body, StringComparison.Ordinal);
        Assert.Contains("| 03:00:00 | Check backups | Completed |", body, StringComparison.Ordinal);
        Assert.Contains("| 03:00:00 | — | Run started |  | by test |", body, StringComparison.Ordinal);
        Assert.DoesNotContain("| Report |", body, StringComparison.Ordinal);
        Assert.Equal(["post-mortem", "dr-drill"], sent["labels"]!.AsArray().Select(l => l!.GetValue<string>()));
    }

    [Fact]
    public async Task GitHub_failing_does_not_fail_the_run_unless_the_workflow_says_so()
    {
        github.Server.Given(Request.Create().WithPath(IssuesPath).UsingGet()).RespondWith(Json(500, """{"message":"boom"}"""));
        await using var host = Host();
        var builder = new WorkflowBuilder("incident", "Incident");
        var flow = builder.Flowchart();
        var report = flow.Add(new OpenPostMortemIssue { Id = "report" });
        flow.Connect(report, flow.Add(new WriteLine { Text = "post-mortem failed, run ends anyway" }), "Failed");

        var state = await host.RunCodeAsync(builder);

        Assert.Equal(WorkflowSubStatus.Finished, state.SubStatus);
        Assert.Equal(["post-mortem failed, run ends anyway"], host.Output.Lines);
        Assert.Contains("GitHub answered HTTP 500 while trying to list issues in acme/platform", state.ActivityOutputs["report"]["Error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(2, github.Requests.Count);
    }

    private WorkflowTestHost Host() =>
        WorkflowTestHost.Create(configure: services => services
            .AddActivities(typeof(OpenPostMortemIssue).Assembly)
            .AddGitHubPostMortems(o =>
            {
                o.Token = "ghp_activity";
                o.Owner = "acme";
                o.Repository = "platform";
                o.BaseUrl = github.Url;
                o.MaxAttempts = 2;
                o.RetryDelay = TimeSpan.Zero;
            }));


    private static IResponseBuilder Json(int status, string body) =>
        Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(body);
}
