using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Text;
using DrWorkflows.Activities.Notifications;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Server.Operations;

/// <summary>
/// Section <c>IncidentAlerts</c>: who hears about a run that stopped at an incident (an activity failed after its retries,
/// or an unsafe step was interrupted by a crash). Without it, a scheduled backup that fails at 02:00 would wait
/// silently for someone to open the incident list.
/// </summary>
public sealed class IncidentAlertOptions
{
    public const string SectionName = "IncidentAlerts";

    /// <summary>Alerts are on by default; they go to the channels that are configured (Slack, email).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Slack channel; default <c>Notifications:Slack:DefaultChannel</c>.</summary>
    public string? SlackChannel { get; set; }

    /// <summary>Email recipients; default the people of the contact tree's first tier, then <c>Notifications:Email:DefaultRecipients</c>.</summary>
    public List<string> EmailTo { get; set; } = [];

    /// <summary>How often open incidents are looked for.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "IncidentAlerts:Interval must be between 1 second and 1 hour.")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The address on-call uses to reach this server (e.g. <c>https://drw.example.com</c>), for links in alerts.</summary>
    [Url(ErrorMessage = "IncidentAlerts:ServerUrl must be an absolute http(s) address such as https://drw.example.com.")]
    public string? ServerUrl { get; set; }
}

/// <summary>
/// Looks for open incidents every <see cref="IncidentAlertOptions.Interval"/> and alerts each one once per channel:
/// a Slack message (mentioning the first tier of the contact tree) and an email. A channel's alert is recorded as
/// sent in the store's schedule table (shared by every node) only after it went out, so an alert that could not be
/// sent (Slack down) is tried again on the next pass rather than lost; two nodes passing at the same instant may
/// both send it, which is the safe side of a pager.
/// </summary>
public sealed partial class IncidentAlerter(
    IWorkflowInstanceStore instances,
    IScheduleStore sent,
    IOptions<IncidentAlertOptions> options,
    OnCallChannels onCall,
    IOptions<RuntimeOptions> runtime,
    ISlackClient slack,
    IEmailSender email,
    TimeProvider clock,
    ILogger<IncidentAlerter> logger) : BackgroundService
{
    private const int MaxRunsPerPass = 500;

    private IncidentAlertOptions Settings => options.Value;

    private bool SlackConfigured => onCall.SlackConfigured;

    private bool EmailConfigured => onCall.EmailConfigured;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Settings.Enabled)
            return;
        if (!SlackConfigured && !EmailConfigured)
        {
            Log.NoChannel(logger);
            return;
        }

        using var timer = new PeriodicTimer(Settings.Interval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await AlertAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Log.PassFailed(logger, e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One pass: alerts every open incident not alerted yet on each configured channel; returns the alerts sent.</summary>
    public async Task<int> AlertAsync(CancellationToken cancellationToken)
    {
        var alerts = 0;
        var runs = await instances.ListAsync(new InstanceQuery(HasIncidents: true, Take: MaxRunsPerPass), cancellationToken);
        foreach (var run in runs.Items)
        {
            if (await instances.GetAsync(run.Id, cancellationToken) is not { } state)
                continue;
            foreach (var incident in state.Incidents.Where(i => i.Resolution is null))
            {
                if (SlackConfigured && await SendOnceAsync("slack", state, incident, SendSlackAsync, cancellationToken))
                    alerts++;
                if (EmailConfigured && await SendOnceAsync("email", state, incident, SendEmailAsync, cancellationToken))
                    alerts++;
            }
        }

        return alerts;
    }

    private async Task<bool> SendOnceAsync(string channel, WorkflowState run, Incident incident, Func<WorkflowState, Incident, CancellationToken, Task> send, CancellationToken cancellationToken)
    {
        var key = $"alert:{channel}:{run.Id}:{incident.Id}";
        if (await sent.GetLastSlotAsync(key, cancellationToken) is not null)
            return false;
        try
        {
            await send(run, incident, cancellationToken);
        }
        catch (NotificationException e)
        {
            Log.AlertFailed(logger, channel, run.Id, incident.Id, e.Message);
            return false;
        }

        await sent.TryClaimSlotAsync(key, incident.CreatedAt, runtime.Value.NodeId, clock.GetUtcNow(), cancellationToken);
        Log.Alerted(logger, channel, run.Id, incident.Id);
        return true;
    }

    private async Task SendSlackAsync(WorkflowState run, Incident incident, CancellationToken cancellationToken)
    {
        var mentions = onCall.SlackMentions;
        var text = new StringBuilder()
            .Append(":rotating_light: *").Append(Slack(Title(run))).Append("* ").Append(Slack(Headline(incident))).Append('\n')
            .Append('`').Append(Slack(incident.ActivityId)).Append("` (").Append(Slack(incident.ActivityType)).Append("): ").Append(Slack(incident.Message)).Append('\n')
            .Append(Slack(WhatToDo(run, incident)));
        if (mentions.Count > 0)
            text.Append("\nOn call: ").AppendJoin(", ", mentions);
        await slack.PostMessageAsync(onCall.SlackChannel!, text.ToString(), null, null, cancellationToken);
    }

    private async Task SendEmailAsync(WorkflowState run, Incident incident, CancellationToken cancellationToken)
    {
        var text = $"{Title(run)} {Headline(incident)}.\n\nStep: {incident.ActivityId} ({incident.ActivityType})\nKind: {incident.Kind}\nError: {incident.Message}\nSince: {incident.CreatedAt:u}\n\n{WhatToDo(run, incident)}\n";
        await email.SendAsync(new EmailMessage
        {
            To = onCall.EmailRecipients,
            Subject = $"[DrWorkflows incident] {Title(run)}: {incident.ActivityId} failed",
            TextBody = text,
            HtmlBody = "<pre>" + WebUtility.HtmlEncode(text) + "</pre>",
            MessageId = $"alert.{incident.Id}.{run.Id}@drworkflows",
        }, cancellationToken);
    }

    private static string Title(WorkflowState run) => $"Run {run.Id} of {run.Name ?? run.DefinitionId}";

    /// <summary>What happened to the run: stopped (the hold), or ended or carried on by the workflow's Elsa incident strategy.</summary>
    private static string Headline(Incident incident) => incident.Strategy switch
    {
        IncidentStrategy.Fault => "ended Faulted at an incident (its incident strategy is Elsa's Fault: nothing waits for you, the run is over)",
        IncidentStrategy.ContinueWithIncidents => "carried on past an incident (its incident strategy is Elsa's Continue with incidents: the failed step's followers did not run)",
        _ => "stopped at an incident",
    };

    private string WhatToDo(WorkflowState run, Incident incident)
    {
        var link = Settings.ServerUrl is { Length: > 0 } ? $" Journal: {onCall.RunLink(run.Id)}" : string.Empty;
        if (incident.Strategy != IncidentStrategy.OperatorHold)
            return $"Check what the failed step left, then: `drw incidents acknowledge {run.Id} {incident.Id}` (POST /api/workflow-instances/{run.Id}/incidents/{incident.Id}/acknowledge).{link}";
        return $"Decide: `drw incidents retry|skip|fail {run.Id} {incident.Id}` (POST /api/workflow-instances/{run.Id}/incidents/{incident.Id}/retry|skip|fail).{link}";
    }

    private static string Slack(string text) => NotificationTemplate.Escape(text, TemplateEscaping.Slack);

    private static partial class Log
    {
        [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "Incident alerts are on but go nowhere: configure Notifications:Slack (BotToken and DefaultChannel or IncidentAlerts:SlackChannel) or Notifications:Email (Host and recipients), or set IncidentAlerts:Enabled=false")]
        public static partial void NoChannel(ILogger logger);

        [LoggerMessage(EventId = 21, Level = LogLevel.Information, Message = "Incident alert sent by {Channel} for run {InstanceId}, incident {IncidentId}")]
        public static partial void Alerted(ILogger logger, string channel, string instanceId, string incidentId);

        [LoggerMessage(EventId = 22, Level = LogLevel.Error, Message = "Incident alert by {Channel} for run {InstanceId}, incident {IncidentId} could not be sent ({Message}); trying again on the next pass")]
        public static partial void AlertFailed(ILogger logger, string channel, string instanceId, string incidentId, string message);

        [LoggerMessage(EventId = 23, Level = LogLevel.Error, Message = "Looking for incidents to alert failed: {Message}; trying again on the next pass")]
        public static partial void PassFailed(ILogger logger, string message);
    }
}

/// <summary>Registration of <see cref="IncidentAlerter"/>.</summary>
public static class IncidentAlertServiceCollectionExtensions
{
    /// <summary>Binds section <c>IncidentAlerts</c> (validated at start) and runs the alerter in the background.</summary>
    public static IServiceCollection AddIncidentAlerts(this IServiceCollection services)
    {
        services.AddOptions<IncidentAlertOptions>().BindConfiguration(IncidentAlertOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<OnCallChannels>();
        services.AddSingleton<OnCallPager>();
        services.AddSingleton<IncidentAlerter>();
        services.AddHostedService(sp => sp.GetRequiredService<IncidentAlerter>());
        return services;
    }
}
