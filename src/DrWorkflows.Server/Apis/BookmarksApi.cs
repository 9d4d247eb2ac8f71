using System.Text.Json.Nodes;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Server.Security;

namespace DrWorkflows.Server.Apis;

/// <summary>
/// Resuming a bookmark (a suspended activity) with a payload: <c>POST /elsa/api/bookmarks/{id}/resume</c>
/// with <c>{"payload": {...}}</c>. Approval gates have their own, stricter routes (<c>/api/approvals</c>).
/// </summary>
public static class BookmarksApi
{
    public static RouteGroupBuilder MapBookmarksApi(this RouteGroupBuilder group)
    {
        group.MapPost("/bookmarks/{id}/resume", ResumeAsync).RequireAuthorization(Roles.Operator);
        return group;
    }

    private static async Task<IResult> ResumeAsync(string id, JsonObject? body, HttpContext http, WorkflowRuntime runtime, CancellationToken cancellationToken)
    {
        var (outcome, state) = await runtime.ResumeAsync(id, body?["payload"]?.DeepClone(), ElsaModels.Actor(http.User), cancellationToken);
        return outcome switch
        {
            ResumeOutcome.Resumed when state is not null => Results.Ok(new { workflowInstanceId = state.Id, status = state.Status.ToString(), subStatus = state.SubStatus.ToString() }),
            _ => Results.Problem(statusCode: 404, title: "Not found", detail: $"Bookmark '{id}' does not exist or was already resumed."),
        };
    }
}
