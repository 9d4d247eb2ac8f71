using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DrWorkflows.Activities.Approvals;
using DrWorkflows.Server.Hosting;
using DrWorkflows.Server.Security;
using Microsoft.AspNetCore.Antiforgery;

namespace DrWorkflows.Server.Approvals;

/// <summary>
/// <c>/studio/approvals</c>: a server-rendered page for on-call, behind the Studio sign-in (same cookie, same
/// antiforgery). Pending gates show their evidence, facts, options, approvers, votes so far and deadline, with
/// approve/reject forms for people holding the approver role; recent decisions follow.
/// </summary>
internal static class ApprovalsPage
{
    public const string Path = "/studio/approvals";

    public static void Map(WebApplication app)
    {
        var pages = app.MapGroup(Path).RequireAuthorization(SignInSetup.Policy);
        pages.MapGet("/", (HttpContext http, IApprovalService approvals, IAntiforgery antiforgery, CancellationToken ct) => RenderAsync(http, approvals, antiforgery, null, null, ct));
        pages.MapGet("/{id}", (string id, HttpContext http, IApprovalService approvals, IAntiforgery antiforgery, CancellationToken ct) => RenderAsync(http, approvals, antiforgery, id, null, ct));
        pages.MapPost("/{id}/decide", DecideAsync).DisableAntiforgery().WithBodyLimit(BodyLimits.Decision);
    }

    private static async Task<IResult> DecideAsync(string id, HttpContext http, IApprovalService approvals, IAntiforgery antiforgery, CancellationToken cancellationToken)
    {
        if (http.Request.HasFormContentType)
            await RequestForms.ReadAsync(http.Request, cancellationToken);
        if (!http.Request.HasFormContentType || !await antiforgery.IsRequestValidAsync(http))
            return await RenderAsync(http, approvals, antiforgery, id, ("error", "The form expired; reload the page and decide again. Nothing was recorded."), cancellationToken, 400);
        var identity = ApprovalsApi.Identity(http.User, ApprovalChannels.Web);
        if (!identity.Roles.Contains(Roles.Approver))
            return await RenderAsync(http, approvals, antiforgery, id, ("error", "Your key does not have the approver role. Nothing was recorded."), cancellationToken, 403);
        var form = await RequestForms.ReadAsync(http.Request, cancellationToken);
        var vote = form["vote"].ToString() == ApprovalVotes.Reject ? ApprovalVotes.Reject : ApprovalVotes.Approve;
        // The form has one set of fields for both buttons: a rejection sends only its comment.
        var answer = vote == ApprovalVotes.Reject ? string.Empty : form["answer"].ToString();
        var result = await approvals.DecideAsync(id, identity, new ApprovalRequest
        {
            Vote = vote,
            Option = vote == ApprovalVotes.Approve && form["option"].ToString() is { Length: > 0 } option ? option : null,
            Value = answer.Length > 0 ? ApprovalRules.ParseLoose(answer) : null,
            Comment = form["comment"].ToString(),
            EvidenceSha256 = form["evidenceSha256"].ToString(),
            Confirmation = form["confirmation"].ToString() is { Length: > 0 } confirmation ? confirmation : null,
        }, cancellationToken);
        var message = result.Kind switch
        {
            ApprovalResultKind.Refused => ("error", "Not recorded: " + result.Refusal!.Message),
            ApprovalResultKind.AlreadyRecorded => ("info", "Your decision was already recorded; nothing changed."),
            ApprovalResultKind.Recorded => ("info", $"Your {vote} was recorded; the gate waits for more approvals."),
            _ => ("info", $"Your {vote} decided the gate: {result.Record?.Status}."),
        };
        return await RenderAsync(http, approvals, antiforgery, id, message, cancellationToken, result.Kind == ApprovalResultKind.Refused ? result.Refusal!.HttpStatus : 200);
    }

    private static async Task<IResult> RenderAsync(HttpContext http, IApprovalService approvals, IAntiforgery antiforgery, string? id, (string Kind, string Text)? message, CancellationToken cancellationToken, int status = 200)
    {
        var records = id is null
            ? await approvals.ListAsync(new ApprovalQuery { Take = 50 }, cancellationToken)
            : (await approvals.FindAsync(id, cancellationToken)) is { } one ? [one] : [];
        var tokens = antiforgery.GetAndStoreTokens(http);
        var canDecide = ApprovalsApi.Identity(http.User, ApprovalChannels.Web).Roles.Contains(Roles.Approver);
        var html = new StringBuilder("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Approvals · DrWorkflows</title>")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><link rel=\"icon\" href=\"data:,\">")
            .Append("<style>body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:960px;padding:1rem;color:#1b1f24}")
            .Append(".gate{border:1px solid #d0d7de;border-radius:8px;padding:1rem;margin:1rem 0}.pending{border-left:6px solid #bf8700}")
            .Append(".Approved{border-left:6px solid #1a7f37}.Rejected,.TimedOut{border-left:6px solid #cf222e}.meta{color:#57606a;font-size:13px}")
            .Append("table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:2px 6px;text-align:left}.error{background:#ffebe9;padding:.5rem}.warn{color:#cf222e}.info{background:#ddf4ff;padding:.5rem}")
            .Append("code{font-size:12px}textarea{width:100%}</style></head><body>")
            .Append("<p class=\"meta\"><a href=\"/studio/\">DrWorkflows</a> · signed in as ").Append(E(http.User.Identity?.Name ?? "?")).Append("</p>")
            .Append("<h1>Approvals</h1>");
        if (message is { } m)
            html.Append("<p class=\"").Append(m.Kind).Append("\">").Append(E(m.Text)).Append("</p>");
        if (records.Count == 0)
            html.Append("<p>No approvals").Append(id is null ? " yet." : $" with id {E(id)}.").Append("</p>");
        foreach (var record in records)
            Gate(html, record, canDecide, tokens);
        html.Append("</body></html>");
        return Results.Content(html.ToString(), "text/html; charset=utf-8", Encoding.UTF8, status);
    }

    private static void Gate(StringBuilder html, ApprovalRecord r, bool canDecide, AntiforgeryTokenSet tokens)
    {
        html.Append("<section class=\"gate ").Append(r.IsDecided ? r.Status.ToString() : "pending").Append("\">")
            .Append("<h2>").Append(E(r.Title)).Append(" <small>(").Append(r.Status).Append(")</small></h2>")
            .Append("<p>").Append(E(r.Question)).Append("</p>");
        if (r.EvidenceText is { Length: > 0 } text)
            html.Append("<h3>Evidence</h3><p>").Append(E(text).Replace("\n", "<br>", StringComparison.Ordinal)).Append("</p>");
        if (r.Facts is not null)
            html.Append("<h3>Key facts</h3>").Append(Facts(r.Facts));
        html.Append("<p class=\"meta\">Run <code>").Append(E(r.InstanceId)).Append("</code> (").Append(E(r.WorkflowName ?? r.DefinitionId ?? "")).Append(") started by ").Append(E(r.Initiator ?? "?"))
            .Append(" · approvers: ").Append(E(string.Join(", ", r.Approvers.Concat(r.Escalations.SelectMany(e => e.People)))))
            .Append(CultureInfo.InvariantCulture, $" · needs {r.RequiredApprovals} approval(s) of the same option")
            .Append(r.ForbidSelfApproval ? " · the starter cannot approve" : string.Empty)
            .Append(r.IsDecided ? string.Empty : $" · escalation tier {r.Tier}, next step at {r.Deadline.UtcDateTime:yyyy-MM-dd HH:mm} UTC")
            .Append(" · approval <code>").Append(E(r.ApprovalId)).Append("</code> · evidence sha256 <code>").Append(r.EvidenceSha256).Append("</code></p>");
        if (r.Votes.Count > 0)
        {
            html.Append("<table><tr><th>Who</th><th>Vote</th><th>Option</th><th>Channel</th><th>When (UTC)</th><th>Comment</th></tr>");
            foreach (var v in r.Votes)
            {
                html.Append("<tr><td>").Append(E(v.By)).Append("</td><td>").Append(v.Vote).Append("</td><td>").Append(E(v.Choice ?? "")).Append("</td><td>")
                    .Append(v.Channel).Append("</td><td>").Append(v.At.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)).Append("</td><td>").Append(E(v.Comment ?? "")).Append("</td></tr>");
            }

            html.Append("</table>");
        }

        if (r.IsDecided)
        {
            html.Append("<p><strong>").Append(r.Status).Append("</strong>").Append(r.DecidedOption is { } o && r.InputSchema is null ? ": " + E(o) : string.Empty)
                .Append(r.DecidedValue is { } v2 ? ": <code>" + E(v2.ToJsonString(DrWorkflows.Core.Serialization.Json.Options)) + "</code>" : string.Empty)
                .Append(" at ").Append(r.DecidedAt?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)).Append(" UTC, outcome ").Append(E(r.Outcome ?? "")).Append("</p>");
        }
        else if (canDecide)
        {
            html.Append("<form method=\"post\" action=\"").Append(Path).Append('/').Append(E(Uri.EscapeDataString(r.ApprovalId))).Append("/decide\">")
                .Append("<input type=\"hidden\" name=\"").Append(tokens.FormFieldName).Append("\" value=\"").Append(E(tokens.RequestToken ?? "")).Append("\">")
                .Append("<input type=\"hidden\" name=\"evidenceSha256\" value=\"").Append(r.EvidenceSha256).Append("\">");
            for (var i = 0; i < r.Options.Count; i++)
            {
                var isDefault = r.Options[i] == r.DefaultOption;
                html.Append(CultureInfo.InvariantCulture, $"<label><input type=\"radio\" name=\"option\" value=\"{i + 1}\"{(isDefault ? " checked" : string.Empty)}> ").Append(E(r.Options[i]))
                    .Append(isDefault ? " <strong>(default)</strong>" : string.Empty);
                if (ApprovalRules.PhraseFor(r, r.Options[i]) is { } phrase)
                    html.Append(" <strong class=\"warn\">needs a typed confirmation: <code>").Append(E(phrase)).Append("</code></strong>");
                html.Append("</label><br>");
            }

            if (r.ConfirmationPhrases is { Count: > 0 })
                html.Append("<label>Confirmation (type the phrase of the option you chose, if it needs one)<br><input name=\"confirmation\" size=\"60\" autocomplete=\"off\"></label><br>");

            if (r.InputSchema is not null)
                html.Append("<label>Answer (JSON, schema <code>").Append(E(r.InputSchema.ToJsonString())).Append("</code>)<br><input name=\"answer\" size=\"60\"></label><br>");
            html.Append(CultureInfo.InvariantCulture, $"<label>Comment<br><textarea name=\"comment\" rows=\"2\" maxlength=\"{ApprovalLimits.Comment}\"></textarea></label><br>")
                .Append("<button name=\"vote\" value=\"approve\">Approve</button> <button name=\"vote\" value=\"reject\">Reject</button></form>");
        }
        else
        {
            html.Append("<p class=\"meta\">You can see this gate but not decide it: your key lacks the approver role.</p>");
        }

        if (r.DeliveryErrors.Count > 0)
            html.Append("<p class=\"meta\">Delivery problems: ").Append(E(string.Join(" | ", r.DeliveryErrors))).Append("</p>");
        html.Append("</section>");
    }

    private static string Facts(JsonNode facts)
    {
        static string Cell(JsonNode? v) => E(v is null ? "null" : DrWorkflows.Activities.Notifications.NotificationTemplate.Format(v));
        switch (facts)
        {
            case JsonObject obj:
                return "<table>" + string.Concat(obj.Select(p => $"<tr><th>{E(p.Key)}</th><td>{Cell(p.Value)}</td></tr>")) + "</table>";
            case JsonArray array when array.All(i => i is JsonObject):
                var columns = array.SelectMany(i => i!.AsObject().Select(p => p.Key)).Distinct(StringComparer.Ordinal).ToList();
                return "<table><tr><th>#</th>" + string.Concat(columns.Select(c => $"<th>{E(c)}</th>")) + "</tr>"
                    + string.Concat(array.Select((item, n) => $"<tr><td>{n + 1}</td>" + string.Concat(columns.Select(c => $"<td>{Cell(item![c])}</td>")) + "</tr>")) + "</table>";
            default:
                return "<pre>" + E(facts.ToJsonString(new JsonSerializerOptions { WriteIndented = true })) + "</pre>";
        }
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
