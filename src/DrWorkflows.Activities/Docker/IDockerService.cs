namespace DrWorkflows.Activities.Docker;

/// <summary>
/// The Docker engine operations the DR workflows use. Every method names the engine and the object in its
/// errors (<see cref="DockerOperationException"/>): an unreachable engine, an unknown container or volume, a
/// conflict. Files are written to a temporary name next to the target and renamed when complete, so a failure
/// never leaves a half-written file under the final name.
/// </summary>
public interface IDockerService
{
    /// <summary>The engine address this service talks to (for messages and journals).</summary>
    string Endpoint { get; }

    /// <summary>Engine version (also a reachability check).</summary>
    Task<string> GetEngineVersionAsync(CancellationToken cancellationToken);

    Task<ContainerStatus> InspectContainerAsync(string container, CancellationToken cancellationToken);

    /// <summary>The selected containers (all states). Named containers that do not exist are listed in <paramref name="missing"/>.</summary>
    Task<IReadOnlyList<ContainerStatus>> ListContainersAsync(ContainerSelector selector, ICollection<string>? missing, CancellationToken cancellationToken);

    /// <summary>Restarts a container (SIGTERM, then SIGKILL after <paramref name="stopTimeout"/>); returns its state right after.</summary>
    Task<ContainerStatus> RestartContainerAsync(string container, TimeSpan stopTimeout, CancellationToken cancellationToken);

    /// <summary>Stops a container; returns <c>false</c> when it was not running (nothing to do).</summary>
    Task<bool> StopContainerAsync(string container, TimeSpan stopTimeout, CancellationToken cancellationToken);

    /// <summary>Starts a container; returns <c>false</c> when it was already running.</summary>
    Task<bool> StartContainerAsync(string container, CancellationToken cancellationToken);

    /// <summary>
    /// Polls the selected containers until all are ready (healthy, or running when they have no healthcheck) or
    /// <paramref name="timeout"/> passes. Never throws on "not ready": the result says which are not and why.
    /// </summary>
    Task<HealthWaitResult> WaitForHealthyAsync(ContainerSelector selector, TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>Captures a container's log (stdout and stderr, interleaved as written) to a string or a file.</summary>
    Task<LogCapture> CaptureLogsAsync(string container, LogCaptureRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Commits the container (paused during the commit) to <paramref name="imageReference"/> and saves that
    /// image as a tar file at <paramref name="outputPath"/>, returning the SHA-256 of exactly the bytes saved.
    /// </summary>
    Task<ForensicSnapshot> SnapshotForForensicsAsync(string container, string imageReference, string outputPath, CancellationToken cancellationToken);

    /// <summary>Creates a volume, or returns the existing one of that name.</summary>
    Task<VolumeInfo> CreateVolumeAsync(string name, IReadOnlyDictionary<string, string>? labels, CancellationToken cancellationToken);

    /// <summary>The volume, or <c>null</c> when it does not exist.</summary>
    Task<VolumeInfo?> InspectVolumeAsync(string name, CancellationToken cancellationToken);

    /// <summary>Streams a tar of the volume's content (entries relative to the volume root) into <paramref name="destination"/>.</summary>
    Task<StreamDigest> ArchiveVolumeAsync(string volume, Stream destination, CancellationToken cancellationToken);

    /// <summary>Writes a tar of the volume's content to <paramref name="path"/> (atomically).</summary>
    Task<VolumeArchive> ArchiveVolumeToFileAsync(string volume, string path, CancellationToken cancellationToken);

    /// <summary>Extracts a tar (as written by <see cref="ArchiveVolumeAsync"/>) into the volume, creating it when missing.</summary>
    Task RestoreVolumeAsync(string volume, Stream tar, CancellationToken cancellationToken);

    /// <summary>Copies one volume's content into another (created when missing), preserving owners and modes.</summary>
    Task<VolumeCopy> CopyVolumeAsync(string source, string destination, VolumeCopyOptions options, CancellationToken cancellationToken);

    /// <summary>Removes a volume; returns <c>false</c> when it did not exist.</summary>
    Task<bool> RemoveVolumeAsync(string volume, bool force, CancellationToken cancellationToken);

    /// <summary>Runs a command in a running container and returns its exit code and output.</summary>
    Task<ExecResult> ExecAsync(string container, IReadOnlyList<string> command, ExecOptions options, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces a container by a new one created from its image reference with the same configuration (env,
    /// command, labels, mounts including anonymous volumes, ports, networks and aliases, restart policy), then
    /// starts it when the old one was running. The old container is kept (renamed) until the new one started.
    /// </summary>
    Task<RecreateResult> RecreateContainerAsync(string container, TimeSpan stopTimeout, CancellationToken cancellationToken);

    /// <summary>Streams one file out of a container (running or stopped) to <paramref name="sink"/>.</summary>
    Task<StreamDigest> ReadFileFromContainerAsync(string container, string path, Func<Stream, CancellationToken, Task> sink, CancellationToken cancellationToken);

    /// <summary>
    /// Writes a local file into a container (running or stopped) at <paramref name="path"/>. The file gets the
    /// owner of the target directory unless <paramref name="ownerUid"/> / <paramref name="ownerGid"/> are given.
    /// </summary>
    Task WriteFileToContainerAsync(string container, string localFile, string path, int? ownerUid, int? ownerGid, CancellationToken cancellationToken);
}
