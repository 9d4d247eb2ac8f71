using System.Text.Json.Nodes;
using DrWorkflows.Activities.Notifications;

namespace DrWorkflows.Activities.Tests.Notifications;

public sealed class NotificationTemplateTests
{
    private static readonly JsonObject Values = JsonNode.Parse("""
        {"service":"postgres-main","rtoMinutes":30,"ok":true,
         "backup":{"takenAt":"2026-03-01 13:45 UTC","sizeGb":12.5},
         "hosts":["dr-1","dr-2"],"owner":"<Ops & DBA>"}
        """)!.AsObject();

    [Fact]
    public void Fills_names_paths_indexes_and_scalars()
    {
        var result = NotificationTemplate.Render("{{service}} restored from {{ backup.takenAt }} ({{backup.sizeGb}} GB) on {{hosts.1}}; RTO {{rtoMinutes}} min, ok={{ok}}", Values);

        Assert.Equal("postgres-main restored from 2026-03-01 13:45 UTC (12.5 GB) on dr-2; RTO 30 min, ok=true", result.Text);
        Assert.Empty(result.Missing);
    }

    [Fact]
    public void Leaves_unknown_placeholders_in_place_and_reports_them()
    {
        var result = NotificationTemplate.Render("ETA {{eta}} for {{service}}; {{eta}} again; {{backup.missing}}", Values);

        Assert.Equal("ETA {{eta}} for postgres-main; {{eta}} again; {{backup.missing}}", result.Text);
        Assert.Equal(["eta", "backup.missing"], result.Missing);
    }

    [Fact]
    public void Escapes_values_not_the_template_for_html_and_slack()
    {
        Assert.Equal("<b>Owner:</b> &lt;Ops &amp; DBA&gt;", NotificationTemplate.Render("<b>Owner:</b> {{owner}}", Values, TemplateEscaping.Html).Text);
        Assert.Equal("*Owner:* &lt;Ops &amp; DBA&gt; <@U0IC>", NotificationTemplate.Render("*Owner:* {{owner}} <@U0IC>", Values, TemplateEscaping.Slack).Text);
        Assert.Equal("Owner: <Ops & DBA>", NotificationTemplate.Render("Owner: {{owner}}", Values).Text);
    }

    [Fact]
    public void Objects_are_inserted_as_json_and_text_without_placeholders_is_unchanged()
    {
        Assert.Equal("""{"takenAt":"2026-03-01 13:45 UTC","sizeGb":12.5}""", NotificationTemplate.Render("{{backup}}", Values).Text);
        Assert.Equal("No {placeholders} {{ here", NotificationTemplate.Render("No {placeholders} {{ here", null).Text);
        Assert.Equal(string.Empty, NotificationTemplate.Render(null, Values).Text);
    }

    [Fact]
    public void Timestamps_show_a_plus_sign_not_the_default_encoders_escape()
    {
        var taken = new DateTimeOffset(2026, 3, 1, 13, 45, 0, TimeSpan.Zero);
        var values = new JsonObject
        {
            ["takenAt"] = taken,
            ["backup"] = new JsonObject { ["startedAt"] = taken, ["note"] = "server 'main' <primary>" },
            ["parsed"] = JsonNode.Parse("""{"at":"2026-03-01T13:45:00+00:00"}"""),
        };

        var text = NotificationTemplate.Render("{{takenAt}} | {{backup}} | {{parsed}}", values).Text;

        Assert.Equal("""2026-03-01T13:45:00+00:00 | {"startedAt":"2026-03-01T13:45:00+00:00","note":"server 'main' <primary>"} | {"at":"2026-03-01T13:45:00+00:00"}""", text);
        Assert.DoesNotContain("\\u00", text, StringComparison.Ordinal);
    }
}
