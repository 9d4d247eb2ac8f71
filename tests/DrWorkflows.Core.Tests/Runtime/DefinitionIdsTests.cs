using DrWorkflows.Core.Runtime;

namespace DrWorkflows.Core.Tests.Runtime;

public class DefinitionIdsTests
{
    [Theory]
    [InlineData("Workflow 1", "workflow-1")]
    [InlineData("  Restore Shop DB (v2)!", "restore-shop-db-v2")]
    [InlineData("Bascule réseau — Zürich", "bascule-reseau-zurich")]
    [InlineData("dr_ransomware__recovery", "dr-ransomware-recovery")]
    [InlineData("???", "workflow")]
    [InlineData("", "workflow")]
    [InlineData(null, "workflow")]
    public void Ids_from_names_are_lower_case_words_joined_by_single_dashes(string? name, string expected)
    {
        var id = DefinitionIds.FromName(name);
        Assert.Equal(expected, id);
        Assert.True(DefinitionIds.IsReadable(id));
    }

    [Fact]
    public void Long_names_are_cut_without_a_trailing_dash()
    {
        var id = DefinitionIds.FromName(string.Join(' ', Enumerable.Repeat("restore", 20)));
        Assert.True(id.Length <= DefinitionIds.MaxLength);
        Assert.False(id.EndsWith('-'));
        Assert.True(DefinitionIds.IsReadable(id));
    }

    [Theory]
    [InlineData("restore-shop", true)]
    [InlineData("a1", true)]
    [InlineData("Restore", false)]
    [InlineData("-restore", false)]
    [InlineData("restore-", false)]
    [InlineData("re--store", false)]
    [InlineData("re store", false)]
    [InlineData("", false)]
    public void Readable_ids_are_checked(string id, bool readable) => Assert.Equal(readable, DefinitionIds.IsReadable(id));

    [Fact]
    public async Task Taken_ids_get_the_next_free_number()
    {
        var taken = new HashSet<string> { "failover", "failover-2" };
        Assert.Equal("failover-3", await DefinitionIds.UniqueFromNameAsync("Failover", id => Task.FromResult(taken.Contains(id))));
        Assert.Equal("other", await DefinitionIds.UniqueFromNameAsync("Other", id => Task.FromResult(taken.Contains(id))));
    }
}
