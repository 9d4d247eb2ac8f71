namespace DrWorkflows.Server.Tests.Cli;

/// <summary>The <c>drw</c> command line against the real server (in memory).</summary>
public sealed class CliTests : IDisposable
{
    private const string Hello = """
    { "definitionId": "cli-hello", "name": "CLI hello",
      "root": { "type": "Elsa.Sequence", "version": 1, "id": "seq", "activities": [
        { "type": "Elsa.SetOutput", "version": 1, "id": "out",
          "outputName": { "typeName": "String", "expression": { "type": "Literal", "value": "Greeting" } },
          "outputValue": { "typeName": "Object", "expression": { "type": "JavaScript", "value": "'hello ' + getInput('Who')" } } } ] } }
    """;

    private const string Broken = """
    { "definitionId": "cli-fault", "name": "CLI fault",
      "root": { "type": "Elsa.Sequence", "version": 1, "id": "seq", "activities": [
        { "type": "Elsa.Fault", "version": 1, "id": "boom", "message": { "typeName": "String", "expression": { "type": "Literal", "value": "disk full" } } },
        { "type": "Elsa.WriteLine", "version": 1, "id": "after", "text": { "typeName": "String", "expression": { "type": "Literal", "value": "after" } } } ] } }
    """;

    private readonly ServerFactory server = new(workflowFiles: new Dictionary<string, string> { ["hello.json"] = Hello, ["fault.json"] = Broken });

    private Task<(int Exit, string Out, string Err)> DrwAsync(params string[] args) => Drw.RunAsync(server, args);

    [Fact]
    public async Task Run_StartsTheWorkflow_AndRunsAndJournalShowIt()
    {
        var (exit, output, error) = await DrwAsync("run", "cli-hello", "--input", """{"Who":"on-call"}""", "--api-key", ServerFactory.AdminKey);
        Assert.True(exit == 0, error);
        Assert.Matches(@"^run [0-9a-f]{32}: Finished/Finished", output);
        var id = output.Split(' ')[1].TrimEnd(':');

        (exit, output, _) = await DrwAsync("runs", "--definition", "cli-hello", "--api-key", ServerFactory.AdminKey);
        Assert.Equal(0, exit);
        Assert.Contains(id, output, StringComparison.Ordinal);
        Assert.StartsWith("ID", output, StringComparison.Ordinal);

        (exit, output, _) = await DrwAsync("journal", id, "--json", "--api-key", ServerFactory.AdminKey);
        Assert.Equal(0, exit);
        Assert.Contains("\"WorkflowFinished\"", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Incidents_CanBeListedAndSkipped()
    {
        var (exit, output, _) = await DrwAsync("run", "cli-fault", "--api-key", ServerFactory.AdminKey);
        Assert.Equal(5, exit);
        Assert.Contains("Running/Faulted; stopped at 1 open incident(s)", output, StringComparison.Ordinal);
        var run = output.Split(' ')[1].TrimEnd(':');

        (exit, output, _) = await DrwAsync("incidents", "list", "--json", "--api-key", ServerFactory.AdminKey);
        Assert.Equal(0, exit);
        var incident = System.Text.Json.Nodes.JsonNode.Parse(output)!["items"]!.AsArray().Single(i => i!["workflowInstanceId"]!.GetValue<string>() == run)!;
        Assert.Equal("disk full", incident["message"]!.GetValue<string>());

        (exit, output, _) = await DrwAsync("incidents", "skip", run, incident["id"]!.GetValue<string>(), "--api-key", ServerFactory.AdminKey);
        Assert.Equal(0, exit);
        Assert.Contains("Finished/Finished", output, StringComparison.Ordinal);

        (exit, _, var error) = await DrwAsync("incidents", "skip", run, incident["id"]!.GetValue<string>(), "--api-key", ServerFactory.AdminKey);
        Assert.Equal(2, exit);
        Assert.Contains("is not open", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadInput_WrongKey_AndUnknownRun_GiveOneClearLine()
    {
        var (exit, _, error) = await DrwAsync("run", "cli-hello", "--input", "{not json", "--api-key", ServerFactory.AdminKey);
        Assert.Equal(2, exit);
        Assert.StartsWith("drw: --input is not valid JSON", error, StringComparison.Ordinal);

        (exit, _, error) = await DrwAsync("runs", "--api-key", "wrong-key");
        Assert.Equal(4, exit);
        Assert.StartsWith("drw: 401", error, StringComparison.Ordinal);

        (exit, _, error) = await DrwAsync("journal", "no-such-run", "--api-key", ServerFactory.AdminKey);
        Assert.Equal(2, exit);
        Assert.Contains("does not exist", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    public void Dispose() => server.Dispose();
}

/// <summary>Runs <c>drw</c> in process against a test server (the key of <c>--api-key</c> as the client's header).</summary>
internal static class Drw
{
    public static Task<(int Exit, string Out, string Err)> RunAsync(ServerFactory server, params string[] args) => RunAsync(server, null, args);

    /// <summary>Runs drw with <c>environment</c> as the environment it sees (null: the process's).</summary>
    public static async Task<(int Exit, string Out, string Err)> RunAsync(ServerFactory server, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await DrWorkflows.Cli.CliApp.RunAsync(args, output, error, (_, key) =>
        {
            var client = server.CreateClient();
            if (key is not null)
                client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("ApiKey", key);
            return client;
        }, environment is null ? null : name => environment.GetValueOrDefault(name), TestContext.Current.CancellationToken);
        return (exit, output.ToString(), error.ToString());
    }
}
