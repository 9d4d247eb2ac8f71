using System.Globalization;
using DrWorkflows.Server.Security;

namespace DrWorkflows.Server.Operations;

/// <summary>
/// <c>GET /api/audit?from=&amp;to=</c> (viewer): the audit evidence pack of a period as a zip (see
/// <see cref="AuditPackWriter"/>). <c>from</c> is required; <c>to</c> defaults to now. The SHA-256 of the pack's
/// manifest is in the <c>X-DrWorkflows-Manifest-Sha256</c> header, the counts in <c>X-DrWorkflows-Audit-Counts</c>.
/// </summary>
public static class AuditApi
{
    public const string ManifestHeader = "X-DrWorkflows-Manifest-Sha256";
    public const string CountsHeader = "X-DrWorkflows-Audit-Counts";

    public static IServiceCollection AddAuditPack(this IServiceCollection services) => services.AddSingleton<AuditPackWriter>();

    public static IEndpointRouteBuilder MapAuditApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/audit", GetPackAsync).RequireAuthorization(Roles.Viewer);
        return app;
    }

    private static async Task<IResult> GetPackAsync(string? from, string? to, AuditPackWriter writer, TimeProvider clock, HttpContext http, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(from))
            return BadRequest("'from' is required: the start of the period, e.g. from=2026-01-01 or from=2026-01-01T00:00:00Z.");
        if (!TryParse(from, out var start))
            return BadRequest($"'from' is not a date or time: '{from}'. Use ISO 8601, e.g. 2026-01-01 or 2026-01-01T00:00:00Z (UTC when no offset is given).");
        var end = clock.GetUtcNow();
        if (!string.IsNullOrWhiteSpace(to) && !TryParse(to, out end))
            return BadRequest($"'to' is not a date or time: '{to}'. Use ISO 8601, e.g. 2026-02-01 or 2026-02-01T00:00:00Z (UTC when no offset is given).");
        if (end <= start)
            return BadRequest($"The period is empty: 'to' ({end:O}) must be after 'from' ({start:O}).");

        var path = Path.Combine(Path.GetTempPath(), $"drw-audit-{Guid.NewGuid():N}.zip");
        AuditPackSummary pack;
        try
        {
            pack = await writer.WriteAsync(start, end, path, cancellationToken);
        }
        catch
        {
            File.Delete(path);
            throw;
        }

        // The file goes away when the answer has been sent (or the client left).
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, FileOptions.Asynchronous | FileOptions.DeleteOnClose);
        http.Response.Headers[ManifestHeader] = pack.ManifestSha256;
        http.Response.Headers[CountsHeader] = string.Create(CultureInfo.InvariantCulture,
            $"runs={pack.Runs}; drills={pack.Drills}; verifications={pack.Verifications}; approvals={pack.Approvals}; incidents={pack.Incidents}; workflowVersions={pack.WorkflowVersions}; files={pack.Files}");
        var name = string.Create(CultureInfo.InvariantCulture, $"drworkflows-audit-{start.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}-{end.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}.zip");
        return Results.File(stream, "application/zip", name);
    }

    /// <summary>ISO 8601 date or date and time; without an offset it is UTC.</summary>
    internal static bool TryParse(string text, out DateTimeOffset value) =>
        DateTimeOffset.TryParse(text.Trim(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);

    private static IResult BadRequest(string detail) => Results.Problem(statusCode: 400, title: "Bad request", detail: detail);
}
