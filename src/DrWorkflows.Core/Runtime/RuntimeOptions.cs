using System.ComponentModel.DataAnnotations;

namespace DrWorkflows.Core.Runtime;

/// <summary>Settings of the workflow runtime (section <c>DrWorkflows:Runtime</c>).</summary>
public sealed class RuntimeOptions
{
    /// <summary>This node's name in leases and schedule claims (default: host name + process id).</summary>
    public string NodeId { get; set; } = $"{Environment.MachineName}:{Environment.ProcessId}";

    /// <summary>How long a node owns a run it executes without renewing; another node takes over after it.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often idle nodes look for due timers and runs left by a crashed node.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Runs executed at the same time by this node.</summary>
    [Range(1, 256)]
    public int MaxConcurrentRuns { get; set; } = 8;

    /// <summary>What to do with cron/timer slots missed while no node was running.</summary>
    public MissedSlotPolicy MissedSlots { get; set; } = MissedSlotPolicy.RunOnce;

    /// <summary>How far back missed slots are considered at all.</summary>
    public TimeSpan MissedSlotWindow { get; set; } = TimeSpan.FromDays(2);
}

/// <summary>Catch-up policy for scheduled triggers.</summary>
public enum MissedSlotPolicy
{
    /// <summary>Do not run missed slots; wait for the next one.</summary>
    Skip,

    /// <summary>Run once for all missed slots (the latest), then continue on schedule.</summary>
    RunOnce,

    /// <summary>Run every missed slot.</summary>
    RunAll,
}
