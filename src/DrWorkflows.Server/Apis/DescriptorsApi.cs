using System.Text.Json.Nodes;
using DrWorkflows.Core.Model;

namespace DrWorkflows.Server.Apis;

/// <summary>
/// The descriptor routes Elsa Studio calls to build its editors (<c>/elsa/api/descriptors/...</c>), and
/// <c>/features/installed</c>. Lists the runtime does not act on (activation, incident, log and commit
/// strategies) are answered with the values the runtime's behaviour corresponds to, because the Studio fails
/// to render its Settings panel without them.
/// </summary>
public static class DescriptorsApi
{
    /// <summary>Elsa's expression types, in the Studio's picker order. C# is listed only to keys that may author it (as in Elsa); Python and Liquid are not supported by the runtime.</summary>
    private static readonly (string Type, string DisplayName, bool Browsable, string? MonacoLanguage)[] ExpressionTypes =
    [
        ("Literal", "Literal", true, null),
        ("Object", "Object", true, "json"),
        ("JavaScript", "JavaScript", true, "javascript"),
        ("CSharp", "C#", true, "csharp"),
        ("Variable", "Variable", false, null),
    ];

    private static readonly string[] VariableTypes =
        ["String", "Boolean", "Int32", "Int64", "Double", "Decimal", "DateTime", "DateTimeOffset", "TimeSpan", "Guid", "Object", "JsonObject", "String[]"];

    public static RouteGroupBuilder MapDescriptorsApi(this RouteGroupBuilder group)
    {
        group.MapGet("/descriptors/activities", (ActivityRegistry registry) => Json(StudioDescriptors.List(registry)));
        group.MapGet("/descriptors/expression-descriptors", (System.Security.Claims.ClaimsPrincipal user) => List(ExpressionTypes.Where(e => e.Type != "CSharp" || Security.CSharpAuthoring.MayAuthor(user)).Select(e => new JsonObject
        {
            ["type"] = e.Type,
            ["displayName"] = e.DisplayName,
            ["isSerializable"] = true,
            ["isBrowsable"] = e.Browsable,
            ["properties"] = e.MonacoLanguage is null ? new JsonObject() : new JsonObject { ["MonacoLanguage"] = e.MonacoLanguage },
        })));
        group.MapGet("/descriptors/workflow-activation-strategies", () => List(
            Strategy("Elsa.Workflows.ActivationStrategies.AllowAlwaysStrategy", "Always", "Always allow the creation of a new workflow instance.")));
        // The hold first (the DR default, also when a definition names none), then Elsa's two strategies.
        group.MapGet("/descriptors/incident-strategies", () => List(
            Strategy(Core.Execution.IncidentStrategies.OperatorHoldType, "Hold for an operator (DR default)", "An activity failure raises an incident and the run waits for an operator (retry, skip or fail)."),
            Strategy(Core.Execution.IncidentStrategies.FaultType, "Fault", "An activity failure ends the run Faulted; the incident is recorded and on-call alerted. Not for DR runbooks."),
            Strategy(Core.Execution.IncidentStrategies.ContinueWithIncidentsType, "Continue with incidents", "An activity failure is recorded as an incident (on-call alerted) and the rest of the workflow carries on. Not for DR runbooks.")));
        group.MapGet("/descriptors/log-persistence-strategies", () => List(
            Strategy("Elsa.Workflows.LogPersistence.Strategies.Inherit", "Inherit", "Inherit the persistence mode from the container."),
            Strategy("Elsa.Workflows.LogPersistence.Strategies.Include", "Include", "Record inputs and outputs in the journal (secrets are always redacted)."),
            Strategy("Elsa.Workflows.LogPersistence.Strategies.Exclude", "Exclude", "Leave the value out of the journal.")));
        group.MapGet("/descriptors/commit-strategies/workflows", () => List(CommitStrategy()));
        group.MapGet("/descriptors/commit-strategies/activities", () => List(CommitStrategy()));
        group.MapGet("/descriptors/variables", () => Json(new JsonObject
        {
            ["items"] = new JsonArray([.. VariableTypes.Select(t => (JsonNode)new JsonObject
            {
                ["typeName"] = t,
                ["displayName"] = t,
                ["category"] = "Primitives",
                ["description"] = null,
            })]),
        }));
        group.MapGet("/descriptors/storage-drivers", () => Json(new JsonObject
        {
            ["items"] = new JsonArray(new JsonObject
            {
                ["typeName"] = "Elsa.Workflows.WorkflowInstanceStorageDriver, Elsa.Workflows.Core",
                ["displayName"] = "Workflow Instance",
                ["priority"] = 0,
                ["deprecated"] = false,
            }),
        }));
        group.MapGet("/descriptors/output-converters", () => Json(new JsonObject { ["items"] = new JsonArray() }));
        group.MapGet("/features/installed", () => List());
        group.MapGet("/package/version", () => Results.Ok(new { packageVersion = "3.8.0" }));
        return group;
    }

    private static JsonObject Strategy(string typeName, string displayName, string description) =>
        new() { ["typeName"] = typeName, ["displayName"] = displayName, ["description"] = description };

    private static JsonObject CommitStrategy() => new()
    {
        ["name"] = "EveryActivity",
        ["displayName"] = "Every activity",
        ["description"] = "The run's state and journal are committed after every activity (the runtime always does this).",
    };

    private static IResult List(params IEnumerable<JsonObject> items)
    {
        var array = new JsonArray([.. items]);
        return Json(new JsonObject { ["items"] = array, ["count"] = array.Count });
    }

    internal static IResult Json(JsonNode node) => Results.Text(node.ToJsonString(), "application/json; charset=utf-8");
}
