using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace DrWorkflows.Server.Hosting;

/// <summary>
/// Checks what every route takes before its handler runs, from the route table rather than per handler (so a
/// route added later is covered too): route values (ids) and query values must be short and free of control
/// characters, and a JSON body of a route that binds one is read once, checked by <see cref="RequestJson"/> (duplicate
/// keys, kind, depth, Unicode; for typed bodies every field's kind, range and enum names) and handed on; any other
/// body is read (and buffered) too, so no handler runs for a body past its route's limit. A refusal
/// is 400 <c>application/problem+json</c> naming the field, logged, and nothing behind it runs.
/// Runs after authentication and authorization, so bodies of callers without the role are never read.
/// </summary>
public sealed partial class RequestGuard(RequestDelegate next, IOptions<HttpJsonOptions> json, ILogger<RequestGuard> logger)
{
    /// <summary>Longest route value (an id): run, definition, version, bookmark and approval ids are far shorter.</summary>
    public const int MaxRouteValueLength = 256;

    /// <summary>Longest query value (a search term, a filter).</summary>
    public const int MaxQueryValueLength = 2048;

    /// <summary>Most query values in one request (repeated keys count each).</summary>
    public const int MaxQueryValues = 256;

    public async Task InvokeAsync(HttpContext context)
    {
        var problem = CheckRouteAndQuery(context) ?? await CheckBodyAsync(context);
        if (problem is not null)
        {
            Log.Refused(logger, context.Request.Method, context.Request.Path, problem.Detail);
            await ErrorResponses.WriteProblemAsync(context, problem);
            return;
        }

        await next(context);
    }

    private static RequestProblem? CheckRouteAndQuery(HttpContext context)
    {
        foreach (var (name, value) in context.Request.RouteValues)
        {
            if (value is string text && Bad(text, MaxRouteValueLength) is { } why)
                return new RequestProblem(name, why);
        }

        var count = 0;
        foreach (var (name, values) in context.Request.Query)
        {
            if (Bad(name, 128) is { } badName)
                return new RequestProblem(name.Length > 64 ? name[..64] + "…" : name, "(a query parameter name) " + badName);
            foreach (var value in values)
            {
                if (++count > MaxQueryValues)
                    return new RequestProblem(string.Empty, $"More than {MaxQueryValues} query values; send fewer.");
                if (value is not null && Bad(value, MaxQueryValueLength) is { } why)
                    return new RequestProblem(name, why);
            }
        }

        return null;
    }

    private static string? Bad(string text, int max)
    {
        if (text.Length > max)
            return $"is {text.Length} characters long; the limit is {max}.";
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsControl(c))
                return $"contains a control character (U+{(int)c:X4}).";
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                i++;
            else if (char.IsSurrogate(c))
                return "contains invalid Unicode (an unpaired surrogate).";
        }

        return null;
    }

    /// <summary>
    /// Reads the whole body before the handler runs, so that a body past the route's limit is refused (413) even on
    /// a route whose handler would not read it, and checks a JSON body the route binds. Bodies of unknown length are
    /// buffered in memory up to 64 KiB and in a temp file beyond, so a request past its limit never holds more.
    /// </summary>
    private async Task<RequestProblem?> CheckBodyAsync(HttpContext context)
    {
        var request = context.Request;
        if (!HasBody(context))
            return null;
        var accepts = context.GetEndpoint()?.Metadata.GetMetadata<IAcceptsMetadata>();
        var type = accepts?.RequestType is { } t && accepts.ContentTypes.Any(c => c.Contains("json", StringComparison.OrdinalIgnoreCase)) && IsJson(request.ContentType) ? t : null;
        if (request.ContentLength is null)
        {
            request.EnableBuffering(bufferThreshold: 64 * 1024);
            await request.Body.DrainAsync(context.RequestAborted);
            request.Body.Position = 0;
        }

        if (type is null)
            return null;
        var body = await ReadAsync(request, context.RequestAborted);
        if (body.Length == 0 && accepts!.IsOptional)
            return null;
        var problem = typeof(JsonNode).IsAssignableFrom(type)
            ? RequestJson.Check(body, RequestJson.ExpectedKind(type))
            : RequestJson.Read(body, type, json.Value.SerializerOptions).Problem;
        if (problem is null)
        {
            request.Body = new MemoryStream(body, writable: false);
            request.ContentLength = body.Length;
        }

        return problem;
    }

    private static bool HasBody(HttpContext context) =>
        context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestBodyDetectionFeature>() is { } detection
            ? detection.CanHaveBody
            : context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0;

    private static bool IsJson(string? contentType) =>
        contentType is not null && (contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase)
            || (contentType.Split(';')[0].Trim() is var media && media.EndsWith("+json", StringComparison.OrdinalIgnoreCase)));

    /// <summary>The whole body (at most the route's limit: <see cref="RequestBodyLimits"/> refuses more), in one array of its size.</summary>
    private static async Task<byte[]> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var length = request.ContentLength ?? request.Body.Length;
        var exact = new byte[length];
        var at = 0;
        while (at < exact.Length)
        {
            var n = await request.Body.ReadAsync(exact.AsMemory(at), cancellationToken);
            if (n == 0)
                throw new BadHttpRequestException("The request body ended before its Content-Length.", StatusCodes.Status400BadRequest);
            at += n;
        }

        return exact;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 41, Level = LogLevel.Warning, Message = "Refused {Method} {Path}: {Problem}")]
        public static partial void Refused(ILogger logger, string method, string path, string problem);
    }
}
