using System.Text.Json.Nodes;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Core.Abstractions;

/// <summary>
/// Base of every activity (one step type). An activity instance is part of a materialized workflow and is
/// shared by all runs of it: it holds no run state. Run state lives in the <see cref="ActivityExecutionContext"/>,
/// which the runtime persists after every step.
/// </summary>
public abstract class Activity
{
    /// <summary>Id unique within the workflow (Elsa's <c>id</c>).</summary>
    public string Id { get; set; } = string.Empty;

    /// <summary>Hierarchical id, e.g. <c>Workflow1:flowchart1:writeLine1</c> (Elsa's <c>nodeId</c>).</summary>
    public string NodeId { get; set; } = string.Empty;

    /// <summary>Elsa type name, e.g. <c>Elsa.WriteLine</c>.</summary>
    public string Type { get; set; } = string.Empty;

    public int Version { get; set; } = 1;

    /// <summary>Instance name given in the designer, e.g. <c>WriteLine1</c>.</summary>
    public string? Name { get; set; }

    /// <summary>Elsa's <c>customProperties</c> (merge mode, flags); kept verbatim.</summary>
    public JsonObject CustomProperties { get; set; } = [];

    /// <summary>Elsa's <c>metadata</c> (designer position, display text); kept verbatim.</summary>
    public JsonObject Metadata { get; set; } = [];

    /// <summary>Run the activity. Complete it, schedule children, or create a bookmark and return.</summary>
    public abstract ValueTask ExecuteAsync(ActivityExecutionContext context);

    /// <summary>A child scheduled by this activity completed.</summary>
    public virtual ValueTask OnChildCompletedAsync(ActivityExecutionContext context, ChildCompletion child) =>
        throw new InvalidOperationException($"Activity '{Id}' ({Type}) scheduled a child but does not handle its completion.");

    /// <summary>A bookmark created by this activity was resumed.</summary>
    public virtual ValueTask ResumeAsync(ActivityExecutionContext context, BookmarkResumption resumption) =>
        throw new InvalidOperationException($"Activity '{Id}' ({Type}) created a bookmark but does not handle its resumption.");

    /// <summary>A <c>Break</c> inside this activity asks the nearest loop to stop. Loops return <c>true</c>.</summary>
    public virtual ValueTask<bool> OnBreakAsync(ActivityExecutionContext context) => ValueTask.FromResult(false);

    /// <summary>Child activities (embedded ports and custom children), for graph walks.</summary>
    public virtual IEnumerable<Activity> GetChildren() => Model.ActivityChildren.Of(this);

    public override string ToString() => $"{Type} '{Id}'";
}

/// <summary>
/// An activity that completes as soon as <see cref="RunAsync"/> returns, with outcome <c>Done</c> unless it
/// called <see cref="ActivityExecutionContext.CompleteAsync(string[])"/> or created a bookmark itself.
/// </summary>
public abstract class CodeActivity : Activity
{
    public sealed override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        await RunAsync(context);
        if (context.IsPending)
            await context.CompleteAsync();
    }

    protected abstract ValueTask RunAsync(ActivityExecutionContext context);
}

/// <summary>A <see cref="CodeActivity"/> with a typed <c>Result</c> output.</summary>
public abstract class CodeActivity<TResult> : Activity
{
    [Output(Description = "The result of the activity.")]
    public Output<TResult> Result { get; set; } = new();

    public sealed override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var result = await RunAsync(context);
        context.Set(Result, result);
        if (context.IsPending)
            await context.CompleteAsync();
    }

    protected abstract ValueTask<TResult> RunAsync(ActivityExecutionContext context);
}
