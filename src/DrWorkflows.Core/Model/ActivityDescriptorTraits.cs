using DrWorkflows.Core.Abstractions;

namespace DrWorkflows.Core.Model;

/// <summary>A port of an activity as the designer shows it: a flow outcome, or an embedded child activity.</summary>
/// <param name="Name">Outcome name (flow) or property name (embedded), PascalCase.</param>
/// <param name="DisplayName">Label on the node.</param>
/// <param name="IsEmbedded">An embedded port holds a child activity under the camel-cased name (e.g. <c>then</c>).</param>
public sealed record ActivityPort(string Name, string DisplayName, bool IsEmbedded);

/// <summary>
/// Traits of an activity type that designers (Elsa Studio) need and that follow from its descriptor: whether it
/// starts or ends a flow, whether it contains other activities, its ports, the editor of each input, and the
/// default value of each input. Everything here is derived, so a new activity class gets it without extra code.
/// </summary>
public static class ActivityDescriptorTraits
{
    /// <summary>Elsa Studio's editor for an input whose values are the activity's outcome ports.</summary>
    public const string DynamicOutcomesUIHint = "dynamic-outcomes";

    /// <summary>The designer adds no inbound port (Elsa's <c>Start</c>).</summary>
    public static bool IsStart(this ActivityDescriptor descriptor) =>
        descriptor.ClrType == typeof(Activities.Flowchart.Start);

    /// <summary>
    /// No outbound port: no outcome, and no outcomes computed from an input into ports (End, Finish, Break, and
    /// Complete, whose outcomes belong to the enclosing composite).
    /// </summary>
    public static bool IsTerminal(this ActivityDescriptor descriptor) =>
        descriptor.Outcomes.Count == 0 && descriptor.DynamicOutcomesPortInput() is null;

    /// <summary>Holds child activities (flowchart, sequence, loops, branches).</summary>
    public static bool IsContainer(this ActivityDescriptor descriptor) =>
        descriptor.Ports.Count > 0 || typeof(ICustomActivityJson).IsAssignableFrom(descriptor.ClrType) && descriptor.ClrType != typeof(Activities.Flowchart.FlowSwitch);

    /// <summary>The input whose values are outcome ports (FlowFork branches), if any.</summary>
    public static InputDescriptor? DynamicOutcomesPortInput(this ActivityDescriptor descriptor) =>
        descriptor.DynamicOutcomesInput is { } name && descriptor.FindInput(name) is { } input && input.UIHint != InputUIHints.OutcomePicker
            ? input
            : null;

    /// <summary>The editor of an input: its declared hint, except that dynamic outcome ports use the dynamic-outcomes editor.</summary>
    public static string EditorUIHint(this ActivityDescriptor descriptor, InputDescriptor input) =>
        ReferenceEquals(descriptor.DynamicOutcomesPortInput(), input) ? DynamicOutcomesUIHint : input.UIHint;

    /// <summary>Flow ports (the declared outcomes) followed by embedded ports (single child-activity properties).</summary>
    public static IReadOnlyList<ActivityPort> DesignerPorts(this ActivityDescriptor descriptor) =>
    [
        .. descriptor.Outcomes.Select(o => new ActivityPort(o, Naming.Words(o), IsEmbedded: false)),
        .. descriptor.Ports.Where(p => !p.IsCollection).Select(p => new ActivityPort(p.Name, p.DisplayName, IsEmbedded: true)),
    ];

    /// <summary>
    /// Default value of each input: the declared <see cref="InputDescriptor.DefaultValue"/>, else the literal the
    /// activity class initializes the input with (e.g. <c>Mode = new(FlowJoinMode.WaitAny)</c>). Inputs without
    /// either are absent.
    /// </summary>
    public static IReadOnlyDictionary<string, object?> InputDefaults(this ActivityDescriptor descriptor)
    {
        var defaults = new Dictionary<string, object?>(StringComparer.Ordinal);
        Activity? prototype = null;
        foreach (var input in descriptor.Inputs)
        {
            if (input.DefaultValue is not null)
            {
                defaults[input.Name] = input.DefaultValue;
                continue;
            }

            if (input.Property is null)
                continue;
            prototype ??= TryCreate(descriptor);
            var value = prototype is null ? null : input.Property.GetValue(prototype);
            switch (value)
            {
                case Input { Expression: { Type: Expressions.ExpressionTypes.Literal, Value: { } literal } }:
                    defaults[input.Name] = literal.DeepClone();
                    break;
                case not null and not Input when !input.IsWrapped && (value.GetType().IsPrimitive || value is string || value.GetType().IsEnum):
                    defaults[input.Name] = value.GetType().IsEnum ? value.ToString() : value;
                    break;
            }
        }

        return defaults;
    }

    private static Activity? TryCreate(ActivityDescriptor descriptor)
    {
        try
        {
            return descriptor.Factory();
        }
#pragma warning disable CA1031 // A class that cannot be built without services simply has no class defaults.
        catch (Exception)
#pragma warning restore CA1031
        {
            return null;
        }
    }
}
