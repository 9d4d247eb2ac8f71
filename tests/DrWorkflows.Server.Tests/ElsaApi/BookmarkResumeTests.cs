using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace DrWorkflows.Server.Tests.ElsaApi;

/// <summary>POST /elsa/api/bookmarks/{id}/resume: generic bookmarks resume; approval gates are refused.</summary>
public sealed class BookmarkResumeTests : IDisposable
{
    private const string Gate = """
    { "definitionId": "bm-gate", "name": "Bookmark gate",
      "root": { "type": "Elsa.Sequence", "version": 1, "id": "seq", "activities": [
        { "type": "DrWorkflows.ApprovalGate", "version": 1, "id": "gate",
          "title": { "typeName": "String", "expression": { "type": "Literal", "value": "Restore?" } },
          "question": { "typeName": "String", "expression": { "type": "Literal", "value": "Restore the database?" } },
          "approvers": { "typeName": "Object", "expression": { "type": "Object", "value": "[\"user:alice\"]" } } } ] } }
    """;

    private const string Delay = """
    { "definitionId": "bm-delay", "name": "Bookmark delay",
      "root": { "type": "Elsa.Sequence", "version": 1, "id": "seq", "activities": [
        { "type": "Elsa.Delay", "version": 1, "id": "wait", "timeSpan": { "typeName": "TimeSpan", "expression": { "type": "Literal", "value": "01:00:00" } } } ] } }
    """;

    private readonly ServerFactory server = new(workflowFiles: new Dictionary<string, string> { ["gate.json"] = Gate, ["delay.json"] = Delay });

    private async Task<(string Instance, string Bookmark, string Name)> StartAndFindBookmarkAsync(HttpClient client, string definitionId)
    {
        var ct = TestContext.Current.CancellationToken;
        var response = await client.PostAsJsonAsync($"/elsa/api/workflow-definitions/{definitionId}/execute", new { }, ct);
        response.EnsureSuccessStatusCode();
        var instance = response.Headers.GetValues("x-elsa-workflow-instance-id").Single();
        // A gate first posts its request on a timer of its own (the ".Publish" bookmark); the runtime's sweep then
        // resumes it, and it waits again under a new bookmark. Read the bookmark once that has happened: an id read
        // before is gone by the time the test resumes it (a 404, rightly) whenever the sweep comes in between.
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            var body = (await client.GetFromJsonAsync<JsonObject>($"/elsa/api/workflow-instances/{instance}", ct))!;
            var bookmarks = body["workflowState"]!["bookmarks"]!.AsArray().Select(b => b!).ToList();
            if (bookmarks.Count > 0 && bookmarks.All(b => !b["name"]!.GetValue<string>().EndsWith(".Publish", StringComparison.Ordinal)))
            {
                var bookmark = Assert.Single(bookmarks);
                return (instance, bookmark["id"]!.GetValue<string>(), bookmark["name"]!.GetValue<string>());
            }

            if (DateTime.UtcNow > deadline)
                Assert.Fail($"Run {instance} still has no settled bookmark after 90 s: {string.Join(", ", bookmarks.Select(b => b["name"]))}");
            await Task.Delay(100, ct);
        }
    }

    [Fact]
    public async Task ResumingATimerBookmark_ContinuesTheRun_AndASecondResumeIsNotFound()
    {
        using var client = server.Client();
        var ct = TestContext.Current.CancellationToken;
        var (instance, bookmark, _) = await StartAndFindBookmarkAsync(client, "bm-delay");

        var resumed = await client.PostAsJsonAsync($"/elsa/api/bookmarks/{bookmark}/resume", new { payload = new { reason = "skip the wait" } }, ct);
        Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
        var state = (await resumed.Content.ReadFromJsonAsync<JsonObject>(ct))!;
        Assert.Equal(instance, state["workflowInstanceId"]!.GetValue<string>());
        Assert.Equal("Finished", state["subStatus"]!.GetValue<string>());

        var again = await client.PostAsJsonAsync($"/elsa/api/bookmarks/{bookmark}/resume", new { }, ct);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    [Fact]
    public async Task ResumingAnApprovalGate_IsRefused_WithThePlaceToDecideIt()
    {
        using var client = server.Client();
        var ct = TestContext.Current.CancellationToken;
        var (instance, bookmark, name) = await StartAndFindBookmarkAsync(client, "bm-gate");
        Assert.Equal("DrWorkflows.ApprovalGate", name);

        var response = await client.PostAsJsonAsync($"/elsa/api/bookmarks/{bookmark}/resume", new { payload = new { decision = "approve" } }, ct);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("/api/approvals", await response.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        var body = (await client.GetFromJsonAsync<JsonObject>($"/elsa/api/workflow-instances/{instance}", ct))!;
        Assert.Equal("Suspended", body["subStatus"]!.GetValue<string>());
    }

    public void Dispose() => server.Dispose();
}
