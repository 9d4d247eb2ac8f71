using System.Text.Json;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Serialization;

namespace DrWorkflows.Core.Model;

/// <summary>Writes activity objects (built in C#) as Elsa 3 activity JSON, so code workflows show in the Studio.</summary>
public sealed class ActivitySerializer(ActivityRegistry registry)
{
    public JsonObject Serialize(Activity activity)
    {
        var descriptor = registry.Describe(activity);
        var json = new JsonObject
        {
            ["type"] = descriptor.TypeName,
            ["version"] = activity.Version,
            ["id"] = activity.Id,
            ["nodeId"] = activity.NodeId,
        };
        if (activity.Name is not null)
            json["name"] = activity.Name;
        json["customProperties"] = activity.CustomProperties.DeepClone();
        json["metadata"] = activity.Metadata.DeepClone();

        foreach (var input in descriptor.Inputs.Where(i => i.Property is not null))
        {
            var value = input.Property!.GetValue(activity);
            if (value is null)
                continue;
            if (!input.IsWrapped)
            {
                json[input.JsonName] = JsonSerializer.SerializeToNode(value, input.ValueType, Json.Options);
                continue;
            }

            var wrapped = (Input)value;
            var node = new JsonObject { ["typeName"] = input.TypeName };
            if (wrapped.Expression is { } expression)
                node["expression"] = new JsonObject { ["type"] = expression.Type, ["value"] = expression.Value?.DeepClone() };
            if (wrapped.MemoryReference is { } reference)
                node["memoryReference"] = new JsonObject { ["id"] = reference };
            json[input.JsonName] = node;
        }

        foreach (var output in descriptor.Outputs.Where(o => o.Property is not null))
        {
            if (output.Property!.GetValue(activity) is Output { MemoryReference: { } reference })
                json[output.JsonName] = new JsonObject { ["typeName"] = output.TypeName, ["memoryReference"] = new JsonObject { ["id"] = reference } };
        }

        foreach (var port in descriptor.Ports)
        {
            switch (port.Property.GetValue(activity))
            {
                case Activity child:
                    json[port.JsonName] = Serialize(child);
                    break;
                case IEnumerable<Activity> children:
                    json[port.JsonName] = new JsonArray([.. children.Select(c => (JsonNode)Serialize(c))]);
                    break;
            }
        }

        if (activity is ICustomActivityJson custom)
            custom.WriteJson(json, Serialize);
        return json;
    }
}
