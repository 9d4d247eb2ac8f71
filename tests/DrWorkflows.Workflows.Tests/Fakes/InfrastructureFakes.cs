using DrWorkflows.Activities.Dns;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Hosts;
using DrWorkflows.Activities.Http;
using DrWorkflows.Activities.Redis;
using DrWorkflows.Core;

namespace DrWorkflows.Workflows.Tests.Fakes;

/// <summary>A Docker engine that records every call and answers as scripted.</summary>
public sealed class FakeDocker(CallLog log) : IDockerService
{
    /// <summary>Called when a workflow removes a volume, or moves it away by copy (e.g. to empty the fake PostgreSQL server whose data it held).</summary>
    public Action<string>? VolumeRemoved { get; set; }

    /// <summary>Answers of successive health waits (true: all ready); <see cref="DefaultHealthy"/> once used up.</summary>
    public Queue<bool> Health { get; } = new();

    public bool DefaultHealthy { get; set; } = true;

    /// <summary>Exit code of a command run in a container (default 0).</summary>
    public Func<string, IReadOnlyList<string>, long> ExecExitCode { get; set; } = (_, _) => 0;

    /// <summary>Operations (e.g. <c>restart</c>) that throw, as an engine error would.</summary>
    public HashSet<string> FailOn { get; } = new(StringComparer.Ordinal);

    public string Endpoint => "unix:///fake/docker.sock";

    public Task<string> GetEngineVersionAsync(CancellationToken cancellationToken) => Task.FromResult("27.0-fake");

    public Task<ContainerStatus> InspectContainerAsync(string container, CancellationToken cancellationToken)
    {
        Record("inspect", container);
        return Task.FromResult(Status(container, DefaultHealthy));
    }

    public Task<IReadOnlyList<ContainerStatus>> ListContainersAsync(ContainerSelector selector, ICollection<string>? missing, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ContainerStatus>>([.. selector.Containers.Select(c => Status(c, DefaultHealthy))]);

    public Task<ContainerStatus> RestartContainerAsync(string container, TimeSpan stopTimeout, CancellationToken cancellationToken)
    {
        Record("restart", container);
        return Task.FromResult(Status(container, healthy: false) with { Health = "starting" });
    }

    public Task<bool> StopContainerAsync(string container, TimeSpan stopTimeout, CancellationToken cancellationToken)
    {
        Record("stop", container);
        return Task.FromResult(true);
    }

    public Task<bool> StartContainerAsync(string container, CancellationToken cancellationToken)
    {
        Record("start", container);
        return Task.FromResult(true);
    }

    public Task<HealthWaitResult> WaitForHealthyAsync(ContainerSelector selector, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var healthy = Health.Count > 0 ? Health.Dequeue() : DefaultHealthy;
        Record("wait-healthy", $"{Describe(selector)} {(int)timeout.TotalSeconds}s -> {(healthy ? "healthy" : "unhealthy")}");
        var names = (selector.Containers.Count > 0 ? selector.Containers : selector.Services.Count > 0 ? selector.Services : ["svc"]).Except(selector.ExcludedServices);
        return Task.FromResult(new HealthWaitResult(healthy, [.. names.Select(n => Status(n, healthy))], [], TimeSpan.FromSeconds(healthy ? 3 : timeout.TotalSeconds)));
    }

    public Task<LogCapture> CaptureLogsAsync(string container, LogCaptureRequest request, CancellationToken cancellationToken)
    {
        Record("logs", $"{container} -> {request.OutputPath ?? "text"}");
        return Task.FromResult(new LogCapture(container, request.OutputPath is null ? "FATAL: could not open file" : null, request.OutputPath, 42, Sha("log" + container), false));
    }

    public Task<ForensicSnapshot> SnapshotForForensicsAsync(string container, string imageReference, string outputPath, CancellationToken cancellationToken)
    {
        Record("forensic-snapshot", $"{container} {imageReference} {outputPath}");
        return Task.FromResult(new ForensicSnapshot(container, "id-" + container, "sha256:img", imageReference, outputPath, 1024, Sha("img" + container)));
    }

    public Task<VolumeInfo> CreateVolumeAsync(string name, IReadOnlyDictionary<string, string>? labels, CancellationToken cancellationToken)
    {
        Record("volume-create", name + (labels is { Count: > 0 } ? " [" + string.Join(", ", labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}")) + "]" : string.Empty));
        return Task.FromResult(new VolumeInfo(name, "local", "/var/lib/docker/volumes/" + name, new Dictionary<string, string>()));
    }

    /// <summary>Every volume carries Compose's project label, as the platform's volumes do.</summary>
    public Task<VolumeInfo?> InspectVolumeAsync(string name, CancellationToken cancellationToken) =>
        Task.FromResult<VolumeInfo?>(new VolumeInfo(name, "local", "/var/lib/docker/volumes/" + name, new Dictionary<string, string> { ["com.docker.compose.project"] = "ecommerce" }));

    public Task<StreamDigest> ArchiveVolumeAsync(string volume, Stream destination, CancellationToken cancellationToken) =>
        throw new NotSupportedException("The DR workflows archive volumes to files.");

    public Task<VolumeArchive> ArchiveVolumeToFileAsync(string volume, string path, CancellationToken cancellationToken)
    {
        Record("volume-archive", $"{volume} -> {path}");
        return Task.FromResult(new VolumeArchive(volume, path, 4096, Sha("archive" + volume)));
    }

    public Task RestoreVolumeAsync(string volume, Stream tar, CancellationToken cancellationToken) =>
        throw new NotSupportedException("The DR workflows restore databases, not raw volume tars.");

    public Task<VolumeCopy> CopyVolumeAsync(string source, string destination, VolumeCopyOptions options, CancellationToken cancellationToken)
    {
        Record("volume-copy", $"{source} -> {destination}{(options.RemoveSource ? " (remove source)" : string.Empty)}");
        if (options.RemoveSource)
            VolumeRemoved?.Invoke(source);
        return Task.FromResult(new VolumeCopy(source, destination, 4096, Sha("copy" + source), options.RemoveSource));
    }

    public Task<bool> RemoveVolumeAsync(string volume, bool force, CancellationToken cancellationToken)
    {
        Record("volume-remove", volume);
        VolumeRemoved?.Invoke(volume);
        return Task.FromResult(true);
    }

    public Task<ExecResult> ExecAsync(string container, IReadOnlyList<string> command, ExecOptions options, CancellationToken cancellationToken)
    {
        var code = ExecExitCode(container, command);
        Record("exec", $"{container} {string.Join(' ', command)} -> {code}");
        return Task.FromResult(new ExecResult(code, code == 0 ? "1" : string.Empty, code == 0 ? string.Empty : "could not connect to server"));
    }

    public Task<RecreateResult> RecreateContainerAsync(string container, TimeSpan stopTimeout, CancellationToken cancellationToken)
    {
        Record("recreate", container);
        return Task.FromResult(new RecreateResult(container, "old", "new", "image", Status(container, true)));
    }

    public Task<StreamDigest> ReadFileFromContainerAsync(string container, string path, Func<Stream, CancellationToken, Task> sink, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public Task WriteFileToContainerAsync(string container, string localFile, string path, int? ownerUid, int? ownerGid, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    internal static string Sha(string text) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));

    private void Record(string operation, string argument)
    {
        log.Add($"docker.{operation} {argument}");
        if (FailOn.Contains(operation))
            throw new ActivityFailureException($"Docker engine {Endpoint}: {operation} of {argument} failed (scripted by the test).");
    }

    private static string Describe(ContainerSelector selector) =>
        selector.ComposeProject is null ? string.Join(",", selector.Containers) : $"project:{selector.ComposeProject}" + (selector.Services.Count > 0 ? ":" + string.Join(",", selector.Services) : string.Empty);

    private static ContainerStatus Status(string name, bool healthy) => new()
    {
        Id = "id-" + name,
        Name = name,
        State = "running",
        Health = healthy ? "healthy" : "unhealthy",
        LastHealthOutput = healthy ? null : "pg_isready: no response",
    };
}

public sealed class FakeCompose(CallLog log) : IComposeService
{
    /// <summary>The services the (imaginary) Compose files declare.</summary>
    public List<string> DeclaredServices { get; } = ["api_gateway", "backend", "postgres"];

    /// <summary>When set, reading the Compose files fails with this message.</summary>
    public string? ConfigError { get; set; }

    public Task<IReadOnlyList<string>> DetectCliAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<string>>(["docker", "compose"]);

    public Task<IReadOnlyList<string>> ListServicesAsync(string? project, CancellationToken cancellationToken)
    {
        if (ConfigError is not null)
            throw new DockerOperationException(ConfigError, DockerOperationException.ComposeFailed);
        return Task.FromResult<IReadOnlyList<string>>([.. DeclaredServices.Order(StringComparer.Ordinal)]);
    }

    public Task<ComposeResult> RunAsync(ComposeRequest request, CancellationToken cancellationToken)
    {
        var line = $"compose.{request.Verb.ToString().ToLowerInvariant()}{(request.ForceRecreate ? " --force-recreate" : string.Empty)}{(request.NoDeps ? " --no-deps" : string.Empty)} {string.Join(",", request.Services)}".TrimEnd();
        log.Add(line);
        return Task.FromResult(new ComposeResult("docker compose " + request.Verb, 0, string.Empty, string.Empty, TimeSpan.FromSeconds(2)));
    }
}

public sealed class FakeHost(CallLog log) : IHostService, INetworkIsolationService
{
    public long AvailableBytes { get; set; } = 80L << 30;

    public long TotalBytes { get; set; } = 100L << 30;

    /// <summary>Throw on the Docker service restart (the engine does not come back).</summary>
    public bool FailRestart { get; set; }

    /// <summary>When set, the preflight hears that the engine cannot be restarted on this host, for this reason.</summary>
    public string? RestartImpossible { get; set; }

    /// <summary>When set, the preflight hears that isolation is impossible on this host, for this reason.</summary>
    public string? IsolationImpossible { get; set; }

    public string HostName => "fake-host";

    public Task<DiskSpace> GetDiskSpaceAsync(string path, CancellationToken cancellationToken)
    {
        log.Add($"host.disk {path}");
        return Task.FromResult(new DiskSpace(HostName, path, TotalBytes, AvailableBytes));
    }

    public Task<ServiceStatus> GetServiceStatusAsync(string? unit, CancellationToken cancellationToken) =>
        Task.FromResult(new ServiceStatus(HostName, unit ?? "docker", "active", "running"));

    public Task<ServiceStatus> RestartServiceAsync(string? unit, CancellationToken cancellationToken)
    {
        log.Add($"host.restart-service {unit ?? "docker"}");
        if (FailRestart)
            throw new ActivityFailureException("systemctl restart docker failed: Job for docker.service failed (scripted by the test).");
        return Task.FromResult(new ServiceStatus(HostName, unit ?? "docker", "active", "running"));
    }

    public Task<EngineRestartCommand> RestartDockerEngineAsync(string? unit, CancellationToken cancellationToken)
    {
        log.Add($"host.restart-service {unit ?? "docker"}");
        if (FailRestart)
            throw new ActivityFailureException("systemctl restart docker failed: Job for docker.service failed (scripted by the test).");
        return Task.FromResult(new EngineRestartCommand(HostName, $"systemctl restart -- {unit ?? "docker"}", 0, TimeSpan.FromSeconds(2)));
    }

    public Task<string?> CheckDockerRestartAsync(CancellationToken cancellationToken) => Task.FromResult(RestartImpossible);

    /// <summary>Each host port of the request: open before (for the fake probe), closed after.</summary>
    public Task<IsolationResult> IsolateAsync(IsolationRequest request, CancellationToken cancellationToken)
    {
        log.Add($"host.isolate {request.IsolationId} allow={string.Join(",", request.AllowedSources)} hostPorts={string.Join(",", request.HostPorts)}");
        var targets = request.HostPorts.Select(p => new IsolationTarget { Address = "0.0.0.0", Port = int.Parse(p, System.Globalization.CultureInfo.InvariantCulture), What = "host port" }).ToList();
        return Task.FromResult(new IsolationResult(
            request.IsolationId, HostName, "DOCKER-USER (fake)", ["-A DOCKER-USER -j DROP"], [], "198.19.0.2 (fake probe)",
            [.. targets.Select(t => new ProbeResult(t, ProbeResult.Open, "fake"))],
            [.. targets.Select(t => new ProbeResult(t, ProbeResult.TimedOut, "fake"))]));
    }

    public Task<IsolationLift> RestoreAsync(string isolationId, IReadOnlyList<IsolationTarget> expectReachable, CancellationToken cancellationToken)
    {
        log.Add($"host.lift-isolation {isolationId} expect={string.Join(",", expectReachable.Select(t => t.Port))}");
        return Task.FromResult(new IsolationLift(isolationId, HostName, 1, "198.19.0.2 (fake probe)", [.. expectReachable.Select(t => new ProbeResult(t, ProbeResult.Open, "fake"))], []));
    }

    public Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<string>>([]);

    public Task<IsolationCapability> CheckAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new IsolationCapability(HostName, "DOCKER-USER (fake)", IsolationImpossible is null ? [] : [IsolationImpossible]));
}

/// <summary>Smoke checks pass unless their URL is listed in <see cref="FailingUrls"/>.</summary>
public sealed class FakeSmokeTester(CallLog log) : ISmokeTester
{
    public HashSet<string> FailingUrls { get; } = new(StringComparer.OrdinalIgnoreCase);

    public Task<SmokeTestReport> RunAsync(IReadOnlyList<SmokeCheck> checks, int attempts, TimeSpan retryDelay, CancellationToken cancellationToken)
    {
        var results = checks.Select(c => FailingUrls.Contains(c.Url)
            ? new SmokeCheckResult(c.Method, c.Url, null, TimeSpan.FromMilliseconds(5), ["connection refused"], attempts)
            : new SmokeCheckResult(c.Method, c.Url, 200, TimeSpan.FromMilliseconds(5), [], 1)).ToList();
        var report = new SmokeTestReport(results);
        log.Add($"smoke {string.Join(",", checks.Select(c => c.Url))} -> {(report.Passed ? "passed" : "failed")}");
        return Task.FromResult(report);
    }
}

public sealed class FakeDns(CallLog log) : IDnsProvider
{
    public Dictionary<string, DnsRecord> Records { get; } = new(StringComparer.OrdinalIgnoreCase);

    public string Name => "fake-route53";

    public Task<DnsRecord?> GetRecordAsync(string zoneId, string name, string type, CancellationToken cancellationToken) =>
        Task.FromResult(Records.GetValueOrDefault(name));

    public Task<DnsChange> UpsertRecordAsync(string zoneId, DnsRecord record, string? comment, CancellationToken cancellationToken)
    {
        log.Add($"dns.upsert {zoneId} {record.Name} {record.Type} {string.Join(",", record.Values)} ttl={record.Ttl}");
        Records[record.Name] = record;
        return Task.FromResult(new DnsChange("C123", DnsChange.Pending, null));
    }

    public Task<DnsChange> GetChangeAsync(string changeId, CancellationToken cancellationToken)
    {
        log.Add($"dns.change {changeId}");
        return Task.FromResult(new DnsChange(changeId, DnsChange.InSync, null));
    }
}

/// <summary>
/// A Redis whose snapshots are a real, small RDB (two keys, saved by Redis 7.0: redis-check-rdb accepts it), saved
/// "now"; with <see cref="CorruptNextSnapshots"/> one byte of a key's value is changed, so its CRC64 no longer matches.
/// </summary>
public sealed class FakeRedis(CallLog log, TimeProvider clock) : IRedisService
{
    public static readonly byte[] Rdb = Convert.FromBase64String(
        "UkVESVMwMDEw+glyZWRpcy12ZXIGNy4wLjE1+gpyZWRpcy1iaXRzwED6BWN0aW1lwjyqFGv6CHVzZWQtbWVtwqhVDgD6CGFvZi1iYXNlwAD+APsCAAAJc2Vzc2lvbjo3BWFsaWNlAAZjYXJ0OjEUeyJza3UiOiJBMSIsInF0eSI6Mn3/RNn7Rfh/Wic=");

    /// <summary>The next snapshots are damaged (a byte of a value changed; their SHA-256 is taken of the damaged bytes, as a snapshot of a damaged file would be).</summary>
    public bool CorruptNextSnapshots { get; set; }

    public async Task<RedisSnapshot> SnapshotAsync(Func<Stream, CancellationToken, Task> sink, CancellationToken cancellationToken)
    {
        log.Add("redis.snapshot stream");
        var bytes = Rdb.ToArray();
        if (CorruptNextSnapshots)
            bytes[100] ^= 0x20;
        await using (var dump = new MemoryStream(bytes, writable: false))
            await sink(dump, cancellationToken);
        return new RedisSnapshot("127.0.0.1:6379", RedisDumpSource.RedisCli, clock.GetUtcNow(), 2, bytes.Length, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), null);
    }

    public Task<RedisSnapshot> SnapshotToFileAsync(string path, CancellationToken cancellationToken)
    {
        log.Add($"redis.snapshot {path}");
        return Task.FromResult(new RedisSnapshot("127.0.0.1:6379", RedisDumpSource.RedisCli, DateTimeOffset.UnixEpoch, 10, 100, FakeDocker.Sha("rdb"), path));
    }

    public Task<RedisRestoreResult> RestoreAsync(string dumpFile, long? expectedMinimumKeys, CancellationToken cancellationToken)
    {
        log.Add($"redis.restore {dumpFile}");
        return Task.FromResult(new RedisRestoreResult("127.0.0.1:6379", "container", 10, TimeSpan.FromSeconds(1)));
    }

    public Task<long> CountKeysAsync(CancellationToken cancellationToken) => Task.FromResult(10L);
}
