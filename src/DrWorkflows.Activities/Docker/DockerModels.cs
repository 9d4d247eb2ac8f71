namespace DrWorkflows.Activities.Docker;

/// <summary>Which containers an operation applies to: named ones, or the containers of a Compose project.</summary>
public sealed record ContainerSelector
{
    /// <summary>Container names or ids.</summary>
    public IReadOnlyList<string> Containers { get; init; } = [];

    /// <summary>Compose project whose containers are selected (label <c>com.docker.compose.project</c>).</summary>
    public string? ComposeProject { get; init; }

    /// <summary>
    /// Only these services of <see cref="ComposeProject"/> (label <c>com.docker.compose.service</c>); all when empty. A
    /// listed service without a container is reported as missing.
    /// </summary>
    public IReadOnlyList<string> Services { get; init; } = [];

    /// <summary>Services of <see cref="ComposeProject"/> left out on purpose (an explicit exclusion, named in every report).</summary>
    public IReadOnlyList<string> ExcludedServices { get; init; } = [];

    public static ContainerSelector Named(params string[] containers) => new() { Containers = containers };

    public static ContainerSelector Project(string project, params string[] services) => new() { ComposeProject = project, Services = services };

    public override string ToString()
    {
        if (ComposeProject is null)
            return $"containers {string.Join(", ", Containers)}";
        var what = Services.Count == 0 ? $"all services of Compose project '{ComposeProject}'" : $"services {string.Join(", ", Services)} of Compose project '{ComposeProject}'";
        return ExcludedServices.Count == 0 ? what : $"{what} (excluded: {string.Join(", ", ExcludedServices)})";
    }
}

/// <summary>A port published on the host: where the engine (or docker-proxy) listens, and for which container port.</summary>
public sealed record PublishedPort(string HostIp, int HostPort, string Protocol, int ContainerPort)
{
    /// <summary>Only processes on the host itself can reach it (127.0.0.0/8 or ::1).</summary>
    public bool LoopbackOnly => System.Net.IPAddress.TryParse(HostIp, out var address) && System.Net.IPAddress.IsLoopback(address);

    public override string ToString() => $"{(HostIp.Contains(':', StringComparison.Ordinal) ? $"[{HostIp}]" : HostIp)}:{HostPort}->{ContainerPort}/{Protocol}";
}

/// <summary>State and health of one container at one moment.</summary>
public sealed record ContainerStatus
{
    public required string Id { get; init; }

    /// <summary>Name without the leading slash.</summary>
    public required string Name { get; init; }

    public string Image { get; init; } = string.Empty;

    /// <summary>The content digest of the image the container runs (<c>sha256:…</c>, the image ID), when known.</summary>
    public string? ImageId { get; init; }

    /// <summary>Docker state: created, running, paused, restarting, removing, exited, dead.</summary>
    public required string State { get; init; }

    /// <summary>Health status (starting, healthy, unhealthy) or <c>null</c> when the container has no healthcheck.</summary>
    public string? Health { get; init; }

    /// <summary>Output of the most recent health check, trimmed (the reason a container is unhealthy).</summary>
    public string? LastHealthOutput { get; init; }

    /// <summary>Exit code of the last run (meaningful when exited).</summary>
    public long ExitCode { get; init; }

    public long RestartCount { get; init; }

    public string? ComposeProject { get; init; }

    public string? ComposeService { get; init; }

    /// <summary>When the container's process was last started (each restart moves it); <c>null</c> when it never ran.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>Ports published on the host (empty with host networking or when none are published).</summary>
    public IReadOnlyList<PublishedPort> PublishedPorts { get; init; } = [];

    /// <summary>
    /// Set by a health wait: running without a healthcheck, but (re)started less than <c>Docker:RunningStableTime</c>
    /// ago, so a crash loop cannot be told from a service that stays up yet.
    /// </summary>
    public bool JustStarted { get; init; }

    /// <summary>Healthy, or running (and not just restarted) when the container has no healthcheck.</summary>
    public bool IsReady => Health is null ? State == "running" && !JustStarted : State == "running" && Health == "healthy";

    /// <summary>Why the container is not ready, in words; empty when ready.</summary>
    public string Reason =>
        IsReady ? string.Empty
        : State != "running" ? (State == "exited" ? $"exited with code {ExitCode}" : State) + (RestartCount > 0 ? $" (restarted {RestartCount} times)" : string.Empty)
        : Health is null ? "running without a healthcheck, but " + (StartedAt is { } at ? $"only since {at:u}" : "just started") + (RestartCount > 0 ? $" (restarted {RestartCount} times)" : string.Empty)
        : Health == "unhealthy" ? "unhealthy" + (string.IsNullOrWhiteSpace(LastHealthOutput) ? string.Empty : $" (last check: {LastHealthOutput})")
        : $"health {Health}" + (string.IsNullOrWhiteSpace(LastHealthOutput) ? string.Empty : $" (last check: {LastHealthOutput})");

    /// <summary>The service and the container (<c>backend (ecommerce_backend)</c>), or the container alone outside Compose.</summary>
    public string DisplayName => ComposeService is { Length: > 0 } service && service != Name ? $"{service} ({Name})" : Name;

    public override string ToString() => IsReady ? $"{DisplayName}: ready ({Health ?? State})" : $"{DisplayName}: {Reason}";
}

/// <summary>Result of waiting for containers to become healthy.</summary>
public sealed record HealthWaitResult(bool AllReady, IReadOnlyList<ContainerStatus> Containers, IReadOnlyList<string> Missing, TimeSpan Elapsed)
{
    /// <summary>Containers that were not ready at the end of the wait.</summary>
    public IReadOnlyList<ContainerStatus> NotReady => [.. Containers.Where(c => !c.IsReady)];

    /// <summary>One line per problem: "service (container): state and reason", and "name: not found" for what has no container.</summary>
    public IReadOnlyList<string> Problems => [.. NotReady.Select(c => c.ToString()).Concat(Missing.Select(m => $"{m}: not found"))];

    /// <summary>All problems in one line, or how many containers are ready.</summary>
    public string Describe() =>
        AllReady ? $"all {Containers.Count} container(s) ready" : string.Join("; ", Problems);

    public override string ToString() => Describe();
}

/// <summary>What to capture from a container's log.</summary>
public sealed record LogCaptureRequest
{
    /// <summary>Only the last N lines; all when <c>null</c>.</summary>
    public int? Tail { get; init; }

    /// <summary>Only lines written at or after this time.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Prefix each line with its timestamp.</summary>
    public bool Timestamps { get; init; }

    /// <summary>Write the log to this file (replaced atomically); the text is returned when <c>null</c>.</summary>
    public string? OutputPath { get; init; }

    /// <summary>Upper bound of the text returned when no <see cref="OutputPath"/> is given (the end is kept).</summary>
    public int MaxChars { get; init; } = 1 << 20;
}

/// <summary>A captured log: the text (when not written to a file) or the file, with size and checksum.</summary>
public sealed record LogCapture(string Container, string? Text, string? Path, long Bytes, string Sha256, bool Truncated);

/// <summary>A container committed to an image and the image saved to a tar file, for forensics.</summary>
public sealed record ForensicSnapshot(string Container, string ContainerId, string ImageId, string ImageReference, string Path, long Bytes, string Sha256);

/// <summary>A file written or streamed, with its size and SHA-256 (lower-case hex).</summary>
public sealed record StreamDigest(long Bytes, string Sha256);

/// <summary>A volume tar archive: where it went, its size and checksum.</summary>
public sealed record VolumeArchive(string Volume, string? Path, long Bytes, string Sha256);

/// <summary>Result of copying one volume into another.</summary>
public sealed record VolumeCopy(string Source, string Destination, long Bytes, string Sha256, bool SourceRemoved);

/// <summary>A Docker volume.</summary>
public sealed record VolumeInfo(string Name, string Driver, string Mountpoint, IReadOnlyDictionary<string, string> Labels);

/// <summary>Options of <see cref="IDockerService.CopyVolumeAsync"/>.</summary>
public sealed record VolumeCopyOptions
{
    /// <summary>Refuse when a running container uses the source (the copy would not be consistent). Default: refuse.</summary>
    public bool AllowSourceInUse { get; init; }

    /// <summary>Refuse when the destination already holds files. Default: refuse.</summary>
    public bool RequireEmptyDestination { get; init; } = true;

    /// <summary>Remove the source after a successful copy (a rename by copy).</summary>
    public bool RemoveSource { get; init; }

    /// <summary>Labels of the destination when it is created.</summary>
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
}

/// <summary>A command run in a container.</summary>
public sealed record ExecResult(long ExitCode, string StandardOutput, string StandardError)
{
    public bool Succeeded => ExitCode == 0;
}

/// <summary>Options of <see cref="IDockerService.ExecAsync"/>.</summary>
public sealed record ExecOptions
{
    public string? User { get; init; }

    public string? WorkingDirectory { get; init; }

    public IReadOnlyList<string> Environment { get; init; } = [];

    /// <summary>Text written to the command's standard input.</summary>
    public string? StandardInput { get; init; }

    /// <summary>Upper bound of the command; its output so far is lost when reached.</summary>
    public TimeSpan? Timeout { get; init; }
}

/// <summary>Result of recreating a container.</summary>
public sealed record RecreateResult(string Name, string OldId, string NewId, string Image, ContainerStatus Status);
