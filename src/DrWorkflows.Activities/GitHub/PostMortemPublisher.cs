using DrWorkflows.Activities.Approvals;
using DrWorkflows.Core;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Octokit;
using Polly;

namespace DrWorkflows.Activities.GitHub;

/// <summary>What to write a post-mortem for: a run, and what the workflow knows about its incident.</summary>
public sealed record PostMortemRequest
{
    public required string InstanceId { get; init; }

    /// <summary>The execution opening the issue (a second hidden marker; left out of the timeline).</summary>
    public string? ExecutionId { get; init; }

    public PostMortemDetails Details { get; init; } = new();

    /// <summary>Labels added to the configured ones.</summary>
    public IReadOnlyList<string> Labels { get; init; } = [];
}

/// <summary>The run's post-mortem issue. <see cref="Created"/> is false when it already existed (a re-run).</summary>
public sealed record PostMortemIssue(int Number, string Url, bool Created, PostMortemFacts Facts);

public interface IPostMortemPublisher
{
    /// <summary>
    /// Opens the run's post-mortem issue, or returns the one already opened for it: issues carry a hidden
    /// marker with the run id, looked up before creating, so re-running the step never opens a second one.
    /// </summary>
    Task<PostMortemIssue> OpenAsync(PostMortemRequest request, CancellationToken cancellationToken);
}

/// <summary>
/// Reads the run's journal from the instance store, renders it with <see cref="PostMortemReportBuilder"/>
/// and opens the issue with Octokit. The find-or-create is retried as a whole on 5xx and network errors, so
/// a retry after a lost answer finds the issue the first attempt created instead of opening another.
/// </summary>
internal sealed class PostMortemPublisher : IPostMortemPublisher
{
    private const int JournalPage = 500;
    private readonly IWorkflowInstanceStore instances;
    private readonly GitHubOptions options;
    private readonly TimeProvider clock;
    private readonly ILogger<PostMortemPublisher> logger;
    private readonly ResiliencePipeline retry;
    private readonly Lazy<IGitHubClient> client;
    private readonly WorkflowDefinitionService? definitions;
    private readonly IApproverDirectory? directory;

    public PostMortemPublisher(
        IWorkflowInstanceStore instances,
        IOptions<GitHubOptions> options,
        TimeProvider clock,
        ILogger<PostMortemPublisher> logger,
        WorkflowDefinitionService? definitions = null,
        IApproverDirectory? directory = null)
    {
        this.instances = instances;
        this.options = options.Value;
        this.clock = clock;
        this.logger = logger;
        this.definitions = definitions;
        this.directory = directory;
        client = new Lazy<IGitHubClient>(CreateClient);
        retry = RetryPipelines.Create<GitHubOperationException>(
            clock,
            this.options.MaxAttempts,
            this.options.RetryDelay,
            (attempt, delay, reason) => Log.GitHubRetrying(logger, attempt, delay, reason));
    }

    private string Repository => $"{options.Owner}/{options.Repository}";

    public async Task<PostMortemIssue> OpenAsync(PostMortemRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!options.IsConfigured)
            throw new GitHubOperationException("GitHub is not configured: set GitHub:Token, GitHub:Owner and GitHub:Repository (environment GitHub__Token…).", retryable: false) { Code = "github.not-configured" };

        var state = await instances.GetAsync(request.InstanceId, cancellationToken);
        var journal = await ReadJournalAsync(request.InstanceId, cancellationToken);
        if (state is null && journal.Count == 0)
            throw new GitHubOperationException($"Run '{request.InstanceId}' has no state and no journal: nothing to write a post-mortem from.", retryable: false) { Code = "github.no-run" };

        var report = new PostMortemReportBuilder().Build(new PostMortemInput
        {
            InstanceId = request.InstanceId,
            ExecutionId = request.ExecutionId,
            WorkflowName = state?.Name,
            DefinitionId = state?.DefinitionId,
            StartedBy = state?.StartedBy,
            Details = request.Details,
            GeneratedAt = clock.GetUtcNow(),
            Journal = journal,
            DetectionOutcomes = await DetectionOutcomesAsync(state, cancellationToken),
            PersonName = directory is null ? null : (channel, subject) => directory.PersonKey(new ApprovalIdentity(channel, subject, subject, [])) is { } key && key.StartsWith("person:", StringComparison.Ordinal) ? key["person:".Length..] : null,
        });

        var marker = PostMortemReportBuilder.InstanceMarker(request.InstanceId);
        // The issue is created after the run started, so GitHub's "updated since" bounds the search.
        DateTimeOffset? since = (state?.CreatedAt ?? (journal.Count > 0 ? journal[0].Timestamp : (DateTimeOffset?)null))?.AddMinutes(-5);
        var attempts = 0;
        try
        {
            return await retry.ExecuteAsync(
                async ct =>
                {
                    attempts++;
                    if (await FindAsync(marker, since, ct) is { } existing)
                    {
                        Log.PostMortemExists(logger, existing.Number, Repository, request.InstanceId);
                        return new PostMortemIssue(existing.Number, existing.HtmlUrl, Created: false, report.Facts);
                    }

                    var created = await CreateAsync(report, request, ct);
                    Log.PostMortemOpened(logger, created.Number, Repository, request.InstanceId);
                    return new PostMortemIssue(created.Number, created.HtmlUrl, Created: true, report.Facts);
                },
                cancellationToken);
        }
        catch (GitHubOperationException e) when (attempts > 1)
        {
            throw new GitHubOperationException($"{e.Message} Gave up after {attempts} attempts; the run's journal is intact, and re-running the step will not open a second issue.", e.Retryable, e)
            {
                Code = e.Code,
                StatusCode = e.StatusCode,
                Attempts = attempts,
            };
        }
    }

    /// <summary>The detection marks of the run's definition version (none when it cannot be read: every problem is then listed).</summary>
    private async Task<IReadOnlyDictionary<string, IReadOnlySet<string>>> DetectionOutcomesAsync(Core.Execution.WorkflowState? state, CancellationToken cancellationToken)
    {
        if (definitions is null || string.IsNullOrEmpty(state?.DefinitionVersionId))
            return new Dictionary<string, IReadOnlySet<string>>();
        try
        {
            var graph = await definitions.GetGraphAsync(state.DefinitionVersionId, cancellationToken);
            return PostMortemMarkers.DetectionOutcomes(graph.Activities);
        }
        catch (Exception e) when (e is DefinitionNotFoundException or WorkflowDefinitionException)
        {
            Log.DefinitionUnreadable(logger, state.Id, e.Message);
            return new Dictionary<string, IReadOnlySet<string>>();
        }
    }

    private async Task<IReadOnlyList<JournalEntry>> ReadJournalAsync(string instanceId, CancellationToken cancellationToken)
    {
        var entries = new List<JournalEntry>();
        while (true)
        {
            var page = await instances.GetJournalAsync(instanceId, entries.Count, JournalPage, cancellationToken);
            entries.AddRange(page.Items);
            if (page.Items.Count == 0 || entries.Count >= page.TotalCount)
                return entries;
        }
    }

    private async Task<Issue?> FindAsync(string marker, DateTimeOffset? since, CancellationToken cancellationToken)
    {
        var request = new RepositoryIssueRequest
        {
            State = ItemStateFilter.All,
            Filter = IssueFilter.All,
            Since = since,
            SortProperty = IssueSort.Created,
            SortDirection = SortDirection.Descending,
        };
        var issues = await CallAsync(
            "list issues",
            () => client.Value.Issue.GetAllForRepository(options.Owner, options.Repository, request, new ApiOptions { PageSize = 100, PageCount = 10 }),
            cancellationToken);
        return issues.FirstOrDefault(i => i.PullRequest is null && i.Body?.Contains(marker, StringComparison.Ordinal) == true);
    }

    private Task<Issue> CreateAsync(PostMortemReport report, PostMortemRequest request, CancellationToken cancellationToken)
    {
        var issue = new NewIssue(report.Title) { Body = report.Body };
        foreach (var label in options.Labels.Concat(request.Details.IsDrill ? options.DrillLabels : []).Concat(request.Labels).Where(l => !string.IsNullOrWhiteSpace(l)).Distinct(StringComparer.OrdinalIgnoreCase))
            issue.Labels.Add(label);
        foreach (var assignee in options.Assignees.Distinct(StringComparer.OrdinalIgnoreCase))
            issue.Assignees.Add(assignee);
        return CallAsync("create the post-mortem issue", () => client.Value.Issue.Create(options.Owner, options.Repository, issue), cancellationToken);
    }

    /// <summary>Preflight (read-only): the token can see the repository and write its issues; throws naming the setting otherwise.</summary>
    public async Task<string> CheckAccessAsync(CancellationToken cancellationToken)
    {
        var repository = await CallAsync("read the repository", () => client.Value.Repository.Get(options.Owner, options.Repository), cancellationToken);
        if (repository.Permissions is { } permissions && !(permissions.Push || permissions.Triage || permissions.Admin || permissions.Maintain))
            throw new GitHubOperationException($"The GitHub token can read {Repository} but cannot write its issues (needs triage or write access). Check GitHub:Token.", retryable: false) { Code = "github.403" };
        return repository.FullName;
    }

    private async Task<T> CallAsync<T>(string what, Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call().WaitAsync(cancellationToken);
        }
        catch (ApiValidationException e)
        {
            var details = e.ApiError?.Errors is { Count: > 0 } errors ? string.Join("; ", errors.Select(x => $"{x.Field} {x.Code} {x.Message}".Trim())) : e.Message;
            throw Error($"GitHub refused to {what} in {Repository} (HTTP 422: {details}). Check GitHub:Labels and GitHub:Assignees (assignees need access to the repository).", e, retryable: false);
        }
        catch (AuthorizationException e)
        {
            throw Error($"GitHub rejected the token while trying to {what} in {Repository} (HTTP 401). Check GitHub:Token.", e, retryable: false);
        }
        catch (RateLimitExceededException e)
        {
            throw Error($"GitHub's rate limit was hit while trying to {what} in {Repository}; it resets at {e.Reset:HH:mm:ss} UTC. Re-run the step after that.", e, retryable: false);
        }
        catch (ForbiddenException e)
        {
            throw Error($"GitHub forbade to {what} in {Repository} (HTTP 403: {e.Message}). Give the token read and write access to issues.", e, retryable: false);
        }
        catch (NotFoundException e)
        {
            throw Error($"GitHub found no repository {Repository} while trying to {what} (HTTP 404), or the token cannot see it. Check GitHub:Owner, GitHub:Repository and the token's access.", e, retryable: false);
        }
        catch (ApiException e) when ((int)e.StatusCode >= 500)
        {
            throw Error($"GitHub answered HTTP {(int)e.StatusCode} while trying to {what} in {Repository}.", e, retryable: true);
        }
        catch (ApiException e)
        {
            throw Error($"GitHub refused to {what} in {Repository} (HTTP {(int)e.StatusCode}: {e.Message}).", e, retryable: false);
        }
        catch (HttpRequestException e)
        {
            throw Error($"Could not reach GitHub ({options.BaseUrl ?? "api.github.com"}) to {what}: {e.Message}", e, retryable: true);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw Error($"GitHub did not answer within {options.RequestTimeout.TotalSeconds:0} s while trying to {what}.", e, retryable: true);
        }
    }

    private static GitHubOperationException Error(string message, Exception inner, bool retryable) =>
        new(message, retryable, inner)
        {
            Code = "github." + (inner is ApiException api ? ((int)api.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture) : "unreachable"),
            StatusCode = inner is ApiException a && a.StatusCode != 0 ? (int)a.StatusCode : null,
        };

    private GitHubClient CreateClient() => GitHubClients.Create(options);
}
