using System.Text.Json.Nodes;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Server.Apis;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Server.GitOps;

/// <summary>
/// With GitOps on, a publish from the Studio or the API does not make the version runnable: the version stays a
/// draft and a pull request carrying it is opened (<see cref="PullRequestOpener"/>). The answer is 202 with the pull
/// request (<c>awaitingReview</c>: number, url, branch; header <c>Location</c>: its page). When GitHub is unreachable or
/// refuses, the answer is 502 with the cause; the draft stays a draft and retrying is safe.
/// </summary>
public sealed partial class GitOpsPublishing(IOptions<GitOpsOptions> options, PullRequestOpener opener, IWorkflowDefinitionStore store, ILogger<GitOpsPublishing> logger)
{
    public bool Enabled => options.Value.Enabled;

    public async Task<IResult> ReviewAsync(StoredWorkflowDefinition draft, StoredWorkflowDefinition? published, string actor, CancellationToken cancellationToken)
    {
        try
        {
            var pull = await opener.OpenAsync(WorkflowDefinitionDocument.Parse(draft.Json), published is null ? null : WorkflowDefinitionDocument.Parse(published.Json), actor, cancellationToken);
            PullRequestOpened(logger, draft.DefinitionId, draft.Version, pull.Number, pull.Url);
            // The draft is marked with its pull request, which the Studio shows ("awaiting review: #n").
            draft = draft with { Origin = DefinitionOrigins.Review(pull.Number, pull.Url) };
            await store.SaveAsync([draft], cancellationToken);
            var body = new JsonObject
            {
                ["workflowDefinition"] = DefinitionViews.Model(draft),
                ["alreadyPublished"] = false,
                ["awaitingReview"] = new JsonObject { ["number"] = pull.Number, ["url"] = pull.Url, ["branch"] = pull.Branch },
                ["consumingWorkflowCount"] = 0,
                ["validationErrors"] = new JsonArray(),
            };
            return new AcceptedJson(pull.Url, body.ToJsonString());
        }
        catch (WorkflowRepositoryException e)
        {
            PullRequestFailed(logger, draft.DefinitionId, draft.Version, e.Message);
            return Results.Problem(statusCode: StatusCodes.Status502BadGateway, title: "Pull request not opened",
                detail: $"{e.Message} Version {draft.Version} of '{draft.DefinitionId}' stays a draft (not runnable); publishing again retries.");
        }
    }

    /// <summary>202 with the pull request's page as <c>Location</c> and the JSON body.</summary>
    private sealed class AcceptedJson(string location, string json) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = StatusCodes.Status202Accepted;
            httpContext.Response.Headers.Location = location;
            httpContext.Response.ContentType = "application/json; charset=utf-8";
            return httpContext.Response.WriteAsync(json, httpContext.RequestAborted);
        }
    }

    [LoggerMessage(EventId = 1310, Level = LogLevel.Information, Message = "Publish of {DefinitionId} version {Version} awaits review: pull request #{Number} {Url}")]
    private static partial void PullRequestOpened(ILogger logger, string definitionId, int version, int number, string url);

    [LoggerMessage(EventId = 1311, Level = LogLevel.Error, Message = "Publish of {DefinitionId} version {Version}: no pull request opened, the version stays a draft: {Reason}")]
    private static partial void PullRequestFailed(ILogger logger, string definitionId, int version, string reason);
}
