using DrWorkflows.Core.Expressions;

namespace DrWorkflows.Core.Abstractions;

/// <summary>Untyped view of an activity input: an expression and an optional memory (variable) reference.</summary>
public abstract class Input
{
    protected Input(Expression? expression, string? memoryReference, Type valueType)
    {
        Expression = expression;
        MemoryReference = memoryReference;
        ValueType = valueType;
    }

    /// <summary>How the value is computed; <c>null</c> when the input was not set.</summary>
    public Expression? Expression { get; }

    /// <summary>Variable id this input is bound to (Elsa's <c>memoryReference.id</c>), if any.</summary>
    public string? MemoryReference { get; }

    /// <summary>The CLR type the value is converted to.</summary>
    public Type ValueType { get; }
}

/// <summary>
/// A typed activity input. Read it in an activity with <c>context.Get(MyInput)</c>; the runtime evaluates the
/// expression (literal, JSON object, variable or JavaScript) and converts the result to <typeparamref name="T"/>.
/// </summary>
public sealed class Input<T> : Input
{
    public Input(Expression? expression, string? memoryReference = null)
        : base(expression, memoryReference, typeof(T))
    {
    }

    public Input(T literal)
        : base(Expressions.Expression.Literal(literal), null, typeof(T))
    {
    }

    public static Input<T> FromJavaScript(string script) => new(Expressions.Expression.JavaScript(script));

    public static Input<T> FromVariable(string variableName) => new(Expressions.Expression.Variable(variableName));

    public static Input<T> FromObject(string json) => new(Expressions.Expression.Object(json));

    public static implicit operator Input<T>(T literal) => new(literal);
}

/// <summary>Untyped view of an activity output: a name and an optional variable it is copied into.</summary>
public abstract class Output
{
    /// <summary>Variable id (Elsa's <c>memoryReference.id</c>) the value is also written to.</summary>
    public string? MemoryReference { get; set; }

    public abstract Type ValueType { get; }
}

/// <summary>A typed activity output. Write it in an activity with <c>context.Set(MyOutput, value)</c>.</summary>
public sealed class Output<T> : Output
{
    public Output()
    {
    }

    public Output(string? memoryReference) => MemoryReference = memoryReference;

    public override Type ValueType => typeof(T);
}
