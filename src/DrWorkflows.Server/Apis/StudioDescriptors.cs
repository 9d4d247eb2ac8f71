using System.Text.Json;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Model;

namespace DrWorkflows.Server.Apis;

/// <summary>
/// Elsa Studio's activity descriptors (<c>GET /elsa/api/descriptors/activities</c>), generated from the
/// <see cref="ActivityRegistry"/>: every registered activity class and every workflow usable as an activity,
/// with category, display name, description, typed inputs with their editors, outputs and ports.
/// </summary>
public static class StudioDescriptors
{
    /// <summary>Inputs held in custom JSON rather than input properties, with the Studio editor that writes that JSON.</summary>
    private static readonly Dictionary<string, (string Name, string TypeName, string UIHint, string Description)[]> CustomJsonInputs = new(StringComparer.Ordinal)
    {
        ["Elsa.FlowSwitch"] = [("Cases", "Object", InputUIHints.FlowSwitchEditor, "The cases: a label (the outcome port) and a condition each.")],
        ["Elsa.Switch"] = [("Cases", "Object", InputUIHints.SwitchEditor, "The cases: a label, a condition and the activity to run.")],
    };

    public static JsonObject List(ActivityRegistry registry)
    {
        var items = new JsonArray();
        var seen = new HashSet<(string, int)>();
        foreach (var descriptor in registry.All)
        {
            // The Studio keys descriptors by (typeName, version) with ToDictionary: a duplicate would crash it.
            if (seen.Add((descriptor.TypeName, descriptor.Version)))
                items.Add(Describe(descriptor));
        }

        return new JsonObject { ["items"] = items, ["count"] = items.Count };
    }

    public static JsonObject Describe(ActivityDescriptor descriptor)
    {
        var defaults = descriptor.InputDefaults();
        var inputs = new JsonArray();
        var order = 0f;
        foreach (var input in descriptor.Inputs)
        {
            var uiHint = descriptor.EditorUIHint(input);
            inputs.Add(new JsonObject
            {
                ["name"] = input.Name,
                ["typeName"] = input.TypeName,
                ["displayName"] = input.DisplayName,
                ["description"] = Hint(input, uiHint),
                ["order"] = input.Order != 0 ? input.Order : order,
                ["isBrowsable"] = true,
                ["isSynthetic"] = input.Property is null,
                ["isSerializable"] = true,
                ["isWrapped"] = input.IsWrapped,
                ["uiHint"] = uiHint,
                ["category"] = input.Category,
                ["defaultValue"] = defaults.TryGetValue(input.Name, out var value) ? ToNode(value) : null,
                ["defaultSyntax"] = uiHint != InputUIHints.CodeEditor ? "Literal" : descriptor.TypeName == Core.Activities.Primitives.RunCSharp.TypeName ? "CSharp" : "JavaScript",
                ["isReadOnly"] = false,
                ["isSensitive"] = input.IsSecret,
                ["storageDriverType"] = null,
                ["uiSpecifications"] = UISpecifications(input, uiHint),
            });
            order++;
        }

        if (CustomJsonInputs.TryGetValue(descriptor.TypeName, out var extra))
        {
            foreach (var (name, typeName, uiHint, description) in extra)
            {
                inputs.Add(new JsonObject
                {
                    ["name"] = name,
                    ["typeName"] = typeName,
                    ["displayName"] = name,
                    ["description"] = description,
                    ["order"] = order++,
                    ["isBrowsable"] = true,
                    ["isSynthetic"] = false,
                    ["isSerializable"] = true,
                    ["isWrapped"] = false,
                    ["uiHint"] = uiHint,
                    ["category"] = null,
                    ["defaultValue"] = null,
                    ["defaultSyntax"] = "Literal",
                    ["isReadOnly"] = false,
                    ["isSensitive"] = false,
                    ["storageDriverType"] = null,
                    ["uiSpecifications"] = null,
                });
            }
        }

        var outputs = new JsonArray();
        order = 0;
        foreach (var output in descriptor.Outputs)
        {
            outputs.Add(new JsonObject
            {
                ["name"] = output.Name,
                ["typeName"] = output.TypeName,
                ["displayName"] = output.DisplayName,
                ["description"] = output.Description,
                ["order"] = order++,
                ["isBrowsable"] = true,
                ["isSynthetic"] = output.Property is null,
                ["isSerializable"] = true,
            });
        }

        var ports = new JsonArray();
        foreach (var port in descriptor.DesignerPorts())
        {
            ports.Add(new JsonObject
            {
                ["name"] = port.Name,
                ["displayName"] = port.DisplayName,
                ["type"] = port.IsEmbedded ? "Embedded" : "Flow",
                ["isBrowsable"] = true,
            });
        }

        return new JsonObject
        {
            ["typeName"] = descriptor.TypeName,
            ["namespace"] = descriptor.Namespace,
            ["name"] = descriptor.Name,
            ["version"] = descriptor.Version,
            ["category"] = descriptor.Category,
            ["displayName"] = descriptor.DisplayName,
            ["description"] = descriptor.Description,
            ["kind"] = descriptor.Kind,
            ["inputs"] = inputs,
            ["outputs"] = outputs,
            ["ports"] = ports,
            ["customProperties"] = new JsonObject(),
            ["constructionProperties"] = ConstructionProperties(descriptor),
            ["isContainer"] = descriptor.IsContainer(),
            ["isBrowsable"] = descriptor.Browsable,
            ["isStart"] = descriptor.IsStart(),
            ["isTerminal"] = descriptor.IsTerminal(),
            ["runAsynchronously"] = false,
        };
    }

    /// <summary>
    /// What the Studio copies into a new activity of this type. For a workflow used as an activity, as in Elsa: the
    /// definition and the version it is drawn against (the published one), so that the parent runs that version.
    /// </summary>
    private static JsonObject ConstructionProperties(ActivityDescriptor descriptor)
    {
        if (descriptor.ClrType != typeof(Core.Activities.Composition.WorkflowDefinitionActivity)
            || descriptor.Properties.GetValueOrDefault("workflowDefinitionVersionId") is not string versionId
            || descriptor.Properties.GetValueOrDefault("workflowDefinitionVersion") is not int version)
            return [];
        return new JsonObject
        {
            ["WorkflowDefinitionId"] = descriptor.Properties.GetValueOrDefault("workflowDefinitionId") as string,
            ["WorkflowDefinitionVersionId"] = versionId,
            ["LatestAvailablePublishedVersion"] = version,
            ["LatestAvailablePublishedVersionId"] = versionId,
        };
    }

    /// <summary>
    /// The input's description, with the format and an example for single-line durations and numbers, which the
    /// Studio shows under the field (<c>… Duration: 00:30:00, PT30M or 30m.</c>).
    /// </summary>
    internal static string? Hint(InputDescriptor input, string uiHint)
    {
        if (uiHint != InputUIHints.SingleLine)
            return input.Description;
        var type = Nullable.GetUnderlyingType(input.ValueType) ?? input.ValueType;
        var optional = Nullable.GetUnderlyingType(input.ValueType) is not null ? " Empty: not set." : string.Empty;
        var hint = type == typeof(TimeSpan) ? "Duration: hh:mm:ss (00:30:00), ISO 8601 (PT30M) or 30s/30m/2h/1d." + optional
            : type == typeof(int) || type == typeof(long) ? "A whole number." + optional
            : type == typeof(double) || type == typeof(float) || type == typeof(decimal) ? "A number (0.5)." + optional
            : null;
        if (hint is null)
            return input.Description;
        return string.IsNullOrWhiteSpace(input.Description) ? hint : input.Description.TrimEnd() + " " + hint;
    }

    private static JsonObject? UISpecifications(InputDescriptor input, string uiHint)
    {
        if (input.Options is not { Count: > 0 } options || uiHint is not (InputUIHints.Dropdown or InputUIHints.RadioList or InputUIHints.CheckList))
            return null;
        var items = new JsonArray([.. options.Select(o => (JsonNode)new JsonObject { ["text"] = o, ["value"] = o })]);
        return new JsonObject { ["SelectList"] = new JsonObject { ["items"] = items, ["isFlagsEnum"] = false } };
    }

    private static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        JsonNode node => node.DeepClone(),
        _ => JsonSerializer.SerializeToNode(value, DrWorkflows.Core.Serialization.Json.Options),
    };
}
