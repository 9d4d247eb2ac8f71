using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Serialization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Notifications;

/// <summary>A new status page incident.</summary>
public sealed record NewStatusPageIncident
{
    public required string Name { get; init; }

    /// <summary>investigating, identified, monitoring or resolved.</summary>
    public string Status { get; init; } = StatusPageValues.Investigating;

    public string? Body { get; init; }

    /// <summary>none, minor, major or critical; Statuspage derives it from the components when not given.</summary>
    public string? Impact { get; init; }

    /// <summary>Component id → component status (operational, degraded_performance, partial_outage, major_outage, under_maintenance).</summary>
    public IReadOnlyDictionary<string, string> Components { get; init; } = new Dictionary<string, string>();

    public bool DeliverNotifications { get; init; } = true;

    /// <summary>
    /// When set, an unresolved incident with the same name created at or after this time is taken instead of
    /// creating a second one (so a re-run of the step does not post a duplicate public incident).
    /// </summary>
    public DateTimeOffset? AdoptOpenIncidentSince { get; init; }
}

/// <summary>An update of an existing incident: a new status and/or message, component changes.</summary>
public sealed record StatusPageIncidentUpdate
{
    public string? Status { get; init; }

    public string? Body { get; init; }

    public IReadOnlyDictionary<string, string> Components { get; init; } = new Dictionary<string, string>();

    public bool DeliverNotifications { get; init; } = true;
}

public sealed record StatusPageIncident(string Id, string Name, string Status, string? Shortlink, DateTimeOffset? CreatedAt)
{
    /// <summary>Whether an existing open incident was adopted instead of creating one.</summary>
    public bool Adopted { get; init; }
}

/// <summary>Statuspage's accepted values.</summary>
public static class StatusPageValues
{
    public const string Investigating = "investigating";
    public const string Identified = "identified";
    public const string Monitoring = "monitoring";
    public const string Resolved = "resolved";
    public const string Operational = "operational";

    public static IReadOnlyList<string> IncidentStatuses { get; } = [Investigating, Identified, Monitoring, Resolved];

    public static IReadOnlyList<string> Impacts { get; } = ["none", "minor", "major", "critical"];

    public static IReadOnlyList<string> ComponentStatuses { get; } = [Operational, "degraded_performance", "partial_outage", "major_outage", "under_maintenance"];

    internal static string Check(string value, IReadOnlyList<string> allowed, string what)
    {
        var normalized = value.Trim().ToLowerInvariant().Replace(' ', '_');
        return allowed.Contains(normalized)
            ? normalized
            : throw new NotificationException($"'{value}' is not a Statuspage {what}; use one of {string.Join(", ", allowed)}.", NotificationChannels.StatusPage, retryable: false) { Code = "statuspage.bad-value" };
    }
}

public interface IStatusPageClient
{
    Task<StatusPageIncident> CreateIncidentAsync(NewStatusPageIncident incident, CancellationToken cancellationToken);

    Task<StatusPageIncident> UpdateIncidentAsync(string incidentId, StatusPageIncidentUpdate update, CancellationToken cancellationToken);

    /// <summary>Sets the status of one component (e.g. <c>major_outage</c>, back to <c>operational</c>).</summary>
    Task SetComponentStatusAsync(string componentId, string status, CancellationToken cancellationToken);
}

/// <summary>
/// Atlassian Statuspage REST API v1 over <see cref="HttpClient"/> (<c>Authorization: OAuth &lt;key&gt;</c>).
/// PATCH calls are idempotent and retried on 429/5xx/network errors; incident creation is retried as
/// "find an open incident of this run, else create", so a retry after a lost answer does not duplicate it.
/// </summary>
internal sealed class StatuspageClient : IStatusPageClient, IDisposable
{
    private readonly NotificationHttp http;
    private readonly StatuspageOptions options;
    private readonly ILogger<StatuspageClient> logger;

    public StatuspageClient(HttpClient http, IOptions<NotificationsOptions> options, TimeProvider clock, ILogger<StatuspageClient> logger)
    {
        this.options = options.Value.StatusPage;
        this.logger = logger;
        this.http = new NotificationHttp(http, this.options, NotificationChannels.StatusPage, clock, logger);
    }

    public void Dispose() => http.Dispose();

    public async Task<StatusPageIncident> CreateIncidentAsync(NewStatusPageIncident incident, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(incident);
        EnsureConfigured();
        if (string.IsNullOrWhiteSpace(incident.Name))
            throw new NotificationException("A status page incident needs a name.", NotificationChannels.StatusPage, retryable: false) { Code = "statuspage.no-name" };
        var body = new JsonObject
        {
            ["name"] = incident.Name,
            ["status"] = StatusPageValues.Check(incident.Status, StatusPageValues.IncidentStatuses, "incident status"),
            ["deliver_notifications"] = incident.DeliverNotifications,
        };
        if (!string.IsNullOrWhiteSpace(incident.Body))
            body["body"] = incident.Body;
        if (!string.IsNullOrWhiteSpace(incident.Impact))
            body["impact_override"] = StatusPageValues.Check(incident.Impact, StatusPageValues.Impacts, "impact");
        AddComponents(body, incident.Components);
        var payload = new JsonObject { ["incident"] = body }.ToJsonString(Json.Options);

        var created = await http.WithRetriesAsync(
            $"Statuspage create incident '{incident.Name}'",
            async ct =>
            {
                if (incident.AdoptOpenIncidentSince is { } since && await FindOpenAsync(incident.Name, since, ct) is { } open)
                    return open with { Adopted = true };
                try
                {
                    return ParseIncident(await SendAsync(HttpMethod.Post, $"pages/{Page}/incidents", payload, "create incident", ct));
                }
                catch (NotificationException e) when (e.Retryable && e.RetryAfter is null && incident.AdoptOpenIncidentSince is null)
                {
                    // Without an adoption window a retry after a lost answer could publish the incident twice.
                    throw new NotificationException(e.Message + " Not retried: the incident may have been created; check the status page.", e.Channel, retryable: false, e) { Code = e.Code, ServiceError = e.ServiceError };
                }
            },
            cancellationToken);
        Log.StatusPageIncident(logger, created.Id, created.Adopted ? "adopted" : "created", created.Status);
        return created;
    }

    public async Task<StatusPageIncident> UpdateIncidentAsync(string incidentId, StatusPageIncidentUpdate update, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(update);
        EnsureConfigured();
        var id = RequireId(incidentId, "incident");
        var body = new JsonObject { ["deliver_notifications"] = update.DeliverNotifications };
        if (!string.IsNullOrWhiteSpace(update.Status))
            body["status"] = StatusPageValues.Check(update.Status, StatusPageValues.IncidentStatuses, "incident status");
        if (!string.IsNullOrWhiteSpace(update.Body))
            body["body"] = update.Body;
        AddComponents(body, update.Components);
        var payload = new JsonObject { ["incident"] = body }.ToJsonString(Json.Options);
        var updated = await http.WithRetriesAsync(
            $"Statuspage update incident {id}",
            async ct => ParseIncident(await SendAsync(HttpMethod.Patch, $"pages/{Page}/incidents/{id}", payload, "update incident", ct)),
            cancellationToken);
        Log.StatusPageIncident(logger, updated.Id, "updated", updated.Status);
        return updated;
    }

    public async Task SetComponentStatusAsync(string componentId, string status, CancellationToken cancellationToken)
    {
        EnsureConfigured();
        var id = RequireId(componentId, "component");
        var payload = new JsonObject
        {
            ["component"] = new JsonObject { ["status"] = StatusPageValues.Check(status, StatusPageValues.ComponentStatuses, "component status") },
        }.ToJsonString(Json.Options);
        await http.WithRetriesAsync(
            $"Statuspage set component {id}",
            async ct => await SendAsync(HttpMethod.Patch, $"pages/{Page}/components/{id}", payload, "set component status", ct),
            cancellationToken);
        Log.StatusPageComponent(logger, id, status);
    }

    private string Page => Uri.EscapeDataString(options.PageId!.Trim());

    private async Task<StatusPageIncident?> FindOpenAsync(string name, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var json = await SendAsync(HttpMethod.Get, $"pages/{Page}/incidents/unresolved", null, "list unresolved incidents", cancellationToken);
        if (json is not JsonArray incidents)
            return null;
        return incidents
            .OfType<JsonObject>()
            .Select(ParseIncident)
            .Where(i => i.Name == name && i.CreatedAt >= since)
            .OrderBy(i => i.CreatedAt)
            .FirstOrDefault();
    }

    private static void AddComponents(JsonObject body, IReadOnlyDictionary<string, string> components)
    {
        if (components.Count == 0)
            return;
        var statuses = new JsonObject();
        foreach (var (id, status) in components)
            statuses[id] = StatusPageValues.Check(status, StatusPageValues.ComponentStatuses, "component status");
        body["component_ids"] = new JsonArray([.. components.Keys.Select(k => (JsonNode?)JsonValue.Create(k))]);
        body["components"] = statuses;
    }

    private async Task<JsonNode?> SendAsync(HttpMethod method, string path, string? payload, string what, CancellationToken cancellationToken)
    {
        var response = await http.SendAsync(
            method, options.BaseUrl, path, new AuthenticationHeaderValue("OAuth", options.ApiKey), payload, $"Statuspage {what}", cancellationToken);
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                try
                {
                    return text.Length == 0 ? null : JsonNode.Parse(text);
                }
                catch (JsonException e)
                {
                    throw new NotificationException($"Statuspage {what}: the answer is not JSON.", NotificationChannels.StatusPage, retryable: false, e) { Code = "statuspage.bad-response" };
                }
            }

            var rateLimited = response.StatusCode == HttpStatusCode.TooManyRequests || status == 420;
            TimeSpan? wait = rateLimited ? NotificationHttp.RetryAfter(response) : null;
            var message = ErrorText(text);
            var hint = status switch
            {
                401 or 403 => " Check Notifications:StatusPage:ApiKey.",
                404 => " Check Notifications:StatusPage:PageId and the incident or component id.",
                422 or 400 => " Fix the values sent.",
                _ => string.Empty,
            };
            throw http.StatusError($"Statuspage {what} failed with HTTP {status}: {message}.{hint}", status, rateLimited || status >= 500, wait);
        }
    }

    private static string ErrorText(string body)
    {
        try
        {
            if (JsonNode.Parse(body) is JsonObject json)
            {
                if (json["error"] is JsonArray errors)
                    return string.Join("; ", errors.Select(e => e?.ToString()));
                if (json["error"] is { } error)
                    return error.ToString();
                if (json["message"] is { } message)
                    return message.ToString();
            }
        }
        catch (JsonException)
        {
        }

        return body.Length > 200 ? body[..200] : (body.Length == 0 ? "(no message)" : body);
    }

    private static StatusPageIncident ParseIncident(JsonNode? json)
    {
        if (json is not JsonObject incident || incident["id"]?.GetValue<string>() is not { Length: > 0 } id)
            throw new NotificationException("Statuspage answered without an incident id.", NotificationChannels.StatusPage, retryable: false) { Code = "statuspage.bad-response" };
        DateTimeOffset? created = DateTimeOffset.TryParse(incident["created_at"]?.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;
        return new StatusPageIncident(
            id,
            incident["name"]?.GetValue<string>() ?? string.Empty,
            incident["status"]?.GetValue<string>() ?? string.Empty,
            incident["shortlink"]?.GetValue<string>(),
            created);
    }

    private void EnsureConfigured()
    {
        if (!options.IsConfigured)
            throw new NotificationException("The status page is not configured: set Notifications:StatusPage:ApiKey and Notifications:StatusPage:PageId.", NotificationChannels.StatusPage, retryable: false) { Code = "statuspage.not-configured" };
    }

    private static string RequireId(string? id, string what) =>
        string.IsNullOrWhiteSpace(id) || !id.Trim().All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
            ? throw new NotificationException($"'{id}' is not a Statuspage {what} id.", NotificationChannels.StatusPage, retryable: false) { Code = "statuspage.bad-id" }
            : id.Trim();
}
