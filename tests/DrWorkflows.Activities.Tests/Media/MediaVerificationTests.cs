using System.Security.Cryptography;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Media;
using DrWorkflows.Activities.Tests.Backups;
using DrWorkflows.Activities.Throwaway;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Testing;

namespace DrWorkflows.Activities.Tests.Media;

/// <summary>
/// Media sets are verified by restoring them: each new set is restored from its store into a throwaway folder and every
/// file read back against the file map (count, size, SHA-256); the folder is in the throwaway ledger and gone afterwards,
/// and the verdict is recorded per set and store like the other kinds.
/// </summary>
public sealed class MediaVerificationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_new_set_is_restored_into_a_throwaway_folder_checked_file_by_file_and_the_folder_is_removed()
    {
        using var scratch = new TempDirectory("media-verify");
        await using var host = BackupTestHost.Create(media: o => o.VerificationDirectory = scratch.FullPath);
        using var volume = new TempDirectory("media");
        Write(volume.FullPath, "uploads/a.jpg", RandomNumberGenerator.GetBytes(40_000));
        Write(volume.FullPath, "uploads/b.jpg", RandomNumberGenerator.GetBytes(1_000));
        Write(volume.FullPath, "empty.txt", []);
        Directory.CreateDirectory(volume.Combine("uploads", "2026"));
        await host.Media.BackupAsync(new MediaBackupRequest(volume.FullPath, "uploads", "exec-m1"), Ct);
        var verifier = host.Get<MediaSetVerifier>();

        var result = await verifier.VerifyNewAsync("uploads", null, Ct);

        Assert.True(result.Succeeded, string.Join("; ", result.Problems));
        var line = Assert.Single(result.Verified);
        Assert.Contains("media/uploads (local): set exec-m1 verified, restored from store 'local' into a throwaway folder and read back: 3 file(s), 41000 bytes", line, StringComparison.Ordinal);
        var set = Assert.Single(await host.Catalog.ListAsync("local", BackupKinds.Media, "uploads", Ct));
        Assert.True(set.Manifest.Verification is { Succeeded: true }, "the verdict was not recorded on the set");
        Assert.StartsWith("restored from store 'local'", set.Manifest.Verification!.Method, StringComparison.Ordinal);
        await NothingLeftAsync(host, scratch);

        // Verified once: a second pass finds nothing new.
        var again = await verifier.VerifyNewAsync("uploads", null, Ct);
        Assert.Empty(again.Verified);
        Assert.Empty(again.Problems);
    }

    [Fact]
    public async Task A_set_whose_content_or_file_map_does_not_match_fails_with_the_file_named_and_nothing_is_left_behind()
    {
        using var scratch = new TempDirectory("media-verify");
        await using var host = BackupTestHost.Create(media: o => o.VerificationDirectory = scratch.FullPath);
        using var volume = new TempDirectory("media");
        Write(volume.FullPath, "uploads/a.jpg", RandomNumberGenerator.GetBytes(4_000));
        await host.Media.BackupAsync(new MediaBackupRequest(volume.FullPath, "uploads", "exec-m1"), Ct);
        var verifier = host.Get<MediaSetVerifier>();
        Assert.True((await verifier.VerifyNewAsync("uploads", ["local"], Ct)).Succeeded);

        // A new file whose content object is damaged in the store after the backup (same size, other bytes).
        Write(volume.FullPath, "uploads/new.jpg", RandomNumberGenerator.GetBytes(2_000));
        await host.Media.BackupAsync(new MediaBackupRequest(volume.FullPath, "uploads", "exec-m2"), Ct);
        var second = (await host.Catalog.ListAsync("local", BackupKinds.Media, "uploads", Ct)).Single(s => s.Id == "exec-m2");
        var damaged = (await host.Media.ReadFileMapAsync(second, Ct)).Files.Single(f => f.Path == "uploads/new.jpg");
        await File.WriteAllBytesAsync(Path.Combine(host.LocalStoreDirectory, damaged.Key), RandomNumberGenerator.GetBytes(2_000), Ct);

        var result = await verifier.VerifyNewAsync("uploads", ["local"], Ct);

        Assert.False(result.Succeeded);
        Assert.Empty(result.Verified);
        var problem = Assert.Single(result.Problems);
        Assert.StartsWith("media/uploads (local): set exec-m2 did not pass verification: the restore from store 'local' failed:", problem, StringComparison.Ordinal);
        Assert.Contains("uploads/new.jpg", problem, StringComparison.Ordinal);
        second = (await host.Catalog.ListAsync("local", BackupKinds.Media, "uploads", Ct)).Single(s => s.Id == "exec-m2");
        Assert.True(second.Manifest.Verification is { Succeeded: false }, "the failed verdict was not recorded");
        await NothingLeftAsync(host, scratch);
    }

    private static async Task NothingLeftAsync(BackupTestHost host, TempDirectory scratch)
    {
        Assert.Empty(Directory.EnumerateFileSystemEntries(scratch.FullPath));
        var ledger = host.Get<IThrowawayResourceStore>();
        Assert.Empty(await ledger.ListAsync(new ThrowawayQuery(State: ThrowawayState.Live), Ct));
        Assert.Contains(await ledger.ListAsync(new ThrowawayQuery(), Ct), r => r.Kind == ThrowawayKinds.Directory && r.Name.StartsWith(Path.Combine(scratch.FullPath, "drw-media-verify-"), StringComparison.Ordinal) && r.State == ThrowawayState.Released);
    }

    private static void Write(string root, string relative, byte[] content)
    {
        var path = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
    }
}
