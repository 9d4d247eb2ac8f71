using System.Text.Json.Nodes;
using Microsoft.Msagl.Core.Geometry;
using Microsoft.Msagl.Core.Geometry.Curves;
using Microsoft.Msagl.Core.Layout;
using Microsoft.Msagl.Layout.Layered;
using Microsoft.Msagl.Miscellaneous;
using MsaglNode = Microsoft.Msagl.Core.Layout.Node;

namespace DrWorkflows.Core.Building;

/// <summary>A designer position of an activity, as the Studio stores it (<c>metadata.designer.position</c>: top-left, y down).</summary>
public readonly record struct DesignerPosition(double X, double Y);

/// <summary>
/// A layered graph layout of a flowchart for the Studio, top to bottom: the runbook's main path reads downwards and
/// branches spread sideways, so a long runbook is tall rather than a strip many screens wide. The layout is MSAGL's
/// Sugiyama layout (package AutomaticGraphLayout: cycle removal, layering, crossing reduction, coordinates); back
/// edges such as retry loops are allowed. Boxes are sized for the Studio's activity cards with their port labels,
/// so no two overlap.
/// </summary>
public static class FlowchartLayout
{
    /// <summary>Room for one activity card and its outcome labels.</summary>
    public const double NodeWidth = 280;

    public const double NodeHeight = 64;

    private const double LayerGap = 86;
    private const double NodeGap = 48;

    /// <summary>Incoming connections that make an activity a meeting point of many paths.</summary>
    private const int HubIncoming = 3;

    /// <summary>
    /// Lays out the activities of a flowchart's JSON (an <c>Elsa.Flowchart</c> object with <c>activities</c> and
    /// <c>connections</c>) in place, writing <c>metadata.designer.position</c>. With <paramref name="all"/> every
    /// activity moves (what <c>drw layout</c> does when a designer asks for it); otherwise only activities without a
    /// position get one, laid out among themselves below the placed ones, so nothing a designer placed moves.
    /// Returns how many activities got a position; the flowchart's extent is in <paramref name="extent"/>.
    /// </summary>
    public static int Apply(JsonObject flowchart, bool all, out (double Width, double Height) extent)
    {
        var activities = (flowchart["activities"] as JsonArray ?? []).OfType<JsonObject>().Where(a => a["id"] is JsonValue).ToList();
        var placed = all ? [] : activities.Where(a => Position(a) is not null).ToList();
        var free = activities.Except(placed).ToList();
        var ids = free.Select(a => a["id"]!.GetValue<string>()).ToList();
        var connections = (flowchart["connections"] as JsonArray ?? []).OfType<JsonObject>()
            .Select(c => (Source: c["source"]?["activity"]?.GetValue<string>(), Target: c["target"]?["activity"]?.GetValue<string>()))
            .Where(c => c.Source is not null && c.Target is not null)
            .Select(c => (c.Source!, c.Target!));
        var positions = Arrange(ids, connections);
        var below = placed.Count == 0 ? (X: 0.0, Y: 0.0) : (X: placed.Min(a => Position(a)!.Value.X), Y: placed.Max(a => Position(a)!.Value.Y) + NodeHeight + LayerGap);
        foreach (var activity in free)
        {
            var at = positions[activity["id"]!.GetValue<string>()];
            var metadata = activity["metadata"] as JsonObject ?? [];
            var designer = metadata["designer"] as JsonObject ?? [];
            designer["position"] = new JsonObject { ["x"] = at.X + below.X, ["y"] = at.Y + below.Y };
            metadata["designer"] = designer;
            activity["metadata"] = metadata;
        }

        var positioned = activities.Select(Position).OfType<DesignerPosition>().ToList();
        extent = positioned.Count == 0 ? (0, 0) : (positioned.Max(p => p.X) - positioned.Min(p => p.X) + NodeWidth, positioned.Max(p => p.Y) - positioned.Min(p => p.Y) + NodeHeight);
        return free.Count;
    }

    /// <summary>An activity's designer position; null when it has none.</summary>
    public static DesignerPosition? Position(JsonObject activity) =>
        activity["metadata"]?["designer"]?["position"] is JsonObject { } p && p["x"] is JsonValue x && p["y"] is JsonValue y
            ? new DesignerPosition(x.GetValue<double>(), y.GetValue<double>())
            : null;

    /// <summary>Each activity's longest distance from an activity nothing leads to (loops are cut at the activity count).</summary>
    private static Dictionary<string, int> LongestPathDepth(IEnumerable<string> ids, IReadOnlyList<(string Source, string Target)> edges)
    {
        var depth = ids.ToDictionary(id => id, _ => 0, StringComparer.Ordinal);
        for (var pass = 0; pass < depth.Count; pass++)
        {
            var changed = false;
            foreach (var (source, target) in edges)
            {
                var next = Math.Min(depth[source] + 1, depth.Count);
                if (next > depth[target])
                {
                    depth[target] = next;
                    changed = true;
                }
            }

            if (!changed)
                break;
        }

        return depth;
    }

    /// <summary>
    /// Top-left positions for <paramref name="activities"/> (ids), from the <paramref name="connections"/> between them
    /// (source, target; connections to unknown ids are ignored). The top-left activity is at (0, 0).
    /// </summary>
    public static IReadOnlyDictionary<string, DesignerPosition> Arrange(IReadOnlyList<string> activities, IEnumerable<(string Source, string Target)> connections, CancellationToken cancellationToken = default)
    {
        var graph = new GeometryGraph();
        var nodes = new Dictionary<string, MsaglNode>(StringComparer.Ordinal);
        foreach (var id in activities.Distinct(StringComparer.Ordinal))
        {
            var node = new MsaglNode(CurveFactory.CreateRectangle(NodeWidth, NodeHeight, new Point()), id);
            graph.Nodes.Add(node);
            nodes[id] = node;
        }

        if (nodes.Count == 0)
            return new Dictionary<string, DesignerPosition>(StringComparer.Ordinal);
        var edges = connections.Distinct().Where(c => c.Source != c.Target && nodes.ContainsKey(c.Source) && nodes.ContainsKey(c.Target)).ToList();
        // A step that many others lead to (the shared failure ending of a runbook) goes below the deepest of them, by
        // one edge from it: each of its other ways in would run past every row in between, and the layout would
        // keep a lane free for each, side by side, making the runbook many screens wide. The Studio still draws them.
        var depth = LongestPathDepth(nodes.Keys, edges);
        foreach (var hub in edges.GroupBy(e => e.Target, StringComparer.Ordinal).Where(g => g.Count() >= HubIncoming))
        {
            var deepest = hub.MaxBy(e => depth[e.Source]);
            edges.RemoveAll(e => e.Target == hub.Key && e != deepest);
        }

        foreach (var (source, target) in edges)
            graph.Edges.Add(new Edge(nodes[source], nodes[target]));

        var settings = new SugiyamaLayoutSettings { LayerSeparation = LayerGap, NodeSeparation = NodeGap };
        cancellationToken.ThrowIfCancellationRequested();
        LayoutHelpers.CalculateLayout(graph, settings, null);

        // MSAGL's y points up; the Studio's points down. Positions are the cards' top-left corners.
        var left = nodes.Values.Min(n => n.BoundingBox.Left);
        var top = nodes.Values.Max(n => n.BoundingBox.Top);
        return nodes.ToDictionary(n => n.Key, n => new DesignerPosition(Math.Round(n.Value.BoundingBox.Left - left), Math.Round(top - n.Value.BoundingBox.Top)), StringComparer.Ordinal);
    }
}
