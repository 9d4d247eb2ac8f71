using System.Text.Json.Nodes;

namespace DrWorkflows.Core.Expressions;

/// <summary>
/// An expression as Elsa 3 stores it: <c>{"type":"JavaScript","value":"getVariable('x')"}</c>.
/// The value is kept as JSON so that a round trip never changes it.
/// </summary>
public sealed record Expression(string Type, JsonNode? Value)
{
    public static Expression Literal(object? value) => new(ExpressionTypes.Literal, value switch
    {
        null => null,
        JsonNode node => node.DeepClone(),
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b ? "true" : "false"),
        IFormattable f => JsonValue.Create(f.ToString(null, System.Globalization.CultureInfo.InvariantCulture)),
        _ => System.Text.Json.JsonSerializer.SerializeToNode(value, Serialization.Json.Options),
    });

    public static Expression JavaScript(string script) => new(ExpressionTypes.JavaScript, JsonValue.Create(script));

    public static Expression Variable(string name) => new(ExpressionTypes.Variable, JsonValue.Create(name));

    public static Expression Object(string json) => new(ExpressionTypes.Object, JsonValue.Create(json));

    /// <summary>The value as text, as the Studio writes it for most expression types.</summary>
    public string? ValueText => Value switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => Value.ToJsonString(),
    };
}

/// <summary>Expression type names as Elsa 3 writes them.</summary>
public static class ExpressionTypes
{
    public const string Literal = "Literal";
    public const string Object = "Object";
    public const string Json = "Json";
    public const string Variable = "Variable";
    public const string JavaScript = "JavaScript";
    public const string CSharp = "CSharp";
    public const string Python = "Python";
    public const string Liquid = "Liquid";
}
