using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Drills;

/// <summary>The recovery objectives of one component: how fast it must be back (RTO) and how much data it may lose (RPO).</summary>
public sealed class RecoveryObjective
{
    /// <summary>Name for people, e.g. <c>PostgreSQL (Main)</c>.</summary>
    public string? DisplayName { get; set; }

    /// <summary>Recovery time objective: from the start of the recovery (or drill) to the service healthy and smoke-tested.</summary>
    public TimeSpan Rto { get; set; }

    /// <summary>Recovery point objective: the most data (as time) the recovery may lose; zero for stateless services.</summary>
    public TimeSpan Rpo { get; set; }

    /// <summary>How often the component is backed up, as the plan says it (for the report), e.g. <c>Every 6 hours</c>.</summary>
    public string? BackupFrequency { get; set; }

    /// <summary>Priority, e.g. <c>P0 - Critical</c>.</summary>
    public string? Priority { get; set; }

    /// <summary>
    /// Definition id of the workflow that backs the component up (e.g. <c>backup-postgres</c>): the schedule of its
    /// trigger gives the backup interval the RPO is checked against. Empty: the component has no backup workflow.
    /// </summary>
    public string? BackupWorkflow { get; set; }

    /// <summary>
    /// The plan's backup schedule (cron, UTC), used when <see cref="BackupWorkflow"/> is empty or not loaded: what the
    /// plan promises until a workflow does it. Empty for stateless components.
    /// </summary>
    public string? BackupSchedule { get; set; }

    /// <summary>Kind of the component's backup sets in the stores (postgres, redis, media), for measured durations and ages.</summary>
    public string? BackupKind { get; set; }

    /// <summary>Source of the component's backup sets (database, Redis instance, media volume).</summary>
    public string? BackupSource { get; set; }
}

/// <summary>
/// The plan's recovery objectives per component (configuration section <c>Drills</c>), used by
/// <see cref="CheckRecoveryObjectives"/> to judge drills and recoveries. The defaults are the plan's table; a
/// configured component replaces or adds to them (keys are compared ignoring case).
/// </summary>
public sealed class RecoveryObjectivesOptions
{
    public const string SectionName = "Drills";

    /// <summary>Objectives by component key (e.g. <c>postgres-main</c>).</summary>
    public Dictionary<string, RecoveryObjective> Components { get; } = Defaults();

    /// <summary>The drill's own success criterion: the whole drill recovers within this (the plan: RTO &lt; 60 minutes).</summary>
    public TimeSpan DrillRtoTarget { get; set; } = TimeSpan.FromMinutes(60);

    /// <summary>Definition id of the drill whose restores are the measured restore times of the objectives report.</summary>
    public string DrillWorkflow { get; set; } = "dr-monthly-drill";

    /// <summary>The quarterly failover simulation's test record, zone and window (<c>Drills:FailoverSimulation</c>).</summary>
    public FailoverSimulationOptions FailoverSimulation { get; } = new();

    /// <summary>The objectives of the plan's "Recovery Objectives" table (Version 2.0).</summary>
    /// <remarks>
    /// The backup schedules are the plan's cron file (PostgreSQL every 6 hours, Redis at 04:00, media at 02:00 UTC). The
    /// plan backs monitoring up "weekly" without a time: Sunday 03:00 UTC is assumed, next to the plan's weekly
    /// verification. The repository's backup workflows run the same schedules (backup-monitoring for monitoring). The
    /// plan backs the Docker configuration up "on each deployment" and keeps the last 10 without an RPO of its own: the
    /// deployment starts backup-docker-config, and its hourly check catches a deployment that did not; the RPO of a day
    /// is ours (a configuration set younger than a day exists, or no deployment was captured in a day).
    /// </remarks>
    public static Dictionary<string, RecoveryObjective> Defaults() => new(StringComparer.OrdinalIgnoreCase)
    {
        [RecoveryComponents.PostgresMain] = Objective("PostgreSQL (Main)", 30, 15, "Every 6 hours", "P0 - Critical", "backup-postgres", "0 */6 * * *", "postgres", "ecommerce_db"),
        [RecoveryComponents.PostgresAi] = Objective("PostgreSQL (AI)", 30, 15, "Every 6 hours", "P0 - Critical", "backup-postgres", "0 */6 * * *", "postgres", "ai_db"),
        [RecoveryComponents.Backend] = Objective("Backend Service", 15, 0, "N/A", "P0 - Critical"),
        [RecoveryComponents.ApiGateway] = Objective("API Gateway", 15, 0, "N/A", "P0 - Critical"),
        [RecoveryComponents.Redis] = Objective("Redis Cache", 15, 60, "Daily", "P1 - High", "backup-redis", "0 4 * * *", "redis", "redis"),
        [RecoveryComponents.AiServices] = Objective("AI Services", 20, 0, "N/A", "P1 - High"),
        [RecoveryComponents.Nginx] = Objective("Nginx/Reverse Proxy", 10, 0, "N/A", "P0 - Critical"),
        [RecoveryComponents.Media] = Objective("Media Files (Volume)", 4 * 60, 24 * 60, "Daily", "P2 - Medium", "backup-media", "0 2 * * *", "media", "media"),
        [RecoveryComponents.Monitoring] = Objective("Monitoring Stack", 30, 24 * 60, "Weekly, kept 30 days", "P2 - Medium", "backup-monitoring", "0 3 * * 0", "monitoring", "monitoring"),
        [RecoveryComponents.DockerConfig] = Objective("Docker Configuration", 15, 24 * 60, "On each deployment (checked hourly), last 10 kept", "P1 - High", "backup-docker-config", "17 * * * *", "docker-config", "platform"),
    };

    private static RecoveryObjective Objective(string name, int rtoMinutes, int rpoMinutes, string frequency, string priority, string? workflow = null, string? schedule = null, string? kind = null, string? source = null) => new()
    {
        DisplayName = name,
        Rto = TimeSpan.FromMinutes(rtoMinutes),
        Rpo = TimeSpan.FromMinutes(rpoMinutes),
        BackupFrequency = frequency,
        Priority = priority,
        BackupWorkflow = workflow,
        BackupSchedule = schedule,
        BackupKind = kind,
        BackupSource = source,
    };
}

/// <summary>The component keys of the plan's objectives table.</summary>
public static class RecoveryComponents
{
    public const string PostgresMain = "postgres-main";
    public const string PostgresAi = "postgres-ai";
    public const string Backend = "backend";
    public const string ApiGateway = "api-gateway";
    public const string Redis = "redis";
    public const string AiServices = "ai-services";
    public const string Nginx = "nginx";
    public const string Media = "media";
    public const string Monitoring = "monitoring";
    public const string DockerConfig = "docker-config";
}

internal sealed class RecoveryObjectivesOptionsValidator : IValidateOptions<RecoveryObjectivesOptions>
{
    public ValidateOptionsResult Validate(string? name, RecoveryObjectivesOptions options)
    {
        var errors = new List<string>();
        if (options.DrillRtoTarget <= TimeSpan.Zero)
            errors.Add($"Drills:DrillRtoTarget must be positive (the plan: 01:00:00); it is {options.DrillRtoTarget}.");
        foreach (var (component, objective) in options.Components)
        {
            if (objective is null)
            {
                errors.Add($"Drills:Components:{component} is empty: give Rto and Rpo (e.g. 00:30:00 and 00:15:00).");
                continue;
            }

            if (objective.Rto <= TimeSpan.Zero)
                errors.Add($"Drills:Components:{component}:Rto must be positive (e.g. 00:30:00); it is {objective.Rto}.");
            if (objective.Rpo < TimeSpan.Zero)
                errors.Add($"Drills:Components:{component}:Rpo must be zero (stateless) or positive; it is {objective.Rpo}.");
            if (!string.IsNullOrWhiteSpace(objective.BackupSchedule))
            {
                try
                {
                    Core.Activities.Scheduling.CronSchedule.Parse(objective.BackupSchedule);
                }
                catch (Core.WorkflowDefinitionException e)
                {
                    errors.Add($"Drills:Components:{component}:BackupSchedule: {e.Message}");
                }
            }

            if (string.IsNullOrWhiteSpace(objective.BackupKind) != string.IsNullOrWhiteSpace(objective.BackupSource))
                errors.Add($"Drills:Components:{component} needs BackupKind and BackupSource together (e.g. postgres and ecommerce_db).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
