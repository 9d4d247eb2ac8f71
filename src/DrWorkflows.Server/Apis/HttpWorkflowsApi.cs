using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Activities.Http;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Server.Hosting;
using DrWorkflows.Server.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Server.Apis;

/// <summary>
/// Elsa's HTTP workflows: <c>/workflows/{path}</c>, any method. A request matching a published workflow's
/// <c>Elsa.HttpEndpoint</c> trigger starts a run; one matching the endpoint a run waits at resumes that run (Elsa's
/// order: triggers first). The API key is checked (role <c>operator</c>, or the endpoint's <c>Policy</c>) unless the
/// endpoint says <c>Authorize: false</c>. The caller gets what <c>Elsa.WriteHttpResponse</c> wrote, or, when the run
/// waits or ends without writing, Elsa's empty 200; a run held on an incident answers 500 naming it, and a run still
/// busy after the endpoint's <c>RequestTimeout</c> (default <see cref="DefaultRequestTimeout"/>) answers 202 with its
/// id while it goes on. Unknown path 404, known path with another method 405, all as problem details.
/// </summary>
public static partial class HttpWorkflowsApi
{
    /// <summary>Elsa's default base path of HTTP workflows.</summary>
    public const string Prefix = "/workflows";

    /// <summary>How long a caller waits for the run's response when the endpoint gives no <c>RequestTimeout</c>.</summary>
    public static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(100);

    /// <summary>The response header naming the run a request started or resumed.</summary>
    public const string InstanceHeader = "X-Workflow-Instance-Id";

    public static WebApplication MapHttpWorkflows(this WebApplication app)
    {
        app.Map(Prefix + "/{**path}", HandleAsync).AllowAnonymous().WithBodyLimit(BodyLimits.Default).ExcludeFromDescription();
        return app;
    }

    private static async Task HandleAsync(
        HttpContext http,
        WorkflowDefinitionService definitions,
        IWorkflowInstanceStore instances,
        WorkflowRuntime runtime,
        HttpResponses responses,
        IAuthorizationService authorization,
        IOptions<RequestLimitOptions> limits,
        IHostApplicationLifetime lifetime,
        TimeProvider clock,
        ILogger<HttpEndpoint> logger)
    {
        var cancellationToken = http.RequestAborted;
        var path = (http.Request.RouteValues["path"] as string ?? string.Empty).Trim('/');
        var method = http.Request.Method.ToUpperInvariant();
        var shown = $"{method} {Prefix}/{path}";

        var triggers = (await definitions.ListHttpTriggersAsync(cancellationToken))
            .Select(t => (Trigger: t, Values: t.Route.Match(path)))
            .Where(m => m.Values is not null)
            .ToList();
        var waiting = (await instances.FindBookmarksAsync(new BookmarkQuery(Name: HttpEndpoint.BookmarkName), cancellationToken))
            .Select(b => (Bookmark: b, Settings: HttpEndpointBookmark.FromJson(b.PayloadJson is { } json ? JsonNode.Parse(json) : null)))
            .Where(b => b.Settings is not null)
            .Select(b => (b.Bookmark, Settings: b.Settings!, Route: TryParse(b.Settings!.Path)))
            .Where(b => b.Route is not null)
            .Select(b => (b.Bookmark, b.Settings, Route: b.Route!, Values: b.Route!.Match(path)))
            .Where(b => b.Values is not null)
            .ToList();
        if (triggers.Count == 0 && waiting.Count == 0)
        {
            await ErrorResponses.WriteAsync(http, 404, "Not found", $"No published workflow and no waiting run serves {Prefix}/{path} (see docs/api.md, HTTP workflows).", null);
            return;
        }

        var trigger = triggers.Where(t => t.Trigger.Settings.Methods.Contains(method)).OrderByDescending(t => t.Trigger.Route.LiteralCount).FirstOrDefault();
        if (trigger.Trigger is { } start)
        {
            if (!await AuthorizeAsync(http, authorization, start.Settings))
                return;
            var payload = await ReadRequestAsync(http, start.Route, start.Settings, trigger.Values!, limits.Value, cancellationToken);
            if (payload is null)
                return;
            var instanceId = Guid.NewGuid().ToString("N");
            var request = new StartRunRequest(start.DefinitionId)
            {
                InstanceId = instanceId,
                TriggerNodeId = start.NodeId,
                TriggerPayload = payload,
                CorrelationId = Selector(http, "correlationId", "X-Correlation-ID"),
                StartedBy = $"{shown} by {Caller(http)}",
            };
            Log.Starting(logger, shown, start.DefinitionId, instanceId);
            await RunAndAnswerAsync(http, responses, instanceId, start.Settings, clock, ct => runtime.StartAsync(request, ct), lifetime.ApplicationStopping);
            return;
        }

        var instanceFilter = Selector(http, "workflowInstanceId", "X-Workflow-Instance-ID");
        var correlationFilter = Selector(http, "correlationId", "X-Correlation-ID");
        var candidates = waiting.Where(w => w.Bookmark.Key == $"{method} {w.Route.Canonical}" && (instanceFilter is null || w.Bookmark.InstanceId == instanceFilter)).ToList();
        if (correlationFilter is not null && candidates.Count > 0)
        {
            var correlated = new List<(StoredBookmark Bookmark, HttpEndpointBookmark Settings, HttpRouteTemplate Route, Dictionary<string, string>? Values)>();
            foreach (var candidate in candidates)
            {
                if ((await instances.GetAsync(candidate.Bookmark.InstanceId, cancellationToken))?.CorrelationId == correlationFilter)
                    correlated.Add(candidate);
            }

            candidates = correlated;
        }

        if (candidates.Count == 0)
        {
            var allowed = triggers.SelectMany(t => t.Trigger.Settings.Methods).Concat(waiting.SelectMany(w => w.Settings.Methods)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            if (!allowed.Contains(method))
            {
                http.Response.Headers.Allow = string.Join(", ", allowed);
                await ErrorResponses.WriteAsync(http, 405, "Method not allowed", $"{Prefix}/{path} accepts {string.Join(", ", allowed)}, not {method}.", null);
                return;
            }

            await ErrorResponses.WriteAsync(http, 404, "Not found", instanceFilter is not null || correlationFilter is not null
                ? $"No run {(instanceFilter is not null ? $"'{instanceFilter}' " : string.Empty)}{(correlationFilter is not null ? $"with correlation id '{correlationFilter}' " : string.Empty)}waits for {shown}."
                : $"No run waits for {shown}.", null);
            return;
        }

        var best = candidates.Max(c => c.Route.LiteralCount);
        candidates = [.. candidates.Where(c => c.Route.LiteralCount == best)];
        var runs = candidates.Select(c => c.Bookmark.InstanceId).Distinct(StringComparer.Ordinal).ToList();
        if (runs.Count > 1)
        {
            await ErrorResponses.WriteAsync(http, 409, "Ambiguous", $"{runs.Count} runs wait for {shown}: {string.Join(", ", runs.Take(10))}. Name one with ?workflowInstanceId= or the header X-Workflow-Instance-ID (or a correlation id with ?correlationId= or X-Correlation-ID).", null);
            return;
        }

        var resume = candidates[0];
        if (!await AuthorizeAsync(http, authorization, resume.Settings))
            return;
        var resumePayload = await ReadRequestAsync(http, resume.Route, resume.Settings, resume.Values!, limits.Value, cancellationToken);
        if (resumePayload is null)
            return;
        Log.Resuming(logger, shown, resume.Bookmark.InstanceId);
        await RunAndAnswerAsync(http, responses, resume.Bookmark.InstanceId, resume.Settings, clock, async ct =>
        {
            var (outcome, state) = await runtime.ResumeAsync(resume.Bookmark.Id, resumePayload, $"{shown} by {Caller(http)}", ct);
            return outcome == ResumeOutcome.Resumed && state is not null
                ? state
                : throw new RunNoLongerWaitingException($"Run '{resume.Bookmark.InstanceId}' no longer waits for {shown} (another request or an operator moved it on).");
        }, lifetime.ApplicationStopping);
    }

    /// <summary>
    /// Starts or resumes the run detached from the request (a caller that hangs up does not cancel a DR step) and
    /// answers with the first of: the response the run wrote, the run waiting or ending, the timeout.
    /// </summary>
    private static async Task RunAndAnswerAsync(HttpContext http, HttpResponses responses, string instanceId, HttpEndpointBookmark settings, TimeProvider clock, Func<CancellationToken, Task<WorkflowState>> execute, CancellationToken stopping)
    {
        var answer = responses.Wait(instanceId);
        if (answer is null)
        {
            await ErrorResponses.WriteAsync(http, 409, "Busy", $"Another request is waiting for run '{instanceId}' to answer; try again once it has its answer.", null);
            return;
        }

        http.Response.Headers[InstanceHeader] = instanceId;
        try
        {
            var run = Task.Run(() => execute(stopping), stopping);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
            var delay = Task.Delay(settings.RequestTimeout ?? DefaultRequestTimeout, clock, timeout.Token);
            await Task.WhenAny(answer, run, delay);
            await timeout.CancelAsync();
            if (answer.IsCompletedSuccessfully)
            {
                await WriteAsync(http, answer.Result);
                return;
            }

            if (run.IsCompleted)
            {
                WorkflowState state;
                try
                {
                    state = await run; // rethrows the rest: 409 already running, 404 no longer published... (ErrorResponses)
                }
                catch (RunNoLongerWaitingException e)
                {
                    await ErrorResponses.WriteAsync(http, 409, "No longer waiting", e.Message, null);
                    return;
                }

                if (state.Incidents.FirstOrDefault(i => i.Resolution is null) is { } incident)
                {
                    await ErrorResponses.WriteAsync(http, 500, "Workflow incident", $"Run '{instanceId}' raised an incident at activity '{incident.ActivityId}' ({incident.ActivityType}): {incident.Message} It waits for an operator (retry, skip or fail).", null);
                    return;
                }

                http.Response.StatusCode = StatusCodes.Status200OK; // Elsa's answer when the workflow wrote none.
                return;
            }

            if (http.RequestAborted.IsCancellationRequested)
                return;
            http.Response.StatusCode = StatusCodes.Status202Accepted;
            await http.Response.WriteAsJsonAsync(
                new Dictionary<string, object?>
                {
                    ["status"] = 202,
                    ["title"] = "Still running",
                    ["detail"] = $"Run '{instanceId}' wrote no response within {settings.RequestTimeout ?? DefaultRequestTimeout}; it goes on. Follow it at /elsa/api/workflow-instances/{instanceId}.",
                    ["workflowInstanceId"] = instanceId,
                },
                options: (JsonSerializerOptions?)null,
                contentType: "application/problem+json",
                http.RequestAborted);
        }
        finally
        {
            responses.Stop(instanceId, answer);
        }
    }

    private static async Task WriteAsync(HttpContext http, HttpResponseData response)
    {
        http.Response.StatusCode = response.StatusCode;
        foreach (var (name, value) in response.Headers)
        {
            if (!name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) && !name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
                http.Response.Headers[name] = value;
        }

        if (response.ContentType is { Length: > 0 } type)
            http.Response.ContentType = type.Contains("charset", StringComparison.OrdinalIgnoreCase) || !type.StartsWith("text/", StringComparison.OrdinalIgnoreCase) && !type.Contains("json", StringComparison.OrdinalIgnoreCase) ? type : type + "; charset=utf-8";
        if (response.Body.Length > 0 && !HttpMethods.IsHead(http.Request.Method))
            await http.Response.Body.WriteAsync(response.Body, http.RequestAborted);
    }

    /// <summary>
    /// Elsa's <c>Authorize</c>: unless it is false, the caller needs a valid API key with the endpoint's role
    /// (<c>Policy</c>, default operator). 401 and 403 come from the key authentication, as for every other route.
    /// </summary>
    private static async Task<bool> AuthorizeAsync(HttpContext http, IAuthorizationService authorization, HttpEndpointBookmark settings)
    {
        if (!settings.Authorize)
            return true;
        if (http.User.Identity?.IsAuthenticated != true)
        {
            await http.ChallengeAsync(ApiKeyAuthenticationHandler.SchemeName);
            return false;
        }

        var policy = settings.Policy is { Length: > 0 } named && Roles.All.Contains(named) ? named : Roles.Operator;
        if ((await authorization.AuthorizeAsync(http.User, policy)).Succeeded)
            return true;
        await http.ForbidAsync(ApiKeyAuthenticationHandler.SchemeName);
        return false;
    }

    /// <summary>
    /// The request as the endpoint's outputs (route values, query, headers with credentials masked, the parsed body).
    /// Null when it was answered already: a body over the endpoint's <c>RequestSizeLimit</c> (413, unless the
    /// "Request too large" outcome is exposed), JSON that does not parse (400), files (415).
    /// </summary>
    private static async Task<JsonObject?> ReadRequestAsync(HttpContext http, HttpRouteTemplate route, HttpEndpointBookmark settings, Dictionary<string, string> routeValues, RequestLimitOptions limits, CancellationToken cancellationToken)
    {
        var request = http.Request;
        var serverLimit = RequestBodyLimits.Limit(http, limits);
        var limit = Math.Min(settings.RequestSizeLimit ?? serverLimit, serverLimit);
        var tooLarge = request.ContentLength > limit;
        byte[] body = [];
        if (!tooLarge && !request.HasFormContentType)
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    tooLarge = true;
                    break;
                }

                buffer.Write(chunk, 0, read);
            }

            body = buffer.ToArray();
        }

        if (tooLarge && !settings.ExposeRequestTooLargeOutcome)
        {
            http.Response.Headers.Connection = "close";
            await ErrorResponses.WriteAsync(http, 413, "Too large", $"The request body is larger than this endpoint's limit of {limit} bytes.", null);
            return null;
        }

        JsonNode? content = null;
        if (!tooLarge && request.HasFormContentType)
        {
            var form = await request.ReadFormAsync(cancellationToken);
            if (form.Files.Count > 0)
            {
                await ErrorResponses.WriteAsync(http, 415, "Unsupported media type", "File uploads are not supported by HTTP workflows here; send the data as JSON, a form without files, or text (docs/elsa-compatibility.md, Elsa.HttpEndpoint).", null);
                return null;
            }

            content = Values(form);
        }
        else if (!tooLarge && body.Length > 0)
        {
            if (IsJson(request.ContentType))
            {
                try
                {
                    content = JsonNode.Parse(body, documentOptions: new JsonDocumentOptions { MaxDepth = 64 });
                }
                catch (JsonException e)
                {
                    await ErrorResponses.WriteAsync(http, 400, "Bad request", $"The request body is not valid JSON: {e.Message}", null);
                    return null;
                }
            }
            else
            {
                content = JsonValue.Create(Encoding.UTF8.GetString(body));
            }
        }

        var headers = new JsonObject();
        foreach (var (name, values) in request.Headers)
            headers[name] = Value(values);
        return new JsonObject
        {
            ["method"] = request.Method.ToUpperInvariant(),
            ["path"] = $"{Prefix}/{(request.RouteValues["path"] as string ?? string.Empty).Trim('/')}",
            ["route"] = route.Text,
            ["routeData"] = new JsonObject([.. routeValues.Select(p => new KeyValuePair<string, JsonNode?>(p.Key, p.Value))]),
            ["query"] = Values(request.Query),
            ["headers"] = HttpResponses.MaskCredentials(headers),
            ["contentType"] = request.ContentType,
            ["body"] = content,
            ["tooLarge"] = tooLarge,
        };
    }

    private static JsonObject Values(IEnumerable<KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues>> pairs)
    {
        var json = new JsonObject();
        foreach (var (name, values) in pairs)
            json[name] = Value(values);
        return json;
    }

    /// <summary>One value as a string, several as an array (Elsa's <c>ToObjectDictionary</c>).</summary>
    private static JsonNode? Value(Microsoft.Extensions.Primitives.StringValues values) =>
        values.Count == 1 ? JsonValue.Create(values[0]) : new JsonArray([.. values.Select(v => (JsonNode?)JsonValue.Create(v))]);

    private static bool IsJson(string? contentType) =>
        contentType is not null && (contentType.Split(';')[0].Trim() is var media && (media.Equals("application/json", StringComparison.OrdinalIgnoreCase) || media.Equals("text/json", StringComparison.OrdinalIgnoreCase) || media.EndsWith("+json", StringComparison.OrdinalIgnoreCase)));

    /// <summary>Elsa's selectors: the query parameter, else the header.</summary>
    private static string? Selector(HttpContext http, string query, string header) =>
        http.Request.Query[query].FirstOrDefault() is { Length: > 0 } fromQuery ? fromQuery
        : http.Request.Headers[header].FirstOrDefault() is { Length: > 0 } fromHeader ? fromHeader
        : null;

    private static string Caller(HttpContext http) =>
        http.User.Identity?.IsAuthenticated == true ? ElsaModels.Actor(http.User) : $"an anonymous caller ({http.Connection.RemoteIpAddress?.ToString() ?? "unknown address"})";

    private static HttpRouteTemplate? TryParse(string path)
    {
        try
        {
            return HttpRouteTemplate.Parse(path);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 270, Level = LogLevel.Information, Message = "{Request} starts a run of {DefinitionId}: {InstanceId}")]
        public static partial void Starting(ILogger logger, string request, string definitionId, string instanceId);

        [LoggerMessage(EventId = 271, Level = LogLevel.Information, Message = "{Request} resumes run {InstanceId}")]
        public static partial void Resuming(ILogger logger, string request, string instanceId);
    }
}

/// <summary>The run moved on between the lookup of its bookmark and the resume (answered 409).</summary>
public sealed class RunNoLongerWaitingException(string message) : Exception(message);
