using DrWorkflows.Activities.Postgres;
using DrWorkflows.Activities.Tests.Backups;
using DrWorkflows.Activities.Tests.Postgres;
using DrWorkflows.Activities.Throwaway;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Testing;

namespace DrWorkflows.Activities.Tests.Throwaway;

/// <summary>
/// A verification records everything it creates for itself before creating it (the throwaway database, the private
/// folders of the restore with the decrypted dump and the .pgpass, the pipes between the programs) and releases each
/// after removing it: a normal run leaves nothing live in the ledger, and nothing on disk or on the server.
/// </summary>
public sealed class VerificationLedgerTests
{
    [Fact]
    public async Task A_verification_records_its_throwaway_database_and_private_folders_first_and_releases_them_all()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        await using var source = await SampleDatabase.CreateAsync(120, ct);
        using var scratch = new TempDirectory("verify-scratch");
        await using var host = BackupTestHost.Create(postgres: o => o.TempDirectory = scratch.FullPath);
        var server = BackupTestHost.TestServer(serverConnection);
        await host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(server, source.Name, "exec-l1"), ct);
        var ledger = host.Get<IThrowawayResourceStore>();
        var before = (await ledger.ListAsync(new ThrowawayQuery(), ct)).Count;

        VerificationReport report;
        using (ActivityAttempt.Enter(ThrowawayLedgerTests.Attempt("run-l", "exec-v", 1)))
            report = await host.Get<IBackupVerifier>().VerifyAsync(new VerifyBackupRequest(source.Name) { Server = server }, ct);

        Assert.True(report.Succeeded, string.Join("\n", report.Problems));
        var rows = await ledger.ListAsync(new ThrowawayQuery(InstanceId: "run-l"), ct);
        Assert.Equal(rows.Count, (await ledger.ListAsync(new ThrowawayQuery(), ct)).Count - before);
        Assert.All(rows, r => Assert.Equal((ThrowawayState.Released, "exec-v", 1), (r.State, r.ExecutionId, r.Attempt)));
        var database = Assert.Single(rows, r => r.Kind == ThrowawayKinds.PostgresDatabase);
        Assert.StartsWith("drw_verify_", database.Name, StringComparison.Ordinal);
        Assert.Equal("test", database.Location);
        var restoreFolder = Assert.Single(rows, r => r.Kind == ThrowawayKinds.Directory && r.Name.StartsWith(Path.Combine(scratch.FullPath, "drwrestore-"), StringComparison.Ordinal));
        Assert.Contains(".pgpass", restoreFolder.Description, StringComparison.Ordinal);
        Assert.Empty(await ledger.ListAsync(new ThrowawayQuery(State: ThrowawayState.Live), ct));
        Assert.Empty(Directory.EnumerateFileSystemEntries(scratch.FullPath));
        Assert.Equal(0L, await SampleDatabase.ScalarAsync(serverConnection, $"SELECT count(*) FROM pg_database WHERE datname = '{database.Name}'", ct));
    }
}
