using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Monitoring;

/// <summary>
/// The monitoring stack's backup (configuration section <c>Backups:Monitoring</c>): which containers hold the
/// monitoring data (Prometheus, Grafana) and which named volumes are theirs. The containers are stopped while their
/// volumes are archived, so the archive is a consistent snapshot, and started again afterwards (also when the
/// archive failed), then checked running or healthy.
/// </summary>
public sealed class MonitoringBackupOptions
{
    /// <summary>Source name of the sets in the store (default <c>monitoring</c>).</summary>
    public string Source { get; set; } = "monitoring";

    /// <summary>Containers stopped during the archive and started again after it, e.g. <c>prometheus</c>, <c>grafana</c>.</summary>
    public List<string> Containers { get; set; } = [];

    /// <summary>Named Docker volumes archived, e.g. <c>ecommerce_prometheus_data</c>, <c>ecommerce_grafana_data</c>.</summary>
    public List<string> Volumes { get; set; } = [];

    /// <summary>Time a container gets to stop (SIGTERM, then SIGKILL); default 30 s.</summary>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the containers get to be running (or healthy, with a healthcheck) again; default 3 minutes.</summary>
    public TimeSpan HealthTimeout { get; set; } = TimeSpan.FromMinutes(3);
}

internal sealed class MonitoringBackupOptionsValidator : IValidateOptions<MonitoringBackupOptions>
{
    public ValidateOptionsResult Validate(string? name, MonitoringBackupOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Source))
            errors.Add("Backups:Monitoring:Source must name the source of the sets (default monitoring).");
        if (options.Containers.Any(string.IsNullOrWhiteSpace) || options.Volumes.Any(string.IsNullOrWhiteSpace))
            errors.Add("Backups:Monitoring:Containers and Volumes must not hold empty names.");
        if (options.StopTimeout <= TimeSpan.Zero || options.HealthTimeout <= TimeSpan.Zero)
            errors.Add("Backups:Monitoring:StopTimeout and HealthTimeout must be positive.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
