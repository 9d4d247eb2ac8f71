using DrWorkflows.Core.Model;

namespace DrWorkflows.Core.Tests.Model;

public sealed class WorkflowDefinitionDocumentTests
{
    [Fact]
    public void A_key_given_twice_is_refused_when_parsed_naming_the_file_not_later_on_first_use()
    {
        const string json = """{ "definitionId": "a", "definitionId": "b", "root": { "type": "Elsa.Flowchart", "id": "flow" } }""";

        var error = Assert.Throws<WorkflowDefinitionException>(() => WorkflowDefinitionDocument.Parse(json, "upload.json"));

        Assert.StartsWith("upload.json: not valid JSON: ", error.Message, StringComparison.Ordinal);
        Assert.Contains("definitionId", error.Message, StringComparison.Ordinal);
        Assert.Equal("upload.json", error.FilePath);
    }

    [Fact]
    public void Comments_and_trailing_commas_of_hand_written_files_still_parse()
    {
        var document = WorkflowDefinitionDocument.Parse("{ \"definitionId\": \"a\", // a comment\n \"root\": { \"type\": \"Elsa.Flowchart\", \"id\": \"flow\", }, }").Normalize();

        Assert.Equal("a", document.Json["definitionId"]!.GetValue<string>());
        Assert.NotNull(document.Json["variables"]);
    }
}
