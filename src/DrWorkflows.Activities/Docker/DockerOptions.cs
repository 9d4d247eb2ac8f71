namespace DrWorkflows.Activities.Docker;

/// <summary>
/// The Docker engine (and Compose project) the Docker activities act on. Bound from configuration section
/// <c>Docker</c>. A remote engine is reached over TCP with mutual TLS (<c>tcp://host:2376</c> plus the three
/// certificate paths, as <c>docker --tlsverify</c>). SSH (<c>DOCKER_HOST=ssh://...</c>) is not supported by
/// Docker.DotNet: forward the remote socket with an SSH tunnel
/// (<c>ssh -N -L /run/drw/docker.sock:/var/run/docker.sock user@host</c>) and point <see cref="Endpoint"/> at it.
/// </summary>
public sealed class DockerOptions
{
    public const string SectionName = "Docker";

    /// <summary>Engine API endpoint: <c>unix:///var/run/docker.sock</c> (default) or <c>tcp://host:port</c>.</summary>
    public string Endpoint { get; set; } = "unix:///var/run/docker.sock";

    /// <summary>CA certificate (PEM) the engine's server certificate must chain to; system trust when unset.</summary>
    public string? TlsCaCertificatePath { get; set; }

    /// <summary>Client certificate (PEM) presented to the engine; requires <see cref="TlsClientKeyPath"/>.</summary>
    public string? TlsClientCertificatePath { get; set; }

    /// <summary>Private key (PEM) of the client certificate.</summary>
    public string? TlsClientKeyPath { get; set; }

    /// <summary>Timeout of one non-streaming API request (streams such as save or archive are bounded by cancellation only).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>How often container state is polled while waiting for health.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a container without a healthcheck must have been running (since its last start) to count as ready
    /// in a health wait. A crash-looping container is "running" for a moment between restarts; this tells them apart.
    /// </summary>
    public TimeSpan RunningStableTime { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Image of the short-lived helper containers used to reach volumes (they are created, never started, so any
    /// image present on the engine works). Default: the image of nothing else to pull, <c>busybox:latest</c>.
    /// </summary>
    public string HelperImage { get; set; } = "busybox:latest";

    /// <summary>Compose project name (<c>-p</c>, label <c>com.docker.compose.project</c>).</summary>
    public string? ComposeProject { get; set; }

    /// <summary>Compose files (<c>-f</c>), in order; Compose's default lookup when empty.</summary>
    public IList<string> ComposeFiles { get; } = [];

    /// <summary>Working directory of the Compose CLI (its project directory, where <c>.env</c> is read).</summary>
    public string? ComposeProjectDirectory { get; set; }

    /// <summary>
    /// The Compose CLI as a program and leading arguments, e.g. <c>["docker", "compose"]</c> or
    /// <c>["/usr/bin/docker-compose"]</c>. When empty, <c>docker compose</c> (v2) is tried, then <c>docker-compose</c> (v1).
    /// </summary>
    public IList<string> ComposeCommand { get; } = [];

    /// <summary>Directories searched for <c>docker</c> and <c>docker-compose</c>; the <c>PATH</c> when unset.</summary>
    public string? ComposeSearchPath { get; set; }

    /// <summary>Upper bound of one Compose command (pull can be slow).</summary>
    public TimeSpan ComposeTimeout { get; set; } = TimeSpan.FromMinutes(15);

    internal bool UsesTls => TlsClientCertificatePath is not null || TlsCaCertificatePath is not null;
}
