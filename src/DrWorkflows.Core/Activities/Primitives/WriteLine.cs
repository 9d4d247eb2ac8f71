using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Core.Activities.Primitives;

/// <summary>Writes a line of text to the orchestrator's standard output (and the journal).</summary>
[Activity("Elsa", "Primitives", "Write a line of text to the console.", SafeToRerun = true)]
public sealed class WriteLine : CodeActivity
{
    [Input(Description = "The text to write.")]
    public Input<string> Text { get; set; } = new(string.Empty);

    protected override async ValueTask RunAsync(ActivityExecutionContext context)
    {
        var text = context.Get(Text) ?? string.Empty;
        var output = context.Services.GetService<IStandardOutput>() ?? ConsoleOutput.Instance;
        await output.WriteLineAsync(context.Workflow.Redactor.RedactText(text), context.CancellationToken);
    }
}

/// <summary>Where <see cref="WriteLine"/> writes; replaceable in tests.</summary>
public interface IStandardOutput
{
    ValueTask WriteLineAsync(string text, CancellationToken cancellationToken);
}

/// <summary>Writes to the process's standard output.</summary>
public sealed class ConsoleOutput : IStandardOutput
{
    public static ConsoleOutput Instance { get; } = new();

    public async ValueTask WriteLineAsync(string text, CancellationToken cancellationToken) =>
        await Console.Out.WriteLineAsync(text.AsMemory(), cancellationToken);
}
