using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using DrWorkflows.Activities.Approvals;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Building;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;

namespace DrWorkflows.Server.GitOps;

/// <summary>
/// The break-glass publish, as a workflow so that it is audited like any other run (journal, approval record with
/// every vote): an approval gate that needs two approvals from two different people (the admin who asked cannot
/// approve), then <see cref="PublishBreakGlass"/>. Rejected or timed out: nothing is published. Loaded only when
/// GitOps is on. Started by <c>POST /api/gitops/break-glass</c>.
/// </summary>
public sealed class BreakGlassWorkflow : ICodeWorkflow
{
    public const string Id = "gitops-break-glass";

    public string DefinitionId => Id;

    public string Name => "GitOps break-glass publish";

    public void Build(WorkflowBuilder builder)
    {
        builder.WithDescription("Publishes a draft without waiting for review, during an incident: two different approvers, then the version runs and a pull request labelled break-glass brings git in line. Started by POST /api/gitops/break-glass.")
            .WithInput<string>("DefinitionId", "The definition to publish.")
            .WithInput<string>("DefinitionVersionId", "The draft version to publish.")
            .WithInput<int>("Version", "Its version number.")
            .WithInput<string>("ContentSha256", "SHA-256 of the draft in the committed format when it was asked for: a draft changed since is not published.")
            .WithInput<string>("Reason", "Why it cannot wait for review.")
            .WithInput<string>("Summary", "The change against the running version (Markdown).")
            .WithInput<List<string>>("Approvers", "Who may approve (DrWorkflows:GitOps:BreakGlassApprovers).")
            .WithOutput<int>("PullRequest", "The pull request that brings git in line.");

        var flow = builder.Flowchart();
        var gate = flow.Add(new ApprovalGate
        {
            Id = "approveBreakGlass",
            Title = Input<string>.FromJavaScript("'Break-glass publish of ' + getInput('DefinitionId') + ' version ' + getInput('Version')"),
            Question = Input<string>.FromJavaScript("'Publish ' + getInput('DefinitionId') + ' version ' + getInput('Version') + ' now, without review? Reason: ' + getInput('Reason') + ' A pull request labelled break-glass then brings git in line.'"),
            Evidence = Input<JsonNode?>.FromJavaScript("({ text: getInput('Summary'), facts: { definitionId: getInput('DefinitionId'), version: getInput('Version'), contentSha256: getInput('ContentSha256') } })"),
            Approvers = Input<List<string>>.FromJavaScript("getInput('Approvers')"),
            RequiredApprovals = new(2),
            ForbidSelfApproval = new(true),
        });
        var publish = flow.Add(new PublishBreakGlass
        {
            Id = "publish",
            DefinitionVersionId = Input<string>.FromJavaScript("getInput('DefinitionVersionId')"),
            ContentSha256 = Input<string>.FromJavaScript("getInput('ContentSha256')"),
            Reason = Input<string>.FromJavaScript("getInput('Reason')"),
            ApprovalId = Input<string>.FromJavaScript("getOutputFrom('approveBreakGlass', 'ApprovalId')"),
        });
        flow.Connect(gate, publish, ApprovalOutcomes.Approved);
    }
}

/// <summary>Publishes an approved break-glass draft and opens the pull request labelled <c>break-glass</c> (<see cref="BreakGlassPublisher"/>).</summary>
// SafeToRerun: the publish is skipped when the version already runs, and the pull request opener reuses branch, file and pull request.
[Activity("DrWorkflows", "GitOps", "Publishes an approved break-glass draft without review and opens the pull request labelled break-glass that brings git in line.", SafeToRerun = true)]
public sealed class PublishBreakGlass : CodeActivity
{
    [Input(Description = "The draft version to publish.", Required = true)]
    public Input<string>? DefinitionVersionId { get; set; }

    [Input(Description = "SHA-256 of the approved draft in the committed format.", Required = true)]
    public Input<string>? ContentSha256 { get; set; }

    [Input(Description = "Why it could not wait for review.", Required = true)]
    public Input<string>? Reason { get; set; }

    [Input(Description = "The approval gate's id: its approvals are checked again and named on the pull request.", Required = true)]
    public Input<string>? ApprovalId { get; set; }

    [Output(Description = "The published version.")]
    public Output<int> PublishedVersion { get; set; } = new();

    [Output(Description = "The pull request's number.")]
    public Output<int> PullRequest { get; set; } = new();

    [Output(Description = "The pull request's page.")]
    public Output<string> PullRequestUrl { get; set; } = new();

    protected override async ValueTask RunAsync(ActivityExecutionContext context)
    {
        var published = await context.GetRequiredService<BreakGlassPublisher>().PublishAsync(
            new BreakGlassRequest(context.Get(DefinitionVersionId) ?? string.Empty, context.Get(ContentSha256) ?? string.Empty, context.Get(Reason) ?? string.Empty,
                context.Get(ApprovalId) ?? string.Empty, context.Workflow.State.Id, context.Workflow.State.StartedBy),
            context.CancellationToken);
        context.Set(PublishedVersion, published.Version);
        context.Set(PullRequest, published.PullRequest.Number);
        context.Set(PullRequestUrl, published.PullRequest.Url);
        await context.CompleteAsync();
    }
}

/// <summary>What a break-glass publish needs: the approved draft (and its hash), why, the gate, the run.</summary>
public sealed record BreakGlassRequest(string DefinitionVersionId, string ContentSha256, string Reason, string ApprovalId, string RunId, string? RequestedBy);

/// <summary>The version now running and the pull request that brings git in line.</summary>
public sealed record BreakGlassPublished(int Version, WorkflowPullRequest PullRequest);

/// <summary>A break-glass publish cannot go on (the draft changed since it was approved, the approvals do not hold); the message says why.</summary>
public sealed class BreakGlassException(string message) : Exception(message);

/// <summary>
/// Publishes an approved break-glass draft: checks again that the gate has two approvals from different people and
/// that the draft is still what was approved (SHA-256 of its committed format), publishes it (origin
/// <c>break-glass:&lt;run id&gt;</c>) unless it already runs, and opens the pull request labelled <c>break-glass</c>. GitHub
/// failing faults the step (an incident on-call sees); retrying it opens the pull request without publishing again.
/// </summary>
public sealed partial class BreakGlassPublisher(WorkflowDefinitionService definitions, IApprovalService approvals, PullRequestOpener opener, ILogger<BreakGlassPublisher> logger)
{
    public const string OriginPrefix = "break-glass:";

    /// <summary>SHA-256 (hex) of a definition in the committed format: what the approvers approved.</summary>
    public static string ContentHash(WorkflowDefinitionDocument document) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(PullRequestOpener.CommittedFormat(document))));

    public async Task<BreakGlassPublished> PublishAsync(BreakGlassRequest request, CancellationToken cancellationToken)
    {
        var version = await definitions.FindByIdAsync(request.DefinitionVersionId, cancellationToken)
            ?? throw new BreakGlassException($"Version {request.DefinitionVersionId} no longer exists: nothing was published.");
        var document = WorkflowDefinitionDocument.Parse(version.Json);
        if (ContentHash(document) != request.ContentSha256)
            throw new BreakGlassException($"{version.DefinitionId} version {version.Version} changed after it was approved: nothing was published. Ask for a new break-glass publish of the new draft.");
        var record = await approvals.FindAsync(request.ApprovalId, cancellationToken);
        var approvedBy = record?.Votes.Where(v => v.Vote == ApprovalVotes.Approve).DistinctBy(v => v.PersonKey).Select(v => v.By).ToList() ?? [];
        if (approvedBy.Count < 2)
            throw new BreakGlassException($"The break-glass gate {request.ApprovalId} has {approvedBy.Count} approval(s) from different people, 2 are needed: nothing was published.");

        var running = await definitions.FindAsync(version.DefinitionId, VersionOptions.PublishedVersion, cancellationToken);
        var previous = running is null || running.Id == version.Id ? null : WorkflowDefinitionDocument.Parse(running.Json);
        var stored = version;
        if (!version.IsPublished)
        {
            stored = await definitions.SaveAsync(document, publish: true, OriginPrefix + request.RunId, isReadonly: false, cancellationToken);
            Log.Published(logger, stored.DefinitionId, stored.Version, request.RequestedBy ?? "unknown", string.Join(", ", approvedBy), request.RunId);
        }

        var pull = await opener.OpenAsync(WorkflowDefinitionDocument.Parse(stored.Json), previous, request.RequestedBy ?? "unknown", cancellationToken, new BreakGlassNote(request.Reason, approvedBy, request.RunId));
        Log.PullRequestOpened(logger, stored.DefinitionId, stored.Version, pull.Number, pull.Url);
        return new BreakGlassPublished(stored.Version, pull);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1330, Level = LogLevel.Warning, Message = "Break-glass publish: {DefinitionId} version {Version} runs without review, asked by {RequestedBy}, approved by {ApprovedBy} (run {RunId})")]
        public static partial void Published(ILogger logger, string definitionId, int version, string requestedBy, string approvedBy, string runId);

        [LoggerMessage(EventId = 1331, Level = LogLevel.Information, Message = "Break-glass publish of {DefinitionId} version {Version}: pull request #{Number} {Url} brings git in line")]
        public static partial void PullRequestOpened(ILogger logger, string definitionId, int version, int number, string url);
    }
}

/// <summary>
/// <c>POST /api/gitops/break-glass</c> (admin) <c>{"definitionId", "reason"}</c>: asks to publish the definition's draft
/// without review. Starts a run of <see cref="BreakGlassWorkflow"/>, which waits for two approvers; answers 202 with
/// the run and the approval to decide (<c>/api/approvals/{id}/approve</c>, Slack, the approvals page). 409 when GitOps
/// is off (publish normally) or there is no draft; 400 without a reason.
/// </summary>
internal static class BreakGlassApi
{
    public sealed record BreakGlassBody(string? DefinitionId, string? Reason);

    public static async Task<IResult> RequestAsync(
        BreakGlassBody? body,
        HttpContext http,
        Microsoft.Extensions.Options.IOptions<GitOpsOptions> options,
        WorkflowDefinitionService definitions,
        WorkflowRuntime runtime,
        IApprovalService approvals,
        CancellationToken cancellationToken)
    {
        if (!options.Value.Enabled)
            return Results.Problem(statusCode: 409, title: "GitOps is off", detail: "Without DrWorkflows:GitOps:Enabled a publish runs at once: publish the definition normally.");
        if (string.IsNullOrWhiteSpace(body?.DefinitionId) || string.IsNullOrWhiteSpace(body.Reason))
            return Results.Problem(statusCode: 400, title: "Bad request", detail: "Give definitionId and reason (why the change cannot wait for review; the approvers and the pull request read it).");
        var latest = await definitions.FindAsync(body.DefinitionId, VersionOptions.LatestVersion, cancellationToken);
        if (latest is null)
            return Results.Problem(statusCode: 404, title: "Not found", detail: $"Workflow definition '{body.DefinitionId}' does not exist.");
        if (latest.IsPublished)
            return Results.Problem(statusCode: 409, title: "Nothing to publish", detail: $"'{body.DefinitionId}' has no draft: version {latest.Version} already runs. Save the change as a draft first.");
        if (latest.IsReadonly)
            return Results.Problem(statusCode: 409, title: "Read-only", detail: $"'{body.DefinitionId}' comes from {latest.Origin}: change it there.");

        var draft = WorkflowDefinitionDocument.Parse(latest.Json);
        var published = await definitions.FindAsync(body.DefinitionId, VersionOptions.PublishedVersion, cancellationToken);
        var summary = WorkflowChangeSummary.Compare(definitions.Registry, published is null ? null : WorkflowDefinitionDocument.Parse(published.Json), draft).ToMarkdown();
        var state = await runtime.StartAsync(new StartRunRequest(BreakGlassWorkflow.Id)
        {
            Input = new Dictionary<string, JsonNode?>
            {
                ["DefinitionId"] = latest.DefinitionId,
                ["DefinitionVersionId"] = latest.Id,
                ["Version"] = latest.Version,
                ["ContentSha256"] = BreakGlassPublisher.ContentHash(draft),
                ["Reason"] = body.Reason.Trim(),
                ["Summary"] = summary,
                ["Approvers"] = new JsonArray([.. options.Value.EffectiveBreakGlassApprovers.Select(a => (JsonNode?)JsonValue.Create(a))]),
            },
            CorrelationId = $"break-glass:{latest.DefinitionId}",
            StartedBy = Apis.ElsaModels.Actor(http.User),
        }, cancellationToken);
        var pending = await approvals.ListAsync(new ApprovalQuery { InstanceId = state.Id, Status = "pending" }, cancellationToken);
        if (pending.Count == 0)
        {
            return Results.Problem(statusCode: 500, title: "Break-glass gate not reached",
                detail: $"The break-glass run {state.Id} did not reach its approval gate (status {state.Status}/{state.SubStatus}); nothing was published. Its journal and incidents say why.");
        }

        return Results.Json(new
        {
            runId = state.Id,
            definitionId = latest.DefinitionId,
            version = latest.Version,
            approvalId = pending[0].ApprovalId,
            requiredApprovals = 2,
            approvers = options.Value.EffectiveBreakGlassApprovers,
        }, statusCode: StatusCodes.Status202Accepted);
    }
}
