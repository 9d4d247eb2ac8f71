using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;

namespace DrWorkflows.Core.Runtime;

/// <summary>
/// The git commit a workflow version came from, recorded when the version is stored
/// (<see cref="Persistence.StoredWorkflowDefinition.SourceCommit"/>) and listed in the audit pack. It is either a commit
/// SHA (<see cref="IsCommit"/>) or a sentence starting with <see cref="NotInGit"/> that says why there is none, so an
/// absent commit never reads like one:
/// <list type="bullet">
/// <item>a file under <c>workflows/</c>: the HEAD commit of the checkout it was loaded from, when the file is
/// committed there unchanged; in a folder without <c>.git</c> (a published server), the commit in its
/// <see cref="StampFileName"/> while the file still has the SHA-256 stamped for it; otherwise <c>not in git</c> with
/// the reason (no checkout and no stamp, uncommitted change, changed after the publish);</item>
/// <item>a C# workflow: the source revision the build stamped into the assembly's informational version
/// (<c>1.0.0+&lt;sha&gt;</c>, the .NET SDK does it when it builds in a git checkout);</item>
/// <item>a version published from the workflows repository (GitOps): the merge commit in its <c>git:</c> origin;</item>
/// <item>a version made in the Studio or through the API: none (null); the audit pack says so.</item>
/// </list>
/// </summary>
public static class SourceCommits
{
    public const string NotInGit = "not in git";

    /// <summary>
    /// The stamp the publish writes at the top of the shipped <c>workflows/</c> folder (src/DrWorkflows.Server/SourceCommitStamp.targets):
    /// the commit and the SHA-256 of each file clean in git then. Never a workflow.
    /// </summary>
    public const string StampFileName = "SOURCE-COMMIT.json";

    /// <summary>Whether a path relative to a workflows folder is the <see cref="StampFileName"/> (only at its top), not a workflow.</summary>
    public static bool IsStamp(string relative) => relative == StampFileName;

    private static readonly TimeSpan GitTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Whether a recorded value is a commit SHA (SHA-1 or SHA-256, lower-case hex), not a reason for having none.</summary>
    public static bool IsCommit(string? value) =>
        value is { Length: 40 or 64 } && value.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');

    /// <summary>The source revision stamped into an assembly (<c>AssemblyInformationalVersion</c> <c>x.y.z+&lt;sha&gt;</c>), or why there is none.</summary>
    public static string OfAssembly(Assembly assembly)
    {
        var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        var plus = version?.LastIndexOf('+') ?? -1;
        var revision = plus >= 0 ? version![(plus + 1)..].ToLowerInvariant() : null;
        return IsCommit(revision)
            ? revision!
            : $"{NotInGit}: {assembly.GetName().Name} was built without a source revision (informational version '{version ?? "none"}'; build it in a git checkout)";
    }

    /// <summary>
    /// The commit each file under <paramref name="directory"/> came from: the checkout's HEAD for a file committed
    /// there unchanged (or, outside a checkout, the stamped commit of a file unchanged since the publish), or why not.
    /// <paramref name="files"/> are paths relative to the directory. Runs <c>git</c> twice.
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, string>> OfFilesAsync(string directory, IReadOnlyCollection<string> files, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var head = await GitAsync(directory, cancellationToken, "rev-parse", "--show-toplevel", "HEAD");
        var lines = head?.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines is not { Length: 2 } || !IsCommit(lines[1]))
            return await OfStampedFilesAsync(directory, files, cancellationToken);

        var (top, commit) = (lines[0], lines[1]);
        // Porcelain paths are relative to the top of the checkout; untracked and ignored files count as not committed.
        var status = await GitAsync(directory, cancellationToken, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignored", "--", ".");
        if (status is null)
        {
            foreach (var file in files)
                result[file] = $"{NotInGit}: git status failed in {directory}, so whether the files match commit {commit} is unknown";
            return result;
        }

        var changed = new HashSet<string>(StringComparer.Ordinal);
        var records = status.Split('\0', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < records.Length; i++)
        {
            if (records[i].Length < 4)
                continue;
            changed.Add(records[i][3..]);
            if (records[i][0] is 'R' or 'C')
                i++; // a rename or copy is followed by its old path
        }

        var root = Path.GetFullPath(directory);
        foreach (var file in files)
        {
            var fromTop = Path.GetRelativePath(top, Path.Combine(root, file)).Replace('\\', '/');
            result[file] = changed.Contains(fromTop) || changed.Any(c => c.EndsWith('/') && fromTop.StartsWith(c, StringComparison.Ordinal))
                ? $"{NotInGit}: the file has changes not committed on top of {commit}"
                : commit;
        }

        return result;
    }

    /// <summary>
    /// A folder that is not a git checkout (the published server's <c>workflows/</c>): the commit the publish stamped
    /// into <see cref="StampFileName"/>, for each file whose content still has the SHA-256 stamped for it; otherwise why not.
    /// </summary>
    private static async Task<Dictionary<string, string>> OfStampedFilesAsync(string directory, IReadOnlyCollection<string> files, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var path = Path.Combine(directory, StampFileName);
        var notACheckout = $"{NotInGit}: the workflows folder {directory} is not a git checkout with a commit (or git could not be run there)";
        if (!File.Exists(path))
        {
            foreach (var file in files)
                result[file] = $"{notACheckout}, and it has no {StampFileName} (the publish writes one when it runs in a git checkout)";
            return result;
        }

        SourceCommitStamp stamp;
        try
        {
            stamp = SourceCommitStamp.Parse(await File.ReadAllTextAsync(path, cancellationToken));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            foreach (var file in files)
                result[file] = $"{notACheckout}, and its {StampFileName} could not be read: {e.Message}";
            return result;
        }

        var root = Path.GetFullPath(directory);
        foreach (var file in files)
        {
            if (stamp.NotCommitted.TryGetValue(file, out var state))
            {
                result[file] = $"{NotInGit}: the file was {state}, not committed, when the publish stamped commit {stamp.Commit}";
            }
            else if (!stamp.Files.TryGetValue(file, out var stamped))
            {
                result[file] = $"{NotInGit}: the file is not in the {StampFileName} of commit {stamp.Commit} (added after the publish)";
            }
            else
            {
                string current;
                try
                {
                    await using var content = File.OpenRead(Path.Combine(root, file));
                    current = Convert.ToHexStringLower(await SHA256.HashDataAsync(content, cancellationToken));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    result[file] = $"{NotInGit}: the file could not be read to compare it with commit {stamp.Commit}: {e.Message}";
                    continue;
                }

                result[file] = current == stamped
                    ? stamp.Commit
                    : $"{NotInGit}: the file differs from its copy in commit {stamp.Commit} (SHA-256 {current}, stamped {stamped}: changed after the publish)";
            }
        }

        return result;
    }

    private static async Task<string?> GitAsync(string directory, CancellationToken cancellationToken, params string[] arguments)
    {
        var start = new ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-C");
        start.ArgumentList.Add(directory);
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        // A checkout owned by another user (a mounted volume) is still read: the commit is only recorded, never acted on.
        start.Environment["GIT_CONFIG_COUNT"] = "1";
        start.Environment["GIT_CONFIG_KEY_0"] = "safe.directory";
        start.Environment["GIT_CONFIG_VALUE_0"] = "*";
        Process? process;
        try
        {
            process = Process.Start(start);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // no git on the PATH
        }

        if (process is null)
            return null;
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var error = process.StandardError.ReadToEndAsync(cancellationToken);
            // A git that hangs (a stale lock, a slow network file system) must not hold up loading the workflows.
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(GitTimeout);
            try
            {
                await process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                if (cancellationToken.IsCancellationRequested)
                    throw;
                return null;
            }

            var text = await output;
            await error;
            return process.ExitCode == 0 ? text : null;
        }
    }
}
