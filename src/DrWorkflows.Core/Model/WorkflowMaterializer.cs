using System.Text.Json;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Expressions;
using DrWorkflows.Core.Serialization;

namespace DrWorkflows.Core.Model;

/// <summary>
/// Turns Elsa 3 workflow-definition JSON into a runnable <see cref="WorkflowGraph"/>. Reads only: the JSON
/// itself is stored and served unchanged, so nothing the runtime does not understand is ever lost.
/// </summary>
public sealed class WorkflowMaterializer(ActivityRegistry registry)
{
    /// <summary>Prefix of root node ids, as the Studio writes them.</summary>
    public const string RootNodePrefix = "Workflow1";

    public WorkflowGraph Materialize(WorkflowDefinitionDocument definition, string? filePath = null)
    {
        try
        {
            var rootJson = definition.Root ?? throw new WorkflowDefinitionException($"Workflow '{definition.DefinitionId}' has no 'root' activity.");
            var root = MaterializeActivity(rootJson, RootNodePrefix);
            List<VariableDefinition> variables;
            IReadOnlyList<ArgumentDefinition> inputs, outputs;
            try
            {
                variables = [.. ReadVariables(definition.Json["variables"]).Concat(ContainerVariables(rootJson))];
                inputs = ReadArguments(definition.Json["inputs"]);
                outputs = ReadArguments(definition.Json["outputs"]);
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException or JsonException)
            {
                throw new WorkflowDefinitionException($"Workflow '{definition.DefinitionId}': its variables, inputs or outputs cannot be read: {e.Message}", e);
            }

            var graph = new WorkflowGraph(definition.DefinitionId, definition.Id, definition.Version, definition.Name, root, variables, inputs, outputs)
            {
                LogPersistenceDefault = Execution.LogPersistence.WorkflowDefault(definition.Json["customProperties"] as JsonObject, definition.DefinitionId),
                OneRunPerPlatform = definition.Json["customProperties"]?[WorkflowDefinitionDocument.OneRunPerPlatformProperty] is JsonValue one && one.TryGetValue<bool>(out var only) && only,
                // A name that is none of the strategies is refused at save; one stored anyway runs on the safe side (the hold).
                IncidentStrategy = Execution.IncidentStrategies.TryParse(IncidentStrategyType(definition), out var strategy) ? strategy : Execution.IncidentStrategy.OperatorHold,
            };
            foreach (var activity in graph.Activities)
                Execution.LogPersistence.Validate(activity.CustomProperties, $"Activity '{activity.Id}'");
            return graph;
        }
        catch (WorkflowDefinitionException e) when (filePath is not null && e.FilePath is null)
        {
            throw new WorkflowDefinitionException($"{filePath}: {e.Message}", e) { ActivityId = e.ActivityId, FilePath = filePath };
        }
    }

    /// <summary>The definition's <c>options.incidentStrategyType</c>, or null when it names none.</summary>
    public static string? IncidentStrategyType(WorkflowDefinitionDocument definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        return definition.Json["options"]?["incidentStrategyType"] is JsonValue value && value.TryGetValue<string>(out var type) ? type : null;
    }

    /// <summary>Materializes one activity (and its children) from its JSON.</summary>
    public Activity MaterializeActivity(JsonObject json, string parentNodeId)
    {
        var id = Text(json, "id", null, parentNodeId);
        var type = Text(json, "type", id, parentNodeId);
        if (string.IsNullOrWhiteSpace(id))
            throw new WorkflowDefinitionException($"An activity under '{parentNodeId}' of type '{type ?? "?"}' has no 'id'.");
        if (string.IsNullOrWhiteSpace(type))
            throw new WorkflowDefinitionException($"Activity '{id}' has no 'type'.") { ActivityId = id };
        var descriptor = registry.Find(type) ?? throw new WorkflowDefinitionException(UnknownType(id, type)) { ActivityId = id };
        try
        {
            return Build(json, parentNodeId, id, type, descriptor);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or JsonException)
        {
            // A property of the wrong JSON kind (a number where text is expected...): name the activity rather than fail bare.
            throw new WorkflowDefinitionException($"Activity '{id}' ({type}) cannot be read: {e.Message}", e) { ActivityId = id };
        }
    }

    private static string? Text(JsonObject json, string property, string? activityId, string parentNodeId) => json[property] switch
    {
        null => null,
        JsonValue value when value.TryGetValue<string>(out var text) => text,
        var other => throw new WorkflowDefinitionException($"{(activityId is null ? $"An activity under '{parentNodeId}'" : $"Activity '{activityId}'")}: '{property}' must be text, not {other.ToJsonString()}.") { ActivityId = activityId },
    };

    private Activity Build(JsonObject json, string parentNodeId, string id, string type, ActivityDescriptor descriptor)
    {
        var activity = descriptor.Factory();
        activity.Id = id;
        activity.NodeId = json["nodeId"]?.GetValue<string>() is { Length: > 0 } nodeId ? nodeId : $"{parentNodeId}:{id}";
        activity.Type = type;
        activity.Version = json["version"]?.GetValue<int>() ?? descriptor.Version;
        activity.Name = json["name"]?.GetValue<string>();
        activity.CustomProperties = json["customProperties"] as JsonObject is { } custom ? (JsonObject)custom.DeepClone() : [];
        activity.Metadata = json["metadata"] as JsonObject is { } metadata ? (JsonObject)metadata.DeepClone() : [];

        foreach (var input in descriptor.Inputs.Where(i => i.Property is not null))
        {
            if (!json.TryGetPropertyValue(input.JsonName, out var node) || node is null)
                continue;
            try
            {
                input.Property!.SetValue(activity, input.IsWrapped ? ReadWrappedInput(input, node, id) : node.Deserialize(input.ValueType, Json.Options));
            }
            catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or NotSupportedException)
            {
                throw new WorkflowDefinitionException($"Activity '{id}' ({type}): input '{input.JsonName}' cannot be read: {e.Message}", e) { ActivityId = id };
            }
        }

        foreach (var output in descriptor.Outputs.Where(o => o.Property is not null))
        {
            if (json[output.JsonName] is JsonObject outputJson && outputJson["memoryReference"]?["id"]?.GetValue<string>() is { } variableId)
            {
                // An output property left null by its class is created here, so that binding it to a variable always works.
                if (output.Property!.GetValue(activity) is not Output target)
                {
                    target = (Output)Activator.CreateInstance(output.Property.PropertyType)!;
                    output.Property.SetValue(activity, target);
                }

                target.MemoryReference = variableId;
            }
        }

        foreach (var port in descriptor.Ports)
        {
            var node = json[port.JsonName];
            if (port.IsCollection && node is JsonArray array)
            {
                var list = port.Property.GetValue(activity) as IList<Activity>;
                if (list is null)
                {
                    list = new List<Activity>();
                    port.Property.SetValue(activity, list);
                }

                foreach (var item in array.OfType<JsonObject>())
                    list.Add(MaterializeActivity(item, activity.NodeId));
            }
            else if (!port.IsCollection && node is JsonObject child)
            {
                port.Property.SetValue(activity, MaterializeActivity(child, activity.NodeId));
            }
        }

        if (activity is ICustomActivityJson customJson)
            customJson.ReadJson(json, child => MaterializeActivity(child, activity.NodeId));
        if (activity is IMaterializationAware aware)
            aware.OnMaterialized(json, descriptor);
        return activity;
    }

    private static Input ReadWrappedInput(InputDescriptor input, JsonNode node, string activityId)
    {
        Expression? expression = null;
        string? memoryReference = null;
        if (node is JsonObject wrapped && (wrapped.ContainsKey("expression") || wrapped.ContainsKey("memoryReference") || wrapped.ContainsKey("typeName")))
        {
            if (wrapped["expression"] is JsonObject expressionJson)
            {
                var expressionType = expressionJson["type"]?.GetValue<string>() ?? ExpressionTypes.Literal;
                expression = new Expression(expressionType, expressionJson["value"]?.DeepClone());
            }

            memoryReference = wrapped["memoryReference"]?["id"]?.GetValue<string>();
        }
        else
        {
            // A raw value written by hand: treat it as a literal.
            expression = Expression.Literal(node);
        }

        if (expression is { Type: ExpressionTypes.Python or ExpressionTypes.Liquid })
        {
            throw new WorkflowDefinitionException(ExpressionEvaluator.UnsupportedMessage(expression.Type, activityId) + $" (input '{input.JsonName}')") { ActivityId = activityId };
        }

        var inputType = typeof(Input<>).MakeGenericType(input.ValueType);
        return (Input)Activator.CreateInstance(inputType, expression, memoryReference)!;
    }

    private string UnknownType(string id, string type)
    {
        var known = registry.All.Select(d => d.TypeName).ToList();
        var name = type.Split('.')[^1];
        var close = known.Where(k => k.EndsWith("." + name, StringComparison.OrdinalIgnoreCase)).Take(3).ToList();
        if (close.Count == 0)
        {
            // A misspelling: the known types within a few edits of the name (e.g. 'Elsa.WritLine' -> 'Elsa.WriteLine').
            close = [.. known
                .Select(k => (Type: k, Distance: EditDistance(k.ToUpperInvariant(), type.ToUpperInvariant())))
                .Where(c => c.Distance <= Math.Max(2, type.Length / 5))
                .OrderBy(c => c.Distance)
                .ThenBy(c => c.Type, StringComparer.Ordinal)
                .Take(3)
                .Select(c => c.Type)];
        }

        var hint = close.Count > 0 ? $" Did you mean {string.Join(", ", close.Select(c => $"'{c}'"))}?" : " See GET /elsa/api/descriptors/activities for the known types.";
        return $"Activity '{id}' has unknown type '{type}'.{hint} The Elsa activities supported here: docs/elsa-compatibility.md, Activities.";
    }

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
            previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    public static IReadOnlyList<VariableDefinition> ReadVariables(JsonNode? node) =>
        node is not JsonArray array ? [] : [.. array.OfType<JsonObject>().Select(v =>
        {
            var name = v["name"]?.GetValue<string>() ?? v["id"]?.GetValue<string>() ?? throw new WorkflowDefinitionException("A variable has neither 'name' nor 'id'.");
            return new VariableDefinition(v["id"]?.GetValue<string>() ?? name, name, v["typeName"]?.GetValue<string>() ?? "Object", v["value"]?.DeepClone());
        })];

    private static IEnumerable<VariableDefinition> ContainerVariables(JsonObject root)
    {
        var stack = new Stack<JsonObject>([root]);
        while (stack.Count > 0)
        {
            var activity = stack.Pop();
            foreach (var variable in ReadVariables(activity["variables"]))
                yield return variable;
            foreach (var (_, value) in activity)
            {
                if (value is JsonObject child && child.ContainsKey("type") && child.ContainsKey("id"))
                    stack.Push(child);
                else if (value is JsonArray items)
                {
                    foreach (var item in items.OfType<JsonObject>().Where(i => i.ContainsKey("type") && i.ContainsKey("id")))
                        stack.Push(item);
                }
            }
        }
    }

    private static IReadOnlyList<ArgumentDefinition> ReadArguments(JsonNode? node) =>
        node is not JsonArray array ? [] : [.. array.OfType<JsonObject>().Where(a => a["name"] is not null).Select(a => new ArgumentDefinition(
            a["name"]!.GetValue<string>(),
            a["type"]?.GetValue<string>() ?? a["typeName"]?.GetValue<string>() ?? "Object",
            a["displayName"]?.GetValue<string>(),
            a["description"]?.GetValue<string>(),
            a["isArray"]?.GetValue<bool>() ?? false))];
}

/// <summary>An activity that needs to see its JSON and descriptor after materialization.</summary>
public interface IMaterializationAware
{
    void OnMaterialized(JsonObject json, ActivityDescriptor descriptor);
}
