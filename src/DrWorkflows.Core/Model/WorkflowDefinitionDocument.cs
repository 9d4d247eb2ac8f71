using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace DrWorkflows.Core.Model;

/// <summary>
/// An Elsa 3 workflow-definition JSON document with typed access to the properties the runtime uses.
/// Every other property (Studio layout, custom properties, unknown fields) stays in <see cref="Json"/> as it was.
/// </summary>
public sealed class WorkflowDefinitionDocument
{
    /// <summary>
    /// Custom property (<c>"customProperties": {"oneRunPerPlatform": true}</c>): a run of this definition is refused
    /// while another run of it is running against the same platform (see docs/workflows/README.md).
    /// </summary>
    public const string OneRunPerPlatformProperty = "oneRunPerPlatform";

    public WorkflowDefinitionDocument(JsonObject json) => Json = json;

    public JsonObject Json { get; }

    /// <summary>Version id.</summary>
    public string Id
    {
        get => GetString("id") ?? string.Empty;
        set => Json["id"] = value;
    }

    public string DefinitionId
    {
        get => GetString("definitionId") ?? string.Empty;
        set => Json["definitionId"] = value;
    }

    public int Version
    {
        get => Json["version"] is JsonValue v && v.TryGetValue<int>(out var n) ? n : 0;
        set => Json["version"] = value;
    }

    public string? Name
    {
        get => GetString("name");
        set => Json["name"] = value;
    }

    public string? Description => GetString("description");

    public bool IsPublished
    {
        get => GetBool("isPublished");
        set => Json["isPublished"] = value;
    }

    public bool IsLatest
    {
        get => GetBool("isLatest");
        set => Json["isLatest"] = value;
    }

    public bool IsReadonly
    {
        get => GetBool("isReadonly");
        set => Json["isReadonly"] = value;
    }

    /// <summary>
    /// <c>options.usableAsActivity</c>; when the options do not say, the older top-level <c>usableAsActivity</c>
    /// (Elsa reads both, the options first).
    /// </summary>
    public bool UsableAsActivity =>
        Flag(Json["options"]?["usableAsActivity"]) ?? Flag(Json["usableAsActivity"]) ?? false;

    private static bool? Flag(JsonNode? node) => node is JsonValue v && v.TryGetValue<bool>(out var b) ? b : null;

    public JsonObject? Root => Json["root"] as JsonObject;

    public DateTimeOffset? CreatedAt
    {
        get => GetString("createdAt") is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value) ? value : null;
        set => Json["createdAt"] = value?.ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture);
    }

    public static WorkflowDefinitionDocument Parse(string json, string? source = null)
    {
        JsonNode? node;
        try
        {
            // A key given twice is refused here: JsonObject would otherwise fail later, on first use, far from the file.
            node = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, AllowDuplicateProperties = false });
        }
        catch (JsonException e)
        {
            var where = source is null ? string.Empty : $"{source}: ";
            var at = e.LineNumber is { } line ? $" at line {line + 1}, position {e.BytePositionInLine + 1}" : string.Empty;
            throw new WorkflowDefinitionException($"{where}not valid JSON{at}: {e.Message.Split(" Path:")[0]}", e) { FilePath = source };
        }

        if (node is not JsonObject obj)
            throw new WorkflowDefinitionException($"{(source is null ? string.Empty : source + ": ")}a workflow definition must be a JSON object.") { FilePath = source };
        return new WorkflowDefinitionDocument(obj);
    }

    public WorkflowDefinitionDocument Clone() => new((JsonObject)Json.DeepClone());

    public string ToJsonString(bool indented = false) => Json.ToJsonString(indented ? Serialization.Json.Indented : Serialization.Json.Options);

    /// <summary>
    /// Fills what Elsa Studio requires and a hand-written file may omit: <c>nodeId</c> on every activity
    /// (<c>parent:id</c>), empty <c>variables</c>/<c>inputs</c>/<c>outputs</c>/<c>outcomes</c>, an
    /// <c>options</c> object and <c>customProperties</c>. Existing values are never changed.
    /// </summary>
    public WorkflowDefinitionDocument Normalize()
    {
        foreach (var key in new[] { "variables", "inputs", "outputs", "outcomes" })
        {
            if (Json[key] is null)
                Json[key] = new JsonArray();
        }

        if (Json["options"] is not JsonObject)
            Json["options"] = new JsonObject { ["autoUpdateConsumingWorkflows"] = false };
        if (Json["customProperties"] is not JsonObject)
            Json["customProperties"] = new JsonObject();
        if (Root is { } root)
            AssignNodeIds(root, WorkflowMaterializer.RootNodePrefix);
        return this;
    }

    private static void AssignNodeIds(JsonObject activity, string parentNodeId)
    {
        // Ids that are not text are left for the materializer to report with the activity.
        if (activity["id"] is not JsonValue idValue || !idValue.TryGetValue<string>(out var id))
            return;
        if (activity["nodeId"] is not JsonValue nodeIdValue || !nodeIdValue.TryGetValue<string>(out var existing) || string.IsNullOrEmpty(existing))
            activity["nodeId"] = $"{parentNodeId}:{id}";
        var nodeId = activity["nodeId"]!.GetValue<string>();
        foreach (var (_, value) in activity.ToList())
        {
            if (value is JsonObject child && IsActivity(child))
                AssignNodeIds(child, nodeId);
            else if (value is JsonArray items)
            {
                foreach (var item in items.OfType<JsonObject>())
                {
                    if (IsActivity(item))
                        AssignNodeIds(item, nodeId);
                    else if (item["activity"] is JsonObject nested && IsActivity(nested))
                        AssignNodeIds(nested, nodeId);
                }
            }
        }
    }

    private static bool IsActivity(JsonObject json) => json.ContainsKey("type") && json.ContainsKey("id");

    private string? GetString(string key) => Json[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private bool GetBool(string key) => Json[key] is JsonValue v && v.TryGetValue<bool>(out var b) && b;
}
