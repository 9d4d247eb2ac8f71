using System.Globalization;
using DrWorkflows.Activities.Docker;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.PgBackRest;

/// <summary>
/// What a PostgreSQL server says about its WAL archiving (<c>pg_stat_archiver</c>, <c>pg_settings</c>, the current
/// WAL position), all read in one query; times are the server's own, <see cref="ServerNow"/> included, so that ages do
/// not depend on the orchestrator's clock.
/// </summary>
public sealed record ArchiverStatistics(
    string ArchiveMode,
    TimeSpan ArchiveTimeout,
    long WalSegmentBytes,
    string? LastArchivedWal,
    DateTimeOffset? LastArchivedAt,
    long FailedCount,
    string? LastFailedWal,
    DateTimeOffset? LastFailedAt,
    string? CurrentLsn,
    DateTimeOffset ServerNow)
{
    /// <summary>The query whose one row <see cref="Parse"/> reads (fields separated by <c>|</c>).</summary>
    internal const string Query = """
        SELECT concat_ws('|', current_setting('archive_mode'), (SELECT setting FROM pg_settings WHERE name = 'archive_timeout'),
          (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'), coalesce(last_archived_wal, ''),
          coalesce(extract(epoch FROM last_archived_time)::text, ''), failed_count, coalesce(last_failed_wal, ''),
          coalesce(extract(epoch FROM last_failed_time)::text, ''),
          CASE WHEN pg_is_in_recovery() THEN '' ELSE pg_current_wal_lsn()::text END, extract(epoch FROM clock_timestamp())::text)
        FROM pg_stat_archiver
        """;

    public static ArchiverStatistics Parse(string row)
    {
        var f = row.Trim().Split('|');
        if (f.Length != 10)
            throw new FormatException($"Expected 10 fields from pg_stat_archiver, got {f.Length}: '{row}'.");
        return new ArchiverStatistics(
            f[0], TimeSpan.FromSeconds(long.Parse(f[1], CultureInfo.InvariantCulture)), long.Parse(f[2], CultureInfo.InvariantCulture),
            Empty(f[3]), Time(f[4]), long.Parse(f[5], CultureInfo.InvariantCulture), Empty(f[6]), Time(f[7]), Empty(f[8]), Time(f[9]) ?? throw new FormatException("No server time."));
    }

    /// <summary>
    /// Bytes of WAL written after the end of the last archived segment: what a restore to <c>latest</c> would lose
    /// now. 0 when everything written is archived (a quiet server); null when it cannot be told (nothing archived yet,
    /// a history file last, a standby).
    /// </summary>
    public long? UnarchivedBytes
    {
        get
        {
            if (LastArchivedWal is not { Length: >= 24 } wal || SegmentEnd(wal[..24], WalSegmentBytes) is not { } end || CurrentLsn is not { } lsn || lsn.Split('/') is not [var hi, var lo])
                return null;
            var current = (Convert.ToUInt64(hi, 16) << 32) + Convert.ToUInt64(lo, 16);
            return current > end ? (long)(current - end) : 0;
        }
    }

    /// <summary>The LSN just past a WAL segment (<c>000000010000000000000003</c> of 16 MiB ends at <c>0/4000000</c>); null when the name is not one.</summary>
    internal static ulong? SegmentEnd(string? wal, long segmentBytes)
    {
        if (wal is not { Length: 24 } || !IsHex(wal) || segmentBytes <= 0)
            return null;
        var log = Convert.ToUInt64(wal[8..16], 16);
        var seg = Convert.ToUInt64(wal[16..24], 16);
        return ((log * (0x1_0000_0000UL / (ulong)segmentBytes)) + seg + 1) * (ulong)segmentBytes;
    }

    private static bool IsHex(string text) => text.All(char.IsAsciiHexDigit);

    private static string? Empty(string text) => text.Length == 0 ? null : text;

    private static DateTimeOffset? Time(string text) =>
        text.Length == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(double.Parse(text, CultureInfo.InvariantCulture) * 1000));
}

/// <summary>One archived database (<see cref="PgBackRestOptions.Archiving"/>) measured now; <see cref="Unreadable"/> says why it could not be.</summary>
public sealed record WalArchiveState(string Component, string Container, string Stanza, ArchiverStatistics? Statistics, string? Unreadable, DateTimeOffset MeasuredAt)
{
    /// <summary>True when archiving is off or <c>archive_command</c> failed after the last success; null when not measured.</summary>
    public bool? Failing => Statistics is { } s
        ? s.ArchiveMode == "off" || (s.FailedCount > 0 && s.LastFailedAt is { } failed && (s.LastArchivedAt is not { } archived || failed > archived))
        : null;

    /// <summary>
    /// The RPO exposure: what a restore to <c>latest</c> would lose now. The age of the last archived WAL while newer WAL
    /// waits; 0 when everything written is archived; null when not measured or nothing was ever archived.
    /// </summary>
    public TimeSpan? Exposure => Statistics switch
    {
        null => null,
        { LastArchivedAt: null } => null,
        { UnarchivedBytes: 0 } => TimeSpan.Zero,
        var s => Positive(s.ServerNow - s.LastArchivedAt!.Value),
    };

    /// <summary>What is wrong with the archiving given the allowed lag; null when it works.</summary>
    public string? Problem(TimeSpan allowedLag)
    {
        if (Unreadable is { } why)
            return $"the archiving of {Container} could not be measured: {why}";
        var s = Statistics!;
        if (s.ArchiveMode == "off")
            return $"archive_mode is off on {Container}: no WAL is archived";
        if (Failing == true)
            return $"archive_command fails on {Container}: {s.FailedCount} failure(s) since the statistics were reset, the last at {At(s.LastFailedAt)} for {s.LastFailedWal}, "
                + (s.LastArchivedAt is null ? "and no WAL was ever archived" : $"after the last success at {At(s.LastArchivedAt)} ({s.LastArchivedWal})");
        if (s.LastArchivedAt is null)
            return $"no WAL has ever been archived from {Container} (pg_stat_archiver is empty): run EnableWalArchiving (pgbackrest check archives one)";
        if (Exposure is { } exposure && exposure > allowedLag)
            return $"the last WAL archived from {Container} ({s.LastArchivedWal}) is {Seconds(exposure)} old while {s.UnarchivedBytes?.ToString(CultureInfo.InvariantCulture) ?? "an unknown number of"} bytes of newer WAL wait: more than the allowed lag of {Seconds(allowedLag)}";
        return null;
    }

    /// <summary>Identifies one episode of trouble: the last success before it (the same on every node), or "unreadable".</summary>
    public string EpisodeKey => Statistics?.LastArchivedAt is { } at
        ? $"{Component}:{at.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}"
        : $"{Component}:{(Unreadable is null ? "never" : "unreadable")}";

    /// <summary>A duration in whole seconds, e.g. <c>75 s</c>.</summary>
    public static string Seconds(TimeSpan value) => string.Create(CultureInfo.InvariantCulture, $"{value.TotalSeconds:0} s");

    private static string At(DateTimeOffset? value) => value?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + "Z";

    private static TimeSpan Positive(TimeSpan value) => value < TimeSpan.Zero ? TimeSpan.Zero : value;
}

/// <summary>Measures the archiving of every database of <see cref="PgBackRestOptions.Archiving"/>.</summary>
public interface IWalArchiveStatus
{
    /// <summary>The configured archived databases by component key (empty: archiving is not watched).</summary>
    IReadOnlyDictionary<string, ArchivedDatabase> Databases { get; }

    /// <summary>The allowed lag before a page (<see cref="PgBackRestOptions.AllowedLag"/>).</summary>
    TimeSpan AllowedLag { get; }

    /// <summary>The transfer allowance of the RPO by design (<see cref="PgBackRestOptions.ArchiveTransferAllowance"/>).</summary>
    TimeSpan TransferAllowance { get; }

    /// <summary>Each configured database, measured now. Never throws for a database that cannot be read (its state says why).</summary>
    Task<IReadOnlyList<WalArchiveState>> MeasureAsync(CancellationToken cancellationToken);
}

internal sealed class WalArchiveStatus(IPgBackRest pgBackRest, IOptions<PgBackRestOptions> options, TimeProvider clock, ILogger<WalArchiveStatus> logger) : IWalArchiveStatus
{
    public IReadOnlyDictionary<string, ArchivedDatabase> Databases => options.Value.Archiving;

    public TimeSpan AllowedLag => options.Value.AllowedLag;

    public TimeSpan TransferAllowance => options.Value.ArchiveTransferAllowance;

    public async Task<IReadOnlyList<WalArchiveState>> MeasureAsync(CancellationToken cancellationToken)
    {
        var states = new List<WalArchiveState>();
        foreach (var (component, database) in options.Value.Archiving.OrderBy(d => d.Key, StringComparer.Ordinal))
        {
            try
            {
                var statistics = await pgBackRest.ArchiverStatisticsAsync(database.Container, cancellationToken);
                states.Add(new WalArchiveState(component, database.Container, database.Stanza, statistics, null, clock.GetUtcNow()));
            }
            catch (Exception e) when (e is PgBackRestException or DockerOperationException or FormatException or TimeoutException)
            {
                Log.ArchiveUnreadable(logger, component, database.Container, e.Message);
                states.Add(new WalArchiveState(component, database.Container, database.Stanza, null, e.Message, clock.GetUtcNow()));
            }
        }

        return states;
    }
}
