namespace DrWorkflows.Core.Abstractions;

/// <summary>
/// Declares an activity type: its namespace and category (which together with the class name give the
/// Elsa type name, e.g. <c>Elsa.WriteLine</c>), the description shown in the Studio picker, and whether
/// re-running it after a crash is safe.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class ActivityAttribute(string @namespace, string category, string description) : Attribute
{
    /// <summary>Type-name namespace, e.g. <c>Elsa</c> or <c>DrWorkflows</c>.</summary>
    public string Namespace { get; } = @namespace;

    /// <summary>Category in the Studio activity picker.</summary>
    public string Category { get; } = category;

    /// <summary>One-line description shown in the Studio and in <c>docs/activities.md</c>.</summary>
    public string Description { get; } = description;

    /// <summary>Type name override; defaults to the class name.</summary>
    public string? TypeName { get; init; }

    /// <summary>Display name; defaults to the class name split into words.</summary>
    public string? DisplayName { get; init; }

    /// <summary>
    /// Whether the runtime may simply run this activity again when the orchestrator crashed while it was
    /// executing. <c>false</c> (the default, for safety) means a crash mid-execution raises an incident and
    /// waits for an operator to choose retry, skip or fail: a destructive step is never repeated silently.
    /// </summary>
    public bool SafeToRerun { get; init; }

    /// <summary>Outcome ports of the activity, in order (default: <c>Done</c>).</summary>
    public string[]? Outcomes { get; init; }

    /// <summary>Activity type version (Elsa's <c>version</c> field).</summary>
    public int Version { get; init; } = 1;

    /// <summary>Hidden from the Studio picker (used for internal activities).</summary>
    public bool Browsable { get; init; } = true;

    /// <summary>The activity waits for an external stimulus (a bookmark): a trigger or a gate.</summary>
    public bool IsBlocking { get; init; }

    /// <summary>The activity can start a run (Elsa's activity kind <c>Trigger</c>: the Studio offers "Trigger workflow").</summary>
    public bool IsTrigger { get; init; }

    /// <summary>
    /// Attempts before a failure becomes an incident (default 1: no retry). Overridable per activity in the
    /// definition with <c>customProperties.retry</c>. Retries wait on durable timers with exponential backoff.
    /// </summary>
    public int MaxAttempts { get; init; } = 1;

    /// <summary>Time limit of one attempt in seconds (0: none). Overridable with <c>customProperties.timeout</c>.</summary>
    public int TimeoutSeconds { get; init; }
}
