using System.Reflection;

namespace DrWorkflows.Core.Model;

/// <summary>What the runtime and the Studio know about an activity type, generated from its class.</summary>
public sealed class ActivityDescriptor
{
    public required string TypeName { get; init; }

    public required string Namespace { get; init; }

    public required string Category { get; init; }

    /// <summary>Short name (the class name, or the workflow name for workflow activities).</summary>
    public required string Name { get; init; }

    public required string DisplayName { get; init; }

    public required string Description { get; init; }

    public int Version { get; init; } = 1;

    public required Type ClrType { get; init; }

    public bool SafeToRerun { get; init; }

    public bool IsBlocking { get; init; }

    /// <summary>Default attempts before an incident (see <see cref="Abstractions.ActivityAttribute.MaxAttempts"/>).</summary>
    public int MaxAttempts { get; init; } = 1;

    /// <summary>Default time limit of one attempt; null for none.</summary>
    public TimeSpan? Timeout { get; init; }

    public bool Browsable { get; init; } = true;

    /// <summary>Elsa's activity kind: <c>Action</c>, <c>Trigger</c> or <c>Task</c>.</summary>
    public string Kind { get; init; } = "Action";

    /// <summary>Outcome ports (flow ports) of the activity.</summary>
    public IReadOnlyList<string> Outcomes { get; init; } = [];

    /// <summary>Outcomes are computed from an input (FlowSwitch cases, FlowFork branches, Complete outcomes).</summary>
    public string? DynamicOutcomesInput { get; init; }

    public IReadOnlyList<InputDescriptor> Inputs { get; init; } = [];

    public IReadOnlyList<OutputDescriptor> Outputs { get; init; } = [];

    /// <summary>Properties holding child activities (embedded ports such as <c>then</c>, <c>body</c>, <c>activities</c>).</summary>
    public IReadOnlyList<PortDescriptor> Ports { get; init; } = [];

    /// <summary>Creates an instance (for workflow-as-activity types, a configured instance).</summary>
    public required Func<Abstractions.Activity> Factory { get; init; }

    /// <summary>Extra properties for special types (e.g. the workflow definition id of a workflow activity).</summary>
    public IReadOnlyDictionary<string, object?> Properties { get; init; } = new Dictionary<string, object?>();

    public InputDescriptor? FindInput(string name) =>
        Inputs.FirstOrDefault(i => string.Equals(i.Name, name, StringComparison.OrdinalIgnoreCase));
}

public sealed class InputDescriptor
{
    /// <summary>Property name (PascalCase).</summary>
    public required string Name { get; init; }

    /// <summary>Name in the activity JSON (camelCase).</summary>
    public required string JsonName { get; init; }

    public required Type ValueType { get; init; }

    /// <summary>Elsa type alias, e.g. <c>String</c>, <c>Int32</c>, <c>Object</c>.</summary>
    public required string TypeName { get; init; }

    /// <summary>Stored as <c>{typeName, expression}</c> (true) or as a raw JSON value (false).</summary>
    public bool IsWrapped { get; init; } = true;

    public required string UIHint { get; init; }

    public string? Description { get; init; }

    public required string DisplayName { get; init; }

    public IReadOnlyList<string>? Options { get; init; }

    public object? DefaultValue { get; init; }

    public bool IsSecret { get; init; }

    public bool Required { get; init; }

    public string? Category { get; init; }

    public float Order { get; init; }

    /// <summary>The property on the activity class (null for synthetic inputs of workflow activities).</summary>
    public PropertyInfo? Property { get; init; }
}

public sealed class OutputDescriptor
{
    public required string Name { get; init; }

    public required string JsonName { get; init; }

    public required Type ValueType { get; init; }

    public required string TypeName { get; init; }

    public string? Description { get; init; }

    public required string DisplayName { get; init; }

    public bool IsSecret { get; init; }

    public PropertyInfo? Property { get; init; }
}

public sealed class PortDescriptor
{
    public required string Name { get; init; }

    public required string JsonName { get; init; }

    public required string DisplayName { get; init; }

    /// <summary>A list of activities (Sequence's <c>activities</c>) rather than one (If's <c>then</c>).</summary>
    public bool IsCollection { get; init; }

    public required PropertyInfo Property { get; init; }
}
