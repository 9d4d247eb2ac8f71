using System.Formats.Tar;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Backups.Pipeline;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Throwaway;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.DockerConfig;

/// <summary>The image a service runs: its reference and its content digest (the image ID), to pin it.</summary>
public sealed record RunningImage(string Service, string Container, string Image, string? Digest)
{
    /// <summary><c>image@sha256:…</c> when the digest is known (the line to pin in a Compose file), else the reference.</summary>
    public string Pinned => Digest is { Length: > 0 } d ? $"{Image.Split('@')[0]}@{d}" : Image;
}

/// <summary>One deployment's configuration backup.</summary>
public sealed record DockerConfigBackupRequest(string SetId)
{
    public string? Store { get; init; }

    /// <summary>What was deployed (a version, a pipeline run), for the commit message and the manifest.</summary>
    public string? Deployment { get; init; }

    /// <summary>Back up only when the files or the image digests differ from the newest set (the scheduled check).</summary>
    public bool OnlyWhenChanged { get; init; }

    public string? WorkflowInstanceId { get; init; }
}

/// <summary>What a configuration backup did. <see cref="Changed"/> false: nothing differed, nothing was written.</summary>
public sealed record DockerConfigBackupResult(bool Changed, BackupSetSummary? Backup, string? GitCommit, string Fingerprint, IReadOnlyList<string> Files, IReadOnlyList<RunningImage> Images, IReadOnlyList<string> RedactedKeys, string? UnchangedSince);

/// <summary>Which configuration to restore, and where.</summary>
public sealed record DockerConfigRestoreRequest(string Directory)
{
    /// <summary>Set id; null for the newest set.</summary>
    public string? SetId { get; init; }

    public string? Store { get; init; }

    /// <summary>
    /// Allows <see cref="Directory"/> to be the live project directory (after an approval): the Compose files are
    /// written over the live ones; the env files, whose secrets were removed, are written next to them as
    /// <c>{name}.from-backup</c>, never over them.
    /// </summary>
    public bool IntoLiveProject { get; init; }
}

public sealed record DockerConfigRestoreResult(string Store, string SetId, DateTimeOffset TakenAt, string Directory, IReadOnlyList<string> Files, IReadOnlyList<RunningImage> Images, string? GitCommit)
{
    /// <summary>The images to pin, one line per service: <c>service: image@sha256:…</c>.</summary>
    public IReadOnlyList<string> PinnedImages => [.. Images.Select(i => $"{i.Service}: {i.Pinned}")];
}

/// <summary>
/// Backs up the Docker configuration of a deployment (kind <c>docker-config</c>): Compose files, env files without
/// secrets and the running images' digests, committed to git (one commit per deployment) and stored as a set (one tar
/// archive), and restores a chosen version's files into a directory.
/// </summary>
public interface IDockerConfigBackupService
{
    Task<DockerConfigBackupResult> BackupAsync(DockerConfigBackupRequest request, CancellationToken cancellationToken);

    Task<DockerConfigRestoreResult> RestoreAsync(DockerConfigRestoreRequest request, CancellationToken cancellationToken);
}

internal sealed partial class DockerConfigBackupService(
    IOptions<DockerConfigBackupOptions> options,
    IOptions<DockerOptions> dockerOptions,
    IDockerService docker,
    IBackupCatalog catalog,
    IBackupCodecs codecs,
    IThrowawayLedger ledger,
    TimeProvider clock,
    ILogger<DockerConfigBackupService> logger) : IDockerConfigBackupService
{
    internal const string ImagesFile = "images.json";
    private const string ArchiveName = "docker-config.tar";

    private DockerConfigBackupOptions Settings => options.Value;

    public async Task<DockerConfigBackupResult> BackupAsync(DockerConfigBackupRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var repository = Settings.GitRepository is { Length: > 0 } r
            ? r
            : throw new BackupException(BackupErrorCodes.InvalidRequest, "Backups:DockerConfig:GitRepository is empty: name the git repository the configuration is committed to (a URL or the path of a local repository).");
        var (files, redacted, envFiles) = await ReadFilesAsync(cancellationToken);
        var images = await RunningImagesAsync(cancellationToken);
        files[ImagesFile] = JsonSerializer.SerializeToUtf8Bytes(images, ImagesJson);
        var fingerprint = Fingerprint(files);

        if (request.OnlyWhenChanged)
        {
            var sets = await catalog.ListAsync(request.Store, BackupKinds.DockerConfig, Settings.Source, cancellationToken);
            var newest = sets.Count > 0 ? sets[0] : null;
            if (newest is not null && newest.Manifest.Properties.TryGetValue("fingerprint", out var previous) && previous == fingerprint)
            {
                Log.Unchanged(logger, Settings.Source, newest.Id);
                return new DockerConfigBackupResult(false, null, newest.Manifest.Properties.GetValueOrDefault("gitCommit"), fingerprint, [.. files.Keys], images, redacted, newest.Id);
            }
        }

        var commit = await CommitAsync(repository, files, request, cancellationToken);
        Log.Committed(logger, Settings.Source, commit, redacted.Count);

        await using var encoding = await codecs.BeginEncodingAsync(cancellationToken);
        await using var writer = await catalog.BeginAsync(new BackupSetRequest(BackupKinds.DockerConfig, Settings.Source, request.SetId) { Store = request.Store }, cancellationToken);
        await TarSetFiles.WriteAsync(writer, ArchiveName, encoding, (stream, ct) => WriteTarAsync(stream, files, ct), logger, cancellationToken);
        var manifest = writer.Manifest;
        manifest.CompletedAt = clock.GetUtcNow();
        manifest.Origin = $"Compose project {dockerOptions.Value.ComposeProject ?? "(unnamed)"} in {ProjectDirectory()} on {docker.Endpoint}";
        manifest.Compression = encoding.Compression;
        manifest.Encryption = encoding.Encryption;
        foreach (var (tool, version) in encoding.Tools)
            manifest.Tools[tool] = version;
        manifest.WorkflowInstanceId = request.WorkflowInstanceId;
        manifest.Properties["format"] = "tar of the project files and images.json";
        manifest.Properties["fingerprint"] = fingerprint;
        manifest.Properties["gitCommit"] = commit;
        manifest.Properties["gitRepository"] = RedactUrl(repository);
        manifest.Properties["gitBranch"] = Settings.GitBranch;
        manifest.Properties["files"] = string.Join(",", files.Keys);
        manifest.Properties["envFiles"] = string.Join(",", envFiles);
        manifest.Properties["redactedKeys"] = string.Join(",", redacted);
        if (request.Deployment is { Length: > 0 } deployment)
            manifest.Properties["deployment"] = deployment;
        var set = await writer.CompleteAsync(clock, cancellationToken);
        return new DockerConfigBackupResult(true, BackupSetSummary.From(set), commit, fingerprint, [.. files.Keys], images, redacted, null);
    }

    public async Task<DockerConfigRestoreResult> RestoreAsync(DockerConfigRestoreRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrWhiteSpace(request.Directory))
            throw new BackupException(BackupErrorCodes.InvalidRequest, "Name the directory to restore the Docker configuration into (Directory).");
        var directory = Path.GetFullPath(request.Directory);
        var live = ProjectDirectory() is { Length: > 0 } project ? Path.GetFullPath(project) : null;
        var intoLive = live is not null && string.Equals(directory.TrimEnd('/'), live.TrimEnd('/'), StringComparison.Ordinal);
        if (intoLive && !request.IntoLiveProject)
            throw new BackupException(BackupErrorCodes.InvalidRequest, $"{directory} is the live Compose project directory: restoring into it needs IntoLiveProject (after an approval). Restore into another directory and compare first.");
        if (!intoLive && Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any())
            throw new BackupException(BackupErrorCodes.InvalidRequest, $"{directory} is not empty: restore into a new or empty directory, so that nothing there is overwritten.");

        var set = request.SetId is { Length: > 0 } id
            ? await catalog.FindAsync(request.Store, BackupKinds.DockerConfig, Settings.Source, id, cancellationToken)
                ?? throw new BackupException(BackupErrorCodes.NoRestorePoint, $"No Docker configuration set '{id}' of '{Settings.Source}' exists in store '{request.Store ?? "default"}'. List them with ListBackups (kind docker-config).")
            : await NewestAsync(request.Store, cancellationToken)
                ?? throw new BackupException(BackupErrorCodes.NoRestorePoint, $"No Docker configuration backup of '{Settings.Source}' exists in store '{request.Store ?? "default"}'. Run backup-docker-config first.");

        var contents = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        await using (var decoding = await codecs.BeginDecodingAsync(set.Manifest, null, cancellationToken))
        {
            await TarSetFiles.ReadAsync(catalog, set, set.Manifest.MainFile, decoding, async (tar, ct) =>
            {
                await using var reader = new TarReader(tar, leaveOpen: true);
                while (await reader.GetNextEntryAsync(copyData: true, ct) is { } entry)
                {
                    if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null)
                        continue;
                    using var buffer = new MemoryStream();
                    await entry.DataStream.CopyToAsync(buffer, ct);
                    contents[SafeRelativePath(entry.Name, set)] = buffer.ToArray();
                }
            }, logger, cancellationToken);
        }

        Directory.CreateDirectory(directory);
        var written = new List<string>();
        var envFiles = (set.Manifest.Properties.GetValueOrDefault("envFiles") ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, bytes) in contents)
        {
            // Over the live project the env files (secrets removed) never replace the live ones.
            var target = intoLive && envFiles.Contains(name) ? name + ".from-backup" : name;
            var path = Path.Combine(directory, target);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var temp = path + ".drw-partial";
            await File.WriteAllBytesAsync(temp, bytes, cancellationToken);
            File.Move(temp, path, overwrite: true);
            written.Add(target);
        }

        var images = contents.TryGetValue(ImagesFile, out var json) ? JsonSerializer.Deserialize<List<RunningImage>>(json, ImagesJson) ?? [] : [];
        Log.Restored(logger, set.Id, directory, written.Count);
        return new DockerConfigRestoreResult(set.Store, set.Id, set.Manifest.StartedAt, directory, written, images, set.Manifest.Properties.GetValueOrDefault("gitCommit"));
    }

    private async Task<BackupSet?> NewestAsync(string? store, CancellationToken cancellationToken)
    {
        var sets = await catalog.ListAsync(store, BackupKinds.DockerConfig, Settings.Source, cancellationToken);
        return sets.Count > 0 ? sets[0] : null;
    }

    private string? ProjectDirectory() => Settings.ProjectDirectory is { Length: > 0 } p ? p : dockerOptions.Value.ComposeProjectDirectory;

    /// <summary>The project's files as they go to git and the set (names relative to the project), secrets removed.</summary>
    private async Task<(SortedDictionary<string, byte[]> Files, List<string> Redacted, List<string> EnvFiles)> ReadFilesAsync(CancellationToken cancellationToken)
    {
        var project = ProjectDirectory() is { Length: > 0 } p
            ? Path.GetFullPath(p)
            : throw new BackupException(BackupErrorCodes.InvalidRequest, "No project directory: set Backups:DockerConfig:ProjectDirectory or Docker:ComposeProjectDirectory.");
        var compose = Settings.ComposeFiles.Count > 0 ? Settings.ComposeFiles : [.. dockerOptions.Value.ComposeFiles];
        if (compose.Count == 0)
            throw new BackupException(BackupErrorCodes.InvalidRequest, "No Compose file: set Backups:DockerConfig:ComposeFiles or Docker:ComposeFiles.");
        var env = Settings.EnvFiles.Count > 0 ? Settings.EnvFiles : File.Exists(Path.Combine(project, ".env")) ? [".env"] : [];

        var secretValues = new HashSet<string>(StringComparer.Ordinal);
        var files = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        var redacted = new List<string>();
        // Env files first: the secret values they hold are then removed from the Compose files too.
        foreach (var file in env)
        {
            var stripped = SecretStripper.StripEnvFile(await ReadAsync(project, file, "env file", cancellationToken), Settings.Words, secretValues);
            files[RelativeName(project, file)] = Encoding.UTF8.GetBytes(stripped.Text);
            redacted.AddRange(stripped.RedactedKeys.Select(k => $"{RelativeName(project, file)}:{k}"));
        }

        foreach (var file in compose)
        {
            var stripped = SecretStripper.StripComposeFile(await ReadAsync(project, file, "Compose file", cancellationToken), Settings.Words, secretValues);
            files[RelativeName(project, file)] = Encoding.UTF8.GetBytes(stripped.Text);
            redacted.AddRange(stripped.RedactedKeys.Select(k => $"{RelativeName(project, file)}:{k}"));
        }

        // Files read before a secret was found in a later one are stripped of it too.
        foreach (var name in files.Keys.ToList())
        {
            var text = Encoding.UTF8.GetString(files[name]);
            foreach (var value in secretValues.Where(v => v.Length >= 4).OrderByDescending(v => v.Length))
                text = text.Replace(value, SecretStripper.Placeholder, StringComparison.Ordinal);
            files[name] = Encoding.UTF8.GetBytes(text);
        }

        return (files, redacted, [.. env.Select(f => RelativeName(project, f))]);
    }

    private static async Task<string> ReadAsync(string project, string file, string what, CancellationToken cancellationToken)
    {
        var path = Path.IsPathRooted(file) ? file : Path.Combine(project, file);
        return File.Exists(path)
            ? await File.ReadAllTextAsync(path, cancellationToken)
            : throw new BackupException(BackupErrorCodes.NotFound, $"The {what} {path} does not exist: check Backups:DockerConfig (or Docker:ComposeFiles).");
    }

    private static string RelativeName(string project, string file)
    {
        var path = Path.GetFullPath(Path.IsPathRooted(file) ? file : Path.Combine(project, file));
        var relative = Path.GetRelativePath(project, path);
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? Path.GetFileName(path) : relative.Replace('\\', '/');
    }

    private async Task<List<RunningImage>> RunningImagesAsync(CancellationToken cancellationToken)
    {
        var project = dockerOptions.Value.ComposeProject is { Length: > 0 } name
            ? name
            : throw new BackupException(BackupErrorCodes.InvalidRequest, "Docker:ComposeProject is empty: the running images of the deployment cannot be found.");
        var containers = await docker.ListContainersAsync(new ContainerSelector { ComposeProject = project }, null, cancellationToken);
        return [.. containers
            .Select(c => new RunningImage(c.ComposeService ?? c.Name, c.Name, c.Image, c.ImageId))
            .OrderBy(i => i.Service, StringComparer.Ordinal).ThenBy(i => i.Container, StringComparer.Ordinal)];
    }

    private static string Fingerprint(SortedDictionary<string, byte[]> files)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, bytes) in files)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(name + "\n" + bytes.Length.ToString(CultureInfo.InvariantCulture) + "\n"));
            hash.AppendData(bytes);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static async Task WriteTarAsync(Stream stream, SortedDictionary<string, byte[]> files, CancellationToken cancellationToken)
    {
        await using var writer = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true);
        foreach (var (name, bytes) in files)
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(bytes), Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead };
            await writer.WriteEntryAsync(entry, cancellationToken);
        }
    }

    /// <summary>One commit per deployment (empty when nothing changed in the files: the deployment is still recorded), pushed to the branch.</summary>
    private async Task<string> CommitAsync(string repository, SortedDictionary<string, byte[]> files, DockerConfigBackupRequest request, CancellationToken cancellationToken)
    {
        await using var work = await ledger.CreateDirectoryAsync(ThrowawayFiles.NewPath("drw-docker-config-"), "working copy of the Docker configuration repository", cancellationToken);
        var dir = work.Name;
        await GitAsync(["init", "--quiet", dir], cancellationToken);
        var fetched = await GitAsync(["-C", dir, "fetch", "--quiet", "--depth", "1", repository, "refs/heads/" + Settings.GitBranch], cancellationToken, allowFailure: true);
        if (fetched)
            await GitAsync(["-C", dir, "checkout", "--quiet", "-B", Settings.GitBranch, "FETCH_HEAD"], cancellationToken);
        else
            await GitAsync(["-C", dir, "checkout", "--quiet", "-B", Settings.GitBranch], cancellationToken);

        var folder = Path.Combine(dir, BackupKeysSegment(Settings.Source));
        if (Directory.Exists(folder))
            Directory.Delete(folder, recursive: true);
        foreach (var (name, bytes) in files)
        {
            var path = Path.Combine(folder, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllBytesAsync(path, bytes, cancellationToken);
        }

        await GitAsync(["-C", dir, "add", "--all"], cancellationToken);
        var message = $"{Settings.Source}: Docker configuration of deployment {request.Deployment ?? "(unnamed)"}\n\nSet {request.SetId}, taken by DrWorkflows at {clock.GetUtcNow():u}; secret values removed.";
        await GitAsync(["-C", dir, "-c", "user.name=" + Settings.GitAuthorName, "-c", "user.email=" + Settings.GitAuthorEmail, "-c", "commit.gpgsign=false",
            "commit", "--quiet", "--allow-empty", "-m", message], cancellationToken);
        await GitAsync(["-C", dir, "push", "--quiet", repository, "HEAD:refs/heads/" + Settings.GitBranch], cancellationToken);
        return (await GitOutputAsync(["-C", dir, "rev-parse", "HEAD"], cancellationToken)).Trim();
    }

    private async Task<bool> GitAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken, bool allowFailure = false)
    {
        var result = await ToolRunner.RunAsync("git", arguments, cancellationToken, GitEnvironment, Settings.GitTimeout);
        if (result.ExitCode == 0 || allowFailure)
            return result.ExitCode == 0;
        throw new BackupException(BackupErrorCodes.ToolFailed,
            $"git {arguments.FirstOrDefault(a => !a.StartsWith('-') && a != "-C" && !Path.IsPathRooted(a)) ?? arguments[0]} failed for the repository {RedactUrl(Settings.GitRepository ?? string.Empty)} (exit {result.ExitCode}): {RedactUrl(result.StandardError.Trim())}");
    }

    private async Task<string> GitOutputAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var result = await ToolRunner.RunAsync("git", arguments, cancellationToken, GitEnvironment, Settings.GitTimeout);
        return result.ExitCode == 0 ? result.StandardOutput : throw new BackupException(BackupErrorCodes.ToolFailed, $"git {string.Join(' ', arguments.Skip(2))} failed: {RedactUrl(result.StandardError.Trim())}");
    }

    private static readonly Dictionary<string, string?> GitEnvironment = new(StringComparer.Ordinal)
    {
        ["GIT_TERMINAL_PROMPT"] = "0",
        ["GIT_CONFIG_NOSYSTEM"] = "1",
    };

    /// <summary>A URL without the user and password it may carry.</summary>
    internal static string RedactUrl(string text) => UserInfo().Replace(text, "://***@");

    private static string BackupKeysSegment(string source) => Storage.BackupKeys.Segment(source);

    private static string SafeRelativePath(string name, BackupSet set)
    {
        var clean = name.Replace('\\', '/').TrimStart('/');
        return clean.Split('/').Any(p => p is ".." or "") || Path.IsPathRooted(clean)
            ? throw new BackupException(BackupErrorCodes.ChecksumMismatch, $"Set {set} holds the entry '{name}', which points outside the restore directory; it is refused.")
            : clean;
    }

    private static readonly JsonSerializerOptions ImagesJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    [GeneratedRegex(@"://[^/@\s]+@")]
    private static partial Regex UserInfo();
}
