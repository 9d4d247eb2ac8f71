using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Server.Apis;
using DrWorkflows.Server.Hosting;
using DrWorkflows.Server.Security;

namespace DrWorkflows.Server.Studio;

/// <summary>
/// Changing the id of a workflow before its first publish. A workflow created in the Studio gets a readable id from
/// its name (<see cref="DefinitionIds"/>); the editor page shows it above the designer, and a designer may change
/// it there (or with <c>POST /elsa/api/workflow-definitions/{id}/change-id</c>) while it has one draft version,
/// was never published and never ran.
/// </summary>
public static class DefinitionIdChange
{
    /// <summary>Body of the API route: <c>{"definitionId":"new-id"}</c>.</summary>
    public sealed record ChangeIdRequest(string? DefinitionId);

    public static RouteGroupBuilder MapDefinitionIdChange(this RouteGroupBuilder elsa)
    {
        elsa.MapPost("/workflow-definitions/{definitionId}/change-id", ApiAsync).RequireAuthorization(Roles.Designer).WithBodyLimit(BodyLimits.Small);
        return elsa;
    }

    private static async Task<IResult> ApiAsync(string definitionId, ChangeIdRequest? body, WorkflowDefinitionService definitions, IWorkflowInstanceStore instances, CancellationToken cancellationToken)
    {
        if (body?.DefinitionId?.Trim() is not { Length: > 0 } newId)
            return WorkflowDefinitionsApi.BadRequest("The body must be {\"definitionId\": \"<new id>\"}.");
        var stored = await ChangeAsync(definitionId, newId, definitions, instances, cancellationToken);
        return DescriptorsApi.Json(DefinitionViews.Model(stored));
    }

    /// <summary>Changes the id; <see cref="DefinitionIdChangeException"/> (409) when the definition ran, was published or the id is taken or malformed.</summary>
    public static async Task<StoredWorkflowDefinition> ChangeAsync(string definitionId, string newDefinitionId, WorkflowDefinitionService definitions, IWorkflowInstanceStore instances, CancellationToken cancellationToken)
    {
        if ((await instances.ListAsync(new InstanceQuery(DefinitionId: definitionId, Take: 1), cancellationToken)).TotalCount > 0)
            throw new DefinitionIdChangeException($"Workflow definition '{definitionId}' has runs: they name it by this id, so it can no longer change.");
        return await definitions.ChangeDefinitionIdAsync(definitionId, newDefinitionId, cancellationToken);
    }

    /// <summary>Whether the editor page offers to change the id: a designer, and a definition that still may change it.</summary>
    public static async Task<bool> IsChangeableAsync(string definitionId, HttpContext http, WorkflowDefinitionService definitions, CancellationToken cancellationToken)
    {
        if (!Roles.Admitting(Roles.Designer).Any(http.User.IsInRole))
            return false;
        var latest = await definitions.FindAsync(definitionId, VersionOptions.LatestVersion, cancellationToken);
        return latest is { Version: 1, IsPublished: false, IsReadonly: false };
    }
}
