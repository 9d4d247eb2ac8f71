using System.Net.Http.Json;
using System.Text.Json.Nodes;
using DrWorkflows.Testing;

namespace DrWorkflows.Durability.Tests;

/// <summary>The server loads activity assemblies named in DRW_ACTIVITY_ASSEMBLIES, and refuses to start, naming the path, when one cannot be used.</summary>
public sealed class ActivityPluginTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Server_lists_the_activities_of_a_plugin_assembly()
    {
        using var dir = new TempDirectory("plugin-ok");
        using var node = new ServerNode("plugin", Environment(dir, ServerNode.TestActivitiesDll), dir.Combine("logs"));
        await node.StartAsync("plugin-node", Ct);

        var descriptors = await node.Client!.GetFromJsonAsync<JsonObject>("/elsa/api/descriptors/activities", Ct);
        var types = descriptors!["items"]!.AsArray().Select(d => d!["typeName"]!.GetValue<string>()).ToList();
        Assert.Contains(DurabilityWorkflows.ProbeType, types);
        Assert.Contains(DurabilityWorkflows.UnsafeType, types);
    }

    [Theory]
    [InlineData("missing", "the file does not exist")]
    [InlineData("not-dotnet", "it is not a .NET assembly")]
    [InlineData("no-activities", "it does not reference DrWorkflows.Core")]
    public async Task Server_refuses_to_start_naming_a_plugin_it_cannot_use(string kind, string reason)
    {
        using var dir = new TempDirectory("plugin-bad");
        var path = kind switch
        {
            "missing" => dir.Combine("nowhere", "Missing.Activities.dll"),
            "not-dotnet" => dir.Combine("NotAnAssembly.dll"),
            // A real .NET assembly without activities: the test runner's own xunit assertion library.
            _ => typeof(Assert).Assembly.Location,
        };
        if (kind == "not-dotnet")
            await File.WriteAllTextAsync(path, "this is not a PE file", Ct);

        using var node = new ServerNode("plugin", Environment(dir, path), dir.Combine("logs"));
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => node.StartAsync("plugin-node", Ct));

        Assert.Contains("DrWorkflows cannot start: Activity assembly", error.Message, StringComparison.Ordinal);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.Contains("DRW_ACTIVITY_ASSEMBLIES", error.Message, StringComparison.Ordinal);
    }

    private static Dictionary<string, string> Environment(TempDirectory dir, string plugin) => new(StringComparer.Ordinal)
    {
        ["DRW_DATA_DIR"] = dir.Combine("data"),
        ["DRW_API_KEY"] = "plugin-test-key",
        ["DRW_WORKFLOWS_DIR"] = dir.Combine("workflows"),
        [ServerNode.TestActivitiesVariable] = plugin,
    };
}
