using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Persistence.Sqlite;
using DrWorkflows.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace DrWorkflows.Persistence.Tests;

/// <summary>What only the SQLite store does: the file, its settings, migrations, clear errors, group commit.</summary>
public sealed class SqliteStoreTests : IDisposable
{
    private readonly TempDirectory directory = new("sqlite-store");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => directory.Dispose();

    private static SqliteStore Open(SqliteStoreOptions options) => new(options, NullLogger.Instance, TimeProvider.System);

    private SqliteStore OpenDefault() => Open(new SqliteStoreOptions { DataDirectory = directory.Combine("data") });

    private static SqliteConnection Raw(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ConnectionString);
        connection.Open();
        return connection;
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    [Fact]
    public async Task Initialize_CreatesTheDataDirectoryAndFile_InWalMode_AtTheCurrentSchemaVersion()
    {
        using (var store = OpenDefault())
        {
            await store.InitializeAsync(Ct);
            await store.InitializeAsync(Ct); // idempotent
            Assert.Equal(directory.Combine("data", "drworkflows.db"), store.DatabasePath);
        }

        using var raw = Raw(directory.Combine("data", "drworkflows.db"));
        Assert.Equal("wal", Scalar(raw, "PRAGMA journal_mode"));
        Assert.Equal((long)Internal.Migration.Load("Sqlite").Count, Scalar(raw, "SELECT MAX(version) FROM schema_version"));
        Assert.Equal("0001_initial", Scalar(raw, "SELECT name FROM schema_version WHERE version = 1"));
        Assert.Equal("0002_throwaway_ledger", Scalar(raw, "SELECT name FROM schema_version WHERE version = 2"));
        Assert.Equal(7L, Scalar(raw, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('definitions', 'instances', 'bookmarks', 'journal', 'schedule_slots', 'throwaway_resources', 'throwaway_holders')"));
    }

    [Fact]
    public async Task Data_SurvivesClosingAndReopeningTheStore()
    {
        var state = new WorkflowState { Id = "r-1", DefinitionId = "d", DefinitionVersionId = "d-1", CreatedAt = DateTimeOffset.UnixEpoch, UpdatedAt = DateTimeOffset.UnixEpoch };
        state.Bookmarks.Add(new Bookmark { Id = "t", Name = "Elsa.Delay", ActivityType = "Elsa.Delay", ExecutionId = "x", NodeId = "n", ResumeAt = DateTimeOffset.UnixEpoch.AddDays(1) });
        using (var store = OpenDefault())
        {
            await store.CreateAsync(state, [], Ct);
            await store.CommitAsync(state, [new JournalEntry { Id = "j0", InstanceId = "r-1", EventName = "Note", Timestamp = DateTimeOffset.UnixEpoch }], Ct);
        }

        using var reopened = OpenDefault();
        var loaded = await reopened.GetAsync("r-1", Ct);
        Assert.Equal(2, loaded!.Revision);
        Assert.Equal(DateTimeOffset.UnixEpoch.AddDays(1), await reopened.GetNextTimerAsync(Ct));
        Assert.Equal(1, (await reopened.GetJournalAsync("r-1", 0, 10, Ct)).TotalCount);
    }

    [Fact]
    public async Task Times_AreStoredAsUnixMilliseconds_UtcTruncatedToTheMillisecond()
    {
        var at = new DateTimeOffset(2026, 11, 26, 10, 0, 0, 250, TimeSpan.FromHours(2)).AddTicks(7_777); // .2507777 at +02:00
        using (var store = OpenDefault())
        {
            var state = new WorkflowState { Id = "t", DefinitionId = "d", DefinitionVersionId = "d-1", CreatedAt = at, UpdatedAt = at };
            await store.CreateAsync(state, [], Ct);
            Assert.True(await store.TryClaimSlotAsync("s", at, "me", at, Ct));
            Assert.Equal(at.AddTicks(-7_777), await store.GetLastSlotAsync("s", Ct));
            Assert.Equal(at, (await store.GetAsync("t", Ct))!.CreatedAt); // the state document keeps every tick
        }

        using var raw = Raw(directory.Combine("data", "drworkflows.db"));
        Assert.Equal(at.AddTicks(-7_777).ToUnixTimeMilliseconds(), Scalar(raw, "SELECT created_at FROM instances WHERE id = 't'"));
        Assert.Equal("integer", Scalar(raw, "SELECT typeof(slot) FROM schedule_slots"));
    }

    [Fact]
    public async Task Initialize_OnASchemaNewerThanTheCode_FailsWithAClearMessage()
    {
        using (var store = OpenDefault())
            await store.InitializeAsync(Ct);
        using (var raw = Raw(directory.Combine("data", "drworkflows.db")))
            Scalar(raw, "INSERT INTO schema_version (version, name, applied_at) VALUES (99, '0099_future', 0)");

        using var newer = OpenDefault();
        var error = await Assert.ThrowsAsync<StoreUnavailableException>(() => newer.InitializeAsync(Ct));

        Assert.Contains("schema version 99", error.Message, StringComparison.Ordinal);
        Assert.Contains($"only knows versions up to {Internal.Migration.Load("Sqlite").Count}", error.Message, StringComparison.Ordinal);
        Assert.Contains(directory.Combine("data", "drworkflows.db"), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Initialize_WhenTheDataDirectoryIsAFile_NamesThePath()
    {
        var blocker = directory.Combine("not-a-dir");
        await File.WriteAllTextAsync(blocker, "x", Ct);
        using var store = Open(new SqliteStoreOptions { DataDirectory = blocker });

        var error = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.InitializeAsync(Ct));

        Assert.Contains($"Cannot create the data directory '{blocker}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("DRW_DATA_DIR", error.Message, StringComparison.Ordinal);
        Assert.NotNull(error.InnerException);
    }

    [Fact]
    public async Task Initialize_WhenTheFileIsADirectory_NamesThePath()
    {
        var path = directory.Combine("db-as-dir");
        Directory.CreateDirectory(path);
        using var store = Open(new SqliteStoreOptions { ConnectionString = $"Data Source={path}" });

        var error = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.InitializeAsync(Ct));

        Assert.Contains($"'{path}' is a directory", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Initialize_OnAFileThatIsNotADatabase_SaysSo()
    {
        var path = directory.Combine("garbage.db");
        await File.WriteAllBytesAsync(path, [.. Enumerable.Range(0, 4096).Select(i => (byte)(i * 7))], Ct);
        using var store = Open(new SqliteStoreOptions { ConnectionString = $"Data Source={path}" });

        var error = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.InitializeAsync(Ct));

        Assert.Contains($"'{path}' is not a SQLite database", error.Message, StringComparison.Ordinal);
        Assert.IsType<SqliteException>(error.InnerException);
    }

    [Fact]
    public async Task ConcurrentCommits_AreGroupedWithoutLosingAny_AndOneConflictFailsOnlyItself()
    {
        using var store = OpenDefault();
        const int Runs = 40;
        var states = Enumerable.Range(0, Runs).Select(i => new WorkflowState
        {
            Id = $"g-{i}", DefinitionId = "d", DefinitionVersionId = "d-1", Status = WorkflowStatus.Running, SubStatus = WorkflowSubStatus.Executing,
        }).ToList();
        foreach (var s in states)
            await store.CreateAsync(s, [], Ct);
        var stale = (await store.GetAsync("g-0", Ct))!;
        await store.CommitAsync(states[0], [], Ct); // g-0 is now at revision 2; "stale" still says 1

        for (var round = 0; round < 5; round++)
        {
            var sequence = round;
            var commits = states.Select(s => Task.Run(
                () => store.CommitAsync(s, [new JournalEntry { Id = $"{s.Id}-{sequence}", InstanceId = s.Id, Sequence = sequence, EventName = "Note" }], Ct),
                Ct)).ToList();
            var conflict = round == 2 ? Task.Run(() => store.CommitAsync(stale, [], Ct), Ct) : Task.CompletedTask;

            await Task.WhenAll(commits);
            if (round == 2)
                await Assert.ThrowsAsync<ConcurrencyException>(() => conflict);
        }

        foreach (var s in states)
        {
            var stored = await store.GetAsync(s.Id, Ct);
            Assert.Equal(s.Revision, stored!.Revision);
            Assert.Equal(5, (await store.GetJournalAsync(s.Id, 0, 10, Ct)).TotalCount);
        }

        Assert.Equal(7, states[0].Revision);
        Assert.Equal(6, states[1].Revision);
    }

    [Fact]
    public async Task AWriteCancelledBeforeItStarts_IsNotWritten()
    {
        using var store = OpenDefault();
        await store.InitializeAsync(Ct);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => store.TryClaimSlotAsync("s", DateTimeOffset.UnixEpoch, "me", DateTimeOffset.UnixEpoch, cancelled.Token));

        Assert.True(await store.TryClaimSlotAsync("s", DateTimeOffset.UnixEpoch, "me", DateTimeOffset.UnixEpoch, Ct));
    }

    [Fact]
    public async Task StoreMethods_InitializeOnFirstUse()
    {
        using var store = OpenDefault();

        Assert.Null(await store.FindByIdAsync("nothing", Ct));
        Assert.True(File.Exists(directory.Combine("data", "drworkflows.db")));
    }

    [Theory]
    [InlineData(null, null, "set DataDirectory")]
    [InlineData(null, "Data Source=:memory:", "in-memory databases are not supported")]
    [InlineData(null, "Data Source=x.db;Mode=ReadOnly", "read-only")]
    [InlineData(null, "Nonsense Keyword=1", "not a valid SQLite connection string")]
    [InlineData("/var/lib/drw", null, null)]
    [InlineData(null, "Data Source=/var/lib/drw/x.db", null)]
    public void Options_AreValidated(string? dataDirectory, string? connectionString, string? expectedFailure)
    {
        var result = new SqliteStoreOptionsValidator().Validate(null, new SqliteStoreOptions { DataDirectory = dataDirectory, ConnectionString = connectionString });

        if (expectedFailure is null)
        {
            Assert.True(result.Succeeded, result.FailureMessage);
        }
        else
        {
            Assert.True(result.Failed);
            Assert.Contains(expectedFailure, result.FailureMessage, StringComparison.Ordinal);
        }
    }
}
