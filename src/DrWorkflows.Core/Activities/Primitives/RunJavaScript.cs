using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Expressions;

namespace DrWorkflows.Core.Activities.Primitives;

/// <summary>Runs a JavaScript snippet; its last value is the result.</summary>
[Activity("Elsa", "Scripting", "Executes JavaScript code.", SafeToRerun = true, DisplayName = "Run JavaScript")]
public sealed class RunJavaScript : CodeActivity<object?>
{
    [Input(Description = "The script to run.", UIHint = InputUIHints.CodeEditor)]
    public Input<string> Script { get; set; } = new(string.Empty);

    protected override ValueTask<object?> RunAsync(ActivityExecutionContext context)
    {
        // The script is code, not a value: read it as text, then run it (whatever expression type held it).
        var script = context.Get(Script);
        if (string.IsNullOrWhiteSpace(script))
            return ValueTask.FromResult<object?>(null);
        return ValueTask.FromResult(context.Evaluate(Expression.JavaScript(script), typeof(object)));
    }
}
