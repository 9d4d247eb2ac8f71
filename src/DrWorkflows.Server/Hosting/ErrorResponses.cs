using System.Diagnostics;
using System.Text.Json;
using DrWorkflows.Core;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Persistence;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace DrWorkflows.Server.Hosting;

/// <summary>
/// Turns known failures into 4xx answers with a message (Elsa Studio shows <c>detail</c>), and anything else
/// into a 500 without internals. Never a stack trace in a response. A 5xx is only for our own bugs and outages:
/// it is logged with a correlation id, and the same id is returned to the caller (<c>correlationId</c> in the
/// body, header <c>X-Correlation-Id</c>) so the log line can be found.
/// </summary>
public sealed class ErrorResponses(RequestDelegate next, ILogger<ErrorResponses> logger)
{
    public const string CorrelationHeader = "X-Correlation-Id";

    public async Task InvokeAsync(HttpContext context)
    {
        // A 5xx written by a handler itself (not through an exception) carries the id as a header and is logged too.
        context.Response.OnStarting(static state =>
        {
            var http = (HttpContext)state;
            if (http.Response.StatusCode >= 500 && !http.Response.Headers.ContainsKey(CorrelationHeader))
                http.Response.Headers[CorrelationHeader] = CorrelationId(http);
            return Task.CompletedTask;
        }, context);
        try
        {
            await next(context);
            if (context.Response.StatusCode >= 500)
                ServerLog.Outage(logger, context.Request.Method, context.Request.Path, context.Response.StatusCode, CorrelationId(context), "answered by the handler");
        }
        catch (RunAlreadyRunningException e) when (!context.Response.HasStarted)
        {
            await WriteAlreadyRunningAsync(context, e);
        }
        catch (Exception e) when (!context.Response.HasStarted && Map(context, e) is { } mapped)
        {
            if (mapped.Status >= 500)
            {
                var correlation = CorrelationId(context);
                ServerLog.Outage(logger, context.Request.Method, context.Request.Path, mapped.Status, correlation, e.Message);
                await WriteAsync(context, mapped.Status, mapped.Title, e.Message, mapped.Errors, correlation);
                return;
            }

            ServerLog.RequestRefused(logger, context.Request.Method, context.Request.Path, mapped.Status, mapped.Problem?.Detail ?? e.Message);
            if (mapped.Problem is { } problem)
                await WriteProblemAsync(context, problem, mapped.Status, mapped.Title);
            else
                await WriteAsync(context, mapped.Status, mapped.Title, e.Message, mapped.Errors);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
#pragma warning disable CA1031 // Last-resort boundary: log it and answer 500 without internals.
        catch (Exception e) when (!context.Response.HasStarted)
#pragma warning restore CA1031
        {
            var correlation = CorrelationId(context);
            ServerLog.Unexpected(logger, context.Request.Method, context.Request.Path, correlation, e);
            await WriteAsync(context, 500, "Internal error", $"The server failed to handle the request; its log has the details under correlation id {correlation}.", null, correlation);
        }
    }

    private static Mapped? Map(HttpContext context, Exception e) => e switch
    {
        WorkflowDefinitionException d => new(400, "Invalid workflow definition", [d.Message]),
        RequestFieldException f => new(400, "Bad request", null, f.Problem),
        BadHttpRequestException { InnerException: JsonException json } bad => new(bad.StatusCode, "Bad request", null, Describe(context, json)),
        BadHttpRequestException { StatusCode: 413 } => new(413, "Too large", null),
        BadHttpRequestException bad => new(bad.StatusCode, bad.StatusCode == 415 ? "Unsupported media type" : "Bad request", null),
        JsonException or FormatException => new(400, "Bad request", null),
        // Reading a form past FormOptions' limits (value length, value count, multipart sections).
        InvalidDataException => new(400, "Bad request", null),
        DefinitionNotFoundException => new(404, "Not found", null),
        DefinitionReadOnlyException => new(409, "Read-only definition", null),
        DefinitionIdChangeException => new(409, "Id cannot change", null),
        InstanceExistsException => new(409, "Conflict", null),
        RunBusyException or ConcurrencyException => new(409, "Busy", null),
        StoreUnavailableException => new(503, "Store unavailable", null),
        _ => null,
    };

    /// <summary>409 naming the run that holds the platform: its id, platform and link (for the CLI, the Studio and scripts).</summary>
    private static async Task WriteAlreadyRunningAsync(HttpContext context, RunAlreadyRunningException e)
    {
        var link = context.RequestServices.GetRequiredService<Operations.OnCallChannels>().RunLink(e.RunningInstanceId);
        context.Response.StatusCode = StatusCodes.Status409Conflict;
        await context.Response.WriteAsJsonAsync(
            new Dictionary<string, object?>
            {
                ["status"] = StatusCodes.Status409Conflict,
                ["title"] = "Already running",
                ["detail"] = $"{e.Message} Run: {link}",
                ["runningInstanceId"] = e.RunningInstanceId,
                ["definitionId"] = e.DefinitionId,
                ["platform"] = e.Platform,
                ["link"] = link,
            },
            options: (System.Text.Json.JsonSerializerOptions?)null,
            contentType: "application/problem+json",
            context.RequestAborted);
    }

    /// <summary>A JSON binding error of a typed body, naming the field (the guard refuses most of them earlier).</summary>
    private static RequestProblem Describe(HttpContext context, JsonException json)
    {
        var type = context.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.Http.Metadata.IAcceptsMetadata>()?.RequestType;
        var options = context.RequestServices.GetService<Microsoft.Extensions.Options.IOptions<HttpJsonOptions>>()?.Value.SerializerOptions;
        return type is not null && options is not null
            ? RequestJson.Describe(json, type, options)
            : new RequestProblem(string.Empty, "The request body is not valid JSON.");
    }

    /// <summary>The id a 5xx is logged under and returned with: the request's trace id.</summary>
    public static string CorrelationId(HttpContext context) =>
        Activity.Current?.TraceId.ToString() is { Length: > 0 } trace && trace != "00000000000000000000000000000000" ? trace : context.TraceIdentifier;

    public static Task WriteProblemAsync(HttpContext context, RequestProblem problem, int status = 400, string title = "Bad request")
    {
        var errors = new Dictionary<string, string[]> { ["generalErrors"] = [problem.Detail] };
        if (problem.Field.Length > 0)
            errors[problem.Field] = [problem.Message];
        return Write(context, status, title, problem.Detail, errors, extra: problem.Field.Length > 0 ? ("field", problem.Field) : null);
    }

    public static Task WriteAsync(HttpContext context, int status, string title, string detail, string[]? errors, string? correlationId = null) =>
        Write(context, status, title, detail, errors is null ? null : new Dictionary<string, string[]> { ["generalErrors"] = errors }, correlationId is null ? null : ("correlationId", correlationId));

    private static async Task Write(HttpContext context, int status, string title, string detail, Dictionary<string, string[]>? errors, (string Name, string Value)? extra)
    {
        context.Response.StatusCode = status;
        var body = new Dictionary<string, object?> { ["status"] = status, ["title"] = title, ["detail"] = detail };
        if (errors is not null)
            body["errors"] = errors;
        if (extra is { } e)
        {
            body[e.Name] = e.Value;
            if (e.Name == "correlationId")
                context.Response.Headers[CorrelationHeader] = e.Value;
        }

        await context.Response.WriteAsJsonAsync(body, options: null, contentType: "application/problem+json", context.RequestAborted);
    }

    private sealed record Mapped(int Status, string Title, string[]? Errors, RequestProblem? Problem = null);
}
