using System.Text.Json;
using DrWorkflows.Core;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Persistence;

namespace DrWorkflows.Server.Hosting;

/// <summary>
/// Turns known failures into 4xx answers with a message (Elsa Studio shows <c>detail</c>), and anything else
/// into a 500 without internals. Never a stack trace in a response.
/// </summary>
public sealed class ErrorResponses(RequestDelegate next, ILogger<ErrorResponses> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (RunAlreadyRunningException e) when (!context.Response.HasStarted)
        {
            await WriteAlreadyRunningAsync(context, e);
        }
        catch (Exception e) when (!context.Response.HasStarted && Map(e) is { } mapped)
        {
            await WriteAsync(context, mapped.Status, mapped.Title, e.Message, mapped.Errors);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
#pragma warning disable CA1031 // Last-resort boundary: log it and answer 500 without internals.
        catch (Exception e) when (!context.Response.HasStarted)
#pragma warning restore CA1031
        {
            ServerLog.Unexpected(logger, context.Request.Method, context.Request.Path, e);
            await WriteAsync(context, 500, "Internal error", "The server failed to handle the request; see its log for details.", null);
        }
    }

    private static (int Status, string Title, string[]? Errors)? Map(Exception e) => e switch
    {
        WorkflowDefinitionException d => (400, "Invalid workflow definition", [d.Message]),
        BadHttpRequestException { InnerException: JsonException json } => (400, "Bad request", [$"The request body is not valid JSON: {json.Message}"]),
        JsonException or BadHttpRequestException or FormatException => (400, "Bad request", null),
        DefinitionNotFoundException => (404, "Not found", null),
        DefinitionReadOnlyException => (409, "Read-only definition", null),
        RunBusyException or ConcurrencyException => (409, "Busy", null),
        StoreUnavailableException => (503, "Store unavailable", null),
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

    public static async Task WriteAsync(HttpContext context, int status, string title, string detail, string[]? errors)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/problem+json";
        var body = new Dictionary<string, object?> { ["status"] = status, ["title"] = title, ["detail"] = detail };
        if (errors is not null)
            body["errors"] = new { generalErrors = errors };
        await context.Response.WriteAsJsonAsync(body, context.RequestAborted);
    }
}
