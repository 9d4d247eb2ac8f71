using System.Net;
using System.Text.Json.Nodes;
using DrWorkflows.Server.GitOps;

namespace DrWorkflows.Server.Tests.GitOps;

/// <summary>
/// The Studio round trip on the committed files: every file of <c>workflows/</c> carries what the Studio's Import needs
/// (<c>$schema</c> and <c>id</c>), imports through the route the Studio's Import calls, and its export is the file,
/// byte for byte (the committed format).
/// </summary>
public sealed class StudioRoundTripTests
{
    private static readonly string[] Files = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "repo-workflows"), "*.json").Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public async Task Every_committed_file_imports_as_the_Studio_imports_it_and_exports_back_to_the_same_text()
    {
        Assert.True(Files.Length >= 7, $"expected the committed workflows, found {Files.Length}");
        using var server = new ServerFactory();
        var designer = server.Client(ServerFactory.DesignerKey);
        foreach (var path in Files)
        {
            var text = (await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken)).ReplaceLineEndings("\n");
            var file = JsonNode.Parse(text)!.AsObject();
            var definitionId = file["definitionId"]!.GetValue<string>();
            Assert.Equal(PullRequestOpener.ElsaSchema, file["$schema"]?.GetValue<string>());
            Assert.Equal(definitionId, file["id"]?.GetValue<string>());

            var (status, imported, _) = await designer.PostJsonAsync("/elsa/api/workflow-definitions/import", file);
            Assert.True(status == HttpStatusCode.OK, $"{Path.GetFileName(path)}: {status} {imported}");
            Assert.Equal(definitionId, imported!["definitionId"]!.GetValue<string>());

            using var export = await designer.GetAsync($"/elsa/api/workflow-definitions/{definitionId}/export", TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, export.StatusCode);
            var exported = (await export.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).ReplaceLineEndings("\n");
            Assert.True(text == exported, $"{Path.GetFileName(path)} does not export back to itself:\n{exported}");
        }
    }
}
