using DrWorkflows.Core.Persistence;

namespace DrWorkflows.Persistence.Tests;

/// <summary>The contract of the throwaway-resource ledger (migration 0002), on every store.</summary>
public abstract partial class StoreContractTests
{
    [Fact]
    public async Task Throwaway_RecordThenFind_RoundTripsEveryField()
    {
        var resource = new ThrowawayResource
        {
            Id = "r-1",
            Kind = "postgres-database",
            Name = "drw_verify_shop_ab12cd34",
            Location = "verify",
            Host = null,
            Description = "throwaway database drw_verify_shop_ab12cd34 on PostgreSQL server 'verify' (127.0.0.1:5432) — é",
            InstanceId = "run-1",
            ExecutionId = "exec-1",
            ActivityId = "verify1",
            ActivityType = "DrWorkflows.VerifyLatestBackup",
            Attempt = 2,
            HolderId = "holder-a",
            NodeId = "node-a",
            RecordedAt = new DateTimeOffset(2026, 11, 26, 10, 30, 15, 456, TimeSpan.FromHours(2)).AddTicks(7),
            ClaimedBy = "janitor-x",
            ClaimedUntil = T0.AddMinutes(5),
            FailedRemovals = 3,
            LastError = "server unreachable",
        };

        await Throwaways.RecordAsync(resource, Ct);
        var found = await Throwaways.FindAsync("r-1", Ct);

        Assert.Equal(resource with { RecordedAt = new DateTimeOffset(2026, 11, 26, 8, 30, 15, 456, TimeSpan.Zero) }, found);
        Assert.Null(await Throwaways.FindAsync("r-404", Ct));
        var file = Live("r-2", "run-1", T0) with { Kind = "file", Host = "orchestrator-1", Attempt = null, ExecutionId = null, ActivityId = null, ActivityType = null };
        await Throwaways.RecordAsync(file, Ct);
        Assert.Equal(file, await Throwaways.FindAsync("r-2", Ct));
    }

    [Fact]
    public async Task Throwaway_RecordingAnIdTwice_Throws_AndKeepsTheFirst()
    {
        await Throwaways.RecordAsync(Live("dup", "run-1", T0), Ct);

        await Assert.ThrowsAnyAsync<Exception>(() => Throwaways.RecordAsync(Live("dup", "run-2", T0) with { Name = "other" }, Ct));

        Assert.Equal("run-1", (await Throwaways.FindAsync("dup", Ct))?.InstanceId);
    }

    [Fact]
    public async Task Throwaway_List_FiltersByRunStateAndJournaled_NewestFirst_WithALimit()
    {
        await Throwaways.RecordAsync(Live("a", "run-1", T0), Ct);
        await Throwaways.RecordAsync(Live("b", "run-1", T0.AddSeconds(1)), Ct);
        await Throwaways.RecordAsync(Live("c", "run-2", T0.AddSeconds(2)), Ct);
        await Throwaways.RecordAsync(Live("d", null, T0.AddSeconds(3)), Ct);
        Assert.True(await Throwaways.EndAsync("b", ThrowawayState.Removed, T0.AddMinutes(1), "janitor on node-a", "its run ended", Ct));
        Assert.True(await Throwaways.EndAsync("c", ThrowawayState.Released, T0.AddMinutes(1), "step", null, Ct));
        await Throwaways.SetJournaledAsync("c", Ct);

        Assert.Equal(["d", "c", "b", "a"], Ids(await Throwaways.ListAsync(new ThrowawayQuery(), Ct)));
        Assert.Equal(["b", "a"], Ids(await Throwaways.ListAsync(new ThrowawayQuery(InstanceId: "run-1"), Ct)));
        Assert.Equal(["d", "a"], Ids(await Throwaways.ListAsync(new ThrowawayQuery(State: ThrowawayState.Live), Ct)));
        Assert.Equal(["b"], Ids(await Throwaways.ListAsync(new ThrowawayQuery(State: ThrowawayState.Removed, Journaled: false), Ct)));
        Assert.Equal(["c"], Ids(await Throwaways.ListAsync(new ThrowawayQuery(Journaled: true), Ct)));
        Assert.Equal(["d", "c"], Ids(await Throwaways.ListAsync(new ThrowawayQuery(Take: 2), Ct)));
        Assert.Empty(await Throwaways.ListAsync(new ThrowawayQuery(InstanceId: "run-9"), Ct));
    }

    [Fact]
    public async Task Throwaway_End_OnlyFromLive_RecordsWhoAndWhy_AndClearsTheClaim()
    {
        await Throwaways.RecordAsync(Live("x", "run-1", T0), Ct);
        Assert.True(await Throwaways.TryClaimAsync("x", "janitor-a", T0, T0.AddMinutes(5), Ct));

        Assert.True(await Throwaways.EndAsync("x", ThrowawayState.Removed, T0.AddSeconds(30), "janitor on node-a", "attempt 1 was interrupted", Ct));
        Assert.False(await Throwaways.EndAsync("x", ThrowawayState.Released, T0.AddSeconds(40), "step", null, Ct));
        Assert.False(await Throwaways.EndAsync("missing", ThrowawayState.Removed, T0, "janitor", null, Ct));

        var ended = (await Throwaways.FindAsync("x", Ct))!;
        Assert.Equal((ThrowawayState.Removed, T0.AddSeconds(30), "janitor on node-a", "attempt 1 was interrupted"), (ended.State, ended.EndedAt, ended.EndedBy, ended.Reason));
        Assert.Null(ended.ClaimedBy);
        Assert.Null(ended.ClaimedUntil);
        Assert.False(await Throwaways.TryClaimAsync("x", "janitor-b", T0.AddHours(1), T0.AddHours(2), Ct)); // never claim an ended one
    }

    [Fact]
    public async Task Throwaway_Claim_IsExclusiveUntilItExpires_TheHolderMayRenewIt()
    {
        await Throwaways.RecordAsync(Live("y", "run-1", T0), Ct);

        Assert.True(await Throwaways.TryClaimAsync("y", "janitor-a", T0, T0.AddMinutes(5), Ct));
        Assert.False(await Throwaways.TryClaimAsync("y", "janitor-b", T0.AddMinutes(1), T0.AddMinutes(6), Ct));
        Assert.True(await Throwaways.TryClaimAsync("y", "janitor-a", T0.AddMinutes(1), T0.AddMinutes(6), Ct));
        Assert.True(await Throwaways.TryClaimAsync("y", "janitor-b", T0.AddMinutes(6), T0.AddMinutes(11), Ct));
        Assert.Equal(("janitor-b", T0.AddMinutes(11)), ((await Throwaways.FindAsync("y", Ct))!.ClaimedBy, (await Throwaways.FindAsync("y", Ct))!.ClaimedUntil));
        Assert.False(await Throwaways.TryClaimAsync("missing", "janitor-a", T0, T0.AddMinutes(5), Ct));
    }

    [Fact]
    public async Task Throwaway_Failure_CountsAndKeepsTheError_StaysLive_AndFreesTheClaim()
    {
        await Throwaways.RecordAsync(Live("z", "run-1", T0), Ct);
        Assert.True(await Throwaways.TryClaimAsync("z", "janitor-a", T0, T0.AddMinutes(5), Ct));

        await Throwaways.RecordFailureAsync("z", "first", Ct);
        await Throwaways.RecordFailureAsync("z", "Docker engine unreachable", Ct);

        var failed = (await Throwaways.FindAsync("z", Ct))!;
        Assert.Equal((ThrowawayState.Live, 2, "Docker engine unreachable", (string?)null), (failed.State, failed.FailedRemovals, failed.LastError, failed.ClaimedBy));
        Assert.True(await Throwaways.TryClaimAsync("z", "janitor-b", T0.AddSeconds(1), T0.AddMinutes(5), Ct));
    }

    [Fact]
    public async Task Throwaway_Purge_DeletesOnlyEndedRowsOlderThanTheCutoff()
    {
        await Throwaways.RecordAsync(Live("old", "run-1", T0), Ct);
        await Throwaways.RecordAsync(Live("recent", "run-1", T0), Ct);
        await Throwaways.RecordAsync(Live("live", "run-1", T0.AddDays(-400)), Ct);
        await Throwaways.EndAsync("old", ThrowawayState.Released, T0.AddDays(1), "step", null, Ct);
        await Throwaways.EndAsync("recent", ThrowawayState.Removed, T0.AddDays(40), "janitor", "its run ended", Ct);

        Assert.Equal(1, await Throwaways.PurgeAsync(T0.AddDays(30), Ct));

        Assert.Equal(["recent", "live"], Ids(await Throwaways.ListAsync(new ThrowawayQuery(), Ct)));
    }

    [Fact]
    public async Task Throwaway_Holders_HeartbeatInsertsThenRenewsSeenAt_AndDeleteRemovesThem()
    {
        var holder = new ThrowawayHolder("h-1", "node-a", "orchestrator-1", "pid:[4026531836]", 4242, T0.AddTicks(5), T0);
        await Throwaways.HeartbeatAsync(holder, Ct);
        await Throwaways.HeartbeatAsync(new ThrowawayHolder("h-2", "node-b", "orchestrator-2", null, 7, T0.AddSeconds(1), T0.AddSeconds(1)), Ct);
        await Throwaways.HeartbeatAsync(holder with { SeenAt = T0.AddSeconds(15), Pid = 1 }, Ct);

        var holders = await Throwaways.ListHoldersAsync(Ct);
        Assert.Equal(["h-1", "h-2"], holders.Select(h => h.Id));
        Assert.Equal(holder with { StartedAt = T0, SeenAt = T0.AddSeconds(15) }, holders[0]); // only seen_at is renewed

        Assert.Equal(1, await Throwaways.DeleteHoldersAsync(["h-1", "h-404"], Ct));
        Assert.Equal(["h-2"], (await Throwaways.ListHoldersAsync(Ct)).Select(h => h.Id));
        Assert.Equal(0, await Throwaways.DeleteHoldersAsync([], Ct));
    }

    [Fact]
    public async Task Throwaway_ConcurrentClaimsFromTwoNodes_ExactlyOneWins()
    {
        var second = await OpenAsync();
        for (var round = 0; round < 5; round++)
        {
            var id = $"race-{round}";
            await Throwaways.RecordAsync(Live(id, "run-1", T0), Ct);
            using var start = new ManualResetEventSlim();
            var claims = Enumerable.Range(0, 12).Select(i => Task.Run(
                async () =>
                {
                    start.Wait(Ct);
                    var store = i % 2 == 0 ? Throwaways : second.Throwaways;
                    return await store.TryClaimAsync(id, $"janitor-{i}", T0, T0.AddMinutes(5), Ct);
                },
                Ct)).ToList();
            start.Set();

            var results = await Task.WhenAll(claims);

            Assert.Equal(1, results.Count(won => won));
        }

        Assert.Equal(5, (await second.Throwaways.ListAsync(new ThrowawayQuery(State: ThrowawayState.Live), Ct)).Count);
    }

    private static ThrowawayResource Live(string id, string? instanceId, DateTimeOffset recordedAt) => new()
    {
        Id = id,
        Kind = "directory",
        Name = $"/tmp/drw-{id}",
        Host = "orchestrator-1",
        InstanceId = instanceId,
        ExecutionId = instanceId is null ? null : "exec-1",
        ActivityId = instanceId is null ? null : "step1",
        ActivityType = instanceId is null ? null : "DrWorkflows.RehearseRestore",
        Attempt = instanceId is null ? null : 1,
        HolderId = "holder-a",
        NodeId = "node-a",
        RecordedAt = recordedAt,
    };

    private static string[] Ids(IReadOnlyList<ThrowawayResource> resources) => [.. resources.Select(r => r.Id)];
}
