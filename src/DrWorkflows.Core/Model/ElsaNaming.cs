using Humanizer;

namespace DrWorkflows.Core.Model;

/// <summary>
/// Names Elsa 3 derives from what a designer typed: activity type names of workflows used as activities, the
/// generated JavaScript accessors (<c>getMessage()</c>), and the synthetic input and output names of a workflow
/// used as an activity. Elsa derives them with Humanizer's <c>Pascalize</c>; the same library (the version Elsa
/// 3.8 ships) is used here, so that "Subworkflow test" becomes <c>SubworkflowTest</c> exactly as in Elsa.
/// </summary>
public static class ElsaNaming
{
    /// <summary>
    /// Properties of Elsa's <c>WorkflowDefinitionActivity</c> (and its bases <c>Composite</c>, <c>Activity</c>): a
    /// declared input or output with one of these names is exposed as <c>_Name</c>, as Elsa does.
    /// </summary>
    private static readonly HashSet<string> ReservedWorkflowActivityProperties = new(StringComparer.Ordinal)
    {
        "Id", "NodeId", "Name", "Type", "Version", "CanStartWorkflow", "RunAsynchronously", "CommitStrategy",
        "CustomProperties", "SyntheticProperties", "Metadata", "Behaviors",
        "Variables", "ResultVariable", "Root",
        "WorkflowDefinitionId", "WorkflowDefinitionVersionId", "LatestAvailablePublishedVersion", "LatestAvailablePublishedVersionId",
    };

    /// <summary>Elsa's (Humanizer's) PascalCase of a name: "Subworkflow test" → <c>SubworkflowTest</c>, "message" → <c>Message</c>.</summary>
    public static string Pascalize(string name) => name.Pascalize();

    /// <summary>The synthetic property name of a declared input or output of a workflow used as an activity.</summary>
    public static string SafePropertyName(string name) => ReservedWorkflowActivityProperties.Contains(name) ? "_" + name : name;

    /// <summary>The declared name behind a synthetic property name (the reverse of <see cref="SafePropertyName"/>).</summary>
    public static string UnsafePropertyName(string name)
    {
        var trimmed = name.TrimStart('_');
        return ReservedWorkflowActivityProperties.Contains(trimmed) ? trimmed : name;
    }
}
