using System.Text.Json.Nodes;
using DrWorkflows.Server.Approvals;
using DrWorkflows.Server.Hosting;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Server.GitOps;

/// <summary>
/// The GitOps events of <c>POST /github/webhook</c> (its signature already checked with
/// <c>Approvals:GitHub:WebhookSecret</c>): <c>pull_request</c> closed and merged into the reviewed branch publishes
/// the workflow files it changed; <c>push</c> to the reviewed branch (a direct merge that did not start in the
/// Studio) publishes the files the pushed commits changed. A pull request closed without merging, another branch or
/// another repository change nothing. GitHub refusing or unreachable: 502 with the cause (GitHub shows the failed
/// delivery, which can be redelivered: publishing is idempotent).
/// </summary>
internal static class MergeWebhook
{
    public static bool Handles(string eventName) => eventName is "pull_request" or "push";

    public static async Task<IResult> HandleAsync(string eventName, byte[] body, IServiceProvider services, CancellationToken cancellationToken)
    {
        var settings = services.GetRequiredService<IOptions<GitOpsOptions>>().Value;
        if (!settings.Enabled)
            return Ignored("GitOps is off (DrWorkflows:GitOps:Enabled)");
        var (payload, bad) = RequestJson.ParseObject(body);
        if (bad is not null || payload is null)
            return ApprovalsApi.Problem(400, "Bad request", $"The {eventName} event is malformed: {bad?.Detail ?? "not a JSON object."}", "github.bad-payload", bad?.Field);
        if (!string.Equals(Text(payload["repository"]?["full_name"]), settings.Repository, StringComparison.OrdinalIgnoreCase))
            return Ignored($"not the workflows repository {settings.Repository}");

        var publisher = services.GetRequiredService<MergePublisher>();
        try
        {
            IReadOnlyList<MergedFileResult> results;
            if (eventName == "pull_request")
            {
                var pull = payload["pull_request"] as JsonObject;
                if (Text(payload["action"]) != "closed")
                    return Ignored("only a closed pull request is acted on");
                if (Text(pull?["base"]?["ref"]) != settings.Branch)
                    return Ignored($"the pull request is not into {settings.Branch}");
                if (pull?["merged"]?.GetValueKind() != System.Text.Json.JsonValueKind.True)
                    return Ignored("closed without merging: nothing is published");
                var number = pull["number"]?.GetValueKind() == System.Text.Json.JsonValueKind.Number ? pull["number"]!.GetValue<int>() : 0;
                var merge = Text(pull["merge_commit_sha"]);
                if (number <= 0 || !IsSha(merge))
                    return ApprovalsApi.Problem(400, "Bad request", "The merged pull_request event lacks the pull request number or merge_commit_sha.", "github.bad-payload");
                results = await publisher.PublishPullRequestAsync(number, merge!, cancellationToken);
            }
            else
            {
                if (Text(payload["ref"]) != $"refs/heads/{settings.Branch}")
                    return Ignored($"not a push to {settings.Branch}");
                var before = Text(payload["before"]);
                var after = Text(payload["after"]);
                if (!IsSha(before) || !IsSha(after) || before!.All(c => c == '0') || after!.All(c => c == '0'))
                    return Ignored("a branch created or deleted, not commits on it");
                results = await publisher.PublishCommitsAsync(before!, after!, cancellationToken);
            }

            return Results.Ok(new
            {
                ok = true,
                files = results.Select(r => new { path = r.Path, definitionId = r.DefinitionId, outcome = r.Outcome.ToString(), version = r.Version, detail = r.Detail }),
            });
        }
        catch (WorkflowRepositoryException e)
        {
            return ApprovalsApi.Problem(502, "Not published", $"{e.Message} Nothing was published; redeliver the webhook (or wait for the poll) to retry.", "gitops.github-failed");
        }
    }

    private static IResult Ignored(string why) => Results.Ok(new { ok = true, ignored = why });

    private static string? Text(JsonNode? node) => node?.GetValueKind() == System.Text.Json.JsonValueKind.String ? node.GetValue<string>() : null;

    private static bool IsSha(string? text) => text is { Length: 40 } && text.All(Uri.IsHexDigit);
}
