using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using DrWorkflows.Server.GitOps;
using DrWorkflows.Server.Tests.Cli;
using Microsoft.Extensions.DependencyInjection;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;

namespace DrWorkflows.Server.Tests.GitOps;

/// <summary>
/// Drift (<c>GET /api/gitops/drift</c>, <c>drw gitops drift</c>, the drift metric): definitions whose running published
/// version differs from the reviewed branch or has no file there, against a GitHub stand-in (the exact contents
/// requests) and, without GitOps, against the server's own workflows folder.
/// </summary>
public sealed class DriftTests : IDisposable
{
    private const string Token = "ghp_gitops_test_token";

    private static readonly string Redis = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "repo-workflows", "backup-redis.json"));
    private static readonly string Media = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "repo-workflows", "backup-media.json"));

    private readonly WireMockServer github = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false });

    private const string Studio = """
        { "definitionId": "studio-only", "name": "Drawn in the Studio", "description": "No file anywhere.",
          "root": { "type": "Elsa.Flowchart", "id": "fc", "version": 1,
            "activities": [ { "id": "start", "type": "Elsa.Start", "version": 1 } ], "connections": [] } }
        """;

    public void Dispose() => github.Dispose();

    [Fact]
    public async Task A_direct_edit_on_the_branch_shows_as_drift_with_the_exact_GitHub_requests_and_the_metric_counts_it()
    {
        // Production runs backup-redis and backup-media from its folder; on main, backup-redis was edited directly
        // and a new file was merged that this server has not published.
        var edited = JsonNode.Parse(Redis)!.AsObject();
        edited["description"] = "Edited on main without going through the Studio.";
        StubBranch(("backup-redis.json", edited.ToJsonString()), ("backup-media.json", Media), ("dr-new.json", Studio.Replace("studio-only", "dr-new", StringComparison.Ordinal)));
        using var server = GitOpsServer();

        var (status, body, _) = await server.Client(ServerFactory.ViewerKey).GetJsonAsync("/api/gitops/drift");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("github shop/dr-workflows@main:workflows", body!["against"]!.GetValue<string>());
        Assert.Equal(2, body["drifted"]!.GetValue<int>());
        var items = body["items"]!.AsArray().ToDictionary(i => i!["definitionId"]!.GetValue<string>(), i => i!);
        Assert.Equal("Differs", items["backup-redis"]["state"]!.GetValue<string>());
        Assert.Equal("workflows/backup-redis.json", items["backup-redis"]["file"]!.GetValue<string>());
        Assert.Equal("NotPublished", items["dr-new"]["state"]!.GetValue<string>());
        Assert.Equal("InSync", items["backup-media"]["state"]!.GetValue<string>());

        // Exactly: the folder listing on main, then each JSON file on main, with the token.
        var requests = github.LogEntries.Select(e => e.RequestMessage!).ToList();
        Assert.Equal(
            ["/api/v3/repos/shop/dr-workflows/contents/workflows", "/api/v3/repos/shop/dr-workflows/contents/workflows/backup-media.json", "/api/v3/repos/shop/dr-workflows/contents/workflows/backup-redis.json", "/api/v3/repos/shop/dr-workflows/contents/workflows/dr-new.json"],
            requests.Select(r => r.Path));
        Assert.All(requests, r =>
        {
            Assert.Equal("GET", r.Method);
            Assert.Equal("main", r.Query!["ref"].Single());
            Assert.Equal($"token {Token}", r.Headers!["Authorization"].Single(), ignoreCase: true);
        });

        Assert.Equal(2, server.Services.GetRequiredService<DriftService>().DriftedForMetric);

        var (exit, output, error) = await Drw.RunAsync(server, "gitops", "drift", "--api-key", ServerFactory.ViewerKey);
        Assert.True(exit == 1, $"exit {exit}: {error}\n{output}");
        Assert.Contains(output.Split('\n'), l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^backup-redis\s+Differs\s+1\s+workflows/backup-redis\.json\s+published version 1"));
        Assert.Contains(output.Split('\n'), l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^dr-new\s+NotPublished\s+workflows/dr-new\.json"));
        Assert.EndsWith("2 of 3 definition(s) drift from github shop/dr-workflows@main:workflows.\n", output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task When_GitHub_refuses_the_answer_is_502_with_the_cause_and_the_metric_says_unknown_not_zero()
    {
        github.Given(Request.Create().WithPath("/api/v3/repos/shop/dr-workflows/contents/workflows").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(401).WithHeader("Content-Type", "application/json").WithBody("{\"message\":\"Bad credentials\"}"));
        using var server = GitOpsServer();

        var (status, body, _) = await server.Client(ServerFactory.ViewerKey).GetJsonAsync("/api/gitops/drift");

        Assert.Equal(HttpStatusCode.BadGateway, status);
        Assert.Contains("GitHub answered 401 reading github shop/dr-workflows@main:workflows: Bad credentials", body!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(-1, server.Services.GetRequiredService<DriftService>().DriftedForMetric);

        var (exit, _, error) = await Drw.RunAsync(server, "gitops", "drift", "--api-key", ServerFactory.ViewerKey);
        Assert.Equal(2, exit);
        Assert.Contains("502", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_GitOps_a_definition_published_from_the_Studio_has_no_file_in_the_workflows_folder()
    {
        // The folder as a publish leaves it: with its SOURCE-COMMIT.json, which is neither a workflow nor a file that drifts.
        var stamp = $$"""{ "commit": "0123456789abcdef0123456789abcdef01234567", "files": { "backup-redis.json": "{{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(Redis)))}}" }, "notCommitted": {} }""";
        using var server = new ServerFactory(
            workflowFiles: new Dictionary<string, string> { ["backup-redis.json"] = Redis, [Core.Runtime.SourceCommits.StampFileName] = stamp },
            settings: new Dictionary<string, string> { ["DrWorkflows:GitOps:DriftCheckInterval"] = "00:00:00" });

        var (exit, output, error) = await Drw.RunAsync(server, "gitops", "drift", "--api-key", ServerFactory.ViewerKey);
        Assert.True(exit == 0, $"exit {exit}: {error}\n{output}");
        Assert.StartsWith("No drift: 1 definition(s) run what is on folder ", output, StringComparison.Ordinal);
        Assert.Empty(server.Services.GetRequiredService<Core.Hosting.WorkflowLoader>().Errors);

        var (status, _, _) = await server.Client().PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = JsonNode.Parse(Studio), ["publish"] = true });
        Assert.Equal(HttpStatusCode.Created, status);

        var (_, body, _) = await server.Client(ServerFactory.ViewerKey).GetJsonAsync("/api/gitops/drift");
        var item = Assert.Single(body!["items"]!.AsArray(), i => i!["state"]!.GetValue<string>() != "InSync")!;
        Assert.Equal("studio-only", item["definitionId"]!.GetValue<string>());
        Assert.Equal("NoFile", item["state"]!.GetValue<string>());
        Assert.Equal(1, server.Services.GetRequiredService<DriftService>().DriftedForMetric);
    }

    [Fact]
    public void GitOps_turned_on_without_a_repository_or_a_token_is_refused_at_start_naming_the_settings()
    {
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build();

        var result = new GitOpsOptionsValidator(configuration).Validate(null, new GitOpsOptions { Enabled = true, Repository = "no-slash" });

        Assert.True(result.Failed);
        Assert.Contains("DrWorkflows:GitOps:Repository must be owner/name (e.g. shop/dr-workflows), not 'no-slash'.", result.Failures!);
        Assert.Contains("DrWorkflows:GitOps:Enabled needs GitHub:Token (environment GitHub__Token) with read access to the repository's contents.", result.Failures!);
        Assert.True(new GitOpsOptionsValidator(configuration).Validate(null, new GitOpsOptions { Enabled = false }).Succeeded);
    }

    private ServerFactory GitOpsServer() => new(
        workflowFiles: new Dictionary<string, string> { ["backup-redis.json"] = Redis, ["backup-media.json"] = Media },
        settings: new Dictionary<string, string>
        {
            ["DrWorkflows:GitOps:Enabled"] = "true",
            ["DrWorkflows:GitOps:Repository"] = "shop/dr-workflows",
            ["DrWorkflows:GitOps:DriftCheckInterval"] = "00:00:00",
            ["DrWorkflows:GitOps:MergePollInterval"] = "00:00:00",
            ["GitHub:BaseUrl"] = github.Urls[0],
            ["GitHub:Token"] = Token,
            ["GitHub:Owner"] = "shop",
            ["GitHub:Repository"] = "incidents",
            ["GitHub:MaxAttempts"] = "1",
        });

    /// <summary>The contents API of shop/dr-workflows at main: the workflows folder and each file (base64, as GitHub sends it).</summary>
    private void StubBranch(params (string Name, string Json)[] files)
    {
        var listing = new JsonArray([.. files.Select(f => (JsonNode?)Entry(f.Name, content: null))]);
        github.Given(Request.Create().WithPath("/api/v3/repos/shop/dr-workflows/contents/workflows").WithParam("ref", "main").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(listing.ToJsonString()));
        foreach (var (name, json) in files)
        {
            github.Given(Request.Create().WithPath($"/api/v3/repos/shop/dr-workflows/contents/workflows/{name}").WithParam("ref", "main").UsingGet())
                .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(Entry(name, json).ToJsonString()));
        }
    }

    private static JsonObject Entry(string name, string? content)
    {
        var entry = new JsonObject
        {
            ["type"] = "file",
            ["name"] = name,
            ["path"] = $"workflows/{name}",
            ["sha"] = "0123456789abcdef0123456789abcdef01234567",
            ["size"] = content?.Length ?? 0,
        };
        if (content is not null)
        {
            entry["encoding"] = "base64";
            entry["content"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(content));
        }

        return entry;
    }
}
