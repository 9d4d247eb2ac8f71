using System.Globalization;
using DrWorkflows.Activities.GitHub;
using DrWorkflows.Core;
using DrWorkflows.Core.Hosting;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Server.Operations;
using Microsoft.Extensions.Options;
using Octokit;

namespace DrWorkflows.Server.GitOps;

/// <summary>What became of one workflow file of a merge.</summary>
public enum MergedFileOutcome
{
    /// <summary>Published as a new version carrying the commit (and the pull request).</summary>
    Published,

    /// <summary>The running published version already is this file (a repeated delivery, or a merge that did not change it).</summary>
    Unchanged,

    /// <summary>The file does not load: not published; reported on the pull request (or the commit) and to on-call.</summary>
    Refused,

    /// <summary>The file was removed: nothing is unpublished (drift shows the definition without a file).</summary>
    Removed,
}

/// <summary>One workflow file of a merge and what became of it.</summary>
public sealed record MergedFileResult(string Path, string? DefinitionId, MergedFileOutcome Outcome, int? Version, string Detail);

/// <summary>
/// Publishes what was merged on the reviewed branch: each workflow file a merged pull request (or a direct push, or
/// the polling fallback) changed is read at the merge commit and published as a new version whose origin records the
/// commit and the pull request (<see cref="DefinitionOrigins"/>). Idempotent: a file whose content already is the
/// running published version adds nothing, so a redelivered webhook, the push that goes with a merged pull request
/// and the poller never publish twice. A file that does not load is not published: the error is posted on the pull
/// request (or the commit) once and on-call is paged once.
/// </summary>
public sealed partial class MergePublisher(
    IOptions<GitOpsOptions> gitOps,
    IOptions<GitHubOptions> gitHub,
    WorkflowDefinitionService definitions,
    IWorkflowDefinitionStore store,
    IScheduleStore marks,
    OnCallPager pager,
    IOptions<RuntimeOptions> runtime,
    TimeProvider clock,
    ILogger<MergePublisher> logger) : IDisposable
{
    private readonly Lazy<IGitHubClient> client = new(() => GitHubClients.Create(gitHub.Value));
    private readonly SemaphoreSlim serial = new(1, 1);

    /// <summary>A merged pull request: the workflow files it changed, read at <paramref name="mergeCommit"/>.</summary>
    public Task<IReadOnlyList<MergedFileResult>> PublishPullRequestAsync(int number, string mergeCommit, CancellationToken cancellationToken) =>
        GuardAsync($"reading pull request #{number.ToString(CultureInfo.InvariantCulture)}", async () =>
        {
            var settings = gitOps.Value;
            var files = await client.Value.PullRequest.Files(settings.Owner, settings.Name, number);
            return await PublishAsync(files.Select(f => (f.FileName, f.Status)), mergeCommit, number, cancellationToken);
        }, cancellationToken);

    /// <summary>Commits that reached the branch (a push, or what the poller saw): the workflow files changed between the two commits, read at <paramref name="after"/>.</summary>
    public Task<IReadOnlyList<MergedFileResult>> PublishCommitsAsync(string before, string after, CancellationToken cancellationToken) =>
        GuardAsync($"comparing {Short(before)}...{Short(after)}", async () =>
        {
            var settings = gitOps.Value;
            var compare = await client.Value.Repository.Commit.Compare(settings.Owner, settings.Name, before, after);
            return await PublishAsync(compare.Files.Select(f => (f.Filename, f.Status)), after, null, cancellationToken);
        }, cancellationToken);

    /// <summary>The head commit of the reviewed branch (the poller's question).</summary>
    public Task<string> HeadAsync(CancellationToken cancellationToken) =>
        GuardAsync("reading the branch", async () =>
        {
            cancellationToken.ThrowIfCancellationRequested();
            var settings = gitOps.Value;
            return (await client.Value.Git.Reference.Get(settings.Owner, settings.Name, $"heads/{settings.Branch}")).Object.Sha;
        }, cancellationToken);

    /// <summary>The commit of the newest version published from the repository; null when none was (where a poll after a start goes on from).</summary>
    public async Task<string?> NewestPublishedCommitAsync(CancellationToken cancellationToken)
    {
        var versions = await store.ListAsync(new DefinitionQuery(VersionOptions.All, Take: 100_000), cancellationToken);
        return versions.Items
            .Select(v => (v.CreatedAt, Git: DefinitionOrigins.ParseGit(v.Origin)))
            .Where(v => v.Git is not null)
            .OrderByDescending(v => v.CreatedAt)
            .Select(v => v.Git!.Commit)
            .FirstOrDefault();
    }

    private async Task<IReadOnlyList<MergedFileResult>> PublishAsync(IEnumerable<(string Path, string Status)> changed, string commit, int? pullRequest, CancellationToken cancellationToken)
    {
        var settings = gitOps.Value;
        var folder = settings.Folder.Trim('/') + "/";
        var workflowFiles = changed
            .Where(f => f.Path.StartsWith(folder, StringComparison.Ordinal) && f.Path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            .OrderBy(f => f.Path, StringComparer.Ordinal)
            .ToList();
        var results = new List<MergedFileResult>();
        await serial.WaitAsync(cancellationToken);
        try
        {
            foreach (var (path, status) in workflowFiles)
            {
                if (status == "removed")
                {
                    results.Add(new MergedFileResult(path, null, MergedFileOutcome.Removed, null, $"{path} was removed; its definition stays published (drift shows it without a file)."));
                    continue;
                }

                var content = (await client.Value.Repository.Content.GetAllContentsByRef(settings.Owner, settings.Name, path, commit)).Single();
                var result = await PublishFileAsync(new GitSource(path, commit, pullRequest), content.Content ?? string.Empty, cancellationToken);
                if (result.Outcome == MergedFileOutcome.Refused)
                    result = await ReportRefusedAsync(result, commit, pullRequest, cancellationToken);
                results.Add(result);
            }
        }
        finally
        {
            serial.Release();
        }

        return results;
    }

    private async Task<MergedFileResult> PublishFileAsync(GitSource source, string text, CancellationToken cancellationToken)
    {
        string? definitionId = null;
        try
        {
            var document = WorkflowDefinitionDocument.Parse(text, source.Path);
            definitionId = document.DefinitionId;
            if (string.IsNullOrWhiteSpace(definitionId))
                throw new WorkflowDefinitionException($"{source.Path}: 'definitionId' is missing.");

            var published = await definitions.FindAsync(definitionId, VersionOptions.PublishedVersion, cancellationToken);
            if (published is not null && WorkflowLoader.SameContent(published.Json, document))
            {
                // Already running this file. The push of a merged pull request may have come first: name the pull request on it.
                if (source.PullRequest is not null && DefinitionOrigins.ParseGit(published.Origin) is { PullRequest: null } git && git.Commit == source.Commit)
                    await store.SaveAsync([published with { Origin = DefinitionOrigins.Git(source) }], cancellationToken);
                return new MergedFileResult(source.Path, definitionId, MergedFileOutcome.Unchanged, published.Version, $"version {published.Version} already is this file.");
            }

            // A draft edited in the Studio since its pull request was opened is kept (as an older version), not overwritten.
            var latest = await definitions.FindAsync(definitionId, VersionOptions.LatestVersion, cancellationToken);
            var keepDraft = latest is { IsPublished: false } && !WorkflowLoader.SameContent(latest.Json, document);
            var stored = await definitions.SaveAsync(document, publish: true, DefinitionOrigins.Git(source), isReadonly: false, cancellationToken, newVersion: keepDraft);
            var from = source.Describe();
            Log.Published(logger, definitionId, stored.Version, from);
            return new MergedFileResult(source.Path, definitionId, MergedFileOutcome.Published, stored.Version, $"published as version {stored.Version} from {from}.");
        }
        catch (WorkflowDefinitionException e)
        {
            var message = e.Message.StartsWith(source.Path, StringComparison.Ordinal) ? e.Message : $"{source.Path}: {e.Message}";
            return new MergedFileResult(source.Path, definitionId, MergedFileOutcome.Refused, null, message);
        }
        catch (DefinitionReadOnlyException e)
        {
            return new MergedFileResult(source.Path, definitionId, MergedFileOutcome.Refused, null, $"{source.Path}: {e.Message}");
        }
    }

    /// <summary>Posts the refusal on the pull request (or the merge commit) once, and pages on-call once.</summary>
    private async Task<MergedFileResult> ReportRefusedAsync(MergedFileResult refused, string commit, int? pullRequest, CancellationToken cancellationToken)
    {
        Log.Refused(logger, refused.Path, Short(commit), refused.Detail);
        var settings = gitOps.Value;
        var running = refused.DefinitionId is { Length: > 0 } id && await definitions.FindAsync(id, VersionOptions.PublishedVersion, cancellationToken) is { } current
            ? $"version {current.Version} keeps running"
            : "no version of it is published";
        var where = pullRequest is { } n ? $"pull request #{n.ToString(CultureInfo.InvariantCulture)}" : $"commit {Short(commit)}";
        var body = $"""
            **DrWorkflows did not publish `{refused.Path}`** from commit {commit}: the file does not load, so {running}.

            ```
            {refused.Detail.Replace("```", "'''", StringComparison.Ordinal)}
            ```

            Fix it in a new pull request (`drw validate {settings.Folder}` shows every problem before the merge).
            """;
        var mark = $"gitops-refused:{commit}:{refused.Path}";
        var reported = new List<string>();
        if (await marks.GetLastSlotAsync(mark, cancellationToken) is not null)
        {
            reported.Add($"already reported on {where}");
        }
        else
        {
            try
            {
                if (pullRequest is { } number)
                    await client.Value.Issue.Comment.Create(settings.Owner, settings.Name, number, body);
                else
                    await client.Value.Repository.Comment.Create(settings.Owner, settings.Name, commit, new NewCommitComment(body));
                var now = clock.GetUtcNow();
                await marks.TryClaimSlotAsync(mark, now, runtime.Value.NodeId, now, cancellationToken);
                reported.Add($"reported on {where}");
            }
            catch (Exception e) when (e is ApiException or HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                Log.CommentFailed(logger, where, e.Message);
                reported.Add($"not reported on {where}: {e.Message}");
            }
        }

        var page = await pager.PageOnceAsync(mark, $"Merged workflow not published: {refused.Path}",
            $"{refused.Detail}\n{where} of {settings.Repository}, commit {commit}: the file was merged on {settings.Branch} but does not load, so {running}. Fix it in a new pull request.", cancellationToken);
        reported.Add("on-call " + page.Describe());
        return refused with { Detail = $"{refused.Detail} ({string.Join("; ", reported)})" };
    }

    /// <summary>GitHub refusing or unreachable becomes a <see cref="WorkflowRepositoryException"/> with the cause (the webhook answers 502, GitHub redelivers).</summary>
    private async Task<T> GuardAsync<T>(string what, Func<Task<T>> action, CancellationToken cancellationToken)
    {
        var settings = gitOps.Value;
        try
        {
            return await action();
        }
        catch (ApiException e)
        {
            throw new WorkflowRepositoryException($"GitHub answered {(int)e.StatusCode} {what} of {settings.Repository}: {e.Message}", e);
        }
        catch (HttpRequestException e)
        {
            throw new WorkflowRepositoryException($"GitHub cannot be reached {what} of {settings.Repository}: {e.Message}", e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new WorkflowRepositoryException($"GitHub did not answer in time {what} of {settings.Repository}.", e);
        }
    }

    public void Dispose() => serial.Dispose();

    private static string Short(string sha) => sha[..Math.Min(7, sha.Length)];

    private static partial class Log
    {
        [LoggerMessage(EventId = 1320, Level = LogLevel.Information, Message = "Published {DefinitionId} version {Version} from {Source}")]
        public static partial void Published(ILogger logger, string definitionId, int version, string source);

        [LoggerMessage(EventId = 1321, Level = LogLevel.Error, Message = "Merged workflow {Path} at {Commit} not published: {Problem}")]
        public static partial void Refused(ILogger logger, string path, string commit, string problem);

        [LoggerMessage(EventId = 1322, Level = LogLevel.Error, Message = "The refusal of a merged workflow could not be posted on {Where}: {Error}")]
        public static partial void CommentFailed(ILogger logger, string where, string error);
    }
}
