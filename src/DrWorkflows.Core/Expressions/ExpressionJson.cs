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

    /// <summary>
    /// Reads an expression that is not an activity input (a switch case condition), refusing the expression types
    /// DrWorkflows does not evaluate (Python, Liquid) when the definition is loaded rather than when it runs.
    /// </summary>
    public static Expression? ReadEvaluable(JsonNode? node, string activityId, string where)
    {
        var expression = Read(node);
        if (expression is { Type: ExpressionTypes.Python or ExpressionTypes.Liquid })
            throw new WorkflowDefinitionException($"{ExpressionEvaluator.UnsupportedMessage(expression.Type, activityId)} ({where})") { ActivityId = activityId };
        return expression;
    }

    public static JsonObject? Write(Expression? expression) =>
        expression is null ? null : new JsonObject { ["type"] = expression.Type, ["value"] = expression.Value?.DeepClone() };
}
