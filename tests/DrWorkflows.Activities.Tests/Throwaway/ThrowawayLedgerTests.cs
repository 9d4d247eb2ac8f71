using DrWorkflows.Activities.Throwaway;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace DrWorkflows.Activities.Tests.Throwaway;

/// <summary>The ledger: recorded before the resource exists, with the attempt that owns it; released after its removal.</summary>
public sealed class ThrowawayLedgerTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 20, 6, 0, 0, TimeSpan.Zero);
    private readonly InMemoryStore store = new();
    private readonly FakeTimeProvider clock = new(T0);
    private readonly TempDirectory temp = new("ledger");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_resource_is_recorded_before_it_exists_with_the_attempt_that_owns_it_and_released_after_its_removal()
    {
        var ledger = Ledger("node-a");
        var path = temp.Combine("scratch.bin");
        var removals = 0;

        ThrowawayLease lease;
        using (ActivityAttempt.Enter(Attempt("run-1", "exec-1", 2)))
        {
            lease = await ledger.RecordAsync(ThrowawaySpec.File(path, "what it is for"), async _ =>
            {
                removals++;
                await ThrowawayFiles.DeleteFileAsync(path);
            }, Ct);
        }

        var recorded = Assert.Single(await store.ListAsync(new ThrowawayQuery(), Ct));
        Assert.False(File.Exists(path)); // the row exists first; the caller creates the resource after it
        Assert.Equal((ThrowawayKinds.File, path, Environment.MachineName, "what it is for"), (recorded.Kind, recorded.Name, recorded.Host, recorded.Description));
        Assert.Equal(("run-1", "exec-1", "verify1", "DrWorkflows.VerifyLatestBackup", 2), (recorded.InstanceId, recorded.ExecutionId, recorded.ActivityId, recorded.ActivityType, recorded.Attempt));
        Assert.Equal((ledger.Holder.Id, "node-a", ThrowawayState.Live, T0), (recorded.HolderId, recorded.NodeId, recorded.State, recorded.RecordedAt));
        Assert.Contains(await store.ListHoldersAsync(Ct), h => h.Id == ledger.Holder.Id && h.Pid == Environment.ProcessId); // registered before its first record

        await File.WriteAllTextAsync(path, "secret", Ct);
        clock.Advance(TimeSpan.FromSeconds(5));
        await lease.DisposeAsync();
        await lease.DisposeAsync();

        Assert.False(File.Exists(path));
        Assert.Equal(1, removals);
        var released = (await store.FindAsync(recorded.Id, Ct))!;
        Assert.Equal((ThrowawayState.Released, T0.AddSeconds(5), "its step (node node-a)"), (released.State, released.EndedAt, released.EndedBy));
    }

    [Fact]
    public async Task Outside_an_activity_attempt_the_process_owns_what_it_records()
    {
        var ledger = Ledger("node-a");

        await using var lease = await ledger.RecordAsync(ThrowawaySpec.PostgresDatabase("verify", "drw_verify_x"), null, Ct);

        var recorded = Assert.Single(await store.ListAsync(new ThrowawayQuery(), Ct));
        Assert.Null(recorded.InstanceId);
        Assert.Null(recorded.ExecutionId);
        Assert.Null(recorded.Attempt);
        Assert.Equal(("verify", (string?)null), (recorded.Location, recorded.Host));
    }

    [Fact]
    public async Task A_private_directory_is_created_0700_after_it_is_recorded_and_removed_with_everything_in_it()
    {
        var ledger = Ledger("node-a");
        var path = ThrowawayFiles.NewPath("drwtest-", temp.Combine("new", "parents"));

        var lease = await ledger.CreateDirectoryAsync(path, "a .pgpass lives here", Ct);
        await File.WriteAllTextAsync(Path.Combine(path, ".pgpass"), "*:*:*:*:secret\n", Ct);

        Assert.Equal(path, lease.Name);
        Assert.Equal(FileModes.PrivateDirectory, FileModes.Of(path));
        Assert.Equal(FileModes.PrivateDirectory, FileModes.Of(temp.Combine("new"))); // parents it created too
        Assert.Equal(ThrowawayKinds.Directory, Assert.Single(await store.ListAsync(new ThrowawayQuery(State: ThrowawayState.Live), Ct)).Kind);

        await lease.DisposeAsync();

        Assert.False(Directory.Exists(path));
        Assert.Equal(ThrowawayState.Released, Assert.Single(await store.ListAsync(new ThrowawayQuery(), Ct)).State);
    }

    [Fact]
    public async Task A_removal_that_fails_is_logged_and_left_live_with_its_error_for_the_janitor()
    {
        var ledger = Ledger("node-a");
        var lease = await ledger.RecordAsync(ThrowawaySpec.DockerVolume("unix:///var/run/docker.sock", "drw-x"), _ => throw new IOException("engine unreachable"), Ct);

        Assert.False(await lease.RemoveAsync(Ct));
        await lease.DisposeAsync(); // tries once more, never throws

        var row = Assert.Single(await store.ListAsync(new ThrowawayQuery(), Ct));
        Assert.Equal((ThrowawayState.Live, "engine unreachable", 2), (row.State, row.LastError, row.FailedRemovals));
        Assert.False(lease.IsReleased);
    }

    [Fact]
    public async Task A_resource_the_caller_removed_itself_is_released_once()
    {
        var ledger = Ledger("node-a");
        var lease = await ledger.RecordAsync(ThrowawaySpec.DockerContainer("tcp://10.0.0.5:2376", "drw-helper-1"), null, Ct);

        await lease.ReleaseAsync(Ct);
        await lease.ReleaseAsync(Ct);
        await lease.DisposeAsync();

        var row = Assert.Single(await store.ListAsync(new ThrowawayQuery(), Ct));
        Assert.Equal((ThrowawayState.Released, (string?)null), (row.State, row.Host)); // a TCP engine is reachable from any node
    }

    [Fact]
    public async Task Without_a_store_the_untracked_ledger_still_creates_and_removes()
    {
        var path = temp.Combine("untracked");

        await using (var lease = await UntrackedThrowawayLedger.Instance.CreateDirectoryAsync(path, null, Ct))
            Assert.True(Directory.Exists(lease.Name));

        Assert.False(Directory.Exists(path));
    }

    public void Dispose() => temp.Dispose();

    private ThrowawayLedger Ledger(string nodeId) =>
        new(store, Options.Create(new RuntimeOptions { NodeId = nodeId }), clock, NullLogger<ThrowawayLedger>.Instance);

    internal static ActivityAttempt Attempt(string instanceId, string executionId, int attempt, string activityId = "verify1", string type = "DrWorkflows.VerifyLatestBackup") =>
        new(instanceId, "verify-backups", executionId, activityId, type, null, attempt, EmptyServices.Instance);

    private sealed class EmptyServices : IServiceProvider
    {
        public static EmptyServices Instance { get; } = new();

        public object? GetService(Type serviceType) => null;
    }
}
