using System.Net;
using System.Text.Json.Nodes;
using DrWorkflows.Activities.Notifications;
using DrWorkflows.Core.Abstractions;
using netDumbster.smtp;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace DrWorkflows.Activities.Tests.Notifications;

/// <summary>OpenIncident: one step that sets the severity, announces in Slack, opens the status page incident and pages the contact tree, each post whatever the others did.</summary>
public sealed partial class NotifyActivitiesTests
{
    private const string Incidents = "/v1/pages/pg1/incidents";
    private const string AnnouncementTs = "1772373600.000100";

    [Fact]
    public async Task Opening_an_incident_announces_it_opens_the_status_page_and_pages_the_contact_tree_in_the_thread()
    {
        SlackAnswersInTurn("""{"ok":true,"channel":"C0INC","ts":"1772373600.000100"}""", """{"ok":true,"channel":"C0INC","ts":"1772373600.000200"}""");
        StatusPageOpens(200, """{"id":"inc77","name":"Database Restoration in Progress","status":"investigating","shortlink":"https://stspg.io/inc77","created_at":"2026-11-01T03:00:00Z"}""");
        using var smtp = Smtp();
        await using var host = EmailHost(smtp, _ => { });

        var (state, completed) = await RunWithBothPortsAsync(host, Opening(severity: "SEV-1"));

        Assert.Equal(["open Done"], host.Output.Lines);
        Assert.Equal(["Done"], completed.Outcomes);
        var outputs = state.ActivityOutputs["open"];
        Assert.Null(outputs.GetValueOrDefault("Error"));
        Assert.Equal("SEV-1", outputs["IncidentSeverity"]!.GetValue<string>());
        Assert.Equal(AnnouncementTs, outputs["ThreadRootTs"]!.GetValue<string>());
        Assert.Equal("C0INC", outputs["ChannelId"]!.GetValue<string>());
        Assert.Equal("inc77", outputs["IncidentId"]!.GetValue<string>());
        Assert.Equal(["Ines"], outputs["Notified"]!.AsArray().Select(n => n!.GetValue<string>()));

        var posts = slack.Requests;
        Assert.Equal(2, posts.Count);
        SlackClientTests.AssertJson("""{"channel":"#incidents","text":":rotating_light: *SEV-1 Database container failure* &lt;postgres-main&gt; is down","unfurl_links":false}""", posts[0].Body);
        var page = JsonNode.Parse(posts[1].Body!)!;
        Assert.Equal("C0INC", page["channel"]!.GetValue<string>());
        Assert.Equal(AnnouncementTs, page["thread_ts"]!.GetValue<string>());
        Assert.StartsWith("*[SEV-1] Database container failure*\nPaged about &lt;postgres-main&gt;.", page["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("<@U0IC> (Incident commander)", page["text"]!.GetValue<string>(), StringComparison.Ordinal);
        var create = Assert.Single(statuspage.Requests, r => r.Method == "POST");
        SlackClientTests.AssertJson(
            """{"incident":{"name":"Database Restoration in Progress","status":"investigating","deliver_notifications":true,"body":"We are restoring the database.","component_ids":["cmp-db"],"components":{"cmp-db":"major_outage"}}}""",
            create.Body);
        Assert.Equal("[SEV-1] Database container failure", Assert.Single(smtp.ReceivedEmail).Subject);

        var data = completed.Payload!["data"]!;
        Assert.Equal(AnnouncementTs, data["slack"]!["ts"]!.GetValue<string>());
        Assert.Equal("created", data["statusPage"]!["action"]!.GetValue<string>());
        Assert.Equal(AnnouncementTs, data["pageSlack"]!["threadTs"]!.GetValue<string>());
        Assert.Equal("SEV-1", data["contacts"]!["severity"]!.GetValue<string>());
        Assert.Null(data["page"]);
        Assert.Null(data["failure"]);
    }

    [Fact]
    public async Task When_Slack_is_down_the_status_page_is_still_opened_and_the_contact_tree_still_emailed_and_the_step_names_what_failed()
    {
        SlackAnswersInTurn("""{"ok":false,"error":"channel_not_found"}""", """{"ok":false,"error":"channel_not_found"}""");
        StatusPageOpens(200, """{"id":"inc77","name":"Database Restoration in Progress","status":"investigating","created_at":"2026-11-01T03:00:00Z"}""");
        using var smtp = Smtp();
        await using var host = EmailHost(smtp, _ => { });

        var (state, completed) = await RunWithBothPortsAsync(host, Opening(severity: "SEV-1"));

        Assert.Equal(["open Failed"], host.Output.Lines);
        Assert.Equal(["Failed"], completed.Outcomes);
        Assert.Equal(2, slack.Requests.Count);
        Assert.Single(statuspage.Requests, r => r.Method == "POST" && r.AbsolutePath == Incidents);
        Assert.Single(smtp.ReceivedEmail);
        var outputs = state.ActivityOutputs["open"];
        Assert.Equal("inc77", outputs["IncidentId"]!.GetValue<string>());
        Assert.Equal(["Ines"], outputs["Notified"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Null(outputs.GetValueOrDefault("ThreadRootTs"));
        var error = outputs["Error"]!.GetValue<string>();
        Assert.StartsWith("Slack announcement not posted: ", error, StringComparison.Ordinal);
        Assert.Contains(" | Page to the contact tree not posted: ", error, StringComparison.Ordinal);
        Assert.Contains("channel_not_found", error, StringComparison.Ordinal);
        Assert.EndsWith("(the status page incident was posted)", error, StringComparison.Ordinal);
        var data = completed.Payload!["data"]!;
        Assert.False(data["slack"]!["posted"]!.GetValue<bool>());
        Assert.Equal("slack.channel_not_found", data["slack"]!["code"]!.GetValue<string>());
        Assert.Equal("created", data["statusPage"]!["action"]!.GetValue<string>());
        Assert.False(data["page"]!["posted"]!.GetValue<bool>());
        Assert.Equal(1, data["email"]!["recipients"]!.GetValue<int>());
        Assert.Equal("slack, contacts", data["failure"]!["channel"]!.GetValue<string>());
        Assert.Equal("notifications.open-failed", data["failure"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task When_the_status_page_fails_the_announcement_and_the_paging_still_happen_and_the_step_names_the_status_page()
    {
        SlackAnswersInTurn("""{"ok":true,"channel":"C0INC","ts":"1772373600.000100"}""", """{"ok":true,"channel":"C0INC","ts":"1772373600.000200"}""");
        StatusPageOpens(422, """{"error":"Name can't be blank"}""");
        using var smtp = Smtp();
        await using var host = EmailHost(smtp, _ => { });

        var (state, completed) = await RunWithBothPortsAsync(host, Opening(severity: "SEV-1"));

        Assert.Equal(["open Failed"], host.Output.Lines);
        Assert.Equal(2, slack.Requests.Count);
        Assert.Equal(AnnouncementTs, JsonNode.Parse(slack.Requests[1].Body!)!["thread_ts"]!.GetValue<string>());
        Assert.Single(smtp.ReceivedEmail);
        var outputs = state.ActivityOutputs["open"];
        Assert.Equal(AnnouncementTs, outputs["ThreadRootTs"]!.GetValue<string>());
        Assert.Null(outputs.GetValueOrDefault("IncidentId"));
        var error = outputs["Error"]!.GetValue<string>();
        Assert.StartsWith("Status page incident not posted: ", error, StringComparison.Ordinal);
        Assert.Contains("422", error, StringComparison.Ordinal);
        Assert.EndsWith("(the Slack announcement and the page to the contact tree were posted)", error, StringComparison.Ordinal);
        var data = completed.Payload!["data"]!;
        Assert.Equal(AnnouncementTs, data["slack"]!["ts"]!.GetValue<string>());
        Assert.False(data["statusPage"]!["posted"]!.GetValue<bool>());
        Assert.Equal(AnnouncementTs, data["pageSlack"]!["threadTs"]!.GetValue<string>());
        Assert.Equal("statuspage", data["failure"]!["channel"]!.GetValue<string>());
        Assert.Equal("statuspage.http-422", data["failure"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task Without_an_announcement_the_pages_message_becomes_the_incident_thread()
    {
        SlackAnswersInTurn("""{"ok":false,"error":"msg_too_long"}""", """{"ok":true,"channel":"C0INC","ts":"1772373600.000200"}""");
        StatusPageOpens(200, """{"id":"inc77","name":"Database Restoration in Progress","status":"investigating","created_at":"2026-11-01T03:00:00Z"}""");
        using var smtp = Smtp();
        await using var host = EmailHost(smtp, _ => { });

        var (state, _) = await RunWithBothPortsAsync(host, Opening(severity: "SEV-1"));

        Assert.Equal(["open Failed"], host.Output.Lines);
        var outputs = state.ActivityOutputs["open"];
        Assert.Equal("1772373600.000200", outputs["ThreadRootTs"]!.GetValue<string>());
        Assert.Equal("C0INC", outputs["ChannelId"]!.GetValue<string>());
        Assert.EndsWith("(the status page incident and the page to the contact tree were posted)", outputs["Error"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rehearsal_opening_leaves_the_status_page_untouched_and_journals_what_it_would_have_opened()
    {
        SlackAnswersInTurn("""{"ok":true,"channel":"C0INC","ts":"1772373600.000100"}""", """{"ok":true,"channel":"C0INC","ts":"1772373600.000200"}""");
        using var smtp = Smtp();
        await using var host = EmailHost(smtp, _ => { });
        var opening = Opening(severity: "SEV-1");
        opening.Rehearsal = true;

        var (state, completed) = await RunWithBothPortsAsync(host, opening);

        Assert.Equal(["open Done"], host.Output.Lines);
        Assert.Empty(statuspage.Requests);
        Assert.Equal(2, slack.Requests.Count);
        Assert.Single(smtp.ReceivedEmail);
        Assert.Equal(string.Empty, state.ActivityOutputs["open"]["IncidentId"]!.GetValue<string>());
        SlackClientTests.AssertJson(
            """{"action":"create","status":"investigating","body":"We are restoring the database.","components":{"cmp-db":"major_outage"},"rehearsal":true,"posted":false}""",
            completed.Payload!["data"]!["statusPage"]!.ToJsonString());
    }

    [Fact]
    public async Task A_rehearsal_with_Slack_down_does_not_say_the_status_page_incident_was_posted()
    {
        SlackAnswersInTurn("""{"ok":false,"error":"channel_not_found"}""", """{"ok":false,"error":"channel_not_found"}""");
        using var smtp = Smtp();
        await using var host = EmailHost(smtp, _ => { });
        var opening = Opening(severity: "SEV-1");
        opening.Rehearsal = true;

        var (state, _) = await RunWithBothPortsAsync(host, opening);

        Assert.Equal(["open Failed"], host.Output.Lines);
        Assert.Empty(statuspage.Requests);
        var error = state.ActivityOutputs["open"]["Error"]!.GetValue<string>();
        Assert.StartsWith("Slack announcement not posted: ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("status page", error, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData(null, "SEV-2", "SEV-2")]
    [InlineData("", "SEV-2", "SEV-2")]
    [InlineData("sev1", "SEV-2", "SEV-1")]
    [InlineData(" critical ", "SEV-2", "SEV-1")]
    [InlineData("2", "SEV-1", "SEV-2")]
    public async Task The_severity_is_the_given_one_or_the_default_normalised(string? given, string fallback, string expected)
    {
        SlackAnswersInTurn("""{"ok":true,"channel":"C0INC","ts":"1772373600.000100"}""", """{"ok":true,"channel":"C0INC","ts":"1772373600.000200"}""");
        StatusPageOpens(200, """{"id":"inc77","name":"Database Restoration in Progress","status":"investigating","created_at":"2026-11-01T03:00:00Z"}""");
        using var smtp = Smtp();
        await using var host = EmailHost(smtp, o => o.Contacts.Severities["SEV-2"] = new SeverityPolicyOptions { Roles = [ContactRoles.IncidentCommander] });
        var opening = Opening(severity: given);
        opening.DefaultSeverity = fallback;

        var (state, completed) = await RunWithBothPortsAsync(host, opening);

        Assert.Equal(["open Done"], host.Output.Lines);
        Assert.Equal(expected, state.ActivityOutputs["open"]["IncidentSeverity"]!.GetValue<string>());
        Assert.StartsWith($":rotating_light: *{expected} Database container failure*", JsonNode.Parse(slack.Requests[0].Body!)!["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.StartsWith($"*[{expected}] Database container failure*", JsonNode.Parse(slack.Requests[1].Body!)!["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(expected, completed.Payload!["data"]!["contacts"]!["severity"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_severity_that_is_none_is_kept_and_the_paging_fails_naming_it_after_the_other_posts()
    {
        SlackAnswersInTurn("""{"ok":true,"channel":"C0INC","ts":"1772373600.000100"}""", """{"ok":true,"channel":"C0INC","ts":"1772373600.000200"}""");
        StatusPageOpens(200, """{"id":"inc77","name":"Database Restoration in Progress","status":"investigating","created_at":"2026-11-01T03:00:00Z"}""");
        using var smtp = Smtp();
        await using var host = EmailHost(smtp, _ => { });

        var (state, _) = await RunWithBothPortsAsync(host, Opening(severity: "sev9"));

        Assert.Equal(["open Failed"], host.Output.Lines);
        Assert.Equal("SEV9", state.ActivityOutputs["open"]["IncidentSeverity"]!.GetValue<string>());
        Assert.Single(slack.Requests);
        Assert.Single(statuspage.Requests, r => r.Method == "POST");
        Assert.Empty(smtp.ReceivedEmail);
        Assert.StartsWith("Page to the contact tree not posted: 'SEV9' is not a severity", state.ActivityOutputs["open"]["Error"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_opening_is_a_registered_notification_step_with_Done_and_Failed()
    {
        await using var host = Host();

        var descriptor = host.Registry.All.Single(d => d.TypeName == "DrWorkflows.OpenIncident");

        Assert.Equal("Notifications", descriptor.Category);
        Assert.Equal(["Done", "Failed"], descriptor.Outcomes);
        Assert.True(descriptor.SafeToRerun);
        Assert.Subset(
            descriptor.Inputs.Select(i => i.Name).ToHashSet(),
            new HashSet<string> { "Severity", "DefaultSeverity", "Channel", "Text", "StatusPageName", "Body", "ComponentIds", "Rehearsal", "PageSubject", "PageMessage", "Values" });
    }

    private static OpenIncident Opening(string? severity) => new()
    {
        Id = "open",
        Severity = severity is null ? null : new(severity),
        Channel = "#incidents",
        Text = ":rotating_light: *{{severity}} Database container failure* {{service}} is down",
        StatusPageName = "Database Restoration in Progress",
        Body = "We are restoring {{what}}.",
        ComponentIds = new Input<List<string>>(["cmp-db"]),
        PageSubject = "Database container failure",
        PageMessage = "Paged about {{service}}.",
        Values = Input<JsonObject>.FromObject("""{"service":"<postgres-main>","what":"the database"}"""),
    };

    private static SimpleSmtpServer Smtp() => Configuration.Configure().WithAddress(IPAddress.Loopback).WithRandomPort().Build();

    /// <summary>Slack answers the first post with <paramref name="first"/>, every later one with <paramref name="then"/>.</summary>
    private void SlackAnswersInTurn(string first, string then)
    {
        slack.Server.Given(Request.Create().WithPath("/api/chat.postMessage").UsingPost()).InScenario("opening").WillSetStateTo("announced").RespondWith(Ok(first));
        slack.Server.Given(Request.Create().WithPath("/api/chat.postMessage").UsingPost()).InScenario("opening").WhenStateIs("announced").RespondWith(Ok(then));
    }

    private void StatusPageOpens(int status, string json)
    {
        statuspage.Server.Given(Request.Create().WithPath(Incidents + "/unresolved").UsingGet()).RespondWith(Ok("[]"));
        statuspage.Server.Given(Request.Create().WithPath(Incidents).UsingPost())
            .RespondWith(Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(json));
    }
}
