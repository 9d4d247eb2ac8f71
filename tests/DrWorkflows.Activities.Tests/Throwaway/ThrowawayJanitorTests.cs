using DrWorkflows.Activities.Throwaway;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Tests.Throwaway;

/// <summary>
/// The janitor removes what an ended, failed or interrupted owner left, and nothing a live attempt (or a waiting
/// step) still owns; it claims each removal, records why, and writes it into the owning run's journal.
/// </summary>
public sealed class ThrowawayJanitorTests : IAsyncLifetime
{
    private const string Run = "run-1";
    private const string Step = "exec-1";
    private readonly TempDirectory temp = new("janitor");
    private WorkflowTestHost host = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IThrowawayResourceStore Ledger => host.Services.GetRequiredService<IThrowawayResourceStore>();

    private ThrowawayJanitor Janitor => host.Services.GetRequiredService<ThrowawayJanitor>();

    private string NodeId => host.Services.GetRequiredService<IOptions<RuntimeOptions>>().Value.NodeId;

    public ValueTask InitializeAsync()
    {
        host = WorkflowTestHost.Create(configure: services => services.AddThrowawayJanitor(o =>
        {
            o.HeartbeatInterval = TimeSpan.FromSeconds(10);
            o.HolderTimeout = TimeSpan.FromMinutes(2);
        }));
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task What_an_interrupted_attempt_left_is_removed_once_its_process_is_gone_and_written_into_the_runs_journal()
    {
        await CreateRunAsync(StepState.Running, attempt: 1);
        var crashed = OtherProcess(NodeId); // an earlier process of this node id: it died, this one started
        var directory = await LeaveDirectoryAsync(crashed, attempt: 1);
        var file = await LeaveFileAsync(crashed, attempt: 1);

        var report = await Janitor.RunOnceAsync(Ct);

        Assert.False(Directory.Exists(directory));
        Assert.False(File.Exists(file));
        Assert.Equal(2, report.Removed.Count);
        Assert.Empty(report.Failed);
        var rows = await Ledger.ListAsync(new ThrowawayQuery(InstanceId: Run), Ct);
        Assert.All(rows, r => Assert.Equal(ThrowawayState.Removed, r.State));
        Assert.All(rows, r => Assert.Equal($"janitor on node {NodeId}", r.EndedBy));
        Assert.All(rows, r => Assert.Contains("attempt 1 of step 'verify1' was interrupted", r.Reason, StringComparison.Ordinal));
        Assert.All(rows, r => Assert.Contains($"node {NodeId} started again", r.Reason, StringComparison.Ordinal));
        var notes = (await host.JournalAsync(Run)).Where(e => e.EventName == JournalEvents.Note).ToList();
        Assert.Equal(2, notes.Count);
        var note = notes.Single(n => n.Message!.Contains(directory, StringComparison.Ordinal));
        Assert.Equal((Step, "verify1", 1, $"janitor on node {NodeId}"), (note.ExecutionId, note.ActivityId, note.Attempt, note.Actor));
        Assert.Equal(directory, note.Payload?["throwaway"]?["name"]?.GetValue<string>());
        Assert.All(await Ledger.ListAsync(new ThrowawayQuery(), Ct), r => Assert.True(r.Journaled));

        var again = await Janitor.RunOnceAsync(Ct);
        Assert.Empty(again.Removed);
        Assert.Equal(2, (await host.JournalAsync(Run)).Count(e => e.EventName == JournalEvents.Note)); // journaled once
    }

    [Fact]
    public async Task What_a_live_attempt_owns_is_never_touched_even_by_a_janitor_of_another_node()
    {
        await CreateRunAsync(StepState.Running, attempt: 1);
        var live = OtherProcess("node-b"); // alive: same host, its process exists, seen just now
        var directory = await LeaveDirectoryAsync(live, attempt: 1);

        var report = await Janitor.RunOnceAsync(Ct);

        Assert.True(Directory.Exists(directory));
        Assert.Equal((1, 1), (report.Examined, report.Owned));
        Assert.Empty(report.Removed);

        // Once it has not renewed its entry for longer than the timeout, its process counts as gone.
        host.Clock.Advance(TimeSpan.FromMinutes(3));
        var later = await Janitor.RunOnceAsync(Ct);
        Assert.False(Directory.Exists(directory));
        Assert.Contains("has not been seen since", Assert.Single(later.Removed).Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(StepState.Ended, "its step 'verify1' ended")]
    [InlineData(StepState.NextAttempt, "attempt 1 of step 'verify1' ended or was interrupted (the step is on attempt 2)")]
    [InlineData(StepState.Faulted, "attempt 1 of step 'verify1' failed (incident)")]
    [InlineData(StepState.RetryScheduled, "attempt 1 of step 'verify1' failed (a retry is scheduled)")]
    [InlineData(StepState.RunFinished, "its run ended (Finished)")]
    public async Task What_an_ended_or_failed_owner_left_is_removed_even_while_its_process_lives(StepState step, string reason)
    {
        await CreateRunAsync(step, attempt: 1);
        var live = OtherProcess("node-b");
        var directory = await LeaveDirectoryAsync(live, attempt: 1);

        var report = await Janitor.RunOnceAsync(Ct);

        Assert.False(Directory.Exists(directory));
        Assert.Equal(reason, Assert.Single(report.Removed).Reason);
    }

    [Fact]
    public async Task A_step_waiting_on_a_gate_keeps_its_resource_even_when_the_process_that_made_it_is_gone()
    {
        await CreateRunAsync(StepState.Waiting, attempt: 1);
        var directory = await LeaveDirectoryAsync(OtherProcess(NodeId), attempt: 1);

        var report = await Janitor.RunOnceAsync(Ct);

        Assert.True(Directory.Exists(directory));
        Assert.Equal(1, report.Owned);
    }

    [Fact]
    public async Task What_a_gone_process_left_outside_any_run_is_removed()
    {
        var crashed = OtherProcess(NodeId);
        var path = ThrowawayFiles.NewPath("drwtest-", temp.FullPath);
        await crashed.CreateDirectoryAsync(path, null, Ct);

        var report = await Janitor.RunOnceAsync(Ct);

        Assert.False(Directory.Exists(path));
        Assert.Contains("started again", Assert.Single(report.Removed).Reason, StringComparison.Ordinal);
        Assert.True(Assert.Single(await Ledger.ListAsync(new ThrowawayQuery(), Ct)).Journaled); // no run to write to
    }

    [Fact]
    public async Task A_file_of_another_host_is_left_to_that_hosts_janitor()
    {
        await CreateRunAsync(StepState.Ended, attempt: 1);
        await Ledger.RecordAsync(new ThrowawayResource
        {
            Id = "elsewhere",
            Kind = ThrowawayKinds.Directory,
            Name = "/tmp/drw-elsewhere",
            Host = "another-host",
            InstanceId = Run,
            ExecutionId = Step,
            ActivityId = "verify1",
            Attempt = 1,
            HolderId = "h-other",
            NodeId = "node-other",
            RecordedAt = host.Clock.GetUtcNow(),
        }, Ct);

        var report = await Janitor.RunOnceAsync(Ct);

        Assert.Equal((1, 0, 0), (report.Elsewhere, report.Removed.Count, report.Failed.Count));
        Assert.Equal(ThrowawayState.Live, (await Ledger.FindAsync("elsewhere", Ct))!.State);
    }

    [Fact]
    public async Task A_removal_that_fails_is_reported_kept_live_with_its_error_and_tried_again_next_pass()
    {
        await using var flaky = WorkflowTestHost.Create(configure: services =>
        {
            services.AddThrowawayJanitor();
            services.AddSingleton<IThrowawayRemover>(new FailingOnceRemover());
        });
        var store = flaky.Services.GetRequiredService<IThrowawayResourceStore>();
        await store.RecordAsync(new ThrowawayResource { Id = "t", Kind = FailingOnceRemover.KindName, Name = "thing", HolderId = "gone", NodeId = "node-x", RecordedAt = flaky.Clock.GetUtcNow() }, Ct);
        var janitor = flaky.Services.GetRequiredService<ThrowawayJanitor>();

        var first = await janitor.RunOnceAsync(Ct);

        var failure = Assert.Single(first.Failed);
        Assert.Equal("device busy", failure.Error);
        Assert.Contains("its process (gone) is unknown to the store", failure.Reason, StringComparison.Ordinal);
        Assert.Equal((ThrowawayState.Live, 1, "device busy"), ((await store.FindAsync("t", Ct))!.State, (await store.FindAsync("t", Ct))!.FailedRemovals, (await store.FindAsync("t", Ct))!.LastError));

        var second = await janitor.RunOnceAsync(Ct);
        Assert.Single(second.Removed);
        Assert.Equal(ThrowawayState.Removed, (await store.FindAsync("t", Ct))!.State);
    }

    [Fact]
    public async Task Two_janitors_on_one_store_remove_an_orphan_once()
    {
        await CreateRunAsync(StepState.Ended, attempt: 1);
        var removals = new CountingRemover();
        for (var i = 0; i < 20; i++)
            await Ledger.RecordAsync(new ThrowawayResource { Id = $"r{i}", Kind = CountingRemover.KindName, Name = $"thing-{i}", InstanceId = Run, ExecutionId = Step, ActivityId = "verify1", Attempt = 1, HolderId = "gone", NodeId = "node-x", RecordedAt = host.Clock.GetUtcNow() }, Ct);
        var janitors = Enumerable.Range(0, 2).Select(i => new ThrowawayJanitor(
            Ledger, host.Instances, host.Services,
            new ThrowawayLedger(Ledger, Options.Create(new RuntimeOptions { NodeId = $"janitor-{i}" }), host.Clock, NullLogger<ThrowawayLedger>.Instance),
            [removals], Options.Create(new JanitorOptions()), host.Clock, NullLogger<ThrowawayJanitor>.Instance)).ToList();

        var reports = await Task.WhenAll(janitors.Select(j => Task.Run(() => j.RunOnceAsync(Ct), Ct)));

        Assert.Equal(20, reports.Sum(r => r.Removed.Count));
        Assert.All(removals.Counts.Values, count => Assert.Equal(1, count));
        Assert.Equal(20, removals.Counts.Count);
        janitors.ForEach(j => j.Dispose());
    }

    public async ValueTask DisposeAsync()
    {
        await host.DisposeAsync();
        temp.Dispose();
    }

    public enum StepState
    {
        Running,
        Waiting,
        Ended,
        NextAttempt,
        Faulted,
        RetryScheduled,
        RunFinished,
    }

    /// <summary>A run whose step <see cref="Step"/> (activity <c>verify1</c>) is in <paramref name="step"/>.</summary>
    private async Task CreateRunAsync(StepState step, int attempt)
    {
        var now = host.Clock.GetUtcNow();
        var state = new WorkflowState
        {
            Id = Run,
            DefinitionId = "verify-backups",
            DefinitionVersionId = "verify-backups-1",
            Status = step == StepState.RunFinished ? WorkflowStatus.Finished : WorkflowStatus.Running,
            SubStatus = step switch
            {
                StepState.RunFinished => WorkflowSubStatus.Finished,
                StepState.Waiting or StepState.RetryScheduled => WorkflowSubStatus.Suspended,
                StepState.Faulted => WorkflowSubStatus.Faulted,
                _ => WorkflowSubStatus.Executing,
            },
            CreatedAt = now,
            UpdatedAt = now,
            JournalSequence = 1,
        };
        if (step is not (StepState.Ended or StepState.RunFinished))
        {
            state.Executions.Add(new ActivityExecutionRecord
            {
                Id = Step,
                NodeId = "verify1",
                Status = step == StepState.Faulted ? ActivityStatus.Faulted : ActivityStatus.Running,
                Attempt = step == StepState.NextAttempt ? attempt + 1 : attempt,
            });
        }

        if (step is StepState.Waiting or StepState.RetryScheduled)
            state.Bookmarks.Add(new Bookmark { Id = "b1", InstanceId = Run, ExecutionId = Step, Name = step == StepState.Waiting ? "DrWorkflows.ApprovalGate" : RetryPolicy.RetryBookmark, NodeId = "verify1", ActivityType = "DrWorkflows.VerifyLatestBackup", CreatedAt = now });
        await host.Instances.CreateAsync(state, [new JournalEntry { Id = "j0", InstanceId = Run, Sequence = 0, EventName = JournalEvents.WorkflowStarted, Timestamp = now }], Ct);
    }

    /// <summary>A ledger of another process (same host and process id here: only its node id and heartbeat tell).</summary>
    private ThrowawayLedger OtherProcess(string nodeId) =>
        new(Ledger, Options.Create(new RuntimeOptions { NodeId = nodeId }), host.Clock, NullLogger<ThrowawayLedger>.Instance);

    private async Task<string> LeaveDirectoryAsync(ThrowawayLedger owner, int attempt)
    {
        using var scope = ActivityAttempt.Enter(ThrowawayLedgerTests.Attempt(Run, Step, attempt));
        var lease = await owner.CreateDirectoryAsync(ThrowawayFiles.NewPath("drwtest-", temp.FullPath), "left behind", Ct);
        await File.WriteAllTextAsync(Path.Combine(lease.Name, ".pgpass"), "*:*:*:*:secret\n", Ct);
        return lease.Name; // never disposed: the process died
    }

    private async Task<string> LeaveFileAsync(ThrowawayLedger owner, int attempt)
    {
        using var scope = ActivityAttempt.Enter(ThrowawayLedgerTests.Attempt(Run, Step, attempt));
        var path = temp.Combine($"left-{Guid.NewGuid():N}.rdb");
        await owner.RecordAsync(ThrowawaySpec.File(path), null, Ct);
        await File.WriteAllTextAsync(path, "REDIS0011", Ct);
        return path;
    }

    private sealed class FailingOnceRemover : IThrowawayRemover
    {
        public const string KindName = "test-failing-once";
        private int calls;

        public string Kind => KindName;

        public string? CannotRemoveHere(ThrowawayResource resource, out bool elsewhere)
        {
            elsewhere = false;
            return null;
        }

        public Task RemoveAsync(ThrowawayResource resource, CancellationToken cancellationToken) =>
            Interlocked.Increment(ref calls) == 1 ? throw new IOException("device busy") : Task.CompletedTask;
    }

    private sealed class CountingRemover : IThrowawayRemover
    {
        public const string KindName = "test-counting";

        public System.Collections.Concurrent.ConcurrentDictionary<string, int> Counts { get; } = new(StringComparer.Ordinal);

        public string Kind => KindName;

        public string? CannotRemoveHere(ThrowawayResource resource, out bool elsewhere)
        {
            elsewhere = false;
            return null;
        }

        public async Task RemoveAsync(ThrowawayResource resource, CancellationToken cancellationToken)
        {
            Counts.AddOrUpdate(resource.Name, 1, (_, n) => n + 1);
            await Task.Yield();
        }
    }
}
