using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Activities.Flowchart;
using DrWorkflows.Core.Model;

namespace DrWorkflows.Core.Building;

/// <summary>
/// Builds a workflow in C#. The result is the same Elsa 3 JSON document a designer would save, so a code
/// workflow runs on the same runtime and shows (read-only) in the Studio.
/// </summary>
/// <example>
/// <code>
/// var builder = new WorkflowBuilder("db-restart", "Restart the database");
/// var flow = builder.Flowchart();
/// var restart = flow.Add(new RestartContainer { Container = new("postgres") });
/// var notify = flow.Add(new WriteLine { Text = new("done") });
/// flow.Connect(restart, notify);
/// </code>
/// </example>
public sealed class WorkflowBuilder(string definitionId, string name)
{
    private readonly JsonArray variables = [];
    private readonly JsonArray inputs = [];
    private readonly JsonArray outputs = [];
    private readonly JsonObject customProperties = [];
    private readonly Dictionary<string, int> idCounters = new(StringComparer.Ordinal);
    private Activity? root;
    private FlowchartBuilder? flowchart;

    public string DefinitionId { get; } = definitionId;

    public string Name { get; } = name;

    public string? Description { get; set; }

    /// <summary>Publish it as an activity type of its own.</summary>
    public bool UsableAsActivity { get; set; }

    public WorkflowBuilder WithDescription(string description)
    {
        Description = description;
        return this;
    }

    /// <summary>Declares a variable; its id is its name.</summary>
    public WorkflowBuilder WithVariable<T>(string variableName, T? initialValue = default)
    {
        variables.Add(new JsonObject
        {
            ["id"] = variableName,
            ["name"] = variableName,
            ["typeName"] = TypeAliases.For(typeof(T)),
            ["isArray"] = false,
            ["value"] = initialValue is null ? null : Execution.ValueConverter.ToJsonNode(initialValue),
            ["storageDriverTypeName"] = null,
        });
        return this;
    }

    public WorkflowBuilder WithInput<T>(string inputName, string? description = null)
    {
        inputs.Add(new JsonObject { ["type"] = TypeAliases.For(typeof(T)), ["name"] = inputName, ["displayName"] = inputName, ["description"] = description, ["isArray"] = false });
        return this;
    }

    public WorkflowBuilder WithOutput<T>(string outputName, string? description = null)
    {
        outputs.Add(new JsonObject { ["type"] = TypeAliases.For(typeof(T)), ["name"] = outputName, ["displayName"] = outputName, ["description"] = description, ["isArray"] = false });
        return this;
    }

    /// <summary>Sets one of the definition's <c>customProperties</c>.</summary>
    public WorkflowBuilder WithCustomProperty(string propertyName, JsonNode? value)
    {
        customProperties[propertyName] = value?.DeepClone();
        return this;
    }

    /// <summary>Uses any activity (e.g. a Sequence) as the root.</summary>
    public WorkflowBuilder WithRoot(Activity activity)
    {
        root = activity;
        flowchart = null;
        return this;
    }

    /// <summary>Uses a flowchart as the root and returns a builder for its activities and connections.</summary>
    public FlowchartBuilder Flowchart()
    {
        var chart = new Flowchart();
        root = chart;
        flowchart = new FlowchartBuilder(chart);
        return flowchart;
    }

    /// <summary>Builds the Elsa 3 definition document (version 1, published, read-only: code changes through review).</summary>
    public WorkflowDefinitionDocument Build(ActivityRegistry registry)
    {
        var top = root ?? throw new WorkflowDefinitionException($"Workflow '{DefinitionId}' has no root: call Flowchart() or WithRoot().");
        AssignIds(top, WorkflowMaterializer.RootNodePrefix, registry);
        flowchart?.Layout();
        var serializer = new ActivitySerializer(registry);
        var json = new JsonObject
        {
            ["id"] = $"{DefinitionId}:v1",
            ["definitionId"] = DefinitionId,
            ["name"] = Name,
            ["description"] = Description,
            ["version"] = 1,
            ["toolVersion"] = "3.8.0",
            ["variables"] = variables.DeepClone(),
            ["inputs"] = inputs.DeepClone(),
            ["outputs"] = outputs.DeepClone(),
            ["outcomes"] = new JsonArray(),
            ["customProperties"] = customProperties.DeepClone(),
            ["isReadonly"] = true,
            ["isSystem"] = false,
            ["isLatest"] = true,
            ["isPublished"] = true,
            ["options"] = new JsonObject { ["usableAsActivity"] = UsableAsActivity, ["autoUpdateConsumingWorkflows"] = false },
            ["root"] = serializer.Serialize(top),
        };
        return new WorkflowDefinitionDocument(json);
    }

    private void AssignIds(Activity activity, string parentNodeId, ActivityRegistry registry)
    {
        var descriptor = registry.Describe(activity);
        activity.Type = descriptor.TypeName;
        if (string.IsNullOrEmpty(activity.Id))
        {
            var baseName = char.ToLowerInvariant(descriptor.Name[0]) + descriptor.Name[1..];
            var n = idCounters[baseName] = idCounters.GetValueOrDefault(baseName) + 1;
            activity.Id = $"{baseName}{n}";
        }

        activity.Name ??= char.ToUpperInvariant(activity.Id[0]) + activity.Id[1..];
        activity.NodeId = $"{parentNodeId}:{activity.Id}";
        foreach (var child in activity.GetChildren())
            AssignIds(child, activity.NodeId, registry);
    }
}

/// <summary>Adds activities to a flowchart and connects their outcome ports.</summary>
public sealed class FlowchartBuilder(Flowchart flowchart)
{
    public Flowchart Flowchart { get; } = flowchart;

    public T Add<T>(T activity)
        where T : Activity
    {
        Flowchart.Activities.Add(activity);
        return activity;
    }

    /// <summary>Connects <paramref name="source"/>'s <paramref name="outcome"/> port to <paramref name="target"/>.</summary>
    public FlowchartBuilder Connect(Activity source, Activity target, string outcome = Execution.Outcomes.Done)
    {
        Flowchart.Connections.Add(new Connection(new Endpoint(Ref(source), outcome), new Endpoint(Ref(target), "In")));
        return this;
    }

    /// <summary>Connects activities one after the other on their <c>Done</c> ports.</summary>
    public FlowchartBuilder Chain(params Activity[] activities)
    {
        for (var i = 1; i < activities.Length; i++)
            Connect(activities[i - 1], activities[i]);
        return this;
    }

    // Connections are resolved by id after ids are assigned; until then they hold the object's identity.
    private readonly Dictionary<string, Activity> pending = new(StringComparer.Ordinal);

    private string Ref(Activity activity)
    {
        var key = $"@{System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(activity)}";
        pending[key] = activity;
        return key;
    }

    /// <summary>Replaces placeholders with ids and lays the activities out for the Studio (<see cref="FlowchartLayout"/>, top to bottom).</summary>
    internal void Layout()
    {
        for (var i = 0; i < Flowchart.Connections.Count; i++)
        {
            var c = Flowchart.Connections[i];
            Flowchart.Connections[i] = new Connection(c.Source with { Activity = Resolve(c.Source.Activity) }, c.Target with { Activity = Resolve(c.Target.Activity) });
        }

        var positions = FlowchartLayout.Arrange(
            [.. Flowchart.Activities.Select(a => a.Id)],
            Flowchart.Connections.Select(c => (c.Source.Activity, c.Target.Activity)));
        foreach (var activity in Flowchart.Activities)
        {
            if (activity.Metadata["designer"] is null)
            {
                var at = positions[activity.Id];
                activity.Metadata["designer"] = new JsonObject { ["position"] = new JsonObject { ["x"] = at.X, ["y"] = at.Y } };
            }
        }
    }

    private string Resolve(string reference) => pending.TryGetValue(reference, out var activity) ? activity.Id : reference;
}

/// <summary>A workflow written in C#. Classes implementing it in a loaded assembly are registered at start.</summary>
public interface ICodeWorkflow
{
    void Build(WorkflowBuilder builder);

    /// <summary>The definition id (stable across versions).</summary>
    string DefinitionId { get; }

    string Name { get; }
}
