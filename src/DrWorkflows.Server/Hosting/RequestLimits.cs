using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Server.Hosting;

/// <summary>
/// Section <c>DrWorkflows:Limits</c>: how much a request may send, and how often a source may try keys.
/// The body limit of each route is fixed in code (<see cref="BodyLimits"/>); routes without one get
/// <see cref="DefaultBodyBytes"/>. Every limit is listed in docs/api.md.
/// </summary>
public sealed class RequestLimitOptions
{
    public const string SectionName = "DrWorkflows:Limits";

    /// <summary>Body limit of routes that do not declare their own.</summary>
    [Range(1024, 64L * 1024 * 1024, ErrorMessage = "DrWorkflows:Limits:DefaultBodyBytes must be between 1024 and 67108864.")]
    public long DefaultBodyBytes { get; set; } = BodyLimits.Default;

    /// <summary>POSTs to <c>/studio/signin</c> per source address and minute (successful or not).</summary>
    [Range(1, 100_000, ErrorMessage = "DrWorkflows:Limits:SignInAttemptsPerMinute must be between 1 and 100000.")]
    public int SignInAttemptsPerMinute { get; set; } = 10;

    /// <summary>API keys that are not valid, per source address and minute; past it, every key from that source gets 429 until the minute ends.</summary>
    [Range(1, 100_000, ErrorMessage = "DrWorkflows:Limits:FailedKeyAttemptsPerMinute must be between 1 and 100000.")]
    public int FailedKeyAttemptsPerMinute { get; set; } = 10;
}

/// <summary>Body limits of the routes (bytes, as sent on the wire). Past its limit a request is answered 413.</summary>
public static class BodyLimits
{
    /// <summary>Sign-in and sign-out forms.</summary>
    public const long SignInForm = 16 * 1024;

    /// <summary>Approve/reject (JSON or the approvals page's form): a comment, an option or a small answer.</summary>
    public const long Decision = 64 * 1024;

    /// <summary>Small JSON requests: journal filter, activity-execution report, incident resolution, instance list.</summary>
    public const long Small = 64 * 1024;

    /// <summary>Bulk actions: lists of ids.</summary>
    public const long Bulk = 256 * 1024;

    /// <summary>Everything else: execute/dispatch (inputs), bookmark resume, webhooks.</summary>
    public const long Default = 1024 * 1024;

    /// <summary>A workflow definition (save, import).</summary>
    public const long Definition = 2 * 1024 * 1024;

    /// <summary>Definition files uploaded together (multipart).</summary>
    public const long DefinitionFiles = 8 * 1024 * 1024;
}

/// <summary>A route's body limit (endpoint metadata), enforced by <see cref="RequestBodyLimits"/>.</summary>
public sealed record BodyLimit(long Bytes);

public static class BodyLimitExtensions
{
    /// <summary>Sets the route's body limit (413 past it).</summary>
    public static TBuilder WithBodyLimit<TBuilder>(this TBuilder builder, long bytes)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(new BodyLimit(bytes));
}

/// <summary>
/// Enforces the route's body limit before anything reads the body: a declared <c>Content-Length</c> over it is
/// answered 413 at once (nothing is read), and a body sent without one (chunked) is cut off by a counting stream
/// the moment it passes the limit, so a request never holds more than its route's limit in memory. On Kestrel the
/// server's own limit is lowered to the same value as well.
/// </summary>
public sealed partial class RequestBodyLimits(RequestDelegate next, IOptions<RequestLimitOptions> options, ILogger<RequestBodyLimits> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var limit = Limit(context, options.Value);
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
            feature.MaxRequestBodySize = limit;
        if (context.Request.ContentLength is { } length && length > limit)
        {
            Log.TooLarge(logger, context.Request.Method, context.Request.Path, length, limit);
            context.Response.Headers.Connection = "close";
            await ErrorResponses.WriteAsync(context, 413, "Too large", TooLargeMessage(limit), null);
            return;
        }

        if (context.Request.ContentLength is not 0)
            context.Request.Body = new LimitedRequestStream(context.Request.Body, limit);
        await next(context);
    }

    /// <summary>The body limit of the request's route (the default for routes without one).</summary>
    public static long Limit(HttpContext context, RequestLimitOptions options) =>
        context.GetEndpoint()?.Metadata.GetMetadata<BodyLimit>()?.Bytes ?? options.DefaultBodyBytes;

    public static string TooLargeMessage(long limit) =>
        $"The request body is larger than this route's limit of {Size(limit)} (see docs/api.md, Limits).";

    private static string Size(long bytes) => bytes % (1024 * 1024) == 0 ? $"{bytes / (1024 * 1024)} MiB" : bytes % 1024 == 0 ? $"{bytes / 1024} KiB" : $"{bytes} bytes";

    private static partial class Log
    {
        [LoggerMessage(EventId = 40, Level = LogLevel.Warning, Message = "Refused {Method} {Path}: a body of {Length} bytes is over the route's limit of {Limit} bytes")]
        public static partial void TooLarge(ILogger logger, string method, string path, long length, long limit);
    }
}

/// <summary>Reads through to the request body and fails with 413 once more than the limit was read.</summary>
internal sealed class LimitedRequestStream(Stream inner, long limit) : Stream
{
    private long read;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => read; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Count(await inner.ReadAsync(buffer, cancellationToken));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private int Count(int n)
    {
        read += n;
        return read > limit
            ? throw new BadHttpRequestException(RequestBodyLimits.TooLargeMessage(limit), StatusCodes.Status413PayloadTooLarge)
            : n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
