using System.Text.Json;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Serialization;

namespace DrWorkflows.Core.Activities.Flowchart;

/// <summary>
/// Activities connected by outcome ports. When an activity completes, each connection leaving one of its
/// outcomes carries a token to its target; the target runs according to its merge mode (see
/// <see cref="MergeMode"/>, and <see cref="FlowJoin"/>). The flowchart completes when nothing in it is
/// scheduled or running any more, or when an <see cref="End"/> is reached.
/// </summary>
[Activity("Elsa", "Flow", "A flowchart is a collection of activities and connections between them.", SafeToRerun = true)]
public sealed class Flowchart : Activity, ICustomActivityJson
{
    private const string TokensKey = "tokens";

    private FlowGraph? graph;

    public IList<Activity> Activities { get; set; } = [];

    public IList<Connection> Connections { get; set; } = [];

    /// <summary>The first activity to run, when not found automatically.</summary>
    public Activity? Start { get; set; }

    private FlowGraph Graph => graph ??= new FlowGraph(this);

    public override IEnumerable<Activity> GetChildren() => Activities;

    public override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var start = FindStart(context);
        if (start is null)
            return context.CompleteAsync();
        context.ScheduleChild(start);
        return ValueTask.CompletedTask;
    }

    public override async ValueTask OnChildCompletedAsync(ActivityExecutionContext context, ChildCompletion child)
    {
        if (child.Activity is End)
        {
            await context.CompleteAsync();
            return;
        }

        var tokens = LoadTokens(context);
        tokens.RemoveAll(t => t.Target == child.Activity.Id);
        var emitted = Graph.Outbound(child.Activity.Id)
            .Where(c => child.Outcomes.Contains(c.Source.Port, StringComparer.OrdinalIgnoreCase))
            .Select(c => new Token(c.Source.Activity, c.Source.Port, c.Target.Activity))
            .ToList();
        tokens.AddRange(emitted);

        // Each target learns which connection led to it (the first of the completed step's ports that reach it).
        foreach (var arrival in emitted.DistinctBy(t => t.Target, StringComparer.Ordinal))
        {
            if (Graph.Find(arrival.Target) is { } target)
                await ConsiderAsync(context, target, tokens, new ScheduledBy(arrival.Source, arrival.Port, child.ExecutionId));
        }

        SaveTokens(context, tokens);
        if (!context.HasEnded && !context.Children.Any())
            await context.CompleteAsync();
    }

    private async ValueTask ConsiderAsync(ActivityExecutionContext context, Activity target, List<Token> tokens, ScheduledBy scheduledBy)
    {
        var mode = MergeModeOf(context, target);
        var live = context.Children.ToList();
        var isPending = live.Any(c => c.Activity.Id == target.Id && c.Record.Status == ActivityStatus.Pending);
        switch (mode)
        {
            case MergeMode.Cascade:
                context.ScheduleChild(target, scheduledBy: scheduledBy);
                break;
            case MergeMode.Race:
                if (isPending || tokens.Count(t => t.Target == target.Id) > 1)
                    break;
                var upstream = Graph.Ancestors(target.Id);
                foreach (var other in live.Where(c => upstream.Contains(c.Activity.Id)))
                    context.CancelChild(other.ExecutionId);
                context.ScheduleChild(target, scheduledBy: scheduledBy);
                break;
            case MergeMode.Converge or MergeMode.Merge:
                // Converge waits for a token on every inbound connection; Merge (as in Elsa) on every forward one,
                // ignoring connections that loop back. Either runs on arrival when it has at most one such connection.
                var inbound = mode == MergeMode.Merge ? Graph.ForwardInbound(target.Id) : Graph.Inbound(target.Id);
                if (inbound.Count <= 1 || inbound.All(c => tokens.Any(t => t.Source == c.Source.Activity && t.Target == target.Id && string.Equals(t.Port, c.Source.Port, StringComparison.OrdinalIgnoreCase))))
                {
                    if (!isPending)
                        context.ScheduleChild(target, scheduledBy: scheduledBy);
                }

                break;
            default:
                // Stream: wait while a forward source of the target is still scheduled or running.
                var sources = Graph.ForwardInbound(target.Id).Select(c => c.Source.Activity).ToHashSet(StringComparer.Ordinal);
                if (!isPending && !live.Any(c => sources.Contains(c.Activity.Id)))
                    context.ScheduleChild(target, scheduledBy: scheduledBy);
                break;
        }

        await Task.CompletedTask;
    }

    private static MergeMode MergeModeOf(ActivityExecutionContext context, Activity target)
    {
        if (target is FlowJoin join)
        {
            return context.Evaluate(join.Mode.Expression ?? Expressions.Expression.Literal(FlowJoinMode.WaitAny.ToString()), typeof(FlowJoinMode)) switch
            {
                FlowJoinMode.WaitAll => MergeMode.Converge,
                FlowJoinMode.WaitAllActive => MergeMode.Stream,
                _ => MergeMode.Race,
            };
        }

        if (target.CustomProperties["mergeMode"] is JsonValue value && value.TryGetValue<string>(out var text) && Enum.TryParse<MergeMode>(text, ignoreCase: true, out var mode))
            return mode;
        return MergeMode.Stream;
    }

    private Activity? FindStart(ActivityExecutionContext context)
    {
        if (Start is not null)
            return Start;
        if (context.Workflow.State.Properties.TryGetValue(TriggerKeys.TriggerNodeId, out var trigger) && trigger is JsonValue v && v.TryGetValue<string>(out var nodeId)
            && Activities.FirstOrDefault(a => a.NodeId == nodeId) is { } triggered)
            return triggered;
        return Activities.FirstOrDefault(a => a is Start)
            ?? Activities.FirstOrDefault(a => a.CustomProperties["canStartWorkflow"] is JsonValue c && c.TryGetValue<bool>(out var b) && b)
            ?? Activities.FirstOrDefault(a => Graph.Inbound(a.Id).Count == 0)
            ?? Activities.FirstOrDefault();
    }

    private static List<Token> LoadTokens(ActivityExecutionContext context) =>
        context.Properties[TokensKey]?.Deserialize<List<Token>>(Json.Options) ?? [];

    private static void SaveTokens(ActivityExecutionContext context, List<Token> tokens)
    {
        if (!context.HasEnded)
            context.Properties[TokensKey] = JsonSerializer.SerializeToNode(tokens, Json.Options);
    }

    public void ReadJson(JsonObject json, Func<JsonObject, Activity> materialize)
    {
        if (json["connections"] is not JsonArray connections)
            return;
        foreach (var item in connections.OfType<JsonObject>())
        {
            var source = ReadEndpoint(item["source"], Outcomes.Done, item["sourcePort"]);
            var target = ReadEndpoint(item["target"], "In", item["targetPort"]);
            if (source is null || target is null)
                throw new WorkflowDefinitionException($"Flowchart '{Id}' has a connection without source or target activity: {item.ToJsonString()}") { ActivityId = Id };
            Connections.Add(new Connection(source, target));
        }

        var ids = Activities.Select(a => a.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var connection in Connections)
        {
            foreach (var end in new[] { connection.Source.Activity, connection.Target.Activity })
            {
                if (!ids.Contains(end))
                    throw new WorkflowDefinitionException($"Flowchart '{Id}' has a connection to '{end}', which is not one of its activities.") { ActivityId = Id };
            }
        }
    }

    private static Endpoint? ReadEndpoint(JsonNode? node, string defaultPort, JsonNode? legacyPort) => node switch
    {
        JsonObject obj when obj["activity"]?.GetValue<string>() is { } activity => new Endpoint(activity, obj["port"]?.GetValue<string>() ?? defaultPort),
        JsonValue value when value.TryGetValue<string>(out var activity) => new Endpoint(activity, legacyPort?.GetValue<string>() ?? defaultPort),
        _ => null,
    };

    public void WriteJson(JsonObject json, Func<Activity, JsonObject> serialize) =>
        json["connections"] = new JsonArray([.. Connections.Select(c => (JsonNode)new JsonObject
        {
            ["source"] = new JsonObject { ["activity"] = c.Source.Activity, ["port"] = c.Source.Port },
            ["target"] = new JsonObject { ["activity"] = c.Target.Activity, ["port"] = c.Target.Port },
            ["vertices"] = new JsonArray(),
        })]);

    public IEnumerable<Activity> GetCustomChildren() => [];

    private sealed record Token(string Source, string Port, string Target);

    /// <summary>Connections indexed for the flowchart's decisions; back edges (loops) found from the start.</summary>
    private sealed class FlowGraph
    {
        private readonly Dictionary<string, Activity> activities;
        private readonly ILookup<string, Connection> outbound;
        private readonly ILookup<string, Connection> inbound;
        private readonly HashSet<Connection> backEdges = [];

        public FlowGraph(Flowchart flowchart)
        {
            activities = flowchart.Activities.GroupBy(a => a.Id, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
            outbound = flowchart.Connections.ToLookup(c => c.Source.Activity, StringComparer.Ordinal);
            inbound = flowchart.Connections.ToLookup(c => c.Target.Activity, StringComparer.Ordinal);
            var roots = flowchart.Activities.Where(a => !inbound[a.Id].Any()).Select(a => a.Id).ToList();
            if (roots.Count == 0 && flowchart.Activities.Count > 0)
                roots.Add(flowchart.Activities[0].Id);
            var visited = new HashSet<string>(StringComparer.Ordinal);
            var onStack = new HashSet<string>(StringComparer.Ordinal);
            foreach (var root in roots.Concat(activities.Keys))
                Visit(root, visited, onStack);
        }

        private void Visit(string id, HashSet<string> visited, HashSet<string> onStack)
        {
            if (!visited.Add(id))
                return;
            onStack.Add(id);
            foreach (var connection in outbound[id])
            {
                if (onStack.Contains(connection.Target.Activity))
                    backEdges.Add(connection);
                else
                    Visit(connection.Target.Activity, visited, onStack);
            }

            onStack.Remove(id);
        }

        public Activity? Find(string id) => activities.GetValueOrDefault(id);

        public IEnumerable<Connection> Outbound(string id) => outbound[id];

        public IReadOnlyList<Connection> Inbound(string id) => [.. inbound[id]];

        public IReadOnlyList<Connection> ForwardInbound(string id) => [.. inbound[id].Where(c => !backEdges.Contains(c))];

        public HashSet<string> Ancestors(string id)
        {
            var result = new HashSet<string>(StringComparer.Ordinal);
            var stack = new Stack<string>([id]);
            while (stack.Count > 0)
            {
                foreach (var connection in inbound[stack.Pop()].Where(c => !backEdges.Contains(c)))
                {
                    if (result.Add(connection.Source.Activity))
                        stack.Push(connection.Source.Activity);
                }
            }

            return result;
        }
    }
}

/// <summary>Keys the runtime puts in <see cref="WorkflowState.Properties"/> when a trigger starts a run.</summary>
public static class TriggerKeys
{
    /// <summary>Node id of the trigger activity that started the run.</summary>
    public const string TriggerNodeId = "triggerNodeId";

    /// <summary>What the trigger received (<see cref="Runtime.StartRunRequest.TriggerPayload"/>).</summary>
    public const string TriggerPayload = "triggerPayload";
}
