using System.Globalization;
using System.Text;
using DrWorkflows.Activities.Docker;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.PgBackRest;

/// <summary>
/// A run of canaries written into a production server: one row a second into <c>public.drw_rpo_canary</c> of
/// <see cref="Database"/>, then the failure point, all in the server's own clock. <see cref="ArchivedThroughLsn"/> is
/// the end of the last WAL segment archived at the failure point: a canary whose row lies at or after it was not
/// in the repositories when the failure came, whatever was archived later.
/// </summary>
public sealed record CanaryRun
{
    public string Component { get; init; } = string.Empty;

    public string Container { get; init; } = string.Empty;

    public string Stanza { get; init; } = "main";

    public string Database { get; init; } = "postgres";

    /// <summary>Identifies this run's rows (the workflow instance and activity).</summary>
    public string Run { get; init; } = string.Empty;

    /// <summary>Canaries written (one a second).</summary>
    public int Written { get; init; }

    public DateTimeOffset? FirstWrittenAt { get; init; }

    /// <summary>The newest canary written before the failure point.</summary>
    public DateTimeOffset? LastWrittenAt { get; init; }

    /// <summary>The simulated failure: the server's clock right after the last canary; nothing after it counts.</summary>
    public DateTimeOffset? FailurePoint { get; init; }

    /// <summary>pg_stat_archiver's last archived WAL at the failure point (null: none was ever archived).</summary>
    public string? LastArchivedWal { get; init; }

    /// <summary>End of <see cref="LastArchivedWal"/> as an LSN (<c>0/3000000</c>); null when nothing was archived or it was not a WAL segment.</summary>
    public string? ArchivedThroughLsn { get; init; }

    /// <summary>Why the canaries could not be written; null when they were.</summary>
    public string? Problem { get; init; }
}

/// <summary>
/// The RPO a restore really achieved, measured with canaries: the failure point minus the newest canary present in a
/// copy restored with pgBackRest to <c>latest</c>. <see cref="Rpo"/> is null when no canary made it into the copy (or
/// the copy could not be made): an RPO that was not achieved.
/// </summary>
public sealed record CanaryRpoMeasurement
{
    public string Component { get; init; } = string.Empty;

    public DateTimeOffset? FailurePoint { get; init; }

    /// <summary>The newest canary present in the restored copy that was written before the failure point and archived by then.</summary>
    public DateTimeOffset? NewestCanaryAt { get; init; }

    /// <summary><see cref="FailurePoint"/> − <see cref="NewestCanaryAt"/>; null when no canary was restored.</summary>
    public TimeSpan? Rpo { get; init; }

    public int Written { get; init; }

    /// <summary>Canaries of this run in the restored copy that count (written by the failure point and archived by then).</summary>
    public int Counted { get; init; }

    /// <summary>Canaries of this run in the restored copy that do not count (written, or archived, after the failure point).</summary>
    public int NotCounted { get; init; }

    /// <summary>How it was measured (restore, repository, backup).</summary>
    public string? Method { get; init; }

    public IReadOnlyList<string> Problems { get; init; } = [];
}

/// <summary>Writes RPO canaries into a production server and reads them back from a pgBackRest restore.</summary>
public interface IRpoCanary
{
    /// <summary>
    /// Creates <c>public.drw_rpo_canary</c> in the database when missing, removes its rows older than 30 days, writes one
    /// row a second for <paramref name="duration"/>, and records the failure point and what was archived by then. It
    /// writes to that table only. Throws <see cref="PgBackRestException"/> when the server cannot be written.
    /// </summary>
    Task<CanaryRun> WriteAsync(CanaryRun request, TimeSpan duration, CancellationToken cancellationToken);

    /// <summary>
    /// Restores the stanza with pgBackRest to <c>latest</c> into a throwaway (in the ledger, removed at the end; never
    /// over production) and measures the RPO from the newest canary of <paramref name="run"/> present in it.
    /// </summary>
    Task<CanaryRpoMeasurement> MeasureAsync(CanaryRun run, CancellationToken cancellationToken);
}

internal sealed class RpoCanary(IDockerService docker, IPgBackRest pgBackRest, IOptions<PgBackRestOptions> options, ILogger<RpoCanary> logger) : IRpoCanary
{
    internal const string Table = "public.drw_rpo_canary";

    public async Task<CanaryRun> WriteAsync(CanaryRun request, TimeSpan duration, CancellationToken cancellationToken)
    {
        var seconds = (int)Math.Ceiling(duration.TotalSeconds);
        var run = Literal(request.Run);
        var script = new StringBuilder();
        script.AppendLine($"CREATE TABLE IF NOT EXISTS {Table} (id bigserial PRIMARY KEY, run text NOT NULL, written_at timestamptz NOT NULL DEFAULT clock_timestamp(), lsn pg_lsn NOT NULL DEFAULT pg_current_wal_insert_lsn());")
            .AppendLine($"DELETE FROM {Table} WHERE written_at < clock_timestamp() - interval '30 days';");
        for (var i = 0; i < seconds; i++)
        {
            script.AppendLine($"INSERT INTO {Table} (run) VALUES ({run});");
            if (i < seconds - 1)
                script.AppendLine("SELECT pg_sleep(1);");
        }

        // The failure point: the server's clock after the last canary committed, and what was archived by then.
        script.AppendLine($"SELECT concat_ws('|', 'failure', extract(epoch FROM clock_timestamp())::text, coalesce(a.last_archived_wal, ''), (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'), "
            + $"(SELECT count(*) FROM {Table} WHERE run = {run})::text, coalesce((SELECT extract(epoch FROM min(written_at))::text FROM {Table} WHERE run = {run}), ''), "
            + $"coalesce((SELECT extract(epoch FROM max(written_at))::text FROM {Table} WHERE run = {run}), '')) FROM pg_stat_archiver a;");
        Log.CanariesWriting(logger, request.Container, request.Database, seconds);
        var result = await docker.ExecAsync(request.Container, ["psql", "-h", options.Value.SocketDirectory, "-U", "postgres", "-d", request.Database, "-XtAq", "-v", "ON_ERROR_STOP=1"],
            new ExecOptions { User = "postgres", StandardInput = script.ToString(), Timeout = duration + TimeSpan.FromMinutes(2) }, cancellationToken);
        if (result.ExitCode != 0)
            throw new PgBackRestException(PgBackRestErrorCodes.CommandFailed, $"Writing RPO canaries into {request.Database} in container '{request.Container}' failed (exit {result.ExitCode}): {LastLine(result.StandardError)}");
        var line = result.StandardOutput.Split('\n', StringSplitOptions.TrimEntries).LastOrDefault(l => l.StartsWith("failure|", StringComparison.Ordinal))
            ?? throw new PgBackRestException(PgBackRestErrorCodes.CommandFailed, $"Writing RPO canaries into {request.Database} in container '{request.Container}' printed no failure point.");
        var f = line.Split('|');
        var wal = f[2].Length > 0 ? f[2] : null;
        var written = request with
        {
            FailurePoint = Epoch(f[1]),
            LastArchivedWal = wal,
            ArchivedThroughLsn = SegmentEnd(wal, long.Parse(f[3], CultureInfo.InvariantCulture)),
            Written = int.Parse(f[4], CultureInfo.InvariantCulture),
            FirstWrittenAt = f[5].Length > 0 ? Epoch(f[5]) : null,
            LastWrittenAt = f[6].Length > 0 ? Epoch(f[6]) : null,
        };
        Log.CanariesWritten(logger, request.Container, written.Written, written.FailurePoint, wal ?? "(none)");
        return written;
    }

    public async Task<CanaryRpoMeasurement> MeasureAsync(CanaryRun run, CancellationToken cancellationToken)
    {
        var measurement = new CanaryRpoMeasurement { Component = run.Component, FailurePoint = run.FailurePoint, Written = run.Written };
        if (run.Problem is { } problem || run.FailurePoint is null)
            throw new ArgumentException($"No canary was written: {run.Problem ?? "no failure point"}", nameof(run));
        if (run.LastArchivedWal is null)
            return measurement with { Problems = [$"Nothing had been archived from {run.Container} at the failure point (pg_stat_archiver is empty): a restore then would recover no canary."] };

        var failure = run.FailurePoint.Value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture) + "+00";
        var bound = run.ArchivedThroughLsn is { } lsn ? $" AND lsn < '{lsn}'::pg_lsn" : string.Empty;
        string[]? row = null;
        var exists = false;
        var restored = await pgBackRest.RestoreAsync(new PointInTimeRestoreRequest
        {
            Stanza = run.Stanza,
            SourceContainer = run.Container,
            NameHint = $"{run.Container}-canary",
            Throwaway = true,
            Probe = async (query, ct) =>
            {
                exists = (await query(run.Database, $"SELECT to_regclass('{Table}') IS NOT NULL", ct)).SingleOrDefault() == "t";
                if (exists)
                {
                    row = (await query(run.Database, $"SELECT concat_ws('|', count(*) FILTER (WHERE written_at <= '{failure}'{bound}), count(*) FILTER (WHERE NOT (written_at <= '{failure}'{bound})), "
                        + $"coalesce(extract(epoch FROM max(written_at) FILTER (WHERE written_at <= '{failure}'{bound}))::text, '')) FROM {Table} WHERE run = {Literal(run.Run)}", ct)).Single().Split('|');
                }
            },
        }, cancellationToken);

        var method = $"canaries restored with pgBackRest to latest from repository {restored.Repository} (backup {restored.BackupLabel}) into a throwaway server, removed afterwards; "
            + (run.ArchivedThroughLsn is { } end ? $"counted: written by the failure point and archived by then (before {end}, the end of {run.LastArchivedWal})" : $"counted: written by the failure point (the last archived file {run.LastArchivedWal} is not a WAL segment, so rows archived after the failure point could not be told apart)");
        if (!exists || row is null)
            return measurement with { Method = method, Problems = [$"The restored copy has no canary table ({Table} in {run.Database}): no canary made it into the archive."] };
        var counted = int.Parse(row[0], CultureInfo.InvariantCulture);
        var notCounted = int.Parse(row[1], CultureInfo.InvariantCulture);
        measurement = measurement with { Counted = counted, NotCounted = notCounted, Method = method };
        if (row[2].Length == 0)
            return measurement with { Problems = [$"The restored copy holds none of the {run.Written} canaries written before the failure point{(notCounted > 0 ? $" ({notCounted} archived only after it do not count)" : string.Empty)}."] };
        var newest = Epoch(row[2]);
        var rpo = run.FailurePoint.Value - newest;
        Log.CanaryRpoMeasured(logger, run.Container, rpo.TotalSeconds, counted, run.Written);
        return measurement with { NewestCanaryAt = newest, Rpo = rpo < TimeSpan.Zero ? TimeSpan.Zero : rpo };
    }

    /// <summary>The end of a WAL segment as a <c>pg_lsn</c> literal (<c>0/4000000</c>); null when the name is not a segment.</summary>
    internal static string? SegmentEnd(string? wal, long segmentBytes) =>
        ArchiverStatistics.SegmentEnd(wal, segmentBytes) is { } end ? string.Create(CultureInfo.InvariantCulture, $"{end >> 32:X}/{end & 0xFFFF_FFFF:X}") : null;

    private static string Literal(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

    private static DateTimeOffset Epoch(string text) =>
        DateTimeOffset.UnixEpoch.AddTicks((long)Math.Round(double.Parse(text, CultureInfo.InvariantCulture) * TimeSpan.TicksPerSecond));

    private static string LastLine(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "(no message)";
}
