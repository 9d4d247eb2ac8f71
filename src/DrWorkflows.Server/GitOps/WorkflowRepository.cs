using DrWorkflows.Activities.GitHub;
using Microsoft.Extensions.Options;
using Octokit;

namespace DrWorkflows.Server.GitOps;

/// <summary>A workflow file as it is on the branch production follows.</summary>
/// <param name="Path">Path in the repository (or the workflows folder), e.g. <c>workflows/backup-redis.json</c>.</param>
/// <param name="Text">The file's content.</param>
public sealed record BranchWorkflowFile(string Path, string Text);

/// <summary>Where the reviewed workflow files are: the GitOps branch on GitHub, or the server's workflows folder.</summary>
public interface IWorkflowRepository
{
    /// <summary>What the answer is measured against, e.g. <c>github shop/dr-workflows@main:workflows</c>.</summary>
    string Description { get; }

    /// <summary>Every JSON workflow file; throws <see cref="WorkflowRepositoryException"/> with the cause when they cannot be read.</summary>
    Task<IReadOnlyList<BranchWorkflowFile>> ListAsync(CancellationToken cancellationToken);
}

/// <summary>The reviewed files could not be read (GitHub unreachable or refusing); the message says why.</summary>
public sealed class WorkflowRepositoryException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The workflows folder of the GitOps branch, read through Octokit (the contents API).</summary>
internal sealed class GitHubWorkflowRepository(IOptions<GitOpsOptions> gitOps, IOptions<GitHubOptions> gitHub) : IWorkflowRepository
{
    private readonly Lazy<IGitHubClient> client = new(() => GitHubClients.Create(gitHub.Value));

    public string Description => $"github {gitOps.Value.Repository}@{gitOps.Value.Branch}:{gitOps.Value.Folder}";

    public async Task<IReadOnlyList<BranchWorkflowFile>> ListAsync(CancellationToken cancellationToken)
    {
        var settings = gitOps.Value;
        try
        {
            IReadOnlyList<RepositoryContent> entries;
            try
            {
                entries = await client.Value.Repository.Content.GetAllContentsByRef(settings.Owner, settings.Name, settings.Folder, settings.Branch);
            }
            catch (NotFoundException)
            {
                return []; // no workflows folder on the branch: every published definition has no file
            }

            var files = new List<BranchWorkflowFile>();
            foreach (var entry in entries.Where(e => e.Type == ContentType.File && e.Name.EndsWith(".json", StringComparison.OrdinalIgnoreCase)).OrderBy(e => e.Path, StringComparer.Ordinal))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var content = (await client.Value.Repository.Content.GetAllContentsByRef(settings.Owner, settings.Name, entry.Path, settings.Branch)).Single();
                files.Add(new BranchWorkflowFile(entry.Path, content.Content ?? string.Empty));
            }

            return files;
        }
        catch (ApiException e)
        {
            throw new WorkflowRepositoryException($"GitHub answered {(int)e.StatusCode} reading {Description}: {e.Message}", e);
        }
        catch (HttpRequestException e)
        {
            throw new WorkflowRepositoryException($"GitHub cannot be reached reading {Description}: {e.Message}", e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new WorkflowRepositoryException($"GitHub did not answer in time reading {Description}.", e);
        }
    }
}

/// <summary>Without GitOps: the server's own workflows folder (what was deployed with it).</summary>
internal sealed class FolderWorkflowRepository(IOptions<DrWorkflows.Core.Hosting.WorkflowSourceOptions> sources) : IWorkflowRepository
{
    public string Description => $"folder {sources.Value.Directory}";

    public async Task<IReadOnlyList<BranchWorkflowFile>> ListAsync(CancellationToken cancellationToken)
    {
        var folder = sources.Value.Directory;
        if (!Directory.Exists(folder))
            return [];
        var files = new List<BranchWorkflowFile>();
        foreach (var file in Directory.EnumerateFiles(folder, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var relative = Path.GetRelativePath(folder, file).Replace('\\', '/');
            if (!DrWorkflows.Core.Runtime.SourceCommits.IsStamp(relative)) // the publish's stamp is not a workflow
                files.Add(new BranchWorkflowFile("workflows/" + relative, await File.ReadAllTextAsync(file, cancellationToken)));
        }
        return files;
    }
}
