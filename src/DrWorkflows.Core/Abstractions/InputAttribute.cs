namespace DrWorkflows.Core.Abstractions;

/// <summary>Marks a property of type <see cref="Input{T}"/> (or a plain value) as an activity input.</summary>
[AttributeUsage(AttributeTargets.Property, Inherited = true)]
public sealed class InputAttribute : Attribute
{
    public string? Description { get; init; }

    public string? DisplayName { get; init; }

    /// <summary>Studio editor: see <see cref="InputUIHints"/>.</summary>
    public string? UIHint { get; init; }

    /// <summary>Choices for a dropdown or radio list.</summary>
    public string[]? Options { get; init; }

    /// <summary>Default value (as literal text) shown in the Studio.</summary>
    public object? DefaultValue { get; init; }

    /// <summary>The value is a secret: it is redacted in the journal, in logs and in stored state.</summary>
    public bool IsSecret { get; init; }

    /// <summary>The input must be given.</summary>
    public bool Required { get; init; }

    public string? Category { get; init; }

    public float Order { get; init; }
}

/// <summary>Marks a property of type <see cref="Output{T}"/> as an activity output.</summary>
[AttributeUsage(AttributeTargets.Property, Inherited = true)]
public sealed class OutputAttribute : Attribute
{
    public string? Description { get; init; }

    public string? DisplayName { get; init; }

    /// <summary>The value is a secret: it is redacted in the journal.</summary>
    public bool IsSecret { get; init; }
}

/// <summary>Marks a property that holds a child activity (or a list of them) of a composite activity.</summary>
[AttributeUsage(AttributeTargets.Property, Inherited = true)]
public sealed class PortAttribute : Attribute
{
    public string? DisplayName { get; init; }
}

/// <summary>Editor hints understood by Elsa Studio 3.</summary>
public static class InputUIHints
{
    public const string SingleLine = "singleline";
    public const string MultiLine = "multiline";
    public const string Checkbox = "checkbox";
    public const string Dropdown = "dropdown";
    public const string MultiText = "multitext";
    public const string CodeEditor = "code-editor";
    public const string JsonEditor = "json-editor";
    public const string DateTimePicker = "datetime-picker";
    public const string VariablePicker = "variable-picker";
    public const string OutcomePicker = "outcome-picker";
    public const string RadioList = "radiolist";
    public const string CheckList = "checklist";
    public const string SwitchEditor = "switch-editor";
    public const string FlowSwitchEditor = "flow-switch-editor";
}
