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

    /// <summary>The objectives of the plan's "Recovery Objectives" table (Version 2.0).</summary>
    public static Dictionary<string, RecoveryObjective> Defaults() => new(StringComparer.OrdinalIgnoreCase)
    {
        [RecoveryComponents.PostgresMain] = Objective("PostgreSQL (Main)", 30, 15, "Every 6 hours", "P0 - Critical"),
        [RecoveryComponents.PostgresAi] = Objective("PostgreSQL (AI)", 30, 15, "Every 6 hours", "P0 - Critical"),
        [RecoveryComponents.Backend] = Objective("Backend Service", 15, 0, "N/A", "P0 - Critical"),
        [RecoveryComponents.ApiGateway] = Objective("API Gateway", 15, 0, "N/A", "P0 - Critical"),
        [RecoveryComponents.Redis] = Objective("Redis Cache", 15, 60, "Daily", "P1 - High"),
        [RecoveryComponents.AiServices] = Objective("AI Services", 20, 0, "N/A", "P1 - High"),
        [RecoveryComponents.Nginx] = Objective("Nginx/Reverse Proxy", 10, 0, "N/A", "P0 - Critical"),
        [RecoveryComponents.Media] = Objective("Media Files (Volume)", 4 * 60, 24 * 60, "Daily", "P2 - Medium"),
        [RecoveryComponents.Monitoring] = Objective("Monitoring Stack", 30, 24 * 60, "Weekly", "P2 - Medium"),
    };

    private static RecoveryObjective Objective(string name, int rtoMinutes, int rpoMinutes, string frequency, string priority) => new()
    {
        DisplayName = name,
        Rto = TimeSpan.FromMinutes(rtoMinutes),
        Rpo = TimeSpan.FromMinutes(rpoMinutes),
        BackupFrequency = frequency,
        Priority = priority,
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
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
