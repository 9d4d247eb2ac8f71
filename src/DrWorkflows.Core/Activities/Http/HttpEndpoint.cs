using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Activities.Flowchart;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Core.Activities.Http;

/// <summary>
/// Elsa's <c>Elsa.HttpEndpoint</c>. With "Trigger workflow" (<c>customProperties.canStartWorkflow</c>) in a published
/// workflow's flowchart, a request to <c>/workflows/{Path}</c> with one of its methods starts a run, and the activity
/// completes at once with the request as its outputs. In the middle of a run it waits on a bookmark for such a
/// request, which resumes that run. The server (<c>HttpWorkflowsApi</c>) matches requests, checks the API key unless
/// <see cref="Authorize"/> is false, reads the body and answers with what <see cref="WriteHttpResponse"/> wrote.
/// </summary>
[Activity("Elsa", "HTTP", "Wait for an inbound HTTP request that matches the specified path and methods.", DisplayName = "HTTP Endpoint", IsBlocking = true, IsTrigger = true, SafeToRerun = true,
    Outcomes = [Outcomes.Done, RequestTooLargeOutcome])]
public sealed class HttpEndpoint : Activity
{
    /// <summary>Bookmark name of a run waiting for a request.</summary>
    public const string BookmarkName = "Elsa.HttpEndpoint";

    /// <summary>The outcome taken instead of answering 413 when <see cref="ExposeRequestTooLargeOutcome"/> is set.</summary>
    public const string RequestTooLargeOutcome = "Request too large";

    /// <summary>The policies <see cref="Policy"/> may name: the server's roles (a key needs that role or one above it).</summary>
    public static readonly string[] Policies = ["viewer", "designer", "operator", "approver", "admin"];

    [Input(Description = "The path below /workflows, e.g. orders/{id}; {name} parameters come out in RouteData.", UIHint = InputUIHints.SingleLine, Required = true)]
    public Input<string> Path { get; set; } = new(string.Empty);

    [Input(Description = "The HTTP methods to accept.", Options = ["GET", "POST", "PUT", "HEAD", "DELETE"], UIHint = InputUIHints.CheckList, DefaultValue = new[] { "GET" })]
    public Input<string[]> SupportedMethods { get; set; } = new(["GET"]);

    [Input(Description = "Allow requests with a valid API key only (Authorization: ApiKey <key>). Unchecked: anyone who can reach the server may call it.", Category = "Security", DefaultValue = true)]
    public Input<bool?> Authorize { get; set; } = new(true);

    [Input(Description = "The role the API key needs (viewer, designer, operator, approver or admin; a higher role also passes). Empty: operator, as for starting a run through the API.", Category = "Security")]
    public Input<string?> Policy { get; set; } = new(default(string));

    [Input(Description = "How long the caller waits for the workflow's response before the server answers 202 with the run's id (the run goes on). Empty: 100 seconds.", Category = "Upload")]
    public Input<TimeSpan?> RequestTimeout { get; set; } = new(default(TimeSpan?));

    [Input(Description = "The largest request body in bytes (at most the server's 1 MiB). Larger: 413, or the 'Request too large' outcome when it is exposed.", Category = "Upload")]
    public Input<long?> RequestSizeLimit { get; set; } = new(default(long?));

    [Input(Description = "Take the \"Request too large\" outcome instead of answering 413.", Category = "Outcomes")]
    public bool ExposeRequestTooLargeOutcome { get; set; }

    [Output(Description = "The parsed request content, if any: JSON as an object, a form as its fields, text as a string.")]
    public Output<object?> ParsedContent { get; set; } = new();

    [Output(Description = "The parsed route data, if any (orders/{id} called as orders/42: {\"id\": \"42\"}).")]
    public Output<JsonObject> RouteData { get; set; } = new();

    [Output(Description = "The query string data, if any (a repeated key gives an array).")]
    public Output<JsonObject> QueryStringData { get; set; } = new();

    [Output(Description = "The headers, if any (Authorization and Cookie masked).")]
    public Output<JsonObject> Headers { get; set; } = new();

    [Output(Description = "The request: method, path, route, query, headers, content type and parsed content.")]
    public Output<JsonObject> Result { get; set; } = new();

    public override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        if (TriggerRequest(context) is { } request)
            return CompleteWithAsync(context, request);
        var route = context.Get(Path);
        HttpRouteTemplate template;
        try
        {
            template = HttpRouteTemplate.Parse(route);
        }
        catch (FormatException e)
        {
            throw new ActivityFailureException($"HTTP endpoint '{Id}': {e.Message}");
        }

        var methods = NormalizeMethods(context.Get(SupportedMethods));
        var payload = new HttpEndpointBookmark(template.Text, methods, context.Get(Authorize) ?? true, context.Get(Policy), context.Get(RequestTimeout), context.Get(RequestSizeLimit), ExposeRequestTooLargeOutcome);
        foreach (var method in methods)
            context.CreateBookmark(BookmarkName, BookmarkKey(method, template), payload: payload.ToJson(), description: $"Waits for {method} /workflows/{template.Text}");
        return ValueTask.CompletedTask;
    }

    public override ValueTask ResumeAsync(ActivityExecutionContext context, BookmarkResumption resumption)
    {
        context.RemoveBookmarks(BookmarkName);
        return CompleteWithAsync(context, resumption.Payload as JsonObject ?? []);
    }

    /// <summary>The bookmark key a request looks for: the method and the template's canonical form.</summary>
    public static string BookmarkKey(string method, HttpRouteTemplate template) => $"{method.ToUpperInvariant()} {template.Canonical}";

    /// <summary>Upper-case, distinct methods; GET when none is given (as in Elsa).</summary>
    public static string[] NormalizeMethods(IEnumerable<string>? methods)
    {
        var list = (methods ?? []).Where(m => !string.IsNullOrWhiteSpace(m)).Select(m => m.Trim().ToUpperInvariant()).Distinct(StringComparer.Ordinal).ToArray();
        return list.Length == 0 ? ["GET"] : list;
    }

    private ValueTask CompleteWithAsync(ActivityExecutionContext context, JsonObject request)
    {
        context.Set(RouteData, request["routeData"] as JsonObject ?? []);
        context.Set(QueryStringData, request["query"] as JsonObject ?? []);
        context.Set(Headers, request["headers"] as JsonObject ?? []);
        context.Set(ParsedContent, ValueConverter.Unwrap(request["body"]));
        context.Set(Result, (JsonObject)request.DeepClone());
        return request["tooLarge"] is JsonValue tooLarge && tooLarge.TryGetValue<bool>(out var large) && large
            ? context.CompleteAsync(RequestTooLargeOutcome)
            : context.CompleteAsync();
    }

    /// <summary>The request that started the run, when this activity is its trigger (read once).</summary>
    private JsonObject? TriggerRequest(ActivityExecutionContext context)
    {
        var properties = context.Workflow.State.Properties;
        if (!properties.TryGetValue(TriggerKeys.TriggerNodeId, out var node) || node?.GetValue<string>() != NodeId || properties.ContainsKey("triggerConsumed"))
            return null;
        properties["triggerConsumed"] = true;
        return properties.GetValueOrDefault(TriggerKeys.TriggerPayload) as JsonObject ?? [];
    }
}

/// <summary>What a waiting <see cref="HttpEndpoint"/> accepts, kept with its bookmark for the server to match and authorize.</summary>
public sealed record HttpEndpointBookmark(string Path, IReadOnlyList<string> Methods, bool Authorize, string? Policy, TimeSpan? RequestTimeout, long? RequestSizeLimit, bool ExposeRequestTooLargeOutcome)
{
    public JsonObject ToJson() => new()
    {
        ["path"] = Path,
        ["methods"] = new JsonArray([.. Methods.Select(m => (JsonNode)JsonValue.Create(m))]),
        ["authorize"] = Authorize,
        ["policy"] = Policy,
        ["requestTimeout"] = RequestTimeout?.ToString("c", System.Globalization.CultureInfo.InvariantCulture),
        ["requestSizeLimit"] = RequestSizeLimit,
        ["exposeRequestTooLargeOutcome"] = ExposeRequestTooLargeOutcome,
    };

    public static HttpEndpointBookmark? FromJson(JsonNode? node)
    {
        if (node is not JsonObject json || json["path"]?.GetValue<string>() is not { } path)
            return null;
        return new HttpEndpointBookmark(
            path,
            (json["methods"] as JsonArray ?? []).Select(m => m?.GetValue<string>()).OfType<string>().ToArray(),
            json["authorize"]?.GetValue<bool>() ?? true,
            json["policy"]?.GetValue<string>(),
            json["requestTimeout"]?.GetValue<string>() is { } timeout ? TimeSpan.Parse(timeout, System.Globalization.CultureInfo.InvariantCulture) : null,
            json["requestSizeLimit"]?.GetValue<long>(),
            json["exposeRequestTooLargeOutcome"]?.GetValue<bool>() ?? false);
    }
}
