using System.Text;
using System.Text.Json.Nodes;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Notifications;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Activities.Preflight;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Drills;

/// <summary>A backup the drill will restore: it must be in the store before the drill.</summary>
public sealed record DrillBackupSource(string Kind, string Source);

/// <summary>What the day-before check of a drill looks at.</summary>
public sealed record DrillReadinessRequest
{
    /// <summary>The store the drill restores from (the plan: the latest backups are in S3).</summary>
    public string Store { get; init; } = "s3";

    /// <summary>The server that hosts the drill's throwaway databases; <c>Postgres:VerificationServer</c> when null.</summary>
    public string? Server { get; init; }

    /// <summary>Every backup the drill restores.</summary>
    public IReadOnlyList<DrillBackupSource> Backups { get; init; } = [];

    /// <summary>The newest set of each source must be younger than this (the slowest schedule, daily, plus slack).</summary>
    public TimeSpan MaxBackupAge { get; init; } = TimeSpan.FromHours(26);
}

/// <summary>What was checked and every problem found; the drill is ready only without problems.</summary>
public sealed record DrillReadinessReport(IReadOnlyList<string> Checked, IReadOnlyList<string> Problems)
{
    public bool Ready => Problems.Count == 0;
}

/// <summary>A drill role and who holds it (the first person of that role in the contact tree); null when nobody does.</summary>
public sealed record DrillRole(string Role, string Title, string? Person, string? Email, string? SlackUserId)
{
    public bool Assigned => Person is not null;
}

/// <summary>One channel's test: <see cref="DrillChannelResults"/>; the receipt the service gave, or why it failed.</summary>
public sealed record ChannelTestResult(string Channel, string Result, string? Receipt, string? Error)
{
    public bool Delivered => Result == DrillChannelResults.Delivered;
}

public static class DrillChannelResults
{
    /// <summary>The service accepted the message and answered with a receipt (Slack ts, SMTP reply, Statuspage incident id).</summary>
    public const string Delivered = "delivered";

    /// <summary>The send failed after the client's retries.</summary>
    public const string Failed = "failed";

    /// <summary>The channel has no settings, so nobody could be reached through it.</summary>
    public const string NotConfigured = "not-configured";
}

/// <summary>Where a drill report was archived, read back and checked against its manifest.</summary>
public sealed record ArchivedDrillReport(string Store, string Kind, string Source, string SetId, string Location, IReadOnlyList<string> Files, long Size);

/// <summary>
/// The plan's drill checklist: the day-before readiness check (DR environment, backups in S3, credentials), the roles
/// from the contact tree, a marked test message on every communication channel, and the report archived as a set.
/// </summary>
public interface IDrillChecklist
{
    Task<DrillReadinessReport> CheckReadinessAsync(DrillReadinessRequest request, CancellationToken cancellationToken);

    /// <summary>Incident commander, operations lead and communications lead, each the first person of that role.</summary>
    IReadOnlyList<DrillRole> AssignRoles();

    /// <summary>Sends <paramref name="marker"/> on Slack, email and Statuspage and records what each service answered.</summary>
    Task<IReadOnlyList<ChannelTestResult>> TestChannelsAsync(string marker, string? slackChannel, string? slackThread, CancellationToken cancellationToken);

    /// <summary>Writes report.json and report.md as a set of kind <c>drill-report</c>, then reads the set back and checks every file.</summary>
    Task<ArchivedDrillReport> ArchiveAsync(string? store, string drill, string runId, JsonObject report, string summary, CancellationToken cancellationToken);
}

internal sealed class DrillChecklist(
    IRecoveryPreflight preflight,
    IPostgresReadiness readiness,
    IPostgresServerResolver servers,
    IOptions<PostgresBackupOptions> postgres,
    IBackupCatalog catalog,
    IContactTree contacts,
    IOptions<NotificationsOptions> notifications,
    ISlackClient slack,
    IEmailSender email,
    IStatusPageClient statusPage,
    TimeProvider clock,
    ILogger<DrillChecklist> logger) : IDrillChecklist
{
    /// <summary>The roles the plan's checklist assigns.</summary>
    public static readonly IReadOnlyList<string> Roles = [ContactRoles.IncidentCommander, ContactRoles.OperationsLead, ContactRoles.CommunicationsLead];

    private static readonly TimeSpan ReachableWithin = TimeSpan.FromSeconds(30);

    public async Task<DrillReadinessReport> CheckReadinessAsync(DrillReadinessRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var server = string.IsNullOrWhiteSpace(request.Server) ? postgres.Value.VerificationServer : request.Server.Trim();

        // The settings first (the store and the server exist), as every scenario's preflight does.
        var settings = await preflight.CheckAsync(new PreflightRequest("DR drill")
        {
            ComposeProjectRequired = false,
            PostgresServers = string.IsNullOrWhiteSpace(server) ? [] : [server],
            BackupStores = [request.Store],
            LogVerdict = false,
        }, cancellationToken);
        var checkedItems = new List<string>(settings.Checked);
        var problems = new List<string>(settings.Problems);

        // The DR environment: the server of the throwaway databases answers, with the configured credentials.
        if (string.IsNullOrWhiteSpace(server))
        {
            problems.Add("No server for the drill's throwaway databases: set Postgres:VerificationServer (or the drill's Server input).");
        }
        else if (postgres.Value.Servers.ContainsKey(server))
        {
            var target = servers.Resolve(server, null);
            try
            {
                var ready = await readiness.WaitAsync(target, null, ReachableWithin, cancellationToken);
                checkedItems.Add($"DR environment: {target} answered (PostgreSQL {ready.ServerVersion}), its credentials accepted");
            }
            catch (BackupException e)
            {
                problems.Add($"DR environment: {target} did not answer within {ReachableWithin.TotalSeconds:0} s or refused the credentials: {e.Message}");
            }
        }

        // The latest backups are in the store the drill restores from; listing them proves the store's credentials.
        if (settings.Problems.Count == 0 || !settings.Problems.Any(p => p.Contains(request.Store, StringComparison.OrdinalIgnoreCase)))
        {
            var now = clock.GetUtcNow();
            foreach (var backup in request.Backups)
            {
                IReadOnlyList<BackupSet> sets;
                try
                {
                    sets = await catalog.ListAsync(request.Store, backup.Kind, backup.Source, cancellationToken);
                }
                catch (BackupException e)
                {
                    problems.Add($"Backup store '{request.Store}' could not be listed (endpoint or credentials): {e.Message}");
                    break;
                }

                if (sets.Count == 0)
                {
                    problems.Add($"No {backup.Kind} backup of {backup.Source} in store '{request.Store}': the drill would have nothing to restore.");
                    continue;
                }

                var newest = sets[0];
                var age = now - newest.Manifest.CompletedAt;
                if (age > request.MaxBackupAge)
                    problems.Add($"The newest {backup.Kind} backup of {backup.Source} in store '{request.Store}' (set {newest.Id}, {newest.Manifest.CompletedAt:u}) is {Minutes(age)} old, more than {Minutes(request.MaxBackupAge)}: the backups have stopped.");
                else
                    checkedItems.Add($"{backup.Kind} {backup.Source}: newest set {newest.Id} in store '{request.Store}', {Minutes(age)} old{(newest.Manifest.IsVerified ? ", verified" : ", not verified yet")}");
            }
        }

        foreach (var role in AssignRoles().Where(r => !r.Assigned))
            problems.Add($"Nobody holds the drill role {role.Title}: add a person under Notifications:Contacts:Roles:{role.Role}.");

        var report = new DrillReadinessReport(checkedItems, problems);
        var problemList = string.Join(" | ", problems);
        if (report.Ready)
            Log.DrillReady(logger, checkedItems.Count);
        else
            Log.DrillNotReady(logger, problemList);
        return report;
    }

    public IReadOnlyList<DrillRole> AssignRoles() =>
        [.. Roles.Select(role => contacts.GetPeople(role) is [var person, ..]
            ? new DrillRole(role, ContactRoles.DisplayName(role), person.Name, person.Email, person.SlackUserId)
            : new DrillRole(role, ContactRoles.DisplayName(role), null, null, null))];

    public async Task<IReadOnlyList<ChannelTestResult>> TestChannelsAsync(string marker, string? slackChannel, string? slackThread, CancellationToken cancellationToken)
    {
        var settings = notifications.Value;
        var results = new List<ChannelTestResult>();

        if (!settings.Slack.IsConfigured)
        {
            results.Add(NotConfigured(NotificationChannels.Slack, "Notifications:Slack:BotToken"));
        }
        else
        {
            results.Add(await SendAsync(NotificationChannels.Slack, async () =>
            {
                var message = await slack.PostMessageAsync(slackChannel ?? string.Empty, $":test_tube: {NotificationTemplate.Escape(marker, TemplateEscaping.Slack)}", null, string.IsNullOrWhiteSpace(slackThread) ? null : slackThread, cancellationToken);
                return $"channel {message.Channel}, ts {message.Ts}";
            }));
        }

        if (!settings.Email.IsConfigured)
        {
            results.Add(NotConfigured(NotificationChannels.Email, "Notifications:Email:Host"));
        }
        else
        {
            var to = AssignRoles().Select(r => r.Email).OfType<string>().Where(e => e.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            if (to.Count == 0)
                to = [.. settings.Email.DefaultRecipients];
            results.Add(to.Count == 0
                ? new ChannelTestResult(NotificationChannels.Email, DrillChannelResults.Failed, null, "Nobody to send to: the drill roles have no email address and Notifications:Email:DefaultRecipients is empty.")
                : await SendAsync(NotificationChannels.Email, async () =>
                {
                    var receipt = await email.SendAsync(new EmailMessage { To = to, Subject = $"[DrWorkflows] {marker}", TextBody = marker + "\n" }, cancellationToken);
                    return $"Message-ID {receipt.MessageId} to {string.Join(", ", receipt.Recipients)}{(receipt.ServerResponse is null ? string.Empty : ": " + receipt.ServerResponse)}";
                }));
        }

        if (!settings.StatusPage.IsConfigured)
        {
            results.Add(NotConfigured(NotificationChannels.StatusPage, "Notifications:Statuspage:ApiKey and PageId"));
        }
        else
        {
            // Created already resolved, without subscriber notifications: it shows in the page's history, marked as a test.
            results.Add(await SendAsync(NotificationChannels.StatusPage, async () =>
            {
                var incident = await statusPage.CreateIncidentAsync(new NewStatusPageIncident
                {
                    Name = marker,
                    Status = StatusPageValues.Resolved,
                    Impact = "none",
                    Body = marker + " No service was affected.",
                    DeliverNotifications = false,
                }, cancellationToken);
                return $"incident {incident.Id}";
            }));
        }

        var summary = string.Join(", ", results.Select(r => $"{r.Channel} {r.Result}"));
        var delivered = results.Count(r => r.Delivered);
        Log.ChannelsTested(logger, delivered, results.Count, summary);
        return results;
    }

    public async Task<ArchivedDrillReport> ArchiveAsync(string? store, string drill, string runId, JsonObject report, string summary, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        BackupSet written;
        await using (var writer = await catalog.BeginAsync(new BackupSetRequest(BackupKinds.DrillReport, drill, runId) { Store = store }, cancellationToken))
        {
            await WriteFileAsync(writer, "report.json", report.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }), cancellationToken);
            await WriteFileAsync(writer, "report.md", summary, cancellationToken);
            writer.Manifest.Origin = $"run {runId} of {drill}";
            written = await writer.CompleteAsync(clock, cancellationToken);
        }

        // Archived means it can be read back: find the set by its manifest and check every file's size and SHA-256.
        var found = await catalog.FindAsync(store, BackupKinds.DrillReport, drill, written.Id, cancellationToken)
            ?? throw new BackupException(BackupErrorCodes.NotFound, $"The drill report set {written} was written but its manifest cannot be found in store '{written.Store}'.");
        await catalog.VerifyChecksumsAsync(found, cancellationToken);
        var location = found.ToString();
        Log.ReportArchived(logger, location, found.Manifest.Files.Count);
        return new ArchivedDrillReport(found.Store, found.Kind, found.Source, found.Id, location, [.. found.Manifest.Files.Select(f => f.Name)], found.Manifest.Size);
    }

    private static async Task WriteFileAsync(BackupSetWriter writer, string name, string text, CancellationToken cancellationToken)
    {
        await using var file = await writer.CreateFileAsync(name, cancellationToken);
        await file.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken);
        await file.CommitAsync(cancellationToken);
    }

    private static ChannelTestResult NotConfigured(string channel, string setting) =>
        new(channel, DrillChannelResults.NotConfigured, null, $"Not configured ({setting}): nobody can be reached on this channel.");

    private async Task<ChannelTestResult> SendAsync(string channel, Func<Task<string>> send)
    {
        try
        {
            return new ChannelTestResult(channel, DrillChannelResults.Delivered, await send(), null);
        }
        catch (NotificationException e)
        {
            Log.ChannelTestFailed(logger, channel, e.Message);
            return new ChannelTestResult(channel, DrillChannelResults.Failed, null, e.Message);
        }
    }

    private static string Minutes(TimeSpan span) =>
        span.TotalHours >= 1 ? $"{(int)span.TotalHours} h {span.Minutes:00} min" : $"{Math.Max(0, (int)span.TotalMinutes)} min";
}
