using System.Formats.Tar;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Docker.DotNet;
using Docker.DotNet.Models;
using DrWorkflows.Activities.Throwaway;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Docker;

internal sealed class DockerService : IDockerService, IDisposable
{
    internal const string ComposeProjectLabel = "com.docker.compose.project";
    internal const string ComposeServiceLabel = "com.docker.compose.service";
    internal const string ComposeOneOffLabel = "com.docker.compose.oneoff";
    internal const string HelperLabel = "org.drworkflows.helper";
    private const string HelperMount = "/drw-volume";

    private readonly DockerOptions options;
    private readonly TimeProvider clock;
    private readonly ILogger logger;
    private readonly IThrowawayLedger ledger;
    private readonly Lazy<DockerClient> client;
    private readonly SemaphoreSlim helperImageGate = new(1, 1);
    private string? helperImage;

    public DockerService(IOptions<DockerOptions> options, TimeProvider clock, ILogger<DockerService> logger, IThrowawayLedger? ledger = null)
    {
        this.options = options.Value;
        this.clock = clock;
        this.logger = logger;
        this.ledger = ledger ?? UntrackedThrowawayLedger.Instance;
        client = new Lazy<DockerClient>(() => DockerClientFactory.Create(this.options));
    }

    public string Endpoint => options.Endpoint;

    private DockerClient Client => client.Value;

    public void Dispose()
    {
        if (client.IsValueCreated)
            client.Value.Dispose();
        helperImageGate.Dispose();
    }

    public Task<string> GetEngineVersionAsync(CancellationToken cancellationToken) =>
        CallAsync("read the engine version", null, async ct => (await Client.System.GetVersionAsync(ct)).Version, cancellationToken);

    public Task<ContainerStatus> InspectContainerAsync(string container, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(container);
        return CallAsync("inspect", container, async ct => ToStatus(await Client.Containers.InspectContainerAsync(container, ct)), cancellationToken);
    }

    public async Task<IReadOnlyList<ContainerStatus>> ListContainersAsync(ContainerSelector selector, ICollection<string>? missing, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(selector);
        var result = new List<ContainerStatus>();
        foreach (var name in selector.Containers)
        {
            try
            {
                result.Add(await InspectContainerAsync(name, cancellationToken));
            }
            catch (DockerOperationException e) when (e.Code == DockerOperationException.ContainerNotFound)
            {
                if (missing is null)
                    throw;
                missing.Add(name);
            }
        }

        if (selector.ComposeProject is { } project)
        {
            var listed = await CallAsync("list the containers of", $"Compose project {project}", ct => Client.Containers.ListContainersAsync(
                new ContainersListParameters
                {
                    All = true,
                    Filters = new Dictionary<string, IDictionary<string, bool>>
                    {
                        ["label"] = new Dictionary<string, bool> { [$"{ComposeProjectLabel}={project}"] = true },
                    },
                },
                ct), cancellationToken);
            var services = selector.Services.ToHashSet(StringComparer.Ordinal);
            var excluded = selector.ExcludedServices.ToHashSet(StringComparer.Ordinal);
            foreach (var item in listed.OrderBy(c => c.Names.FirstOrDefault(), StringComparer.Ordinal))
            {
                if (item.Labels.TryGetValue(ComposeOneOffLabel, out var oneOff) && string.Equals(oneOff, "True", StringComparison.OrdinalIgnoreCase))
                    continue;
                item.Labels.TryGetValue(ComposeServiceLabel, out var service);
                if (services.Count > 0 && (service is null || !services.Contains(service)))
                    continue;
                if (service is not null && excluded.Contains(service))
                    continue;
                try
                {
                    result.Add(await InspectContainerAsync(item.ID, cancellationToken));
                }
                catch (DockerOperationException e) when (e.Code == DockerOperationException.ContainerNotFound)
                {
                    // Removed between list and inspect (Compose recreating it); the next poll sees the new one.
                }
            }

            if (missing is not null)
            {
                var found = result.Select(c => c.ComposeService).OfType<string>().ToHashSet(StringComparer.Ordinal);
                foreach (var service in selector.Services.Where(s => !found.Contains(s) && !selector.ExcludedServices.Contains(s, StringComparer.Ordinal)))
                    missing.Add($"service {service} of Compose project {project}");
                if (selector.Services.Count == 0 && !result.Any(c => c.ComposeProject == project))
                    missing.Add($"Compose project {project} (no containers)");
            }
        }

        return result;
    }

    public Task<ContainerStatus> RestartContainerAsync(string container, TimeSpan stopTimeout, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(container);
        return CallAsync("restart", container, async ct =>
        {
            Log.ContainerAction(logger, "restart", container, Endpoint);
            await Client.Containers.RestartContainerAsync(container, new ContainerRestartParameters { WaitBeforeKillSeconds = Seconds(stopTimeout) }, ct);
            return ToStatus(await Client.Containers.InspectContainerAsync(container, ct));
        }, cancellationToken);
    }

    public Task<bool> StopContainerAsync(string container, TimeSpan stopTimeout, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(container);
        return CallAsync("stop", container, ct =>
        {
            Log.ContainerAction(logger, "stop", container, Endpoint);
            return Client.Containers.StopContainerAsync(container, new ContainerStopParameters { WaitBeforeKillSeconds = Seconds(stopTimeout) }, ct);
        }, cancellationToken);
    }

    public Task<bool> StartContainerAsync(string container, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(container);
        return CallAsync("start", container, ct =>
        {
            Log.ContainerAction(logger, "start", container, Endpoint);
            return Client.Containers.StartContainerAsync(container, new ContainerStartParameters(), ct);
        }, cancellationToken);
    }

    public async Task<HealthWaitResult> WaitForHealthyAsync(ContainerSelector selector, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(selector);
        if (selector.Containers.Count == 0 && selector.ComposeProject is null)
            throw new ArgumentException("Name at least one container or a Compose project to wait for.", nameof(selector));
        Log.WaitingForHealth(logger, selector, timeout);
        var start = clock.GetTimestamp();
        var seen = new Dictionary<string, (DateTimeOffset? Started, long Restarts, long FirstSeen)>(StringComparer.Ordinal);
        while (true)
        {
            var missing = new List<string>();
            IReadOnlyList<ContainerStatus> containers;
            DockerOperationException? unreachable = null;
            try
            {
                containers = await ListContainersAsync(selector, missing, cancellationToken);
            }
            catch (DockerOperationException e) when (e.Code == DockerOperationException.EngineUnreachable)
            {
                // The engine itself may be restarting (Scenario 4): keep polling until the timeout.
                Log.EngineUnreachableWhileWaiting(logger, Endpoint, e.Message);
                unreachable = e;
                containers = [];
            }

            var elapsed = clock.GetElapsedTime(start);
            containers = MarkJustStarted(containers, seen);
            var allReady = unreachable is null && missing.Count == 0 && containers.Count > 0 && containers.All(c => c.IsReady);
            if (allReady)
            {
                Log.HealthReached(logger, selector, elapsed);
                return new HealthWaitResult(true, containers, missing, elapsed);
            }

            if (elapsed >= timeout)
            {
                if (unreachable is not null)
                    throw unreachable;
                var result = new HealthWaitResult(false, containers, missing, elapsed);
                Log.HealthTimedOut(logger, selector, elapsed, result);
                return result;
            }

            var wait = options.PollInterval < timeout - elapsed ? options.PollInterval : timeout - elapsed;
            await Task.Delay(wait, clock, cancellationToken);
        }
    }

    /// <summary>
    /// A container without a healthcheck counts as ready only once it stays up: the same start (start time and restart
    /// count) seen on two polls in a row, and up <see cref="DockerOptions.RunningStableTime"/> by the engine's start time
    /// or by this wait's own observation (so a clock skew between engine and orchestrator cannot pass a crash loop).
    /// A crash-looping container is "running" for a moment between its restarts.
    /// </summary>
    private List<ContainerStatus> MarkJustStarted(IReadOnlyList<ContainerStatus> containers, Dictionary<string, (DateTimeOffset? Started, long Restarts, long FirstSeen)> seen)
    {
        var now = clock.GetUtcNow();
        var timestamp = clock.GetTimestamp();
        var marked = new List<ContainerStatus>(containers.Count);
        foreach (var c in containers)
        {
            if (c.Health is not null || c.State != "running")
            {
                seen.Remove(c.Id);
                marked.Add(c);
                continue;
            }

            var sameStart = seen.TryGetValue(c.Id, out var before) && before.Started == c.StartedAt && before.Restarts == c.RestartCount;
            if (!sameStart)
                seen[c.Id] = before = (c.StartedAt, c.RestartCount, timestamp);
            var stable = options.RunningStableTime;
            var upLongEnough = (c.StartedAt is { } started && now - started >= stable) || clock.GetElapsedTime(before.FirstSeen) >= stable;
            marked.Add((sameStart && upLongEnough) || stable == TimeSpan.Zero ? c : c with { JustStarted = true });
        }

        return marked;
    }

    public async Task<LogCapture> CaptureLogsAsync(string container, LogCaptureRequest request, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(container);
        ArgumentNullException.ThrowIfNull(request);
        var parameters = new ContainerLogsParameters
        {
            ShowStdout = true,
            ShowStderr = true,
            Timestamps = request.Timestamps,
            Tail = request.Tail is { } tail ? tail.ToString() : "all",
            Since = request.Since?.ToUnixTimeSeconds().ToString(),
        };

        async Task CopyAsync(Stream destination, CancellationToken ct)
        {
            var inspect = await Client.Containers.InspectContainerAsync(container, ct);
            using var logs = await Client.Containers.GetContainerLogsAsync(container, inspect.Config?.Tty ?? false, parameters, ct);
            await logs.CopyOutputToAsync(destination, destination, destination, ct);
        }

        if (request.OutputPath is { } path)
        {
            var digest = await CallAsync("read the logs of", container, ct => WriteEvidenceAsync(path, CopyAsync, ct), cancellationToken);
            Log.LogsCaptured(logger, container, digest.Bytes);
            return new LogCapture(container, null, Path.GetFullPath(path), digest.Bytes, digest.Sha256, false);
        }

        await using var folder = await ledger.CreateDirectoryAsync(ThrowawayFiles.NewPath("drw-logs-"), $"copy of the logs of {container}", cancellationToken);
        var temp = Path.Combine(folder.Name, "container.log");
        var captured = await CallAsync("read the logs of", container, ct => AtomicFile.WriteAsync(temp, CopyAsync, ct), cancellationToken);
        var (text, truncated) = await ReadTailAsync(temp, request.MaxChars, cancellationToken);
        Log.LogsCaptured(logger, container, captured.Bytes);
        return new LogCapture(container, text, null, captured.Bytes, captured.Sha256, truncated);
    }

    /// <summary>
    /// Writes an evidence file: <c>0600</c>, in directories created <c>0700</c> (an existing directory others can read is
    /// reported in the log), through a temporary file in the throwaway ledger.
    /// </summary>
    private Task<StreamDigest> WriteEvidenceAsync(string path, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (Directory.Exists(directory) && ThrowawayFiles.IsOpenToOthers(directory))
            Log.EvidenceDirectoryOpen(logger, directory);
        return AtomicFile.WritePrivateAsync(path, write, ledger, cancellationToken);
    }

    public async Task<ForensicSnapshot> SnapshotForForensicsAsync(string container, string imageReference, string outputPath, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(container);
        ArgumentException.ThrowIfNullOrWhiteSpace(imageReference);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputPath);
        var (repository, tag) = SplitReference(imageReference);
        var reference = $"{repository}:{tag}";
        var inspect = await CallAsync("inspect", container, ct => Client.Containers.InspectContainerAsync(container, ct), cancellationToken);
        var commit = await CallAsync("commit", container, ct => Client.Images.CommitContainerChangesAsync(
            new CommitContainerChangesParameters
            {
                ContainerID = inspect.ID,
                RepositoryName = repository,
                Tag = tag,
                Comment = $"DrWorkflows forensic snapshot of {inspect.Name.TrimStart('/')} ({inspect.ID})",
                Author = "DrWorkflows",
                Pause = true,

                // Podman's compat API rejects a commit without a config body; an empty one keeps the container's config.
                Config = new Config(),
            },
            ct), cancellationToken);
        var digest = await CallAsync("save the image of", reference, ct => WriteEvidenceAsync(outputPath, async (file, token) =>
        {
            await using var tar = await Client.Images.SaveImageAsync(reference, token);
            await tar.CopyToAsync(file, 1 << 16, token);
        }, ct), cancellationToken);
        var full = Path.GetFullPath(outputPath);
        Log.ForensicSnapshot(logger, container, reference, commit.ID, full, digest.Bytes, digest.Sha256);
        return new ForensicSnapshot(inspect.Name.TrimStart('/'), inspect.ID, commit.ID, reference, full, digest.Bytes, digest.Sha256);
    }

    public async Task<VolumeInfo> CreateVolumeAsync(string name, IReadOnlyDictionary<string, string>? labels, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (await InspectVolumeAsync(name, cancellationToken) is { } existing)
            return existing;
        var created = await CallAsync("create volume", name, ct => Client.Volumes.CreateAsync(
            new VolumesCreateParameters { Name = name, Labels = labels?.ToDictionary(StringComparer.Ordinal) ?? [] }, ct), cancellationToken);
        Log.VolumeAction(logger, name, "created");
        return ToVolume(created);
    }

    public async Task<VolumeInfo?> InspectVolumeAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        try
        {
            return ToVolume(await CallAsync("inspect volume", name, ct => Client.Volumes.InspectAsync(name, ct), cancellationToken));
        }
        catch (DockerOperationException e) when (e.InnerException is DockerApiException { StatusCode: HttpStatusCode.NotFound })
        {
            return null;
        }
    }

    public async Task<StreamDigest> ArchiveVolumeAsync(string volume, Stream destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        await RequireVolumeAsync(volume, cancellationToken);
        return await WithHelperAsync(volume, readOnly: true, async (helper, ct) =>
        {
            var archive = await Client.Containers.GetArchiveFromContainerAsync(helper, new GetArchiveFromContainerParameters { Path = HelperMount + "/." }, false, ct);
            await using var tar = new GuardedReadStream(archive.Stream);
            using var hashing = new HashingStream(destination);
            await tar.CopyToAsync(hashing, 1 << 16, ct);
            await hashing.FlushAsync(ct);
            Log.VolumeArchived(logger, volume, hashing.BytesTransferred);
            return hashing.GetDigest();
        }, cancellationToken);
    }

    public async Task<VolumeArchive> ArchiveVolumeToFileAsync(string volume, string path, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        await RequireVolumeAsync(volume, cancellationToken);
        var digest = await WriteEvidenceAsync(path, (file, ct) => ArchiveVolumeAsync(volume, file, ct), cancellationToken);
        return new VolumeArchive(volume, Path.GetFullPath(path), digest.Bytes, digest.Sha256);
    }

    public async Task RestoreVolumeAsync(string volume, Stream tar, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tar);
        await CreateVolumeAsync(volume, null, cancellationToken);
        await WithHelperAsync(volume, readOnly: false, async (helper, ct) =>
        {
            // Docker skips the archive's root entry ("./"), so the volume root's owner and mode are applied afterwards.
            var guarded = new GuardedReadStream(tar, keepFirstBytes: 64 * 1024, leaveOpen: true);
            await Client.Containers.ExtractArchiveToContainerAsync(helper, new ContainerPathStatParameters { Path = HelperMount }, guarded, ct);
            if (await ReadRootEntryAsync(guarded.Head, ct) is { } root)
                await ApplyRootMetadataAsync(helper, root, ct);
            Log.VolumeAction(logger, volume, "restored from tar");
            return true;
        }, cancellationToken);
    }

    public async Task<VolumeCopy> CopyVolumeAsync(string source, string destination, VolumeCopyOptions options, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(source);
        ArgumentException.ThrowIfNullOrWhiteSpace(destination);
        ArgumentNullException.ThrowIfNull(options);
        if (string.Equals(source, destination, StringComparison.Ordinal))
            throw new ArgumentException($"Source and destination are the same volume '{source}'.", nameof(destination));
        await RequireVolumeAsync(source, cancellationToken);
        if (!options.AllowSourceInUse)
        {
            var users = await ContainersUsingVolumeAsync(source, runningOnly: true, cancellationToken);
            if (users.Count > 0)
            {
                throw new DockerOperationException(
                    $"Volume '{source}' on {Endpoint} is in use by running container(s) {string.Join(", ", users)}: a copy would not be consistent. " +
                    "Stop them first (or allow copying a volume in use).",
                    DockerOperationException.VolumeInUse);
            }
        }

        await CreateVolumeAsync(destination, options.Labels, cancellationToken);
        var digest = await WithHelperAsync(source, readOnly: true, (sourceHelper, ct) => WithHelperAsync(destination, readOnly: false, async (destinationHelper, ct2) =>
        {
            if (options.RequireEmptyDestination && await CountEntriesAsync(destinationHelper, 2, ct2) > 1)
            {
                throw new DockerOperationException(
                    $"Volume '{destination}' on {Endpoint} is not empty; refusing to merge '{source}' into it. Remove it or choose a new name.",
                    DockerOperationException.VolumeNotEmpty);
            }

            // Entries named drw-volume/... extracted at "/": the root entry then carries the volume root's owner and mode.
            var archive = await Client.Containers.GetArchiveFromContainerAsync(sourceHelper, new GetArchiveFromContainerParameters { Path = HelperMount }, false, ct2);
            await using var tar = new GuardedReadStream(archive.Stream);
            using var hashing = new HashingStream(tar);
            await Client.Containers.ExtractArchiveToContainerAsync(destinationHelper, new ContainerPathStatParameters { Path = "/" }, hashing, ct2);
            return hashing.GetDigest();
        }, ct), cancellationToken);
        Log.VolumeCopied(logger, source, destination, digest.Bytes, digest.Sha256);

        var removed = false;
        if (options.RemoveSource)
            removed = await RemoveVolumeAsync(source, force: false, cancellationToken);
        return new VolumeCopy(source, destination, digest.Bytes, digest.Sha256, removed);
    }

    public async Task<bool> RemoveVolumeAsync(string volume, bool force, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(volume);
        try
        {
            await Client.Volumes.RemoveAsync(volume, force, cancellationToken);
            Log.VolumeAction(logger, volume, "removed");
            return true;
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.Conflict)
        {
            var users = await ContainersUsingVolumeAsync(volume, runningOnly: false, cancellationToken);
            throw new DockerOperationException(
                $"Volume '{volume}' on {Endpoint} is in use by container(s) {(users.Count == 0 ? "(unknown)" : string.Join(", ", users))}: " +
                "remove those containers first (stopping is not enough).",
                DockerOperationException.VolumeInUse, false, e);
        }
        catch (Exception e) when (IsUnreachable(e, cancellationToken))
        {
            throw Unreachable(e);
        }
    }

    public Task<ExecResult> ExecAsync(string container, IReadOnlyList<string> command, ExecOptions options, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(container);
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(options);
        if (command.Count == 0)
            throw new ArgumentException("The command is empty.", nameof(command));
        return CallAsync("exec in", container, async ct =>
        {
            using var timeout = options.Timeout is { } t ? new CancellationTokenSource(t, clock) : new CancellationTokenSource();
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
            try
            {
                var exec = await Client.Exec.ExecCreateContainerAsync(container, new ContainerExecCreateParameters
                {
                    AttachStdout = true,
                    AttachStderr = true,
                    AttachStdin = options.StandardInput is not null,
                    Cmd = [.. command],
                    User = options.User,
                    WorkingDir = options.WorkingDirectory,
                    Env = [.. options.Environment],
                }, linked.Token);
                using var stream = await Client.Exec.StartAndAttachContainerExecAsync(exec.ID, false, linked.Token);
                if (options.StandardInput is not null)
                {
                    var input = Encoding.UTF8.GetBytes(options.StandardInput);
                    await stream.WriteAsync(input, 0, input.Length, linked.Token);
                    stream.CloseWrite();
                }

                var (stdout, stderr) = await stream.ReadOutputToEndAsync(linked.Token);
                var inspect = await Client.Exec.InspectContainerExecAsync(exec.ID, linked.Token);
                while (inspect.Running)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(50), clock, linked.Token);
                    inspect = await Client.Exec.InspectContainerExecAsync(exec.ID, linked.Token);
                }

                Log.Exec(logger, container, command, inspect.ExitCode);
                return new ExecResult(inspect.ExitCode, stdout, stderr);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                throw new DockerOperationException(
                    $"'{string.Join(' ', command)}' in container '{container}' on {Endpoint} did not finish within {options.Timeout}. " +
                    "It may still be running in the container.",
                    DockerOperationException.ApiError, retryable: false);
            }
        }, cancellationToken);
    }

    public async Task<RecreateResult> RecreateContainerAsync(string container, TimeSpan stopTimeout, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(container);
        var old = await CallAsync("inspect", container, ct => Client.Containers.InspectContainerAsync(container, ct), cancellationToken);
        var name = old.Name.TrimStart('/');
        var image = old.Config.Image;
        await CallAsync("inspect the image of", name, ct => Client.Images.InspectImageAsync(image, ct), cancellationToken);
        var wasRunning = old.State.Running || old.State.Restarting;
        var (create, extraNetworks) = RecreateParameters(old);
        var parkedName = $"{name}-drw-old-{old.ID[..12]}";

        await CallAsync("rename", name, ct => Client.Containers.RenameContainerAsync(old.ID, new ContainerRenameParameters { NewName = parkedName }, ct), cancellationToken);
        string? newId = null;
        try
        {
            if (wasRunning)
                await Client.Containers.StopContainerAsync(old.ID, new ContainerStopParameters { WaitBeforeKillSeconds = Seconds(stopTimeout) }, cancellationToken);
            newId = (await Client.Containers.CreateContainerAsync(create, cancellationToken)).ID;
            foreach (var (network, endpoint) in extraNetworks)
                await Client.Networks.ConnectNetworkAsync(network, new NetworkConnectParameters { Container = newId, EndpointConfig = endpoint }, cancellationToken);
            if (wasRunning)
                await Client.Containers.StartContainerAsync(newId, new ContainerStartParameters(), cancellationToken);
        }
        catch (Exception e)
        {
            Log.RecreateRollback(logger, e, name, old.ID);
            await RollBackRecreateAsync(old.ID, name, newId, wasRunning);
            if (e is DockerApiException api)
                throw new DockerOperationException($"Recreating container '{name}' on {Endpoint} failed and was rolled back: {ApiMessage(api)}", DockerOperationException.ApiError, false, e);
            if (IsUnreachable(e, cancellationToken))
                throw Unreachable(e);
            throw;
        }

        await Client.Containers.RemoveContainerAsync(old.ID, new ContainerRemoveParameters { Force = true, RemoveVolumes = false }, CancellationToken.None);
        var status = await InspectContainerAsync(newId, cancellationToken);
        Log.Recreated(logger, name, old.ID, newId, image);
        return new RecreateResult(name, old.ID, newId, image, status);
    }

    public async Task<StreamDigest> ReadFileFromContainerAsync(string container, string path, Func<Stream, CancellationToken, Task> sink, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(container);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(sink);
        try
        {
            return await CallAsync("copy a file out of", container, async ct =>
            {
                var archive = await Client.Containers.GetArchiveFromContainerAsync(container, new GetArchiveFromContainerParameters { Path = path }, false, ct);
                await using var tar = new GuardedReadStream(archive.Stream);
                await using var reader = new TarReader(tar);
                var entry = await reader.GetNextEntryAsync(copyData: false, ct);
                if (entry is null || entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null)
                    throw new DockerOperationException($"'{path}' in container '{container}' on {Endpoint} is not a regular file.", DockerOperationException.ApiError);
                using var hashing = new HashingStream(entry.DataStream);
                await sink(hashing, ct);

                // Drain what the sink did not read so the digest covers the whole file.
                await hashing.CopyToAsync(Stream.Null, ct);
                return hashing.GetDigest();
            }, cancellationToken);
        }
        catch (DockerOperationException e) when (e.InnerException is DockerApiException { StatusCode: HttpStatusCode.NotFound } && e.Code != DockerOperationException.ContainerNotFound)
        {
            throw new DockerOperationException($"'{path}' does not exist in container '{container}' on {Endpoint}.", DockerOperationException.ApiError, false, e);
        }
    }

    public async Task WriteFileToContainerAsync(string container, string localFile, string path, int? ownerUid, int? ownerGid, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(container);
        ArgumentException.ThrowIfNullOrWhiteSpace(localFile);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var directory = path[..(path.LastIndexOf('/') is var i and > 0 ? i : 1)];
        var fileName = path[(path.LastIndexOf('/') + 1)..];
        if (fileName.Length == 0)
            throw new ArgumentException($"'{path}' names a directory, not a file.", nameof(path));
        await CallAsync("copy a file into", container, async ct =>
        {
            int uid = ownerUid ?? 0, gid = ownerGid ?? 0;
            if (ownerUid is null || ownerGid is null)
            {
                var archive = await Client.Containers.GetArchiveFromContainerAsync(container, new GetArchiveFromContainerParameters { Path = directory }, false, ct);
                await using var dirTar = new GuardedReadStream(archive.Stream);
                await using var dirReader = new TarReader(dirTar);
                if (await dirReader.GetNextEntryAsync(copyData: false, ct) is { } dirEntry)
                {
                    uid = ownerUid ?? dirEntry.Uid;
                    gid = ownerGid ?? dirEntry.Gid;
                }
            }

            var pipe = new Pipe();
            var produce = Task.Run(async () =>
            {
                try
                {
                    await using var source = new FileStream(localFile, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
                    await using var writerStream = pipe.Writer.AsStream();
                    await using var writer = new TarWriter(writerStream, TarEntryFormat.Pax, leaveOpen: true);
                    var entry = new PaxTarEntry(TarEntryType.RegularFile, fileName)
                    {
                        DataStream = source,
                        Uid = uid,
                        Gid = gid,
                        Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                        ModificationTime = clock.GetUtcNow(),
                    };
                    await writer.WriteEntryAsync(entry, ct);
                    await writer.DisposeAsync();
                    await pipe.Writer.CompleteAsync();
                }
                catch (Exception e)
                {
                    await pipe.Writer.CompleteAsync(e);
                }
            }, ct);
            await using (var tar = pipe.Reader.AsStream())
                await Client.Containers.ExtractArchiveToContainerAsync(container, new ContainerPathStatParameters { Path = directory }, tar, ct);
            await produce;
            return true;
        }, cancellationToken);
    }

    internal static ContainerStatus ToStatus(ContainerInspectResponse r)
    {
        var labels = r.Config?.Labels ?? new Dictionary<string, string>();
        var health = r.State?.Health;
        var output = health?.Log?.Count > 0 ? health.Log[^1].Output?.Trim() : null;
        if (output is { Length: > 300 })
            output = output[..300] + "...";
        return new ContainerStatus
        {
            Id = r.ID,
            Name = r.Name.TrimStart('/'),
            Image = r.Config?.Image ?? r.Image,
            ImageId = r.Image,
            State = r.State?.Status ?? "unknown",
            Health = string.IsNullOrEmpty(health?.Status) || health.Status == "none" ? null : health.Status,
            LastHealthOutput = string.IsNullOrEmpty(output) ? null : output,
            ExitCode = r.State?.ExitCode ?? 0,
            RestartCount = r.RestartCount,
            ComposeProject = labels.TryGetValue(ComposeProjectLabel, out var p) ? p : null,
            ComposeService = labels.TryGetValue(ComposeServiceLabel, out var s) ? s : null,
            StartedAt = DateTimeOffset.TryParse(r.State?.StartedAt, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var startedAt)
                && startedAt.Year > 1 ? startedAt : null,
            PublishedPorts = PublishedPortsOf(r),
        };
    }

    /// <summary>The host bindings of the container's ports (<c>NetworkSettings.Ports</c>), e.g. <c>0.0.0.0:8080-&gt;80/tcp</c>.</summary>
    private static List<PublishedPort> PublishedPortsOf(ContainerInspectResponse r)
    {
        var ports = new List<PublishedPort>();
        foreach (var (key, bindings) in r.NetworkSettings?.Ports ?? new Dictionary<string, IList<PortBinding>>())
        {
            var parts = key.Split('/');
            if (bindings is null || !int.TryParse(parts[0], System.Globalization.CultureInfo.InvariantCulture, out var containerPort))
                continue;
            var protocol = parts.Length > 1 ? parts[1] : "tcp";
            foreach (var binding in bindings)
            {
                if (int.TryParse(binding.HostPort, System.Globalization.CultureInfo.InvariantCulture, out var hostPort) && hostPort > 0)
                    ports.Add(new PublishedPort(string.IsNullOrEmpty(binding.HostIP) ? "0.0.0.0" : binding.HostIP, hostPort, protocol, containerPort));
            }
        }

        return [.. ports.OrderBy(p => p.HostPort).ThenBy(p => p.HostIp, StringComparer.Ordinal)];
    }

    /// <summary>Splits <c>repo[:tag]</c> (the registry port colon is not a tag separator); the tag defaults to <c>latest</c>.</summary>
    internal static (string Repository, string Tag) SplitReference(string reference)
    {
        var slash = reference.LastIndexOf('/');
        var colon = reference.LastIndexOf(':');
        return colon > slash ? (reference[..colon], reference[(colon + 1)..]) : (reference, "latest");
    }

    /// <summary>Builds the create call (and the networks to connect afterwards) that reproduces <paramref name="old"/>.</summary>
    internal static (CreateContainerParameters Create, IReadOnlyList<(string Network, EndpointSettings Endpoint)> ExtraNetworks) RecreateParameters(ContainerInspectResponse old)
    {
        var shortId = old.ID[..12];
        var config = old.Config;
        var create = new CreateContainerParameters(config)
        {
            Name = old.Name.TrimStart('/'),
            HostConfig = old.HostConfig,
        };
        if (create.Hostname == shortId)
            create.Hostname = null;

        // Anonymous volumes (VOLUME in the image, no name given) would be replaced by empty ones: mount the old ones.
        var hostConfig = create.HostConfig ??= new HostConfig();
        var binds = hostConfig.Binds?.ToList() ?? [];
        var targets = binds.Select(b => b.Split(':')).Where(p => p.Length >= 2).Select(p => p[1])
            .Concat(hostConfig.Mounts?.Select(m => m.Target) ?? [])
            .ToHashSet(StringComparer.Ordinal);
        foreach (var mount in old.Mounts ?? [])
        {
            if (mount.Type == "volume" && !string.IsNullOrEmpty(mount.Name) && !targets.Contains(mount.Destination))
                binds.Add($"{mount.Name}:{mount.Destination}{(mount.RW ? string.Empty : ":ro")}");
        }

        hostConfig.Binds = binds;

        var extra = new List<(string, EndpointSettings)>();
        var networks = old.NetworkSettings?.Networks ?? new Dictionary<string, EndpointSettings>();
        var mode = hostConfig.NetworkMode ?? string.Empty;
        var userNetworks = mode is "host" or "none" || mode.StartsWith("container:", StringComparison.Ordinal) ? [] : networks.ToList();
        if (userNetworks.Count > 0)
        {
            // API 1.41 accepts one endpoint at create; the others are connected before start.
            var primary = userNetworks.FirstOrDefault(n => n.Key == mode);
            if (primary.Key is null)
                primary = userNetworks[0];
            create.NetworkingConfig = new NetworkingConfig
            {
                EndpointsConfig = new Dictionary<string, EndpointSettings> { [primary.Key] = CopyEndpoint(primary.Value, shortId) },
            };
            foreach (var (network, endpoint) in userNetworks.Where(n => n.Key != primary.Key))
                extra.Add((network, CopyEndpoint(endpoint, shortId)));
        }

        return (create, extra);
    }

    private static EndpointSettings CopyEndpoint(EndpointSettings endpoint, string oldShortId) => new()
    {
        IPAMConfig = endpoint.IPAMConfig,
        Links = endpoint.Links,
        Aliases = endpoint.Aliases?.Where(a => a != oldShortId).ToList(),
        DriverOpts = endpoint.DriverOpts,
    };

    private async Task RollBackRecreateAsync(string oldId, string name, string? newId, bool wasRunning)
    {
        try
        {
            if (newId is not null)
                await Client.Containers.RemoveContainerAsync(newId, new ContainerRemoveParameters { Force = true }, CancellationToken.None);
            await Client.Containers.RenameContainerAsync(oldId, new ContainerRenameParameters { NewName = name }, CancellationToken.None);
            if (wasRunning)
                await Client.Containers.StartContainerAsync(oldId, new ContainerStartParameters(), CancellationToken.None);
        }
        catch (Exception e) when (e is DockerApiException or HttpRequestException or IOException)
        {
            Log.HelperCleanupFailed(logger, oldId, $"rollback of recreate incomplete: {e.Message}");
        }
    }

    private async Task RequireVolumeAsync(string volume, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(volume);
        if (await InspectVolumeAsync(volume, cancellationToken) is null)
        {
            throw new DockerOperationException(
                $"Volume '{volume}' not found on {Endpoint}. Check the name with `docker volume ls` (Compose prefixes volumes with the project name).",
                DockerOperationException.VolumeNotFound);
        }
    }

    private async Task<IReadOnlyList<string>> ContainersUsingVolumeAsync(string volume, bool runningOnly, CancellationToken cancellationToken)
    {
        var list = await CallAsync("list the containers using volume", volume, ct => Client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = !runningOnly,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["volume"] = new Dictionary<string, bool> { [volume] = true } },
        }, ct), cancellationToken);
        return [.. list.Select(c => c.Names.FirstOrDefault()?.TrimStart('/') ?? c.ID[..12])];
    }

    /// <summary>Counts entries of the helper's volume archive, stopping at <paramref name="stopAt"/> (the root entry counts).</summary>
    private async Task<int> CountEntriesAsync(string helper, int stopAt, CancellationToken cancellationToken)
    {
        var archive = await Client.Containers.GetArchiveFromContainerAsync(helper, new GetArchiveFromContainerParameters { Path = HelperMount + "/." }, false, cancellationToken);
        await using var tar = new GuardedReadStream(archive.Stream);
        await using var reader = new TarReader(tar);
        var count = 0;
        while (count < stopAt && await reader.GetNextEntryAsync(copyData: false, cancellationToken) is not null)
            count++;
        return count;
    }

    /// <summary>The archive's first entry when it is the root directory ("./"), read from the bytes kept at its start.</summary>
    private static async Task<TarEntry?> ReadRootEntryAsync(ReadOnlyMemory<byte> head, CancellationToken cancellationToken)
    {
        try
        {
            await using var reader = new TarReader(new MemoryStream(head.ToArray(), writable: false));
            var entry = await reader.GetNextEntryAsync(copyData: false, cancellationToken);
            return entry is { EntryType: TarEntryType.Directory } && entry.Name.Trim('/') is "." or "" ? entry : null;
        }
        catch (InvalidDataException)
        {
            return null;
        }
        catch (EndOfStreamException)
        {
            return null;
        }
    }

    private async Task ApplyRootMetadataAsync(string helper, TarEntry root, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await using (var writer = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, HelperMount.TrimStart('/') + "/")
            {
                Uid = root.Uid,
                Gid = root.Gid,
                Mode = root.Mode,
                ModificationTime = root.ModificationTime,
            }, cancellationToken);
        }

        buffer.Position = 0;
        await Client.Containers.ExtractArchiveToContainerAsync(helper, new ContainerPathStatParameters { Path = "/" }, buffer, cancellationToken);
    }

    /// <summary>Runs <paramref name="action"/> with a created (never started) container that mounts the volume at <c>/drw-volume</c>.</summary>
    private async Task<T> WithHelperAsync<T>(string volume, bool readOnly, Func<string, CancellationToken, Task<T>> action, CancellationToken cancellationToken)
    {
        var image = await GetHelperImageAsync(cancellationToken);
        var name = $"drw-helper-{Guid.NewGuid():N}"[..24];
        // Recorded before it exists: a crash leaves a ledger row naming it, and the janitor removes it.
        await using var lease = await ledger.RecordAsync(ThrowawaySpec.DockerContainer(Endpoint, name, $"helper container for volume {volume}"), ct => RemoveHelperAsync(name, ct), cancellationToken);
        var helper = await CallAsync("create a helper container for volume", volume, ct => Client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = image,
            Name = name,
            Cmd = ["true"],
            Entrypoint = [],
            Labels = new Dictionary<string, string> { [HelperLabel] = "volume" },
            NetworkDisabled = true,
            HostConfig = new HostConfig { Binds = [$"{volume}:{HelperMount}{(readOnly ? ":ro" : string.Empty)}"], NetworkMode = "none" },
        }, ct), cancellationToken);
        return await CallAsync("transfer data of volume", volume, ct => action(helper.ID, ct), cancellationToken);
    }

    /// <summary>Removes a helper container (already gone is fine); its volume is left alone.</summary>
    private async Task RemoveHelperAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            await Client.Containers.RemoveContainerAsync(name, new ContainerRemoveParameters { Force = true, RemoveVolumes = false }, cancellationToken);
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            // Never created, or removed already.
        }
    }

    private async Task<string> GetHelperImageAsync(CancellationToken cancellationToken)
    {
        if (helperImage is not null)
            return helperImage;
        await helperImageGate.WaitAsync(cancellationToken);
        try
        {
            if (helperImage is not null)
                return helperImage;
            try
            {
                await Client.Images.InspectImageAsync(options.HelperImage, cancellationToken);
                return helperImage = options.HelperImage;
            }
            catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
                // The helper is never started, so any image present on the engine serves.
                var images = await CallAsync("list images", null, ct => Client.Images.ListImagesAsync(new ImagesListParameters(), ct), cancellationToken);
                var fallback = images.SelectMany(i => i.RepoTags ?? []).FirstOrDefault(t => t != "<none>:<none>")
                    ?? throw new DockerOperationException(
                        $"No image on {Endpoint} can serve as the volume helper: '{options.HelperImage}' is absent and the engine has no tagged image. " +
                        "Load one (e.g. `docker load`) or set Docker:HelperImage.",
                        DockerOperationException.ImageNotFound, false, e);
                Log.HelperImageFallback(logger, options.HelperImage, Endpoint, fallback);
                return helperImage = fallback;
            }
            catch (Exception e) when (IsUnreachable(e, cancellationToken))
            {
                throw Unreachable(e);
            }
        }
        finally
        {
            helperImageGate.Release();
        }
    }

    private static VolumeInfo ToVolume(VolumeResponse v) =>
        new(v.Name, v.Driver, v.Mountpoint, (v.Labels ?? new Dictionary<string, string>()).ToDictionary(StringComparer.Ordinal));

    private static async Task<(string Text, bool Truncated)> ReadTailAsync(string path, int maxChars, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
        var maxBytes = (long)maxChars * 4;
        var truncated = file.Length > maxBytes;
        if (truncated)
            file.Seek(-maxBytes, SeekOrigin.End);
        using var reader = new StreamReader(file, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(cancellationToken);
        if (text.Length > maxChars)
        {
            text = text[^maxChars..];
            truncated = true;
        }

        return (text, truncated);
    }

    private static uint Seconds(TimeSpan timeout) => (uint)Math.Clamp(Math.Ceiling(timeout.TotalSeconds), 0, uint.MaxValue);

    private async Task<T> CallAsync<T>(string action, string? target, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call(cancellationToken);
        }
        catch (DockerOperationException)
        {
            throw;
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            var message = ApiMessage(e);
            if (message.Contains("no such container", StringComparison.OrdinalIgnoreCase))
            {
                throw new DockerOperationException(
                    $"Container '{target}' not found on {Endpoint} (could not {action} it). Check the name with `docker ps -a`; Compose names containers <project>-<service>-<n> (v2) or <project>_<service>_<n> (v1).",
                    DockerOperationException.ContainerNotFound, false, e);
            }

            if (e is DockerImageNotFoundException || message.Contains("no such image", StringComparison.OrdinalIgnoreCase))
            {
                throw new DockerOperationException(
                    $"Image not found on {Endpoint} (while trying to {action} {target}): {message}. Pull or load the image first.",
                    DockerOperationException.ImageNotFound, false, e);
            }

            throw new DockerOperationException($"Docker engine {Endpoint} could not {action} {target}: {message} (HTTP 404).", DockerOperationException.ApiError, false, e);
        }
        catch (DockerApiException e)
        {
            throw new DockerOperationException(
                $"Docker engine {Endpoint} refused to {action} {target}: {ApiMessage(e)} (HTTP {(int)e.StatusCode}).",
                DockerOperationException.ApiError, (int)e.StatusCode >= 500, e);
        }
        catch (System.Security.Authentication.AuthenticationException e)
        {
            throw new DockerOperationException(
                $"TLS handshake with the Docker engine at {Endpoint} failed: {e.Message} Check that Docker:TlsCaCertificatePath is the CA that " +
                "signed the engine's certificate (and that the certificate names this address), and that the client certificate is one the engine trusts.",
                DockerOperationException.EngineUnreachable, false, e);
        }
        catch (Exception e) when (IsUnreachable(e, cancellationToken))
        {
            throw Unreachable(e);
        }
    }

    private async Task<bool> CallAsync(string action, string? target, Func<CancellationToken, Task> call, CancellationToken cancellationToken) =>
        await CallAsync(action, target, async ct =>
        {
            await call(ct);
            return true;
        }, cancellationToken);

    private static bool IsUnreachable(Exception e, CancellationToken cancellationToken) =>
        e is HttpRequestException or SocketException or IOException or TimeoutException
        || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    private DockerOperationException Unreachable(Exception e)
    {
        var detail = e is OperationCanceledException ? $"no answer within {options.RequestTimeout}" : Innermost(e).Message;
        return new DockerOperationException(
            $"Docker engine at {Endpoint} is unreachable: {detail}. Check that dockerd is running there and that Docker:Endpoint " +
            "(and the TLS certificates, for tcp://) are right; `docker -H " + Endpoint + " version` shows the same.",
            DockerOperationException.EngineUnreachable, retryable: true, e);
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
            e = e.InnerException;
        return e;
    }

    private static string ApiMessage(DockerApiException e)
    {
        try
        {
            using var json = JsonDocument.Parse(e.ResponseBody);
            if (json.RootElement.TryGetProperty("message", out var message) && message.GetString() is { } text)
                return text;
        }
        catch (JsonException)
        {
            // Not JSON: use the body as it is.
        }

        return string.IsNullOrWhiteSpace(e.ResponseBody) ? e.StatusCode.ToString() : e.ResponseBody.Trim();
    }
}
