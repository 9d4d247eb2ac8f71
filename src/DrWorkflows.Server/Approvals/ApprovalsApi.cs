using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using DrWorkflows.Activities.Approvals;
using DrWorkflows.Server.Hosting;
using DrWorkflows.Server.Security;

namespace DrWorkflows.Server.Approvals;

/// <summary>
/// Approval routes. <c>GET /api/approvals</c> and <c>GET /api/approvals/{id}</c> need the viewer role;
/// <c>POST /api/approvals/{id}/approve|reject</c> the approver role (admin includes it). There is no route
/// that edits or deletes a decision: votes live in the run's state and its append-only journal.
/// <c>/slack/interactions</c> and <c>/github/webhook</c> are anonymous at the HTTP level and authenticated
/// by their signatures; the deciding user is then checked against the gate's approvers.
/// </summary>
public static class ApprovalsApi
{
    public static WebApplicationBuilder AddDrWorkflowsApprovals(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        builder.Services.AddApprovals(o => configuration.GetSection("Approvals").Bind(o));
        builder.Services.AddSingleton<ReplayGuard>();
        builder.Services.AddSingleton<SlackResponder>();
        return builder;
    }

    public static WebApplication MapDrWorkflowsApprovals(this WebApplication app)
    {
        var api = app.MapGroup("/api/approvals");
        api.MapGet("/", ListAsync).RequireAuthorization(Roles.Viewer);
        api.MapGet("/{id}", GetAsync).RequireAuthorization(Roles.Viewer);
        api.MapPost("/{id}/approve", (string id, DecisionBody? body, HttpContext http, IApprovalService approvals, CancellationToken ct) =>
            DecideAsync(id, ApprovalVotes.Approve, body, http, approvals, ct)).RequireAuthorization(Roles.Approver).WithBodyLimit(BodyLimits.Decision);
        api.MapPost("/{id}/reject", (string id, DecisionBody? body, HttpContext http, IApprovalService approvals, CancellationToken ct) =>
            DecideAsync(id, ApprovalVotes.Reject, body, http, approvals, ct)).RequireAuthorization(Roles.Approver).WithBodyLimit(BodyLimits.Decision);
        app.MapPost("/slack/interactions", SlackInteractions.HandleAsync).AllowAnonymous().DisableAntiforgery().WithBodyLimit(BodyLimits.Default);
        app.MapPost("/github/webhook", GitHubWebhook.HandleAsync).AllowAnonymous().DisableAntiforgery().WithBodyLimit(BodyLimits.Default);
        ApprovalsPage.Map(app);
        return app;
    }

    /// <summary>
    /// Body of approve/reject: the option (text or number), a free answer for schema gates, a comment, optionally
    /// the evidence hash the caller was shown, <c>channel: "cli"</c> when sent by the drw command line, and the
    /// typed confirmation of an option that needs one (e.g. an unverified backup).
    /// </summary>
    public sealed record DecisionBody(string? Option, JsonNode? Value, string? Comment, string? EvidenceSha256, string? Channel, string? Confirmation = null);

    /// <summary>Most approvals one list answer holds (<c>take</c>).</summary>
    public const int MaxTake = 200;

    private static readonly string[] Statuses = ["pending", "decided", "approved", "rejected", "timedout", "timed-out", "all"];

    private static async Task<IResult> ListAsync(string? status, string? instanceId, string? definitionId, int? take, IApprovalService approvals, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrWhiteSpace(status) && !Statuses.Contains(status.Trim().ToLowerInvariant()))
            throw new RequestFieldException("status", "must be one of pending, decided, approved, rejected, timedout, all.");
        var items = await approvals.ListAsync(new ApprovalQuery { Status = status, InstanceId = instanceId, DefinitionId = definitionId, Take = Math.Clamp(take ?? 100, 1, MaxTake) }, cancellationToken);
        return Results.Ok(new { items = items.Select(View), count = items.Count });
    }

    private static async Task<IResult> GetAsync(string id, IApprovalService approvals, CancellationToken cancellationToken) =>
        await approvals.FindAsync(id, cancellationToken) is { } record
            ? Results.Ok(View(record))
            : Results.Problem(statusCode: 404, title: "Not found", detail: $"There is no approval '{id}'.", extensions: new Dictionary<string, object?> { ["code"] = ApprovalCodes.NotFound });

    private static async Task<IResult> DecideAsync(string id, string vote, DecisionBody? body, HttpContext http, IApprovalService approvals, CancellationToken cancellationToken)
    {
        if (body?.Channel is { } given && given is not (ApprovalChannels.Api or ApprovalChannels.Cli))
            throw new RequestFieldException("channel", "must be \"cli\" (the drw command line) or \"api\", or left out.");
        var channel = http.User.FindFirst("drw:channel")?.Value is "studio" or ApprovalChannels.Web
            ? ApprovalChannels.Web
            : body?.Channel == ApprovalChannels.Cli ? ApprovalChannels.Cli : ApprovalChannels.Api;
        var result = await approvals.DecideAsync(id, Identity(http.User, channel), new ApprovalRequest
        {
            Vote = vote,
            Option = body?.Option,
            Value = body?.Value,
            Comment = body?.Comment,
            EvidenceSha256 = body?.EvidenceSha256,
            Confirmation = body?.Confirmation,
        }, cancellationToken);
        return ToResult(result);
    }

    /// <summary>The record as stored, plus <c>id</c> and <c>workflowInstanceId</c> (the names the CLI and Elsa clients use).</summary>
    private static JsonObject View(ApprovalRecord record)
    {
        var json = record.ToJson();
        json["id"] = record.ApprovalId;
        json["workflowInstanceId"] = record.InstanceId;
        return json;
    }

    internal static IResult ToResult(ApprovalResult result) => result.Kind switch
    {
        ApprovalResultKind.Refused => Results.Problem(
            statusCode: result.Refusal!.HttpStatus,
            title: "Refused",
            detail: result.Refusal.Message,
            extensions: new Dictionary<string, object?> { ["code"] = result.Refusal.Code }),
        _ => Results.Ok(new
        {
            result = ResultName(result.Kind),
            approvalId = result.Record?.ApprovalId,
            status = result.Record?.Status.ToString(),
            approvals = result.Record?.Votes.Count(v => v.Vote == ApprovalVotes.Approve),
            required = result.Record?.RequiredApprovals,
            vote = result.Vote,
        }),
    };

    internal static string ResultName(ApprovalResultKind kind) => kind switch
    {
        ApprovalResultKind.Recorded => "recorded",
        ApprovalResultKind.Decided => "decided",
        ApprovalResultKind.AlreadyRecorded => "already-recorded",
        _ => "refused",
    };

    /// <summary>The caller as an approval identity: its name and its effective roles (admin includes approver).</summary>
    internal static ApprovalIdentity Identity(ClaimsPrincipal user, string channel)
    {
        var held = user.FindAll(ClaimTypes.Role).Select(c => c.Value).ToHashSet(StringComparer.Ordinal);
        var effective = Roles.All.Where(r => Roles.Admitting(r).Any(held.Contains)).ToList();
        return ApprovalIdentity.User(channel, user.Identity?.Name ?? "anonymous", effective);
    }

    /// <summary>Reads the raw body (signatures are over the exact bytes), refusing more than 1 MiB.</summary>
    internal static async Task<byte[]?> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        const int Max = 1024 * 1024;
        if (request.ContentLength > Max)
            return null;
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > Max)
                return null;
            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    internal static IResult Problem(int status, string title, string detail, string code, string? field = null) =>
        Results.Problem(statusCode: status, title: title, detail: detail, extensions: field is { Length: > 0 }
            ? new Dictionary<string, object?> { ["code"] = code, ["field"] = field }
            : new Dictionary<string, object?> { ["code"] = code });
}

/// <summary>
/// How webhook payloads are read: web names, numbers only as JSON numbers, with source-generated metadata (Slack
/// gives up after 3 s, so the first click after a start must not wait for reflection to build the readers).
/// </summary>
internal static class WebhookJson
{
    public static JsonSerializerOptions Options => WebhookJsonContext.Default.Options;
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(SlackInteraction))]
[JsonSerializable(typeof(GitHubCommentEvent))]
internal sealed partial class WebhookJsonContext : JsonSerializerContext
{
}
