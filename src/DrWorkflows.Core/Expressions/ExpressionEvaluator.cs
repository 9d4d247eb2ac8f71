using System.Text.Json.Nodes;

namespace DrWorkflows.Core.Expressions;

/// <summary>Evaluates one kind of expression.</summary>
public interface IExpressionHandler
{
    /// <summary>The expression type it handles, e.g. <c>JavaScript</c>.</summary>
    string Type { get; }

    /// <summary>Returns the raw value; the caller converts it to the target type.</summary>
    object? Evaluate(Expression expression, Type targetType, ExpressionScope scope);
}

/// <summary>Dispatches an expression to the handler of its type.</summary>
public sealed class ExpressionEvaluator
{
    private readonly Dictionary<string, IExpressionHandler> handlers;

    public ExpressionEvaluator(IEnumerable<IExpressionHandler> handlers) =>
        this.handlers = handlers.ToDictionary(h => h.Type, StringComparer.OrdinalIgnoreCase);

    /// <summary>The expression types this runtime evaluates.</summary>
    public IReadOnlyCollection<string> SupportedTypes => handlers.Keys;

    public bool Supports(string type) => handlers.ContainsKey(type);

    public object? Evaluate(Expression expression, Type targetType, ExpressionScope scope)
    {
        if (handlers.TryGetValue(expression.Type, out var handler))
            return handler.Evaluate(expression, targetType, scope);
        throw new WorkflowDefinitionException(UnsupportedMessage(expression.Type, scope.Context.Activity.Id))
        {
            ActivityId = scope.Context.Activity.Id,
        };
    }

    public static string UnsupportedMessage(string type, string activityId) => type switch
    {
        _ => $"Activity '{activityId}' uses a '{type}' expression, which DrWorkflows does not evaluate. Supported: Literal, Object, Json, Variable, JavaScript, CSharp.",
    };

    /// <summary>The standard handlers; C# with <paramref name="csharp"/> (its settings and cache) or a default one.</summary>
    public static ExpressionEvaluator CreateDefault(CSharpHandler? csharp = null) => new([new LiteralHandler(), new ObjectHandler(ExpressionTypes.Object), new ObjectHandler(ExpressionTypes.Json), new VariableHandler(), new JavaScriptHandler(), csharp ?? new CSharpHandler()]);
}

/// <summary>A literal: the text as written (numbers and booleans are parsed by the target conversion).</summary>
public sealed class LiteralHandler : IExpressionHandler
{
    public string Type => ExpressionTypes.Literal;

    public object? Evaluate(Expression expression, Type targetType, ExpressionScope scope) => expression.Value switch
    {
        JsonValue value when value.TryGetValue<string>(out var text) => text,
        var node => node?.DeepClone(),
    };
}

/// <summary>A JSON object or array, written as JSON text (Elsa's <c>Object</c> expression).</summary>
public sealed class ObjectHandler(string type) : IExpressionHandler
{
    public string Type => type;

    public object? Evaluate(Expression expression, Type targetType, ExpressionScope scope)
    {
        if (expression.Value is JsonValue value && value.TryGetValue<string>(out var text))
        {
            if (string.IsNullOrWhiteSpace(text))
                return null;
            try
            {
                return JsonNode.Parse(text);
            }
            catch (System.Text.Json.JsonException e)
            {
                throw new WorkflowDefinitionException($"Activity '{scope.Context.Activity.Id}' has an Object expression that is not valid JSON: {e.Message}", e)
                {
                    ActivityId = scope.Context.Activity.Id,
                };
            }
        }

        return expression.Value?.DeepClone();
    }
}

/// <summary>The value of a variable, named by the expression (Elsa's <c>Variable</c> expression).</summary>
public sealed class VariableHandler : IExpressionHandler
{
    public string Type => ExpressionTypes.Variable;

    public object? Evaluate(Expression expression, Type targetType, ExpressionScope scope)
    {
        var name = expression.Value switch
        {
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            JsonObject o when o["name"] is JsonValue n => n.GetValue<string>(),
            JsonObject o when o["id"] is JsonValue i => i.GetValue<string>(),
            _ => null,
        } ?? throw new WorkflowDefinitionException($"Activity '{scope.Context.Activity.Id}' has a Variable expression without a variable name.") { ActivityId = scope.Context.Activity.Id };
        return scope.GetVariable(name);
    }
}
