using DrWorkflows.Activities.Postgres;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Activities.Flowchart;
using DrWorkflows.Core.Activities.Primitives;
using DrWorkflows.Core.Building;

namespace DrWorkflows.Workflows.Shared;

/// <summary>
/// The restore of a whole PostgreSQL server, the same in every incident workflow that replaces a server's data: the
/// roles and every database of the plan in the variable <c>RestorePlan</c> (<see cref="PlanServerRestore"/>), the
/// server listed again and compared with the plan, <c>RecoveryReport</c> and <c>LastGoodDataAt</c> recorded; and the
/// end that says <c>Recovered</c> only when everything that lived on the server came back (<c>Partial</c> otherwise).
/// Scenario 5 (JSON) has the same steps.
/// </summary>
public static class WholeServerRestore
{
    /// <summary>The workflow variable that holds <see cref="PlanServerRestore"/>'s plan.</summary>
    public const string PlanVariable = "RestorePlan";

    /// <summary>
    /// <paramref name="id"/> (<see cref="RestorePostgresServer"/> into <paramref name="server"/>), then
    /// <c>inventoryAfter</c>, <c>recordReport</c> and <c>recordOldestRestorePoint</c>; connect the step before to the first
    /// returned and go on from the last.
    /// </summary>
    public static (Activity Restore, Activity Recorded) Add(FlowchartBuilder flow, IncidentComms comms, string id, string server, string abandonReason)
    {
        var restore = flow.Add(new RestorePostgresServer
        {
            Id = id,
            Server = Input<string>.FromJavaScript(server),
            Plan = Input<ServerRestorePlan>.FromJavaScript(PlanVariable),
            Mode = new("Recreate"),
            CheckIntegrity = new(true),
        });
        comms.AbandonWith(restore, abandonReason);
        var after = flow.Add(new InspectPostgresServer { Id = "inventoryAfter", Server = Input<string>.FromJavaScript(server), TimeoutSeconds = new(30), Expected = Input<ServerInventory?>.FromJavaScript(PlanVariable + ".expected") });
        flow.Connect(restore, after, RestorePostgresServer.Restored);
        flow.Connect(restore, after, RestorePostgresServer.Partial);
        var report = flow.Add(new SetVariable
        {
            Id = "recordReport",
            Variable = IncidentComms.Variable("RecoveryReport"),
            Value = Input<object>.FromJavaScript($"(getOutputFrom('{id}', 'Report') || {{}}).summary + ' Before/after: ' + (getOutputFrom('inventoryAfter', 'Comparison') ? getOutputFrom('inventoryAfter', 'Comparison').summary : 'the server did not answer after the restore: ' + (getOutputFrom('inventoryAfter', 'Reason') || 'not checked'))"),
        });
        foreach (var port in new[] { InspectPostgresServer.Answered, InspectPostgresServer.Missing, InspectPostgresServer.Unreachable, IncidentComms.FailedPort })
            flow.Connect(after, report, port);
        // The newest data every restored database is sure to have.
        var lastGood = flow.Add(new SetVariable { Id = "recordOldestRestorePoint", Variable = IncidentComms.Variable("LastGoodDataAt"), Value = Input<object>.FromJavaScript(PlanVariable + ".oldestStartedAt") });
        flow.Connect(report, lastGood);
        return (restore, lastGood);
    }

    /// <summary>
    /// The end after <paramref name="source"/>'s <paramref name="port"/>: <c>Recovered</c> when the restore
    /// <paramref name="restoreId"/> was complete and nothing is missing on the server afterwards, else <c>Partial</c>.
    /// </summary>
    public static void End(FlowchartBuilder flow, IncidentComms comms, string restoreId, Activity source, string port)
    {
        var back = flow.Add(new FlowDecision
        {
            Id = "wholeServerBack",
            Condition = Input<bool>.FromJavaScript($"(getOutputFrom('{restoreId}', 'Report') || {{}}).complete === true && !!getOutputFrom('inventoryAfter', 'Comparison') && getOutputFrom('inventoryAfter', 'Comparison').matches === true"),
        });
        flow.Connect(source, back, port);
        comms.Succeed(back, "True");
        comms.PartialWith(back, "False", "'Not recovered: not everything that lived on the server is back. ' + RecoveryReport");
    }
}
