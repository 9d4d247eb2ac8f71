using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace DrWorkflows.Server.Tests.HttpWorkflows;

/// <summary>
/// <c>Elsa.HttpEndpoint</c> and <c>Elsa.WriteHttpResponse</c> through real HTTP on the server's test host (issue 16):
/// a published trigger's route starts a run and gets the written response with route values, query and body in the
/// outputs; an endpoint in the middle of a run resumes it; 401/403/404/405/413 as problem details; Authorize: false;
/// retract removes the route; a second workflow on the same method and path is refused at publish.
/// </summary>
public sealed class HttpEndpointTests : IAsyncLifetime
{
    private readonly ServerFactory server = new();
    private HttpClient admin = null!;

    public ValueTask InitializeAsync()
    {
        admin = server.Client();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        admin.Dispose();
        await server.DisposeAsync();
    }

    private static string Literal(string name, string value, string type = "String") =>
        $$"""
        "{{name}}": { "typeName": "{{type}}", "expression": { "type": "Literal", "value": {{JsonValue.Create(value).ToJsonString()}} } }
        """;

    private static string Script(string name, string script, string type = "Object") =>
        $$"""
        "{{name}}": { "typeName": "{{type}}", "expression": { "type": "JavaScript", "value": {{JsonValue.Create(script).ToJsonString()}} } }
        """;

    private static string Endpoint(string id, string path, string methods, bool trigger = true, string extra = "") =>
        $$"""
        { "id": "{{id}}", "type": "Elsa.HttpEndpoint", "version": 1, "customProperties": { "canStartWorkflow": {{(trigger ? "true" : "false")}} },
          {{Literal("path", path)}},
          "supportedMethods": { "typeName": "String[]", "expression": { "type": "Object", "value": {{JsonValue.Create(methods).ToJsonString()}} } }
          {{(extra.Length > 0 ? "," + extra : string.Empty)}} }
        """;

    private static string Respond(string id, string contentScript, string status = "OK", string contentType = "application/json", string extra = "") =>
        $$"""
        { "id": "{{id}}", "type": "Elsa.WriteHttpResponse", "version": 1,
          {{Literal("statusCode", status, "HttpStatusCode")}}, {{Script("content", contentScript)}}, {{Literal("contentType", contentType)}}
          {{(extra.Length > 0 ? "," + extra : string.Empty)}} }
        """;

    private static JsonObject Flow(string definitionId, string activities, params (string From, string To)[] connections) => JsonNode.Parse($$"""
        {
          "definitionId": "{{definitionId}}", "name": "{{definitionId}}",
          "root": { "type": "Elsa.Flowchart", "id": "fc", "version": 1, "activities": [ {{activities}} ],
            "connections": [ {{string.Join(",", connections.Select(c => $$"""{ "source": { "activity": "{{c.From}}", "port": "Done" }, "target": { "activity": "{{c.To}}", "port": "In" } }"""))}} ] }
        }
        """)!.AsObject();

    private async Task<(HttpStatusCode Status, JsonNode? Body)> SaveAsync(JsonObject model, bool publish = true)
    {
        var (status, body, _) = await admin.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = model, ["publish"] = publish });
        return (status, body);
    }

    private async Task PublishAsync(JsonObject model)
    {
        var (status, body) = await SaveAsync(model);
        Assert.True(status is HttpStatusCode.Created or HttpStatusCode.OK, $"{(int)status}: {body?.ToJsonString()}");
    }

    private static async Task<(HttpStatusCode Status, string Text, HttpResponseMessage Response)> CallAsync(HttpClient client, HttpMethod method, string path, string? body = null, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
            request.Content = new StringContent(body, Encoding.UTF8, contentType);
        var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), response);
    }

    /// <summary>The response is sent as soon as the run wrote it; the run then commits its end.</summary>
    private async Task<JsonNode> WaitUntilFinishedAsync(string instance)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var (_, run, _) = await admin.GetJsonAsync($"/elsa/api/workflow-instances/{instance}");
            var state = run!["workflowState"]!;
            if (state["subStatus"]!.GetValue<string>() == "Finished")
                return state;
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"Run {instance} is still {state["subStatus"]} after 60 s.");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

    private Task PublishOrdersAsync() => PublishAsync(Flow(
        "orders",
        Endpoint("ep", "orders/{id}", """["POST"]""") + "," + Respond(
            "respond",
            "JSON.stringify({ id: getOutputFrom('ep', 'RouteData').id, q: getOutputFrom('ep', 'QueryStringData').q, body: getOutputFrom('ep', 'ParsedContent'), auth: getOutputFrom('ep', 'Headers')['Authorization'] })",
            "Created",
            extra: """ "responseHeaders": { "typeName": "Object", "expression": { "type": "Object", "value": "{\"Location\": \"/orders/42\"}" } } """),
        ("ep", "respond")));

    [Fact]
    public async Task A_request_to_a_published_trigger_starts_a_run_and_gets_the_written_response_with_route_query_and_body_in_the_outputs()
    {
        await PublishOrdersAsync();

        var (status, text, response) = await CallAsync(admin, HttpMethod.Post, "/workflows/orders/42?q=urgent", """{ "item": "disk", "count": 2 }""");

        Assert.True(status == HttpStatusCode.Created, $"{(int)status}: {text}");
        Assert.Equal("/orders/42", response.Headers.Location?.OriginalString);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonNode.Parse(text)!;
        Assert.Equal("42", body["id"]!.GetValue<string>());
        Assert.Equal("urgent", body["q"]!.GetValue<string>());
        Assert.Equal("disk", body["body"]!["item"]!.GetValue<string>());
        Assert.Equal(2, body["body"]!["count"]!.GetValue<int>());
        Assert.Equal("***", body["auth"]!.GetValue<string>()); // the API key never reaches the run's state or journal

        var run = await WaitUntilFinishedAsync(response.Headers.GetValues("X-Workflow-Instance-Id").Single());
        Assert.Equal("orders", run["definitionId"]!.GetValue<string>());
    }

    [Fact]
    public async Task Without_a_written_response_the_caller_gets_Elsas_empty_200_and_a_failing_run_answers_500_naming_the_incident()
    {
        await PublishAsync(Flow("quiet", Endpoint("ep", "quiet", """["GET"]""") + """, { "id": "log", "type": "Elsa.WriteLine", "version": 1, "text": { "typeName": "String", "expression": { "type": "Literal", "value": "called" } } }""", ("ep", "log")));
        await PublishAsync(Flow("broken", Endpoint("ep", "broken", """["GET"]""") + """, { "id": "boom", "type": "Elsa.Fault", "version": 1, "message": { "typeName": "String", "expression": { "type": "Literal", "value": "disk is full" } } }""", ("ep", "boom")));

        var (status, text, response) = await CallAsync(admin, HttpMethod.Get, "/workflows/quiet");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(string.Empty, text);
        Assert.Single(response.Headers.GetValues("X-Workflow-Instance-Id"));

        (status, text, response) = await CallAsync(admin, HttpMethod.Get, "/workflows/broken");
        Assert.Equal(HttpStatusCode.InternalServerError, status);
        var problem = JsonNode.Parse(text)!;
        Assert.Contains("'boom'", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("disk is full", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains(response.Headers.GetValues("X-Workflow-Instance-Id").Single(), problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_endpoint_in_the_middle_of_a_run_waits_and_a_matching_request_resumes_that_run_and_gets_its_response()
    {
        await PublishAsync(Flow(
            "callback",
            """{ "id": "begin", "type": "Elsa.WriteLine", "version": 1, "text": { "typeName": "String", "expression": { "type": "Literal", "value": "waiting" } } },"""
            + Endpoint("wait", "callbacks/{ticket}", """["POST"]""", trigger: false) + ","
            + Respond("answer", "'resumed ' + getOutputFrom('wait', 'RouteData').ticket + ' by ' + getOutputFrom('wait', 'ParsedContent')", contentType: "text/plain"),
            ("begin", "wait"),
            ("wait", "answer")));
        var (status, started, response) = await admin.PostJsonAsync("/elsa/api/workflow-definitions/callback/execute", "{}");
        Assert.Equal(HttpStatusCode.OK, status);
        var instance = response.Headers.GetValues("x-elsa-workflow-instance-id").Single();
        Assert.Equal("Suspended", started!["workflowState"]!["subStatus"]!.GetValue<string>());

        var (wrong, _, _) = await CallAsync(admin, HttpMethod.Post, "/workflows/callbacks/T-7?workflowInstanceId=someone-else", "alice", "text/plain");
        Assert.Equal(HttpStatusCode.NotFound, wrong);

        var (resumed, text, answer) = await CallAsync(admin, HttpMethod.Post, "/workflows/callbacks/T-7", "alice", "text/plain");

        Assert.True(resumed == HttpStatusCode.OK, $"{(int)resumed}: {text}");
        Assert.Equal("resumed T-7 by alice", text);
        Assert.Equal(instance, answer.Headers.GetValues("X-Workflow-Instance-Id").Single());
        await WaitUntilFinishedAsync(instance);

        var (again, _, _) = await CallAsync(admin, HttpMethod.Post, "/workflows/callbacks/T-7", "alice", "text/plain");
        Assert.Equal(HttpStatusCode.NotFound, again); // the run no longer waits there, and no workflow serves it
    }

    [Fact]
    public async Task Unknown_path_is_404_wrong_method_405_no_or_bad_key_401_and_a_key_without_the_role_403_all_as_problem_details()
    {
        await PublishOrdersAsync();
        using var anonymous = server.Client(key: null);
        using var wrongKey = server.Client(key: "not-a-key");
        using var viewer = server.Client(ServerFactory.ViewerKey);

        var (status, text, response) = await CallAsync(admin, HttpMethod.Post, "/workflows/nothing/here", "{}");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("/workflows/nothing/here", JsonNode.Parse(text)!["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        (status, text, response) = await CallAsync(admin, HttpMethod.Get, "/workflows/orders/42");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, status);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(["POST"], response.Content.Headers.Allow);

        (status, text, _) = await CallAsync(anonymous, HttpMethod.Post, "/workflows/orders/42", "{}");
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal(401, JsonNode.Parse(text)!["status"]!.GetValue<int>());

        (status, _, _) = await CallAsync(wrongKey, HttpMethod.Post, "/workflows/orders/42", "{}");
        Assert.Equal(HttpStatusCode.Unauthorized, status);

        (status, _, _) = await CallAsync(viewer, HttpMethod.Post, "/workflows/orders/42", "{}");
        Assert.Equal(HttpStatusCode.Forbidden, status);

        var (_, list, _) = await admin.PostJsonAsync("/elsa/api/workflow-instances", """{ "definitionId": "orders" }""");
        Assert.Equal(0, list!["totalCount"]!.GetValue<int>()); // none of the refused calls started a run
    }

    [Fact]
    public async Task An_endpoint_with_Authorize_false_takes_calls_without_a_key()
    {
        await PublishAsync(Flow("ping", Endpoint("ep", "ping", """["GET","POST"]""", extra: Literal("authorize", "false", "Boolean")) + "," + Respond("pong", "'pong'", contentType: "text/plain"), ("ep", "pong")));
        using var anonymous = server.Client(key: null);

        var (status, text, response) = await CallAsync(anonymous, HttpMethod.Get, "/workflows/ping");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("pong", text);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Retracting_the_workflow_removes_its_route()
    {
        await PublishOrdersAsync();
        var (status, _, _) = await CallAsync(admin, HttpMethod.Post, "/workflows/orders/1", "{}");
        Assert.Equal(HttpStatusCode.Created, status);

        var (retracted, _, _) = await admin.PostJsonAsync("/elsa/api/workflow-definitions/orders/retract", "{}");
        Assert.Equal(HttpStatusCode.OK, retracted);

        (status, _, _) = await CallAsync(admin, HttpMethod.Post, "/workflows/orders/1", "{}");
        Assert.Equal(HttpStatusCode.NotFound, status);
    }

    [Fact]
    public async Task A_second_published_workflow_on_the_same_method_and_path_is_refused_naming_the_first()
    {
        await PublishOrdersAsync();

        var (status, body) = await SaveAsync(Flow("orders-copy", Endpoint("take", "Orders/{orderId}", """["PUT","POST"]""") + "," + Respond("r", "'{}'"), ("take", "r")));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var detail = body!["detail"]!.GetValue<string>();
        Assert.Contains("'take'", detail, StringComparison.Ordinal);
        Assert.Contains("POST /workflows/Orders/{orderId}", detail, StringComparison.Ordinal);
        Assert.Contains("'orders'", detail, StringComparison.Ordinal);

        // Another method on the same path, or the same draft unpublished, is fine.
        (status, _) = await SaveAsync(Flow("orders-put", Endpoint("take", "orders/{orderId}", """["PUT"]""") + "," + Respond("r", "'{}'"), ("take", "r")));
        Assert.True(status is HttpStatusCode.Created or HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_trigger_path_that_is_not_a_literal_template_is_refused_at_publish()
    {
        var (status, body) = await SaveAsync(Flow("bad-path", Endpoint("ep", "a/{id}/{id}", """["GET"]""")));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("appears twice", body!["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        var scripted = Flow("scripted-path", Endpoint("ep", "x", """["GET"]""").Replace("\"type\": \"Literal\", \"value\": \"x\"", "\"type\": \"JavaScript\", \"value\": \"'x'\"", StringComparison.Ordinal));
        (status, body) = await SaveAsync(scripted);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("JavaScript", body!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_over_the_endpoints_RequestSizeLimit_is_refused_413_and_starts_no_run()
    {
        await PublishAsync(Flow("small", Endpoint("ep", "small", """["POST"]""", extra: Literal("requestSizeLimit", "64", "Int64")) + "," + Respond("r", "'ok'", contentType: "text/plain"), ("ep", "r")));

        var (status, text, response) = await CallAsync(admin, HttpMethod.Post, "/workflows/small", new string('x', 200), "text/plain");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("64 bytes", JsonNode.Parse(text)!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        var (_, list, _) = await admin.PostJsonAsync("/elsa/api/workflow-instances", """{ "definitionId": "small" }""");
        Assert.Equal(0, list!["totalCount"]!.GetValue<int>());

        (status, text, _) = await CallAsync(admin, HttpMethod.Post, "/workflows/small", "tiny", "text/plain");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("ok", text);
    }

    [Fact]
    public async Task A_run_still_busy_after_the_RequestTimeout_answers_202_with_its_id_and_a_response_written_later_raises_an_incident()
    {
        // Busy without suspending: C# that sleeps (a JavaScript busy loop hits Jint's allocation limit on a fast machine).
        // C# needs a key with the designer role to publish.
        using var designer = server.Client(ServerFactory.DesignerKey);
        var (published, body, _) = await designer.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject
        {
            ["model"] = Flow(
                "slow",
                Endpoint("ep", "slow", """["GET"]""", extra: Literal("requestTimeout", "00:00:01", "TimeSpan")) + ","
                + """{ "id": "work", "type": "Elsa.RunCSharp", "version": 1, "script": { "typeName": "String", "expression": { "type": "Literal", "value": "System.Threading.Thread.Sleep(2500); \"done\"" } } },"""
                + Respond("late", "'too late'", contentType: "text/plain"),
                ("ep", "work"),
                ("work", "late")),
            ["publish"] = true,
        });
        Assert.True(published is HttpStatusCode.Created or HttpStatusCode.OK, $"{(int)published}: {body?.ToJsonString()}");

        var (status, text, response) = await CallAsync(admin, HttpMethod.Get, "/workflows/slow");

        Assert.True(status == HttpStatusCode.Accepted, $"{(int)status}: {text}");
        var instance = response.Headers.GetValues("X-Workflow-Instance-Id").Single();
        Assert.Equal(instance, JsonNode.Parse(text)!["workflowInstanceId"]!.GetValue<string>());
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var (_, run, _) = await admin.GetJsonAsync($"/elsa/api/workflow-instances/{instance}");
            var incidents = run!["workflowState"]!["incidents"]!.AsArray();
            if (incidents.Count > 0)
            {
                Assert.Contains("no HTTP request is waiting", incidents[0]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
                Assert.Equal("late", incidents[0]!["activityId"]!.GetValue<string>());
                break;
            }

            if (DateTime.UtcNow > deadline)
                Assert.Fail($"Run {instance} raised no incident within 60 s: {run.ToJsonString()}");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task A_Policy_names_the_role_the_key_needs()
    {
        await PublishAsync(Flow("status", Endpoint("ep", "status", """["GET"]""", extra: Literal("policy", "viewer")) + "," + Respond("r", "'green'", contentType: "text/plain"), ("ep", "r")));
        using var viewer = server.Client(ServerFactory.ViewerKey);

        var (status, text, _) = await CallAsync(viewer, HttpMethod.Get, "/workflows/status");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("green", text);
        var (refused, body) = await SaveAsync(Flow("status-2", Endpoint("ep", "status-2", """["GET"]""", extra: Literal("policy", "MyPolicy"))));
        Assert.Equal(HttpStatusCode.BadRequest, refused);
        Assert.Contains("'MyPolicy' is not a role", body!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_Studio_lists_both_activities_the_endpoint_as_a_trigger()
    {
        var (_, body, _) = await admin.GetJsonAsync("/elsa/api/descriptors/activities");
        var items = body!["items"]!.AsArray();
        var endpoint = items.Single(i => i!["typeName"]!.GetValue<string>() == "Elsa.HttpEndpoint")!;
        Assert.Equal("Trigger", endpoint["kind"]!.GetValue<string>());
        Assert.Equal("HTTP", endpoint["category"]!.GetValue<string>());
        Assert.Equal(
            ["Headers", "ParsedContent", "QueryStringData", "Result", "RouteData"],
            endpoint["outputs"]!.AsArray().Select(o => o!["name"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.Contains(endpoint["inputs"]!.AsArray(), i => i!["name"]!.GetValue<string>() == "Authorize");
        var respond = items.Single(i => i!["typeName"]!.GetValue<string>() == "Elsa.WriteHttpResponse")!;
        Assert.Equal(
            ["Content", "ContentType", "ResponseHeaders", "StatusCode"],
            respond["inputs"]!.AsArray().Select(o => o!["name"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.Equal(Security.Roles.All, DrWorkflows.Core.Activities.Http.HttpEndpoint.Policies); // Policy names a role
    }
}
