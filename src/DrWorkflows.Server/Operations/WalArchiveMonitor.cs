using System.Globalization;
using DrWorkflows.Activities.PgBackRest;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Server.Operations;

/// <summary>A page about one archived database: its archiving stopped, or it works again after a page.</summary>
public sealed record WalArchivePage(string Component, string Key, string Subject, string Text, bool Recovery);

/// <summary>
/// Turns successive measurements of the archived databases into pages, once per episode: an episode opens at the
/// first measurement that finds a problem (archive_command failing, archive_mode off, the last archived WAL older
/// than the allowed lag while newer WAL waits, or the server unreadable), is paged until a page was delivered, and
/// closes at the first measurement without a problem, with a recovery page when the episode had been paged.
/// The episode's key comes from the last successful archive before it, so every node pages under the same key
/// (the pager sends a key once per channel).
/// </summary>
public sealed class WalArchiveEpisodes(TimeSpan allowedLag)
{
    private readonly Dictionary<string, Episode> open = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The components with an open episode (trouble seen and not yet over).</summary>
    public IReadOnlyCollection<string> Open => open.Keys;

    /// <summary>The pages this measurement calls for (a problem not yet delivered, or a paged episode that ended).</summary>
    public IReadOnlyList<WalArchivePage> Observe(IReadOnlyList<WalArchiveState> states)
    {
        var pages = new List<WalArchivePage>();
        foreach (var state in states)
        {
            var problem = state.Problem(allowedLag);
            open.TryGetValue(state.Component, out var episode);
            if (problem is not null)
            {
                if (episode is null)
                {
                    episode = new Episode("wal-archiving:" + state.EpisodeKey, state.MeasuredAt, problem);
                    open[state.Component] = episode;
                }

                if (!episode.Paged)
                {
                    pages.Add(new WalArchivePage(state.Component, episode.Key, $"WAL archiving stopped for {state.Component} ({state.Container})",
                        $"Since {Utc(episode.Since)}: {episode.FirstProblem}.\n"
                        + (problem == episode.FirstProblem ? string.Empty : $"Now: {problem}.\n")
                        + $"Until it is fixed, every transaction committed on {state.Container} after the last archived WAL is lost if the server is lost "
                        + $"(exposure now: {(state.Exposure is { } e ? WalArchiveState.Seconds(e) : "unknown")}; the RPO by design is {WalArchiveState.Seconds(allowedLag)}).\n"
                        + $"What to do: docs/operations.md, \"WAL archiving stopped\" (pgbackrest --stanza={state.Stanza} check in {state.Container}; the server's log shows archive_command's error).",
                        false));
                }
            }
            else if (episode is not null)
            {
                if (episode.Paged)
                {
                    pages.Add(new WalArchivePage(state.Component, episode.Key + ":recovered", $"WAL archiving works again for {state.Component} ({state.Container})",
                        $"The archiving that stopped at {Utc(episode.Since)} ({episode.FirstProblem}) works again: measured at {Utc(state.MeasuredAt)}, "
                        + $"the last WAL archived at {Utc(state.Statistics?.LastArchivedAt)}, exposure {(state.Exposure is { } e ? WalArchiveState.Seconds(e) : "unknown")}. "
                        + "The episode lasted " + WalArchiveState.Seconds(state.MeasuredAt - episode.Since) + ". Take a new base backup if WAL may be missing from the archive (pgbackrest check tells).",
                        true));
                }
                else
                {
                    open.Remove(state.Component);
                }
            }
        }

        return pages;
    }

    /// <summary>Records that on-call has <paramref name="page"/> (pages not delivered are asked for again at the next measurement).</summary>
    public void Delivered(WalArchivePage page)
    {
        if (!open.TryGetValue(page.Component, out var episode))
            return;
        if (page.Recovery)
            open.Remove(page.Component);
        else if (page.Key == episode.Key)
            episode.Paged = true;
    }

    private static string Utc(DateTimeOffset? at) => at is { } value ? value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " UTC" : "never";

    private sealed class Episode(string key, DateTimeOffset since, string firstProblem)
    {
        public string Key { get; } = key;

        public DateTimeOffset Since { get; } = since;

        public string FirstProblem { get; } = firstProblem;

        public bool Paged { get; set; }
    }
}

/// <summary>
/// Measures every archived database (<c>PgBackRest:Archiving</c>) every <c>PgBackRest:ArchiveMonitorInterval</c>
/// (at most archive_timeout) and pages on-call once per episode when its archiving stops, and again when it works
/// again. Does nothing when no database is configured.
/// </summary>
internal sealed partial class WalArchiveMonitor(
    IWalArchiveStatus status, OnCallPager pager, IOptions<PgBackRestOptions> options, TimeProvider clock, ILogger<WalArchiveMonitor> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (status.Databases.Count == 0)
            return;
        var episodes = new WalArchiveEpisodes(status.AllowedLag);
        using var timer = new PeriodicTimer(options.Value.MonitorInterval, clock);
        do
        {
            try
            {
                await TickAsync(episodes, stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                TickFailed(logger, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    internal async Task TickAsync(WalArchiveEpisodes episodes, CancellationToken cancellationToken)
    {
        var states = await status.MeasureAsync(cancellationToken);
        foreach (var page in episodes.Observe(states))
        {
            var outcome = await pager.PageOnceAsync(page.Key, page.Subject, page.Text, cancellationToken);
            if (outcome.Delivered)
            {
                episodes.Delivered(page);
                Paged(logger, page.Subject, outcome.Describe());
            }
            else
            {
                NotPaged(logger, page.Subject, outcome.Describe());
            }
        }
    }

    [LoggerMessage(EventId = 45, Level = LogLevel.Warning, Message = "{Subject}: on-call {Outcome}")]
    private static partial void Paged(ILogger logger, string subject, string outcome);

    [LoggerMessage(EventId = 46, Level = LogLevel.Error, Message = "{Subject}: on-call NOT paged ({Outcome}); asked again at the next measurement")]
    private static partial void NotPaged(ILogger logger, string subject, string outcome);

    [LoggerMessage(EventId = 47, Level = LogLevel.Error, Message = "The WAL archive monitor's measurement failed: {Message}")]
    private static partial void TickFailed(ILogger logger, string message);
}
