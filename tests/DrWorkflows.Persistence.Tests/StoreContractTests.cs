using System.Text.Json;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Serialization;

namespace DrWorkflows.Persistence.Tests;

/// <summary>
/// The behaviour every store must have, written once against the store interfaces; the in-memory store of Core is
/// the reference, and each durable store derives this class. Each test gets a fresh, empty store.
/// </summary>
public abstract partial class StoreContractTests : IAsyncLifetime
{
    /// <summary>A fixed instant with milliseconds, the precision stores keep.</summary>
    protected static readonly DateTimeOffset T0 = new(2026, 11, 26, 8, 30, 15, 123, TimeSpan.Zero);

    private readonly List<StoreNode> nodes = [];
    private StoreNode? node;

    protected IWorkflowDefinitionStore Definitions => Node.Definitions;

    protected IWorkflowInstanceStore Instances => Node.Instances;

    protected IScheduleStore Schedules => Node.Schedules;

    protected IThrowawayResourceStore Throwaways => Node.Throwaways;

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    private StoreNode Node => node ?? throw new InvalidOperationException("The store was not opened.");

    /// <summary>
    /// Opens a node on this test's store: the first call creates a new, empty store; later calls open another node
    /// (another store object, as another server process would) on the same data.
    /// </summary>
    protected abstract Task<StoreNode> OpenNodeAsync(bool first);

    public async ValueTask InitializeAsync() => node = await OpenAsync();

    public virtual async ValueTask DisposeAsync()
    {
        foreach (var opened in nodes)
            await opened.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    protected async Task<StoreNode> OpenAsync()
    {
        var opened = await OpenNodeAsync(nodes.Count == 0);
        nodes.Add(opened);
        return opened;
    }

    // ---- definitions ---------------------------------------------------------------------------------------------

    [Fact]
    public async Task Definition_SaveThenFindById_RoundTripsEveryField()
    {
        var definition = new StoredWorkflowDefinition
        {
            Id = "v-1",
            DefinitionId = "restore-db",
            Version = 3,
            Name = "Restore database",
            Description = "Restores the primary — from the latest backup",
            IsLatest = true,
            IsPublished = false,
            IsReadonly = true,
            UsableAsActivity = true,
            Origin = "file:workflows/restore-db.json",
            SourceCommit = "0123456789abcdef0123456789abcdef01234567",
            CreatedAt = new DateTimeOffset(2026, 11, 26, 10, 30, 15, 456, TimeSpan.FromHours(2)),
            Json = "{ \"definitionId\": \"restore-db\",\n  \"root\": {\"type\":\"Elsa.Flowchart\"}, \"x-layout\": [1, 2.50, \"é\"] }",
        };

        await Definitions.SaveAsync([definition], Ct);
        var found = await Definitions.FindByIdAsync("v-1", Ct);

        Assert.NotNull(found);
        Assert.Equal(definition, found);
        Assert.Equal(definition.CreatedAt.ToUnixTimeMilliseconds(), found.CreatedAt.ToUnixTimeMilliseconds());
        Assert.Equal(definition.Json, found.Json); // verbatim, whitespace and all
        Assert.Null(await Definitions.FindByIdAsync("v-unknown", Ct));
    }

    [Fact]
    public async Task Definition_Save_ReplacesAVersionWithTheSameId_InOneCall()
    {
        await Definitions.SaveAsync([Def("v1", "d", 1, "D", latest: true), Def("v2", "d", 2, "D")], Ct);

        await Definitions.SaveAsync([Def("v1", "d", 1, "D renamed", published: true), Def("v2", "d", 2, "D", latest: true)], Ct);

        var versions = await Definitions.ListVersionsAsync("d", Ct);
        Assert.Equal(["v1", "v2"], versions.Select(v => v.Id));
        Assert.Equal("D renamed", versions[0].Name);
        Assert.True(versions[0].IsPublished);
        Assert.False(versions[0].IsLatest);
        Assert.True(versions[1].IsLatest);
    }

    [Fact]
    public async Task Definition_Find_HonoursEachVersionOption()
    {
        await Definitions.SaveAsync(
            [
                Def("a1", "a", 1, "A", published: true),
                Def("a2", "a", 2, "A"),
                Def("a3", "a", 3, "A", latest: true),
                Def("b1", "b", 1, "B", latest: true, published: true),
                Def("b7", "b", 7, "B"),
            ],
            Ct);

        async Task<string?> Find(string definitionId, VersionOptions options) => (await Definitions.FindAsync(definitionId, options, Ct))?.Id;

        Assert.Equal("a3", await Find("a", VersionOptions.LatestVersion));
        Assert.Equal("a1", await Find("a", VersionOptions.PublishedVersion));
        Assert.Equal("a3", await Find("a", VersionOptions.LatestOrPublishedVersion));
        Assert.Equal("a3", await Find("a", VersionOptions.All));
        Assert.Equal("a2", await Find("a", VersionOptions.SpecificVersion(2)));
        Assert.Null(await Find("a", VersionOptions.SpecificVersion(9)));
        Assert.Null(await Find("a", new VersionOptions(Latest: true, Published: true, Version: null)));
        Assert.Equal("a3", await Find("a", default));
        Assert.Equal("b1", await Find("b", new VersionOptions(Latest: true, Published: true, Version: null)));
        Assert.Equal("b1", await Find("b", VersionOptions.PublishedVersion));
        Assert.Equal("b7", await Find("b", VersionOptions.All));
        Assert.Equal("b1", await Find("b", VersionOptions.LatestOrPublishedVersion));
        Assert.Null(await Find("c", VersionOptions.All));
    }

    [Fact]
    public async Task Definition_ListVersions_IsOrderedByVersion_AndOnlyThatDefinition()
    {
        await Definitions.SaveAsync([Def("x3", "x", 3, "X"), Def("x1", "x", 1, "X"), Def("y1", "y", 1, "Y"), Def("x2", "x", 2, "X")], Ct);

        Assert.Equal(["x1", "x2", "x3"], (await Definitions.ListVersionsAsync("x", Ct)).Select(d => d.Id));
        Assert.Empty(await Definitions.ListVersionsAsync("nope", Ct));
    }

    [Fact]
    public async Task Definition_List_OrdersByNameIgnoringCase_ThenDefinitionId_ThenVersion()
    {
        await Definitions.SaveAsync(
            [
                Def("1", "zeta", 1, "beta"),
                Def("2", "k2", 1, "Alpha"),
                Def("3", "k1", 2, "alpha"),
                Def("4", "k1", 1, "alpha"),
                Def("5", "anon", 1, null),
                Def("6", "g", 1, "alpha2"),
                Def("7", "h", 1, "B"),
            ],
            Ct);

        var page = await Definitions.ListAsync(new DefinitionQuery(VersionOptions.All), Ct);

        Assert.Equal(7, page.TotalCount);
        Assert.Equal(["5", "4", "3", "2", "6", "7", "1"], page.Items.Select(d => d.Id));
    }

    [Fact]
    public async Task Definition_List_FiltersByVersionsIdsUsabilityAndSearch_WithPaging()
    {
        await Definitions.SaveAsync(
            [
                Def("fo1", "failover", 1, "Failover Primary", published: true, usable: true),
                Def("fo2", "failover", 2, "Failover Primary", latest: true),
                Def("rb1", "restore-backup", 1, "Restore backup", latest: true, published: true),
                Def("dr1", "dr-drill", 1, "Quarterly drill", latest: true, published: true, usable: true),
                Def("ck1", "check", 1, null, latest: true),
            ],
            Ct);

        async Task<string> List(DefinitionQuery query)
        {
            var page = await Definitions.ListAsync(query, Ct);
            return $"{string.Join(' ', page.Items.Select(d => d.Id))} | {page.TotalCount}";
        }

        Assert.Equal("ck1 fo2 dr1 rb1 | 4", await List(new DefinitionQuery(VersionOptions.LatestVersion)));
        Assert.Equal("fo1 dr1 rb1 | 3", await List(new DefinitionQuery(VersionOptions.PublishedVersion)));
        Assert.Equal("ck1 fo1 fo2 dr1 rb1 | 5", await List(new DefinitionQuery(VersionOptions.LatestOrPublishedVersion)));
        Assert.Equal("fo1 fo2 | 2", await List(new DefinitionQuery(VersionOptions.All, DefinitionIds: ["failover", "missing"])));
        Assert.Equal(" | 0", await List(new DefinitionQuery(VersionOptions.All, DefinitionIds: [])));
        Assert.Equal("fo1 dr1 | 2", await List(new DefinitionQuery(VersionOptions.All, UsableAsActivity: true)));
        Assert.Equal("ck1 fo2 rb1 | 3", await List(new DefinitionQuery(VersionOptions.All, UsableAsActivity: false)));

        // Search: name or definition id, ignoring case.
        Assert.Equal("fo1 fo2 | 2", await List(new DefinitionQuery(VersionOptions.All, SearchTerm: "PRIMARY")));
        Assert.Equal("dr1 | 1", await List(new DefinitionQuery(VersionOptions.All, SearchTerm: "r-DR")));
        Assert.Equal("ck1 | 1", await List(new DefinitionQuery(VersionOptions.All, SearchTerm: "chec")));
        Assert.Equal("ck1 fo1 fo2 dr1 rb1 | 5", await List(new DefinitionQuery(VersionOptions.All, SearchTerm: "")));
        Assert.Equal(" | 0", await List(new DefinitionQuery(VersionOptions.All, SearchTerm: "%")));

        // Paging keeps the total.
        Assert.Equal("fo2 dr1 | 5", await List(new DefinitionQuery(VersionOptions.All, Skip: 2, Take: 2)));
        Assert.Equal("rb1 | 5", await List(new DefinitionQuery(VersionOptions.All, Skip: 4, Take: 2)));
        Assert.Equal(" | 5", await List(new DefinitionQuery(VersionOptions.All, Skip: 9, Take: 2)));
        Assert.Equal(" | 5", await List(new DefinitionQuery(VersionOptions.All, Take: 0)));

        // Filters combine.
        Assert.Equal("fo1 | 1", await List(new DefinitionQuery(VersionOptions.PublishedVersion, SearchTerm: "fail", UsableAsActivity: true)));
    }

    [Fact]
    public async Task Definition_Delete_RemovesAllVersionsOfOneDefinition_DeleteVersionRemovesOne()
    {
        await Definitions.SaveAsync([Def("p1", "p", 1, "P"), Def("p2", "p", 2, "P"), Def("q1", "q", 1, "Q"), Def("q2", "q", 2, "Q")], Ct);

        Assert.Equal(2, await Definitions.DeleteAsync("p", Ct));
        Assert.Equal(0, await Definitions.DeleteAsync("p", Ct));
        Assert.True(await Definitions.DeleteVersionAsync("q1", Ct));
        Assert.False(await Definitions.DeleteVersionAsync("q1", Ct));

        Assert.Empty(await Definitions.ListVersionsAsync("p", Ct));
        Assert.Equal(["q2"], (await Definitions.ListVersionsAsync("q", Ct)).Select(d => d.Id));
    }

    // ---- instances -----------------------------------------------------------------------------------------------

    [Fact]
    public async Task Instance_Create_SetsRevisionOne_AndGetReturnsTheSameState()
    {
        var state = NewState("i-1");
        state.Revision = 17; // ignored: a new run always starts at revision 1

        await Instances.CreateAsync(state, [Entry("i-1", 0, JournalEvents.WorkflowStarted)], Ct);

        Assert.Equal(1, state.Revision);
        var loaded = await Instances.GetAsync("i-1", Ct);
        Assert.NotNull(loaded);
        Assert.Equal(1, loaded.Revision);
        Assert.Equal(Serialize(state), Serialize(loaded));
        Assert.Null(await Instances.GetAsync("i-unknown", Ct));
    }

    [Fact]
    public async Task Instance_CreateTwice_Throws_AndKeepsTheFirst()
    {
        var first = NewState("dup");
        await Instances.CreateAsync(first, [], Ct);
        var second = NewState("dup");
        second.Name = "second";

        await Assert.ThrowsAsync<InstanceExistsException>(() => Instances.CreateAsync(second, [Entry("dup", 0)], Ct));

        Assert.Equal(first.Name, (await Instances.GetAsync("dup", Ct))!.Name);
        Assert.Equal(0, (await Instances.GetJournalAsync("dup", 0, 10, Ct)).TotalCount);
    }

    [Fact]
    public async Task Instance_Commit_IncrementsRevision_StoresStateAndAppendsJournal()
    {
        var state = NewState("c-1");
        await Instances.CreateAsync(state, [Entry("c-1", 0, JournalEvents.WorkflowStarted)], Ct);

        state.SubStatus = WorkflowSubStatus.Suspended;
        state.Variables["count"] = 4;
        state.UpdatedAt = T0.AddSeconds(1);
        await Instances.CommitAsync(state, [Entry("c-1", 1), Entry("c-1", 2, JournalEvents.Completed)], Ct);
        Assert.Equal(2, state.Revision);

        state.Status = WorkflowStatus.Finished;
        state.SubStatus = WorkflowSubStatus.Finished;
        state.FinishedAt = T0.AddSeconds(2);
        await Instances.CommitAsync(state, [], Ct);
        Assert.Equal(3, state.Revision);

        var loaded = await Instances.GetAsync("c-1", Ct);
        Assert.Equal(Serialize(state), Serialize(loaded!));
        Assert.Equal([0L, 1L, 2L], (await Instances.GetJournalAsync("c-1", 0, 100, Ct)).Items.Select(e => e.Sequence));
    }

    [Fact]
    public async Task Instance_CommitOnAStaleRevision_ThrowsConcurrency_AndChangesNothing()
    {
        var state = NewState("s-1");
        state.Bookmarks.Add(Mark("b1", "Gate", "k1"));
        await Instances.CreateAsync(state, [Entry("s-1", 0)], Ct);
        var stale = (await Instances.GetAsync("s-1", Ct))!;

        state.Bookmarks.Clear();
        await Instances.CommitAsync(state, [Entry("s-1", 1)], Ct);

        stale.Name = "stale";
        stale.Bookmarks.Add(Mark("b2", "Gate", "k2"));
        var error = await Assert.ThrowsAsync<ConcurrencyException>(() => Instances.CommitAsync(stale, [Entry("s-1", 2)], Ct));

        Assert.Equal("s-1", error.InstanceId);
        Assert.Equal(1, stale.Revision);
        var stored = (await Instances.GetAsync("s-1", Ct))!;
        Assert.Equal(2, stored.Revision);
        Assert.Equal(state.Name, stored.Name);
        Assert.Empty(await Instances.FindBookmarksAsync(new BookmarkQuery(InstanceId: "s-1"), Ct));
        Assert.Equal(2, (await Instances.GetJournalAsync("s-1", 0, 10, Ct)).TotalCount);
    }

    [Fact]
    public async Task Instance_CommitOfAnUnknownInstance_ThrowsConcurrency()
    {
        var state = NewState("ghost");
        state.Revision = 1;

        await Assert.ThrowsAsync<ConcurrencyException>(() => Instances.CommitAsync(state, [Entry("ghost", 0)], Ct));

        Assert.Null(await Instances.GetAsync("ghost", Ct));
    }

    [Fact]
    public async Task Instance_List_OrdersNewestFirst_AndSummarizes()
    {
        var a = NewState("a", createdAt: T0);
        var b = NewState("b", createdAt: T0.AddMinutes(1));
        var c = NewState("c", createdAt: T0.AddMinutes(1)); // same time as b: id breaks the tie, descending
        c.Status = WorkflowStatus.Finished;
        c.SubStatus = WorkflowSubStatus.Faulted;
        c.FinishedAt = new DateTimeOffset(2026, 11, 26, 11, 0, 0, 999, TimeSpan.FromHours(1));
        c.UpdatedAt = c.FinishedAt.Value;
        c.Incidents.Add(NewIncident("n1", resolution: null));
        c.Incidents.Add(NewIncident("n2", resolution: null));
        c.Incidents.Add(NewIncident("n3", IncidentResolution.Skip));
        foreach (var s in new[] { a, b, c })
            await Instances.CreateAsync(s, [], Ct);

        var page = await Instances.ListAsync(new InstanceQuery(), Ct);

        Assert.Equal(3, page.TotalCount);
        Assert.Equal(["c", "b", "a"], page.Items.Select(i => i.Id));
        var summary = page.Items[0];
        Assert.Equal(
            new WorkflowInstanceSummary(
                "c", c.DefinitionId, c.DefinitionVersionId, c.DefinitionVersion, c.Name, c.CorrelationId, WorkflowStatus.Finished,
                WorkflowSubStatus.Faulted, 2, c.CreatedAt, c.UpdatedAt, c.FinishedAt),
            summary);
        Assert.Null(page.Items[2].FinishedAt);
    }

    [Fact]
    public async Task Instance_List_HonoursEachFilter_AndPaging()
    {
        var s1 = NewState("run-1", "deploy", createdAt: T0.AddMinutes(1));
        var s2 = NewState("run-2", "restore", createdAt: T0.AddMinutes(2));
        s2.CorrelationId = "INC-42";
        s2.SubStatus = WorkflowSubStatus.Suspended;
        var s3 = NewState("run-3", "restore", createdAt: T0.AddMinutes(3));
        s3.ParentInstanceId = "run-2";
        s3.Name = "Child Restore";
        s3.Status = WorkflowStatus.Finished;
        s3.SubStatus = WorkflowSubStatus.Finished;
        var s4 = NewState("run-4", "drill", createdAt: T0.AddMinutes(4));
        s4.Incidents.Add(NewIncident("n1", resolution: null));
        var s5 = NewState("run-5", "drill", createdAt: T0.AddMinutes(5));
        s5.Incidents.Add(NewIncident("n2", IncidentResolution.Retry));
        foreach (var s in new[] { s1, s2, s3, s4, s5 })
            await Instances.CreateAsync(s, [], Ct);

        async Task<string> List(InstanceQuery query)
        {
            var page = await Instances.ListAsync(query, Ct);
            return $"{string.Join(' ', page.Items.Select(i => i.Id))} | {page.TotalCount}";
        }

        Assert.Equal("run-3 run-2 | 2", await List(new InstanceQuery(DefinitionId: "restore")));
        Assert.Equal("run-5 run-4 run-1 | 3", await List(new InstanceQuery(DefinitionIds: ["drill", "deploy"])));
        Assert.Equal(" | 0", await List(new InstanceQuery(DefinitionIds: [])));
        Assert.Equal("run-2 | 1", await List(new InstanceQuery(CorrelationId: "INC-42")));
        Assert.Equal("run-3 | 1", await List(new InstanceQuery(Status: WorkflowStatus.Finished)));
        Assert.Equal("run-5 run-4 run-2 run-1 | 4", await List(new InstanceQuery(Status: WorkflowStatus.Running)));
        Assert.Equal("run-3 run-2 | 2", await List(new InstanceQuery(SubStatuses: [WorkflowSubStatus.Suspended, WorkflowSubStatus.Finished])));
        Assert.Equal(" | 0", await List(new InstanceQuery(SubStatuses: [])));
        Assert.Equal("run-3 | 1", await List(new InstanceQuery(ParentInstanceId: "run-2")));
        Assert.Equal("run-4 | 1", await List(new InstanceQuery(HasIncidents: true)));
        Assert.Equal("run-5 run-3 run-2 run-1 | 4", await List(new InstanceQuery(HasIncidents: false)));

        // Search: id, name or correlation id, ignoring case.
        Assert.Equal("run-3 | 1", await List(new InstanceQuery(SearchTerm: "child")));
        Assert.Equal("run-2 | 1", await List(new InstanceQuery(SearchTerm: "inc-4")));
        Assert.Equal("run-4 | 1", await List(new InstanceQuery(SearchTerm: "RUN-4")));
        Assert.Equal("run-5 run-4 run-3 run-2 run-1 | 5", await List(new InstanceQuery(SearchTerm: "")));

        // Paging keeps the total; filters combine.
        Assert.Equal("run-4 run-3 | 5", await List(new InstanceQuery(Skip: 1, Take: 2)));
        Assert.Equal(" | 5", await List(new InstanceQuery(Skip: 5, Take: 2)));
        Assert.Equal("run-2 | 1", await List(new InstanceQuery(DefinitionId: "restore", Status: WorkflowStatus.Running, HasIncidents: false)));
    }

    [Fact]
    public async Task Instance_Delete_RemovesRunsWithTheirBookmarksJournalsAndLeases()
    {
        var keep = NewState("keep");
        keep.Bookmarks.Add(Mark("kb", "Gate", "shared"));
        var drop = NewState("drop");
        drop.Bookmarks.Add(Mark("db", "Gate", "shared"));
        drop.Bookmarks.Add(Mark("dt", "Elsa.Delay", resumeAt: T0));
        await Instances.CreateAsync(keep, [Entry("keep", 0)], Ct);
        await Instances.CreateAsync(drop, [Entry("drop", 0), Entry("drop", 1)], Ct);
        Assert.True(await Instances.TryAcquireLeaseAsync("drop", "node-a", T0, T0.AddMinutes(5), Ct));

        Assert.Equal(1, await Instances.DeleteAsync(["drop", "drop", "never-existed"], Ct));
        Assert.Equal(0, await Instances.DeleteAsync([], Ct));

        Assert.Null(await Instances.GetAsync("drop", Ct));
        Assert.NotNull(await Instances.GetAsync("keep", Ct));
        Assert.Equal(["keep"], (await Instances.FindBookmarksAsync(new BookmarkQuery(Name: "Gate"), Ct)).Select(b => b.InstanceId));
        Assert.Empty(await Instances.GetDueTimersAsync(T0.AddDays(1), 10, Ct));
        Assert.Equal(0, (await Instances.GetJournalAsync("drop", 0, 10, Ct)).TotalCount);
        Assert.Equal(1, (await Instances.GetJournalAsync("keep", 0, 10, Ct)).TotalCount);

        // The lease went with the run: another node may take the id at once.
        Assert.True(await Instances.TryAcquireLeaseAsync("drop", "node-b", T0, T0.AddMinutes(5), Ct));
    }

    // ---- journal -------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Journal_IsOrderedBySequence_Paged_AndRoundTripsEveryField()
    {
        var state = NewState("j");
        await Instances.CreateAsync(state, [Entry("j", 0, JournalEvents.WorkflowStarted), Entry("j", 1)], Ct);
        await Instances.CommitAsync(state, [Entry("j", 2), Entry("j", 3, JournalEvents.Completed)], Ct);
        var rich = Entry("j", 4, JournalEvents.Resumed, new DateTimeOffset(2026, 11, 26, 9, 0, 0, 7, TimeSpan.FromHours(-5)));
        rich.ParentExecutionId = "parent-x";
        rich.Payload = new JsonObject { ["decision"] = "approve", ["by"] = new JsonObject { ["user"] = "alice", ["channel"] = "slack" }, ["n"] = 1.5 };
        await Instances.CommitAsync(state, [rich], Ct);

        var all = await Instances.GetJournalAsync("j", 0, 100, Ct);
        Assert.Equal(5, all.TotalCount);
        Assert.Equal([0L, 1L, 2L, 3L, 4L], all.Items.Select(e => e.Sequence));
        Assert.Equal(Serialize(rich), Serialize(all.Items[4]));
        Assert.Equal(rich.Timestamp, all.Items[4].Timestamp);

        var page = await Instances.GetJournalAsync("j", 1, 2, Ct);
        Assert.Equal(5, page.TotalCount);
        Assert.Equal([1L, 2L], page.Items.Select(e => e.Sequence));
        Assert.Equal([], (await Instances.GetJournalAsync("j", 5, 2, Ct)).Items.Select(e => e.Sequence));

        var none = await Instances.GetJournalAsync("unknown", 0, 10, Ct);
        Assert.Empty(none.Items);
        Assert.Equal(0, none.TotalCount);
    }

    // ---- bookmarks -----------------------------------------------------------------------------------------------

    [Fact]
    public async Task Bookmarks_AreFoundByNameKeyInstanceAndId_AndReplacedOnCommit()
    {
        var one = NewState("one");
        one.Bookmarks.Add(Mark("g1", "DrWorkflows.ApprovalGate", "approval-1"));
        one.Bookmarks.Add(Mark("e1", "Event", "evt"));
        var two = NewState("two");
        two.Bookmarks.Add(Mark("g1", "DrWorkflows.ApprovalGate", "approval-2")); // same bookmark id in another run
        await Instances.CreateAsync(one, [], Ct);
        await Instances.CreateAsync(two, [], Ct);

        async Task<string[]> Find(BookmarkQuery query) =>
            [.. (await Instances.FindBookmarksAsync(query, Ct)).Select(b => $"{b.InstanceId}/{b.Id}").Order(StringComparer.Ordinal)];

        Assert.Equal(["one/g1", "two/g1"], await Find(new BookmarkQuery(Name: "DrWorkflows.ApprovalGate")));
        Assert.Equal(["two/g1"], await Find(new BookmarkQuery(Name: "DrWorkflows.ApprovalGate", Key: "approval-2")));
        Assert.Equal(["one/e1"], await Find(new BookmarkQuery(Key: "evt")));
        Assert.Equal(["one/e1", "one/g1"], await Find(new BookmarkQuery(InstanceId: "one")));
        Assert.Equal(["one/g1", "two/g1"], await Find(new BookmarkQuery(BookmarkId: "g1")));
        Assert.Equal(["one/e1", "one/g1", "two/g1"], await Find(new BookmarkQuery()));
        Assert.Empty(await Find(new BookmarkQuery(Name: "Event", Key: "other")));

        var stored = Assert.Single(await Instances.FindBookmarksAsync(new BookmarkQuery(InstanceId: "one", BookmarkId: "g1"), Ct));
        var expected = one.Bookmarks[0];
        Assert.Equal(
            new StoredBookmark(
                "g1", "one", expected.ExecutionId, expected.Name, expected.Key, expected.ActivityType, expected.NodeId, null, expected.CreatedAt,
                expected.Payload!.ToJsonString()),
            stored);

        one.Bookmarks.RemoveAt(0);
        one.Bookmarks.Add(Mark("e2", "Event", "evt"));
        await Instances.CommitAsync(one, [], Ct);
        Assert.Equal(["one/e1", "one/e2"], await Find(new BookmarkQuery(InstanceId: "one")));
        Assert.Equal(["one/e1", "one/e2"], await Find(new BookmarkQuery(Name: "Event", Key: "evt")));
    }

    [Fact]
    public async Task Timers_DueAtOrBeforeNow_OldestFirst_WithALimit_AndTheNextTimer()
    {
        Assert.Null(await Instances.GetNextTimerAsync(Ct));
        var a = NewState("ta");
        a.Bookmarks.Add(Mark("late", "Elsa.Delay", resumeAt: T0.AddMinutes(10)));
        a.Bookmarks.Add(Mark("gate", "Gate", "k"));
        var b = NewState("tb");
        b.Bookmarks.Add(Mark("now", "Elsa.Timer", resumeAt: T0));
        b.Bookmarks.Add(Mark("early", "Elsa.Delay", resumeAt: new DateTimeOffset(2026, 11, 26, 9, 29, 15, 123, TimeSpan.FromHours(1)))); // T0 - 1 min
        await Instances.CreateAsync(a, [], Ct);
        await Instances.CreateAsync(b, [], Ct);

        Assert.Equal(["early", "now"], (await Instances.GetDueTimersAsync(T0, 10, Ct)).Select(t => t.Id));
        Assert.Equal(["early"], (await Instances.GetDueTimersAsync(T0.AddMilliseconds(-1), 10, Ct)).Select(t => t.Id));
        Assert.Equal(["early"], (await Instances.GetDueTimersAsync(T0.AddHours(1), 1, Ct)).Select(t => t.Id));
        Assert.Equal(["early", "now", "late"], (await Instances.GetDueTimersAsync(T0.AddHours(1), 10, Ct)).Select(t => t.Id));
        Assert.Empty(await Instances.GetDueTimersAsync(T0.AddMinutes(-2), 10, Ct));
        var due = (await Instances.GetDueTimersAsync(T0, 10, Ct))[0];
        Assert.Equal("tb", due.InstanceId);
        Assert.Equal(T0.AddMinutes(-1), due.ResumeAt);
        Assert.Equal(T0.AddMinutes(-1), await Instances.GetNextTimerAsync(Ct));

        b.Bookmarks.Clear();
        await Instances.CommitAsync(b, [], Ct);
        Assert.Equal(T0.AddMinutes(10), await Instances.GetNextTimerAsync(Ct));
    }

    // ---- runnable instances and leases ---------------------------------------------------------------------------

    [Fact]
    public async Task Runnable_IsRunningPendingOrExecuting_WithoutALiveLease_OldestUpdateFirst()
    {
        var pending = NewState("pending", updatedAt: T0.AddSeconds(3));
        pending.SubStatus = WorkflowSubStatus.Pending;
        var executing = NewState("executing", updatedAt: T0.AddSeconds(1));
        var suspended = NewState("suspended", updatedAt: T0);
        suspended.SubStatus = WorkflowSubStatus.Suspended;
        var finished = NewState("finished", updatedAt: T0);
        finished.Status = WorkflowStatus.Finished;
        finished.SubStatus = WorkflowSubStatus.Finished;
        var leased = NewState("leased", updatedAt: T0.AddSeconds(2));
        foreach (var s in new[] { pending, executing, suspended, finished, leased })
            await Instances.CreateAsync(s, [], Ct);
        Assert.True(await Instances.TryAcquireLeaseAsync("leased", "node-a", T0, T0.AddSeconds(30), Ct));

        Assert.Equal(["executing", "pending"], await Instances.FindRunnableAsync(T0.AddSeconds(29), 10, Ct));
        Assert.Equal(["executing"], await Instances.FindRunnableAsync(T0.AddSeconds(29), 1, Ct));
        Assert.Equal(["executing", "leased", "pending"], await Instances.FindRunnableAsync(T0.AddSeconds(30), 10, Ct));

        await Instances.ReleaseLeaseAsync("leased", "node-a", Ct);
        Assert.Equal(["executing", "leased", "pending"], await Instances.FindRunnableAsync(T0, 10, Ct));
    }

    [Fact]
    public async Task Lease_AcquireRenewStealAfterExpiryAndRelease()
    {
        await Instances.CreateAsync(NewState("l"), [], Ct);

        Assert.True(await Instances.TryAcquireLeaseAsync("l", "a", T0, T0.AddSeconds(30), Ct));
        Assert.False(await Instances.TryAcquireLeaseAsync("l", "b", T0.AddSeconds(10), T0.AddSeconds(40), Ct));
        Assert.True(await Instances.TryAcquireLeaseAsync("l", "a", T0.AddSeconds(20), T0.AddSeconds(50), Ct)); // renew
        Assert.False(await Instances.TryAcquireLeaseAsync("l", "b", T0.AddSeconds(49), T0.AddSeconds(80), Ct)); // still live
        Assert.True(await Instances.TryAcquireLeaseAsync("l", "b", T0.AddSeconds(50), T0.AddSeconds(80), Ct)); // expired: taken over
        Assert.False(await Instances.TryAcquireLeaseAsync("l", "a", T0.AddSeconds(51), T0.AddSeconds(90), Ct)); // the old owner lost it

        await Instances.ReleaseLeaseAsync("l", "a", Ct); // not the owner: no effect
        Assert.False(await Instances.TryAcquireLeaseAsync("l", "c", T0.AddSeconds(52), T0.AddSeconds(90), Ct));
        await Instances.ReleaseLeaseAsync("l", "b", Ct);
        Assert.True(await Instances.TryAcquireLeaseAsync("l", "c", T0.AddSeconds(52), T0.AddSeconds(90), Ct));

        // A lease does not need the run to exist yet (the runtime may lease an id before creating it).
        Assert.True(await Instances.TryAcquireLeaseAsync("not-yet", "a", T0, T0.AddSeconds(30), Ct));
        Assert.False(await Instances.TryAcquireLeaseAsync("not-yet", "b", T0, T0.AddSeconds(30), Ct));
    }

    // ---- schedules -----------------------------------------------------------------------------------------------

    [Fact]
    public async Task Slot_IsClaimedOnce_PerScheduleAndSlot_AndTheLastSlotIsKept()
    {
        var slot = new DateTimeOffset(2026, 11, 26, 2, 0, 0, TimeSpan.Zero);
        Assert.Null(await Schedules.GetLastSlotAsync("nightly", Ct));

        Assert.True(await Schedules.TryClaimSlotAsync("nightly", slot, "node-a", T0, Ct));
        Assert.False(await Schedules.TryClaimSlotAsync("nightly", slot, "node-b", T0, Ct));
        Assert.False(await Schedules.TryClaimSlotAsync("nightly", slot.ToOffset(TimeSpan.FromHours(2)), "node-a", T0, Ct)); // same instant
        Assert.True(await Schedules.TryClaimSlotAsync("nightly", slot.AddDays(1), "node-b", T0, Ct));
        Assert.True(await Schedules.TryClaimSlotAsync("hourly", slot, "node-a", T0, Ct));
        await Schedules.SetSlotInstanceAsync("nightly", slot, "run-1", Ct);

        Assert.Equal(slot.AddDays(1), await Schedules.GetLastSlotAsync("nightly", Ct));
        Assert.Equal(slot, await Schedules.GetLastSlotAsync("hourly", Ct));
        Assert.False(await Schedules.TryClaimSlotAsync("nightly", slot, "node-c", T0, Ct)); // linking a run does not free the slot
    }

    [Fact]
    public async Task Slot_LinkedBeforeItIsClaimed_CountsAsClaimed()
    {
        var slot = T0.AddHours(1);

        await Schedules.SetSlotInstanceAsync("weekly", slot, "run-9", Ct);

        Assert.False(await Schedules.TryClaimSlotAsync("weekly", slot, "node-a", T0, Ct));
        Assert.Equal(slot, await Schedules.GetLastSlotAsync("weekly", Ct));
    }

    [Fact]
    public async Task Slot_ConcurrentClaimsFromManyTasks_ExactlyOneWins()
    {
        var second = await OpenAsync();
        var slot = new DateTimeOffset(2026, 11, 27, 0, 0, 0, TimeSpan.Zero);

        for (var round = 0; round < 5; round++)
        {
            var at = slot.AddMinutes(round);
            using var start = new ManualResetEventSlim();
            var claims = Enumerable.Range(0, 16).Select(i => Task.Run(
                async () =>
                {
                    start.Wait(Ct);
                    var schedules = i % 2 == 0 ? Schedules : second.Schedules;
                    return await schedules.TryClaimSlotAsync("race", at, $"node-{i}", T0, Ct);
                },
                Ct)).ToList();
            start.Set();

            var results = await Task.WhenAll(claims);

            Assert.Equal(1, results.Count(won => won));
        }

        Assert.Equal(slot.AddMinutes(4), await Schedules.GetLastSlotAsync("race", Ct));
    }

    // ---- one running run per definition and platform --------------------------------------------------------------

    [Fact]
    public async Task Platform_ASecondRunningRunOfTheDefinitionOnThePlatform_IsRefusedNamingTheFirst_AndNothingIsWritten()
    {
        await Instances.CreateAsync(OnPlatform("first", "Docker unix:///run/docker.sock, Compose project shop"), [Entry("first", 0)], Ct);

        var refused = await Assert.ThrowsAsync<RunAlreadyRunningException>(
            () => Instances.CreateAsync(OnPlatform("second", "Docker unix:///run/docker.sock, Compose project shop"), [Entry("second", 0)], Ct));

        Assert.Equal("first", refused.RunningInstanceId);
        Assert.Equal("restore-db", refused.DefinitionId);
        Assert.Equal("Docker unix:///run/docker.sock, Compose project shop", refused.Platform);
        Assert.Contains("first", refused.Message, StringComparison.Ordinal);
        Assert.Null(await Instances.GetAsync("second", Ct));
        Assert.Equal(0, (await Instances.GetJournalAsync("second", 0, 10, Ct)).TotalCount);
        Assert.Equal("Docker unix:///run/docker.sock, Compose project shop", (await Instances.GetAsync("first", Ct))!.Platform);
    }

    [Fact]
    public async Task Platform_OtherPlatforms_OtherDefinitions_AndRunsWithoutAPlatform_AreNotRestricted()
    {
        await Instances.CreateAsync(OnPlatform("shop", "p-shop"), [], Ct);

        await Instances.CreateAsync(OnPlatform("ai", "p-ai"), [], Ct);
        await Instances.CreateAsync(OnPlatform("other-scenario", "p-shop", definitionId: "volume-corruption"), [], Ct);
        await Instances.CreateAsync(NewState("free-1"), [], Ct);
        await Instances.CreateAsync(NewState("free-2"), [], Ct);

        Assert.Equal(5, (await Instances.ListAsync(new InstanceQuery(Status: WorkflowStatus.Running), Ct)).TotalCount);
    }

    [Fact]
    public async Task Platform_IsFreeAgainInTheCommitThatEndsTheRun_WhateverTheEnd()
    {
        foreach (var end in new[] { WorkflowSubStatus.Finished, WorkflowSubStatus.Faulted, WorkflowSubStatus.Cancelled })
        {
            var id = "run-" + end;
            var state = OnPlatform(id, "p-shop");
            await Instances.CreateAsync(state, [], Ct);
            state.Status = WorkflowStatus.Finished;
            state.SubStatus = end;
            state.FinishedAt = T0.AddMinutes(5);
            await Instances.CommitAsync(state, [], Ct);
        }

        await Instances.CreateAsync(OnPlatform("after", "p-shop"), [], Ct);

        var onPlatform = await Instances.ListAsync(new InstanceQuery(DefinitionId: "restore-db", Platform: "p-shop"), Ct);
        Assert.Equal(["after", "run-Cancelled", "run-Faulted", "run-Finished"], onPlatform.Items.Select(i => i.Id).Order(StringComparer.Ordinal));
        Assert.Equal(["after"], (await Instances.ListAsync(new InstanceQuery(Platform: "p-shop", Status: WorkflowStatus.Running), Ct)).Items.Select(i => i.Id));
    }

    [Fact]
    public async Task Platform_ARunThatWaitsOrStoppedAtAnIncident_StillHoldsThePlatform()
    {
        var state = OnPlatform("waiting", "p-shop");
        await Instances.CreateAsync(state, [], Ct);
        state.SubStatus = WorkflowSubStatus.Suspended;
        await Instances.CommitAsync(state, [], Ct);
        Assert.Equal("waiting", (await Assert.ThrowsAsync<RunAlreadyRunningException>(() => Instances.CreateAsync(OnPlatform("b", "p-shop"), [], Ct))).RunningInstanceId);

        state.SubStatus = WorkflowSubStatus.Faulted;
        state.Incidents.Add(NewIncident("i1", null));
        await Instances.CommitAsync(state, [], Ct);
        Assert.Equal("waiting", (await Assert.ThrowsAsync<RunAlreadyRunningException>(() => Instances.CreateAsync(OnPlatform("c", "p-shop"), [], Ct))).RunningInstanceId);
    }

    [Fact]
    public async Task Platform_ManyCreatesAtOnceFromTwoNodes_ExactlyOneWins_TheOthersNameIt()
    {
        var other = await OpenAsync();
        const int Attempts = 8;
        using var start = new ManualResetEventSlim();
        var attempts = Enumerable.Range(0, Attempts).Select(i => Task.Run(
            async () =>
            {
                start.Wait(Ct);
                var store = i % 2 == 0 ? Instances : other.Instances;
                try
                {
                    await store.CreateAsync(OnPlatform($"racer-{i}", "p-race"), [Entry($"racer-{i}", 0)], Ct);
                    return (Id: $"racer-{i}", Refusal: (RunAlreadyRunningException?)null);
                }
                catch (RunAlreadyRunningException e)
                {
                    return (Id: $"racer-{i}", Refusal: e);
                }
            },
            Ct)).ToList();
        start.Set();
        var outcomes = await Task.WhenAll(attempts);

        var winner = Assert.Single(outcomes, o => o.Refusal is null).Id;
        Assert.All(outcomes.Where(o => o.Refusal is not null), o => Assert.Equal(winner, o.Refusal!.RunningInstanceId));
        var stored = await other.Instances.ListAsync(new InstanceQuery(Platform: "p-race"), Ct);
        Assert.Equal([winner], stored.Items.Select(i => i.Id));
    }

    private static WorkflowState OnPlatform(string id, string platform, string definitionId = "restore-db")
    {
        var state = NewState(id, definitionId);
        state.Platform = platform;
        return state;
    }

    // ---- several nodes -------------------------------------------------------------------------------------------

    [Fact]
    public async Task TwoNodes_CommittingTheSameInstance_ExactlyOneWinsEachRevision()
    {
        var other = await OpenAsync();
        var state = NewState("contended");
        await Instances.CreateAsync(state, [Entry("contended", 0)], Ct);
        const int Rounds = 10;

        for (var round = 0; round < Rounds; round++)
        {
            var mine = (await Instances.GetAsync("contended", Ct))!;
            var theirs = (await other.Instances.GetAsync("contended", Ct))!;
            Assert.Equal(mine.Revision, theirs.Revision);
            var sequence = 1 + round;
            mine.Name = $"mine-{round}";
            theirs.Name = $"theirs-{round}";
            using var start = new ManualResetEventSlim();

            var attempts = new[]
            {
                Task.Run(async () => { start.Wait(Ct); await Instances.CommitAsync(mine, [Entry("contended", sequence, "mine")], Ct); }, Ct),
                Task.Run(async () => { start.Wait(Ct); await other.Instances.CommitAsync(theirs, [Entry("contended", sequence, "theirs")], Ct); }, Ct),
            };
            start.Set();
            var outcomes = await Task.WhenAll(attempts.Select(Outcome));

            Assert.Equal(1, outcomes.Count(o => o is null));
            Assert.IsType<ConcurrencyException>(Assert.Single(outcomes, o => o is not null));
            var winner = outcomes[0] is null ? mine : theirs;
            Assert.Equal(2 + round, winner.Revision);
            Assert.Equal(winner.Name, (await Instances.GetAsync("contended", Ct))!.Name);
        }

        var journal = await Instances.GetJournalAsync("contended", 0, 100, Ct);
        Assert.Equal(Rounds + 1, journal.TotalCount);
        Assert.Equal(Enumerable.Range(0, Rounds + 1).Select(i => (long)i), journal.Items.Select(e => e.Sequence));
        Assert.Equal(Rounds + 1, (await other.Instances.GetAsync("contended", Ct))!.Revision);

        static async Task<Exception?> Outcome(Task attempt)
        {
            try
            {
                await attempt;
                return null;
            }
            catch (ConcurrencyException e)
            {
                return e;
            }
        }
    }

    [Fact]
    public async Task SecondNode_SeesWhatTheFirstCommitted()
    {
        var state = NewState("shared");
        state.Bookmarks.Add(Mark("t", "Elsa.Delay", resumeAt: T0));
        await Instances.CreateAsync(state, [Entry("shared", 0)], Ct);
        await Definitions.SaveAsync([Def("sv1", "sd", 1, "Shared", latest: true)], Ct);

        var other = await OpenAsync();

        Assert.Equal(Serialize(state), Serialize((await other.Instances.GetAsync("shared", Ct))!));
        Assert.Equal("sv1", (await other.Definitions.FindAsync("sd", VersionOptions.LatestVersion, Ct))?.Id);
        Assert.Equal(["t"], (await other.Instances.GetDueTimersAsync(T0, 10, Ct)).Select(b => b.Id));
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    protected static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Json.Options);

    protected static StoredWorkflowDefinition Def(
        string id, string definitionId, int version, string? name, bool latest = false, bool published = false, bool usable = false) => new()
        {
            Id = id,
            DefinitionId = definitionId,
            Version = version,
            Name = name,
            IsLatest = latest,
            IsPublished = published,
            UsableAsActivity = usable,
            CreatedAt = T0.AddMinutes(version),
            Json = $"{{\"id\":\"{id}\",\"definitionId\":\"{definitionId}\",\"version\":{version}}}",
        };

    protected static WorkflowState NewState(string id, string definitionId = "restore-db", DateTimeOffset? createdAt = null, DateTimeOffset? updatedAt = null)
    {
        var created = createdAt ?? T0;
        return new WorkflowState
        {
            Id = id,
            DefinitionId = definitionId,
            DefinitionVersionId = definitionId + "-v1",
            DefinitionVersion = 1,
            Name = "Run " + id,
            CorrelationId = "corr-" + id,
            Status = WorkflowStatus.Running,
            SubStatus = WorkflowSubStatus.Executing,
            StartedBy = "api:ops",
            CreatedAt = created,
            UpdatedAt = updatedAt ?? created,
            Variables = { ["count"] = 3, ["label"] = "ünïcode ✓ \"quoted\"", ["list"] = new JsonArray(1, "two", null) },
            Input = { ["target"] = "db1" },
            ActivityOutputs = { ["a1"] = new Dictionary<string, JsonNode?> { ["result"] = 42 } },
            LastResult = 42,
            Executions =
            [
                new ActivityExecutionRecord
                {
                    Id = id + "-x1",
                    NodeId = "root:a1",
                    Status = ActivityStatus.Running,
                    ScheduledAt = created,
                    StartedAt = created,
                    Properties = new JsonObject { ["index"] = 1 },
                },
            ],
            Queue = [new WorkItem { Kind = WorkItemKind.Execute, ExecutionId = id + "-x1" }],
            Properties = { ["statusPage"] = "sp-1" },
            IdSequence = 5,
        };
    }

    protected static Bookmark Mark(string id, string name, string? key = null, DateTimeOffset? resumeAt = null) => new()
    {
        Id = id,
        ExecutionId = "x-" + id,
        NodeId = "root:" + id,
        ActivityType = name,
        Name = name,
        Key = key,
        ResumeAt = resumeAt,
        CreatedAt = T0.AddSeconds(-5),
        Payload = new JsonObject { ["bookmark"] = id, ["ü"] = "✓" },
    };

    protected static Incident NewIncident(string id, IncidentResolution? resolution) => new()
    {
        Id = id,
        ExecutionId = "x-" + id,
        NodeId = "root:" + id,
        ActivityId = id,
        ActivityType = "DrWorkflows.RunCommand",
        Kind = IncidentKind.Fault,
        Message = "boom",
        CreatedAt = T0,
        Resolution = resolution,
    };

    protected static JournalEntry Entry(string instanceId, long sequence, string eventName = JournalEvents.Started, DateTimeOffset? at = null) => new()
    {
        Id = $"{instanceId}-j{sequence}",
        InstanceId = instanceId,
        Sequence = sequence,
        Timestamp = at ?? T0.AddMilliseconds(sequence),
        EventName = eventName,
        ExecutionId = instanceId + "-x1",
        NodeId = "root:a1",
        ActivityId = "a1",
        ActivityType = "Elsa.WriteLine",
        ActivityTypeVersion = 1,
        ActivityName = "Say hello",
        Message = "step " + sequence,
        Outcomes = ["Done"],
        Attempt = 1,
        Actor = "timer",
        Payload = new JsonObject { ["output"] = "x", ["sequence"] = sequence },
    };
}
