using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using DrWorkflows.Activities.Notifications;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Activities.Primitives;
using DrWorkflows.Core.Building;
using DrWorkflows.Core.Execution;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using netDumbster.smtp;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace DrWorkflows.Activities.Tests.Notifications;

/// <summary>The notify activities in real runs (the runtime's test host) against the channel stand-ins.</summary>
public sealed partial class NotifyActivitiesTests : IDisposable
{
    private readonly HttpStandIn slack = HttpStandIn.Start();
    private readonly HttpStandIn statuspage = HttpStandIn.Start();

    public void Dispose()
    {
        slack.Dispose();
        statuspage.Dispose();
    }

    [Fact]
    public async Task Updates_go_to_the_incident_thread_kept_in_a_workflow_variable()
    {
        slack.Server.Given(Request.Create().WithPath("/api/chat.postMessage").UsingPost()).InScenario("t").WillSetStateTo("posted")
            .RespondWith(Ok("""{"ok":true,"channel":"C0INC","ts":"1772373600.000100"}"""));
        slack.Server.Given(Request.Create().WithPath("/api/chat.postMessage").UsingPost()).InScenario("t").WhenStateIs("posted")
            .RespondWith(Ok("""{"ok":true,"channel":"C0INC","ts":"1772373660.000200"}"""));
        await using var host = Host();
        var builder = new WorkflowBuilder("thread", "Database container failure").WithVariable<string>("Thread");
        var flow = builder.Flowchart();
        var declare = flow.Add(new SendSlackMessage
        {
            Channel = "#incidents",
            Text = "SEV-1: {{service}} is down ({{workflowName}})",
            Values = Input<JsonObject>.FromObject("""{"service":"postgres-main"}"""),
            ThreadRootTs = new Output<string>("Thread"),
        });
        var update = flow.Add(new SendSlackMessage { Channel = "#incidents", Text = "Restore <started> & running", ThreadTs = Input<string>.FromVariable("Thread") });
        var after = flow.Add(new WriteLine { Text = "recovery goes on" });
        flow.Chain(declare, update, after);

        var state = await host.RunCodeAsync(builder);

        Assert.Equal(WorkflowSubStatus.Finished, state.SubStatus);
        Assert.Equal(["recovery goes on"], host.Output.Lines);
        Assert.Equal("1772373600.000100", state.Variables["Thread"]?.GetValue<string>());
        var requests = slack.Requests;
        Assert.Equal(2, requests.Count);
        SlackClientTests.AssertJson("""{"channel":"#incidents","text":"SEV-1: postgres-main is down (Database container failure)","unfurl_links":false}""", requests[0].Body);
        SlackClientTests.AssertJson("""{"channel":"#incidents","text":"Restore <started> & running","thread_ts":"1772373600.000100","unfurl_links":false}""", requests[1].Body);
    }

    [Fact]
    public async Task A_failed_notification_completes_with_Failed_and_the_workflow_goes_on()
    {
        slack.Server.Given(Request.Create().WithPath("/api/chat.postMessage").UsingPost()).RespondWith(Ok("""{"ok":false,"error":"channel_not_found"}"""));
        await using var host = Host();

        var (state, completed) = await RunWithBothPortsAsync(host, new SendSlackMessage { Id = "notify", Channel = "C0GONE", Text = "hello" });

        Assert.Equal(["notify Failed"], host.Output.Lines);
        Assert.Contains("channel_not_found", state.ActivityOutputs["notify"]["Error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(["Failed"], completed.Outcomes);
        var failure = completed.Payload!["data"]!["failure"]!;
        Assert.Equal("slack", failure["channel"]!.GetValue<string>());
        Assert.Equal("slack.channel_not_found", failure["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task With_FailureIsFatal_a_failed_notification_raises_an_incident()
    {
        slack.Server.Given(Request.Create().WithPath("/api/chat.postMessage").UsingPost()).RespondWith(Ok("""{"ok":false,"error":"invalid_auth"}"""));
        await using var host = Host();
        var builder = new WorkflowBuilder("fatal", "Fatal");
        var flow = builder.Flowchart();
        var notify = flow.Add(new SendSlackMessage { Id = "notify", Channel = "C1", Text = "must be seen", FailureIsFatal = true });
        flow.Chain(notify, flow.Add(new WriteLine { Text = "after" }));

        var state = await host.RunCodeAsync(builder);

        Assert.Equal(WorkflowSubStatus.Faulted, state.SubStatus);
        var incident = Assert.Single(state.Incidents);
        Assert.Equal("notify", incident.ActivityId);
        Assert.Contains("invalid_auth", incident.Message, StringComparison.Ordinal);
        Assert.Empty(host.Output.Lines);
    }

    [Fact]
    public async Task The_status_page_incident_id_is_kept_so_later_steps_update_and_resolve_the_same_incident()
    {
        var page = "/v1/pages/pg1/incidents";
        statuspage.Server.Given(Request.Create().WithPath(page + "/unresolved").UsingGet()).RespondWith(Ok("[]"));
        statuspage.Server.Given(Request.Create().WithPath(page).UsingPost())
            .RespondWith(Ok("""{"id":"inc77","name":"Database Restoration in Progress","status":"investigating","shortlink":"https://stspg.io/inc77","created_at":"2026-11-01T03:00:00Z"}"""));
        statuspage.Server.Given(Request.Create().WithPath(page + "/inc77").UsingPatch())
            .RespondWith(Ok("""{"id":"inc77","name":"Database Restoration in Progress","status":"resolved","created_at":"2026-11-01T03:00:00Z"}"""));
        await using var host = Host();
        var builder = new WorkflowBuilder("status", "Status page").WithVariable<string>("Incident");
        var flow = builder.Flowchart();
        var open = flow.Add(new CreateStatusPageIncident
        {
            Id = "open",
            IncidentName = "Database Restoration in Progress",
            Impact = "major",
            Body = "We are restoring {{component}}.",
            Values = Input<JsonObject>.FromObject("""{"component":"the database"}"""),
            ComponentIds = new Input<List<string>>(["cmp-db"]),
            IncidentId = new Output<string>("Incident"),
        });
        var resolve = flow.Add(new ResolveStatusPageIncident { IncidentId = Input<string>.FromVariable("Incident"), ComponentIds = new Input<List<string>>(["cmp-db"]) });
        flow.Chain(open, resolve);

        var state = await host.RunCodeAsync(builder);

        Assert.Equal(WorkflowSubStatus.Finished, state.SubStatus);
        Assert.Equal("inc77", state.Variables["Incident"]?.GetValue<string>());
        Assert.Equal("https://stspg.io/inc77", state.ActivityOutputs["open"]["Shortlink"]!.GetValue<string>());
        var requests = statuspage.Requests;
        Assert.Equal(["GET", "POST", "PATCH"], requests.Select(r => r.Method));
        SlackClientTests.AssertJson(
            """{"incident":{"name":"Database Restoration in Progress","status":"investigating","deliver_notifications":true,"body":"We are restoring the database.","impact_override":"major","component_ids":["cmp-db"],"components":{"cmp-db":"major_outage"}}}""",
            requests[1].Body);
        Assert.Equal(page + "/inc77", requests[2].AbsolutePath);
        SlackClientTests.AssertJson(
            """{"incident":{"deliver_notifications":true,"status":"resolved","body":"This incident has been resolved.","component_ids":["cmp-db"],"components":{"cmp-db":"operational"}}}""",
            requests[2].Body);
    }

    [Fact]
    public async Task NotifyContacts_pages_the_severitys_people_on_Slack_and_by_email()
    {
        slack.Server.Given(Request.Create().WithPath("/api/chat.postMessage").UsingPost()).RespondWith(Ok("""{"ok":true,"channel":"C0WAR","ts":"1772373600.000900"}"""));
        using var smtp = Configuration.Configure().WithAddress(IPAddress.Loopback).WithRandomPort().Build();
        await using var host = EmailHost(smtp, o =>
        {
            o.Contacts.Roles[ContactRoles.OperationsLead] = [new ContactPerson { Name = "Olga", Email = "ops@example.com", Phone = "+1 555 0101" }];
            o.Contacts.Roles[ContactRoles.DatabaseAdmin] = [new ContactPerson { Name = "Dan", SlackUserId = "U0DBA" }];
            o.Contacts.Severities["SEV-2"] = new SeverityPolicyOptions { Roles = [ContactRoles.IncidentCommander, ContactRoles.OperationsLead], SlackChannel = "C0WAR" };
        });
        var builder = new WorkflowBuilder("page", "Page");
        var flow = builder.Flowchart();
        flow.Add(new NotifyContacts { Id = "page", Severity = "SEV-2", Subject = "Redis degraded", Message = "Redis answers slowly on {{host}}.", Values = Input<JsonObject>.FromObject("""{"host":"prod-1"}""") });

        var state = await host.RunCodeAsync(builder);

        Assert.Equal(WorkflowSubStatus.Finished, state.SubStatus);
        Assert.Equal(["Ines", "Olga"], state.ActivityOutputs["page"]["Notified"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("1772373600.000900", state.ActivityOutputs["page"]["ThreadRootTs"]!.GetValue<string>());
        var text = JsonNode.Parse(Assert.Single(slack.Requests).Body!)!;
        Assert.Equal("C0WAR", text["channel"]!.GetValue<string>());
        Assert.Equal("*[SEV-2] Redis degraded*\nRedis answers slowly on prod-1.\n\n_On-call engineer + manager_\nPaging: <@U0IC> (Incident commander), Olga (Operations lead)", text["text"]!.GetValue<string>());
        var mail = Assert.Single(smtp.ReceivedEmail);
        Assert.Equal(["ic@example.com", "ops@example.com"], mail.ToAddresses.Select(a => a.Address));
        var mime = MimeMessage.Load(new MemoryStream(Encoding.UTF8.GetBytes(mail.Data)), TestContext.Current.CancellationToken);
        Assert.Equal("[SEV-2] Redis degraded", mime.Subject);
        Assert.Contains("- Olga (Operations lead), +1 555 0101", mime.TextBody, StringComparison.Ordinal);
        Assert.Contains("<li>Ines (Incident commander)</li>", mime.HtmlBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hostile_values_reach_Slack_and_the_HTML_part_of_the_email_inert()
    {
        const string hostile = "<!channel> <https://evil.example|click> <img src=x onerror=alert(1)> <script>alert(2)</script> & <b>bold</b>";
        slack.Server.Given(Request.Create().WithPath("/api/chat.postMessage").UsingPost()).RespondWith(Ok("""{"ok":true,"channel":"C0WAR","ts":"1772373600.000900"}"""));
        using var smtp = Configuration.Configure().WithAddress(IPAddress.Loopback).WithRandomPort().Build();
        await using var host = EmailHost(smtp, o =>
        {
            o.Contacts.Severities["SEV-1"] = new SeverityPolicyOptions { Roles = [ContactRoles.IncidentCommander], SlackChannel = "C0WAR" };
        });
        var builder = new WorkflowBuilder("hostile", "Hostile");
        var flow = builder.Flowchart();
        var values = new JsonObject { ["reason"] = hostile }.ToJsonString();
        flow.Add(new NotifyContacts { Id = "page", Severity = "SEV-1", Subject = "Database down: {{reason}}", Message = "<p>The alert said: {{reason}}</p>", Values = Input<JsonObject>.FromObject(values) });

        var state = await host.RunCodeAsync(builder);

        Assert.Equal(WorkflowSubStatus.Finished, state.SubStatus);
        var text = JsonNode.Parse(Assert.Single(slack.Requests).Body!)!["text"]!.GetValue<string>();
        Assert.DoesNotContain("<!channel>", text, StringComparison.Ordinal);
        Assert.DoesNotContain("<https://evil", text, StringComparison.Ordinal);
        Assert.Contains("&lt;!channel&gt; &lt;https://evil.example|click&gt;", text, StringComparison.Ordinal);
        var mail = Assert.Single(smtp.ReceivedEmail);
        var mime = MimeMessage.Load(new MemoryStream(Encoding.UTF8.GetBytes(mail.Data)), TestContext.Current.CancellationToken);
        Assert.DoesNotContain("<img", mime.HtmlBody, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<script", mime.HtmlBody, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<b>", mime.HtmlBody, StringComparison.Ordinal);
        Assert.Contains("&lt;img src=x onerror=alert(1)&gt;", mime.HtmlBody, StringComparison.Ordinal);
        // The template is the designer's: its own markup stays.
        Assert.Contains("<p>The alert said: ", mime.HtmlBody, StringComparison.Ordinal);
        Assert.Contains(hostile, mime.TextBody, StringComparison.Ordinal);
    }

    /// <summary>The host with the SMTP stand-in as relay and Ines (incident commander, Slack and email) in the contact tree.</summary>
    private WorkflowTestHost EmailHost(SimpleSmtpServer smtp, Action<NotificationsOptions> configure) => Host(o =>
    {
        o.Email.Host = "127.0.0.1";
        o.Email.Port = smtp.Configuration.Port;
        o.Email.Security = "None";
        o.Email.From = "dr@example.com";
        o.Contacts.Roles[ContactRoles.IncidentCommander] = [new ContactPerson { Name = "Ines", SlackUserId = "U0IC", Email = "ic@example.com" }];
        configure(o);
    });

    private WorkflowTestHost Host(Action<NotificationsOptions>? configure = null) =>
        WorkflowTestHost.Create(configure: services => services
            .AddActivities(typeof(SendSlackMessage).Assembly)
            .AddNotifications(o =>
            {
                o.Slack.BotToken = "xoxb-activity-test";
                o.Slack.BaseUrl = slack.Url + "/api/";
                o.Slack.RetryDelay = TimeSpan.Zero;
                o.StatusPage.ApiKey = "sp-key";
                o.StatusPage.PageId = "pg1";
                o.StatusPage.BaseUrl = statuspage.Url + "/v1/";
                o.StatusPage.RetryDelay = TimeSpan.Zero;
                configure?.Invoke(o);
            }));


    /// <summary>
    /// Runs <paramref name="step"/> with <c>Done</c> and <c>Failed</c> both leading on (as the DR workflows connect
    /// best-effort steps), each to a line of output naming the port; checks the run finished without an incident and
    /// returns it with the step's completion in the journal.
    /// </summary>
    private static async Task<(WorkflowState State, JournalEntry Completed)> RunWithBothPortsAsync(WorkflowTestHost host, BestEffortActivity step)
    {
        var builder = new WorkflowBuilder("best-effort", "Database container failure");
        var flow = builder.Flowchart();
        flow.Add(step);
        flow.Connect(step, flow.Add(new WriteLine { Text = step.Id + " Done" }))
            .Connect(step, flow.Add(new WriteLine { Text = step.Id + " Failed" }), BestEffortActivity.FailedOutcome);

        var state = await host.RunCodeAsync(builder);

        Assert.Equal(WorkflowSubStatus.Finished, state.SubStatus);
        Assert.Empty(state.Incidents);
        var completed = Assert.Single(await host.JournalAsync(state.Id), e => e.ActivityId == step.Id && e.EventName == JournalEvents.Completed);
        return (state, completed);
    }

    private static IResponseBuilder Ok(string json) =>
        Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(json);
}
