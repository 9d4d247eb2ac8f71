using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;

namespace DrWorkflows.Core.Model;

/// <summary>A workflow variable as declared in the definition.</summary>
public sealed record VariableDefinition(string Id, string Name, string TypeName, JsonNode? Value);

/// <summary>A workflow input or output as declared in the definition.</summary>
public sealed record ArgumentDefinition(string Name, string TypeName, string? DisplayName, string? Description, bool IsArray);

/// <summary>A definition turned into activity objects, ready to run. Built once per definition version and cached.</summary>
public sealed class WorkflowGraph
{
    private readonly Dictionary<string, Activity> byNodeId;
    private readonly Dictionary<string, Activity> byIdOrName;
    private readonly Dictionary<string, VariableDefinition> variables;

    public WorkflowGraph(
        string definitionId,
        string definitionVersionId,
        int version,
        string? name,
        Activity root,
        IReadOnlyList<VariableDefinition> variables,
        IReadOnlyList<ArgumentDefinition> inputs,
        IReadOnlyList<ArgumentDefinition> outputs)
    {
        DefinitionId = definitionId;
        DefinitionVersionId = definitionVersionId;
        Version = version;
        Name = name;
        Root = root;
        Variables = variables;
        Inputs = inputs;
        Outputs = outputs;
        byNodeId = new Dictionary<string, Activity>(StringComparer.Ordinal);
        byIdOrName = new Dictionary<string, Activity>(StringComparer.Ordinal);
        foreach (var activity in Walk(root))
        {
            if (!byNodeId.TryAdd(activity.NodeId, activity))
                throw new WorkflowDefinitionException($"Workflow '{definitionId}': two activities share the node id '{activity.NodeId}' (activity id '{activity.Id}'). Activity ids must be unique.") { ActivityId = activity.Id };
            byIdOrName.TryAdd(activity.Id, activity);
        }

        foreach (var activity in byNodeId.Values.Where(a => !string.IsNullOrEmpty(a.Name)))
            byIdOrName.TryAdd(activity.Name!, activity);

        this.variables = new Dictionary<string, VariableDefinition>(StringComparer.Ordinal);
        foreach (var variable in variables)
        {
            this.variables.TryAdd(variable.Id, variable);
            this.variables.TryAdd(variable.Name, variable);
        }
    }

    public string DefinitionId { get; }

    public string DefinitionVersionId { get; }

    public int Version { get; }

    public string? Name { get; }

    public Activity Root { get; }

    public IReadOnlyList<VariableDefinition> Variables { get; }

    public IReadOnlyList<ArgumentDefinition> Inputs { get; }

    public IReadOnlyList<ArgumentDefinition> Outputs { get; }

    /// <summary>
    /// At most one run of this definition may be running against one platform at a time (the definition's
    /// <c>customProperties.oneRunPerPlatform</c>; every DR scenario sets it).
    /// </summary>
    public bool OneRunPerPlatform { get; init; }

    /// <summary>What a failed activity does to the run (<c>options.incidentStrategyType</c>; the hold when not set).</summary>
    public Execution.IncidentStrategy IncidentStrategy { get; init; }

    /// <summary>The workflow's log persistence default (its <c>customProperties</c>; Include when not set), never Inherit.</summary>
    public Execution.LogPersistenceMode LogPersistenceDefault { get; init; } = Execution.LogPersistenceMode.Include;

    /// <summary>Where the version came from (<c>file:…</c>, <c>code:…</c>, <c>git:…@commit#pr</c>, <c>api</c>); journaled when a run starts.</summary>
    public string? Origin { get; internal set; }

    public IEnumerable<Activity> Activities => byNodeId.Values;

    public Activity GetNode(string nodeId) =>
        byNodeId.GetValueOrDefault(nodeId) ?? throw new WorkflowDefinitionException($"Workflow '{DefinitionId}' version {Version} has no activity with node id '{nodeId}'. The run refers to a node that is not in its definition version.");

    /// <summary>An activity by id, or by name when no id matches.</summary>
    public Activity? FindActivity(string idOrName) => byIdOrName.GetValueOrDefault(idOrName);

    /// <summary>A variable by name or id.</summary>
    public VariableDefinition? FindVariable(string nameOrId) => variables.GetValueOrDefault(nameOrId);

    public static IEnumerable<Activity> Walk(Activity root)
    {
        var stack = new Stack<Activity>();
        stack.Push(root);
        while (stack.Count > 0)
        {
            var activity = stack.Pop();
            yield return activity;
            foreach (var child in activity.GetChildren().Reverse())
                stack.Push(child);
        }
    }
}
