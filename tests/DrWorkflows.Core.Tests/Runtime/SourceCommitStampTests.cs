using System.Security.Cryptography;
using System.Text;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Testing;

namespace DrWorkflows.Core.Tests.Runtime;

/// <summary>
/// A published workflows folder (no .git) with the publish's SOURCE-COMMIT.json: a file gets the stamped commit only
/// while its content has the stamped SHA-256. The temp folders are outside any git checkout.
/// </summary>
public class SourceCommitStampTests
{
    private const string Commit = "0123456789abcdef0123456789abcdef01234567";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_file_unchanged_since_the_stamp_gets_the_stamped_commit()
    {
        using var folder = Published(out var stampedAs, ("backup.json", "{\"a\":1}"), ("nested/restore.json", "{\"b\":2}"));
        await WriteStampAsync(folder, stampedAs, notCommitted: "{}");

        var commits = await SourceCommits.OfFilesAsync(folder.FullPath, ["backup.json", "nested/restore.json"], Ct);

        Assert.Equal(Commit, commits["backup.json"]);
        Assert.Equal(Commit, commits["nested/restore.json"]);
    }

    [Fact]
    public async Task A_file_edited_after_the_stamp_says_it_differs_from_the_commit()
    {
        using var folder = Published(out var stampedAs, ("backup.json", "{\"a\":1}"));
        await WriteStampAsync(folder, stampedAs, notCommitted: "{}");
        await File.WriteAllTextAsync(folder.Combine("backup.json"), "{\"a\":2}", Ct);

        var reason = (await SourceCommits.OfFilesAsync(folder.FullPath, ["backup.json"], Ct))["backup.json"];

        Assert.False(SourceCommits.IsCommit(reason));
        Assert.StartsWith($"not in git: the file differs from its copy in commit {Commit} (SHA-256 {Sha256("{\"a\":2}")}, stamped {Sha256("{\"a\":1}")}", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_file_not_in_the_stamp_or_dirty_when_stamped_gets_no_commit()
    {
        using var folder = Published(out var stampedAs, ("backup.json", "{\"a\":1}"));
        await File.WriteAllTextAsync(folder.Combine("added.json"), "{}", Ct);
        await File.WriteAllTextAsync(folder.Combine("draft.json"), "{}", Ct);
        await WriteStampAsync(folder, stampedAs, notCommitted: """{ "draft.json": "modified" }""");

        var commits = await SourceCommits.OfFilesAsync(folder.FullPath, ["backup.json", "added.json", "draft.json"], Ct);

        Assert.Equal(Commit, commits["backup.json"]);
        Assert.Equal($"not in git: the file is not in the SOURCE-COMMIT.json of commit {Commit} (added after the publish)", commits["added.json"]);
        Assert.Equal($"not in git: the file was modified, not committed, when the publish stamped commit {Commit}", commits["draft.json"]);
    }

    [Theory]
    [InlineData("not json at all", "it is not valid JSON")]
    [InlineData("[]", "it is not a JSON object")]
    [InlineData("""{ "files": {}, "notCommitted": {} }""", "'commit' is not a commit SHA ('missing')")]
    [InlineData("""{ "commit": "0123456789abcdef0123456789abcdef01234567", "commit": "0123456789abcdef0123456789abcdef01234567", "files": {}, "notCommitted": {} }""", "it is not a valid stamp")]
    [InlineData("""{ "commit": "HEAD", "files": {}, "notCommitted": {} }""", "'commit' is not a commit SHA ('\"HEAD\"')")]
    [InlineData("""{ "commit": "0123456789abcdef0123456789abcdef01234567", "notCommitted": {} }""", "'files' is missing or not an object")]
    [InlineData("""{ "commit": "0123456789abcdef0123456789abcdef01234567", "files": { "backup.json": 1 }, "notCommitted": {} }""", "'files.backup.json' is not a string")]
    [InlineData("""{ "commit": "0123456789abcdef0123456789abcdef01234567", "files": { "backup.json": "ABC" }, "notCommitted": {} }""", "'files' holds 'ABC', not a lower-case SHA-256")]
    public async Task A_stamp_that_does_not_parse_is_a_reason_not_an_exception(string stamp, string why)
    {
        using var folder = Published(out _, ("backup.json", "{\"a\":1}"));
        await File.WriteAllTextAsync(folder.Combine(SourceCommits.StampFileName), stamp, Ct);

        var reason = (await SourceCommits.OfFilesAsync(folder.FullPath, ["backup.json"], Ct))["backup.json"];

        Assert.StartsWith($"not in git: the workflows folder {folder.FullPath} is not a git checkout", reason, StringComparison.Ordinal);
        Assert.Contains($"its SOURCE-COMMIT.json could not be read: {why}", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_stamp_the_folder_is_not_in_git()
    {
        using var folder = Published(out _, ("backup.json", "{\"a\":1}"));

        var reason = (await SourceCommits.OfFilesAsync(folder.FullPath, ["backup.json"], Ct))["backup.json"];

        Assert.Equal($"not in git: the workflows folder {folder.FullPath} is not a git checkout with a commit (or git could not be run there), and it has no SOURCE-COMMIT.json (the publish writes one when it runs in a git checkout)", reason);
    }

    [Theory]
    [InlineData("SOURCE-COMMIT.json", true)]
    [InlineData("nested/SOURCE-COMMIT.json", false)]
    [InlineData("source-commit.json", false)]
    [InlineData("backup.json", false)]
    public void Only_the_stamp_at_the_top_of_the_folder_is_the_stamp(string relative, bool stamp) => Assert.Equal(stamp, SourceCommits.IsStamp(relative));

    private static TempDirectory Published(out Dictionary<string, string> stampedAs, params (string Path, string Content)[] files)
    {
        var folder = new TempDirectory("published-workflows");
        stampedAs = [];
        foreach (var (path, content) in files)
        {
            var full = folder.Combine(path.Split('/'));
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, content);
            stampedAs[path] = Sha256(content);
        }

        return folder;
    }

    private static Task WriteStampAsync(TempDirectory folder, Dictionary<string, string> stampedAs, string notCommitted) =>
        File.WriteAllTextAsync(folder.Combine(SourceCommits.StampFileName),
            $$"""{ "commit": "{{Commit}}", "files": { {{string.Join(", ", stampedAs.Select(f => $"\"{f.Key}\": \"{f.Value}\""))}} }, "notCommitted": {{notCommitted}} }""", Ct);

    private static string Sha256(string content) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)));
}
