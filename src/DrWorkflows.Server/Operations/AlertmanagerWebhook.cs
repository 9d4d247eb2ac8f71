using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using DrWorkflows.Core;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Server.Apis;
using DrWorkflows.Server.Security;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Server.Operations;

/// <summary>
/// Section <c>Alertmanager</c>: which firing Prometheus alerts start which DR workflow (the plan's scenario 1
/// starts on the alert <c>DatabaseDown</c>).
/// </summary>
public sealed class AlertmanagerOptions
{
    public const string SectionName = "Alertmanager";

    public List<AlertRoute> Routes { get; set; } = [];

    /// <summary>
    /// After a run of a scenario ended without recovering (failed, faulted or cancelled) on a platform, alerts for that
    /// scenario there page on-call with the failed run's link instead of starting a new run, for this long: people
    /// have taken over, and a new automated run could undo their work. Default 4 hours (the longest RTO of the plan).
    /// </summary>
    public TimeSpan HandOverAfterFailure { get; set; } = TimeSpan.FromHours(4);
}

/// <summary>One rule: a firing alert named <see cref="AlertName"/> (and carrying <see cref="Labels"/>) starts <see cref="Workflow"/>.</summary>
public sealed class AlertRoute
{
    /// <summary>The alert's <c>alertname</c> label, e.g. <c>DatabaseDown</c>.</summary>
    public string AlertName { get; set; } = string.Empty;

    /// <summary>Further labels the alert must carry with these values, e.g. <c>instance: ecommerce_postgres</c>.</summary>
    public Dictionary<string, string> Labels { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Definition id of the workflow to start (its published version).</summary>
    public string Workflow { get; set; } = string.Empty;

    /// <summary>Inputs of the run. <c>Reason</c> defaults to the alert's summary (or description, or name).</summary>
    public Dictionary<string, string> Input { get; set; } = new(StringComparer.Ordinal);

    public bool Matches(IReadOnlyDictionary<string, string> alertLabels) =>
        alertLabels.TryGetValue("alertname", out var name) && string.Equals(name, AlertName, StringComparison.Ordinal)
        && Labels.All(l => alertLabels.TryGetValue(l.Key, out var value) && string.Equals(value, l.Value, StringComparison.Ordinal));
}

internal sealed class AlertmanagerOptionsValidator : IValidateOptions<AlertmanagerOptions>
{
    public ValidateOptionsResult Validate(string? name, AlertmanagerOptions options)
    {
        var errors = options.Routes.Select((route, i) => (route, i))
            .Where(r => string.IsNullOrWhiteSpace(r.route.AlertName) || string.IsNullOrWhiteSpace(r.route.Workflow))
            .Select(r => $"Alertmanager:Routes:{r.i} needs AlertName (the alert's alertname label) and Workflow (a definition id).")
            .ToList();
        if (options.HandOverAfterFailure < TimeSpan.Zero || options.HandOverAfterFailure > TimeSpan.FromDays(30))
            errors.Add($"Alertmanager:HandOverAfterFailure '{options.HandOverAfterFailure}' must be between 00:00:00 (a new alert after a failed run starts a new run) and 30.00:00:00.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>
/// <c>POST /alerts/alertmanager</c>: Prometheus Alertmanager's webhook (payload version 4). Each firing alert that
/// matches a route starts that route's workflow, unless a run is already in charge:
/// <list type="bullet">
/// <item>A run of that workflow is running on the same platform (DR scenarios run once per platform): the alert joins
/// it and is recorded in its journal, once per alert firing. A flapping alert (firing, resolved, firing again with a
/// new <c>startsAt</c>) therefore never starts a second recovery, page or announcement.</item>
/// <item>The run this alert firing started has ended, or the last run on that platform failed less than
/// <see cref="AlertmanagerOptions.HandOverAfterFailure"/> ago: nothing is started, and on-call is paged (once) with
/// that run's link.</item>
/// </list>
/// The run id is derived from the workflow, the alert's fingerprint and its start time, so Alertmanager's repeated
/// notifications (every <c>repeat_interval</c>, and its retries) find the run already there. Resolved alerts start
/// nothing; the recovery workflow decides for itself when the platform is healthy. Authenticated like the rest of the
/// API: give Alertmanager an API key with the operator role (<c>authorization: {type: ApiKey, credentials: …}</c>).
/// </summary>
public static class AlertmanagerWebhook
{
    public static IEndpointRouteBuilder MapAlertmanagerWebhook(this IEndpointRouteBuilder app)
    {
        app.MapPost("/alerts/alertmanager", ReceiveAsync).RequireAuthorization(Roles.Operator);
        return app;
    }

    public static IServiceCollection AddAlertmanagerRoutes(this IServiceCollection services)
    {
        services.AddOptions<AlertmanagerOptions>().BindConfiguration(AlertmanagerOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AlertmanagerOptions>, AlertmanagerOptionsValidator>();
        services.AddSingleton<AlertIntake>();
        return services;
    }

    private static async Task<IResult> ReceiveAsync(JsonNode? body, HttpContext http, IOptions<AlertmanagerOptions> options, AlertIntake intake, CancellationToken cancellationToken)
    {
        if (body?["alerts"] is not JsonArray alerts)
            return Results.Problem(statusCode: 400, title: "Bad request", detail: "Not an Alertmanager webhook payload: the JSON object needs an 'alerts' array (webhook payload version 4).");
        var answer = new AlertAnswer();
        var sender = $"alertmanager ({ElsaModels.Actor(http.User)})";
        foreach (var alert in alerts.OfType<JsonObject>())
        {
            var labels = Strings(alert["labels"]);
            var alertName = labels.GetValueOrDefault("alertname") ?? "(no alertname)";
            if (!string.Equals(alert["status"]?.ToString(), "firing", StringComparison.OrdinalIgnoreCase))
                continue;
            var routes = options.Value.Routes.Where(r => r.Matches(labels)).ToList();
            if (routes.Count == 0)
            {
                answer.Unmatched.Add(alertName);
                continue;
            }

            var fingerprint = alert["fingerprint"]?.ToString() ?? string.Join(',', labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));
            var firing = new FiringAlert(alertName, fingerprint, alert["startsAt"]?.ToString() ?? string.Empty, alert, labels);
            foreach (var route in routes)
                await intake.HandleAsync(firing, route, sender, answer, cancellationToken);
        }

        // Unmatched and broken routes still answer 200: Alertmanager would only retry the same payload.
        return Results.Ok(new { started = answer.Started, alreadyRunning = answer.AlreadyRunning, notStarted = answer.NotStarted, unmatched = answer.Unmatched, failed = answer.Failed });
    }

    /// <summary>A stable run id per workflow and alert firing (the same alert firing again later gets a new id).</summary>
    public static string RunId(string workflow, string fingerprint, string startsAt) =>
        "alert-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{workflow}\n{fingerprint}\n{startsAt}")))[..24];

    internal static Dictionary<string, JsonNode?> RunInput(AlertRoute route, FiringAlert alert)
    {
        var input = route.Input.ToDictionary(i => i.Key, i => (JsonNode?)JsonValue.Create(i.Value), StringComparer.Ordinal);
        var annotations = Strings(alert.Payload["annotations"]);
        if (!input.ContainsKey("Reason"))
            input["Reason"] = annotations.GetValueOrDefault("summary") ?? annotations.GetValueOrDefault("description") ?? $"Alert {alert.Name} is firing";
        input["Alert"] = new JsonObject
        {
            ["name"] = alert.Name,
            ["labels"] = new JsonObject([.. alert.Labels.Select(l => KeyValuePair.Create(l.Key, (JsonNode?)l.Value))]),
            ["annotations"] = new JsonObject([.. annotations.Select(a => KeyValuePair.Create(a.Key, (JsonNode?)a.Value))]),
            ["startsAt"] = alert.Payload["startsAt"]?.ToString(),
            ["generatorURL"] = alert.Payload["generatorURL"]?.ToString(),
        };
        return input;
    }

    private static Dictionary<string, string> Strings(JsonNode? node) =>
        node is JsonObject obj
            ? obj.Where(p => p.Value is JsonValue).ToDictionary(p => p.Key, p => p.Value!.ToString(), StringComparer.Ordinal)
            : new Dictionary<string, string>(StringComparer.Ordinal);
}

/// <summary>One firing alert of a webhook payload.</summary>
internal sealed record FiringAlert(string Name, string Fingerprint, string StartsAt, JsonObject Payload, Dictionary<string, string> Labels);

/// <summary>The webhook's answer, filled route by route.</summary>
internal sealed class AlertAnswer
{
    public List<object> Started { get; } = [];

    public List<object> AlreadyRunning { get; } = [];

    public List<object> NotStarted { get; } = [];

    public List<string> Unmatched { get; } = [];

    public List<object> Failed { get; } = [];
}

/// <summary>Decides, for one firing alert and one matching route, whether to start a run, join a running one, or page.</summary>
internal sealed partial class AlertIntake(
    WorkflowRuntime runtime,
    IWorkflowInstanceStore instances,
    IScheduleStore marks,
    OnCallPager pager,
    OnCallChannels onCall,
    IOptions<AlertmanagerOptions> options,
    IOptions<RuntimeOptions> runtimeOptions,
    TimeProvider clock,
    ILogger<AlertIntake> logger)
{
    public async Task HandleAsync(FiringAlert alert, AlertRoute route, string sender, AlertAnswer answer, CancellationToken cancellationToken)
    {
        var input = AlertmanagerWebhook.RunInput(route, alert);
        var instanceId = AlertmanagerWebhook.RunId(route.Workflow, alert.Fingerprint, alert.StartsAt);
        string? platform;
        try
        {
            platform = await runtime.PlatformOfAsync(route.Workflow, input, cancellationToken);
        }
        catch (WorkflowDefinitionException e)
        {
            Fail(alert, route, e.Message, answer);
            return;
        }

        // 1. A run of this scenario is running on this platform (or, for other workflows, this alert firing's own run).
        var latest = platform is null ? null : await LatestAsync(route.Workflow, platform, cancellationToken);
        if (latest is { Status: WorkflowStatus.Running })
        {
            await JoinAsync(latest, alert, route, instanceId, platform!, sender, answer, cancellationToken);
            return;
        }

        var ownRun = await instances.GetAsync(instanceId, cancellationToken);
        if (ownRun is { Status: WorkflowStatus.Running })
        {
            await JoinAsync(ownRun, alert, route, instanceId, platform, sender, answer, cancellationToken);
            return;
        }

        // 2. This alert firing already had its run, and it has ended: the alert outlived it.
        if (ownRun is not null)
        {
            await StillFiringAsync(ownRun, alert, route, platform, answer, cancellationToken);
            return;
        }

        // 3. The last run on this platform failed a short while ago: people are in charge.
        if (latest is not null && Failure(latest) is not null && latest.FinishedAt + options.Value.HandOverAfterFailure > clock.GetUtcNow())
        {
            await StillFiringAsync(latest, alert, route, platform, answer, cancellationToken);
            return;
        }

        try
        {
            await runtime.StartAsync(new StartRunRequest(route.Workflow)
            {
                InstanceId = instanceId,
                Input = input,
                CorrelationId = $"alert:{alert.Fingerprint}",
                StartedBy = sender,
                Dispatch = true,
            }, cancellationToken);
            Log.Started(logger, alert.Name, route.Workflow, instanceId);
            answer.Started.Add(new { alert = alert.Name, workflow = route.Workflow, instanceId, platform });
        }
        catch (DefinitionNotFoundException e)
        {
            Fail(alert, route, e.Message, answer);
        }
        catch (RunAlreadyRunningException e)
        {
            // Another notification (or a person) started it between the look-up and the start: join that run.
            var running = await instances.GetAsync(e.RunningInstanceId, cancellationToken);
            if (running is null)
                throw;
            await JoinAsync(running, alert, route, instanceId, e.Platform, sender, answer, cancellationToken);
        }
        catch (InvalidOperationException) when (!cancellationToken.IsCancellationRequested)
        {
            // A concurrent notification created this alert firing's run first; anything else is a real error.
            var created = await instances.GetAsync(instanceId, cancellationToken) ?? throw new InvalidOperationException($"Starting run {instanceId} failed and it does not exist.");
            if (created.Status == WorkflowStatus.Running)
                await JoinAsync(created, alert, route, instanceId, platform, sender, answer, cancellationToken);
            else
                await StillFiringAsync(created, alert, route, platform, answer, cancellationToken);
        }
    }

    /// <summary>Why a run that ended did not recover, or null when it did (or ended normally without an Outcome).</summary>
    internal static string? Failure(WorkflowState run)
    {
        var outcome = run.Output.GetValueOrDefault("Outcome") is JsonValue o && o.TryGetValue<string>(out var text) ? text : null;
        var reason = run.Output.GetValueOrDefault("FailureReason") is JsonValue r && r.TryGetValue<string>(out var why) && why.Length > 0 ? why : null;
        return run switch
        {
            { Status: not WorkflowStatus.Finished } => null,
            { SubStatus: WorkflowSubStatus.Cancelled } => "it was cancelled",
            { SubStatus: WorkflowSubStatus.Faulted } => $"it faulted: {run.Fault?.Message ?? "no message"}",
            _ when outcome is not null && outcome != "Recovered" => $"it ended {outcome}: {reason ?? "no reason recorded"}",
            _ => null,
        };
    }

    private async Task<WorkflowState?> LatestAsync(string workflow, string platform, CancellationToken cancellationToken)
    {
        var found = await instances.ListAsync(new InstanceQuery(DefinitionId: workflow, Platform: platform, Take: 1), cancellationToken);
        return found.Items is [var newest] ? await instances.GetAsync(newest.Id, cancellationToken) : null;
    }

    /// <summary>
    /// The alert joins a running run: recorded in its journal once per alert firing (not for the repeats of the
    /// alert that started it). No page, no announcement: the run already made them. Only when the alert asks for other
    /// inputs than the run has (another container on the same platform) is on-call paged, since nobody works on it.
    /// </summary>
    private async Task JoinAsync(WorkflowState run, FiringAlert alert, AlertRoute route, string alertRunId, string? platform, string sender, AlertAnswer answer, CancellationToken cancellationToken)
    {
        string recorded;
        if (run.Id == alertRunId)
        {
            recorded = "started by this alert";
        }
        else
        {
            var mark = $"alert-joined:{run.Id}:{alert.Fingerprint}:{alert.StartsAt}";
            if (await marks.GetLastSlotAsync(mark, cancellationToken) is not null)
            {
                recorded = "recorded before";
            }
            else
            {
                var receivedAt = clock.GetUtcNow();
                var note = $"Alert {alert.Name} (fingerprint {alert.Fingerprint}, firing since {alert.StartsAt}) joined this run: {route.Workflow} is already running on "
                           + $"{platform ?? "this platform"}, and only one run of it may work there at a time. No second run was started, nobody was paged again.";
                var payload = new JsonObject
                {
                    ["alert"] = new JsonObject
                    {
                        ["name"] = alert.Name,
                        ["fingerprint"] = alert.Fingerprint,
                        ["startsAt"] = alert.StartsAt,
                        ["receivedAt"] = receivedAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                        ["labels"] = new JsonObject([.. alert.Labels.Select(l => KeyValuePair.Create(l.Key, (JsonNode?)l.Value))]),
                        ["generatorURL"] = alert.Payload["generatorURL"]?.ToString(),
                    },
                    ["platform"] = platform,
                };
                var outcome = await runtime.AddNoteAsync(run.Id, note, payload, sender, cancellationToken);
                recorded = outcome switch
                {
                    NoteOutcome.Written => "written",
                    NoteOutcome.Queued => "queued (written with the step it is executing)",
                    NoteOutcome.Busy => "not yet written: another node is executing the run",
                    _ => "not written: the run is gone",
                };
                if (outcome is NoteOutcome.Written or NoteOutcome.Queued)
                    await marks.TryClaimSlotAsync(mark, receivedAt, runtimeOptions.Value.NodeId, receivedAt, cancellationToken);
                Log.Joined(logger, alert.Name, alert.Fingerprint, alert.StartsAt, run.Id, recorded);
            }
        }

        // An input the run was not given counts as different: its default may or may not be what the alert asks for,
        // and a page too many is better than an alert nobody works on.
        string? paged = null;
        var differences = route.Input
            .Select(i => (i.Key, Wanted: i.Value, Has: run.Input.GetValueOrDefault(i.Key) is JsonValue v && v.TryGetValue<string>(out var given) ? given : null))
            .Where(i => !string.Equals(i.Has, i.Wanted, StringComparison.Ordinal))
            .ToList();
        if (differences.Count > 0)
        {
            var subject = $"Alert {alert.Name}: nothing started, run {run.Id} holds the platform";
            var text = $"Alert {alert.Name} (fingerprint {alert.Fingerprint}, firing since {alert.StartsAt}) asks for {route.Workflow} with "
                       + $"{string.Join(", ", differences.Select(d => $"{d.Key}={d.Wanted}"))}, but run {run.Id} of it is already running on {platform ?? "this platform"} with "
                       + $"{string.Join(", ", differences.Select(d => d.Has is null ? $"{d.Key} not given (its default)" : $"{d.Key}={d.Has}"))}, and only one may run there at a time. "
                       + $"Nothing was started for this alert: check whether run {run.Id} covers it; if not, handle it by hand or start it once run {run.Id} has ended. Run: {onCall.RunLink(run.Id)}";
            paged = (await pager.PageOnceAsync($"alert-joined:{run.Id}:{alert.Fingerprint}", subject, text, cancellationToken)).Describe();
        }

        answer.AlreadyRunning.Add(new { alert = alert.Name, workflow = route.Workflow, instanceId = run.Id, platform, recorded, paged, link = onCall.RunLink(run.Id) });
    }

    /// <summary>
    /// The alert outlived a run that ended (this alert firing's own run, or the last run on the platform, which failed):
    /// nothing is started, on-call is paged once per run and alert with the run's link.
    /// </summary>
    private async Task StillFiringAsync(WorkflowState run, FiringAlert alert, AlertRoute route, string? platform, AlertAnswer answer, CancellationToken cancellationToken)
    {
        var link = onCall.RunLink(run.Id);
        var ended = run.FinishedAt?.ToString("u", System.Globalization.CultureInfo.InvariantCulture) ?? "(unknown)";
        var where = platform ?? "this platform";
        string subject, text, reason;
        if (Failure(run) is { } failure)
        {
            var again = options.Value.HandOverAfterFailure;
            reason = $"run {run.Id} failed ({failure}); people are in charge";
            subject = $"Alert {alert.Name} is still firing after run {run.Id} failed";
            text = $"Alert {alert.Name} (fingerprint {alert.Fingerprint}, firing since {alert.StartsAt}) is still firing. The last run of {route.Workflow} on {where} "
                   + $"ended at {ended} without recovering: {failure}. DrWorkflows did not start another run: after a failed automated recovery people are in charge, "
                   + $"and a new run could undo their work. Run: {link} . To run the automation again: drw run {route.Workflow} "
                   + $"(or POST /elsa/api/workflow-definitions/{route.Workflow}/dispatch). Alerts start runs by themselves again {again:g} after the failure, "
                   + "or at once for a new firing once a run ends recovered.";
        }
        else
        {
            reason = $"run {run.Id}, started by this alert, ended at {ended} reporting success, and the alert is still firing";
            subject = $"Alert {alert.Name} is still firing after run {run.Id} ended";
            text = $"Alert {alert.Name} (fingerprint {alert.Fingerprint}, firing since {alert.StartsAt}) is still firing, but run {run.Id} of {route.Workflow} that it "
                   + $"started ended at {ended} reporting success. Check the platform: either the recovery did not fix what the alert measures, or the alert is wrong. "
                   + $"No new run was started. Run: {link}";
        }

        var paged = await pager.PageOnceAsync($"still-firing:{run.Id}:{alert.Fingerprint}", subject, text, cancellationToken);
        Log.NotStarted(logger, alert.Name, route.Workflow, reason, paged.Describe());
        answer.NotStarted.Add(new { alert = alert.Name, workflow = route.Workflow, instanceId = run.Id, platform, reason, link, paged = paged.Describe() });
    }

    private void Fail(FiringAlert alert, AlertRoute route, string message, AlertAnswer answer)
    {
        Log.RouteBroken(logger, alert.Name, route.Workflow, message);
        answer.Failed.Add(new { alert = alert.Name, workflow = route.Workflow, error = message });
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 30, Level = LogLevel.Warning, Message = "Alert {AlertName} started workflow {Workflow} as run {InstanceId}")]
        public static partial void Started(ILogger logger, string alertName, string workflow, string instanceId);

        [LoggerMessage(EventId = 31, Level = LogLevel.Error, Message = "Alert {AlertName} matches a route to workflow {Workflow}, which cannot be started: {Message}. Fix Alertmanager:Routes or publish the workflow")]
        public static partial void RouteBroken(ILogger logger, string alertName, string workflow, string message);

        [LoggerMessage(EventId = 32, Level = LogLevel.Information, Message = "Alert {AlertName} ({Fingerprint}, since {StartsAt}) joined running run {InstanceId}; journal note {Recorded}")]
        public static partial void Joined(ILogger logger, string alertName, string fingerprint, string startsAt, string instanceId, string recorded);

        [LoggerMessage(EventId = 33, Level = LogLevel.Warning, Message = "Alert {AlertName} started no run of {Workflow}: {Reason}; on-call page {Paged}")]
        public static partial void NotStarted(ILogger logger, string alertName, string workflow, string reason, string paged);
    }
}
