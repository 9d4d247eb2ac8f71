using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Server.Hosting;
using DrWorkflows.Server.Security;

namespace DrWorkflows.Server.Apis;

/// <summary>
/// Elsa's workflow-definition routes under <c>/elsa/api</c>, as Elsa Studio 3.8 calls them: read (by definition
/// id with versionOptions, by version id, many, paged list), save with the <c>publish</c> flag and Elsa's
/// draft/published versioning, publish, retract, delete (definition or one version), revert, name check,
/// import/export, bulk actions, execute and dispatch. Definitions from <c>workflows/</c> or C# are read-only:
/// changing them answers 409 with the reason.
/// </summary>
public static partial class WorkflowDefinitionsApi
{
    public static RouteGroupBuilder MapWorkflowDefinitionsApi(this RouteGroupBuilder group)
    {
        group.MapGet("/workflow-definitions", ListAsync);
        group.MapGet("/workflow-definitions/by-definition-id/{definitionId}", GetByDefinitionIdAsync);
        group.MapGet("/workflow-definitions/{definitionId}", GetByDefinitionIdAsync);
        group.MapGet("/workflow-definitions/by-id/{id}", GetByIdAsync);
        group.MapGet("/workflow-definitions/many-by-id", GetManyAsync);
        group.MapGet("/workflow-definitions/validation/is-name-unique", IsNameUniqueAsync);
        group.MapGet("/workflow-definitions/query/count", CountAsync);
        group.MapGet("/workflow-definitions/{definitionId}/consumers", ConsumersAsync);
        group.MapGet("/workflow-definitions/{definitionId}/export", ExportAsync);
        group.MapPost("/workflow-definitions", SaveAsync).RequireAuthorization(Roles.Designer).WithBodyLimit(BodyLimits.Definition);
        group.MapPost("/workflow-definitions/import", ImportAsync).RequireAuthorization(Roles.Designer).WithBodyLimit(BodyLimits.Definition);
        group.MapPost("/workflow-definitions/import-files", ImportFilesAsync).RequireAuthorization(Roles.Designer).DisableAntiforgery().WithBodyLimit(BodyLimits.DefinitionFiles);
        group.MapPost("/workflow-definitions/{definitionId}/publish", PublishAsync).RequireAuthorization(Roles.Designer);
        group.MapPost("/workflow-definitions/{definitionId}/retract", RetractAsync).RequireAuthorization(Roles.Designer);
        group.MapPost("/workflow-definitions/{definitionId}/revert/{version:int}", RevertAsync).RequireAuthorization(Roles.Designer);
        group.MapPost("/workflow-definitions/{definitionId}/update-references", (string definitionId) => Results.Ok(new { affectedWorkflows = Array.Empty<string>() })).RequireAuthorization(Roles.Designer);
        group.MapDelete("/workflow-definitions/{definitionId}", DeleteAsync).RequireAuthorization(Roles.Designer);
        group.MapDelete("/workflow-definition-versions/{id}", DeleteVersionAsync).RequireAuthorization(Roles.Designer);
        // No Accepts metadata: with it, routing refuses a POST without a Content-Type (404), which Elsa accepts.
        group.MapPost("/workflow-definitions/{definitionId}/execute", ExecuteFromBodyAsync).RequireAuthorization(Roles.Operator);
        group.MapGet("/workflow-definitions/{definitionId}/execute", ExecuteByQueryAsync).RequireAuthorization(Roles.Operator);
        group.MapPost("/workflow-definitions/{definitionId}/dispatch", DispatchAsync).RequireAuthorization(Roles.Operator);

        group.MapPost("/bulk-actions/delete/workflow-definitions/by-definition-id", BulkDeleteAsync).RequireAuthorization(Roles.Designer).WithBodyLimit(BodyLimits.Bulk);
        group.MapPost("/bulk-actions/delete/workflow-definitions/by-id", BulkDeleteVersionsAsync).RequireAuthorization(Roles.Designer).WithBodyLimit(BodyLimits.Bulk);
        group.MapPost("/bulk-actions/publish/workflow-definitions/by-definition-ids", BulkPublishAsync).RequireAuthorization(Roles.Designer).WithBodyLimit(BodyLimits.Bulk);
        group.MapPost("/bulk-actions/retract/workflow-definitions/by-definition-ids", BulkRetractAsync).RequireAuthorization(Roles.Designer).WithBodyLimit(BodyLimits.Bulk);
        group.MapPost("/bulk-actions/export/workflow-definitions", BulkExportAsync).WithBodyLimit(BodyLimits.Bulk);
        return group;
    }

    private static async Task<IResult> ListAsync(
        string? versionOptions,
        string? searchTerm,
        int? page,
        int? pageSize,
        string[]? definitionIds,
        string[]? ids,
        string? orderBy,
        string? orderDirection,
        IWorkflowDefinitionStore store,
        CancellationToken cancellationToken)
    {
        // Asked by version ids (the instance list resolves names this way): any version, unless versionOptions says otherwise.
        var versions = VersionSelector.Parse(versionOptions, ids is { Length: > 0 } ? VersionSelector.All : VersionSelector.Latest);
        var rows = (await AllVersionsAsync(store, definitionIds, cancellationToken))
            .Where(versions.Matches)
            .Where(d => ids is not { Length: > 0 } || ids.Contains(d.Id, StringComparer.Ordinal))
            .Where(d => string.IsNullOrWhiteSpace(searchTerm)
                || (d.Name ?? string.Empty).Contains(searchTerm, StringComparison.OrdinalIgnoreCase)
                || (d.Description ?? string.Empty).Contains(searchTerm, StringComparison.OrdinalIgnoreCase)
                || d.DefinitionId.Contains(searchTerm, StringComparison.OrdinalIgnoreCase));
        var ordered = Order(rows, orderBy, orderDirection).ToList();
        var (skip, take) = Paging.Page(page, pageSize, defaultSize: Math.Max(ordered.Count, 1), maxSize: 1000);
        var items = new JsonArray([.. ordered.Skip(skip).Take(take).Select(d => (JsonNode)DefinitionViews.Summary(d))]);
        return DescriptorsApi.Json(new JsonObject
        {
            ["items"] = items,
            ["totalCount"] = ordered.Count,
            ["links"] = new JsonArray(
                DefinitionViews.Link("/workflow-definitions", "self", "GET"),
                DefinitionViews.Link("/bulk-actions/publish/workflow-definitions/by-definition-ids", "bulk-publish", "POST")),
        });
    }

    private static IEnumerable<StoredWorkflowDefinition> Order(IEnumerable<StoredWorkflowDefinition> rows, string? orderBy, string? orderDirection)
    {
        var by = string.IsNullOrWhiteSpace(orderBy) ? "Name" : orderBy.Trim();
        var descending = string.IsNullOrWhiteSpace(orderDirection)
            ? !by.Equals("Name", StringComparison.OrdinalIgnoreCase)
            : orderDirection.Trim().Equals("Descending", StringComparison.OrdinalIgnoreCase);
        Func<StoredWorkflowDefinition, IComparable> key = by.ToUpperInvariant() switch
        {
            "CREATED" or "CREATEDAT" => d => d.CreatedAt,
            "VERSION" => d => d.Version,
            _ => d => (d.Name ?? d.DefinitionId).ToUpperInvariant(),
        };
        return descending
            ? rows.OrderByDescending(key).ThenByDescending(d => d.Version)
            : rows.OrderBy(key).ThenBy(d => d.Version);
    }

    private static async Task<IReadOnlyList<StoredWorkflowDefinition>> AllVersionsAsync(IWorkflowDefinitionStore store, string[]? definitionIds, CancellationToken cancellationToken) =>
        (await store.ListAsync(new DefinitionQuery(VersionOptions.All, DefinitionIds: definitionIds is { Length: > 0 } ? definitionIds : null, Take: 100_000), cancellationToken)).Items;

    private static async Task<IResult> GetByDefinitionIdAsync(string definitionId, string? versionOptions, IWorkflowDefinitionStore store, CancellationToken cancellationToken)
    {
        var versions = VersionSelector.Parse(versionOptions, VersionSelector.Latest);
        return versions.Pick(await store.ListVersionsAsync(definitionId, cancellationToken)) is { } definition
            ? DescriptorsApi.Json(DefinitionViews.Model(definition))
            : NotFound(definitionId, versions);
    }

    private static async Task<IResult> GetByIdAsync(string id, IWorkflowDefinitionStore store, CancellationToken cancellationToken) =>
        await store.FindByIdAsync(id, cancellationToken) is { } definition
            ? DescriptorsApi.Json(DefinitionViews.Model(definition))
            : NotFound(id);

    private static async Task<IResult> GetManyAsync(string[]? ids, IWorkflowDefinitionStore store, CancellationToken cancellationToken)
    {
        var items = new JsonArray();
        foreach (var id in Paging.Ids(ids, "ids"))
        {
            if (await store.FindByIdAsync(id, cancellationToken) is { } definition)
                items.Add(DefinitionViews.Model(definition));
        }

        return DescriptorsApi.Json(new JsonObject { ["items"] = items, ["count"] = items.Count });
    }

    private static async Task<IResult> IsNameUniqueAsync(string? name, string? definitionId, IWorkflowDefinitionStore store, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(name))
            return BadRequest("Give the name to check: ?name=<name>[&definitionId=<id of the definition being renamed>].");
        var latest = await AllVersionsAsync(store, null, cancellationToken);
        var taken = latest.Any(d => d.IsLatest && d.DefinitionId != definitionId && string.Equals(d.Name?.Trim(), name.Trim(), StringComparison.Ordinal));
        return Results.Ok(new { isUnique = !taken });
    }

    private static async Task<IResult> CountAsync(IWorkflowDefinitionStore store, CancellationToken cancellationToken) =>
        Results.Ok(new { count = (await AllVersionsAsync(store, null, cancellationToken)).Count(d => d.IsLatest) });

    /// <summary>Elsa's save: <c>{"model": {definition}, "publish": true|false|null}</c>.</summary>
    public sealed record SaveRequest(JsonObject? Model, bool? Publish);

    /// <summary>Bodies of the bulk actions: version ids, or definition ids.</summary>
    public sealed record IdsRequest(string[]? Ids);

    public sealed record DefinitionIdsRequest(string[]? DefinitionIds);

    private static async Task<IResult> SaveAsync(SaveRequest? request, WorkflowDefinitionService definitions, GitOps.GitOpsPublishing gitOps, HttpContext http, CancellationToken cancellationToken)
    {
        if (request?.Model is not { } model)
            return BadRequest("The body must be {\"model\": <workflow definition>, \"publish\": true|false}.");
        if (CSharpAuthoring.Refuse(http.User, model) is { } refused)
            return refused;
        // With GitOps on, a publish is a pull request: the version is saved as a draft and goes to review.
        var review = request.Publish == true && gitOps.Enabled;
        var publish = request.Publish == true && !review;
        var definitionId = model["definitionId"] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;
        var isNew = definitionId is null || await definitions.FindAsync(definitionId, VersionOptions.LatestVersion, cancellationToken) is null;
        var previous = isNew ? null : await definitions.FindAsync(definitionId!, VersionOptions.PublishedVersion, cancellationToken);
        var consumers = new List<ConsumerUpdate>();
        var stored = await definitions.SaveAsync(new WorkflowDefinitionDocument((JsonObject)model.DeepClone()), publish, "api", isReadonly: false, cancellationToken, consumerUpdates: consumers);
        if (review)
            return await gitOps.ReviewAsync(stored, previous, ElsaModels.Actor(http.User), cancellationToken);
        var response = new JsonObject
        {
            ["workflowDefinition"] = DefinitionViews.Model(stored),
            ["alreadyPublished"] = publish && previous is not null && previous.Id == stored.Id,
            ["consumingWorkflowCount"] = consumers.Count(c => c.SkippedBecause is null),
            ["validationErrors"] = new JsonArray(),
        };
        AddConsumerUpdates(response, consumers);
        return Results.Text(response.ToJsonString(), "application/json; charset=utf-8", statusCode: isNew ? 201 : 200);
    }

    private static async Task<IResult> PublishAsync(string definitionId, WorkflowDefinitionService definitions, GitOps.GitOpsPublishing gitOps, HttpContext http, CancellationToken cancellationToken)
    {
        var latest = await definitions.FindAsync(definitionId, VersionOptions.LatestVersion, cancellationToken);
        if (latest is null)
            return NotFound(definitionId);
        if (!latest.IsPublished && CSharpAuthoring.Refuse(http.User, JsonNode.Parse(latest.Json)) is { } refused)
            return refused;
        if (gitOps.Enabled && !latest.IsPublished)
            return await gitOps.ReviewAsync(latest, await definitions.FindAsync(definitionId, VersionOptions.PublishedVersion, cancellationToken), ElsaModels.Actor(http.User), cancellationToken);
        var consumers = new List<ConsumerUpdate>();
        var published = await definitions.PublishAsync(definitionId, cancellationToken, consumers);
        var response = new JsonObject
        {
            ["workflowDefinition"] = DefinitionViews.Model(published),
            ["alreadyPublished"] = latest.IsPublished,
            ["consumingWorkflowCount"] = consumers.Count(c => c.SkippedBecause is null),
        };
        AddConsumerUpdates(response, consumers);
        return DescriptorsApi.Json(response);
    }

    /// <summary>
    /// What <c>autoUpdateConsumingWorkflows</c> did, beside Elsa's count: each consumer updated (its new version) and each
    /// left alone, with the reason (a file in <c>workflows/</c> is never rewritten).
    /// </summary>
    private static void AddConsumerUpdates(JsonObject response, List<ConsumerUpdate> consumers)
    {
        if (consumers.Count == 0)
            return;
        response["updatedConsumingWorkflows"] = new JsonArray([.. consumers.Where(c => c.SkippedBecause is null)
            .Select(c => new JsonObject { ["definitionId"] = c.DefinitionId, ["version"] = c.Version, ["isPublished"] = c.Published })]);
        response["skippedConsumingWorkflows"] = new JsonArray([.. consumers.Where(c => c.SkippedBecause is not null)
            .Select(c => new JsonObject { ["definitionId"] = c.DefinitionId, ["reason"] = c.SkippedBecause })]);
    }

    private static async Task<IResult> RetractAsync(string definitionId, WorkflowDefinitionService definitions, CancellationToken cancellationToken)
    {
        if (await definitions.FindAsync(definitionId, VersionOptions.PublishedVersion, cancellationToken) is null)
        {
            return await definitions.FindAsync(definitionId, VersionOptions.LatestVersion, cancellationToken) is null
                ? NotFound(definitionId)
                : BadRequest($"Workflow definition '{definitionId}' has no published version to retract.");
        }

        return DescriptorsApi.Json(DefinitionViews.Model(await definitions.RetractAsync(definitionId, cancellationToken)));
    }

    private static async Task<IResult> RevertAsync(string definitionId, int version, WorkflowDefinitionService definitions, IWorkflowDefinitionStore store, HttpContext http, CancellationToken cancellationToken)
    {
        var versions = await store.ListVersionsAsync(definitionId, cancellationToken);
        if (versions.Count == 0)
            return NotFound(definitionId);
        if (versions.FirstOrDefault(v => v.Version == version) is not { } source)
            return NotFound($"{definitionId} version {version}");
        if (CSharpAuthoring.Refuse(http.User, JsonNode.Parse(source.Json)) is { } refused)
            return refused;
        var document = WorkflowDefinitionDocument.Parse(source.Json);
        var stored = await definitions.SaveAsync(document, publish: false, "api", isReadonly: false, cancellationToken);
        return DescriptorsApi.Json(DefinitionViews.Summary(stored));
    }

    private static async Task<IResult> DeleteAsync(string definitionId, WorkflowDefinitionService definitions, CancellationToken cancellationToken) =>
        await definitions.DeleteAsync(definitionId, cancellationToken) > 0 ? Results.NoContent() : NotFound(definitionId);

    /// <summary>Deletes one version; when it was the latest, the newest remaining version becomes the latest.</summary>
    private static async Task<IResult> DeleteVersionAsync(string id, IWorkflowDefinitionStore store, CancellationToken cancellationToken)
    {
        if (await store.FindByIdAsync(id, cancellationToken) is not { } version)
            return NotFound(id);
        if (version.IsReadonly)
            throw new DefinitionReadOnlyException(version.DefinitionId, version.Origin);
        var others = (await store.ListVersionsAsync(version.DefinitionId, cancellationToken)).Where(v => v.Id != id).ToList();
        if (others.Count == 0)
            return BadRequest($"Version {version.Version} is the only version of '{version.DefinitionId}': delete the definition instead.");
        if (version.IsPublished)
            return BadRequest($"Version {version.Version} of '{version.DefinitionId}' is published: retract it or publish another version first.");
        await store.DeleteVersionAsync(id, cancellationToken);
        if (version.IsLatest)
        {
            var newest = others.MaxBy(v => v.Version)!;
            var document = WorkflowDefinitionDocument.Parse(newest.Json);
            document.IsLatest = true;
            await store.SaveAsync([newest with { IsLatest = true, Json = document.ToJsonString() }], cancellationToken);
        }

        return Results.NoContent();
    }

    private static async Task<IResult> ExportAsync(string definitionId, string? versionOptions, IWorkflowDefinitionStore store, CancellationToken cancellationToken)
    {
        var versions = VersionSelector.Parse(versionOptions, VersionSelector.Latest);
        if (versions.Pick(await store.ListVersionsAsync(definitionId, cancellationToken)) is not { } definition)
            return NotFound(definitionId, versions);
        var bytes = Encoding.UTF8.GetBytes(DefinitionViews.ExportText(definition));
        return Results.File(bytes, "application/json", FileName(definition));
    }

    private static async Task<IResult> BulkExportAsync(IdsRequest? body, IWorkflowDefinitionStore store, CancellationToken cancellationToken)
    {
        var ids = Paging.Ids(body?.Ids, "ids");
        if (ids.Count == 0)
            return BadRequest("The body must be {\"ids\": [<version id>, ...]}.");
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var id in ids)
            {
                if (await store.FindByIdAsync(id, cancellationToken) is not { } definition)
                    continue;
                var entry = zip.CreateEntry(FileName(definition));
                await using var stream = await entry.OpenAsync(cancellationToken);
                await stream.WriteAsync(Encoding.UTF8.GetBytes(DefinitionViews.ExportText(definition)), cancellationToken);
            }
        }

        return Results.File(buffer.ToArray(), "application/zip", "workflow-definitions.zip");
    }

    /// <summary>Elsa's consumers: the definitions that use this one as an activity, directly or through others; 404 for an unknown id.</summary>
    private static async Task<IResult> ConsumersAsync(string definitionId, WorkflowDefinitionService definitions, CancellationToken cancellationToken) =>
        await definitions.FindConsumersAsync(definitionId, cancellationToken) is { } consumers
            ? Results.Ok(new { consumingWorkflowDefinitionIds = consumers })
            : NotFound(definitionId);

    private static string FileName(StoredWorkflowDefinition definition)
    {
        var name = new string((definition.Name ?? definition.DefinitionId).Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray()).Trim('-');
        return $"{(name.Length == 0 ? definition.DefinitionId : name)}-v{definition.Version}.json";
    }

    /// <summary>Elsa's import: a definition model, saved as a draft (a new definition when its id is unknown).</summary>
    private static async Task<IResult> ImportAsync(JsonObject? body, WorkflowDefinitionService definitions, HttpContext http, CancellationToken cancellationToken)
    {
        if (body is not { } model)
            return BadRequest("The body must be a workflow definition (JSON object).");
        if (CSharpAuthoring.Refuse(http.User, model) is { } refused)
            return refused;
        var stored = await definitions.SaveAsync(new WorkflowDefinitionDocument((JsonObject)model.DeepClone()), publish: false, "api", isReadonly: false, cancellationToken, keepVersionId: true);
        return DescriptorsApi.Json(DefinitionViews.Model(stored));
    }

    private static async Task<IResult> ImportFilesAsync(HttpRequest request, WorkflowDefinitionService definitions, CancellationToken cancellationToken)
    {
        if (!request.HasFormContentType)
            return BadRequest("Send the definitions as multipart/form-data files (field 'files').");
        var form = await RequestForms.ReadAsync(request, cancellationToken);
        // Every file is read and parsed before the first is saved: a bad file refuses the upload and saves nothing.
        var documents = new List<WorkflowDefinitionDocument>();
        foreach (var file in form.Files)
        {
            using var reader = new StreamReader(file.OpenReadStream());
            documents.Add(WorkflowDefinitionDocument.Parse(await reader.ReadToEndAsync(cancellationToken), file.FileName));
        }

        if (documents.Select(d => CSharpAuthoring.Refuse(request.HttpContext.User, d.Json)).FirstOrDefault(r => r is not null) is { } refused)
            return refused;

        foreach (var document in documents)
            await definitions.SaveAsync(document, publish: false, "api", isReadonly: false, cancellationToken, keepVersionId: true);
        return Results.Ok(new { count = documents.Count });
    }

    /// <summary>Deletes the definitions; read-only ones (from files or code) are skipped and listed, not a refusal after the others were deleted.</summary>
    private static async Task<IResult> BulkDeleteAsync(DefinitionIdsRequest? body, WorkflowDefinitionService definitions, CancellationToken cancellationToken)
    {
        var deleted = 0;
        List<string> skipped = [];
        foreach (var id in Paging.Ids(body?.DefinitionIds, "definitionIds"))
        {
            if (await definitions.FindAsync(id, VersionOptions.LatestVersion, cancellationToken) is { IsReadonly: true })
                skipped.Add(id);
            else if (await definitions.DeleteAsync(id, cancellationToken) > 0)
                deleted++;
        }

        return Results.Ok(new { deleted, skipped });
    }

    private static async Task<IResult> BulkDeleteVersionsAsync(IdsRequest? body, IWorkflowDefinitionStore store, CancellationToken cancellationToken)
    {
        var deleted = 0;
        List<string> skipped = [];
        foreach (var id in Paging.Ids(body?.Ids, "ids"))
        {
            if (await store.FindByIdAsync(id, cancellationToken) is { IsReadonly: true })
                skipped.Add(id);
            else if (await DeleteVersionAsync(id, store, cancellationToken) is IStatusCodeHttpResult { StatusCode: 204 })
                deleted++;
        }

        return Results.Ok(new { deleted, skipped });
    }

    private static async Task<IResult> BulkPublishAsync(DefinitionIdsRequest? body, WorkflowDefinitionService definitions, GitOps.GitOpsPublishing gitOps, HttpContext http, CancellationToken cancellationToken)
    {
        List<string> published = [], alreadyPublished = [], notFound = [], skipped = [];
        var consumers = new List<ConsumerUpdate>();
        // C# is checked for every draft first: a refusal publishes none of them.
        foreach (var id in Paging.Ids(body?.DefinitionIds, "definitionIds"))
        {
            if (await definitions.FindAsync(id, VersionOptions.LatestVersion, cancellationToken) is { IsPublished: false } draft && CSharpAuthoring.Refuse(http.User, JsonNode.Parse(draft.Json)) is { } refused)
                return refused;
        }

        foreach (var id in Paging.Ids(body?.DefinitionIds, "definitionIds"))
        {
            var latest = await definitions.FindAsync(id, VersionOptions.LatestVersion, cancellationToken);
            if (latest is null)
                notFound.Add(id);
            else if (latest.IsPublished)
                alreadyPublished.Add(id);
            else if (latest.IsReadonly || gitOps.Enabled)
                skipped.Add(id); // with GitOps on, each publish is its own pull request (publish one by one)
            else
            {
                await definitions.PublishAsync(id, cancellationToken, consumers);
                published.Add(id);
            }
        }

        var updatedConsumers = consumers.Where(c => c.SkippedBecause is null).Select(c => c.DefinitionId).Distinct(StringComparer.Ordinal).ToList();
        return Results.Ok(new { published, alreadyPublished, notFound, skipped, updatedConsumers });
    }

    private static async Task<IResult> BulkRetractAsync(DefinitionIdsRequest? body, WorkflowDefinitionService definitions, CancellationToken cancellationToken)
    {
        List<string> retracted = [], alreadyRetracted = [], notFound = [], skipped = [];
        foreach (var id in Paging.Ids(body?.DefinitionIds, "definitionIds"))
        {
            var published = await definitions.FindAsync(id, VersionOptions.PublishedVersion, cancellationToken);
            if (published is null)
            {
                if (await definitions.FindAsync(id, VersionOptions.LatestVersion, cancellationToken) is null)
                    notFound.Add(id);
                else
                    alreadyRetracted.Add(id);
            }
            else if (published.IsReadonly)
                skipped.Add(id);
            else
            {
                await definitions.RetractAsync(id, cancellationToken);
                retracted.Add(id);
            }
        }

        return Results.Ok(new { retracted, alreadyRetracted, notFound, skipped });
    }

    /// <summary>Body of execute/dispatch: <c>{"input":{}, "correlationId":null, "versionOptions":"Published", "triggerActivityId":null}</c>.</summary>
    public sealed record ExecuteRequest(JsonObject? Input, string? CorrelationId, string? VersionOptions, string? TriggerActivityId, string? InstanceId);

    /// <summary>
    /// Runs the definition until it waits or ends; the Studio reads the new instance id from <c>x-elsa-workflow-instance-id</c>.
    /// As in Elsa the body is optional and a request without a Content-Type is accepted: an empty body starts the run
    /// without input. Unlike Elsa, which then ignores the body, a non-empty body is read as JSON whatever the
    /// Content-Type, with the request guard's checks (<see cref="RequestJson"/>), so input is never dropped quietly.
    /// </summary>
    private static async Task<IResult> ExecuteFromBodyAsync(string definitionId, HttpContext http, WorkflowRuntime runtime, Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await http.Request.Body.CopyToAsync(buffer, cancellationToken);
        ExecuteRequest? request = null;
        if (buffer.Length > 0)
        {
            var (value, problem) = RequestJson.Read<ExecuteRequest>(buffer.ToArray(), json.Value.SerializerOptions);
            if (problem is not null)
                throw new RequestFieldException(problem.Field, problem.Message);
            request = value;
        }

        return await ExecuteAsync(definitionId, request, http, runtime, cancellationToken);
    }

    /// <summary>Elsa's <c>GET .../execute</c>: the same as POST, with <c>input</c> (JSON text), <c>correlationId</c>, <c>versionOptions</c> and <c>triggerActivityId</c> in the query.</summary>
    private static async Task<IResult> ExecuteByQueryAsync(string definitionId, string? input, string? correlationId, string? versionOptions, string? triggerActivityId, HttpContext http, WorkflowRuntime runtime, CancellationToken cancellationToken)
    {
        JsonObject? inputObject = null;
        if (!string.IsNullOrWhiteSpace(input))
        {
            var (value, problem) = RequestJson.ParseObject(Encoding.UTF8.GetBytes(input));
            if (problem is not null)
                throw new RequestFieldException("input", "must be a JSON object: " + problem.Message);
            inputObject = value;
        }

        return await ExecuteAsync(definitionId, new ExecuteRequest(inputObject, correlationId, versionOptions, triggerActivityId, null), http, runtime, cancellationToken);
    }

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

    /// <summary>Largest <c>input</c> of execute/dispatch (its JSON, in characters).</summary>
    public const int MaxInputLength = 256 * 1024;

    /// <summary>Longest <c>correlationId</c> and <c>triggerActivityId</c>.</summary>
    public const int MaxIdLength = 200;

    private static StartRunRequest ToStart(string definitionId, ExecuteRequest? request, HttpContext http)
    {
        if (request?.Input is { } input && input.ToJsonString().Length is var length && length > MaxInputLength)
            throw new RequestFieldException("input", $"is {length} characters of JSON; the limit is {MaxInputLength}.");
        if (request?.CorrelationId is { Length: > MaxIdLength })
            throw new RequestFieldException("correlationId", $"is longer than {MaxIdLength} characters.");
        if (request?.TriggerActivityId is { Length: > MaxIdLength })
            throw new RequestFieldException("triggerActivityId", $"is longer than {MaxIdLength} characters.");
        if (!string.IsNullOrWhiteSpace(request?.InstanceId) && !InstanceIdPattern().IsMatch(request.InstanceId))
            throw new RequestFieldException("instanceId", "must be 1 to 100 letters, digits, '.', '_', ':' or '-', starting with a letter or digit.");
        return Start(definitionId, request, http);
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")]
    private static partial System.Text.RegularExpressions.Regex InstanceIdPattern();

    private static StartRunRequest Start(string definitionId, ExecuteRequest? request, HttpContext http) => new(definitionId)
    {
        Input = ElsaModels.ToDictionary(request?.Input),
        CorrelationId = request?.CorrelationId,
        Versions = VersionSelector.Parse(request?.VersionOptions, VersionSelector.Published).ToRuntime(),
        StartedBy = ElsaModels.Actor(http.User),
        InstanceId = string.IsNullOrWhiteSpace(request?.InstanceId) ? null : request.InstanceId,
        TriggerNodeId = request?.TriggerActivityId,
    };

    internal static IResult BadRequest(string message) =>
        Results.Json(new { status = 400, title = "Bad request", detail = message, errors = new { generalErrors = new[] { message } } }, statusCode: 400, contentType: "application/problem+json");

    private static IResult NotFound(string id, VersionSelector? versions = null) =>
        Results.Problem(statusCode: 404, title: "Not found", detail: versions is { Kind: not "Latest" and not "AllVersions" } v
            ? $"Workflow definition '{id}' has no {(v.Kind == "Specific" ? $"version {v.Number}" : v.Kind.ToUpperInvariant() switch { "PUBLISHED" => "published version", "DRAFT" => "draft", _ => "matching version" })}."
            : $"Workflow definition '{id}' does not exist.");
}
