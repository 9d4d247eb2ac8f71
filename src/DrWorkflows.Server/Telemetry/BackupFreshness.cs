using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Drills;
using DrWorkflows.Activities.PgBackRest;
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
/// The RPO exposure of one backed-up component now: what a restore now would lose. For a database whose WAL is
/// archived (<c>PgBackRest:Archiving</c>): the age of the last archived WAL while newer WAL waits (0 when everything
/// written is archived). Otherwise: the age of the newest verified backup in any store. Null (unknown, never "fine")
/// when it could not be measured; <see cref="Problem"/> says why or what is wrong.
/// </summary>
public sealed record RpoExposureRow(string Component, string Via, TimeSpan Rpo, TimeSpan? Exposure, bool? Failing, DateTimeOffset? LastArchivedAt, string? Problem)
{
    public const string ViaWalArchive = "wal-archive";
    public const string ViaVerifiedBackup = "verified-backup";

    /// <summary>True within the RPO and not failing; false over it, failing, or with nothing to restore; null when unknown.</summary>
    public bool? WithinRpo => Failing == true ? false : Exposure is { } e ? e <= Rpo : Problem is null ? null : Via == ViaVerifiedBackup ? false : null;

    /// <summary>Per component: by the WAL archive where it is configured, else by the freshness rows (the youngest verified backup of any readable store).</summary>
    public static IReadOnlyList<RpoExposureRow> From(IReadOnlyList<BackupFreshnessRow> backups, IReadOnlyList<WalArchiveState> archived, RecoveryObjectivesOptions objectives, TimeSpan allowedLag)
    {
        var rows = new List<RpoExposureRow>();
        foreach (var state in archived)
        {
            var rpo = objectives.Components.TryGetValue(state.Component, out var objective) ? objective.Rpo : allowedLag;
            rows.Add(new RpoExposureRow(state.Component, ViaWalArchive, rpo, state.Exposure, state.Failing, state.Statistics?.LastArchivedAt, state.Problem(rpo)));
        }

        foreach (var group in backups.Where(b => !archived.Any(a => string.Equals(a.Component, b.Component, StringComparison.OrdinalIgnoreCase))).GroupBy(b => b.Component, StringComparer.Ordinal))
        {
            var youngest = group.Where(r => r.Exposure is not null).OrderBy(r => r.Exposure).FirstOrDefault();
            var unreadable = group.Where(r => r.Unreadable is not null).Select(r => $"store {r.Store} cannot be read ({r.Unreadable})").ToList();
            string? problem = youngest is null
                ? (unreadable.Count == group.Count() ? string.Join("; ", unreadable) : "no verified backup in any store")
                : youngest.Exposure > youngest.Rpo ? $"the newest verified backup (store {youngest.Store}) is older than the RPO" : null;
            rows.Add(new RpoExposureRow(group.Key, ViaVerifiedBackup, group.First().Rpo, youngest?.Exposure, null, null, problem));
        }

        return [.. rows.OrderBy(r => r.Component, StringComparer.Ordinal)];
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
        app.MapGet("/api/backups/freshness", async (BackupFreshness freshness, IWalArchiveStatus archiving, IOptions<RecoveryObjectivesOptions> objectives, CancellationToken cancellationToken) =>
        {
            var rows = await freshness.MeasureAsync(cancellationToken);
            var exposure = RpoExposureRow.From(rows, await archiving.MeasureAsync(cancellationToken), objectives.Value, archiving.AllowedLag);
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
                exposure = exposure.Select(e => new
                {
                    component = e.Component,
                    via = e.Via,
                    exposureSeconds = e.Exposure?.TotalSeconds,
                    rpoSeconds = e.Rpo.TotalSeconds,
                    withinRpo = e.WithinRpo,
                    failing = e.Failing,
                    lastArchivedAt = e.LastArchivedAt,
                    problem = e.Problem,
                }),
                measuredAt = rows.Count > 0 ? rows[0].MeasuredAt : (DateTimeOffset?)null,
            });
        }).RequireAuthorization(Security.Roles.Viewer);
        return app;
    }
}
