using System.Net;
using System.Text.Json.Nodes;
using DrWorkflows.Activities.GitHub;
using DrWorkflows.Activities.Notifications;
using DrWorkflows.Activities.Tests.Notifications;
using DrWorkflows.Core.Activities.Primitives;
using DrWorkflows.Core.Building;
using DrWorkflows.Core.Execution;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using netDumbster.smtp;
using WireMock.RequestBuilders;
using static DrWorkflows.Activities.Tests.Notifications.HttpStandIn;

namespace DrWorkflows.Activities.Tests.GitHub;

/// <summary>OpenPostMortemIssue at the end of a real run, writing from the run's own journal.</summary>
public sealed class OpenPostMortemIssueTests : IDisposable
{
    private const string IssuesPath = "/api/v3/repos/acme/platform/issues";
    private readonly HttpStandIn github = HttpStandIn.Start();
    private readonly HttpStandIn slack = HttpStandIn.Start();

    public void Dispose()
    {
        github.Dispose();
        slack.Dispose();
    }

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
    public async Task GitHub_failing_pages_on_call_on_Slack_and_by_email_and_the_run_goes_on()
    {
        github.Server.Given(Request.Create().WithPath(IssuesPath).UsingGet()).RespondWith(Json(500, """{"message":"boom"}"""));
        slack.Server.Given(Request.Create().WithPath("/api/chat.postMessage").UsingPost()).RespondWith(Json(200, """{"ok":true,"channel":"C0INC","ts":"1772373600.000100"}"""));
        using var smtp = Configuration.Configure().WithAddress(IPAddress.Loopback).WithRandomPort().Build();
        await using var host = Host(o =>
        {
            o.Email.Host = "127.0.0.1";
            o.Email.Port = smtp.Configuration.Port;
            o.Email.Security = "None";
            o.Email.From = "dr@example.com";
        });
        var builder = new WorkflowBuilder("incident", "Incident");
        var flow = builder.Flowchart();
        var report = flow.Add(new OpenPostMortemIssue { Id = "report" });
        flow.Connect(report, flow.Add(new WriteLine { Text = "post-mortem failed, run ends anyway" }), "Failed");

        var state = await host.RunCodeAsync(builder);

        Assert.Equal(WorkflowSubStatus.Finished, state.SubStatus);
        Assert.Equal(["post-mortem failed, run ends anyway"], host.Output.Lines);
        Assert.Contains("GitHub answered HTTP 500 while trying to list issues in acme/platform", state.ActivityOutputs["report"]["Error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(2, github.Requests.Count);
        var page = JsonNode.Parse(Assert.Single(slack.Requests).Body!)!;
        Assert.Equal("C0INC", page["channel"]!.GetValue<string>());
        var text = page["text"]!.GetValue<string>();
        Assert.StartsWith($":rotating_light: *Post-mortem of run {state.Id} not published*\nThe post-mortem of run {state.Id} (Incident) could not be opened on GitHub: GitHub answered HTTP 500", text, StringComparison.Ordinal);
        Assert.Contains($"drw journal {state.Id}", text, StringComparison.Ordinal);
        Assert.EndsWith("On call: <@U0IC>", text, StringComparison.Ordinal);
        var mail = Assert.Single(smtp.ReceivedEmail);
        Assert.Equal(["ic@example.com"], mail.ToAddresses.Select(a => a.Address));
        Assert.Contains($"Post-mortem of run {state.Id} not published", mail.Headers["Subject"], StringComparison.Ordinal);
        var completed = Assert.Single(await host.JournalAsync(state.Id), e => e.ActivityId == "report" && e.EventName == JournalEvents.Completed);
        Assert.Equal(["slack", "email"], completed.Payload!["data"]!["paged"]!["channels"]!.AsArray().Select(c => c!.GetValue<string>()));
        Assert.Equal(["Ines"], completed.Payload["data"]!["paged"]!["people"]!.AsArray().Select(c => c!.GetValue<string>()));
    }

    [Fact]
    public async Task When_on_call_cannot_be_paged_either_the_step_raises_an_incident()
    {
        github.Server.Given(Request.Create().WithPath(IssuesPath).UsingGet()).RespondWith(Json(500, """{"message":"boom"}"""));
        slack.Server.Given(Request.Create().WithPath("/api/chat.postMessage").UsingPost()).RespondWith(Json(200, """{"ok":false,"error":"channel_not_found"}"""));
        await using var host = Host();
        var builder = new WorkflowBuilder("incident", "Incident");
        var flow = builder.Flowchart();
        var report = flow.Add(new OpenPostMortemIssue { Id = "report" });
        flow.Connect(report, flow.Add(new WriteLine { Text = "must not be reached quietly" }), "Failed");

        var state = await host.RunCodeAsync(builder);

        Assert.Equal(WorkflowSubStatus.Faulted, state.SubStatus);
        Assert.Empty(host.Output.Lines);
        var incident = Assert.Single(state.Incidents);
        Assert.Equal("report", incident.ActivityId);
        Assert.Contains("GitHub answered HTTP 500", incident.Message, StringComparison.Ordinal);
        Assert.Contains("On-call could not be paged: Slack chat.postMessage", incident.Message, StringComparison.Ordinal);
        Assert.Contains("channel_not_found", incident.Message, StringComparison.Ordinal);
    }

    /// <summary>GitHub and Slack stand-ins; the contact tree's first tier is the incident commander, Ines.</summary>
    private WorkflowTestHost Host(Action<NotificationsOptions>? notifications = null) =>
        WorkflowTestHost.Create(configure: services => services
            .AddActivities(typeof(OpenPostMortemIssue).Assembly)
            .AddGitHubStandIn(github.Url, maxAttempts: 2)
            .AddNotifications(o =>
            {
                o.Slack.BotToken = "xoxb-post-mortem-test";
                o.Slack.BaseUrl = slack.Url + "/api/";
                o.Slack.DefaultChannel = "C0INC";
                o.Slack.MaxAttempts = 1;
                o.Contacts.Roles[ContactRoles.IncidentCommander] = [new ContactPerson { Name = "Ines", SlackUserId = "U0IC", Email = "ic@example.com" }];
                notifications?.Invoke(o);
            }));
}
