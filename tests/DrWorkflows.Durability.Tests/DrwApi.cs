using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace DrWorkflows.Durability.Tests;

/// <summary>The few server routes the crash tests use (Elsa instance routes and the operations API).</summary>
internal static class DrwApi
{
    public sealed record Run(string Id, string DefinitionId, string Status, string SubStatus, string? CorrelationId, int IncidentCount);

    public sealed record OpenIncident(string Id, string InstanceId, string Kind, string? ActivityType, string? ActivityId, string Message);

    public sealed record JournalLine(long Sequence, string EventName, string? ExecutionId, string? ActivityId, string? ActivityType, string? IncidentId, string? Resolution)
    {
        public int? Attempt { get; init; }

        public DateTimeOffset Timestamp { get; init; }

        public string? Message { get; init; }

        public JsonNode? Payload { get; init; }
    }

    public static async Task<string> DispatchAsync(HttpClient client, string definitionId, CancellationToken cancellationToken)
    {
        using var response = await client.PostAsJsonAsync($"/elsa/api/workflow-definitions/{definitionId}/dispatch", new JsonObject(), cancellationToken);
        var body = await Ok(response, cancellationToken);
        return body["workflowInstanceId"]!.GetValue<string>();
    }

    public static async Task<List<Run>> ListRunsAsync(HttpClient client, CancellationToken cancellationToken)
    {
        var runs = new List<Run>();
        for (var page = 0; ; page++)
        {
            using var response = await client.PostAsJsonAsync("/elsa/api/workflow-instances", new JsonObject { ["page"] = page, ["pageSize"] = 1000 }, cancellationToken);
            var body = await Ok(response, cancellationToken);
            var items = body["items"]!.AsArray();
            runs.AddRange(items.Select(i => new Run(
                S(i, "id")!, S(i, "definitionId")!, S(i, "status")!, S(i, "subStatus")!, S(i, "correlationId"), i!["incidentCount"]!.GetValue<int>())));
            if (items.Count < 1000)
                return runs;
        }
    }

    public static async Task<List<OpenIncident>> ListIncidentsAsync(HttpClient client, CancellationToken cancellationToken)
    {
        using var response = await client.GetAsync(new Uri("/api/incidents", UriKind.Relative), cancellationToken);
        var body = await Ok(response, cancellationToken);
        return [.. body["items"]!.AsArray().Select(i => new OpenIncident(S(i, "id")!, S(i, "workflowInstanceId")!, S(i, "kind")!, S(i, "activityType"), S(i, "activityId"), S(i, "message") ?? string.Empty))];
    }

    public static async Task<List<JournalLine>> JournalAsync(HttpClient client, string instanceId, CancellationToken cancellationToken)
    {
        using var response = await client.GetAsync(new Uri($"/elsa/api/workflow-instances/{instanceId}/journal?take=5000", UriKind.Relative), cancellationToken);
        var body = await Ok(response, cancellationToken);
        var items = body["items"]!.AsArray();
        if (body["totalCount"]!.GetValue<long>() != items.Count)
            throw new InvalidOperationException($"Journal of {instanceId} has {body["totalCount"]} entries but {items.Count} were returned.");
        return [.. items.Select(i => new JournalLine(
            i!["sequence"]!.GetValue<long>(), S(i, "eventName")!, S(i, "activityInstanceId"), S(i, "activityId"), S(i, "activityType"),
            i["payload"]?["incidentId"]?.GetValue<string>(), i["payload"]?["resolution"]?.GetValue<string>())
        {
            Attempt = i["attempt"] is JsonValue attempt ? attempt.GetValue<int>() : null,
            Timestamp = i["timestamp"]!.GetValue<DateTimeOffset>(),
            Message = S(i, "message"),
            Payload = i["payload"]?.DeepClone(),
        })];
    }

    /// <summary>A run's status and sub-status.</summary>
    public static async Task<(string Status, string SubStatus)> RunStateAsync(HttpClient client, string instanceId, CancellationToken cancellationToken)
    {
        using var response = await client.GetAsync(new Uri($"/elsa/api/workflow-instances/{instanceId}", UriKind.Relative), cancellationToken);
        var body = await Ok(response, cancellationToken);
        return (S(body, "status")!, S(body, "subStatus")!);
    }

    /// <summary>The throwaway resources of a run (<c>/api/workflow-instances/{id}/resources</c>).</summary>
    public static async Task<JsonArray> ResourcesAsync(HttpClient client, string instanceId, CancellationToken cancellationToken)
    {
        using var response = await client.GetAsync(new Uri($"/api/workflow-instances/{instanceId}/resources", UriKind.Relative), cancellationToken);
        return (await Ok(response, cancellationToken))["items"]!.AsArray();
    }

    /// <summary>One janitor pass now (<c>POST /api/throwaway-resources/janitor</c>); returns its report.</summary>
    public static async Task<JsonNode> RunJanitorAsync(HttpClient client, CancellationToken cancellationToken)
    {
        using var response = await client.PostAsync(new Uri("/api/throwaway-resources/janitor", UriKind.Relative), null, cancellationToken);
        return await Ok(response, cancellationToken);
    }

    /// <summary>Retry or skip an incident; false when it was no longer open (409) or the run is busy.</summary>
    public static async Task<bool> ResolveAsync(HttpClient client, string instanceId, string incidentId, string action, CancellationToken cancellationToken)
    {
        using var response = await client.PostAsJsonAsync($"/api/workflow-instances/{instanceId}/incidents/{incidentId}/{action}", new JsonObject(), cancellationToken);
        if (response.StatusCode == System.Net.HttpStatusCode.Conflict)
            return false;
        await Ok(response, cancellationToken);
        return true;
    }

    private static string? S(JsonNode? node, string name) => node?[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static async Task<JsonNode> Ok(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"{(int)response.StatusCode} from {response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {text}");
        return JsonNode.Parse(text) ?? throw new HttpRequestException($"Empty body from {response.RequestMessage?.RequestUri}.");
    }
}
