using System.Net;
using System.Text.Json.Nodes;
using DrWorkflows.Activities.Notifications;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Activities.Primitives;
using DrWorkflows.Core.Building;
using DrWorkflows.Core.Execution;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using netDumbster.smtp;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using static DrWorkflows.Activities.Tests.Notifications.HttpStandIn;

namespace DrWorkflows.Activities.Tests.Notifications;

/// <summary>
/// CloseIncident: one step per end of an incident run (the run's outputs; resolved and reported, or kept open and
/// escalated; the post-mortem issue), each part whatever the others did, against Slack, Statuspage, SMTP and GitHub stand-ins.
/// </summary>
public sealed class CloseIncidentTests : IDisposable
{
    private const string IssuesPath = "/api/v3/repos/acme/platform/issues";
    private const string IncidentPath = "/v1/pages/pg1/incidents/inc77";
    private const string ThreadTs = "1772373600.000100";

    private readonly HttpStandIn slack = HttpStandIn.Start();
    private readonly HttpStandIn statuspage = HttpStandIn.Start();
    private readonly HttpStandIn github = HttpStandIn.Start();
    private readonly SimpleSmtpServer smtp = Configuration.Configure().WithAddress(IPAddress.Loopback).WithRandomPort().Build();

    /// <summary>Issues the GitHub stand-in holds (what POST created), listed by GET as GitHub does.</summary>
    private readonly List<JsonObject> issues = [];

    public void Dispose()
    {
        slack.Dispose();
        statuspage.Dispose();
        github.Dispose();
        smtp.Dispose();
    }

    [Fact]
    public async Task Recovered_resolves_the_status_page_reports_in_the_thread_opens_the_post_mortem_and_sets_the_outputs()
    {
        SlackWorks();
        StatusPageAnswers(200);
        GitHubWorks();
        await using var host = Host();

        var (state, completed) = await RunAsync(host, Closing(CloseIncident.Recovered));

        Assert.Equal(["close Done"], host.Output.Lines);
        Assert.Equal("Recovered", state.Output["Outcome"]!.GetValue<string>());
        Assert.Equal(string.Empty, state.Output["FailureReason"]!.GetValue<string>());
        var patch = Assert.Single(statuspage.Requests);
        Assert.Equal(IncidentPath, patch.AbsolutePath);
        SlackClientTests.AssertJson(
            """{"incident":{"deliver_notifications":true,"status":"resolved","body":"Service has been restored.","component_ids":["cmp-db"],"components":{"cmp-db":"operational"}}}""",
            patch.Body);
        var report = JsonNode.Parse(Assert.Single(slack.Requests).Body!)!;
        Assert.Equal(ThreadTs, report["thread_ts"]!.GetValue<string>());
        Assert.Equal(":white_check_mark: Database container failure: recovered.", report["text"]!.GetValue<string>());
        Assert.Empty(smtp.ReceivedEmail);
        Assert.Equal(12, state.ActivityOutputs["close"]["IssueNumber"]!.GetValue<int>());
        Assert.Null(state.ActivityOutputs["close"].GetValueOrDefault("Error"));

        var (title, body) = Assert.Single(CreatedIssues());
        Assert.DoesNotContain("not recovered", title, StringComparison.Ordinal);
        Assert.Contains("## Summary\nThe database came back.", body, StringComparison.Ordinal);
        // What this step posted before it opened the issue is in the timeline (its own journal entry is written after).
        Assert.Matches(@"\| [0-9:]+ \| Close \| Status page resolution posted \|", body);
        Assert.Matches(@"\| [0-9:]+ \| Close \| Slack report posted \|", body);
        Assert.Equal(["post-mortem", "database-container-failure"], LabelsOfCreatedIssue());

        var data = completed.Payload!["data"]!;
        Assert.Equal("resolved", data["statusPage"]!["action"]!.GetValue<string>());
        Assert.Equal(ThreadTs, data["slack"]!["threadTs"]!.GetValue<string>());
        Assert.Equal(12, data["github"]!["issue"]!.GetValue<int>());
        Assert.True(data["github"]!["recovered"]!.GetValue<bool>());
        Assert.Equal("Recovered", data["outcome"]!["outcome"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(CloseIncident.NotRecovered)]
    [InlineData(CloseIncident.Partial)]
    public async Task Not_recovered_keeps_the_status_page_open_escalates_in_the_thread_and_the_post_mortem_says_not_recovered(string outcome)
    {
        SlackWorks();
        StatusPageAnswers(200);
        GitHubWorks();
        await using var host = Host();

        var (state, completed) = await RunAsync(host, Closing(outcome, failureReason: "The restore was rejected"));

        Assert.Equal(["close Done"], host.Output.Lines);
        Assert.Equal(outcome, state.Output["Outcome"]!.GetValue<string>());
        Assert.Equal("The restore was rejected", state.Output["FailureReason"]!.GetValue<string>());
        SlackClientTests.AssertJson(
            """{"incident":{"deliver_notifications":true,"status":"identified","body":"Engineers are restoring service.","component_ids":["cmp-db"],"components":{"cmp-db":"major_outage"}}}""",
            Assert.Single(statuspage.Requests).Body);
        var escalation = JsonNode.Parse(Assert.Single(slack.Requests).Body!)!;
        Assert.Equal(ThreadTs, escalation["thread_ts"]!.GetValue<string>());
        Assert.StartsWith("*[SEV-1] Database container failure: automated recovery stopped*\nAutomated recovery stopped: The restore was rejected.", escalation["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("<@U0IC> (Incident commander)", escalation["text"]!.GetValue<string>(), StringComparison.Ordinal);
        var mail = Assert.Single(smtp.ReceivedEmail);
        Assert.Equal("[SEV-1] Database container failure: automated recovery stopped", mail.Subject);

        var (title, body) = Assert.Single(CreatedIssues());
        Assert.EndsWith(": not recovered", title, StringComparison.Ordinal);
        Assert.Contains("The restore was rejected", body, StringComparison.Ordinal);
        Assert.Matches(@"\| [0-9:]+ \| Close \| Status page update posted \|", body);
        Assert.Matches(@"\| [0-9:]+ \| Close \| Escalation to the contact tree posted \|", body);
        var data = completed.Payload!["data"]!;
        Assert.Equal("updated", data["statusPage"]!["action"]!.GetValue<string>());
        Assert.Equal(ThreadTs, data["escalationSlack"]!["threadTs"]!.GetValue<string>());
        Assert.Equal("SEV-1", data["contacts"]!["severity"]!.GetValue<string>());
        Assert.False(data["github"]!["recovered"]!.GetValue<bool>());
    }

    [Fact]
    public async Task When_Slack_is_down_the_status_page_the_post_mortem_and_the_outputs_still_happen_and_the_error_names_Slack()
    {
        slack.Server.Given(Request.Create().WithPath("/api/chat.postMessage").UsingPost()).RespondWith(Json(200, """{"ok":false,"error":"channel_not_found"}"""));
        StatusPageAnswers(200);
        GitHubWorks();
        await using var host = Host();

        var (state, completed) = await RunAsync(host, Closing(CloseIncident.Recovered));

        Assert.Equal(["close Failed"], host.Output.Lines);
        Assert.Equal("Recovered", state.Output["Outcome"]!.GetValue<string>());
        Assert.Single(statuspage.Requests);
        Assert.Single(slack.Requests);
        var error = state.ActivityOutputs["close"]["Error"]!.GetValue<string>();
        Assert.StartsWith("Slack report not posted: ", error, StringComparison.Ordinal);
        Assert.Contains("channel_not_found", error, StringComparison.Ordinal);
        Assert.EndsWith("(the status page resolution and the post-mortem issue were posted)", error, StringComparison.Ordinal);
        var data = completed.Payload!["data"]!;
        Assert.False(data["slack"]!["posted"]!.GetValue<bool>());
        Assert.Equal("slack", data["failure"]!["channel"]!.GetValue<string>());
        Assert.Equal(12, data["github"]!["issue"]!.GetValue<int>());

        // The post-mortem says so, as it did when the report was a step of its own.
        var (_, body) = Assert.Single(CreatedIssues());
        Assert.Matches(@"\| [0-9:]+ \| Close \| Slack report failed \|", body);
        Assert.Contains("- Close: the slack post (Slack report) failed and the workflow went on: ", body, StringComparison.Ordinal);
        Assert.Contains("Fix the slack notifications that failed during the run", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task When_GitHub_fails_on_call_is_paged_the_outputs_are_still_set_and_the_error_names_the_post_mortem()
    {
        SlackWorks();
        StatusPageAnswers(200);
        github.Server.Given(Request.Create().WithPath(IssuesPath).UsingGet()).RespondWith(Json(500, """{"message":"boom"}"""));
        await using var host = Host();

        var (state, completed) = await RunAsync(host, Closing(CloseIncident.NotRecovered, failureReason: "The restore failed"));

        Assert.Equal(["close Failed"], host.Output.Lines);
        Assert.Equal("Failed", state.Output["Outcome"]!.GetValue<string>());
        Assert.Equal("The restore failed", state.Output["FailureReason"]!.GetValue<string>());
        Assert.Single(statuspage.Requests);
        Assert.Empty(CreatedIssues());
        // The escalation in the thread, then the page about the post-mortem.
        Assert.Equal(2, slack.Requests.Count);
        Assert.Contains("not published", JsonNode.Parse(slack.Requests[1].Body!)!["text"]!.GetValue<string>(), StringComparison.Ordinal);
        var error = state.ActivityOutputs["close"]["Error"]!.GetValue<string>();
        Assert.StartsWith("Post-mortem issue not posted: GitHub answered HTTP 500", error, StringComparison.Ordinal);
        Assert.EndsWith("(the status page update and the escalation to the contact tree were posted)", error, StringComparison.Ordinal);
        var data = completed.Payload!["data"]!;
        Assert.False(data["github"]!["posted"]!.GetValue<bool>());
        Assert.Equal("github", data["failure"]!["channel"]!.GetValue<string>());
        Assert.Equal(["slack", "email"], data["paged"]!["channels"]!.AsArray().Select(c => c!.GetValue<string>()));
    }

    [Fact]
    public async Task When_GitHub_fails_and_nobody_can_be_paged_the_step_raises_an_incident_with_the_outputs_set()
    {
        slack.Server.Given(Request.Create().WithPath("/api/chat.postMessage").UsingPost()).RespondWith(Json(200, """{"ok":false,"error":"channel_not_found"}"""));
        StatusPageAnswers(200);
        github.Server.Given(Request.Create().WithPath(IssuesPath).UsingGet()).RespondWith(Json(500, """{"message":"boom"}"""));
        await using var host = Host(withEmail: false);
        var builder = Workflow(out var flow);
        var close = flow.Add(Closing(CloseIncident.NotRecovered, failureReason: "The restore failed"));
        flow.Connect(close, flow.Add(new WriteLine { Text = "must not be reached quietly" }), BestEffortActivity.FailedOutcome);

        var state = await host.RunCodeAsync(builder);

        Assert.Equal(WorkflowSubStatus.Faulted, state.SubStatus);
        Assert.Empty(host.Output.Lines);
        var incident = Assert.Single(state.Incidents);
        Assert.Equal("close", incident.ActivityId);
        Assert.Contains("Post-mortem issue not posted: GitHub answered HTTP 500", incident.Message, StringComparison.Ordinal);
        Assert.Contains("On-call could not be paged", incident.Message, StringComparison.Ordinal);
        Assert.Equal("Failed", state.Output["Outcome"]!.GetValue<string>());
        Assert.Equal("The restore failed", state.Output["FailureReason"]!.GetValue<string>());
        Assert.Single(statuspage.Requests);
    }

    [Fact]
    public async Task A_rehearsal_leaves_the_status_page_untouched_and_never_names_it_among_what_was_posted()
    {
        slack.Server.Given(Request.Create().WithPath("/api/chat.postMessage").UsingPost()).RespondWith(Json(200, """{"ok":false,"error":"channel_not_found"}"""));
        GitHubWorks();
        await using var host = Host();
        var closing = Closing(CloseIncident.Recovered);
        closing.Rehearsal = true;

        var (state, completed) = await RunAsync(host, closing);

        Assert.Equal(["close Failed"], host.Output.Lines);
        Assert.Empty(statuspage.Requests);
        var error = state.ActivityOutputs["close"]["Error"]!.GetValue<string>();
        Assert.StartsWith("Slack report not posted: ", error, StringComparison.Ordinal);
        Assert.EndsWith("(the post-mortem issue was posted)", error, StringComparison.Ordinal);
        Assert.DoesNotContain("status page", error, StringComparison.OrdinalIgnoreCase);
        SlackClientTests.AssertJson(
            """{"action":"resolve","status":"resolved","body":"Service has been restored.","components":{"cmp-db":"operational"},"rehearsal":true,"posted":false}""",
            completed.Payload!["data"]!["statusPage"]!.ToJsonString());
        var (_, body) = Assert.Single(CreatedIssues());
        Assert.Matches(@"\| [0-9:]+ \| Close \| Status page resolution not posted \(rehearsal: journaled only\) \|", body);
        Assert.DoesNotContain("Status page resolution posted", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_repeat_finds_the_issue_the_first_attempt_opened_and_opens_no_second_one()
    {
        SlackWorks();
        StatusPageAnswers(200);
        GitHubWorks();
        await using var host = Host();
        var builder = Workflow(out var flow);
        var first = flow.Add(Closing(CloseIncident.NotRecovered, failureReason: "The restore failed"));
        var again = Closing(CloseIncident.NotRecovered, failureReason: "The restore failed");
        again.Id = "closeAgain";
        flow.Connect(first, flow.Add(again));

        var state = await host.RunCodeAsync(builder);

        Assert.Equal(WorkflowSubStatus.Finished, state.SubStatus);
        Assert.Single(CreatedIssues());
        Assert.Equal(12, state.ActivityOutputs["closeAgain"]["IssueNumber"]!.GetValue<int>());
        var repeated = Assert.Single(await host.JournalAsync(state.Id), e => e.ActivityId == "closeAgain" && e.EventName == JournalEvents.Completed);
        Assert.False(repeated.Payload!["data"]!["github"]!["created"]!.GetValue<bool>());
    }

    [Fact]
    public async Task An_outcome_that_is_none_faults_the_step_before_anything_is_posted()
    {
        await using var host = Host();
        var builder = Workflow(out var flow);
        flow.Add(Closing("Recoverd"));

        var state = await host.RunCodeAsync(builder);

        Assert.Equal(WorkflowSubStatus.Faulted, state.SubStatus);
        Assert.Contains("outcome 'Recoverd' is none of Recovered, Failed, Partial", Assert.Single(state.Incidents).Message, StringComparison.Ordinal);
        Assert.Empty(slack.Requests);
        Assert.Empty(statuspage.Requests);
        Assert.Empty(github.Requests);
    }

    [Fact]
    public async Task An_outcome_not_given_is_never_taken_as_recovered()
    {
        await using var host = Host();
        var builder = Workflow(out var flow);
        var close = Closing("Recovered");
        close.Outcome = null;
        flow.Add(close);

        var state = await host.RunCodeAsync(builder);

        Assert.Equal(WorkflowSubStatus.Faulted, state.SubStatus);
        Assert.Contains("outcome '' is none of Recovered, Failed, Partial", Assert.Single(state.Incidents).Message, StringComparison.Ordinal);
        Assert.False(state.Output.ContainsKey("Outcome"));
        Assert.Empty(statuspage.Requests);
        Assert.Empty(github.Requests);
        var outcome = host.Registry.All.Single(d => d.TypeName == "DrWorkflows.CloseIncident").Inputs.Single(i => i.Name == "Outcome");
        Assert.Null(outcome.DefaultValue);
    }

    [Fact]
    public async Task The_closing_is_a_registered_notification_step_with_Done_and_Failed()
    {
        await using var host = Host();

        var descriptor = host.Registry.All.Single(d => d.TypeName == "DrWorkflows.CloseIncident");

        Assert.Equal("Notifications", descriptor.Category);
        Assert.Equal(["Done", "Failed"], descriptor.Outcomes);
        Assert.True(descriptor.SafeToRerun);
        Assert.Subset(
            descriptor.Inputs.Select(i => i.Name).ToHashSet(),
            new HashSet<string> { "Outcome", "FailureReason", "Severity", "Channel", "ThreadTs", "RecoveredText", "IncidentId", "ResolvedBody", "IdentifiedBody", "EscalationSubject", "EscalationMessage", "Summary", "Impact", "RtoTarget", "RpoTarget", "LastGoodDataAt", "Labels", "ComponentIds", "Rehearsal" });
    }

    private static CloseIncident Closing(string outcome, string? failureReason = null) => new()
    {
        Id = "close",
        Outcome = new(outcome),
        FailureReason = failureReason is null ? null : new(failureReason),
        Severity = "SEV-1",
        Channel = "C0INC",
        ThreadTs = ThreadTs,
        RecoveredText = ":white_check_mark: {{scenario}}: recovered.",
        IncidentId = "inc77",
        ResolvedBody = "Service has been restored.",
        IdentifiedBody = "Engineers are restoring service.",
        ComponentIds = new Input<List<string>>(["cmp-db"]),
        EscalationSubject = "{{scenario}}: automated recovery stopped",
        EscalationMessage = "Automated recovery stopped: {{failure}}.",
        Values = Input<JsonObject>.FromObject("""{"scenario":"Database container failure"}"""),
        Summary = "The database came back.",
        RtoTarget = new Input<TimeSpan?>(TimeSpan.FromMinutes(30)),
        Labels = new Input<List<string>>(["database-container-failure"]),
    };

    private static WorkflowBuilder Workflow(out FlowchartBuilder flow)
    {
        var builder = new WorkflowBuilder("incident", "Database container failure");
        flow = builder.Flowchart();
        return builder;
    }

    /// <summary>Runs <paramref name="step"/> with Done and Failed each leading to a line naming the port; the run finishes.</summary>
    private static async Task<(WorkflowState State, JournalEntry Completed)> RunAsync(WorkflowTestHost host, CloseIncident step)
    {
        var builder = Workflow(out var flow);
        flow.Add(step);
        flow.Connect(step, flow.Add(new WriteLine { Text = step.Id + " Done" }))
            .Connect(step, flow.Add(new WriteLine { Text = step.Id + " Failed" }), BestEffortActivity.FailedOutcome);

        var state = await host.RunCodeAsync(builder);

        Assert.True(state.SubStatus == WorkflowSubStatus.Finished, string.Join("; ", state.Incidents.Select(i => i.Message)));
        var completed = Assert.Single(await host.JournalAsync(state.Id), e => e.ActivityId == step.Id && e.EventName == JournalEvents.Completed);
        return (state, completed);
    }

    private void SlackWorks() =>
        slack.Server.Given(Request.Create().WithPath("/api/chat.postMessage").UsingPost()).RespondWith(Json(200, """{"ok":true,"channel":"C0INC","ts":"1772373600.000300"}"""));

    private void StatusPageAnswers(int status) =>
        statuspage.Server.Given(Request.Create().WithPath(IncidentPath).UsingPatch())
            .RespondWith(Json(status, """{"id":"inc77","name":"Database Restoration in Progress","status":"resolved","created_at":"2026-11-01T03:00:00Z"}"""));

    /// <summary>GitHub as it behaves: GET lists the issues created so far, POST creates one (number 12 and on).</summary>
    private void GitHubWorks()
    {
        github.Server.Given(Request.Create().WithPath(IssuesPath).UsingGet()).RespondWith(Response.Create().WithCallback(_ =>
        {
            lock (issues)
                return JsonResponse(200, new JsonArray([.. issues.Select(i => (JsonNode?)i.DeepClone())]).ToJsonString());
        }));
        github.Server.Given(Request.Create().WithPath(IssuesPath).UsingPost()).RespondWith(Response.Create().WithCallback(request =>
        {
            var sent = JsonNode.Parse(request.Body!)!;
            lock (issues)
            {
                var issue = new JsonObject
                {
                    ["id"] = issues.Count + 1,
                    ["number"] = 12 + issues.Count,
                    ["title"] = sent["title"]!.GetValue<string>(),
                    ["state"] = "open",
                    ["body"] = sent["body"]!.GetValue<string>(),
                    ["html_url"] = $"https://github.example/acme/platform/issues/{12 + issues.Count}",
                    ["user"] = new JsonObject { ["login"] = "bot", ["id"] = 1 },
                };
                issues.Add(issue);
                return JsonResponse(201, issue.ToJsonString());
            }
        }));
    }

    /// <summary>Title and body of each issue created.</summary>
    private List<(string Title, string Body)> CreatedIssues()
    {
        lock (issues)
            return [.. issues.Select(i => (i["title"]!.GetValue<string>(), i["body"]!.GetValue<string>()))];
    }

    private List<string> LabelsOfCreatedIssue() =>
        [.. JsonNode.Parse(Assert.Single(github.Requests, r => r.Method == "POST").Body!)!["labels"]!.AsArray().Select(l => l!.GetValue<string>())];

    /// <summary>Slack, Statuspage, SMTP (unless <paramref name="withEmail"/> is false) and GitHub stand-ins; Ines is the incident commander.</summary>
    private WorkflowTestHost Host(bool withEmail = true) =>
        WorkflowTestHost.Create(configure: services => services
            .AddActivities(typeof(CloseIncident).Assembly)
            .AddGitHubStandIn(github.Url, maxAttempts: 1)
            .AddNotifications(o =>
            {
                o.Slack.BotToken = "xoxb-close-test";
                o.Slack.BaseUrl = slack.Url + "/api/";
                o.Slack.DefaultChannel = "C0INC";
                o.Slack.MaxAttempts = 1;
                o.StatusPage.ApiKey = "sp-key";
                o.StatusPage.PageId = "pg1";
                o.StatusPage.BaseUrl = statuspage.Url + "/v1/";
                o.StatusPage.RetryDelay = TimeSpan.Zero;
                if (withEmail)
                {
                    o.Email.Host = "127.0.0.1";
                    o.Email.Port = smtp.Configuration.Port;
                    o.Email.Security = "None";
                    o.Email.From = "dr@example.com";
                }

                o.Contacts.Roles[ContactRoles.IncidentCommander] = [new ContactPerson { Name = "Ines", SlackUserId = "U0IC", Email = "ic@example.com" }];
            }));

    private static WireMock.ResponseMessage JsonResponse(int status, string body) => new()
    {
        StatusCode = status,
        Headers = new Dictionary<string, WireMock.Types.WireMockList<string>> { ["Content-Type"] = new("application/json") },
        BodyData = new WireMock.Util.BodyData { BodyAsString = body, DetectedBodyType = WireMock.Types.BodyType.String },
    };
}
