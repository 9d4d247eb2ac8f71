using System.Text.Json.Nodes;
using DrWorkflows.Activities.GitHub;
using DrWorkflows.Activities.Tests.Notifications;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace DrWorkflows.Activities.Tests.GitHub;

/// <summary>The post-mortem publisher with Octokit pointed at an in-process GitHub stand-in and a run in the in-memory store.</summary>
public sealed class PostMortemPublisherTests : IAsyncLifetime
{
    private const string Token = "ghp_postmortemTestToken123";
    private const string IssuesPath = "/api/v3/repos/acme/platform/issues";
    private static readonly DateTimeOffset RunStart = new(2026, 3, 1, 14, 0, 0, TimeSpan.Zero);
    private readonly HttpStandIn github = HttpStandIn.Start();
    private readonly CapturingLoggerProvider logs = new();
    private ServiceProvider services = null!;

    public async ValueTask InitializeAsync()
    {
        services = Services(o =>
        {
            o.Labels = ["post-mortem", "incident"];
            o.Assignees = ["alice"];
        });
        await SeedRunAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await services.DisposeAsync();
        github.Dispose();
    }

    [Fact]
    public async Task Opens_an_issue_with_the_report_labels_and_assignees()
    {
        github.Server.Given(Request.Create().WithPath(IssuesPath).UsingGet()).RespondWith(Json(200, "[]"));
        github.Server.Given(Request.Create().WithPath(IssuesPath).UsingPost()).RespondWith(Json(201, Issue(17, "whatever")));

        var issue = await Publisher.OpenAsync(Run(), TestContext.Current.CancellationToken);

        Assert.Equal(17, issue.Number);
        Assert.Equal("https://github.example/acme/platform/issues/17", issue.Url);
        Assert.True(issue.Created);
        Assert.Equal(["GET", "POST"], github.Requests.Select(r => r.Method));
        Assert.All(github.Requests, r => Assert.Equal("Token " + Token, HttpStandIn.Header(r, "Authorization")));

        var list = github.Requests[0];
        Assert.Equal("all", list.Query!["state"].Single());
        Assert.Equal("all", list.Query["filter"].Single());
        Assert.StartsWith("2026-03-01T13:55:00", list.Query["since"].Single(), StringComparison.Ordinal);

        var sent = JsonNode.Parse(github.Requests[1].Body!)!.AsObject();
        Assert.Equal("Post-incident review: Database container failure (SEV-1), 2026-03-01", sent["title"]!.GetValue<string>());
        Assert.Equal(["post-mortem", "incident", "database"], sent["labels"]!.AsArray().Select(l => l!.GetValue<string>()));
        Assert.Equal(["alice"], sent["assignees"]!.AsArray().Select(a => a!.GetValue<string>()));
        var body = sent["body"]!.GetValue<string>();
        Assert.StartsWith("<!-- drworkflows-instance: run-7 -->\n<!-- drworkflows-execution: exec-pm -->\n# Post-Incident Review", body, StringComparison.Ordinal);
        Assert.Contains("| 14:00:01 | Restart postgres | Completed | 1 min 30 s | RestartContainer |", body, StringComparison.Ordinal);
        Assert.Contains("**Workflow**: Database container failure (`db-failure`), run `run-7`, started by alertmanager", body, StringComparison.Ordinal);
        Assert.Contains("| RTO: incident start to end of the run (14:00:00 → 14:05:00) | 30 min | 5 min | **met** |", body, StringComparison.Ordinal);
        Assert.Contains(logs.Lines, l => l.Contains("Post-mortem issue #17 opened in acme/platform for run run-7", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_rerun_finds_the_issue_by_its_marker_and_opens_no_second_one()
    {
        github.Server.Given(Request.Create().WithPath(IssuesPath).UsingGet()).RespondWith(Json(200, 
            $"[{Issue(3, "other run <!-- drworkflows-instance: run-6 -->")},{Issue(9, "<!-- drworkflows-instance: run-7 -->\n# Post-Incident Review")}]"));

        var issue = await Publisher.OpenAsync(Run(), TestContext.Current.CancellationToken);

        Assert.Equal(9, issue.Number);
        Assert.False(issue.Created);
        Assert.Equal(["GET"], github.Requests.Select(r => r.Method));
    }

    [Fact]
    public async Task A_5xx_on_create_is_retried_and_the_retry_finds_the_issue_the_lost_answer_created()
    {
        github.Server.Given(Request.Create().WithPath(IssuesPath).UsingGet()).InScenario("lost").WillSetStateTo("listed")
            .RespondWith(Json(200, "[]"));
        github.Server.Given(Request.Create().WithPath(IssuesPath).UsingPost()).InScenario("lost").WhenStateIs("listed").WillSetStateTo("created")
            .RespondWith(Json(502, """{"message":"Server Error"}"""));
        github.Server.Given(Request.Create().WithPath(IssuesPath).UsingGet()).InScenario("lost").WhenStateIs("created")
            .RespondWith(Json(200, $"[{Issue(21, "<!-- drworkflows-instance: run-7 -->")}]"));

        var issue = await Publisher.OpenAsync(Run(), TestContext.Current.CancellationToken);

        Assert.Equal(21, issue.Number);
        Assert.False(issue.Created);
        Assert.Equal(["GET", "POST", "GET"], github.Requests.Select(r => r.Method));
        Assert.Contains(logs.Lines, l => l.Contains("GitHub call failed on attempt 1", StringComparison.Ordinal) && l.Contains("HTTP 502", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GitHub_down_is_retried_then_fails_clearly_without_the_token()
    {
        github.Server.Given(Request.Create().WithPath(IssuesPath).UsingGet()).RespondWith(Json(503, """{"message":"Service Unavailable"}"""));

        var error = await Assert.ThrowsAsync<GitHubOperationException>(() => Publisher.OpenAsync(Run(), TestContext.Current.CancellationToken));

        Assert.Equal(3, error.Attempts);
        Assert.Equal(503, error.StatusCode);
        Assert.Equal(3, github.Requests.Count);
        Assert.Contains("GitHub answered HTTP 503 while trying to list issues in acme/platform.", error.Message, StringComparison.Ordinal);
        Assert.Contains("Gave up after 3 attempts; the run's journal is intact, and re-running the step will not open a second issue.", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Token, logs.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_assignee_is_not_retried_and_names_the_setting()
    {
        github.Server.Given(Request.Create().WithPath(IssuesPath).UsingGet()).RespondWith(Json(200, "[]"));
        github.Server.Given(Request.Create().WithPath(IssuesPath).UsingPost()).RespondWith(Json(422, 
            """{"message":"Validation Failed","errors":[{"value":"alice","resource":"Issue","field":"assignees","code":"invalid"}]}"""));

        var error = await Assert.ThrowsAsync<GitHubOperationException>(() => Publisher.OpenAsync(Run(), TestContext.Current.CancellationToken));

        Assert.False(error.Retryable);
        Assert.Contains("GitHub refused to create the post-mortem issue in acme/platform (HTTP 422: assignees invalid", error.Message, StringComparison.Ordinal);
        Assert.Contains("GitHub:Assignees", error.Message, StringComparison.Ordinal);
        Assert.Equal(["GET", "POST"], github.Requests.Select(r => r.Method));
    }

    [Fact]
    public async Task A_drill_gets_the_drill_labels()
    {
        github.Server.Given(Request.Create().WithPath(IssuesPath).UsingGet()).RespondWith(Json(200, "[]"));
        github.Server.Given(Request.Create().WithPath(IssuesPath).UsingPost()).RespondWith(Json(201, Issue(5, "x")));

        await Publisher.OpenAsync(Run() with { Details = Run().Details with { IsDrill = true }, Labels = [] }, TestContext.Current.CancellationToken);

        var sent = JsonNode.Parse(github.Requests[1].Body!)!.AsObject();
        Assert.Equal(["post-mortem", "incident", "dr-drill"], sent["labels"]!.AsArray().Select(l => l!.GetValue<string>()));
        Assert.StartsWith("DR drill review:", sent["title"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Not_configured_says_what_to_set()
    {
        await using var unconfigured = Services(o => o.Token = null, configured: false);

        var error = await Assert.ThrowsAsync<GitHubOperationException>(() =>
            unconfigured.GetRequiredService<IPostMortemPublisher>().OpenAsync(Run(), TestContext.Current.CancellationToken));

        Assert.Contains("GitHub:Token, GitHub:Owner and GitHub:Repository", error.Message, StringComparison.Ordinal);
        Assert.Empty(github.Requests);
    }

    private IPostMortemPublisher Publisher => services.GetRequiredService<IPostMortemPublisher>();

    private static PostMortemRequest Run() => new()
    {
        InstanceId = "run-7",
        ExecutionId = "exec-pm",
        Details = new PostMortemDetails { Severity = "SEV-1", RtoTarget = TimeSpan.FromMinutes(30), Outcome = "Recovered" },
        Labels = ["database"],
    };

    private ServiceProvider Services(Action<GitHubOptions> configure, bool configured = true) =>
        new ServiceCollection()
            .AddLogging(b => b.AddProvider(logs))
            .AddSingleton<TimeProvider>(new FakeTimeProvider(RunStart.AddMinutes(5)))
            .AddDrWorkflowsInMemoryStore()
            .AddGitHubPostMortems(o =>
            {
                if (configured)
                {
                    o.Token = Token;
                    o.Owner = "acme";
                    o.Repository = "platform";
                }

                o.BaseUrl = github.Url;
                o.RetryDelay = TimeSpan.Zero;
                configure(o);
            })
            .BuildServiceProvider();

    private async Task SeedRunAsync()
    {
        var state = new WorkflowState
        {
            Id = "run-7",
            DefinitionId = "db-failure",
            DefinitionVersionId = "db-failure:1",
            DefinitionVersion = 1,
            Name = "Database container failure",
            StartedBy = "alertmanager",
            Status = WorkflowStatus.Running,
            SubStatus = WorkflowSubStatus.Executing,
            CreatedAt = RunStart,
            UpdatedAt = RunStart,
        };
        JournalEntry Entry(long sequence, double seconds, string eventName, string? executionId = null, string? name = null) => new()
        {
            Id = "j" + sequence,
            InstanceId = "run-7",
            Sequence = sequence,
            Timestamp = RunStart.AddSeconds(seconds),
            EventName = eventName,
            ExecutionId = executionId,
            ActivityName = name,
            ActivityType = name is null ? null : "DrWorkflows.RestartContainer",
            Outcomes = eventName == JournalEvents.Completed ? ["Done"] : null,
        };
        await services.GetRequiredService<IWorkflowInstanceStore>().CreateAsync(
            state,
            [
                Entry(0, 0, JournalEvents.WorkflowStarted),
                Entry(1, 1, JournalEvents.Started, "e1", "Restart postgres"),
                Entry(2, 91, JournalEvents.Completed, "e1", "Restart postgres"),
            ],
            TestContext.Current.CancellationToken);
    }

    private static IResponseBuilder Json(int status, string body) =>
        Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json; charset=utf-8").WithBody(body);

    private static string Issue(int number, string body) =>
        new JsonObject
        {
            ["id"] = 1000 + number,
            ["number"] = number,
            ["title"] = "Post-incident review",
            ["state"] = "open",
            ["body"] = body,
            ["html_url"] = $"https://github.example/acme/platform/issues/{number}",
            ["url"] = $"https://github.example/api/v3/repos/acme/platform/issues/{number}",
            ["user"] = new JsonObject { ["login"] = "dr-bot", ["id"] = 1 },
        }.ToJsonString();
}
