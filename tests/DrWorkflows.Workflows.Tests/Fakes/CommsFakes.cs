using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using DrWorkflows.Activities.GitHub;
using DrWorkflows.Activities.Notifications;

namespace DrWorkflows.Workflows.Tests.Fakes;

/// <summary>Slack, email and the status page, recording what the workflows said and where.</summary>
public sealed class FakeComms(CallLog log) : ISlackClient, IEmailSender, IStatusPageClient
{
    private int ts;

    public ConcurrentQueue<(string Channel, string Text, string? ThreadTs)> SlackPosts { get; } = new();

    public ConcurrentQueue<EmailMessage> Emails { get; } = new();

    public ConcurrentQueue<(string IncidentId, string? Status, string? Body)> StatusUpdates { get; } = new();

    public ConcurrentQueue<NewStatusPageIncident> StatusIncidents { get; } = new();

    public Task<SlackMessage> PostMessageAsync(string channel, string text, JsonArray? blocks, string? threadTs, CancellationToken cancellationToken)
    {
        var id = $"1700000000.{Interlocked.Increment(ref ts):000000}";
        SlackPosts.Enqueue((channel, text, threadTs));
        log.Add($"slack.post {(threadTs is null ? "new" : "thread:" + threadTs)} {FirstLine(text)}");
        return Task.FromResult(new SlackMessage(string.IsNullOrEmpty(channel) ? "C0INCIDENTS" : channel, id, threadTs));
    }

    public Task<SlackMessage> UpdateMessageAsync(string channel, string ts, string text, JsonArray? blocks, CancellationToken cancellationToken)
    {
        log.Add($"slack.update {ts}");
        return Task.FromResult(new SlackMessage(channel, ts, null));
    }

    /// <summary>Every email fails as an SMTP relay that refuses it would (scripted by the test).</summary>
    public bool FailEmail { get; set; }

    public Task<EmailReceipt> SendAsync(EmailMessage message, CancellationToken cancellationToken)
    {
        if (FailEmail)
            throw new NotificationException("SMTP relay refused the message: 554 rejected (scripted by the test).", NotificationChannels.Email, retryable: false);
        Emails.Enqueue(message);
        log.Add($"email {string.Join(",", message.To)} {message.Subject}");
        return Task.FromResult(new EmailReceipt(message.MessageId ?? "m1", message.To, "250 OK"));
    }

    public Task<StatusPageIncident> CreateIncidentAsync(NewStatusPageIncident incident, CancellationToken cancellationToken)
    {
        StatusIncidents.Enqueue(incident);
        log.Add($"statuspage.create {incident.Status} {incident.Name}");
        return Task.FromResult(new StatusPageIncident("sp-incident-1", incident.Name, incident.Status, "https://stspg.io/x", DateTimeOffset.UnixEpoch));
    }

    public Task<StatusPageIncident> UpdateIncidentAsync(string incidentId, StatusPageIncidentUpdate update, CancellationToken cancellationToken)
    {
        StatusUpdates.Enqueue((incidentId, update.Status, update.Body));
        log.Add($"statuspage.update {incidentId} {update.Status ?? "-"}");
        return Task.FromResult(new StatusPageIncident(incidentId, "incident", update.Status ?? StatusPageValues.Investigating, null, null));
    }

    public Task SetComponentStatusAsync(string componentId, string status, CancellationToken cancellationToken)
    {
        log.Add($"statuspage.component {componentId} {status}");
        return Task.CompletedTask;
    }

    private static string FirstLine(string text) => text.Split('\n')[0];
}

/// <summary>Records the post-mortem requests; answers as GitHub would, once per run.</summary>
public sealed class FakePostMortems(CallLog log) : IPostMortemPublisher
{
    public ConcurrentQueue<PostMortemRequest> Requests { get; } = new();

    public Task<PostMortemIssue> OpenAsync(PostMortemRequest request, CancellationToken cancellationToken)
    {
        Requests.Enqueue(request);
        log.Add($"github.post-mortem {request.Details.Severity} drill={request.Details.IsDrill} {request.Details.Title}");
        var facts = new PostMortemFacts(DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, TimeSpan.Zero, null, null, null, 0, 0, 0, 0, []);
        return Task.FromResult(new PostMortemIssue(Requests.Count, $"https://github.com/acme/platform/issues/{Requests.Count}", true, facts));
    }
}
