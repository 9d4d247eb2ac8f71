using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Drills;
using DrWorkflows.Activities.Storage;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Server.Telemetry;

/// <summary>
/// One backed-up component in one store, measured now: the newest set, the newest verified set, whether the newest
/// verification failed, and the exposure (the data a restore from the newest verified set would lose) against the RPO.
/// A store that cannot be read says so (<see cref="Unreadable"/>) and has no ages: unknown is never reported as fresh.
/// </summary>
public sealed record BackupFreshnessRow(
    string Component,
    string Kind,
    string Source,
    string Store,
    TimeSpan Rpo,
    DateTimeOffset? NewestAt,
    DateTimeOffset? NewestVerifiedAt,
    bool? LastVerificationSucceeded,
    DateTimeOffset? LastVerificationAt,
    string? Unreadable,
    DateTimeOffset MeasuredAt)
{
    /// <summary>Age of the newest set (from when it started: the data it holds is that old).</summary>
    public TimeSpan? NewestAge => NewestAt is { } at ? Positive(MeasuredAt - at) : null;

    /// <summary>Age of the newest verified set: what a restore now from a backup known to restore would lose.</summary>
    public TimeSpan? Exposure => NewestVerifiedAt is { } at ? Positive(MeasuredAt - at) : null;

    /// <summary>True when a verified backup younger than the RPO exists; false when none or older; null when the store could not be read.</summary>
    public bool? WithinRpo => Unreadable is not null ? null : Exposure is { } exposure && exposure <= Rpo;

    private static TimeSpan Positive(TimeSpan value) => value < TimeSpan.Zero ? TimeSpan.Zero : value;
}

/// <summary>Reads each configured component's backups (<c>Drills:Components:*:BackupKind/BackupSource</c>) in every store.</summary>
public sealed class BackupFreshness(IOptions<RecoveryObjectivesOptions> options, IBackupCatalog catalog, IBackupStoreProvider stores, TimeProvider clock)
{
    public async Task<IReadOnlyList<BackupFreshnessRow>> MeasureAsync(CancellationToken cancellationToken)
    {
        var rows = new List<BackupFreshnessRow>();
        foreach (var (component, objective) in options.Value.Components.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            if (objective.BackupKind is not { Length: > 0 } kind || objective.BackupSource is not { Length: > 0 } source)
                continue;
            foreach (var listing in await StoreListing.ReadEveryStoreAsync(catalog, stores, kind, source, cancellationToken))
            {
                var lastTried = listing.Sets.Where(s => s.Manifest.Verification is not null).Select(s => s.Manifest).OrderByDescending(m => m.Verification!.At).FirstOrDefault();
                rows.Add(new BackupFreshnessRow(component, kind, source, listing.Store, objective.Rpo, listing.Newest?.Manifest.StartedAt, listing.NewestVerified?.Manifest.StartedAt,
                    lastTried?.Verification?.Succeeded, lastTried?.Verification?.At, listing.Unreadable, clock.GetUtcNow()));
            }
        }

        return rows;
    }
}

/// <summary>
/// <c>GET /api/backups/freshness</c> (viewer): per component and store, the newest backup, the newest verified one, the
/// exposure against the RPO and the latest verification, as <c>drw status</c> shows them.
/// </summary>
public static class BackupFreshnessApi
{
    public static IEndpointRouteBuilder MapBackupFreshnessApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/backups/freshness", async (BackupFreshness freshness, CancellationToken cancellationToken) =>
        {
            var rows = await freshness.MeasureAsync(cancellationToken);
            return Results.Ok(new
            {
                items = rows.Select(r => new
                {
                    component = r.Component,
                    kind = r.Kind,
                    source = r.Source,
                    store = r.Store,
                    rpoSeconds = r.Rpo.TotalSeconds,
                    newestAt = r.NewestAt,
                    newestAgeSeconds = r.NewestAge?.TotalSeconds,
                    newestVerifiedAt = r.NewestVerifiedAt,
                    exposureSeconds = r.Exposure?.TotalSeconds,
                    withinRpo = r.WithinRpo,
                    lastVerificationSucceeded = r.LastVerificationSucceeded,
                    lastVerificationAt = r.LastVerificationAt,
                    unreadable = r.Unreadable,
                }),
                measuredAt = rows.Count > 0 ? rows[0].MeasuredAt : (DateTimeOffset?)null,
            });
        }).RequireAuthorization(Security.Roles.Viewer);
        return app;
    }
}
