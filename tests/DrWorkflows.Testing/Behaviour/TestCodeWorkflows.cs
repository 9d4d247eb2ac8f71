using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Activities.Flowchart;
using DrWorkflows.Core.Activities.Primitives;
using DrWorkflows.Core.Building;

namespace DrWorkflows.Testing.Behaviour;

/// <summary>A workflow written in C# (loaded by <c>WorkflowLoader</c> from this assembly).</summary>
public sealed class GreetingCodeWorkflow : ICodeWorkflow
{
    public const string Id = "code-greeting";

    public string DefinitionId => Id;

    public string Name => "Code greeting";

    public void Build(WorkflowBuilder builder)
    {
        builder.WithVariable("Who", "world").WithInput<string>("Greeting", "How to greet");
        var flow = builder.Flowchart();
        var start = flow.Add(new Start());
        var hello = flow.Add(new WriteLine { Text = Input<string>.FromJavaScript("(getInput('Greeting') || 'hello') + ' ' + Who") });
        var decide = flow.Add(new FlowDecision { Condition = Input<bool>.FromJavaScript("Who === 'world'") });
        var yes = flow.Add(new WriteLine { Text = new("the whole world") });
        var no = flow.Add(new WriteLine { Text = new("someone") });
        flow.Chain(start, hello, decide);
        flow.Connect(decide, yes, "True");
        flow.Connect(decide, no, "False");
    }
}
