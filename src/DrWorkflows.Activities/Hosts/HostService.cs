using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Hosts;

/// <summary>Free and total space of the file system holding a path.</summary>
public sealed record DiskSpace(string Host, string Path, long TotalBytes, long AvailableBytes)
{
    public long UsedBytes => TotalBytes - AvailableBytes;

    public double UsedPercent => TotalBytes == 0 ? 0 : Math.Round(100.0 * UsedBytes / TotalBytes, 1);
}

/// <summary>State of a systemd unit (<c>systemctl show</c>).</summary>
public sealed record ServiceStatus(string Host, string Unit, string ActiveState, string SubState)
{
    public bool IsActive => ActiveState == "active";
}

/// <summary>How the Docker engine was restarted: the command run on the host, and how long it took.</summary>
public sealed record EngineRestartCommand(string Host, string CommandLine, int ExitCode, TimeSpan Elapsed);

/// <summary>Disk space and the Docker engine's systemd service on the configured host.</summary>
public interface IHostService
{
    string HostName { get; }

    Task<DiskSpace> GetDiskSpaceAsync(string path, CancellationToken cancellationToken);

    /// <summary>The unit's state; throws <see cref="HostOperationException"/> (<c>host.no-systemd</c>) when systemd does not run there.</summary>
    Task<ServiceStatus> GetServiceStatusAsync(string? unit, CancellationToken cancellationToken);

    /// <summary><c>systemctl restart</c> of the unit (default: the Docker engine), then its state.</summary>
    Task<ServiceStatus> RestartServiceAsync(string? unit, CancellationToken cancellationToken);

    /// <summary>
    /// Runs <c>Host:DockerRestartCommand</c>, or <c>systemctl restart</c> of <paramref name="unit"/> (default
    /// <c>Host:DockerServiceName</c>) when none is set. A non-zero exit throws; whether the engine answers again is
    /// for the caller to check.
    /// </summary>
    Task<EngineRestartCommand> RestartDockerEngineAsync(string? unit, CancellationToken cancellationToken);

    /// <summary>Why the Docker engine cannot be restarted on this host (naming the setting), or <c>null</c> when it can.</summary>
    Task<string?> CheckDockerRestartAsync(CancellationToken cancellationToken);
}

internal sealed class HostService(IOptions<HostOptions> options, IHostShell shell, ILogger<HostService> logger) : IHostService
{
    /// <summary>sd_booted(3): systemd is the init system when this directory exists.</summary>
    internal const string SystemdMarker = "/run/systemd/system";

    private readonly HostOptions options = options.Value;

    public string HostName => shell.HostName;

    public async Task<DiskSpace> GetDiskSpaceAsync(string path, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        DiskSpace space;
        if (shell.IsLocal)
        {
            if (!Path.Exists(path))
                throw new HostOperationException($"'{path}' does not exist on {HostName}.", HostOperationException.CommandFailed);

            // DriveInfo on Unix runs statvfs on the path itself, so any path inside the file system works.
            var drive = new DriveInfo(Path.GetFullPath(path));
            space = new DiskSpace(HostName, path, drive.TotalSize, drive.AvailableFreeSpace);
        }
        else
        {
            var result = await shell.RunAsync(new CommandLine("df", "-P", "-k", "--", path), false, cancellationToken);
            if (!result.Succeeded)
                throw new HostOperationException($"`df -P -k {path}` failed on {HostName}: {result.Summary}", HostOperationException.CommandFailed);
            space = ParseDf(HostName, path, result.StandardOutput);
        }

        Log.DiskSpace(logger, HostName, path, space.AvailableBytes, space.TotalBytes);
        return space;
    }

    public async Task<ServiceStatus> GetServiceStatusAsync(string? unit, CancellationToken cancellationToken)
    {
        unit ??= options.DockerServiceName;
        await RequireSystemdAsync(unit, cancellationToken);
        var result = await shell.RunAsync(new CommandLine("systemctl", "show", "--property=ActiveState,SubState", "--", unit), false, cancellationToken);
        if (!result.Succeeded)
            throw new HostOperationException($"`systemctl show {unit}` failed on {HostName}: {result.Summary}", HostOperationException.CommandFailed);
        var values = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        return new ServiceStatus(HostName, unit, values.GetValueOrDefault("ActiveState", "unknown"), values.GetValueOrDefault("SubState", "unknown"));
    }

    public async Task<ServiceStatus> RestartServiceAsync(string? unit, CancellationToken cancellationToken)
    {
        unit ??= options.DockerServiceName;
        await RequireSystemdAsync(unit, cancellationToken);
        Log.RestartingService(logger, unit, HostName);
        var result = await shell.RunAsync(new CommandLine("systemctl", "restart", "--", unit), true, cancellationToken);
        if (!result.Succeeded)
        {
            throw new HostOperationException(
                $"`systemctl restart {unit}` failed on {HostName} (exit {result.ExitCode}): {result.Summary}. See `journalctl -u {unit} -n 100` there.",
                HostOperationException.CommandFailed);
        }

        return await GetServiceStatusAsync(unit, cancellationToken);
    }

    public async Task<EngineRestartCommand> RestartDockerEngineAsync(string? unit, CancellationToken cancellationToken)
    {
        if (options.DockerRestartCommand.Count == 0)
        {
            unit ??= options.DockerServiceName;
            var status = await RestartServiceAsync(unit, cancellationToken);
            return new EngineRestartCommand(HostName, $"systemctl restart -- {unit} ({status.ActiveState}/{status.SubState})", 0, TimeSpan.Zero);
        }

        var command = new CommandLine(options.DockerRestartCommand[0], [.. options.DockerRestartCommand.Skip(1)]);
        Log.RestartingEngine(logger, command.ToString(), HostName);
        var result = await shell.RunAsync(command, true, cancellationToken);
        if (!result.Succeeded)
        {
            throw new HostOperationException(
                $"The Docker restart command `{command}` (Host:DockerRestartCommand) failed on {HostName} (exit {result.ExitCode}): {result.Summary}. " +
                "Start the engine by hand and check its log.",
                HostOperationException.CommandFailed);
        }

        return new EngineRestartCommand(HostName, command.ToString(), result.ExitCode, result.Elapsed);
    }

    public async Task<string?> CheckDockerRestartAsync(CancellationToken cancellationToken)
    {
        if (options.DockerRestartCommand.Count > 0)
            return null; // validated at start: the program exists (on this host)
        try
        {
            await RequireSystemdAsync(options.DockerServiceName, cancellationToken);
            return null;
        }
        catch (HostOperationException e) when (e.Code == HostOperationException.NoSystemd)
        {
            return $"Host:DockerRestartCommand is not set and systemd does not run on {HostName}, so the Docker engine cannot be restarted " +
                   "(set Host:DockerRestartCommand to the host's own restart command, e.g. [\"service\", \"docker\", \"restart\"]).";
        }
    }

    internal static DiskSpace ParseDf(string host, string path, string output)
    {
        // Filesystem 1024-blocks Used Available Capacity Mounted on
        var line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).FirstOrDefault()
            ?? throw new HostOperationException($"`df` printed no data for {path} on {host}.", HostOperationException.CommandFailed);
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 6 || !long.TryParse(fields[1], CultureInfo.InvariantCulture, out var total) || !long.TryParse(fields[3], CultureInfo.InvariantCulture, out var available))
            throw new HostOperationException($"Cannot read `df -P` output for {path} on {host}: '{line.Trim()}'.", HostOperationException.CommandFailed);
        return new DiskSpace(host, path, total * 1024, available * 1024);
    }

    private async Task RequireSystemdAsync(string unit, CancellationToken cancellationToken)
    {
        var present = shell.IsLocal
            ? Directory.Exists(SystemdMarker)
            : (await shell.RunAsync(new CommandLine("test", "-d", SystemdMarker), false, cancellationToken)).Succeeded;
        if (!present)
        {
            throw new HostOperationException(
                $"systemd is not running on {HostName} (no {SystemdMarker}), so the '{unit}' service cannot be managed with systemctl. " +
                "Restart the Docker engine with that host's own init system (e.g. `service docker restart`) or by hand (stop dockerd, start it again).",
                HostOperationException.NoSystemd);
        }
    }
}
