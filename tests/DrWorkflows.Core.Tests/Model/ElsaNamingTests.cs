using DrWorkflows.Core.Model;

namespace DrWorkflows.Core.Tests.Model;

/// <summary>
/// The names Elsa 3.8 derives with Humanizer 3's Pascalize (activity type names of workflows used as activities and
/// the generated JavaScript accessors). The expected values are what Humanizer.Core 3.0.10, the version Elsa 3.8
/// references, returned for these inputs when run.
/// </summary>
public sealed class ElsaNamingTests
{
    [Theory]
    [InlineData("Subworkflow test", "SubworkflowTest")]
    [InlineData("Check Replica", "CheckReplica")]
    [InlineData("message", "Message")]
    [InlineData("my-flow", "MyFlow")]
    [InlineData("input_1", "Input_1")]
    [InlineData("Output 1", "Output 1")]
    [InlineData("a  b", "AB")]
    [InlineData("Étape un", "ÉtapeUn")]
    [InlineData("x.y", "X.y")]
    public void Pascalize_NamesAsElsaDoes(string name, string expected) => Assert.Equal(expected, ElsaNaming.Pascalize(name));

    [Theory]
    [InlineData("Name", "_Name")]
    [InlineData("Root", "_Root")]
    [InlineData("WorkflowDefinitionId", "_WorkflowDefinitionId")]
    [InlineData("Output1", "Output1")]
    [InlineData("name", "name")]
    public void SafePropertyName_PrefixesElsasReservedNames(string name, string expected)
    {
        Assert.Equal(expected, ElsaNaming.SafePropertyName(name));
        Assert.Equal(name, ElsaNaming.UnsafePropertyName(expected));
    }
}
