using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Activities.Flowchart;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Runtime;

namespace DrWorkflows.Server.Apis;

/// <summary>
/// Elsa's subgraph routes, which the Studio calls when it drills into an activity embedded in another (a port such
/// as <c>Body</c>) or into a workflow used as an activity:
/// <list type="bullet">
/// <item><c>GET /workflow-definitions/subgraph/{versionId}?parentNodeId=…</c>: the node and the activities under
/// it, as <c>{ nodeId, port, activity }</c> (the root when the node id is unknown, as in Elsa);</item>
/// <item><c>GET /workflow-definitions/subgraph/segments/{versionId}?childNodeId=…</c>: the node, the container it is
/// shown in, and the path of containing activities from the top (<c>pathSegments</c>; flowcharts are not
/// segments); 400 for an unknown node id.</item>
/// </list>
/// A node's <c>port</c> is the property of its parent that holds it: <c>Root</c> for the top, <c>Activities</c>
/// inside a flowchart, else the port's name (<c>Body</c>, <c>Then</c>…), as Elsa's activity visitor names them.
/// </summary>
internal static class SubgraphApi
{
    public static RouteGroupBuilder MapSubgraphApi(this RouteGroupBuilder group)
    {
        group.MapGet("/workflow-definitions/subgraph/segments/{id}", SegmentsAsync);
        group.MapGet("/workflow-definitions/subgraph/{id}", SubgraphAsync);
        return group;
    }

    private static async Task<IResult> SubgraphAsync(string id, string? parentNodeId, WorkflowDefinitionService definitions, ActivityRegistry registry, CancellationToken cancellationToken)
    {
        if (await FindAsync(id, definitions, cancellationToken) is not { } graph)
            return NotFound(id);
        var tree = Tree.Of(graph.Root, registry);
        var node = parentNodeId is not null && tree.Nodes.TryGetValue(parentNodeId, out var found) ? found : tree.Nodes[graph.Root.NodeId];
        return DescriptorsApi.Json(Node(node, registry));
    }

    private static async Task<IResult> SegmentsAsync(string id, string? childNodeId, WorkflowDefinitionService definitions, ActivityRegistry registry, CancellationToken cancellationToken)
    {
        if (await FindAsync(id, definitions, cancellationToken) is not { } graph)
            return NotFound(id);
        var tree = Tree.Of(graph.Root, registry);
        if (string.IsNullOrEmpty(childNodeId) || !tree.Nodes.TryGetValue(childNodeId, out var child))
            return WorkflowDefinitionsApi.BadRequest($"Unknown node ID '{childNodeId}': give ?childNodeId=<the node id of an activity of version '{id}'>.");

        // From the child up: every containing activity that is not a flowchart is a segment, named by the port it holds the path in.
        var segments = new List<JsonObject>();
        var previous = child;
        for (var current = child.Parent; current is not null; previous = current, current = current.Parent)
        {
            if (current.Activity is Flowchart)
                continue;
            var type = registry.Describe(current.Activity).TypeName;
            segments.Insert(0, new JsonObject
            {
                ["activityNodeId"] = current.Activity.NodeId,
                ["activityId"] = current.Activity.Id,
                ["activityType"] = type,
                ["portName"] = previous.Port,
                ["activityName"] = current.Activity.Name ?? type,
            });
        }

        // The container: the innermost containing activity that is a segment, else the top.
        var container = segments.Count > 0 ? tree.Nodes[segments[^1]["activityNodeId"]!.GetValue<string>()] : Top(child);
        return DescriptorsApi.Json(new JsonObject
        {
            ["childNode"] = Node(child, registry),
            ["container"] = Node(container, registry),
            ["pathSegments"] = new JsonArray([.. segments]),
        });
    }

    private static async Task<WorkflowGraph?> FindAsync(string versionId, WorkflowDefinitionService definitions, CancellationToken cancellationToken)
    {
        try
        {
            return await definitions.GetGraphAsync(versionId, cancellationToken);
        }
        catch (DefinitionNotFoundException)
        {
            return null;
        }
    }

    private static TreeNode Top(TreeNode node)
    {
        while (node.Parent is not null)
            node = node.Parent;
        return node;
    }

    private static JsonObject Node(TreeNode node, ActivityRegistry registry) => new()
    {
        ["nodeId"] = node.Activity.NodeId,
        ["port"] = node.Port,
        ["activity"] = new ActivitySerializer(registry).Serialize(node.Activity),
    };

    private static IResult NotFound(string id) =>
        Results.Problem(statusCode: 404, title: "Not found", detail: $"Workflow definition version '{id}' does not exist (the subgraph routes take a version id, as in Elsa).");

    private sealed record TreeNode(Activity Activity, string Port, TreeNode? Parent);

    /// <summary>Each activity of a version with the port that holds it and its parent, by node id.</summary>
    private sealed class Tree
    {
        public Dictionary<string, TreeNode> Nodes { get; } = new(StringComparer.Ordinal);

        public static Tree Of(Activity root, ActivityRegistry registry)
        {
            var tree = new Tree();
            var pending = new Stack<TreeNode>();
            pending.Push(new TreeNode(root, "Root", null));
            while (pending.TryPop(out var node))
            {
                if (!tree.Nodes.TryAdd(node.Activity.NodeId, node))
                    continue;
                foreach (var (child, port) in Children(node.Activity, registry))
                    pending.Push(new TreeNode(child, port, node));
            }

            return tree;
        }

        private static IEnumerable<(Activity Child, string Port)> Children(Activity activity, ActivityRegistry registry)
        {
            var byPort = new HashSet<Activity>(ReferenceEqualityComparer.Instance);
            foreach (var port in registry.Describe(activity).Ports)
            {
                switch (port.Property.GetValue(activity))
                {
                    case Activity child:
                        byPort.Add(child);
                        yield return (child, port.Name);
                        break;
                    case IEnumerable<Activity> children:
                        foreach (var child in children)
                        {
                            byPort.Add(child);
                            yield return (child, port.Name);
                        }

                        break;
                }
            }

            // Children that no declared port holds (a flowchart's activities, a custom container's): Elsa's Activities.
            foreach (var child in activity.GetChildren().Where(c => !byPort.Contains(c)))
                yield return (child, "Activities");
        }
    }
}
