namespace DrWorkflows.Core.Execution;

/// <summary>
/// The activity attempt that the current asynchronous flow executes for. The executor sets it around every attempt
/// of an activity (and every resumption of its bookmarks), so that a service deep in the call stack knows which run
/// and step own what it creates: the throwaway-resource ledger records it with each resource. Null outside an
/// attempt (start-up, API requests, tests that call services directly).
/// </summary>
/// <param name="InstanceId">The run.</param>
/// <param name="DefinitionId">The run's workflow definition.</param>
/// <param name="ExecutionId">The step (activity execution id), stable across attempts.</param>
/// <param name="ActivityId">The activity's id in the workflow.</param>
/// <param name="ActivityType">The activity's type name, e.g. <c>DrWorkflows.VerifyLatestBackup</c>.</param>
/// <param name="ActivityName">The activity's display name in the designer, if any.</param>
/// <param name="Attempt">The attempt number, from 1.</param>
/// <param name="Services">The run's services (for helpers that cannot take constructor dependencies).</param>
public sealed record ActivityAttempt(
    string InstanceId,
    string DefinitionId,
    string ExecutionId,
    string ActivityId,
    string ActivityType,
    string? ActivityName,
    int Attempt,
    IServiceProvider Services)
{
    private static readonly AsyncLocal<ActivityAttempt?> Ambient = new();

    /// <summary>The attempt this flow runs for, or null outside an activity.</summary>
    public static ActivityAttempt? Current => Ambient.Value;

    /// <summary>Makes <paramref name="attempt"/> current until the returned scope is disposed (then the previous one is).</summary>
    public static IDisposable Enter(ActivityAttempt attempt)
    {
        var previous = Ambient.Value;
        Ambient.Value = attempt;
        return new Scope(previous);
    }

    internal static ActivityAttempt Of(ActivityExecutionContext context) => new(
        context.WorkflowInstanceId,
        context.Workflow.State.DefinitionId,
        context.ExecutionId,
        context.Activity.Id,
        context.Activity.Type,
        context.Activity.Name,
        context.Attempt,
        context.Services);

    public override string ToString() => $"attempt {Attempt} of '{ActivityName ?? ActivityId}' ({ActivityType}) in run {InstanceId}";

    private sealed class Scope(ActivityAttempt? previous) : IDisposable
    {
        public void Dispose() => Ambient.Value = previous;
    }
}
