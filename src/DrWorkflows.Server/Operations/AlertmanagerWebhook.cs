using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
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
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>
/// <c>POST /alerts/alertmanager</c>: Prometheus Alertmanager's webhook (payload version 4). Each firing alert that
/// matches a route starts that route's workflow, exactly once per alert firing: the run's id is derived from the
/// workflow, the alert's fingerprint and its start time, so Alertmanager's repeated notifications (every
/// <c>repeat_interval</c>, and its retries) find the run already there. Resolved alerts start nothing; the
/// recovery workflow decides for itself when the platform is healthy. Authenticated like the rest of the API:
/// give Alertmanager an API key with the operator role (<c>authorization: {type: ApiKey, credentials: …}</c>).
/// </summary>
public static partial class AlertmanagerWebhook
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
        return services;
    }

    private static async Task<IResult> ReceiveAsync(
        JsonNode? body,
        HttpContext http,
        IOptions<AlertmanagerOptions> options,
        WorkflowRuntime runtime,
        IWorkflowInstanceStore instances,
        ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        if (body?["alerts"] is not JsonArray alerts)
            return Results.Problem(statusCode: 400, title: "Bad request", detail: "Not an Alertmanager webhook payload: the JSON object needs an 'alerts' array (webhook payload version 4).");
        var logger = loggers.CreateLogger("DrWorkflows.Server.Alertmanager");
        var started = new List<object>();
        var already = new List<object>();
        var unmatched = new List<string>();
        var failed = new List<object>();
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
                unmatched.Add(alertName);
                continue;
            }

            var fingerprint = alert["fingerprint"]?.ToString() ?? string.Join(',', labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));
            var startsAt = alert["startsAt"]?.ToString() ?? string.Empty;
            foreach (var route in routes)
            {
                var instanceId = RunId(route.Workflow, fingerprint, startsAt);
                if (await instances.GetAsync(instanceId, cancellationToken) is not null)
                {
                    already.Add(new { alert = alertName, workflow = route.Workflow, instanceId });
                    continue;
                }

                try
                {
                    await runtime.StartAsync(new StartRunRequest(route.Workflow)
                    {
                        InstanceId = instanceId,
                        Input = RunInput(route, alert, labels, alertName),
                        CorrelationId = $"alert:{fingerprint}",
                        StartedBy = sender,
                        Dispatch = true,
                    }, cancellationToken);
                    Log.Started(logger, alertName, route.Workflow, instanceId);
                    started.Add(new { alert = alertName, workflow = route.Workflow, instanceId });
                }
                catch (DefinitionNotFoundException e)
                {
                    Log.RouteBroken(logger, alertName, route.Workflow, e.Message);
                    failed.Add(new { alert = alertName, workflow = route.Workflow, error = e.Message });
                }
                catch (InvalidOperationException) when (!cancellationToken.IsCancellationRequested)
                {
                    // A concurrent notification created the run first; anything else is a real error.
                    if (await instances.GetAsync(instanceId, cancellationToken) is null)
                        throw;
                    already.Add(new { alert = alertName, workflow = route.Workflow, instanceId });
                }
            }
        }

        // Unmatched and broken routes still answer 200: Alertmanager would only retry the same payload.
        return Results.Ok(new { started, alreadyRunning = already, unmatched, failed });
    }

    /// <summary>A stable run id per workflow and alert firing (the same alert firing again later gets a new run).</summary>
    public static string RunId(string workflow, string fingerprint, string startsAt) =>
        "alert-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{workflow}\n{fingerprint}\n{startsAt}")))[..24];

    private static Dictionary<string, JsonNode?> RunInput(AlertRoute route, JsonObject alert, Dictionary<string, string> labels, string alertName)
    {
        var input = route.Input.ToDictionary(i => i.Key, i => (JsonNode?)JsonValue.Create(i.Value), StringComparer.Ordinal);
        var annotations = Strings(alert["annotations"]);
        if (!input.ContainsKey("Reason"))
            input["Reason"] = annotations.GetValueOrDefault("summary") ?? annotations.GetValueOrDefault("description") ?? $"Alert {alertName} is firing";
        input["Alert"] = new JsonObject
        {
            ["name"] = alertName,
            ["labels"] = new JsonObject([.. labels.Select(l => KeyValuePair.Create(l.Key, (JsonNode?)l.Value))]),
            ["annotations"] = new JsonObject([.. annotations.Select(a => KeyValuePair.Create(a.Key, (JsonNode?)a.Value))]),
            ["startsAt"] = alert["startsAt"]?.ToString(),
            ["generatorURL"] = alert["generatorURL"]?.ToString(),
        };
        return input;
    }

    private static Dictionary<string, string> Strings(JsonNode? node) =>
        node is JsonObject obj
            ? obj.Where(p => p.Value is JsonValue).ToDictionary(p => p.Key, p => p.Value!.ToString(), StringComparer.Ordinal)
            : new Dictionary<string, string>(StringComparer.Ordinal);

    private static partial class Log
    {
        [LoggerMessage(EventId = 30, Level = LogLevel.Warning, Message = "Alert {AlertName} started workflow {Workflow} as run {InstanceId}")]
        public static partial void Started(ILogger logger, string alertName, string workflow, string instanceId);

        [LoggerMessage(EventId = 31, Level = LogLevel.Error, Message = "Alert {AlertName} matches a route to workflow {Workflow}, which cannot be started: {Message}. Fix Alertmanager:Routes or publish the workflow")]
        public static partial void RouteBroken(ILogger logger, string alertName, string workflow, string message);
    }
}
