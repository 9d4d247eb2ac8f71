using System.Text;
using System.Text.Json.Nodes;
using DrWorkflows.Activities.GitHub;
using DrWorkflows.Core.Model;
using Microsoft.Extensions.Options;
using Octokit;

namespace DrWorkflows.Server.GitOps;

/// <summary>The pull request a publish opened: its number and the page a reviewer opens.</summary>
public sealed record WorkflowPullRequest(int Number, string Url, string Branch);

/// <summary>A break-glass publish the pull request brings git in line with: why, who approved, the run that audited it.</summary>
public sealed record BreakGlassNote(string Reason, IReadOnlyList<string> ApprovedBy, string RunId);

/// <summary>
/// Opens the pull request that carries a definition version to the reviewed branch: a branch named after the
/// version (<c>drworkflows/&lt;definitionId&gt;/v&lt;version&gt;</c>), one commit of
/// <c>&lt;folder&gt;/&lt;definitionId&gt;.json</c> in the committed format, and a pull request whose body holds the change
/// summary (approval gates and destructive steps first) and a Mermaid diagram with the changed nodes marked.
/// Retrying is safe: an existing branch, an unchanged file and an open pull request of that branch are reused.
/// </summary>
public sealed class PullRequestOpener(IOptions<GitOpsOptions> gitOps, IOptions<GitHubOptions> gitHub, ActivityRegistry registry)
{
    private readonly Lazy<IGitHubClient> client = new(() => GitHubClients.Create(gitHub.Value));

    /// <summary>
    /// Opens (or finds again) the pull request of <paramref name="version"/>. With <paramref name="breakGlass"/> the
    /// version already runs: the pull request is labelled <c>break-glass</c> and says why and who approved.
    /// </summary>
    public async Task<WorkflowPullRequest> OpenAsync(WorkflowDefinitionDocument version, WorkflowDefinitionDocument? published, string actor, CancellationToken cancellationToken, BreakGlassNote? breakGlass = null)
    {
        var settings = gitOps.Value;
        var github = client.Value;
        var branch = $"drworkflows/{version.DefinitionId}/v{version.Version}";
        var path = $"{settings.Folder.TrimEnd('/')}/{version.DefinitionId}.json";
        var content = CommittedFormat(version);
        try
        {
            var head = await github.Git.Reference.Get(settings.Owner, settings.Name, $"heads/{settings.Branch}");
            try
            {
                await github.Git.Reference.Create(settings.Owner, settings.Name, new NewReference($"refs/heads/{branch}", head.Object.Sha));
            }
            catch (ApiValidationException)
            {
                // The branch exists: a retry of this publish. Its file is checked below.
            }

            cancellationToken.ThrowIfCancellationRequested();
            var existing = await FindFileAsync(github, settings, path, branch);
            var message = breakGlass is null
                ? $"{version.DefinitionId}: version {version.Version} from the Studio ({actor})"
                : $"{version.DefinitionId}: version {version.Version}, published by break-glass (run {breakGlass.RunId})";
            if (existing is null)
                await github.Repository.Content.CreateFile(settings.Owner, settings.Name, path, new CreateFileRequest(message, content, branch));
            else if (existing.Content != content)
                await github.Repository.Content.UpdateFile(settings.Owner, settings.Name, path, new UpdateFileRequest(message, content, existing.Sha, branch));

            cancellationToken.ThrowIfCancellationRequested();
            var open = await github.PullRequest.GetAllForRepository(settings.Owner, settings.Name, new PullRequestRequest { Head = $"{settings.Owner}:{branch}", State = ItemStateFilter.Open });
            var pull = open.Count > 0 ? open[0] : await github.PullRequest.Create(settings.Owner, settings.Name,
                new NewPullRequest($"{(breakGlass is null ? string.Empty : "Break-glass: ")}Workflow {version.DefinitionId}: version {version.Version}", branch, settings.Branch) { Body = Body(version, published, actor, path, breakGlass) });
            if (breakGlass is not null)
                await github.Issue.Labels.AddToIssue(settings.Owner, settings.Name, pull.Number, [BreakGlassLabel]);
            return new WorkflowPullRequest(pull.Number, pull.HtmlUrl, branch);
        }
        catch (ApiException e)
        {
            throw new WorkflowRepositoryException($"GitHub answered {(int)e.StatusCode} opening the pull request for {version.DefinitionId} on {settings.Repository}: {e.Message}", e);
        }
        catch (HttpRequestException e)
        {
            throw new WorkflowRepositoryException($"GitHub cannot be reached to open the pull request for {version.DefinitionId} on {settings.Repository}: {e.Message}", e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new WorkflowRepositoryException($"GitHub did not answer in time opening the pull request for {version.DefinitionId}.", e);
        }
    }

    /// <summary>The pull request's body: who, the change summary, the diagram.</summary>
    public string Body(WorkflowDefinitionDocument version, WorkflowDefinitionDocument? published, string actor, string path, BreakGlassNote? breakGlass = null)
    {
        var summary = WorkflowChangeSummary.Compare(registry, published, version);
        var body = new StringBuilder();
        if (breakGlass is null)
        {
            body.AppendLine($"Published from the DrWorkflows Studio by {Inert(actor)}: `{path}`, version {version.Version}{(published is null ? string.Empty : $" (running: version {published.Version})")}.");
            body.AppendLine("It becomes runnable when this pull request is merged.");
        }
        else
        {
            body.AppendLine($"**Break-glass publish**: `{path}` version {version.Version} already runs in production, published without review by {Inert(actor)} and approved by {string.Join(" and ", breakGlass.ApprovedBy.Select(Inert))} (run `{Inert(breakGlass.RunId)}`{(published is null ? string.Empty : $", replacing version {published.Version}")}).");
            body.AppendLine();
            body.AppendLine($"Reason: {Inert(breakGlass.Reason)}");
            body.AppendLine();
            body.AppendLine("Review and merge this pull request to bring git in line; until then drift shows the definition as `Differs`.");
        }

        body.AppendLine();
        body.AppendLine("### What changes");
        body.Append(summary.ToMarkdown());
        body.AppendLine();
        body.AppendLine("### The new version (changed steps marked)");
        body.AppendLine("```mermaid");
        body.Append(WorkflowChangeSummary.ToMermaid(version, summary.ChangedActivityIds));
        body.AppendLine("```");
        return body.ToString();
    }

    /// <summary>The label of a pull request that brings git in line with a break-glass publish.</summary>
    public const string BreakGlassLabel = "break-glass";

    private static string Inert(string text) => new(text.Where(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' or ' ' or ',' or ':').Take(300).ToArray());

    private static async Task<RepositoryContent?> FindFileAsync(IGitHubClient github, GitOpsOptions settings, string path, string branch)
    {
        try
        {
            var found = await github.Repository.Content.GetAllContentsByRef(settings.Owner, settings.Name, path, branch);
            return found.Count > 0 ? found[0] : null;
        }
        catch (NotFoundException)
        {
            return null;
        }
    }

    /// <summary>The <c>$schema</c> of Elsa 3 workflow definitions: the Studio's Import refuses a file without it ("Invalid schema").</summary>
    public const string ElsaSchema = "https://elsaworkflows.io/schemas/workflow-definition/v3.0.0/schema.json";

    /// <summary>
    /// The committed format (also what Export gives): <c>$schema</c> and <c>id</c> (the definition id; the Studio's
    /// Import needs both), then <c>definitionId</c>, <c>name</c> and <c>description</c>, then every other property in
    /// its order, without the server's fields (version, flags, dates), indented by two spaces, one final newline.
    /// </summary>
    public static string CommittedFormat(WorkflowDefinitionDocument document)
    {
        var json = Core.Hosting.WorkflowLoader.Strip((JsonObject)document.Json.DeepClone());
        var ordered = new JsonObject
        {
            ["$schema"] = ElsaSchema,
            ["id"] = json["definitionId"]?.DeepClone(),
        };
        foreach (var first in new[] { "definitionId", "name", "description" })
        {
            if (json.TryGetPropertyValue(first, out var value))
            {
                json.Remove(first);
                ordered[first] = value;
            }
        }

        foreach (var (key, value) in json.ToList())
        {
            json.Remove(key);
            ordered[key] = value;
        }

        return ordered.ToJsonString(DrWorkflows.Core.Serialization.Json.Indented) + "\n";
    }
}
