using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Docker;

internal static partial class Log
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "Docker {Action} container {Container} on {Endpoint}")]
    public static partial void ContainerAction(ILogger logger, string action, string container, string endpoint);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Waiting up to {Timeout} for {Selector} to be healthy")]
    public static partial void WaitingForHealth(ILogger logger, ContainerSelector selector, TimeSpan timeout);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "{Selector} ready after {Elapsed}")]
    public static partial void HealthReached(ILogger logger, ContainerSelector selector, TimeSpan elapsed);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "{Selector} not ready after {Elapsed}: {Details}")]
    public static partial void HealthTimedOut(ILogger logger, ContainerSelector selector, TimeSpan elapsed, HealthWaitResult details);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Debug, Message = "Engine {Endpoint} not reachable while waiting for health; retrying: {Error}")]
    public static partial void EngineUnreachableWhileWaiting(ILogger logger, string endpoint, string error);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Information, Message = "Captured {Bytes} bytes of logs of {Container}")]
    public static partial void LogsCaptured(ILogger logger, string container, long bytes);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Information, Message = "Forensic snapshot of {Container}: image {Image} ({ImageId}) saved to {Path}, {Bytes} bytes, sha256 {Sha256}")]
    public static partial void ForensicSnapshot(ILogger logger, string container, string image, string imageId, string path, long bytes, string sha256);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Information, Message = "Volume {Volume}: {Action}")]
    public static partial void VolumeAction(ILogger logger, string volume, string action);

    [LoggerMessage(EventId = 2014, Level = LogLevel.Information, Message = "Volume {Volume} archived: {Bytes} bytes of tar")]
    public static partial void VolumeArchived(ILogger logger, string volume, long bytes);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Information, Message = "Copied volume {Source} to {Destination}: {Bytes} bytes of tar, sha256 {Sha256}")]
    public static partial void VolumeCopied(ILogger logger, string source, string destination, long bytes, string sha256);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Warning, Message = "Helper image {Image} is not on {Endpoint}; using {Fallback} instead (the helper container is never started)")]
    public static partial void HelperImageFallback(ILogger logger, string image, string endpoint, string fallback);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Warning, Message = "Could not remove helper container {Container}: {Error}")]
    public static partial void HelperCleanupFailed(ILogger logger, string container, string error);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Information, Message = "Exec in {Container}: {Command} exited with {ExitCode}")]
    public static partial void Exec(ILogger logger, string container, IReadOnlyList<string> command, long exitCode);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Information, Message = "Recreated container {Container}: {OldId} -> {NewId} from image {Image}")]
    public static partial void Recreated(ILogger logger, string container, string oldId, string newId, string image);

    [LoggerMessage(EventId = 2013, Level = LogLevel.Error, Message = "Recreating {Container} failed; rolling back to the old container {OldId}")]
    public static partial void RecreateRollback(ILogger logger, Exception exception, string container, string oldId);

    [LoggerMessage(EventId = 2020, Level = LogLevel.Information, Message = "Compose: {Command}")]
    public static partial void ComposeRunning(ILogger logger, Hosts.CommandLine command);

    [LoggerMessage(EventId = 2021, Level = LogLevel.Information, Message = "Compose finished with exit code {ExitCode} in {Elapsed}")]
    public static partial void ComposeFinished(ILogger logger, int exitCode, TimeSpan elapsed);

    [LoggerMessage(EventId = 2022, Level = LogLevel.Debug, Message = "Compose CLI detected: {Cli}")]
    public static partial void ComposeDetected(ILogger logger, IReadOnlyList<string> cli);

    [LoggerMessage(EventId = 2023, Level = LogLevel.Warning, Message = "Evidence directory {Directory} is readable by other users; the evidence files in it are 0600, but restrict the directory too (chmod 700)")]
    public static partial void EvidenceDirectoryOpen(ILogger logger, string directory);
}
