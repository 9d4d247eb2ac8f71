namespace DrWorkflows.Core.Execution;

/// <summary>What happens to a run when one of its activities fails (Elsa's incident strategy).</summary>
public enum IncidentStrategy
{
    /// <summary>The DR default: the run stops at the incident (<c>Running</c>/<c>Faulted</c>) until an operator retries, skips or fails it.</summary>
    OperatorHold,

    /// <summary>Elsa's <c>FaultStrategy</c>: the run ends <c>Finished</c>/<c>Faulted</c> with the incident recorded.</summary>
    Fault,

    /// <summary>Elsa's <c>ContinueWithIncidentsStrategy</c>: the activity is faulted, the incident recorded, and the rest of the run carries on.</summary>
    ContinueWithIncidents,
}

/// <summary>
/// The type names of the incident strategies, as a definition's <c>options.incidentStrategyType</c> and the Studio's
/// descriptor list name them. Elsa writes the full type name, with or without its assembly after a comma.
/// </summary>
public static class IncidentStrategies
{
    public const string OperatorHoldType = "DrWorkflows.IncidentStrategies.OperatorHold";
    public const string FaultType = "Elsa.Workflows.IncidentStrategies.FaultStrategy";
    public const string ContinueWithIncidentsType = "Elsa.Workflows.IncidentStrategies.ContinueWithIncidentsStrategy";

    /// <summary>
    /// Key in a run's <see cref="WorkflowState.Properties"/> of the strategy it inherited from its parent (a workflow used
    /// as an activity runs under its parent's strategy, as Elsa runs it inside the parent); it wins over the
    /// definition's own.
    /// </summary>
    public const string InheritedProperty = "incidentStrategy";

    /// <summary>The strategy a type name names: empty is the DR default (hold); false for a name that is none of the three.</summary>
    public static bool TryParse(string? typeName, out IncidentStrategy strategy)
    {
        strategy = IncidentStrategy.OperatorHold;
        if (string.IsNullOrWhiteSpace(typeName))
            return true;
        switch (typeName.Split(',')[0].Trim())
        {
            case OperatorHoldType:
                return true;
            case FaultType:
                strategy = IncidentStrategy.Fault;
                return true;
            case ContinueWithIncidentsType:
                strategy = IncidentStrategy.ContinueWithIncidents;
                return true;
            default:
                return false;
        }
    }

    /// <summary>The type name of a strategy (the one the descriptors list).</summary>
    public static string TypeName(IncidentStrategy strategy) => strategy switch
    {
        IncidentStrategy.Fault => FaultType,
        IncidentStrategy.ContinueWithIncidents => ContinueWithIncidentsType,
        _ => OperatorHoldType,
    };
}
