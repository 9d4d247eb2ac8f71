using System.Globalization;
using System.Text.RegularExpressions;

namespace DrWorkflows.Core.Model;

/// <summary>
/// Names Elsa 3 derives from what a designer typed: activity type names of workflows used as activities, the
/// generated JavaScript accessors (<c>getMessage()</c>), and the synthetic input and output names of a workflow
/// used as an activity. Elsa derives them with Humanizer's <c>Pascalize</c> (Humanizer.Core 3.0.10 in Elsa 3.8):
/// an ASCII letter at the start or after spaces, underscores or dashes is upper-cased and those separators go, so
/// "Subworkflow test" becomes <c>SubworkflowTest</c> and "my-flow" <c>MyFlow</c>. That one rule is written here
/// rather than taking Humanizer itself: the test projects get Humanizer 2.x through WireMock's template helpers,
/// and 2.x pascalizes differently (it keeps dashes).
/// </summary>
public static partial class ElsaNaming
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
    public static string Pascalize(string name) =>
        PascalizePattern().Replace(name, match => match.Groups[1].Value.ToUpper(CultureInfo.InvariantCulture));

    [GeneratedRegex("(?:[ _-]+|^)([a-zA-Z])")]
    private static partial Regex PascalizePattern();

    /// <summary>The synthetic property name of a declared input or output of a workflow used as an activity.</summary>
    public static string SafePropertyName(string name) => ReservedWorkflowActivityProperties.Contains(name) ? "_" + name : name;

    /// <summary>The declared name behind a synthetic property name (the reverse of <see cref="SafePropertyName"/>).</summary>
    public static string UnsafePropertyName(string name)
    {
        var trimmed = name.TrimStart('_');
        return ReservedWorkflowActivityProperties.Contains(trimmed) ? trimmed : name;
    }
}
