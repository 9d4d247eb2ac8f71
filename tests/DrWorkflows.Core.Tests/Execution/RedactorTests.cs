using System.Text.Json.Nodes;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Core.Tests.Execution;

public class RedactorTests
{
    [Fact]
    public void Redact_NestedObjectsAndArrays_MasksSecretsAndKeepsEverythingElse()
    {
        var redactor = new Redactor();
        redactor.Add("s3cr3t-password");
        var node = JsonNode.Parse("""
            { "server": { "name": "main", "conn": "Host=db;Password=s3cr3t-password" },
              "tables": [ { "name": "orders", "rows": 12 }, [ "s3cr3t-password", "other" ] ],
              "count": 3 }
            """);

        var redacted = redactor.Redact(node)!;

        Assert.Equal("Host=db;Password=***", redacted["server"]!["conn"]!.GetValue<string>());
        Assert.Equal("main", redacted["server"]!["name"]!.GetValue<string>());
        Assert.Equal(12, redacted["tables"]![0]!["rows"]!.GetValue<int>());
        Assert.Equal("***", redacted["tables"]![1]![0]!.GetValue<string>());
        Assert.Equal("other", redacted["tables"]![1]![1]!.GetValue<string>());
        Assert.Equal(3, redacted["count"]!.GetValue<int>());
    }

    [Fact]
    public void Redact_WithoutSecrets_ReturnsTheSameNode()
    {
        var node = JsonNode.Parse("""{ "a": { "b": [1, 2] } }""");

        Assert.Same(node, new Redactor().Redact(node));
    }
}
