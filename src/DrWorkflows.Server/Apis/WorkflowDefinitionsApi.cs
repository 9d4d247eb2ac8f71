using System.Text.Json.Nodes;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Server.Security;

namespace DrWorkflows.Server.Apis;

/// <summary>Elsa's workflow-definition routes under <c>/elsa/api</c>: read, save/publish, execute.</summary>
public static class WorkflowDefinitionsApi
{
    public static RouteGroupBuilder MapWorkflowDefinitionsApi(this RouteGroupBuilder group)
    {
        group.MapGet("/workflow-definitions", ListAsync);
        group.MapGet("/workflow-definitions/by-definition-id/{definitionId}", GetByDefinitionIdAsync);
        group.MapGet("/workflow-definitions/by-id/{id}", GetByIdAsync);
        group.MapPost("/workflow-definitions", SaveAsync).RequireAuthorization(Roles.Designer);
        group.MapPost("/workflow-definitions/{definitionId}/publish", PublishAsync).RequireAuthorization(Roles.Designer);
        group.MapPost("/workflow-definitions/{definitionId}/retract", RetractAsync).RequireAuthorization(Roles.Designer);
        group.MapDelete("/workflow-definitions/{definitionId}", DeleteAsync).RequireAuthorization(Roles.Designer);
        group.MapPost("/workflow-definitions/{definitionId}/execute", ExecuteAsync).RequireAuthorization(Roles.Operator);
        group.MapPost("/workflow-definitions/{definitionId}/dispatch", DispatchAsync).RequireAuthorization(Roles.Operator);
        return group;
    }

    private static async Task<IResult> ListAsync(string? versionOptions, string? searchTerm, int? page, int? pageSize, IWorkflowDefinitionStore store, CancellationToken cancellationToken)
    {
        var versions = ParseVersions(versionOptions, VersionOptions.LatestVersion);
        var size = Math.Clamp(pageSize ?? 50, 1, 1000);
        var index = Math.Max(page ?? 0, 0);
        var result = await store.ListAsync(new DefinitionQuery(versions, searchTerm, Skip: index * size, Take: size), cancellationToken);
        return Results.Ok(new
        {
            items = result.Items.Select(Summary),
            totalCount = result.TotalCount,
            links = new[] { new { href = "/workflow-definitions", rel = "self", method = "GET" }, new { href = "/workflow-definitions", rel = "bulk-publish", method = "POST" } },
        });
    }

    private static async Task<IResult> GetByDefinitionIdAsync(string definitionId, string? versionOptions, IWorkflowDefinitionStore store, CancellationToken cancellationToken) =>
        await store.FindAsync(definitionId, ParseVersions(versionOptions, VersionOptions.LatestVersion), cancellationToken) is { } definition
            ? Results.Text(WithLinks(definition).ToJsonString(), "application/json")
            : NotFound(definitionId);

    private static async Task<IResult> GetByIdAsync(string id, IWorkflowDefinitionStore store, CancellationToken cancellationToken) =>
        await store.FindByIdAsync(id, cancellationToken) is { } definition
            ? Results.Text(WithLinks(definition).ToJsonString(), "application/json")
            : NotFound(id);

    /// <summary>Elsa's save: <c>{"model": {definition}, "publish": true|false}</c>.</summary>
    private static async Task<IResult> SaveAsync(JsonObject body, WorkflowDefinitionService definitions, CancellationToken cancellationToken)
    {
        if (body["model"] is not JsonObject model)
            return Results.Problem(statusCode: 400, title: "Bad request", detail: "The body must be {\"model\": <workflow definition>, \"publish\": true|false}.");
        var publish = body["publish"] is JsonValue p && p.TryGetValue<bool>(out var b) && b;
        var isNew = string.IsNullOrEmpty(model["definitionId"]?.GetValue<string>());
        var stored = await definitions.SaveAsync(new WorkflowDefinitionDocument((JsonObject)model.DeepClone()), publish, "api", isReadonly: false, cancellationToken);
        var json = WithLinks(stored).ToJsonString();
        return isNew ? Results.Text(json, "application/json", statusCode: 201) : Results.Text(json, "application/json");
    }

    private static async Task<IResult> PublishAsync(string definitionId, WorkflowDefinitionService definitions, CancellationToken cancellationToken) =>
        Results.Text(WithLinks(await definitions.PublishAsync(definitionId, cancellationToken)).ToJsonString(), "application/json");

    private static async Task<IResult> RetractAsync(string definitionId, WorkflowDefinitionService definitions, CancellationToken cancellationToken) =>
        Results.Text(WithLinks(await definitions.RetractAsync(definitionId, cancellationToken)).ToJsonString(), "application/json");

    private static async Task<IResult> DeleteAsync(string definitionId, WorkflowDefinitionService definitions, CancellationToken cancellationToken) =>
        await definitions.DeleteAsync(definitionId, cancellationToken) > 0 ? Results.NoContent() : NotFound(definitionId);

    /// <summary>Body of execute/dispatch: <c>{"input":{}, "correlationId":null, "versionOptions":"Published", "triggerActivityId":null}</c>.</summary>
    public sealed record ExecuteRequest(JsonObject? Input, string? CorrelationId, string? VersionOptions, string? TriggerActivityId, string? InstanceId);

    private static async Task<IResult> ExecuteAsync(string definitionId, ExecuteRequest? request, HttpContext http, WorkflowRuntime runtime, CancellationToken cancellationToken)
    {
        var state = await runtime.StartAsync(ToStart(definitionId, request, http), cancellationToken);
        http.Response.Headers["x-elsa-workflow-instance-id"] = state.Id;
        return Results.Ok(new { workflowState = ElsaModels.WorkflowStateModel(state) });
    }

    private static async Task<IResult> DispatchAsync(string definitionId, ExecuteRequest? request, HttpContext http, WorkflowRuntime runtime, CancellationToken cancellationToken)
    {
        var state = await runtime.StartAsync(ToStart(definitionId, request, http) with { Dispatch = true }, cancellationToken);
        http.Response.Headers["x-elsa-workflow-instance-id"] = state.Id;
        return Results.Ok(new { workflowInstanceId = state.Id });
    }

    private static StartRunRequest ToStart(string definitionId, ExecuteRequest? request, HttpContext http) => new(definitionId)
    {
        Input = ElsaModels.ToDictionary(request?.Input),
        CorrelationId = request?.CorrelationId,
        Versions = ParseVersions(request?.VersionOptions, VersionOptions.PublishedVersion),
        StartedBy = ElsaModels.Actor(http.User),
        InstanceId = string.IsNullOrWhiteSpace(request?.InstanceId) ? null : request.InstanceId,
        TriggerNodeId = request?.TriggerActivityId,
    };

    private static VersionOptions ParseVersions(string? text, VersionOptions fallback) =>
        string.IsNullOrWhiteSpace(text) ? fallback
        : VersionOptions.TryParse(text, out var options) ? options
        : throw new FormatException($"versionOptions '{text}' is not one of Latest, Published, LatestOrPublished, All or a version number.");

    public static object Summary(StoredWorkflowDefinition d) => new
    {
        id = d.Id,
        definitionId = d.DefinitionId,
        name = d.Name,
        description = d.Description,
        version = d.Version,
        toolVersion = "3.8.0",
        isLatest = d.IsLatest,
        isPublished = d.IsPublished,
        isReadonly = d.IsReadonly,
        providerName = d.Origin,
        materializerName = "Json",
        isMaterializerAvailable = true,
        createdAt = d.CreatedAt,
        links = Links(d.DefinitionId),
    };

    /// <summary>The stored JSON with Elsa's <c>links</c> (the Studio treats a definition without a publish link as read-only).</summary>
    public static JsonObject WithLinks(StoredWorkflowDefinition definition)
    {
        var json = JsonNode.Parse(definition.Json)!.AsObject();
        json["links"] = definition.IsReadonly
            ? new JsonArray(Link($"/workflow-definitions/{definition.DefinitionId}", "self", "GET"))
            : new JsonArray([.. Links(definition.DefinitionId).Select(l => (JsonNode)Link(l.href, l.rel, l.method))]);
        return json;
    }

    private static IEnumerable<(string href, string rel, string method)> Links(string definitionId) =>
    [
        ($"/workflow-definitions/{definitionId}", "self", "GET"),
        ($"/workflow-definitions/{definitionId}/publish", "publish", "POST"),
        ($"/workflow-definitions/{definitionId}/retract", "retract", "POST"),
    ];

    private static JsonObject Link(string href, string rel, string method) => new() { ["href"] = href, ["rel"] = rel, ["method"] = method };

    private static IResult NotFound(string id) =>
        Results.Problem(statusCode: 404, title: "Not found", detail: $"Workflow definition '{id}' does not exist.");
}
