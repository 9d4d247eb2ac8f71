using DrWorkflows.Activities.PgBackRest;
using DrWorkflows.Server.Operations;

namespace DrWorkflows.Server.Tests.Operations;

/// <summary>The archive monitor pages once per episode when archiving stops, until a page is delivered, and says when it recovered.</summary>
public sealed class WalArchiveEpisodesTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1796480000);

    [Fact]
    public void A_failing_archive_command_pages_once_per_episode_until_delivered_and_the_recovery_is_paged_too()
    {
        var episodes = new WalArchiveEpisodes(TimeSpan.FromSeconds(90));
        Assert.Empty(episodes.Observe([Healthy(0)]));

        // archive_command fails after the last success at ...990: one page.
        var first = Assert.Single(episodes.Observe([Failing(10, failures: 1)]));
        Assert.False(first.Recovery);
        Assert.Equal("wal-archiving:postgres-main:1796479990000", first.Key);
        Assert.Equal("WAL archiving stopped for postgres-main (pg)", first.Subject);
        Assert.Contains("archive_command fails on pg: 1 failure(s)", first.Text, StringComparison.Ordinal);
        Assert.Contains("docs/operations.md, \"WAL archiving stopped\"", first.Text, StringComparison.Ordinal);

        // Not delivered (no channel took it): asked for again, under the same key; then delivered: not again.
        var again = Assert.Single(episodes.Observe([Failing(20, failures: 4)]));
        Assert.Equal(first.Key, again.Key);
        Assert.Contains("Now: archive_command fails on pg: 4 failure(s)", again.Text, StringComparison.Ordinal);
        episodes.Delivered(again);
        Assert.Empty(episodes.Observe([Failing(30, failures: 7)]));
        Assert.Empty(episodes.Observe([Failing(40, failures: 9)]));
        Assert.Equal(["postgres-main"], episodes.Open);

        // Archiving works again: one recovery page, then the episode is over.
        var recovered = Assert.Single(episodes.Observe([Healthy(50)]));
        Assert.True(recovered.Recovery);
        Assert.Equal(first.Key + ":recovered", recovered.Key);
        Assert.Contains("works again", recovered.Text, StringComparison.Ordinal);
        Assert.Contains("The episode lasted 40 s", recovered.Text, StringComparison.Ordinal);
        episodes.Delivered(recovered);
        Assert.Empty(episodes.Open);
        Assert.Empty(episodes.Observe([Healthy(60)]));

        // A new stop is a new episode (a new last success, a new key).
        var second = Assert.Single(episodes.Observe([Failing(70, failures: 10, lastArchived: 1796480055)]));
        Assert.NotEqual(first.Key, second.Key);
    }

    [Fact]
    public void An_episode_never_delivered_ends_quietly_and_lag_or_an_unreadable_server_is_an_episode_too()
    {
        var episodes = new WalArchiveEpisodes(TimeSpan.FromSeconds(90));
        Assert.Single(episodes.Observe([Failing(10, failures: 1)]));
        Assert.Empty(episodes.Observe([Healthy(20)])); // nobody was told it stopped, so nobody is told it recovered
        Assert.Empty(episodes.Open);

        var lagging = new WalArchiveState("postgres-main", "pg", "main", ArchiverStatistics.Parse("on|60|16777216|000000010000000000000003|1796479800|0|||0/4000060|1796480000"), null, Now);
        Assert.Contains("more than the allowed lag of 90 s", Assert.Single(episodes.Observe([lagging])).Text, StringComparison.Ordinal);

        var other = new WalArchiveEpisodes(TimeSpan.FromSeconds(90));
        var page = Assert.Single(other.Observe([new WalArchiveState("postgres-ai", "ai", "ai", null, "There is no container 'ai'", Now)]));
        Assert.Contains("could not be measured: There is no container 'ai'", page.Text, StringComparison.Ordinal);
        Assert.Contains("exposure now: unknown", page.Text, StringComparison.Ordinal);
    }

    private static WalArchiveState Healthy(int at) =>
        new("postgres-main", "pg", "main", ArchiverStatistics.Parse($"on|5|16777216|000000010000000000000005|{1796479990 + at}|0|||0/6000000|{1796480000 + at}"), null, Now.AddSeconds(at));

    private static WalArchiveState Failing(int at, int failures, long lastArchived = 1796479990) =>
        new("postgres-main", "pg", "main", ArchiverStatistics.Parse($"on|5|16777216|000000010000000000000003|{lastArchived}|{failures}|000000010000000000000004|{1796480000 + at - 1}|0/5000060|{1796480000 + at}"), null, Now.AddSeconds(at));
}
