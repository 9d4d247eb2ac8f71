using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Throwaway;

/// <summary>The janitor of throwaway resources (configuration section <c>Janitor</c>).</summary>
public sealed class JanitorOptions
{
    public const string SectionName = "Janitor";

    /// <summary>Time between two janitor passes (one also runs at start). Default 5 minutes.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often this process renews its entry in the ledger (proof that its resources have a live owner). Default 15 s.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// A process that has not renewed its entry for this long is taken as gone, and what it held as orphaned (on
    /// another host; on the same host a process that no longer exists is seen at once). At least three heartbeats.
    /// Default 2 minutes.
    /// </summary>
    public TimeSpan HolderTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a janitor holds its claim on a resource it removes (so two nodes never remove it at once). Default 10 minutes.</summary>
    public TimeSpan ClaimDuration { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long removed and released rows stay in the ledger (for the runs' history). Default 90 days.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(90);

    /// <summary>Live resources examined per pass (oldest first). Default 500.</summary>
    public int MaxPerPass { get; set; } = 500;
}

internal sealed class JanitorOptionsValidator : IValidateOptions<JanitorOptions>
{
    public ValidateOptionsResult Validate(string? name, JanitorOptions options)
    {
        var errors = new List<string>();
        if (options.Interval < TimeSpan.FromSeconds(1) || options.Interval > TimeSpan.FromDays(1))
            errors.Add($"Janitor:Interval must be between 00:00:01 and 1.00:00:00 (is {options.Interval}).");
        if (options.HeartbeatInterval < TimeSpan.FromMilliseconds(100) || options.HeartbeatInterval > TimeSpan.FromMinutes(10))
            errors.Add($"Janitor:HeartbeatInterval must be between 00:00:00.1 and 00:10:00 (is {options.HeartbeatInterval}).");
        if (options.HolderTimeout < 3 * options.HeartbeatInterval)
            errors.Add($"Janitor:HolderTimeout ({options.HolderTimeout}) must be at least three Janitor:HeartbeatInterval ({options.HeartbeatInterval}), or a live process could be taken as gone.");
        if (options.ClaimDuration < TimeSpan.FromSeconds(10))
            errors.Add($"Janitor:ClaimDuration must be at least 00:00:10 (is {options.ClaimDuration}).");
        if (options.Retention < TimeSpan.FromDays(1))
            errors.Add($"Janitor:Retention must be at least 1.00:00:00 (is {options.Retention}).");
        if (options.MaxPerPass is < 1 or > 100_000)
            errors.Add($"Janitor:MaxPerPass must be between 1 and 100000 (is {options.MaxPerPass}).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
