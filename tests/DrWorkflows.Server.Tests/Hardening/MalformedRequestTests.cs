using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using DrWorkflows.Activities.Approvals;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Persistence;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Server.Tests.Hardening;

/// <summary>
/// The 500s the attack battery found (issue 17), each now a 4xx naming the problem: duplicate keys, bodies of the
/// wrong kind, numbers out of range, unknown enum values, an execute with the id of an existing run, malformed ids
/// and query values, bodies nested too deep or carrying broken Unicode. A real failure of ours is still a 500, with a
/// correlation id the caller gets and the log has.
/// </summary>
/// <remarks>
/// One server for the whole class (<see cref="SharedServer"/>): each case is one or a few requests, and a server per case
/// cost about 2 s of start-up each (88 cases). The cases run one after the other, and those that must change nothing
/// compare a snapshot of the store taken just before with one taken just after, so a shared server proves the same.
/// </remarks>
public sealed class MalformedRequestTests(MalformedRequestTests.SharedServer fixture) : IClassFixture<MalformedRequestTests.SharedServer>
{
    private const string WaitingWorkflow = """
        { "definitionId": "waits", "name": "Waits",
          "root": { "type": "Elsa.Flowchart", "id": "fc", "version": 1,
            "activities": [
              { "id": "start", "type": "Elsa.Start", "version": 1 },
              { "id": "wait", "type": "Elsa.Delay", "version": 1, "timeSpan": { "typeName": "TimeSpan", "expression": { "type": "Literal", "value": "01:00:00" } } } ],
            "connections": [ { "source": { "activity": "start", "port": "Done" }, "target": { "activity": "wait", "port": "In" } } ] } }
        """;

    private readonly ServerFactory server = fixture.Factory;
    private readonly HttpClient admin = fixture.Admin;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The server the cases share: the definition <c>waits</c> published and its run <c>run-1</c> waiting on a one-hour delay.</summary>
    public sealed class SharedServer : SharedServerFactory
    {
        protected override async Task PrepareAsync(HttpClient admin)
        {
            var (status, _, _) = await admin.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = JsonNode.Parse(WaitingWorkflow), ["publish"] = true });
            Assert.Equal(HttpStatusCode.Created, status);
            var (started, body, _) = await admin.PostJsonAsync("/elsa/api/workflow-definitions/waits/execute", """{"instanceId":"run-1"}""");
            Assert.Equal(HttpStatusCode.OK, started);
            Assert.Equal("run-1", body!["workflowState"]!["id"]!.GetValue<string>());
        }
    }

    /// <summary>The 13 endpoints of the report (and the others that read JSON) with a key given twice.</summary>
    public static TheoryData<string, string, string> DuplicateKeys() => new()
    {
        { "/elsa/api/workflow-definitions", """{"model":{"definitionId":"x"},"model":{"definitionId":"y"}}""", "model" },
        { "/elsa/api/workflow-definitions", """{"model":{"definitionId":"x","definitionId":"y"}}""", "model.definitionId" },
        { "/elsa/api/workflow-definitions/import", """{"definitionId":"a","definitionId":"b"}""", "definitionId" },
        { "/elsa/api/workflow-instances/run-1/journal", """{"filter":{"eventNames":["Started"],"eventNames":[]}}""", "filter.eventNames" },
        { "/elsa/api/bookmarks/any/resume", """{"payload":{"option":"1","option":"2"}}""", "payload.option" },
        { "/elsa/api/activity-executions/report", """{"workflowInstanceId":"run-1","workflowInstanceId":"run-2"}""", "workflowInstanceId" },
        { "/elsa/api/bulk-actions/delete/workflow-definitions/by-definition-id", """{"definitionIds":["waits"],"definitionIds":[]}""", "definitionIds" },
        { "/elsa/api/bulk-actions/delete/workflow-definitions/by-id", """{"ids":[],"ids":[]}""", "ids" },
        { "/elsa/api/bulk-actions/publish/workflow-definitions/by-definition-ids", """{"definitionIds":[],"definitionIds":[]}""", "definitionIds" },
        { "/elsa/api/bulk-actions/retract/workflow-definitions/by-definition-ids", """{"definitionIds":[],"definitionIds":[]}""", "definitionIds" },
        { "/elsa/api/bulk-actions/export/workflow-definitions", """{"ids":[],"ids":[]}""", "ids" },
        { "/elsa/api/bulk-actions/delete/workflow-instances/by-id", """{"ids":["run-1"],"ids":["run-1"]}""", "ids" },
        { "/elsa/api/bulk-actions/cancel/workflow-instances", """{"ids":["run-1"],"ids":["run-1"]}""", "ids" },
        { "/alerts/alertmanager", """{"alerts":[],"alerts":[]}""", "alerts" },
        { "/elsa/api/workflow-instances", """{"page":0,"page":1}""", "page" },
        { "/elsa/api/workflow-definitions/waits/execute", """{"input":{"a":1,"a":2}}""", "input.a" },
        { "/api/workflow-instances/run-1/incidents/i-1/skip", """{"outcome":"Done","outcome":"Failed"}""", "outcome" },
    };

    [Theory]
    [MemberData(nameof(DuplicateKeys))]
    public async Task A_key_given_twice_is_400_naming_the_field_and_changes_nothing(string path, string body, string field)
    {
        var before = await SnapshotAsync();

        var (status, problem, response) = await admin.PostJsonAsync(path, body);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(field, problem!["field"]!.GetValue<string>());
        Assert.Contains("twice", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(before, await SnapshotAsync());
    }

    public static TheoryData<string, string> WrongKinds()
    {
        var data = new TheoryData<string, string>();
        string[] routes =
        [
            "/elsa/api/activity-executions/report",
            "/elsa/api/bulk-actions/delete/workflow-definitions/by-definition-id",
            "/elsa/api/bulk-actions/delete/workflow-definitions/by-id",
            "/elsa/api/bulk-actions/publish/workflow-definitions/by-definition-ids",
            "/elsa/api/bulk-actions/retract/workflow-definitions/by-definition-ids",
            "/elsa/api/bulk-actions/export/workflow-definitions",
            "/elsa/api/bulk-actions/delete/workflow-instances/by-id",
            "/elsa/api/bulk-actions/cancel/workflow-instances",
            "/alerts/alertmanager",
            "/elsa/api/workflow-definitions/import",
            "/elsa/api/bookmarks/any/resume",
        ];
        foreach (var route in routes)
        {
            foreach (var body in (string[])["\"some text\"", "42", "[1,2]", "true", "null"])
                data.Add(route, body);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(WrongKinds))]
    public async Task A_body_that_is_not_an_object_is_400(string path, string body)
    {
        // The report is a viewer route: the 500 was reachable with the least role.
        var client = path.EndsWith("/report", StringComparison.Ordinal) ? server.Client(ServerFactory.ViewerKey) : admin;
        var before = await SnapshotAsync();

        var (status, problem, _) = await client.PostJsonAsync(path, body);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("must be a JSON object", problem!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(before, await SnapshotAsync());
    }

    [Theory]
    [InlineData("/elsa/api/workflow-instances", """{"pageSize":1e30}""", "pageSize", "whole number")]
    [InlineData("/elsa/api/workflow-instances", """{"page":2147483648}""", "page", "whole number")]
    [InlineData("/elsa/api/workflow-instances", """{"page":"3"}""", "page", "whole number")]
    [InlineData("/elsa/api/workflow-instances", """{"status":"Sleeping"}""", "status", "one of Running")]
    [InlineData("/elsa/api/workflow-instances", """{"status":7}""", "status", "one of Running")]
    [InlineData("/elsa/api/workflow-instances", """{"subStatuses":["Finished","Napping"]}""", "subStatuses[1]", "one of")]
    [InlineData("/elsa/api/workflow-instances", """{"hasIncidents":"yes"}""", "hasIncidents", "true or false")]
    [InlineData("/elsa/api/workflow-definitions", """{"model":{},"publish":"yes"}""", "publish", "true or false")]
    [InlineData("/elsa/api/workflow-definitions/waits/execute", """{"input":[1]}""", "input", "JSON object")]
    [InlineData("/elsa/api/bulk-actions/delete/workflow-instances/by-id", """{"ids":[{"id":"run-1"}]}""", "ids[0]", "string")]
    [InlineData("/elsa/api/workflow-instances/run-1/journal", """{"filter":{"activityIds":[1,{"a":2}]}}""", "filter.activityIds[0]", "string")]
    public async Task Wrong_kinds_numbers_out_of_range_and_unknown_enum_values_are_400_naming_the_field(string path, string body, string field, string takes)
    {
        var (status, problem, _) = await admin.PostJsonAsync(path, body);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(field, problem!["field"]!.GetValue<string>());
        Assert.Contains(takes, problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deep_nesting_broken_unicode_and_NUL_characters_are_400()
    {
        var deep = new string('[', 5000) + new string(']', 5000);
        var (deepStatus, deepProblem, _) = await admin.PostJsonAsync("/elsa/api/bookmarks/any/resume", $$"""{"payload":{{deep}}}""");
        var (surrogateStatus, surrogate, _) = await admin.PostJsonAsync("/elsa/api/bookmarks/any/resume", """{"payload":{"x":"\ud800"}}""");
        var (nulStatus, nul, _) = await admin.PostJsonAsync("/elsa/api/workflow-definitions/waits/execute", """{"correlationId":"a\u0000b"}""");
        using var bytes = new ByteArrayContent([.. "{\"payload\":\""u8, 0xC3, 0x28, .. "\"}"u8]);
        bytes.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var invalidUtf8 = await admin.PostAsync("/elsa/api/bookmarks/any/resume", bytes, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, deepStatus);
        Assert.Contains("depth", deepProblem!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, surrogateStatus);
        Assert.Equal("payload.x", surrogate!["field"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, nulStatus);
        Assert.Equal("correlationId", nul!["field"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, invalidUtf8.StatusCode);
    }

    [Fact]
    public async Task Execute_with_the_instance_id_of_an_existing_run_is_409_and_the_run_is_unchanged()
    {
        var before = await SnapshotAsync();

        var (status, problem, _) = await admin.PostJsonAsync("/elsa/api/workflow-definitions/waits/execute", """{"instanceId":"run-1"}""");
        var (dispatchStatus, _, _) = await admin.PostJsonAsync("/elsa/api/workflow-definitions/waits/dispatch", """{"instanceId":"run-1"}""");
        var (badIdStatus, badId, _) = await admin.PostJsonAsync("/elsa/api/workflow-definitions/waits/execute", """{"instanceId":"../../etc|passwd"}""");

        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains("run-1", problem!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Conflict, dispatchStatus);
        Assert.Equal(HttpStatusCode.BadRequest, badIdStatus);
        Assert.Equal("instanceId", badId!["field"]!.GetValue<string>());
        Assert.Equal(before, await SnapshotAsync());
    }

    [Fact]
    public async Task Malformed_ids_and_query_values_are_400_naming_them()
    {
        var (longId, longProblem, _) = await admin.GetJsonAsync("/elsa/api/workflow-instances/" + new string('a', 300));
        var (controlId, controlProblem, _) = await admin.GetJsonAsync("/elsa/api/workflow-instances/run%0A1");
        var (query, queryProblem, _) = await admin.GetJsonAsync("/elsa/api/workflow-definitions?searchTerm=" + new string('x', 3000));
        var (nul, nulProblem, _) = await admin.GetJsonAsync("/api/approvals?instanceId=run%001");
        var (number, _, _) = await admin.GetJsonAsync("/api/approvals?take=1e30");
        var (status, statusProblem, _) = await admin.GetJsonAsync("/api/approvals?status=maybe");

        Assert.Equal(HttpStatusCode.BadRequest, longId);
        Assert.Equal("id", longProblem!["field"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, controlId);
        Assert.Equal("id", controlProblem!["field"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, query);
        Assert.Equal("searchTerm", queryProblem!["field"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, nul);
        Assert.Equal("instanceId", nulProblem!["field"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, number);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("status", statusProblem!["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task Pages_far_beyond_the_end_are_empty_not_an_overflow()
    {
        var (list, body, _) = await admin.PostJsonAsync("/elsa/api/workflow-instances", """{"page":2147483647,"pageSize":1000}""");
        var (journal, entries, _) = await admin.GetJsonAsync("/elsa/api/workflow-instances/run-1/journal?page=2147483647&pageSize=5000");
        var (definitions, defs, _) = await admin.GetJsonAsync("/elsa/api/workflow-definitions?page=2147483647&pageSize=1000");
        var (huge, capped, _) = await admin.PostJsonAsync("/elsa/api/workflow-instances", """{"pageSize":2147483647}""");

        Assert.Equal(HttpStatusCode.OK, list);
        Assert.Empty(body!["items"]!.AsArray());
        Assert.Equal(HttpStatusCode.OK, journal);
        Assert.Empty(entries!["items"]!.AsArray());
        Assert.Equal(HttpStatusCode.OK, definitions);
        Assert.Empty(defs!["items"]!.AsArray());
        Assert.Equal(HttpStatusCode.OK, huge);
        Assert.Equal(1000, capped!["pageSize"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_5xx_is_logged_with_a_correlation_id_that_the_caller_gets()
    {
        await using var broken = new ServerFactory(services: s => s.AddSingleton<IApprovalService, ExplodingApprovals>());

        var (status, problem, response) = await broken.Client().GetJsonAsync("/api/approvals");
        var (outage, outageProblem, outageResponse) = await broken.Client().GetJsonAsync("/api/approvals/x");

        Assert.Equal(HttpStatusCode.InternalServerError, status);
        var correlation = problem!["correlationId"]!.GetValue<string>();
        Assert.False(string.IsNullOrWhiteSpace(correlation));
        Assert.Equal(correlation, Assert.Single(response.Headers.GetValues("X-Correlation-Id")));
        Assert.DoesNotContain("boom in the store", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains(broken.Logs.Lines, l => l.Contains(correlation, StringComparison.Ordinal) && l.Contains("boom in the store", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, outage);
        var outageId = outageProblem!["correlationId"]!.GetValue<string>();
        Assert.Equal(outageId, Assert.Single(outageResponse.Headers.GetValues("X-Correlation-Id")));
        Assert.Contains(broken.Logs.Lines, l => l.Contains(outageId, StringComparison.Ordinal) && l.Contains("503", StringComparison.Ordinal));
    }

    /// <summary>Runs, their revisions and journal lengths, and the definitions with their versions.</summary>
    private async Task<string> SnapshotAsync()
    {
        var instances = server.Services.GetRequiredService<IWorkflowInstanceStore>();
        var definitions = server.Services.GetRequiredService<IWorkflowDefinitionStore>();
        var text = new StringBuilder();
        foreach (var run in (await instances.ListAsync(new InstanceQuery(Take: 1000), Ct)).Items.OrderBy(i => i.Id, StringComparer.Ordinal))
        {
            var state = await instances.GetAsync(run.Id, Ct);
            text.Append(run.Id).Append(' ').Append(state!.Revision).Append(' ').Append(state.SubStatus).Append(' ')
                .Append((await instances.GetJournalAsync(run.Id, 0, 1, Ct)).TotalCount).Append('\n');
        }

        foreach (var d in (await definitions.ListAsync(new DefinitionQuery(VersionOptions.All, Take: 10_000), Ct)).Items.OrderBy(d => d.Id, StringComparer.Ordinal))
            text.Append(d.Id).Append(' ').Append(d.Version).Append(' ').Append(d.IsPublished).Append(' ').Append(d.IsLatest).Append('\n');
        return text.ToString();
    }

    private sealed class ExplodingApprovals : IApprovalService
    {
        public Task<IReadOnlyList<ApprovalRecord>> ListAsync(ApprovalQuery query, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("boom in the store");

        public Task<ApprovalRecord?> FindAsync(string approvalId, CancellationToken cancellationToken) =>
            throw new StoreUnavailableException("The store is down (test).");

        public Task<IReadOnlyList<ApprovalRecord>> FindPendingForIssueAsync(string repository, int number, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("boom in the store");

        public Task<ApprovalResult> DecideAsync(string approvalId, ApprovalIdentity identity, ApprovalRequest request, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("boom in the store");
    }
}
