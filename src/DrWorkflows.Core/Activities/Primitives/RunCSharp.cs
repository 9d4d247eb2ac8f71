using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Expressions;
using DrWorkflows.Core.Model;

namespace DrWorkflows.Core.Activities.Primitives;

/// <summary>
/// Runs C# code (Elsa's <c>Elsa.RunCSharp</c>): its last value, or what it returns, is the result. As in Elsa, the code
/// may choose the outcomes with <c>Outcome.Set("Name")</c> or <c>Outcome.Set("A", "B")</c> (default <c>Done</c>).
/// Full-trust code: only keys with the designer role may save or publish a workflow that uses it (docs/elsa-compatibility.md, C#).
/// </summary>
[Activity("Elsa", "Scripting", "Executes C# code.", SafeToRerun = false, DisplayName = "Run C#")]
[DynamicOutcomes(nameof(PossibleOutcomes))]
public sealed class RunCSharp : Activity
{
    public const string TypeName = "Elsa.RunCSharp";

    [Input(Description = "The script to run.", UIHint = InputUIHints.CodeEditor)]
    public Input<string> Script { get; set; } = new(string.Empty);

    [Input(Description = "A list of possible outcomes. Use \"Outcome.Set(string)\" to set the outcome; \"Outcome.Set(params string[])\" to set several.", UIHint = InputUIHints.MultiText)]
    public Input<string[]>? PossibleOutcomes { get; set; }

    [Output(Description = "The result of the activity.")]
    public Output<object?> Result { get; set; } = new();

    public override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        // The script is code, not a value: written as a C# expression it is that code (run once), not its result.
        var script = Script.Expression is { Type: ExpressionTypes.CSharp } written ? written.ValueText : context.Get(Script);
        var outcomes = new List<string>();
        object? result = null;
        if (!string.IsNullOrWhiteSpace(script))
        {
            var scope = new ExpressionScope(context) { Outcomes = outcomes };
            result = ValueConverter.Convert<object>(context.Workflow.Evaluator.Evaluate(new Expression(ExpressionTypes.CSharp, System.Text.Json.Nodes.JsonValue.Create(script)), typeof(object), scope));
        }

        context.Set(Result, result);
        return context.CompleteAsync([.. outcomes]);
    }
}
