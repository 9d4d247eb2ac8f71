using System.Text.Json.Nodes;
using DrWorkflows.Activities.Notifications;
using DrWorkflows.Core.Abstractions;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace DrWorkflows.Activities.Tests.Notifications;

/// <summary>ReportIncidentProgress: one step that posts in the incident thread and updates the status page, each whatever the other did.</summary>
public sealed partial class NotifyActivitiesTests
{
    private const string Incident = "/v1/pages/pg1/incidents/inc77";

    [Fact]
    public async Task A_progress_report_posts_in_the_thread_and_updates_the_status_page()
    {
        SlackAnswers("""{"ok":true,"channel":"C0INC","ts":"1772373660.000200"}""");
        PageAnswers(200, """{"id":"inc77","name":"Database Restoration in Progress","status":"identified","shortlink":"https://stspg.io/inc77"}""");
        await using var host = Host();

        var (state, completed) = await RunWithBothPortsAsync(host, Report(status: "identified"));

        Assert.Equal(["report Done"], host.Output.Lines);
        Assert.Equal(["Done"], completed.Outcomes);
        Assert.Null(state.ActivityOutputs["report"].GetValueOrDefault("Error"));
        Assert.Equal("1772373660.000200", state.ActivityOutputs["report"]["MessageTs"]!.GetValue<string>());
        SlackClientTests.AssertJson("""{"channel":"#incidents","text":"Restoring &lt;postgres-main&gt;","thread_ts":"1772373600.000100","unfurl_links":false}""", Assert.Single(slack.Requests).Body);
        var patch = Assert.Single(statuspage.Requests);
        Assert.Equal(("PATCH", Incident), (patch.Method, patch.AbsolutePath));
        SlackClientTests.AssertJson(
            """{"incident":{"deliver_notifications":true,"status":"identified","body":"We are restoring the database.","component_ids":["cmp-db"],"components":{"cmp-db":"major_outage"}}}""",
            patch.Body);
        var data = completed.Payload!["data"]!;
        Assert.Equal("1772373660.000200", data["slack"]!["ts"]!.GetValue<string>());
        Assert.Equal("updated", data["statusPage"]!["action"]!.GetValue<string>());
        Assert.Null(data["failure"]);
    }

    [Fact]
    public async Task When_Slack_fails_the_status_page_is_still_updated_and_the_report_fails_naming_Slack()
    {
        SlackAnswers("""{"ok":false,"error":"channel_not_found"}""");
        PageAnswers(200, """{"id":"inc77","name":"Database Restoration in Progress","status":"identified"}""");
        await using var host = Host();

        var (state, completed) = await RunWithBothPortsAsync(host, Report(status: "identified"));

        Assert.Equal(["report Failed"], host.Output.Lines);
        Assert.Equal(["Failed"], completed.Outcomes);
        Assert.Single(statuspage.Requests, r => r.Method == "PATCH" && r.AbsolutePath == Incident);
        var error = state.ActivityOutputs["report"]["Error"]!.GetValue<string>();
        Assert.StartsWith("Slack update not posted: ", error, StringComparison.Ordinal);
        Assert.Contains("channel_not_found", error, StringComparison.Ordinal);
        Assert.EndsWith("(the status page update was posted)", error, StringComparison.Ordinal);
        var data = completed.Payload!["data"]!;
        Assert.False(data["slack"]!["posted"]!.GetValue<bool>());
        Assert.Equal("slack.channel_not_found", data["slack"]!["code"]!.GetValue<string>());
        Assert.Equal("updated", data["statusPage"]!["action"]!.GetValue<string>());
        Assert.Equal("slack", data["failure"]!["channel"]!.GetValue<string>());
        Assert.Equal("slack.channel_not_found", data["failure"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task When_the_status_page_fails_Slack_is_still_posted_and_the_report_fails_naming_the_status_page()
    {
        SlackAnswers("""{"ok":true,"channel":"C0INC","ts":"1772373660.000200"}""");
        PageAnswers(404, """{"error":"Incident not found"}""");
        await using var host = Host();

        var (state, completed) = await RunWithBothPortsAsync(host, Report(status: "monitoring"));

        Assert.Equal(["report Failed"], host.Output.Lines);
        Assert.Single(slack.Requests);
        Assert.NotEmpty(statuspage.Requests);
        var error = state.ActivityOutputs["report"]["Error"]!.GetValue<string>();
        Assert.StartsWith("Status page update not posted: Statuspage update incident failed with HTTP 404", error, StringComparison.Ordinal);
        Assert.EndsWith("(the Slack update was posted)", error, StringComparison.Ordinal);
        var data = completed.Payload!["data"]!;
        Assert.Equal("1772373660.000200", data["slack"]!["ts"]!.GetValue<string>());
        Assert.False(data["statusPage"]!["posted"]!.GetValue<bool>());
        Assert.Equal("statuspage", data["failure"]!["channel"]!.GetValue<string>());
        Assert.Equal("statuspage.http-404", data["failure"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task When_both_fail_the_report_names_both()
    {
        SlackAnswers("""{"ok":false,"error":"channel_not_found"}""");
        PageAnswers(404, """{"error":"Incident not found"}""");
        await using var host = Host();

        var (state, completed) = await RunWithBothPortsAsync(host, Report(status: "monitoring"));

        Assert.Equal(["report Failed"], host.Output.Lines);
        var error = state.ActivityOutputs["report"]["Error"]!.GetValue<string>();
        Assert.Contains("Slack update not posted: ", error, StringComparison.Ordinal);
        Assert.Contains(" | Status page update not posted: ", error, StringComparison.Ordinal);
        var data = completed.Payload!["data"]!;
        Assert.False(data["slack"]!["posted"]!.GetValue<bool>());
        Assert.False(data["statusPage"]!["posted"]!.GetValue<bool>());
        Assert.Equal("slack, statuspage", data["failure"]!["channel"]!.GetValue<string>());
        Assert.Equal("notifications.report-failed", data["failure"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task Without_a_status_only_Slack_is_posted()
    {
        SlackAnswers("""{"ok":true,"channel":"C0INC","ts":"1772373660.000200"}""");
        await using var host = Host();

        var (_, completed) = await RunWithBothPortsAsync(host, Report(status: null));

        Assert.Equal(["report Done"], host.Output.Lines);
        Assert.Single(slack.Requests);
        Assert.Empty(statuspage.Requests);
        Assert.Null(completed.Payload!["data"]!["statusPage"]);
    }

    [Fact]
    public async Task In_a_rehearsal_the_status_page_is_untouched_and_the_journal_says_what_would_have_been_posted()
    {
        SlackAnswers("""{"ok":true,"channel":"C0INC","ts":"1772373660.000200"}""");
        await using var host = Host();
        var report = Report(status: "monitoring");
        report.Rehearsal = true;

        var (_, completed) = await RunWithBothPortsAsync(host, report);

        Assert.Equal(["report Done"], host.Output.Lines);
        Assert.Single(slack.Requests);
        Assert.Empty(statuspage.Requests);
        SlackClientTests.AssertJson(
            """{"action":"update","status":"monitoring","body":"We are restoring the database.","components":{"cmp-db":"major_outage"},"rehearsal":true,"posted":false}""",
            completed.Payload!["data"]!["statusPage"]!.ToJsonString());
    }

    [Fact]
    public async Task A_rehearsal_with_Slack_down_does_not_say_the_status_page_update_was_posted()
    {
        SlackAnswers("""{"ok":false,"error":"channel_not_found"}""");
        await using var host = Host();
        var report = Report(status: "monitoring");
        report.Rehearsal = true;

        var (state, _) = await RunWithBothPortsAsync(host, report);

        Assert.Equal(["report Failed"], host.Output.Lines);
        Assert.Empty(statuspage.Requests);
        var error = state.ActivityOutputs["report"]["Error"]!.GetValue<string>();
        Assert.StartsWith("Slack update not posted: ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("status page", error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_progress_report_is_a_registered_notification_step_with_Done_and_Failed()
    {
        await using var host = Host();

        var descriptor = host.Registry.All.Single(d => d.TypeName == "DrWorkflows.ReportIncidentProgress");

        Assert.Equal("Notifications", descriptor.Category);
        Assert.Equal(["Done", "Failed"], descriptor.Outcomes);
        Assert.True(descriptor.SafeToRerun);
        Assert.Subset(descriptor.Inputs.Select(i => i.Name).ToHashSet(), new HashSet<string> { "Channel", "ThreadTs", "Text", "Status", "Body", "IncidentId", "ComponentIds", "Rehearsal" });
    }

    private static ReportIncidentProgress Report(string? status) => new()
    {
        Id = "report",
        Channel = "#incidents",
        ThreadTs = "1772373600.000100",
        Text = "Restoring {{service}}",
        Values = Input<JsonObject>.FromObject("""{"service":"<postgres-main>","what":"the database"}"""),
        Status = status is null ? null : new(status),
        Body = "We are restoring {{what}}.",
        IncidentId = "inc77",
        ComponentIds = new Input<List<string>>(["cmp-db"]),
    };

    private void SlackAnswers(string json) =>
        slack.Server.Given(Request.Create().WithPath("/api/chat.postMessage").UsingPost()).RespondWith(Ok(json));

    private void PageAnswers(int status, string json) =>
        statuspage.Server.Given(Request.Create().WithPath(Incident).UsingPatch())
            .RespondWith(Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(json));
}
