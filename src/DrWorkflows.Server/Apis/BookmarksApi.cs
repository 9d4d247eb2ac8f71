using System.Text.Json.Nodes;
using DrWorkflows.Activities.Approvals;
using DrWorkflows.Core.Persistence;
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

    /// <summary>Body of a resume: <c>{"payload": &lt;any JSON&gt;}</c>.</summary>
    public sealed record ResumeRequest(JsonNode? Payload);

    private static async Task<IResult> ResumeAsync(string id, ResumeRequest? body, HttpContext http, WorkflowRuntime runtime, IWorkflowInstanceStore store, CancellationToken cancellationToken)
    {
        var found = await store.FindBookmarksAsync(new BookmarkQuery(BookmarkId: id), cancellationToken);
        if (found is [var gate, ..] && gate.Name.StartsWith(ApprovalGate.BookmarkName, StringComparison.Ordinal))
        {
            return Results.Problem(statusCode: 409, title: "Approval gate", detail:
                $"Bookmark '{id}' is an approval gate: decide it with POST /api/approvals/{{id}}/approve or /reject (or drw approvals, Slack, GitHub), where approvers, self-approval and the audit trail are checked.");
        }

        var (outcome, state) = await runtime.ResumeAsync(id, body?.Payload?.DeepClone(), ElsaModels.Actor(http.User), cancellationToken);
        return outcome switch
        {
            ResumeOutcome.Resumed when state is not null => Results.Ok(new { workflowInstanceId = state.Id, status = state.Status.ToString(), subStatus = state.SubStatus.ToString() }),
            _ => Results.Problem(statusCode: 404, title: "Not found", detail: $"Bookmark '{id}' does not exist or was already resumed."),
        };
    }
}
