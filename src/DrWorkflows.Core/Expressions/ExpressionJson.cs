using System.Text.Json.Nodes;

namespace DrWorkflows.Core.Expressions;

/// <summary>Reads and writes expressions in Elsa's JSON form <c>{"type": "...", "value": ...}</c>.</summary>
public static class ExpressionJson
{
    public static Expression? Read(JsonNode? node) => node switch
    {
        JsonObject obj => new Expression(obj["type"]?.GetValue<string>() ?? ExpressionTypes.Literal, obj["value"]?.DeepClone()),
        JsonValue value => Expression.Literal(value),
        _ => null,
    };

    public static JsonObject? Write(Expression? expression) =>
        expression is null ? null : new JsonObject { ["type"] = expression.Type, ["value"] = expression.Value?.DeepClone() };
}
