using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Expressions;
using DrWorkflows.Core.Model;

namespace DrWorkflows.Core.Activities.Primitives;

/// <summary>
/// Runs a JavaScript snippet; its last value is the result. As in Elsa, the script may choose the outcomes the
/// activity completes with by calling <c>setOutcome('Name')</c> or <c>setOutcomes(['A', 'B'])</c> (default <c>Done</c>).
/// </summary>
[Activity("Elsa", "Scripting", "Executes JavaScript code.", SafeToRerun = true, DisplayName = "Run JavaScript")]
[DynamicOutcomes(nameof(PossibleOutcomes))]
public sealed class RunJavaScript : Activity
{
    [Input(Description = "The script to run.", UIHint = InputUIHints.CodeEditor)]
    public Input<string> Script { get; set; } = new(string.Empty);

    [Input(Description = "The outcomes the script may choose with setOutcome() or setOutcomes() (one port each).", UIHint = InputUIHints.MultiText)]
    public Input<string[]>? PossibleOutcomes { get; set; }

    [Output(Description = "The result of the activity.")]
    public Output<object?> Result { get; set; } = new();

    public override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        // The script is code, not a value: read it as text, then run it (whatever expression type held it).
        var script = context.Get(Script);
        var outcomes = new List<string>();
        object? result = null;
        if (!string.IsNullOrWhiteSpace(script))
        {
            var scope = new ExpressionScope(context) { Outcomes = outcomes };
            result = ValueConverter.Convert<object>(context.Workflow.Evaluator.Evaluate(Expression.JavaScript(script), typeof(object), scope));
        }

        context.Set(Result, result);
        return context.CompleteAsync([.. outcomes]);
    }
}
