using System.Formats.Tar;
using System.Runtime.ExceptionServices;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Docker;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Monitoring;

/// <summary>A monitoring backup: the set, the volumes in it, the containers stopped for it, and how they came back.</summary>
public sealed record MonitoringBackupResult(BackupSetSummary Backup, IReadOnlyList<string> Volumes, IReadOnlyList<string> ContainersStopped, string ServiceCheck);

/// <summary>Which monitoring set to restore, and where.</summary>
public sealed record MonitoringRestoreRequest
{
    /// <summary>Set id; null for the newest verified set.</summary>
    public string? SetId { get; init; }

    /// <summary>Backup store; null for the default store.</summary>
    public string? Store { get; init; }

    /// <summary>
    /// False (the default): each volume is restored into a fresh volume <c>{volume}-restored-{set}</c>, the live ones are
    /// not touched. True (after an approval): the containers are stopped, each live volume is first copied to
    /// <c>{volume}-before-restore-{set}</c>, the backup is written over it, and the containers are started and checked.
    /// </summary>
    public bool InPlace { get; init; }
}

/// <summary>One restored volume: the volume backed up, the volume written, and the regular files checked in it.</summary>
public sealed record RestoredVolume(string Volume, string Target, int Files, long Bytes);

public sealed record MonitoringRestoreResult(string Store, string SetId, DateTimeOffset TakenAt, bool InPlace, IReadOnlyList<RestoredVolume> Volumes, IReadOnlyList<string> SafetyCopies, string ServiceCheck);

/// <summary>
/// Backs up the monitoring volumes (Prometheus, Grafana) as backup sets of kind <c>monitoring</c>, one tar archive per
/// volume, with their containers stopped during the archive (a consistent snapshot of every store at once: Prometheus's
/// snapshot API would cover Prometheus only, not Grafana's SQLite database, and needs the admin API enabled), and
/// restores them into fresh volumes or, approved, over the live ones.
/// </summary>
public interface IMonitoringBackupService
{
    Task<MonitoringBackupResult> BackupAsync(string setId, string? store, string? workflowInstanceId, CancellationToken cancellationToken);

    Task<MonitoringRestoreResult> RestoreAsync(MonitoringRestoreRequest request, CancellationToken cancellationToken);
}

internal sealed class MonitoringBackupService(
    IOptions<MonitoringBackupOptions> options,
    IDockerService docker,
    IBackupCatalog catalog,
    IBackupCodecs codecs,
    TimeProvider clock,
    ILogger<MonitoringBackupService> logger) : IMonitoringBackupService
{
    private MonitoringBackupOptions Settings => options.Value;

    public async Task<MonitoringBackupResult> BackupAsync(string setId, string? store, string? workflowInstanceId, CancellationToken cancellationToken)
    {
        var volumes = await RequireVolumesAsync(cancellationToken);
        var stopped = new List<string>();
        ExceptionDispatchInfo? failure = null;
        BackupSet? set = null;
        try
        {
            foreach (var container in Settings.Containers)
            {
                if (await docker.StopContainerAsync(container, Settings.StopTimeout, cancellationToken))
                {
                    stopped.Add(container);
                    Log.Stopped(logger, container);
                }
            }

            set = await WriteSetAsync(volumes, stopped, setId, store, workflowInstanceId, cancellationToken);
        }
        catch (Exception ex)
        {
            failure = ExceptionDispatchInfo.Capture(ex);
        }

        // Started again whatever happened to the archive; a service that does not come back is the louder problem.
        var check = await StartAndCheckAsync(stopped);
        if (check.Problem is { } problem)
        {
            throw new BackupException(BackupErrorCodes.ToolFailed,
                $"The monitoring containers did not come back after the backup: {problem}. " +
                (failure is null ? $"The backup set {set} was written." : $"The backup itself failed too: {failure.SourceException.Message}"),
                innerException: failure?.SourceException);
        }

        failure?.Throw();
        return new MonitoringBackupResult(BackupSetSummary.From(set!), volumes, stopped, check.Description);
    }

    public async Task<MonitoringRestoreResult> RestoreAsync(MonitoringRestoreRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var set = await FindSetAsync(request, cancellationToken);
        var volumes = set.Manifest.Files.Select(f => (File: f, Volume: VolumeOf(set, f))).ToList();
        var suffix = BackupKeysSuffix(set.Id);

        // 1. The whole set read back and checked before anything is written: its files, by volume.
        var expected = new Dictionary<string, Dictionary<string, long>>(StringComparer.Ordinal);
        await using (var decoding = await codecs.BeginDecodingAsync(set.Manifest, null, cancellationToken))
        {
            foreach (var (file, volume) in volumes)
                await TarSetFiles.ReadAsync(catalog, set, file, decoding, async (tar, ct) => expected[volume] = await RegularFilesAsync(tar, ct), logger, cancellationToken);
        }

        var targets = volumes.ToDictionary(v => v.Volume, v => request.InPlace ? v.Volume : $"{v.Volume}-restored-{suffix}", StringComparer.Ordinal);
        if (!request.InPlace)
        {
            foreach (var target in targets.Values)
            {
                if (await docker.InspectVolumeAsync(target, cancellationToken) is not null)
                    throw new BackupException(BackupErrorCodes.InvalidRequest, $"Volume '{target}' already exists on {docker.Endpoint}: this set was restored there before. Remove that volume (docker volume rm {target}) or restore in place.");
            }

            await WriteVolumesAsync(set, volumes, targets, cancellationToken);
            var written = await CheckVolumesAsync(volumes, targets, expected, cancellationToken);
            return new MonitoringRestoreResult(set.Store, set.Id, set.Manifest.StartedAt, false, written, [], "the live monitoring containers and volumes were not touched");
        }

        // 2. In place: the containers stopped, a safety copy of each live volume, the backup written over it.
        var stopped = new List<string>();
        var copies = new List<string>();
        ExceptionDispatchInfo? failure = null;
        IReadOnlyList<RestoredVolume> restored = [];
        try
        {
            foreach (var container in Settings.Containers)
            {
                if (await docker.StopContainerAsync(container, Settings.StopTimeout, cancellationToken))
                    stopped.Add(container);
            }

            foreach (var (_, volume) in volumes)
            {
                var copy = $"{volume}-before-restore-{suffix}";
                if (await docker.InspectVolumeAsync(volume, cancellationToken) is not null && await docker.InspectVolumeAsync(copy, cancellationToken) is null)
                {
                    await docker.CopyVolumeAsync(volume, copy, new VolumeCopyOptions(), cancellationToken);
                    copies.Add(copy);
                }
            }

            await WriteVolumesAsync(set, volumes, targets, cancellationToken);
            restored = await CheckVolumesAsync(volumes, targets, expected, cancellationToken);
        }
        catch (Exception ex)
        {
            failure = ExceptionDispatchInfo.Capture(ex);
        }

        var check = await StartAndCheckAsync(Settings.Containers.Count > 0 ? [.. Settings.Containers] : stopped);
        if (check.Problem is { } problem)
        {
            throw new BackupException(BackupErrorCodes.ToolFailed,
                $"The monitoring containers did not come back after the restore of set {set.Id}: {problem}." +
                (failure is null ? string.Empty : $" The restore itself failed too: {failure.SourceException.Message}") +
                (copies.Count > 0 ? $" The volumes as they were before are kept in {string.Join(", ", copies)}." : string.Empty),
                innerException: failure?.SourceException);
        }

        failure?.Throw();
        return new MonitoringRestoreResult(set.Store, set.Id, set.Manifest.StartedAt, true, restored, copies, check.Description);
    }

    private async Task<List<string>> RequireVolumesAsync(CancellationToken cancellationToken)
    {
        if (Settings.Volumes.Count == 0)
            throw new BackupException(BackupErrorCodes.InvalidRequest, "Backups:Monitoring:Volumes is empty: name the Prometheus and Grafana volumes to back up (e.g. Backups__Monitoring__Volumes__0=ecommerce_prometheus_data).");
        var missing = new List<string>();
        foreach (var volume in Settings.Volumes)
        {
            if (await docker.InspectVolumeAsync(volume, cancellationToken) is null)
                missing.Add(volume);
        }

        return missing.Count == 0
            ? [.. Settings.Volumes]
            : throw new BackupException(BackupErrorCodes.NotFound, $"Monitoring volume(s) {string.Join(", ", missing)} do not exist on {docker.Endpoint}: check Backups:Monitoring:Volumes. Nothing was stopped.");
    }

    private async Task<BackupSet> WriteSetAsync(IReadOnlyList<string> volumes, IReadOnlyList<string> stopped, string setId, string? store, string? workflowInstanceId, CancellationToken cancellationToken)
    {
        await using var encoding = await codecs.BeginEncodingAsync(cancellationToken);
        await using var writer = await catalog.BeginAsync(new BackupSetRequest(BackupKinds.Monitoring, Settings.Source, setId) { Store = store }, cancellationToken);
        foreach (var volume in volumes)
        {
            await TarSetFiles.WriteAsync(writer, $"{volume}.tar", encoding, (tar, ct) => docker.ArchiveVolumeAsync(volume, tar, ct), logger, cancellationToken);
            writer.Manifest.Properties[VolumeKey(writer.Manifest.Files[^1].Name)] = volume;
        }

        var manifest = writer.Manifest;
        manifest.CompletedAt = clock.GetUtcNow();
        manifest.Origin = $"Docker volumes {string.Join(", ", volumes)} on {docker.Endpoint}";
        manifest.Compression = encoding.Compression;
        manifest.Encryption = encoding.Encryption;
        foreach (var (tool, version) in encoding.Tools)
            manifest.Tools[tool] = version;
        manifest.WorkflowInstanceId = workflowInstanceId;
        manifest.Properties["format"] = "tar per volume";
        manifest.Properties["volumes"] = string.Join(",", volumes);
        manifest.Properties["consistency"] = stopped.Count > 0
            ? $"containers {string.Join(", ", stopped)} stopped during the archive"
            : "no configured container was running: the volumes were not in use";
        return await writer.CompleteAsync(clock, cancellationToken);
    }

    private async Task<BackupSet> FindSetAsync(MonitoringRestoreRequest request, CancellationToken cancellationToken)
    {
        if (request.SetId is { Length: > 0 } id)
        {
            return await catalog.FindAsync(request.Store, BackupKinds.Monitoring, Settings.Source, id, cancellationToken)
                ?? throw new BackupException(BackupErrorCodes.NoRestorePoint, $"No monitoring backup set '{id}' of '{Settings.Source}' exists in store '{request.Store ?? "default"}'. List them with ListBackups (kind monitoring).");
        }

        return (await catalog.FindRestorePointAsync(new RestorePointQuery(BackupKinds.Monitoring, Settings.Source) { Store = request.Store }, cancellationToken)).SelectedSet
            ?? throw new BackupException(BackupErrorCodes.NoRestorePoint, $"No verified monitoring backup of '{Settings.Source}' exists in store '{request.Store ?? "default"}'. Run backup-monitoring (it verifies its sets), or name a set.");
    }

    private async Task WriteVolumesAsync(BackupSet set, IReadOnlyList<(BackupFileEntry File, string Volume)> volumes, IReadOnlyDictionary<string, string> targets, CancellationToken cancellationToken)
    {
        await using var decoding = await codecs.BeginDecodingAsync(set.Manifest, null, cancellationToken);
        foreach (var (file, volume) in volumes)
        {
            var target = targets[volume];
            await TarSetFiles.ReadAsync(catalog, set, file, decoding, (tar, ct) => docker.RestoreVolumeAsync(target, tar, ct), logger, cancellationToken);
            Log.VolumeRestored(logger, volume, set.Prefix, target);
        }
    }

    /// <summary>Reads each written volume back from the engine and checks it holds every regular file of the backup with its size.</summary>
    private async Task<IReadOnlyList<RestoredVolume>> CheckVolumesAsync(IReadOnlyList<(BackupFileEntry File, string Volume)> volumes, IReadOnlyDictionary<string, string> targets,
        IReadOnlyDictionary<string, Dictionary<string, long>> expected, CancellationToken cancellationToken)
    {
        var result = new List<RestoredVolume>();
        foreach (var (_, volume) in volumes)
        {
            var target = targets[volume];
            var actual = new Dictionary<string, long>(StringComparer.Ordinal);
            var pipe = new System.IO.Pipelines.Pipe();
            var reading = Task.Run(async () =>
            {
                await using var stream = pipe.Reader.AsStream();
                foreach (var (name, length) in await RegularFilesAsync(stream, cancellationToken))
                    actual[name] = length;
            }, CancellationToken.None);
            try
            {
                await using (var stream = pipe.Writer.AsStream())
                    await docker.ArchiveVolumeAsync(target, stream, cancellationToken);
            }
            finally
            {
                await reading;
            }

            var wrong = expected[volume].Where(e => !actual.TryGetValue(e.Key, out var size) || size != e.Value).Select(e => e.Key).ToList();
            if (wrong.Count > 0)
                throw new BackupException(BackupErrorCodes.ChecksumMismatch, $"Volume '{target}' does not hold {wrong.Count} file(s) of the backup as backed up (e.g. {string.Join(", ", wrong.Take(3))}): the restore is incomplete.");
            result.Add(new RestoredVolume(volume, target, expected[volume].Count, expected[volume].Values.Sum()));
        }

        return result;
    }

    private async Task<(string? Problem, string Description)> StartAndCheckAsync(IReadOnlyList<string> containers)
    {
        if (containers.Count == 0)
            return (null, "no container was stopped");
        // Not the caller's token: the service is started again even when the run is being cancelled.
        using var deadline = new CancellationTokenSource(Settings.HealthTimeout + TimeSpan.FromMinutes(1), clock);
        var problems = new List<string>();
        foreach (var container in containers)
        {
            try
            {
                await docker.StartContainerAsync(container, deadline.Token);
                Log.Started(logger, container);
            }
            catch (Exception ex)
            {
                // Any failure to start is reported (never swallowed): the service not coming back is the louder problem.
                Log.StartFailed(logger, container, ex.Message);
                problems.Add($"{container} could not be started ({ex.Message})");
            }
        }

        try
        {
            var health = await docker.WaitForHealthyAsync(new ContainerSelector { Containers = [.. containers] }, Settings.HealthTimeout, deadline.Token);
            if (!health.AllReady)
                problems.Add(health.Describe());
            return problems.Count > 0
                ? (string.Join("; ", problems), string.Empty)
                : (null, $"{string.Join(", ", containers)} started again and checked: {health.Describe()}");
        }
        catch (Exception ex) when (ex is DockerOperationException or OperationCanceledException)
        {
            problems.Add($"their state could not be read ({ex.Message})");
            return (string.Join("; ", problems), string.Empty);
        }
    }

    private static async Task<Dictionary<string, long>> RegularFilesAsync(Stream tar, CancellationToken cancellationToken)
    {
        var files = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var reader = new TarReader(tar, leaveOpen: true);
        while (await reader.GetNextEntryAsync(copyData: false, cancellationToken) is { } entry)
        {
            if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile)
                files[entry.Name.TrimStart('.', '/')] = entry.Length;
        }

        await tar.CopyToAsync(Stream.Null, cancellationToken);
        return files;
    }

    private static string VolumeKey(string file) => file + ":volume";

    private static string VolumeOf(BackupSet set, BackupFileEntry file) =>
        set.Manifest.Properties.TryGetValue(VolumeKey(file.Name), out var volume)
            ? volume
            : throw new BackupException(BackupErrorCodes.InvalidRequest, $"Set {set} does not say which volume its file {file.Name} holds ({VolumeKey(file.Name)}); it is not a monitoring backup.");

    private static string BackupKeysSuffix(string setId)
    {
        var clean = new string([.. setId.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit)]);
        return clean.Length > 12 ? clean[..12] : clean;
    }
}
